package gsm

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"hotline/hw"
	"hotline/hw/framering"
)

const (
	// frameBytes is one 20 ms frame of 8 kHz s16le.
	frameBytes = 320
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
// assembles frames into the call's frame ring; the call's pump takes them with ReadFrame.
// Nothing allocates per frame.
type callAudio struct {
	port io.ReadWriter
	log  *slog.Logger
	ring *framering.Ring

	done       chan struct{} // closed at hang-up
	stopOnce   sync.Once
	readerDone chan struct{} // closed when readLoop returns
	failed     chan struct{} // closed when the port failed
	failErr    error         // why; set before failed is closed
	gone       error         // returned after hang-up; wraps hw.ErrNoCall
}

var _ hw.Audio = (*callAudio)(nil)

func newCallAudio(lineID string, port io.ReadWriter, log *slog.Logger) *callAudio {
	return &callAudio{
		port:       port,
		log:        log,
		ring:       framering.New(hw.S16LE),
		done:       make(chan struct{}),
		readerDone: make(chan struct{}),
		failed:     make(chan struct{}),
		gone:       fmt.Errorf("gsm %s: call ended: %w", lineID, hw.ErrNoCall),
	}
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
	err := a.ring.Read(p, a.done, a.failed)
	switch {
	case errors.Is(err, framering.ErrStopped):
		return a.gone
	case errors.Is(err, framering.ErrFailed):
		return a.failErr
	}
	return err
}

// FrameWaited is how long the frame ReadFrame returned last waited in the ring
// (hw.FrameWaiter).
func (a *callAudio) FrameWaited() time.Duration { return a.ring.Waited() }

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

// readLoop fills frames from the port until the call ends or the port fails. When the consumer
// lags, the oldest waiting frame gives way.
func (a *callAudio) readLoop() {
	defer close(a.readerDone)
	for {
		if _, err := io.ReadFull(a.port, a.ring.Buffer()); err != nil {
			a.ring.Release()
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
		a.ring.Publish()
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
		if n := a.ring.Dropped(); n > 0 {
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
