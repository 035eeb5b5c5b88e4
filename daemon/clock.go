package daemon

import (
	"cmp"
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
// A board without a battery clock may instead start at the time it saved before it went off
// (fake-hwclock on Raspberry Pi OS): then what is written from the start until NTP, the mobile
// network or the owner gives the time moves by the jump they make.
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
	// fromSaved reports whether the clock started at a time saved before the box went off,
	// as boards without a battery clock do (nil: it did not).
	fromSaved func() bool

	mu        sync.Mutex
	unsetFrom time.Time     // the wall time when the unset period began (zero: the clock is right)
	lastWall  time.Time     // the wall time at the last look
	lastMono  time.Duration // the monotonic time at the last look
	source    string        // who set the clock while the box ran: ClockGSM, ClockManual or ""
	// savedFrom is the wall time at start when the clock then was only the time saved at the
	// last shutdown and nothing has confirmed or corrected it since (zero: not so); written is
	// where the records ended then.
	savedFrom time.Time
	written   store.Written
}

func newClockWatch(st *store.Store, log *slog.Logger) *clockWatch {
	start := time.Now()
	return &clockWatch{st: st, log: log, wall: func() time.Time { return time.Now().Round(0) },
		mono: func() time.Duration { return time.Since(start) }}
}

// init takes the first look at the clock: unset (before the floor), saved (the board started
// at the time it saved before it went off, as fake-hwclock and systemd-timesyncd make boards
// without a battery clock do, and NTP does not keep it yet), or right.
func (c *clockWatch) init(ctx context.Context) {
	c.lastWall, c.lastMono = c.wall(), c.mono()
	if c.lastWall.Before(clockFloor) {
		c.unsetFrom = c.lastWall
		c.log.Warn("the clock is not set yet; calls are logged and their times fixed once it is", "now", c.lastWall)
		return
	}
	if c.synced == nil || c.synced() || c.fromSaved == nil || !c.fromSaved() {
		return
	}
	w, err := c.st.WrittenNow(ctx)
	if err != nil {
		c.log.Error("the clock may be a saved time, but the records cannot be marked to fix them later", "err", err)
		return
	}
	c.savedFrom, c.written = c.lastWall, w
	c.log.Warn("the clock started at the time saved before the box went off and NTP has not set it yet: it may be "+
		"behind; calls are logged and their times fixed once the network gives the time", "now", c.lastWall)
}

// Unset reports whether the clock is known to be wrong now.
func (c *clockWatch) Unset() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.unsetFrom.IsZero()
}

// Saved reports whether the clock is still the time the board saved before it went off:
// nothing has confirmed it, and it may be behind by as long as the box was off.
func (c *clockWatch) Saved() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.savedFrom.IsZero()
}

// Unsure reports whether the clock may be wrong now: unset or saved. The schedules count as
// open meanwhile.
func (c *clockWatch) Unsure() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.unsetFrom.IsZero() || !c.savedFrom.IsZero()
}

// confirm notes that source (ClockGSM, ClockManual; "" for NTP) gave the time and the clock
// agreed with it within clockJump: a saved clock was right.
func (c *clockWatch) confirm(source string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.savedFrom.IsZero() {
		c.log.Info("the saved clock was right", "by", cmp.Or(source, ClockNTP))
	}
	c.savedFrom = time.Time{}
	if source != "" {
		c.source = source
	}
}

// check looks at the clocks once; it fixes the records when the clock was just set.
func (c *clockWatch) check(ctx context.Context) {
	c.mu.Lock()
	wall, mono := c.wall(), c.mono()
	expected := c.lastWall.Add(mono - c.lastMono)
	jump := wall.Sub(expected)
	from, wasUnset := c.unsetFrom, !c.unsetFrom.IsZero()
	c.lastWall, c.lastMono = wall, mono
	savedFrom, written := c.savedFrom, c.written
	if jump > -clockJump && jump < clockJump {
		c.mu.Unlock()
		if !savedFrom.IsZero() && c.synced != nil && c.synced() {
			c.confirm("")
		}
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
	c.savedFrom = time.Time{}
	c.mu.Unlock()
	c.log.Warn("the clock jumped", "by", jump.Round(time.Second), "now", wall)
	if !savedFrom.IsZero() && !nowUnset {
		if jump < 0 {
			// The saved time was ahead: what was written since the start and what is written
			// now cannot be told apart by time, so nothing moves.
			c.log.Warn("the saved clock was ahead; the times written since the start stay as they were", "by", jump.Round(time.Second))
			return
		}
		n, err := c.st.ShiftTimesSince(ctx, written, savedFrom.Add(-time.Second), expected.Add(time.Second), jump)
		if err != nil {
			c.log.Error("cannot fix the times written while the clock was the saved one", "err", err)
			return
		}
		c.log.Info("times written while the clock was the saved one are fixed", "calls", n, "by", jump.Round(time.Second))
		return
	}
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

// fromNetwork sets the system clock from the mobile network's time when the clock is unset or
// saved and no NTP did it yet; the check sees the jump and fixes the records. A saved clock the
// network's time agrees with is left as it is, now confirmed.
func (c *clockWatch) fromNetwork(ctx context.Context) {
	if c.network == nil || c.set == nil || !c.Unsure() {
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
	if d := t.Sub(c.wall()); c.Saved() && d > -clockJump && d < clockJump {
		c.confirm(ClockGSM)
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
