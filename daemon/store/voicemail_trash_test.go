package store

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestVoicemailTrashRoundTrip(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	t0 := clock.Now()
	add := func(file string) (int64, string) {
		t.Helper()
		callID, err := s.StartCall(ctx, "gsm1", "+79161234567", t0)
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.StartVoicemail(ctx, callID, file, t0)
		if err != nil {
			t.Fatal(err)
		}
		p, err := s.voicemailPath(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("RIFF"+file), 0o600); err != nil {
			t.Fatal(err)
		}
		return id, p
	}
	a, pa := add("a.wav")
	b, pb := add("b.wav")
	trashA := filepath.Join(s.Dir(), VoicemailDir, VoicemailTrashDir, "a.wav")

	if err := s.TrashVoicemail(ctx, a); err != nil {
		t.Fatalf("trash: %v", err)
	}
	if err := s.TrashVoicemail(ctx, a); err != nil {
		t.Fatalf("trash twice: %v", err)
	}
	if _, err := os.Stat(pa); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audio still in place after delete: %v", err)
	}
	if got, err := os.ReadFile(trashA); err != nil || string(got) != "RIFFa.wav" {
		t.Errorf("trash audio = %q, %v", got, err)
	}
	live, err := s.LiveVoicemail(ctx, false, 10)
	if err != nil || len(live) != 1 || live[0].ID != b {
		t.Fatalf("live after delete = %+v, %v; want only %d", live, err, b)
	}
	trashed, err := s.TrashedVoicemail(ctx)
	if err != nil || !trashed[a].Equal(t0) || len(trashed) != 1 {
		t.Fatalf("trashed = %v, %v", trashed, err)
	}

	if err := s.RestoreVoicemail(ctx, a); err != nil {
		t.Fatalf("restore: %v", err)
	}
	if got, err := os.ReadFile(pa); err != nil || string(got) != "RIFFa.wav" {
		t.Errorf("restored audio = %q, %v", got, err)
	}
	if err := s.RestoreVoicemail(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("restore twice: %v, want ErrNotFound", err)
	}
	if live, _ := s.LiveVoicemail(ctx, false, 10); len(live) != 2 {
		t.Errorf("live after restore = %d messages, want 2", len(live))
	}
	if err := s.TrashVoicemail(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("trash unknown: %v, want ErrNotFound", err)
	}

	// Purge: a is deleted now, b a day later; after 7 days only a goes.
	if err := s.TrashVoicemail(ctx, a); err != nil {
		t.Fatal(err)
	}
	clock.Add(24 * time.Hour)
	if err := s.TrashVoicemail(ctx, b); err != nil {
		t.Fatal(err)
	}
	clock.Add(6*24*time.Hour - time.Minute)
	if n, err := s.PurgeVoicemailTrash(ctx); err != nil || n != 0 {
		t.Fatalf("purge before a week = %d, %v", n, err)
	}
	clock.Add(time.Minute)
	if n, err := s.PurgeVoicemailTrash(ctx); err != nil || n != 1 {
		t.Fatalf("purge after a week = %d, %v; want 1", n, err)
	}
	if _, err := s.Voicemail(ctx, a); !errors.Is(err, ErrNotFound) {
		t.Errorf("purged message still there: %v", err)
	}
	if _, err := os.Stat(trashA); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("purged audio still there: %v", err)
	}
	if err := s.RestoreVoicemail(ctx, b); err != nil {
		t.Fatalf("restore b: %v", err)
	}
	if _, err := os.Stat(pb); err != nil {
		t.Errorf("b audio: %v", err)
	}
	if trashed, _ := s.TrashedVoicemail(ctx); len(trashed) != 0 {
		t.Errorf("trash not empty: %v", trashed)
	}
}
