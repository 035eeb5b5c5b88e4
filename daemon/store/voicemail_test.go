package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestVoicemail(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	t0 := time.Date(2026, 11, 23, 10, 15, 2, 0, time.UTC)
	callID, err := s.StartCall(ctx, "gsm1", "+7 916 123 45 67", t0)
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.StartVoicemail(ctx, callID, "20261123-101502-1.wav", t0.Add(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.Voicemail(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	want := Voicemail{ID: id, CallID: callID, LineID: "gsm1", Number: "+79161234567", RawNumber: "+7 916 123 45 67",
		File: "20261123-101502-1.wav", CreatedAt: t0.Add(10 * time.Second)}
	if v != want {
		t.Errorf("voicemail = %+v\nwant        %+v", v, want)
	}
	if err := s.FinishVoicemail(ctx, id, 12345*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if v, _ = s.Voicemail(ctx, id); !v.Complete || v.Duration != 12345*time.Millisecond {
		t.Errorf("finished voicemail = %+v", v)
	}
	if c, _ := s.Call(ctx, callID); c.VoicemailID != id {
		t.Errorf("call's voicemail id = %d, want %d", c.VoicemailID, id)
	}

	clock.Add(time.Hour)
	if err := s.SetVoicemailHandled(ctx, id, true, "anna\x07"); err != nil {
		t.Fatal(err)
	}
	v, _ = s.Voicemail(ctx, id)
	if !v.Handled || v.HandledBy != "anna" || !v.HandledAt.Equal(clock.Now()) || v.HandledAt.Location() != time.UTC {
		t.Errorf("handled voicemail = %+v", v)
	}
	if err := s.SetVoicemailHandled(ctx, id, false, "anna"); err != nil {
		t.Fatal(err)
	}
	if v, _ = s.Voicemail(ctx, id); v.Handled || v.HandledBy != "" || !v.HandledAt.IsZero() {
		t.Errorf("unhandled voicemail = %+v", v)
	}
}

func TestVoicemailErrors(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	callID, err := s.StartCall(ctx, "gsm1", "", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.StartVoicemail(ctx, callID, "a.wav", time.Time{}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"unknown call", func() error { _, err := s.StartVoicemail(ctx, 999, "b.wav", time.Time{}); return err }(), ErrNotFound},
		{"bad file", func() error { _, err := s.StartVoicemail(ctx, callID, "../b.wav", time.Time{}); return err }(), nil},
		{"same file twice", func() error { _, err := s.StartVoicemail(ctx, callID, "a.wav", time.Time{}); return err }(), nil},
		{"finish unknown", s.FinishVoicemail(ctx, 999, time.Second), ErrNotFound},
		{"finish negative", s.FinishVoicemail(ctx, 1, -time.Second), nil},
		{"get unknown", func() error { _, err := s.Voicemail(ctx, 999); return err }(), ErrNotFound},
		{"handle unknown", s.SetVoicemailHandled(ctx, 999, true, "x"), ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(tt.err, tt.want) {
				t.Errorf("err = %v, want %v", tt.err, tt.want)
			}
		})
	}
}

func TestListVoicemail(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, "", nil)
	var ids []int64
	for i := range 12 {
		callID, err := s.StartCall(ctx, "gsm1", "+1555000"+string(rune('0'+i%10)), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.StartVoicemail(ctx, callID, filepath.Base(t.Name())+string(rune('a'+i))+".wav", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, i := range []int{1, 5, 11} {
		if err := s.SetVoicemailHandled(ctx, ids[i], true, "owner"); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name      string
		unhandled bool
		limit     int
		wantIDs   []int64
	}{
		{"all", false, 0, reversed(ids)},
		{"all limited", false, 2, []int64{ids[11], ids[10]}},
		{"unhandled", true, 4, []int64{ids[10], ids[9], ids[8], ids[7]}},
		{"unhandled all", true, 1000, []int64{ids[10], ids[9], ids[8], ids[7], ids[6], ids[4], ids[3], ids[2], ids[0]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListVoicemail(ctx, tt.unhandled, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var gotIDs []int64
			for _, v := range got {
				gotIDs = append(gotIDs, v.ID)
				if v.Number == "" || v.LineID != "gsm1" {
					t.Errorf("voicemail %d lacks its call's data: %+v", v.ID, v)
				}
			}
			if !equalIDs(gotIDs, tt.wantIDs) {
				t.Errorf("ids = %v, want %v", gotIDs, tt.wantIDs)
			}
		})
	}
}

func reversed(ids []int64) []int64 {
	out := make([]int64, len(ids))
	for i, id := range ids {
		out[len(ids)-1-i] = id
	}
	return out
}

func equalIDs(a, b []int64) bool {
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

func TestVoicemailPath(t *testing.T) {
	s := openTest(t, "", nil)
	base := filepath.Join(s.Dir(), VoicemailDir)
	tests := []struct {
		file string
		ok   bool
	}{
		{"20261123-101502-17.wav", true},
		{"message.wav", true},
		{"..wav", true},
		{"", false},
		{".", false},
		{"..", false},
		{"../hotline.db", false},
		{"../../etc/passwd", false},
		{"/etc/passwd", false},
		{"sub/file.wav", false},
		{`sub\file.wav`, false},
		{"C:file.wav", false},
		{"a\x00b.wav", false},
		{"a\nb.wav", false},
		{"\xff.wav", false},
		{strings.Repeat("a", 256), false},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			p, err := s.VoicemailPath(Voicemail{File: tt.file})
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if p != filepath.Join(base, tt.file) || !filepath.IsAbs(p) {
					t.Errorf("path = %q", p)
				}
				return
			}
			if err == nil {
				t.Errorf("accepted as %q", p)
			}
		})
	}
}
