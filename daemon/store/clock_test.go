package store

import (
	"context"
	"testing"
	"time"
)

// ShiftTimesSince moves what was written after the mark: new rows' times, and an older row's
// time that is later than anything the tables held at the mark; the older rows' own times
// stay, though they fall in the range.
func TestShiftTimesSince(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	at := func(hm string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", "2026-11-23 "+hm)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	call := func(start, end string) int64 {
		id, err := s.StartCall(ctx, "gsm1", "+79161234567", at(start))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishCall(ctx, id, at(end), "", OutcomeAbandoned); err != nil {
			t.Fatal(err)
		}
		return id
	}
	callback := func(number, created string) int64 {
		clock.t = at(created)
		id, err := s.AddCallback(ctx, 0, number)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	oldA, oldB := call("18:00", "18:05"), call("18:30", "18:35")
	cbA, cbB := callback("+79160000001", "18:06"), callback("+79160000002", "18:31")

	w, err := s.WrittenNow(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !w.Newest.Equal(at("18:35")) {
		t.Fatalf("newest %v, want 18:35", w.Newest)
	}
	// The clock restarts at 18:05 (saved), 15 hours behind.
	fresh := call("18:06", "18:08")
	clock.t = at("18:07")
	if err := s.CallbackAttempt(ctx, cbA, CallbackOpen, "no answer", "box"); err != nil { // among the old times: stays
		t.Fatal(err)
	}
	clock.t = at("18:40")
	if err := s.CallbackAttempt(ctx, cbB, CallbackOpen, "no answer", "box"); err != nil { // later than all: moves
		t.Fatal(err)
	}
	const jump = 15 * time.Hour
	n, err := s.ShiftTimesSince(ctx, w, at("18:05"), at("18:41"), jump)
	if err != nil || n != 1 {
		t.Fatalf("ShiftTimesSince: %d calls, %v; want 1", n, err)
	}
	for _, tc := range []struct {
		id         int64
		start, end time.Time
	}{
		{oldA, at("18:00"), at("18:05")},
		{oldB, at("18:30"), at("18:35")},
		{fresh, at("18:06").Add(jump), at("18:08").Add(jump)},
	} {
		c, err := s.Call(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !c.StartedAt.Equal(tc.start) || !c.EndedAt.Equal(tc.end) {
			t.Errorf("call %d: %v to %v, want %v to %v", tc.id, c.StartedAt, c.EndedAt, tc.start, tc.end)
		}
	}
	for _, tc := range []struct {
		id               int64
		created, attempt time.Time
	}{
		{cbA, at("18:06"), at("18:07")},
		{cbB, at("18:31"), at("18:40").Add(jump)},
	} {
		cb, err := s.Callback(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !cb.CreatedAt.Equal(tc.created) || !cb.LastAttempt.Equal(tc.attempt) {
			t.Errorf("callback %d: created %v, attempted %v; want %v, %v", tc.id, cb.CreatedAt, cb.LastAttempt, tc.created, tc.attempt)
		}
	}
}
