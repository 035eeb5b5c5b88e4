package daemon

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/voice"
)

// A modem unplugged mid-call: the call is ended and logged with the reason, the line comes back
// by itself at its new ports, and the other line takes calls all along.
func TestLineRecoversFromUnplugMidCall(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logbuf strings.Builder
	var logMu sync.Mutex
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 2, SimToneReports: true, Now: workingHours,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logbuf}, nil))})
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("daemon log:\n%s", logbuf.String())
			logMu.Unlock()
		}
	}()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()
	waitState := func(line, want string, within time.Duration) {
		t.Helper()
		for deadline := time.Now().Add(within); h.Board.LineState(line) != want; {
			if time.Now().After(deadline) {
				t.Fatalf("%s is %q after %v, want %q", line, h.Board.LineState(line), within, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitState("gsm1", "ready", 15*time.Second)
	waitState("gsm2", "ready", 15*time.Second)

	say := make([]byte, 2*20*voice.Rate) // 20 s of "voice"
	for i := range len(say) / 2 {
		v := int16(8000 * math.Sin(2*math.Pi*300*float64(i)/voice.Rate))
		say[2*i], say[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	lost := make(chan TestCallResult, 1)
	go func() {
		res, _ := h.TestCall(ctx, TestCall{From: "+79161234567", Line: "gsm1", Digits: "0", Say: say})
		lost <- res
	}()
	// Unplug gsm1's modem while the caller speaks, and plug it back a second later.
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, since, ok := h.Board.ActiveCall("gsm1"); ok && time.Since(since) > 16*time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first call never got going")
		}
		time.Sleep(100 * time.Millisecond)
	}
	m := h.sims["gsm1"].(interface {
		Unplug()
		Plug() error
	})
	m.Unplug()
	time.Sleep(time.Second)
	if err := m.Plug(); err != nil {
		t.Fatal(err)
	}

	// The other line answers meanwhile.
	other, err := h.TestCall(ctx, TestCall{From: "+79167654321", Line: "gsm2", Digits: "1", HangupAfterMS: 12000})
	if err != nil || other.Outcome != "completed" {
		t.Errorf("call on gsm2 while gsm1 recovers: %+v, %v", other, err)
	}

	var res TestCallResult
	select {
	case res = <-lost:
	case <-time.After(90 * time.Second):
		t.Fatal("the cut call never ended")
	}
	if res.CallID == 0 {
		t.Fatalf("the cut call has no record: %+v", res)
	}
	c, err := h.Store.Call(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome == "" || !strings.Contains(c.EndReason, "modem") {
		t.Errorf("the cut call's record: outcome %q, end reason %q", c.Outcome, c.EndReason)
	}
	waitState("gsm1", "ready", 90*time.Second)
	again, err := h.TestCall(ctx, TestCall{From: "+79161234567", Line: "gsm1", Digits: "1", HangupAfterMS: 12000})
	if err != nil || again.Outcome != "completed" {
		t.Errorf("call on gsm1 after it came back: %+v, %v", again, err)
	}
}

// lockedWriter lets several goroutines log into one buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Audio that loses and delays frames on the way from the caller: the box notices (underruns),
// fills the gaps with silence on time, and the call still ends in a whole voicemail.
func TestLossyAudioStillReachesVoicemail(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 1, SimToneReports: true, Now: workingHours,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()
	say := make([]byte, 2*3*voice.Rate)
	for i := range len(say) / 2 {
		v := int16(8000 * math.Sin(2*math.Pi*300*float64(i)/voice.Rate))
		say[2*i], say[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", Say: say, DropEvery: 9, LateEvery: 13})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "voicemail" || res.VoicemailSeconds < 2 {
		t.Errorf("lossy call: %+v", res)
	}
	if n := h.Board.Counters().Underruns; n == 0 {
		t.Error("the box counted no missing frames: the faults did not reach it")
	}
}

// A disk too full to record: the caller who wants to leave a message is still answered, the
// call is logged as missed (to be called back) with the reason, no audio file is started, and
// the owner sees the alert.
func TestDiskTooFullToRecord(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	h, err := Open(ctx, Config{DataDir: dir, Sims: 1, SimToneReports: true, Now: workingHours,
		DiskFloor: 1 << 60, // more than any disk has: the guard finds it "full"
		Logger:    slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() { cancel(); wg.Wait(); h.Close() }()
	for deadline := time.Now().Add(10 * time.Second); h.Disk().Alert == ""; {
		if time.Now().After(deadline) {
			t.Fatal("no disk alert")
		}
		time.Sleep(50 * time.Millisecond)
	}
	say := make([]byte, 2*2*voice.Rate)
	for i := range len(say) / 2 {
		v := int16(8000 * math.Sin(2*math.Pi*300*float64(i)/voice.Rate))
		say[2*i], say[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", Say: say})
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Store.Call(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Outcome != "missed" || c.VoicemailID != 0 || !strings.Contains(c.EndReason, "recorded") || c.AnsweredAt.IsZero() {
		t.Errorf("call on a full disk: outcome %q, voicemail %d, answered %v, reason %q", c.Outcome, c.VoicemailID, c.AnsweredAt, c.EndReason)
	}
	if files, _ := filepath.Glob(filepath.Join(dir, "voicemail", "*.wav")); len(files) != 0 {
		t.Errorf("audio files started on a full disk: %v", files)
	}
}
