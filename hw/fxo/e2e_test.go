package fxo_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/fxo"
	"hotline/hw/modem"
	"hotline/hw/sim"
	"hotline/voice"
	"hotline/voice/tone"
)

// fxoRig is the fxo driver on a real pty to a simulated analog modem.
type fxoRig struct {
	t    *testing.T
	m    *sim.FXO
	line *fxo.Modem
	stop func()
}

func newFXORig(t *testing.T, opts sim.Options, fx sim.FXOOptions, lo fxo.Options) *fxoRig {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	m, err := sim.NewFXO(opts, fx)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	simDone := make(chan error, 1)
	go func() { simDone <- m.Run(ctx) }()
	port, err := modem.OpenPort(m.ATPath())
	if err != nil {
		cancel()
		m.Close()
		t.Fatal(err)
	}
	lo.Logger = opts.Logger.With("side", "box")
	line := fxo.New("fxo1", port, lo)
	lineDone := make(chan error, 1)
	go func() { lineDone <- line.Run(ctx) }()
	r := &fxoRig{t: t, m: m, line: line}
	r.stop = func() {
		cancel()
		if err := <-lineDone; err != nil {
			t.Errorf("line Run: %v", err)
		}
		for range line.Events() {
		}
		port.Close()
		<-simDone
		m.Close()
	}
	t.Cleanup(r.stop)
	ev := r.next()
	if ev.Kind != hw.State || ev.State != "ready" {
		t.Fatalf("first event %+v, want ready", ev)
	}
	if f := line.Format(); f != hw.U8 {
		t.Fatalf("format %v, want u8", f)
	}
	return r
}

func (r *fxoRig) next() hw.Event {
	r.t.Helper()
	select {
	case ev, ok := <-r.line.Events():
		if !ok {
			r.t.Fatal("events closed")
		}
		return ev
	case <-time.After(20 * time.Second):
		r.t.Fatal("no event in 20 s")
	}
	return hw.Event{}
}

// pump plays a 300 ms tone, then silence, and reads the caller until the call ends; it
// returns the frames that held sound.
func pump(a hw.Audio) (loud int) {
	in := make([]byte, a.Format().FrameBytes())
	out := make([]byte, a.Format().FrameBytes())
	beep := tone.Sine(800, 300*time.Millisecond, -10)
	var f voice.Frame
	for i := 0; ; i++ {
		clear(f[:])
		if off := i * voice.FrameSamples; off < len(beep) {
			copy(f[:], beep[off:])
		}
		voice.EncodeU8(out, f[:])
		if err := a.WriteFrame(out); err != nil {
			return loud
		}
		err := a.ReadFrame(in)
		if err != nil && !errors.Is(err, hw.ErrUnderrun) {
			return loud
		}
		voice.DecodeU8(f[:], in)
		if err == nil && tone.LevelDBm0(f[:]) > -40 {
			loud++
		}
	}
}

// TestFXOEndToEnd: ring with caller ID after the first ring, answer on the second, audio both
// ways, a key reported as a DLE event, and the caller's hang-up by loop break and by busy tone.
func TestFXOEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hangup sim.FXOHangup
		cause  string
	}{
		{"loop break", sim.HangupLoopBreak, fxo.CauseLoopBreak},
		{"busy tone", sim.HangupBusy, fxo.CauseBusy},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newFXORig(t, sim.Options{RingInterval: 400 * time.Millisecond, ToneReports: true}, sim.FXOOptions{Hangup: tc.hangup}, fxo.Options{})
			const from = "02079460123"
			res := make(chan sim.Result, 1)
			go func() {
				rs, err := r.m.Call(context.Background(), sim.Caller{From: from, Digits: "5", HangupAfter: 2500 * time.Millisecond})
				if err != nil {
					t.Errorf("Call: %v", err)
				}
				res <- rs
			}()
			if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != "" {
				t.Fatalf("got %+v, want first ring without number", ev)
			}
			if ev := r.next(); ev.Kind != hw.CallerID || ev.Number != from {
				t.Fatalf("got %+v, want caller ID %s", ev, from)
			}
			if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 2 || ev.Number != from {
				t.Fatalf("got %+v, want second ring with number", ev)
			}
			a, err := r.line.Answer(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			loud := make(chan int, 1)
			go func() { loud <- pump(a) }()
			if ev := r.next(); ev.Kind != hw.Connected {
				t.Fatalf("got %+v, want connected", ev)
			}
			if ev := r.next(); ev.Kind != hw.Digit || ev.Digit != '5' {
				t.Fatalf("got %+v, want digit 5", ev)
			}
			if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != tc.cause {
				t.Fatalf("got %+v, want hang-up %q", ev, tc.cause)
			}
			if n := <-loud; n < 5 {
				t.Errorf("box heard %d loud frames of the key, want at least 5", n)
			}
			rs := <-res
			if !rs.Answered || rs.HungUpBy != "caller" || rs.DigitsSent != "5" || rs.PromptsHeard < 1 {
				t.Errorf("caller's result %+v", rs)
			}
			// The modem is back on hook and takes commands: another call rings.
			go func() { _, _ = r.m.Call(context.Background(), sim.Caller{From: "1", MaxRings: 3}) }()
			if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 {
				t.Fatalf("got %+v, want a new call's ring", ev)
			}
		})
	}
}

