package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Where the box's time came from, as the settings page shows it.
const (
	ClockUnset  = "unset"  // before the floor: nobody has set it since the box started
	ClockNTP    = "ntp"    // the kernel says NTP keeps it
	ClockGSM    = "gsm"    // set from the mobile network's time
	ClockManual = "manual" // set by hand in the admin
	ClockRTC    = "rtc"    // right, but from nothing the box can name (a battery clock, or NTP earlier)
	ClockSaved  = "saved"  // the time saved before the box went off, not yet confirmed: may be behind
)

// ClockSource tells where the box's time came from: ClockUnset, ClockSaved, ClockNTP,
// ClockGSM, ClockManual or ClockRTC.
func (h *Hotline) ClockSource() string {
	c := h.clock
	if c.Unset() {
		return ClockUnset
	}
	if c.Saved() {
		return ClockSaved
	}
	if c.synced != nil && c.synced() {
		return ClockNTP
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.source != "" {
		return c.source
	}
	return ClockRTC
}

// SetClock sets the box's clock by hand (the owner, from the admin). It is refused while NTP
// keeps the clock; times written while the clock was unset or saved are moved by the jump.
func (h *Hotline) SetClock(ctx context.Context, t time.Time) error {
	c := h.clock
	if c.synced != nil && c.synced() {
		return errors.New("the clock is kept by the network time (NTP): it cannot be set by hand")
	}
	if t.Before(clockFloor) {
		return fmt.Errorf("%s is before %s: not a real time", t.Format(time.DateOnly), clockFloor.Format(time.DateOnly))
	}
	if c.set == nil {
		return errors.New("this box cannot set its clock")
	}
	if err := c.set(t); err != nil {
		return err
	}
	c.log.Info("clock set by hand", "now", t)
	c.check(ctx)
	c.confirm(ClockManual)
	return nil
}
