package daemon

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"hotline/daemon/store"
)

// The network sets the clock while a call that began in 1970 is still up, with its message
// being recorded: the call's start, answer and message move to when they really happened, its
// end (written after the jump) stays, so the call lasts as long as it really did; a call
// logged after the jump and the unset period's other rows are right as well.
func TestClockSetDuringACall(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	wall := time.Date(1970, 1, 1, 0, 0, 9, 0, time.UTC)
	var mono time.Duration
	c := &clockWatch{st: st, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		wall: func() time.Time { return wall }, mono: func() time.Duration { return mono }}
	c.init(ctx)
	tick := func(d time.Duration) { wall, mono = wall.Add(d), mono+d; c.check(ctx) }

	tick(40 * time.Second)
	id, err := st.StartCall(ctx, "gsm1", "+79161234567", wall)
	if err != nil {
		t.Fatal(err)
	}
	tick(5 * time.Second)
	if err := st.AnswerCall(ctx, id, wall); err != nil {
		t.Fatal(err)
	}
	tick(15 * time.Second)
	vm, err := st.StartVoicemail(ctx, id, "msg.wav", wall)
	if err != nil {
		t.Fatal(err)
	}
	tick(10 * time.Second)

	// 70 s after boot NTP sets the clock: it is really 2026-11-24 09:30:00 UTC.
	real := time.Date(2026, 11, 24, 9, 30, 0, 0, time.UTC)
	wall = real
	c.check(ctx)
	if c.Unset() {
		t.Fatal("the clock is still unset")
	}
	tick(20 * time.Second)
	if err := st.FinishVoicemail(ctx, vm, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishCall(ctx, id, wall, "0", store.OutcomeVoicemail); err != nil {
		t.Fatal(err)
	}
	later, err := st.StartCall(ctx, "gsm2", "+79167654321", wall)
	if err != nil {
		t.Fatal(err)
	}

	got, err := st.Call(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	// Boot was 70 s before `real`: the call rang 40 s after it and was answered 5 s later.
	wantStart := real.Add(-30 * time.Second)
	for _, tc := range []struct {
		what      string
		got, want time.Time
	}{
		{"started", got.StartedAt, wantStart},
		{"answered", got.AnsweredAt, wantStart.Add(5 * time.Second)},
		{"ended", got.EndedAt, real.Add(20 * time.Second)},
	} {
		if d := tc.got.Sub(tc.want); d < -time.Second || d > time.Second {
			t.Errorf("the call %s at %v, want about %v", tc.what, tc.got, tc.want)
		}
	}
	if d := got.EndedAt.Sub(got.StartedAt); d < 49*time.Second || d > 51*time.Second {
		t.Errorf("the call lasted %v, want the 50 s it took", d)
	}
	v, err := st.Voicemail(ctx, vm)
	if err != nil {
		t.Fatal(err)
	}
	if d := v.CreatedAt.Sub(wantStart.Add(20 * time.Second)); d < -time.Second || d > time.Second {
		t.Errorf("the message begins at %v, want about %v", v.CreatedAt, wantStart.Add(20*time.Second))
	}
	if l, _ := st.Call(ctx, later); !l.StartedAt.Equal(wall) {
		t.Errorf("the call after the jump starts at %v, want %v", l.StartedAt, wall)
	}
}
