package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"hotline/daemon/store"
)

// A board without a real-time clock boots in 1970, takes a call, and then the network sets the
// time: the call moves to when it really happened; a call after that is left alone, and small
// NTP corrections move nothing.
func TestClockSetAfterBoot(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wall := time.Date(1970, 1, 1, 0, 0, 12, 0, time.UTC)
	var mono time.Duration
	c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wall: func() time.Time { return wall }, mono: func() time.Duration { return mono }}
	c.init(ctx)
	if !c.Unset() {
		t.Fatal("a 1970 clock is not seen as unset")
	}
	tick := func(d time.Duration) { wall, mono = wall.Add(d), mono+d; c.check(ctx) }

	tick(30 * time.Second)
	early, err := st.StartCall(ctx, "gsm1", "+79161234567", wall)
	if err != nil {
		t.Fatal(err)
	}
	tick(20 * time.Second)
	if err := st.FinishCall(ctx, early, wall, "0", store.OutcomeVoicemail); err != nil {
		t.Fatal(err)
	}
	tick(10 * time.Second)

	// The network sets the clock: 70 s after boot it is really 2026-11-23 10:01:10 UTC.
	real := time.Date(2026, 11, 23, 10, 1, 10, 0, time.UTC)
	mono += 5 * time.Second
	wall = real.Add(5 * time.Second)
	c.check(ctx)
	if c.Unset() {
		t.Fatal("the clock is still unset after it was set")
	}
	got, err := st.Call(ctx, early)
	if err != nil {
		t.Fatal(err)
	}
	wantStart := real.Add(-30 * time.Second) // boot+42 s, 28 s before the clock read boot+70 s
	if d := got.StartedAt.Sub(wantStart); d < -time.Second || d > time.Second {
		t.Errorf("the early call starts at %v, want about %v", got.StartedAt, wantStart)
	}
	if got.EndedAt.Sub(got.StartedAt) != 20*time.Second {
		t.Errorf("the early call lasted %v, want 20 s", got.EndedAt.Sub(got.StartedAt))
	}

	// A later call and an NTP nudge of 3 s change nothing.
	later, _ := st.StartCall(ctx, "gsm1", "+79161234567", wall)
	wall = wall.Add(3 * time.Second)
	c.check(ctx)
	if l, _ := st.Call(ctx, later); !l.StartedAt.Equal(wall.Add(-3 * time.Second)) {
		t.Errorf("the later call moved to %v", l.StartedAt)
	}
	if g2, _ := st.Call(ctx, early); !g2.StartedAt.Equal(got.StartedAt) {
		t.Errorf("the early call moved again: %v", g2.StartedAt)
	}
}

// With no NTP, the mobile network's time sets the clock, and what was logged before moves.
func TestClockFromNetwork(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wall := time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC)
	var mono time.Duration
	real := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // the true time at boot
	var sets int
	c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wall: func() time.Time { return wall }, mono: func() time.Duration { return mono },
		network: func(context.Context) (time.Time, error) { return real.Add(mono), nil },
		set:     func(t time.Time) error { sets++; wall = t; return nil }}
	c.init(ctx)
	mono, wall = 10*time.Second, wall.Add(10*time.Second)
	id, err := st.StartCall(ctx, "gsm1", "+79161234567", wall)
	if err != nil {
		t.Fatal(err)
	}
	mono, wall = 20*time.Second, wall.Add(10*time.Second)
	c.check(ctx)
	c.fromNetwork(ctx)
	if c.Unset() || sets != 1 {
		t.Fatalf("after the network time: unset %v, %d sets", c.Unset(), sets)
	}
	got, _ := st.Call(ctx, id)
	if want := real.Add(10 * time.Second); !got.StartedAt.Equal(want) {
		t.Errorf("the call starts at %v, want %v", got.StartedAt, want)
	}
	// A right clock is never set from the network.
	mono += time.Hour
	wall = wall.Add(time.Hour)
	c.fromNetwork(ctx)
	if sets != 1 {
		t.Errorf("the clock was set again: %d", sets)
	}
}

// TestClockSource follows where the time came from: unset at boot, the network's, the owner's
// by hand (which also fixes the calls written while it was unset), and NTP, which refuses a
// hand-set time.
func TestClockSource(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wall := time.Date(1970, 1, 1, 0, 0, 5, 0, time.UTC)
	var mono time.Duration
	ntp := false
	c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wall: func() time.Time { return wall }, mono: func() time.Duration { return mono },
		set:    func(t time.Time) error { wall = t; return nil },
		synced: func() bool { return ntp }}
	c.init(ctx)
	h := &Hotline{clock: c}
	if got := h.ClockSource(); got != ClockUnset {
		t.Fatalf("at boot: %q, want %q", got, ClockUnset)
	}
	mono, wall = 10*time.Second, wall.Add(10*time.Second)
	id, err := st.StartCall(ctx, "gsm1", "+79161234567", wall)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.SetClock(ctx, time.Date(1999, 1, 1, 0, 0, 0, 0, time.UTC)); err == nil {
		t.Error("a time before the floor was taken")
	}
	mono += 10 * time.Second
	real := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if err := h.SetClock(ctx, real); err != nil {
		t.Fatal(err)
	}
	if got := h.ClockSource(); got != ClockManual {
		t.Errorf("after setting it by hand: %q, want %q", got, ClockManual)
	}
	got, _ := st.Call(ctx, id)
	if want := real.Add(-10 * time.Second); !got.StartedAt.Equal(want) {
		t.Errorf("the call written while unset starts at %v, want %v", got.StartedAt, want)
	}
	ntp = true
	if got := h.ClockSource(); got != ClockNTP {
		t.Errorf("with NTP: %q, want %q", got, ClockNTP)
	}
	if err := h.SetClock(ctx, real.Add(time.Hour)); err == nil || wall.After(real) {
		t.Errorf("set by hand while NTP keeps the clock: err %v, clock %v", err, wall)
	}
}
