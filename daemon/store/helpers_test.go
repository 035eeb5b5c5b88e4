package store

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// testArgon keeps password hashing fast in tests; production uses defaultArgon.
var testArgon = argonParams{memory: 64, time: 1, threads: 1}

// fakeClock is a settable clock for sessions, audit and backups.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 11, 23, 10, 15, 2, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func testOptions(clock *fakeClock) options {
	o := defaultOptions()
	o.argon = testArgon
	o.now = clock.Now
	o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	return o
}

// openTest opens a store in dir (a fresh temporary one if "") with a fake clock and fast
// hashing, closed when the test ends.
func openTest(t testing.TB, dir string, clock *fakeClock, mods ...func(*options)) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if clock == nil {
		clock = newClock()
	}
	o := testOptions(clock)
	for _, m := range mods {
		m(&o)
	}
	s, err := openWith(context.Background(), dir, o)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond) }
