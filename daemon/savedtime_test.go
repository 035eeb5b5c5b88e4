package daemon

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"hotline/daemon/store"
)

// A board without a battery clock goes off at 18:40 after a busy evening; fake-hwclock saved
// 18:05 last. Next morning it starts at the saved time and takes two calls, and then NTP gives
// the real time, 09:12: the morning's records move by the jump (the second call's end, written
// after it, stays), the evening's stay, though their times overlap.
func TestClockSavedAtShutdown(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evening := time.Date(2026, 11, 23, 18, 0, 0, 0, time.UTC)
	var old []int64
	for i := range 4 { // 18:00, 18:10, 18:20, 18:30, each 5 minutes long
		at := evening.Add(time.Duration(i) * 10 * time.Minute)
		id, err := st.StartCall(ctx, "gsm1", "+7916000000"+string(rune('1'+i)), at)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.FinishCall(ctx, id, at.Add(5*time.Minute), "", store.OutcomeAbandoned); err != nil {
			t.Fatal(err)
		}
		old = append(old, id)
	}
	oldBefore := map[int64]store.Call{}
	for _, id := range old {
		c, _ := st.Call(ctx, id)
		oldBefore[id] = c
	}

	saved := time.Date(2026, 11, 23, 18, 5, 0, 0, time.UTC)
	wall := saved.Add(20 * time.Second) // the box's service starts 20 s after the restore
	var mono time.Duration
	ntp := false
	c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wall: func() time.Time { return wall }, mono: func() time.Duration { return mono },
		synced: func() bool { return ntp }, fromSaved: func() bool { return true }}
	c.init(ctx)
	h := &Hotline{clock: c}
	if !c.Saved() || c.Unset() || !c.Unsure() || h.ClockSource() != ClockSaved {
		t.Fatalf("at start: saved %v unset %v unsure %v source %q", c.Saved(), c.Unset(), c.Unsure(), h.ClockSource())
	}
	tick := func(d time.Duration) { wall, mono = wall.Add(d), mono+d; c.check(ctx) }

	tick(40 * time.Second) // 18:06 by the saved clock: inside the evening's calls
	first, err := st.StartCall(ctx, "gsm1", "+79165550001", wall)
	if err != nil {
		t.Fatal(err)
	}
	tick(30 * time.Second)
	if err := st.FinishCall(ctx, first, wall, "2", store.OutcomeVoicemail); err != nil {
		t.Fatal(err)
	}
	tick(4 * time.Minute)
	second, err := st.StartCall(ctx, "gsm2", "+79165550002", wall)
	if err != nil {
		t.Fatal(err)
	}
	tick(time.Minute)

	// NTP: it is really 09:12:00 the next morning at this moment.
	real := time.Date(2026, 11, 24, 9, 12, 0, 0, time.UTC)
	jump := real.Sub(wall)
	ntp, wall = true, real
	c.check(ctx)
	if c.Saved() || c.Unsure() || h.ClockSource() != ClockNTP {
		t.Fatalf("after NTP: saved %v unsure %v source %q", c.Saved(), c.Unsure(), h.ClockSource())
	}
	tick(20 * time.Second)
	if err := st.FinishCall(ctx, second, wall, "", store.OutcomeAbandoned); err != nil {
		t.Fatal(err)
	}

	f, _ := st.Call(ctx, first)
	if want := saved.Add(time.Minute).Add(jump); !f.StartedAt.Equal(want) || f.EndedAt.Sub(f.StartedAt) != 30*time.Second {
		t.Errorf("the first morning call: %v to %v, want from %v for 30 s", f.StartedAt, f.EndedAt, want)
	}
	s, _ := st.Call(ctx, second)
	if want := real.Add(-time.Minute); !s.StartedAt.Equal(want) || !s.EndedAt.Equal(real.Add(20*time.Second)) {
		t.Errorf("the second morning call: %v to %v, want from %v to %v", s.StartedAt, s.EndedAt, want, real.Add(20*time.Second))
	}
	for _, id := range old {
		got, _ := st.Call(ctx, id)
		if want := oldBefore[id]; !got.StartedAt.Equal(want.StartedAt) || !got.EndedAt.Equal(want.EndedAt) {
			t.Errorf("the evening's call %d moved: %v to %v, was %v to %v", id, got.StartedAt, got.EndedAt, want.StartedAt, want.EndedAt)
		}
	}
}

