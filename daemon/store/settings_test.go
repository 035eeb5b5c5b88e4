package store

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := openTest(t, dir, nil)
	steps := []struct {
		set        bool
		key, value string
		def, want  string
	}{
		{false, "greeting", "", "default.wav", "default.wav"},
		{true, "greeting", "welcome.wav", "", ""},
		{false, "greeting", "", "default.wav", "welcome.wav"},
		{true, "greeting", "", "", ""},
		{false, "greeting", "", "default.wav", ""}, // an empty value is a value
		{true, "hours", "{\"mon\":\"9-18\"}\n", "", ""},
		{false, "hours", "", "", "{\"mon\":\"9-18\"}\n"},
		{false, "Hours", "", "x", "x"},
	}
	for i, st := range steps {
		if st.set {
			if err := s.SetSetting(ctx, st.key, st.value); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			continue
		}
		got, err := s.Setting(ctx, st.key, st.def)
		if err != nil || got != st.want {
			t.Errorf("step %d: Setting(%q) = %q, %v; want %q", i, st.key, got, err, st.want)
		}
	}
	if err := s.SetSetting(ctx, "", "x"); err == nil {
		t.Error("empty key accepted")
	}
	s.Close()
	s = openTest(t, dir, nil)
	if got, _ := s.Setting(ctx, "hours", ""); got != "{\"mon\":\"9-18\"}\n" {
		t.Errorf("after reopen: %q", got)
	}
}

func TestAudit(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	s := openTest(t, "", clock)
	if got, err := s.ListAudit(ctx, 0); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("empty audit = %v, %v", got, err)
	}
	entries := []AuditEntry{
		{User: "owner", Action: "login", Detail: "from 192.0.2.1"},
		{User: "anna", Action: "voicemail.handled", Detail: "id 7"},
		{User: "evil\x1b[31m", Action: "x\ny", Detail: strings.Repeat("d", 2000)},
	}
	for _, e := range entries {
		clock.Add(time.Second)
		if err := s.Audit(ctx, e.User, e.Action, e.Detail); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ListAudit(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d entries", len(got))
	}
	if got[2].User != "owner" || got[2].Action != "login" || got[2].Detail != "from 192.0.2.1" || !got[2].At.Equal(clock.Now().Add(-2*time.Second)) {
		t.Errorf("oldest = %+v", got[2])
	}
	if got[0].User != "evil[31m" || got[0].Action != "xy" || len([]rune(got[0].Detail)) != maxDetailRunes || got[0].At.Location() != time.UTC {
		t.Errorf("cleaned entry = %+v", got[0])
	}
	if got, _ := s.ListAudit(ctx, 1); len(got) != 1 || got[0].Action != "xy" {
		t.Errorf("ListAudit(1) = %+v", got)
	}
}
