package browserline

import (
	"errors"
	"fmt"
	"time"

	"hotline/hw"
	"hotline/hw/framering"
)

// audio is the sound of one browser call. The call's reader (readLoop) puts the browser's frames
// into the call's frame ring; the switchboard's pump takes them with ReadFrame. Nothing
// allocates per frame.
type audio struct {
	c    *call
	ring *framering.Ring
	gone error
}

var _ hw.Audio = (*audio)(nil)

func newAudio(c *call, lineID string) *audio {
	return &audio{
		c:    c,
		ring: framering.New(hw.S16LE),
		gone: fmt.Errorf("browserline %s: call ended: %w", lineID, hw.ErrNoCall),
	}
}

// Format is always S16LE.
func (a *audio) Format() hw.AudioFormat { return hw.S16LE }

// ReadFrame fills p with the browser's next frame, or with silence and hw.ErrUnderrun when the
// browser sent nothing for 60 ms after its last frame (and every 20 ms after that). After the
// call ended it returns an error wrapping hw.ErrNoCall.
func (a *audio) ReadFrame(p []byte) error {
	if len(p) != FrameBytes {
		return errFrameSize
	}
	err := a.ring.Read(p, a.c.done, nil)
	if errors.Is(err, framering.ErrStopped) {
		return a.gone
	}
	return err
}

// FrameWaited is how long the frame ReadFrame returned last waited in the ring
// (hw.FrameWaiter).
func (a *audio) FrameWaited() time.Duration { return a.ring.Waited() }

// WriteFrame sends one frame to the browser.
func (a *audio) WriteFrame(p []byte) error {
	if len(p) != FrameBytes {
		return errFrameSize
	}
	select {
	case <-a.c.done:
		return a.gone
	default:
	}
	if err := a.c.t.WriteFrame(p); err != nil {
		a.c.hangup("browser gone")
		return fmt.Errorf("browserline: write audio: %w", err)
	}
	return nil
}

// readLoop takes the browser's frames until the transport fails or the browser hangs up. Before
// the answer the frames are dropped; when the pump lags, the oldest waiting frame gives way.
func (a *audio) readLoop() error {
	for {
		if err := a.c.t.ReadFrame(a.ring.Buffer()); err != nil {
			a.ring.Release()
			return err
		}
		select {
		case <-a.c.answered:
			a.ring.Publish()
		default:
			a.ring.Release()
		}
	}
}
