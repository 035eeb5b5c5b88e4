package store

import (
	"context"
	"errors"
	"testing"
)

func TestCloseCallback(t *testing.T) {
	s := openTest(t, "", newClock())
	ctx := context.Background()
	id, err := s.AddCallback(ctx, 0, "+79161234567")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CloseCallback(ctx, id, CallbackOpen, "", "owner"); err == nil {
		t.Errorf("closed with status open")
	}
	if err := s.CloseCallback(ctx, id, CallbackDone, "called from a mobile\x07", "owner"); err != nil {
		t.Fatal(err)
	}
	cb, err := s.Callback(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if cb.Status != CallbackDone || cb.Attempts != 0 || !cb.LastAttempt.IsZero() || cb.HandledBy != "owner" || cb.Outcome != "called from a mobile" {
		t.Errorf("closed request: %+v", cb)
	}
	for _, tid := range []int64{id, id + 100} {
		if err := s.CloseCallback(ctx, tid, CallbackFailed, "", "owner"); !errors.Is(err, ErrNotFound) {
			t.Errorf("close %d again: %v", tid, err)
		}
	}
	if open, _ := s.Callbacks(ctx, true, 10); len(open) != 0 {
		t.Errorf("%d open requests", len(open))
	}
}
