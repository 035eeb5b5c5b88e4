// Package gpio drives the control lines of GSM modules wired to the board's GPIO header: the
// PWRKEY line that turns a module on and off, and its RESET line. It uses the Linux GPIO
// character device (/dev/gpiochipN) through github.com/warthog618/go-gpiocdev; the chip and
// line offsets come from the settings.
//
// A Pin pulses one line; a Fake stands in for one in tests. PowerCycle and Reset apply the
// vendor's pulse lengths (Timing) to a modem's lines.
package gpio

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/warthog618/go-gpiocdev"
)

// Pin is one output line.
type Pin interface {
	// Pulse drives the line to level (0 or 1) for d, then back to the other level. When ctx
	// ends first the line goes back at once and ctx's error is returned.
	Pulse(ctx context.Context, level int, d time.Duration) error
}

// Line is a GPIO line of a chip, requested as an output. Create it with Open.
type Line struct {
	mu   sync.Mutex
	l    *gpiocdev.Line
	name string
}

// Open requests line offset of chip ("gpiochip0" or a path) as an output held at idle (0 or
// 1), labelled consumer in the kernel's listing (gpioinfo).
func Open(chip string, offset, idle int, consumer string) (*Line, error) {
	if idle != 0 && idle != 1 {
		return nil, fmt.Errorf("gpio %s:%d: idle level %d, want 0 or 1", chip, offset, idle)
	}
	l, err := gpiocdev.RequestLine(chip, offset, gpiocdev.AsOutput(idle), gpiocdev.WithConsumer(consumer))
	if err != nil {
		return nil, fmt.Errorf("gpio %s:%d: %w", chip, offset, err)
	}
	return &Line{l: l, name: fmt.Sprintf("%s:%d", chip, offset)}, nil
}

// Pulse drives the line to level for d, then back; see Pin.
func (l *Line) Pulse(ctx context.Context, level int, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return pulse(ctx, func(v int) error {
		if err := l.l.SetValue(v); err != nil {
			return fmt.Errorf("gpio %s: set %d: %w", l.name, v, err)
		}
		return nil
	}, level, d)
}

// Close releases the line.
func (l *Line) Close() error {
	if err := l.l.Close(); err != nil {
		return fmt.Errorf("gpio %s: close: %w", l.name, err)
	}
	return nil
}

// pulse sets level, waits d (or ctx) and sets the other level.
func pulse(ctx context.Context, set func(int) error, level int, d time.Duration) error {
	if level != 0 && level != 1 {
		return fmt.Errorf("gpio: pulse level %d, want 0 or 1", level)
	}
	if err := set(level); err != nil {
		return err
	}
	t := time.NewTimer(d)
	defer t.Stop()
	var waitErr error
	select {
	case <-t.C:
	case <-ctx.Done():
		waitErr = ctx.Err()
	}
	return errors.Join(set(1-level), waitErr)
}

// Fake is a Pin that records its pulses; for tests. Its zero value is ready.
type Fake struct {
	mu     sync.Mutex
	pulses []Pulse
	// OnPulse, when set, runs after each pulse (outside the Fake's lock), as the hardware
	// would react: a test turns the simulated modem off or on here.
	OnPulse func(p Pulse)
	// Err, when set, is returned by every Pulse, which then records nothing.
	Err error
}

// Pulse is one recorded pulse.
type Pulse struct {
	Level int
	Len   time.Duration
}

// Pulse records the pulse and waits d, or until ctx ends.
func (f *Fake) Pulse(ctx context.Context, level int, d time.Duration) error {
	f.mu.Lock()
	err := f.Err
	f.mu.Unlock()
	if err != nil {
		return err
	}
	if err := pulse(ctx, func(int) error { return nil }, level, d); err != nil {
		return err
	}
	p := Pulse{Level: level, Len: d}
	f.mu.Lock()
	f.pulses = append(f.pulses, p)
	on := f.OnPulse
	f.mu.Unlock()
	if on != nil {
		on(p)
	}
	return nil
}

// Pulses returns the pulses so far.
func (f *Fake) Pulses() []Pulse {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Pulse(nil), f.pulses...)
}

var (
	_ Pin = (*Line)(nil)
	_ Pin = (*Fake)(nil)
)