// A saved clock that NTP or the mobile network then confirms (the box was off only a moment)
// moves nothing; one the owner corrects by hand moves what was written since the start.
func TestClockSavedConfirmed(t *testing.T) {
	for _, by := range []string{"ntp", "network", "by hand", "network, far"} {
		t.Run(by, func(t *testing.T) {
			ctx := context.Background()
			st, err := store.Open(ctx, t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			start := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
			wall := start
			var mono time.Duration
			ntp := false
			truth := start.Add(40 * time.Second) // the saved clock is 40 s behind
			if by == "network, far" || by == "by hand" {
				truth = start.Add(3 * time.Hour)
			}
			var sets int
			c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				wall: func() time.Time { return wall }, mono: func() time.Duration { return mono },
				synced: func() bool { return ntp }, fromSaved: func() bool { return true },
				network: func(context.Context) (time.Time, error) { return truth.Add(mono), nil },
				set:     func(t time.Time) error { sets++; wall = t; return nil }}
			c.init(ctx)
			h := &Hotline{clock: c}
			mono, wall = 10*time.Second, wall.Add(10*time.Second)
			id, err := st.StartCall(ctx, "gsm1", "+79161234567", wall)
			if err != nil {
				t.Fatal(err)
			}
			mono, wall = 20*time.Second, wall.Add(10*time.Second)
			var wantSource string
			switch by {
			case "ntp":
				ntp, wall = true, wall.Add(40*time.Second)
				c.check(ctx)
				wantSource = ClockNTP
			case "network", "network, far":
				c.fromNetwork(ctx)
				wantSource = ClockGSM
			case "by hand":
				if err := h.SetClock(ctx, truth.Add(mono)); err != nil {
					t.Fatal(err)
				}
				wantSource = ClockManual
			}
			if c.Saved() || h.ClockSource() != wantSource {
				t.Fatalf("saved %v, source %q, want %q", c.Saved(), h.ClockSource(), wantSource)
			}
			got, _ := st.Call(ctx, id)
			want := start.Add(10 * time.Second)
			if by == "network, far" || by == "by hand" {
				want = truth.Add(10 * time.Second)
			}
			if !got.StartedAt.Equal(want) {
				t.Errorf("the call starts at %v, want %v", got.StartedAt, want)
			}
			if wantSets := map[string]int{"network": 0, "network, far": 1, "by hand": 1}[by]; sets != wantSets {
				t.Errorf("clock set %d times, want %d", sets, wantSets)
			}
		})
	}
}

// startedFromSaved tells a clock restored from a saved time from a battery clock by the wall
// time at boot: no later than the saved time (fake-hwclock's text, timesyncd's file time).
func TestStartedFromSaved(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "fake-hwclock.data")
	if err := os.WriteFile(fake, []byte("2026-11-23 18:05:00\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stamp := filepath.Join(dir, "clock")
	if err := os.WriteFile(stamp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	stampTime := time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC)
	if err := os.Chtimes(stamp, stampTime, stampTime); err != nil {
		t.Fatal(err)
	}
	type files = []struct {
		path string
		read func(string) (time.Time, error)
	}
	fakeOnly := files{{fake, readFakeHwclock}}
	stampOnly := files{{stamp, fileTime}}
	missing := files{{filepath.Join(dir, "none"), readFakeHwclock}, {filepath.Join(dir, "none2"), fileTime}}
	saved := time.Date(2026, 11, 23, 18, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		boot  time.Time
		files files
		want  bool
	}{
		{"restored from fake-hwclock", saved.Add(-3 * time.Second), fakeOnly, true},
		{"battery clock, off overnight", saved.Add(15 * time.Hour), fakeOnly, false},
		{"off for a moment", saved.Add(time.Minute), fakeOnly, true},
		{"restored from timesyncd", stampTime.Add(-time.Second), stampOnly, true},
		{"battery clock, timesyncd", stampTime.Add(time.Hour), stampOnly, false},
		{"nothing saved", saved, missing, false},
	} {
		if got := startedFromSaved(tc.boot, tc.files); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if err := os.WriteFile(fake, []byte("<b>not a time</b>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if startedFromSaved(saved, fakeOnly) {
		t.Error("an unreadable fake-hwclock file counts as a saved time")
	}
}
