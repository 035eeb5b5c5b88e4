package fxo

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hotline/hw"
	"hotline/hw/framering"
)

const (
	// maxFrameBytes is the largest 20 ms frame (s16le).
	maxFrameBytes = 320
	// voiceMeanAbs is the mean absolute sample value (16-bit scale) above which a frame holds
	// voice energy, about -35 dBm0: well above the +-1 step noise of 8-bit linear and mu-law
	// on a quiet line, well below speech.
	voiceMeanAbs = 600
)

var errFrameSize = errors.New("fxo: wrong audio frame size (160 samples)")

// callAudio is the audio of one call. The stream's reader puts un-shielded bytes into the call's
// frame ring; the call's pump takes them with ReadFrame and writes with WriteFrame. Nothing
// allocates per frame.
type callAudio struct {
	s          *stream
	log        *slog.Logger
	format     hw.AudioFormat
	frameBytes int
	ring       *framering.Ring

	done     chan struct{} // closed when the call ended
	stopOnce sync.Once
	gone     error
	// lastVoice is when the caller last made a sound (unix nanoseconds), for the host-side
	// silence detector.
	lastVoice atomic.Int64

	// Used by the stream's reader only.
	fill int // bytes of the ring's current buffer filled

	// Used by the consumer only.
	tx [2 * maxFrameBytes]byte
}

var _ hw.Audio = (*callAudio)(nil)

func newCallAudio(lineID string, s *stream, format hw.AudioFormat, log *slog.Logger) *callAudio {
	a := &callAudio{
		s:          s,
		log:        log,
		format:     format,
		frameBytes: format.FrameBytes(),
		ring:       framering.New(format),
		done:       make(chan struct{}),
		gone:       fmt.Errorf("fxo %s: call ended: %w", lineID, hw.ErrNoCall),
	}
	a.lastVoice.Store(time.Now().UnixNano())
	return a
}

// Format is the modem's voice format (U8, ULaw or S16LE).
func (a *callAudio) Format() hw.AudioFormat { return a.format }

// ReadFrame fills p with the next frame from the caller, or with silence and hw.ErrUnderrun when
// the modem sent nothing for 60 ms after the last frame (and every 20 ms after that). After the
// call ended it returns an error wrapping hw.ErrNoCall.
func (a *callAudio) ReadFrame(p []byte) error {
	if len(p) != a.frameBytes {
		return errFrameSize
	}
	err := a.ring.Read(p, a.done, nil)
	if errors.Is(err, framering.ErrStopped) {
		return a.gone
	}
	return err
}

// FrameWaited is how long the frame ReadFrame returned last waited in the ring
// (hw.FrameWaiter).
func (a *callAudio) FrameWaited() time.Duration { return a.ring.Waited() }

// WriteFrame sends one frame to the caller, DLE-shielded.
func (a *callAudio) WriteFrame(p []byte) error {
	if len(p) != a.frameBytes {
		return errFrameSize
	}
	select {
	case <-a.done:
		return a.gone
	default:
	}
	out := shield(a.tx[:0], p)
	live, err := a.s.writeAudio(out)
	if !live {
		return a.gone
	}
	if err != nil {
		return fmt.Errorf("fxo: write audio: %w", err)
	}
	return nil
}

// put takes un-shielded bytes from the stream's reader. When the consumer lags and every
// frame waits in the ring, the oldest is dropped.
func (a *callAudio) put(data []byte) {
	for len(data) > 0 {
		buf := a.ring.Buffer()
		n := copy(buf[a.fill:], data)
		a.fill += n
		data = data[n:]
		if a.fill == len(buf) {
			if meanAbs(buf, a.format) > voiceMeanAbs {
				a.lastVoice.Store(time.Now().UnixNano())
			}
			a.ring.Publish()
			a.fill = 0
		}
	}
}

// discard drops the frames received and not read yet (the ringback heard while dialling) and
// starts the underrun clock afresh; the consumer has not started reading.
func (a *callAudio) discard() { a.ring.Flush() }

// silentFor is how long the caller has made no sound.
func (a *callAudio) silentFor(now time.Time) time.Duration {
	return now.Sub(time.Unix(0, a.lastVoice.Load()))
}

// stop ends the audio: ReadFrame and WriteFrame return gone from now on.
func (a *callAudio) stop() {
	a.stopOnce.Do(func() {
		close(a.done)
		if n := a.ring.Dropped(); n > 0 {
			a.log.Warn("audio frames dropped, consumer too slow", "frames", n)
		}
	})
}

// meanAbs is the mean absolute sample value of a frame, on the 16-bit scale.
func meanAbs(p []byte, f hw.AudioFormat) int {
	sum, n := 0, 0
	switch f {
	case hw.U8:
		for _, b := range p {
			sum += absInt(int(b)-128) << 8
		}
		n = len(p)
	case hw.ULaw:
		for _, b := range p {
			sum += int(ulawMagnitude[b])
		}
		n = len(p)
	case hw.S16LE:
		for i := 0; i+1 < len(p); i += 2 {
			sum += absInt(int(int16(uint16(p[i]) | uint16(p[i+1])<<8)))
		}
		n = len(p) / 2
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// ulawMagnitude is the absolute linear value (16-bit scale) of each mu-law code (G.711).
var ulawMagnitude = func() (t [256]int16) {
	for i := range t {
		c := ^byte(i)
		exp := int(c>>4) & 7
		mant := int(c & 0x0f)
		t[i] = int16(((mant<<3)+0x84)<<exp - 0x84)
	}
	return t
}()
