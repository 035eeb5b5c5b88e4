package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"hotline/daemon/store"
)

// The owner's retention settings (the settings page stores them) reach the store: a day's
// retention removes the audio of messages past the age limit and keeps the rest; settings that
// are unset, zero or not numbers limit nothing.
func TestRetentionSettingsApplied(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := &Hotline{Store: st, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	var ids []int64
	for _, age := range []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour, time.Hour} {
		ids = append(ids, leaveMessage(t, st, "+79161234567", fmt.Sprintf("m%d.wav", len(ids)), age, 1000))
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
