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
	// network asks the lines for the mobile network's time (nil: none); set sets the system
	// clock (tests replace it; the box needs the right to, as root on the image).
	network func(ctx context.Context) (time.Time, error)
	set     func(time.Time) error
	asked   time.Duration // mono time of the last question to the network
	// synced reports whether NTP keeps the clock (nil: never).
	synced func() bool

	mu        sync.Mutex
	unsetFrom time.Time     // the wall time when the unset period began (zero: the clock is right)
	lastWall  time.Time     // the wall time at the last look
	lastMono  time.Duration // the monotonic time at the last look
	source    string        // who set the clock while the box ran: ClockGSM, ClockManual or ""
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

// networkEvery is how often the lines are asked for the time while the clock is unset.
const networkEvery = time.Minute

// fromNetwork sets the system clock from the mobile network's time when the clock is unset and
// no NTP did it yet; the next check sees the jump and fixes the records.
func (c *clockWatch) fromNetwork(ctx context.Context) {
	if c.network == nil || c.set == nil || !c.Unset() {
		return
	}
	c.mu.Lock()
	due := c.asked == 0 || c.mono()-c.asked >= networkEvery
	if due {
		c.asked = c.mono()
	}
	c.mu.Unlock()
	if !due {
		return
	}
	t, err := c.network(ctx)
	if err != nil {
		c.log.Info("no network time yet", "err", err)
		return
	}
	if t.Before(clockFloor) {
		return
	}
	if err := c.set(t); err != nil {
		c.log.Warn("cannot set the clock from the network time", "network_time", t, "err", err)
		return
	}
	c.mu.Lock()
	c.source = ClockGSM
	c.mu.Unlock()
	c.log.Info("clock set from the mobile network's time", "now", t)
	c.check(ctx)
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
			c.fromNetwork(ctx)
		}
	}
}
