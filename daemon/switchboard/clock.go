package switchboard

import (
	"context"
	"time"
)

// clock is the time the call path waits on: the flow's timeouts (menus, ringing, queues, the
// position announcements) in call time, run on the wall clock Options.Speed times faster.
// At speed 1 (or 0) every method is the plain time package call, so tests in a synctest
// bubble see exactly the timers they would without it.
//
// The audio is not paced here: the line's frames pace it (the pump handles a frame when the
// line delivers one), so prompts, recordings and the voicemail's silence and length limits,
// all counted in frames, follow a faster line by themselves. Underruns are the line driver's
// (hw.ErrUnderrun from ReadFrame): its deadline, 60 ms after the last frame, stays on the wall
// clock, so at speed s it allows 3*s frames of the faster line.
type clock struct {
	speed float64 // >1: faster than real time; otherwise real time
}

func newClock(speed float64) clock {
	if speed <= 1 {
		speed = 1
	}
	return clock{speed: speed}
}

// wall is how long d of call time lasts on the wall clock.
func (c clock) wall(d time.Duration) time.Duration {
	if c.speed <= 1 {
		return d
	}
	return time.Duration(float64(d) / c.speed)
}

// since is the call time passed since the wall-clock instant t.
func (c clock) since(t time.Time) time.Duration {
	d := time.Since(t)
	if c.speed <= 1 {
		return d
	}
	return time.Duration(float64(d) * c.speed)
}

// after is time.After for d of call time.
func (c clock) after(d time.Duration) <-chan time.Time { return time.After(c.wall(d)) }

// newTimer is time.NewTimer for d of call time.
func (c clock) newTimer(d time.Duration) *time.Timer { return time.NewTimer(c.wall(d)) }

// withTimeout is context.WithTimeout for d of call time.
func (c clock) withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.wall(d))
}
