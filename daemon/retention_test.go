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

// The owner's retention settings (the settings page stores them) reach the store: a day's
// retention removes the audio of messages past the age limit and keeps the rest; settings that
// are unset, zero or not numbers limit nothing.
func TestRetentionSettingsApplied(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := os.MkdirAll(filepath.Join(dir, store.VoicemailDir), 0o750); err != nil {
		t.Fatal(err)
	}
	h := &Hotline{Store: st, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ids []int64
	for i, age := range []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour} {
		at := time.Now().Add(-age)
		call, err := st.StartCall(ctx, "gsm1", "+79161234567", at)
		if err != nil {
			t.Fatal(err)
		}
		name := []string{"a.wav", "b.wav", "c.wav"}[i]
		vm, err := st.StartVoicemail(ctx, call, name, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, store.VoicemailDir, name), make([]byte, 1000), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishVoicemail(ctx, vm, time.Second); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishCall(ctx, call, at.Add(time.Minute), "0", store.OutcomeVoicemail); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, vm)
	}
	removed := func() []bool {
		var out []bool
		for _, id := range ids {
			v, err := st.Voicemail(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, st.VoicemailAudioRemoved(v))
		}
		return out
	}
	for _, step := range []struct {
		days, mb string
		want     [3]bool
	}{
		{"", "", [3]bool{}},
		{"0", "0", [3]bool{}},
		{"abc", "-5", [3]bool{}},
		{"30", "0", [3]bool{true, false, false}},
		{"7", "", [3]bool{true, true, false}},
	} {
		if err := st.SetSetting(ctx, SettingRetentionDays, step.days); err != nil {
			t.Fatal(err)
		}
		if err := st.SetSetting(ctx, SettingRetentionMB, step.mb); err != nil {
			t.Fatal(err)
		}
		h.applyRetention(ctx)
		if got := removed(); [3]bool(got) != step.want {
			t.Errorf("days %q, MB %q: audio removed %v, want %v", step.days, step.mb, got, step.want)
		}
	}
}
