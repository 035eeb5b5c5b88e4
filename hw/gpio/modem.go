package gpio

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Timing is a module family's pulse lengths on its control lines, from the vendor's hardware
// design manual. The lengths are the module pin's low time; Lines.Active says which GPIO level
// produces it.
type Timing struct {
	On    time.Duration // PWRKEY low to turn the module on
	Off   time.Duration // PWRKEY low to turn it off
	Down  time.Duration // from the off pulse until the module is off and may be turned on
	Reset time.Duration // RESET low to reset it
}

// Vendor timings. Each is the manual's minimum with a margin, never below it.
var (
	// Quectel EC25 Hardware Design: PWRKEY pulled low for at least 500 ms turns the module on,
	// for at least 650 ms turns it off; RESET_N low for 150-460 ms resets it. The module needs
	// up to 30 s to log off and shut down after the off pulse.
	QuectelEC25 = Timing{On: 600 * time.Millisecond, Off: 800 * time.Millisecond, Down: 30 * time.Second, Reset: 300 * time.Millisecond}
	// SIMCom SIM7600 Hardware Design: PWRKEY low for at least 100 ms (typically 500 ms) turns it
	// on, for at least 2.5 s turns it off; STATUS and USB go off about 26-28 s after the off
	// pulse.
	SIMComSIM7600 = Timing{On: 500 * time.Millisecond, Off: 3 * time.Second, Down: 30 * time.Second, Reset: 500 * time.Millisecond}
)

// Lines are a modem's control lines. A nil pin is not wired.
type Lines struct {
	PowerKey Pin
	Reset    Pin
	// Active is the GPIO level that pulls the module's pin low: 1 for the usual NPN transistor
	// or open-collector driver between the board and the module, 0 for a direct wire.
	Active int
	Timing Timing
}

// ErrNotWired is returned by PowerCycle when the modem has neither line.
var ErrNotWired = errors.New("gpio: the modem has no PWRKEY or RESET line configured")

// PowerCycle restarts the module by its lines: through PWRKEY off, the shut-down wait and on
// when PWRKEY is wired, else by a RESET pulse. It returns when the last pulse ended; the module
// then boots (the USB ports come back some seconds later).
func (l Lines) PowerCycle(ctx context.Context) error {
	switch {
	case l.PowerKey != nil:
		if err := l.PowerKey.Pulse(ctx, l.Active, l.Timing.Off); err != nil {
			return fmt.Errorf("PWRKEY off pulse: %w", err)
		}
		t := time.NewTimer(l.Timing.Down)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the module to shut down: %w", ctx.Err())
		}
		if err := l.PowerKey.Pulse(ctx, l.Active, l.Timing.On); err != nil {
			return fmt.Errorf("PWRKEY on pulse: %w", err)
		}
		return nil
	case l.Reset != nil:
		if err := l.Reset.Pulse(ctx, l.Active, l.Timing.Reset); err != nil {
			return fmt.Errorf("RESET pulse: %w", err)
		}
		return nil
	}
	return ErrNotWired
}
