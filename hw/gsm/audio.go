package gsm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"hotline/hw"
)

const (
	// frameBytes is one 20 ms frame of 8 kHz s16le.
	frameBytes = 320
	// ringFrames is how many frames the audio reader can hold ahead of the consumer; one more
	// buffer is the one being filled.
	ringFrames = 8
	bufCount   = ringFrames + 1
	// firstUnderrun is how long ReadFrame waits after the last real frame before it reports an
	// underrun; further underruns follow every underrunEvery while the port stays silent.
	firstUnderrun = 60 * time.Millisecond
	underrunEvery = 20 * time.Millisecond
	// maxDrain caps the stale bytes dropped at answer time.
	maxDrain = 64 << 10
)

var errFrameSize = errors.New("gsm: an audio frame is 320 bytes (20 ms of s16le)")

type readDeadliner interface {
	SetReadDeadline(t time.Time) error
}

type writeDeadliner interface {
	SetWriteDeadline(t time.Time) error
}

type inputResetter interface {
	ResetInputBuffer() error
}

// callAudio is the audio of one call on the modem's PCM port. A reader goroutine (readLoop)
// assembles frames into a ring of preallocated buffers; the call's pump takes them with
// ReadFrame. Frame indexes travel on two channels: free (to fill) and ready (filled, oldest
// first). Nothing allocates per frame.
type callAudio struct {
	port io.ReadWriter
	log  *slog.Logger

	bufs  [bufCount][frameBytes]byte
	free  chan int
	ready chan int

	done       chan struct{} // closed at hang-up
	stopOnce   sync.Once
	readerDone chan struct{} // closed when readLoop returns
	failed     chan struct{} // closed when the port failed
	failErr    error         // why; set before failed is closed
	gone       error         // returned after hang-up; wraps hw.ErrNoCall
	dropped    atomic.Int64  // frames dropped because the consumer lagged

	// Used by the consumer goroutine only.
	timer *time.Timer
	due   time.Time // when the next underrun is reported
}

var _ hw.Audio = (*callAudio)(nil)

func newCallAudio(lineID string, port io.ReadWriter, log *slog.Logger) *callAudio {
	a := &callAudio{
		port:       port,
		log:        log,
		free:       make(chan int, bufCount),
		ready:      make(chan int, bufCount),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		failed:     make(chan struct{}),
		gone:       fmt.Errorf("gsm %s: call ended: %w", lineID, hw.ErrNoCall),
		timer:      time.NewTimer(time.Hour),
		due:        time.Now().Add(firstUnderrun),
	}
	a.timer.Stop()
	for i := range bufCount {
		a.free <- i
	}
	return a
}

// Format is always S16LE.
func (a *callAudio) Format() hw.AudioFormat { return hw.S16LE }

// ReadFrame fills p with the next frame from the caller, or with silence and hw.ErrUnderrun when
// the modem sent nothing for 60 ms after the last frame (and every 20 ms after that). After the
// call ended it returns an error wrapping hw.ErrNoCall; if the port failed, that error.
func (a *callAudio) ReadFrame(p []byte) error {
	if len(p) != frameBytes {
		return errFrameSize
	}
	select {
	case <-a.done:
		return a.gone
	default:
	}
	select {
	case i := <-a.ready:
		return a.take(i, p)
	default:
	}
	select {
	case <-a.failed:
		return a.failErr
	default:
	}
	wait := time.Until(a.due)
	if wait <= 0 {
		return a.underrun(p)
	}
	a.timer.Reset(wait)
	select {
	case i := <-a.ready:
		a.timer.Stop()
		return a.take(i, p)
	case <-a.timer.C:
		return a.underrun(p)
	case <-a.done:
		a.timer.Stop()
		return a.gone
	case <-a.failed:
		a.timer.Stop()
		return a.failErr
	}
}

func (a *callAudio) take(i int, p []byte) error {
	copy(p, a.bufs[i][:])
	a.free <- i
	a.due = time.Now().Add(firstUnderrun)
	return nil
}

func (a *callAudio) underrun(p []byte) error {
	clear(p)
	now := time.Now()
	a.due = a.due.Add(underrunEvery)
	if a.due.Before(now) {
		a.due = now.Add(underrunEvery)
	}
	return hw.ErrUnderrun
}

// WriteFrame sends one frame to the caller.
func (a *callAudio) WriteFrame(p []byte) error {
	if len(p) != frameBytes {
		return errFrameSize
	}
	select {
	case <-a.done:
		return a.gone
	default:
	}
	if _, err := a.port.Write(p); err != nil {
		select {
		case <-a.done:
			return a.gone
		default:
		}
		return fmt.Errorf("gsm: write audio: %w", err)
	}
	return nil
}

// readLoop fills frames from the port until the call ends or the port fails.
func (a *callAudio) readLoop() {
	defer close(a.readerDone)
	for {
		var i int
		select {
		case i = <-a.free:
		default:
			// The consumer lags and every buffer waits in ready: reuse the oldest.
			select {
			case i = <-a.ready:
				a.dropped.Add(1)
			case i = <-a.free:
			case <-a.done:
				return
			}
		}
		if _, err := io.ReadFull(a.port, a.bufs[i][:]); err != nil {
			select {
			case <-a.done:
				return // stopped at hang-up
			default:
			}
			a.failErr = fmt.Errorf("gsm: audio port: %w", err)
			close(a.failed)
			a.log.Warn("audio port failed", "err", err)
			return
		}
		a.ready <- i // never blocks: i came out of free or ready
	}
}

// stop ends the audio: ReadFrame and WriteFrame return gone, and the reader is interrupted if
// the port has deadlines. It does not wait for the reader.
func (a *callAudio) stop() {
	a.stopOnce.Do(func() {
		close(a.done)
		now := time.Now()
		if d, ok := a.port.(readDeadliner); ok {
			if err := d.SetReadDeadline(now); err != nil {
				a.log.Warn("cannot interrupt audio reader", "err", err)
			}
		}
		if d, ok := a.port.(writeDeadliner); ok {
			_ = d.SetWriteDeadline(now)
		}
		if n := a.dropped.Load(); n > 0 {
			a.log.Warn("audio frames dropped, consumer too slow", "frames", n)
		}
	})
}

// prepareAudioPort clears deadlines left by the last call and drops stale input, so the new
// call's first frame is fresh.
func prepareAudioPort(port io.ReadWriter, log *slog.Logger) {
	d, canDeadline := port.(readDeadliner)
	if canDeadline && d.SetReadDeadline(time.Time{}) != nil {
		canDeadline = false
	}
	if w, ok := port.(writeDeadliner); ok {
		_ = w.SetWriteDeadline(time.Time{})
	}
	if r, ok := port.(inputResetter); ok {
		if err := r.ResetInputBuffer(); err == nil {
			return
		}
	}
	if !canDeadline {
		return // dropping stale bytes would block on a port without deadlines
	}
	var scratch [512]byte
	dropped := 0
	_ = d.SetReadDeadline(time.Now().Add(time.Millisecond))
	for dropped < maxDrain {
		n, err := port.Read(scratch[:])
		dropped += n
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				log.Warn("draining audio port", "err", err)
			}
			break
		}
	}
	_ = d.SetReadDeadline(time.Time{})
	if dropped > 0 {
		log.Debug("dropped stale audio", "bytes", dropped)
	}
}
