package browserline

import (
	"fmt"
	"time"

	"hotline/hw"
)

// audio is the sound of one browser call. The call's reader (readLoop) puts the browser's frames
// into a ring of preallocated buffers; the switchboard's pump takes them with ReadFrame. Frame
// indexes travel on two channels, free and ready (oldest first), so nothing allocates per frame.
type audio struct {
	c     *call
	bufs  [bufCount][FrameBytes]byte
	free  chan int
	ready chan int
	gone  error

	// Used by the consumer goroutine only.
	timer *time.Timer
	due   time.Time
}

var _ hw.Audio = (*audio)(nil)

func newAudio(c *call, lineID string) *audio {
	a := &audio{
		c:     c,
		free:  make(chan int, bufCount),
		ready: make(chan int, bufCount),
		gone:  fmt.Errorf("browserline %s: call ended: %w", lineID, hw.ErrNoCall),
		timer: time.NewTimer(time.Hour),
		due:   time.Now().Add(firstUnderrun),
	}
	a.timer.Stop()
	for i := range bufCount {
		a.free <- i
	}
	return a
}

func (a *audio) stop() { a.timer.Stop() }

// Format is always S16LE.
func (a *audio) Format() hw.AudioFormat { return hw.S16LE }

// ReadFrame fills p with the browser's next frame, or with silence and hw.ErrUnderrun when the
// browser sent nothing for 60 ms after its last frame (and every 20 ms after that). After the
// call ended it returns an error wrapping hw.ErrNoCall.
func (a *audio) ReadFrame(p []byte) error {
	if len(p) != FrameBytes {
		return errFrameSize
	}
	select {
	case <-a.c.done:
		return a.gone
	default:
	}
	select {
	case i := <-a.ready:
		return a.take(i, p)
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
	case <-a.c.done:
		a.timer.Stop()
		return a.gone
	}
}

func (a *audio) take(i int, p []byte) error {
	copy(p, a.bufs[i][:])
	a.free <- i
	a.due = time.Now().Add(firstUnderrun)
	return nil
}

func (a *audio) underrun(p []byte) error {
	clear(p)
	now := time.Now()
	a.due = a.due.Add(underrunEvery)
	if a.due.Before(now) {
		a.due = now.Add(underrunEvery)
	}
	return hw.ErrUnderrun
}

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
		var i int
		select {
		case i = <-a.free:
		default:
			select {
			case i = <-a.ready:
			case i = <-a.free:
			}
		}
		if err := a.c.t.ReadFrame(a.bufs[i][:]); err != nil {
			a.free <- i
			return err
		}
		select {
		case <-a.c.answered:
			a.ready <- i
		default:
			a.free <- i
		}
	}
}
