package switchboard

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// TestClock: the call path's waits last d/speed on the wall clock, elapsed time reads back in
// call time, and speed 1 (or none) is the plain wall clock.
func TestClock(t *testing.T) {
	for _, tt := range []struct {
		speed float64
		wall  time.Duration // of 4 s of call time
	}{
		{0, 4 * time.Second},
		{1, 4 * time.Second},
		{0.5, 4 * time.Second}, // slower than real time is not a thing: real time
		{10, 400 * time.Millisecond},
		{20, 200 * time.Millisecond},
	} {
		synctest.Test(t, func(t *testing.T) {
			c := newClock(tt.speed)
			const d = 4 * time.Second
			if got := c.wall(d); got != tt.wall {
				t.Errorf("speed %v: wall(%v) = %v, want %v", tt.speed, d, got, tt.wall)
			}
			start := time.Now()
			<-c.after(d)
			if got := time.Since(start); got != tt.wall {
				t.Errorf("speed %v: after(%v) fired after %v, want %v", tt.speed, d, got, tt.wall)
			}
			if got := c.since(start); got != d {
				t.Errorf("speed %v: since = %v, want %v", tt.speed, got, d)
			}
			start = time.Now()
			tm := c.newTimer(d)
			<-tm.C
			if got := time.Since(start); got != tt.wall {
				t.Errorf("speed %v: newTimer(%v) fired after %v, want %v", tt.speed, d, got, tt.wall)
			}
			start = time.Now()
			ctx, cancel := c.withTimeout(context.Background(), d)
			defer cancel()
			<-ctx.Done()
			if got := time.Since(start); got != tt.wall {
				t.Errorf("speed %v: withTimeout(%v) ended after %v, want %v", tt.speed, d, got, tt.wall)
			}
		})
	}
}
