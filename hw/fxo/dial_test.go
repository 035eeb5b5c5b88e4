package fxo_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/fxo"
	"hotline/hw/sim"
	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// TestFXODial dials from the analog line through the simulated exchange: ringback, then the
// callee answers, speaks and presses 1 (heard in the audio and reported as a DLE event); the
// box plays a tone and hangs up. A busy number fails with ErrBusy, an unanswered one with
// ErrNoAnswer after the dial timeout, and neither sends an event.
func TestFXODial(t *testing.T) {
	t.Parallel()
	r := newFXORig(t, sim.Options{ToneReports: true}, sim.FXOOptions{}, fxo.Options{DialTimeout: 4 * time.Second})
	r.m.SetCallee("0301234", sim.Callee{
		AnswerAfter: 3 * time.Second,
		Play:        tone.Sine(600, time.Second, -10),
		Digits:      "1",
		DigitsAfter: 1500 * time.Millisecond,
	})
	r.m.SetCallee("0309999", sim.Callee{Outcome: sim.Busy, AnswerAfter: 500 * time.Millisecond})
	r.m.SetCallee("0308888", sim.Callee{Outcome: sim.NoAnswer, AnswerAfter: time.Minute})

	if _, err := r.line.Dial(t.Context(), "+49301234"); err == nil {
		t.Error("a number with '+' was dialled")
	}
	a, err := r.line.Dial(t.Context(), "0301234")
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if ev := r.next(); ev.Kind != hw.Connected || ev.Number != "0301234" {
		t.Fatalf("event %+v, want Connected", ev)
	}
	type pumped struct {
		heard []int16
		err   error
	}
	done := make(chan pumped, 1)
	go func() {
		in := make([]byte, a.Format().FrameBytes())
		out := make([]byte, a.Format().FrameBytes())
		beep := tone.Sine(440, time.Second, -10)
		var f voice.Frame
		var heard []int16
		for i := 0; ; i++ {
			clear(f[:])
			if off := i * voice.FrameSamples; off < len(beep) {
				copy(f[:], beep[off:])
			}
			voice.EncodeU8(out, f[:])
			if err := a.WriteFrame(out); err != nil {
				done <- pumped{heard, nil}
				return
			}
			err := a.ReadFrame(in)
			switch {
			case errors.Is(err, hw.ErrNoCall):
				done <- pumped{heard, nil}
				return
			case err != nil && !errors.Is(err, hw.ErrUnderrun):
				done <- pumped{heard, err}
				return
			}
			voice.DecodeU8(f[:], in)
			heard = append(heard, f[:]...)
		}
	}()
	if ev := r.next(); ev.Kind != hw.Digit || ev.Digit != '1' {
		t.Fatalf("event %+v, want Digit 1", ev)
	}
	time.Sleep(500 * time.Millisecond) // the rest of the key's tone
	if err := r.line.Hangup(t.Context()); err != nil {
		t.Fatalf("Hangup: %v", err)
	}
	if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != fxo.CauseLocal {
		t.Errorf("event %+v, want Hangup %q", ev, fxo.CauseLocal)
	}
	p := <-done
	if p.err != nil {
		t.Errorf("audio: %v", p.err)
	}
	if keys := dtmf.Decode(p.heard); keys != "1" {
		t.Errorf("keys heard %q, want 1", keys)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := r.m.Callees().Next(ctx, "0301234")
	if err != nil || !res.Answered || res.HungUpBy != "box" || res.DigitsSent != "1" {
		t.Errorf("callee: %+v, %v", res, err)
	}
	loud := 0
	for i := 0; i+voice.FrameSamples <= len(res.Heard); i += voice.FrameSamples {
		if tone.LevelDBm0(res.Heard[i:i+voice.FrameSamples]) > -30 {
			loud++
		}
	}
	if loud < 10 {
		t.Errorf("the callee heard %d loud frames of the box's tone, want 10 or more", loud)
	}

	if _, err := r.line.Dial(t.Context(), "0309999"); !errors.Is(err, hw.ErrBusy) {
		t.Errorf("Dial busy = %v, want ErrBusy", err)
	}
	if _, err := r.line.Dial(t.Context(), "0308888"); !errors.Is(err, hw.ErrNoAnswer) {
		t.Errorf("Dial unanswered = %v, want ErrNoAnswer", err)
	}
	select {
	case ev := <-r.line.Events():
		t.Errorf("event %+v after failed dials", ev)
	default:
	}
}