// answerFirst waits for the ring that carries number and answers.
func (r *fxoRig) answerWith(number string) hw.Audio {
	r.t.Helper()
	for {
		ev := r.next()
		if ev.Kind == hw.Ring && ev.Number == number {
			break
		}
		if ev.Kind != hw.Ring && ev.Kind != hw.CallerID {
			r.t.Fatalf("got %+v while ringing", ev)
		}
	}
	a, err := r.line.Answer(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	if ev := r.next(); ev.Kind != hw.Connected {
		r.t.Fatalf("got %+v, want connected", ev)
	}
	return a
}

// TestFXOSilenceAndUKCallerID: caller ID in the spaced form before the first RING reaches the
// first Ring event; a line that only goes silent is ended by the host-side silence count.
func TestFXOSilenceAndUKCallerID(t *testing.T) {
	r := newFXORig(t, sim.Options{RingInterval: 300 * time.Millisecond}, sim.FXOOptions{CIDSpaced: true, CIDBeforeRing: true, Hangup: sim.HangupSilence},
		fxo.Options{SilenceTimeout: 1500 * time.Millisecond, IgnoreModemSilence: true})
	const from = "01632960001"
	res := make(chan sim.Result, 1)
	go func() {
		rs, _ := r.m.Call(context.Background(), sim.Caller{From: from, HangupAfter: 500 * time.Millisecond})
		res <- rs
	}()
	if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != from {
		t.Fatalf("got %+v, want first ring with the number", ev)
	}
	a := r.answerWith(from)
	go pump(a)
	if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != fxo.CauseSilence {
		t.Fatalf("got %+v, want hang-up for silence", ev)
	}
	if rs := <-res; rs.HungUpBy != "caller" {
		t.Errorf("result %+v", rs)
	}
}

// TestFXOLocalHangup: the box ends the call (<DLE>^, OK, ATH0); the caller hears it.
func TestFXOLocalHangup(t *testing.T) {
	r := newFXORig(t, sim.Options{RingInterval: 300 * time.Millisecond, Garbage: true}, sim.FXOOptions{}, fxo.Options{})
	res := make(chan sim.Result, 1)
	go func() {
		rs, _ := r.m.Call(context.Background(), sim.Caller{From: "123"})
		res <- rs
	}()
	a := r.answerWith("123")
	done := make(chan struct{})
	go func() { pump(a); close(done) }()
	time.Sleep(300 * time.Millisecond)
	if err := r.line.Hangup(context.Background()); err != nil {
		t.Fatal(err)
	}
	if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != fxo.CauseLocal {
		t.Fatalf("got %+v, want local hang-up", ev)
	}
	<-done
	if rs := <-res; rs.HungUpBy != "box" || !rs.Answered {
		t.Errorf("result %+v", rs)
	}
	if err := r.line.Hangup(context.Background()); err != nil {
		t.Errorf("second Hangup: %v", err)
	}
}

// TestFXOModemVanishes: the modem disappears mid-call; the call ends, the line goes down and
// Run returns an error.
func TestFXOModemVanishes(t *testing.T) {
	m, err := sim.NewFXO(sim.Options{RingInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	simCtx, simCancel := context.WithCancel(context.Background())
	defer simCancel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	simDone := make(chan error, 1)
	go func() { simDone <- m.Run(simCtx) }()
	port, err := modem.OpenPort(m.ATPath())
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	line := fxo.New("fxo1", port, fxo.Options{})
	lineDone := make(chan error, 1)
	go func() { lineDone <- line.Run(ctx) }()
	r := &fxoRig{t: t, m: m, line: line}
	if ev := r.next(); ev.State != "ready" {
		t.Fatalf("got %+v", ev)
	}
	go func() { _, _ = m.Call(ctx, sim.Caller{From: "9"}) }()
	a := r.answerWith("9")
	go pump(a)
	simCancel()
	<-simDone
	m.Close() // the pty is gone
	var got []string
	for ev := range line.Events() {
		got = append(got, ev.Kind.String()+":"+ev.Cause+ev.State)
	}
	want := []string{"hangup:" + fxo.CauseModemLost, "state:down"}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("events after loss %q, want %q", got, want)
	}
	if err := <-lineDone; err == nil {
		t.Error("Run returned nil after the modem vanished")
	}
}
