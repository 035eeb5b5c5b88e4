package fxo_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/fxo"
	"hotline/hw/sim"
)

// TestFXOAnswerRightAfterLoopBreak: a caller hangs up (loop break) and the next call rings at
// once, while the line is still leaving data mode for the last one; answering it must wait for
// the last call's hang-up, whose ATH0 would otherwise put the new call back on hook between
// AT+VLS=1 and AT+VTR (found by the soak at five times real time).
func TestFXOAnswerRightAfterLoopBreak(t *testing.T) {
	// The box's hang-up is slowed down (as a busy machine does): it leaves data mode at once
	// but sends ATH0 only a second later. The next call rings meanwhile (its first ring, while
	// the modem is still in data mode, is only <DLE>R; the next is a RING) and is answered:
	// it must be taken off hook only after the last call's ATH0.
	var mu sync.Mutex
	var onHookAt time.Time
	restore := fxo.SetBeforeATH0(func() {
		time.Sleep(time.Second)
		mu.Lock()
		onHookAt = time.Now()
		mu.Unlock()
	})
	t.Cleanup(restore)
	r := newFXORig(t, sim.Options{RingInterval: 300 * time.Millisecond}, sim.FXOOptions{Hangup: sim.HangupLoopBreak}, fxo.Options{})
	for i, from := range []string{"0201", "0202", "0203", "0204", "0205"} {
		res := make(chan sim.Result, 1)
		go func() {
			rs, err := r.m.Call(context.Background(), sim.Caller{From: from, HangupAfter: 300 * time.Millisecond, MaxRings: 5})
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
			res <- rs
		}()
		// Answer on the very first ring: for every call after the first, that ring comes while
		// the last call is still going on hook.
		for {
			ev := r.next()
			if ev.Kind == hw.Ring {
				break
			}
			if ev.Kind != hw.CallerID {
				t.Fatalf("call %d: got %+v while waiting for its ring", i, ev)
			}
		}
		a, err := r.line.Answer(context.Background())
		if err != nil {
			t.Fatalf("call %d: answer: %v", i, err)
		}
		go pump(a)
		for connected := false; !connected; {
			switch ev := r.next(); ev.Kind {
			case hw.Connected:
				connected = true
			case hw.CallerID, hw.Ring: // sent while the answer waited
			default:
				t.Fatalf("call %d: got %+v, want connected", i, ev)
			}
		}
		mu.Lock()
		last := onHookAt
		mu.Unlock()
		if i > 0 && last.IsZero() {
			t.Fatalf("call %d was connected before the last call's ATH0", i)
		}
		mu.Lock()
		onHookAt = time.Time{}
		mu.Unlock()
		for {
			ev := r.next()
			if ev.Kind == hw.Hangup {
				break
			}
			if ev.Kind != hw.CallerID && ev.Kind != hw.Ring {
				t.Fatalf("call %d: got %+v, want its hang-up", i, ev)
			}
		}
		if rs := <-res; !rs.Answered || rs.HungUpBy != "caller" {
			t.Fatalf("call %d: caller's result %+v, want answered and hung up by the caller", i, rs)
		}
	}
}
