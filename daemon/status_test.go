package daemon

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// LineInfos shows each simulated line with its kind, state and (for GSM) what the modem says;
// Counters count a test call.
func TestLineInfos(t *testing.T) {
	for _, tc := range []struct {
		kind string
		gsm  bool
	}{
		{"quectel", true},
		{"fxo", false},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 1, SimKind: tc.kind, SimToneReports: true,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			if got := h.LineInfos(); len(got) != 1 || got[0].ID != "gsm1" || got[0].Kind != tc.kind || got[0].State != StateStarting || got[0].InCall {
				t.Errorf("before Run: %+v", got)
			}
			var wg sync.WaitGroup
			wg.Go(func() { _ = h.Run(ctx) })
			defer func() { cancel(); wg.Wait(); h.Close() }()

			var info LineInfo
			for deadline := time.Now().Add(10 * time.Second); ; {
				info = h.LineInfos()[0]
				if info.State == "ready" {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("line never ready: %+v", info)
				}
				time.Sleep(10 * time.Millisecond)
			}
			t.Logf("%+v", info)
			if tc.gsm && (info.Model == "" || info.SIM != "ready" || !info.Registered || info.Operator == "" || info.SignalBars == 0 || info.Updated.IsZero()) {
				t.Errorf("GSM line without its modem's status: %+v", info)
			}
			if !tc.gsm && (info.Model != "" || info.SIM != "" || info.SignalBars != 0) {
				t.Errorf("analog line with GSM status: %+v", info)
			}
			if c := h.Counters(); c != (Counters{}) {
				t.Errorf("counters before any call: %+v", c)
			}
			res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", HangupAfterMS: 1500})
			if err != nil {
				t.Fatal(err)
			}
			want := Counters{CallsTotal: 1, CallsAnswered: 1}
			if res.Outcome == "voicemail" {
				want.Voicemails = 1
			}
			if c := h.Counters(); c.CallsTotal != want.CallsTotal || c.CallsAnswered != want.CallsAnswered || c.Voicemails != want.Voicemails {
				t.Errorf("counters after a call (%s): %+v, want %+v", res.Outcome, c, want)
			}
		})
	}
}
