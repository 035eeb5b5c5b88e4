// Package framering holds the 20 ms audio frames of one call between the goroutine that
// receives them from a device (a modem's audio port, a browser's socket) and the call's audio
// pump, and keeps the underrun clock every line driver reports by: when no frame came for 60 ms
// after the last one, a read returns silence and [hw.ErrUnderrun], then once more every 20 ms
// while the device stays silent.
//
// A [Ring] has one producer and one consumer goroutine. Frames are preallocated; their indexes
// travel on two channels, free (to fill) and ready (filled, oldest first), so nothing allocates
// per frame. When the consumer lags and every frame waits, the producer overwrites the oldest.
//
// The ring judges no underrun and counts none; that is for its consumer (the switchboard's pump
// leaves out the silence before a call's first frame and its last second).
package framering

import (
	"errors"
	"sync/atomic"
	"time"

	"hotline/hw"
)

const (
	// Frames is how many filled frames can wait for the consumer; one more is the one being
	// filled.
	Frames = 8
	// MaxFrameBytes is the largest frame the ring holds: 20 ms of 8 kHz s16le.
	MaxFrameBytes = 320
	// FirstUnderrun is how long Read waits after the last frame before it reports an underrun.
	FirstUnderrun = 60 * time.Millisecond
	// UnderrunEvery spaces the underruns that follow while the device stays silent.
	UnderrunEvery = 20 * time.Millisecond

	bufCount = Frames + 1
)

var (
	// ErrStopped is returned by Read when its stop channel is closed (the call ended).
	ErrStopped = errors.New("framering: stopped")
	// ErrFailed is returned by Read when its fail channel is closed (the device failed) and no
	// frame waits.
	ErrFailed = errors.New("framering: failed")
)

// Ring is the frame ring of one call. Make it with [New].
type Ring struct {
	size    int
	silence byte

	bufs    [bufCount][MaxFrameBytes]byte
	stamps  [bufCount]time.Time // when each filled frame was published
	free    chan int
	ready   chan int
	dropped atomic.Int64

	// Used by the producer only.
	cur int // buffer being filled, -1 for none

	// Used by the consumer only.
	timer  *time.Timer
	due    time.Time     // when the next underrun is reported
	waited time.Duration // how long the frame read last waited in the ring
}

// New returns an empty ring of 20 ms frames in format f. Its underrun clock starts now: the first
// underrun is due FirstUnderrun from now.
func New(f hw.AudioFormat) *Ring {
	r := &Ring{
		size:    min(f.FrameBytes(), MaxFrameBytes),
		silence: Silence(f),
		free:    make(chan int, bufCount),
		ready:   make(chan int, bufCount),
		cur:     -1,
		timer:   time.NewTimer(time.Hour),
		due:     time.Now().Add(FirstUnderrun),
	}
	r.timer.Stop()
	for i := range bufCount {
		r.free <- i
	}
	return r
}

// Silence is the byte that fills a silent frame in format f.
func Silence(f hw.AudioFormat) byte {
	switch f {
	case hw.U8:
		return 0x80
	case hw.ULaw:
		return 0xff
	case hw.ALaw:
		return 0xd5
	}
	return 0
}

// FrameBytes is the size of one frame.
func (r *Ring) FrameBytes() int { return r.size }

// Dropped is how many frames the producer overwrote because the consumer lagged.
func (r *Ring) Dropped() int64 { return r.dropped.Load() }

// Buffer returns the frame the producer fills next, FrameBytes long: the one it holds already,
// else a free one, else the oldest frame waiting (which is then lost and counted in Dropped).
// The producer hands it on with Publish or gives it back with Release. Producer only.
func (r *Ring) Buffer() []byte {
	if r.cur < 0 {
		select {
		case r.cur = <-r.free:
		default:
			// Every frame waits in ready, or the consumer holds one for a moment.
			select {
			case r.cur = <-r.ready:
				r.dropped.Add(1)
			case r.cur = <-r.free:
			}
		}
	}
	return r.bufs[r.cur][:r.size]
}

// Publish hands the frame from Buffer to the consumer. Producer only.
func (r *Ring) Publish() {
	if r.cur < 0 {
		return
	}
	r.stamps[r.cur] = time.Now() // the channel send hands it to the consumer
	r.ready <- r.cur             // never blocks: cur came out of free or ready
	r.cur = -1
}

// Release gives the frame from Buffer back unread (a frame not wanted, or not filled).
// Producer only.
func (r *Ring) Release() {
	if r.cur < 0 {
		return
	}
	r.free <- r.cur
	r.cur = -1
}

// Read fills p with the oldest waiting frame. When none waits it waits for one until the next
// underrun is due, then fills p with silence and returns hw.ErrUnderrun: FirstUnderrun after the
// last frame read (or New, or Flush), then every UnderrunEvery; a consumer that comes late gets
// one underrun at once and the cadence resumes from then. It returns ErrStopped as soon as stop
// is closed, and ErrFailed when fail is closed and no frame waits; either may be nil. p is
// FrameBytes long. Consumer only; it allocates nothing.
func (r *Ring) Read(p []byte, stop, fail <-chan struct{}) error {
	select {
	case <-stop:
		return ErrStopped
	default:
	}
	select {
	case i := <-r.ready:
		return r.take(i, p)
	default:
	}
	select {
	case <-fail:
		return ErrFailed
	default:
	}
	wait := time.Until(r.due)
	if wait <= 0 {
		return r.underrun(p)
	}
	r.timer.Reset(wait)
	select {
	case i := <-r.ready:
		r.timer.Stop()
		return r.take(i, p)
	case <-r.timer.C:
		return r.underrun(p)
	case <-stop:
		r.timer.Stop()
		return ErrStopped
	case <-fail:
		r.timer.Stop()
		return ErrFailed
	}
}

func (r *Ring) take(i int, p []byte) error {
	copy(p, r.bufs[i][:r.size])
	now := time.Now()
	r.waited = now.Sub(r.stamps[i])
	r.free <- i
	r.due = now.Add(FirstUnderrun)
	return nil
}

// Waited is how long the frame the last Read returned had waited in the ring, from Publish to
// Read: the consumer's own lateness, which a device that pauses does not add to (0 after an
// underrun). Consumer only.
func (r *Ring) Waited() time.Duration { return r.waited }

func (r *Ring) underrun(p []byte) error {
	for i := range p {
		p[i] = r.silence
	}
	r.waited = 0
	now := time.Now()
	r.due = r.due.Add(UnderrunEvery)
	if r.due.Before(now) {
		r.due = now.Add(UnderrunEvery)
	}
	return hw.ErrUnderrun
}

// Flush drops the frames waiting (sound from before the call's audio is wanted, such as the
// ringback heard while dialling) and starts the underrun clock afresh. Consumer only, before
// its first Read.
func (r *Ring) Flush() {
	for {
		select {
		case i := <-r.ready:
			r.free <- i
		default:
			r.due = time.Now().Add(FirstUnderrun)
			return
		}
	}
}
