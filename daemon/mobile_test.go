package daemon

import (
	"context"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/hw/sim"
	"hotline/voice"
	"hotline/voice/dtmf"
)

// An operator who answers on a mobile: the caller presses 0, the box calls the operator on the
// other simulated line, announces the call, the operator takes it with 1, and the two talk —
// the operator hears the caller's tone, the caller hears the operator's keys — through the real
// drivers and simulated modems on both lines.
func TestMobileOperatorAnswers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 2, SimToneReports: true, Now: workingHours,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()

	if _, err := h.Store.AddOperator(ctx, store.Operator{Name: "Борис", Mobile: "+79160000001", Available: true}); err != nil {
		t.Fatal(err)
	}
	// The operator takes the call with 1 and then presses 2580 for the caller to hear.
	h.Callees.Set("+79160000001", sim.Callee{AnswerAfter: time.Second, Digits: "1#2580", DigitsAfter: 1500 * time.Millisecond,
		NoToneReports: true, HangupAfter: 9 * time.Second})
	// Wait until both lines are up: the second one places the operator's call.
	for deadline := time.Now().Add(15 * time.Second); h.Board.LineState("gsm2") != "ready"; {
		if time.Now().After(deadline) {
			t.Fatalf("gsm2 is %q", h.Board.LineState("gsm2"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	say := make([]byte, 2*3*voice.Rate) // 3 s of a 700 Hz tone
	for i := range len(say) / 2 {
		v := int16(8000 * math.Sin(2*math.Pi*700*float64(i)/voice.Rate))
		say[2*i], say[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Line: "gsm1", Digits: "0", Say: say, Record: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != store.OutcomeAnswered || res.AnsweredBy != "Борис" {
		t.Fatalf("call: outcome %q by %q (path %s)", res.Outcome, res.AnsweredBy, res.Path)
	}
	cctx, ccancel := context.WithTimeout(ctx, 30*time.Second)
	defer ccancel()
	callee, err := h.Callees.Next(cctx, "+79160000001")
	if err != nil {
		t.Fatal(err)
	}
	if !callee.Answered || !strings.HasPrefix(callee.DigitsSent, "1") {
		t.Errorf("the operator's side: %+v", callee)
	}
	// The operator heard the caller's 700 Hz.
	if !heardTone(callee.Heard, 700) {
		t.Error("the operator did not hear the caller")
	}
	// The caller heard the keys the operator pressed after taking the call.
	heard := make([]int16, len(res.Heard)/2)
	for i := range heard {
		heard[i] = int16(uint16(res.Heard[2*i]) | uint16(res.Heard[2*i+1])<<8)
	}
	if keys := dtmf.Decode(heard); !strings.Contains(keys, "2580") {
		t.Errorf("the caller heard keys %q, want the operator's 2580", keys)
	}
}

// heardTone reports whether some half second of x is mostly the tone f.
func heardTone(x []int16, f float64) bool {
	const n = voice.Rate / 2
	c := 2 * math.Cos(2*math.Pi*f/voice.Rate)
	for at := 0; at+n <= len(x); at += n / 2 {
		var s1, s2, total float64
		for _, v := range x[at : at+n] {
			s := float64(v) + c*s1 - s2
			s2, s1 = s1, s
			total += float64(v) * float64(v)
		}
		if total > 0 && 2*(s1*s1+s2*s2-c*s1*s2)/(n*total) > 0.5 {
			return true
		}
	}
	return false
}
