package gpio

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

func TestPowerCycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			lines func(pk, rst *Fake) Lines
			pk    []Pulse
			rst   []Pulse
			took  time.Duration
			err   error
		}{
			{
				name:  "pwrkey",
				lines: func(pk, rst *Fake) Lines { return Lines{PowerKey: pk, Reset: rst, Active: 1, Timing: QuectelEC25} },
				pk:    []Pulse{{1, 800 * time.Millisecond}, {1, 600 * time.Millisecond}},
				took:  800*time.Millisecond + 30*time.Second + 600*time.Millisecond,
			},
			{
				name:  "reset only",
				lines: func(_, rst *Fake) Lines { return Lines{Reset: rst, Active: 0, Timing: SIMComSIM7600} },
				rst:   []Pulse{{0, 500 * time.Millisecond}},
				took:  500 * time.Millisecond,
			},
			{
				name:  "not wired",
				lines: func(_, _ *Fake) Lines { return Lines{Timing: QuectelEC25} },
				err:   ErrNotWired,
			},
		} {
			var pk, rst Fake
			start := time.Now()
			err := tc.lines(&pk, &rst).PowerCycle(t.Context())
			if !errors.Is(err, tc.err) {
				t.Errorf("%s: PowerCycle = %v, want %v", tc.name, err, tc.err)
			}
			if took := time.Since(start); took != tc.took {
				t.Errorf("%s: took %v, want %v", tc.name, took, tc.took)
			}
			if got := pk.Pulses(); !equal(got, tc.pk) {
				t.Errorf("%s: PWRKEY pulses %v, want %v", tc.name, got, tc.pk)
			}
			if got := rst.Pulses(); !equal(got, tc.rst) {
				t.Errorf("%s: RESET pulses %v, want %v", tc.name, got, tc.rst)
			}
		}
	})
}

func equal(a, b []Pulse) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The vendor minimums: EC25 PWRKEY >= 500 ms on, >= 650 ms off; SIM7600 >= 100 ms on, >= 2.5 s
// off.
func TestTimingsKeepVendorMinimums(t *testing.T) {
	for _, tc := range []struct {
		name    string
		tm      Timing
		on, off time.Duration
	}{
		{"EC25", QuectelEC25, 500 * time.Millisecond, 650 * time.Millisecond},
		{"SIM7600", SIMComSIM7600, 100 * time.Millisecond, 2500 * time.Millisecond},
	} {
		if tc.tm.On < tc.on || tc.tm.Off < tc.off {
			t.Errorf("%s: on %v off %v, below the manual's %v / %v", tc.name, tc.tm.On, tc.tm.Off, tc.on, tc.off)
		}
	}
}

func TestPulseCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var levels []int
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		err := pulse(ctx, func(v int) error { levels = append(levels, v); return nil }, 0, time.Second)
		if !errors.Is(err, context.DeadlineExceeded) || len(levels) != 2 || levels[0] != 0 || levels[1] != 1 {
			t.Errorf("pulse = %v, levels %v; want the line back at 1 and the deadline", err, levels)
		}
		if err := pulse(t.Context(), func(int) error { return nil }, 2, time.Second); err == nil {
			t.Error("level 2 accepted")
		}
		var f Fake
		f.Err = errors.New("broken")
		if err := f.Pulse(t.Context(), 1, time.Second); err == nil || len(f.Pulses()) != 0 {
			t.Errorf("failing fake: %v, %v", err, f.Pulses())
		}
	})
}

// Open on a chip that does not exist fails with the chip in the message.
func TestOpenMissingChip(t *testing.T) {
	if _, err := Open("/dev/no-such-gpiochip", 3, 0, "hotline"); err == nil {
		t.Error("Open of a missing chip succeeded")
	}
	if _, err := Open("gpiochip0", 3, 2, "hotline"); err == nil {
		t.Error("idle level 2 accepted")
	}
}
