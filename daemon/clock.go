package daemon

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"hotline/daemon/store"
)

// clockFloor is a time before which the box's clock cannot be right: it is older than this
// program. A board without a real-time clock boots near 1970 until NTP or the mobile network
// sets the time.
var clockFloor = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// clockJump is how far the wall clock must move against the monotonic clock to count as set
// (small corrections by NTP are not jumps).
const clockJump = 2 * time.Minute

// clockWatch notices the wall clock being set while the box runs. While the clock is unset
// (before clockFloor) calls are still answered and logged; when the clock jumps from unset to
// right, what was written meanwhile is moved by the jump, so the call log tells the truth.
type clockWatch struct {
	st  *store.Store
	log *slog.Logger
	// wall and mono read the clocks (tests replace them): wall is the settable time of day,
	// mono a clock that only runs forward.
	wall func() time.Time
	mono func() time.Duration

	mu        sync.Mutex
	unsetFrom time.Time     // the wall time when the unset period began (zero: the clock is right)
	lastWall  time.Time     // the wall time at the last look
	lastMono  time.Duration // the monotonic time at the last look
}

func newClockWatch(st *store.Store, log *slog.Logger) *clockWatch {
	start := time.Now()
	c := &clockWatch{st: st, log: log, wall: func() time.Time { return time.Now().Round(0) },
		mono: func() time.Duration { return time.Since(start) }}
	c.init()
	return c
}

func (c *clockWatch) init() {
	c.lastWall, c.lastMono = c.wall(), c.mono()
	if c.lastWall.Before(clockFloor) {
		c.unsetFrom = c.lastWall
		c.log.Warn("the clock is not set yet; calls are logged and their times fixed once it is", "now", c.lastWall)
	}
}

// Unset reports whether the clock is known to be wrong now.
func (c *clockWatch) Unset() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.unsetFrom.IsZero()
}

// check looks at the clocks once; it fixes the records when the clock was just set.
func (c *clockWatch) check(ctx context.Context) {
	c.mu.Lock()
	wall, mono := c.wall(), c.mono()
	expected := c.lastWall.Add(mono - c.lastMono)
	jump := wall.Sub(expected)
	from, wasUnset := c.unsetFrom, !c.unsetFrom.IsZero()
	c.lastWall, c.lastMono = wall, mono
	if jump > -clockJump && jump < clockJump {
		c.mu.Unlock()
		return
	}
	nowUnset := wall.Before(clockFloor)
	if nowUnset {
		if !wasUnset {
			c.unsetFrom = wall
		}
	} else {
		c.unsetFrom = time.Time{}
	}
	c.mu.Unlock()
	c.log.Warn("the clock jumped", "by", jump.Round(time.Second), "now", wall)
	if wasUnset && !nowUnset {
		n, err := c.st.ShiftTimes(ctx, from.Add(-time.Second), expected.Add(time.Second), jump)
		if err != nil {
			c.log.Error("cannot fix the times written while the clock was unset", "err", err)
			return
		}
		c.log.Info("times written while the clock was unset are fixed", "calls", n, "by", jump.Round(time.Second))
	}
}

// run looks every few seconds until ctx ends.
func (c *clockWatch) run(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.check(ctx)
		}
	}
}
