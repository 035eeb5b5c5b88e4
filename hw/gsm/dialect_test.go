package gsm

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
)

func TestDialectInitSequence(t *testing.T) {
	for _, k := range dialectKinds {
		for _, tone := range []bool{false, true} {
			name := k.name
			if tone {
				name += "/tone"
			}
			t.Run(name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					r := newDialectRig(t, k, tone, "ready", nil)
					want := slices.Clone(k.init)
					if tone {
						// The dialect's own init ends with it; the services follow.
						at := len(want) - len(serviceSteps(k.fam))
						want = slices.Insert(want, at, k.tone)
					}
					if got := r.m.Commands(); !slices.Equal(got, want) {
						t.Errorf("init commands\n got  %q\n want %q", got, want)
					}
					if u := r.m.Unexpected(); len(u) != 0 {
						t.Errorf("unexpected commands %q", u)
					}
				})
			})
		}
	}
}

// Calls one after the other: each rings, is answered, carries audio both ways and ends; the
// SIM7600 switches its audio on and off once per call, in that order.
func TestDialectCallsTalk(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				for call := range byte(3) {
					a := r.answerKind(k, "+79161234567")
					if a.Format() != hw.S16LE || a.Format().FrameBytes() != frameBytes {
						t.Errorf("format %v", a.Format())
					}
					r.talk(a, 7*call)
					r.push("NO CARRIER")
					r.expect(hw.Hangup, CauseRemote)
					r.quiet()
					if err := a.ReadFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
						t.Errorf("ReadFrame after the end = %v, want ErrNoCall", err)
					}
				}
				if k.name != "simcom" {
					return
				}
				var route []string
				for _, c := range r.m.Commands() {
					if c == "AT+CPCMREG=1" || c == "AT+CPCMREG=0" {
						route = append(route, c[len(c)-1:])
					}
				}
				if got := slices.Compact(slices.Clone(route)); len(route) != 6 || len(got) != 6 {
					t.Errorf("AT+CPCMREG sequence %q, want 1 0 1 0 1 0", route)
				}
			})
		})
	}
}

func TestDialectToneDetectOff(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				r.answerKind(k, "+79161234567")
				r.push("+RXDTMF: 8", "^DDTMF: 8")
				r.quiet()
			})
		})
	}
}

func TestDialectModemVanishesMidCall(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				a := r.answerKind(k, "+79161234567")
				r.m.Close()
				r.expect(hw.Hangup, CauseModemLost)
				r.expect(hw.State, "down")
				if _, ok := <-r.line.Events(); ok {
					t.Error("events not closed")
				}
				if err := r.wait(); !errors.Is(err, io.EOF) {
					t.Errorf("Run = %v, want the lost port's error", err)
				}
				if err := a.WriteFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
					t.Errorf("WriteFrame = %v, want ErrNoCall", err)
				}
				if err := r.line.Hangup(context.Background()); err != nil {
					t.Errorf("Hangup after Run: %v", err)
				}
				if _, err := r.line.Answer(context.Background()); !errors.Is(err, hw.ErrNoCall) {
					t.Errorf("Answer after Run = %v", err)
				}
			})
		})
	}
}

func TestDialectRunStopsWithContext(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				r.answerKind(k, "+79161234567")
				r.cancel()
				var got []hw.Event
				for ev := range r.line.Events() {
					got = append(got, ev)
				}
				if len(got) != 1 || got[0].Kind != hw.Hangup || got[0].Cause != CauseLocal {
					t.Errorf("events at shutdown %+v, want one Hangup %q", got, CauseLocal)
				}
				if err := r.wait(); err != nil {
					t.Errorf("Run = %v", err)
				}
				if n := r.m.Count("AT+CHUP"); n != 1 {
					t.Errorf("AT+CHUP sent %d times at shutdown, want 1", n)
				}
				if err := r.line.Run(context.Background()); err == nil {
					t.Error("second Run succeeded")
				}
			})
		})
	}
}

func TestDialectModemRestarts(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				r.answerKind(k, "+79161234567")
				r.push("RDY")
				r.expect(hw.Hangup, CauseModemRestart)
				r.expect(hw.State, "ready")
				if n := r.m.Count("ATE0"); n != 2 {
					t.Errorf("ATE0 sent %d times, want 2", n)
				}
			})
		})
	}
}

// The answer's ATA times out: the call is given up with AT+CHUP.
func TestDialectAnswerTimesOut(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				r.m.On("ATA")
				r.push("RING", `+CLIP: "+79161234567",145,,,,0`)
				r.expect(hw.Ring, "+79161234567")
				start := time.Now()
				if _, err := r.line.Answer(context.Background()); err == nil {
					t.Fatal("Answer succeeded")
				}
				if d := time.Since(start); d != answerTimeout {
					t.Errorf("Answer gave up after %v, want %v", d, answerTimeout)
				}
				r.expect(hw.Hangup, CauseAnswerFailed)
				if n := r.m.Count("AT+CHUP"); n != 1 {
					t.Errorf("AT+CHUP sent %d times, want 1", n)
				}
			})
		})
	}
}

func TestParseKeyURC(t *testing.T) {
	tests := []struct {
		text, prefix string
		want         byte
		ok           bool
	}{
		{"+RXDTMF: 8", "+RXDTMF:", '8', true},
		{"+RXDTMF: *", "+RXDTMF:", '*', true},
		{"+RXDTMF: #", "+RXDTMF:", '#', true},
		{"+RXDTMF: A", "+RXDTMF:", 'A', true},
		{"+RXDTMF: d", "+RXDTMF:", 'D', true},
		{"+RXDTMF: 1,100", "+RXDTMF:", '1', true},
		{"^DDTMF: 5", "^DDTMF:", '5', true},
		{"^DDTMF:0", "^DDTMF:", '0', true},
		{`^DDTMF:"7"`, "^DDTMF:", '7', true},
		{"+RXDTMF: 56", "+RXDTMF:", 0, false},
		{"+RXDTMF: E", "+RXDTMF:", 0, false},
		{"+RXDTMF:", "+RXDTMF:", 0, false},
		{"^DDTMF: 5", "+RXDTMF:", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseKeyURC(tt.text, tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseKeyURC(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCVOICE(t *testing.T) {
	tests := []struct {
		text   string
		ok     bool
		usable bool
	}{
		{"^CVOICE:0,8000,16,20", true, true},
		{"^CVOICE: 0, 8000, 16, 20", true, true},
		{"^CVOICE:1,8000,16,20", true, false},
		{"^CVOICE:0,16000,16,20", true, false},
		{"^CVOICE:0,8000,8,20", true, false},
		{"^CVOICE:0,8000,16", false, false},
		{"^CVOICE:x,8000,16,20", false, false},
		{"^CVOICE:(0)", false, false},
		{"+CVOICE:0,8000,16,20", false, false},
	}
	for _, tt := range tests {
		v, ok := parseCVOICE(tt.text)
		if ok != tt.ok || v.usable() != tt.usable {
			t.Errorf("parseCVOICE(%q) = %+v, %v; want ok %v usable %v", tt.text, v, ok, tt.ok, tt.usable)
		}
	}
}

func TestHuaweiIndex(t *testing.T) {
	tests := []struct {
		text, prefix string
		want         int
		ok           bool
	}{
		{"^CEND:1,0,104,16", "^CEND:", 1, true},
		{"^CEND:2,23,104", "^CEND:", 2, true},
		{"^CONN:1,0", "^CONN:", 1, true},
		{"^CONN: 3 ,0", "^CONN:", 3, true},
		{"^CEND:0,0,104,16", "^CEND:", 0, false},
		{"^CEND:9,0", "^CEND:", 0, false},
		{"^CEND:zz", "^CEND:", 0, false},
		{"^CEND:", "^CEND:", 0, false},
	}
	for _, tt := range tests {
		got, ok := huaweiIndex(tt.text, tt.prefix)
		if got != tt.want || ok != tt.ok {
			t.Errorf("huaweiIndex(%q) = %d, %v; want %d, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzParseKeyURC(f *testing.F) {
	for _, s := range []string{"+RXDTMF: 8", "^DDTMF:5", "+RXDTMF: *,100", `^DDTMF:"#"`, "+RXDTMF:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, prefix := range []string{"+RXDTMF:", "^DDTMF:"} {
			d, ok := parseKeyURC(s, prefix)
			if ok && !(d >= '0' && d <= '9' || d >= 'A' && d <= 'D' || d == '*' || d == '#') {
				t.Fatalf("parseKeyURC(%q) = %q", s, d)
			}
		}
	})
}

func FuzzParseHuawei(f *testing.F) {
	for _, s := range []string{"^CVOICE:0,8000,16,20", "^CEND:1,0,104,16", "^CONN:1,0", "^CEND:", "^CVOICE:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, ok := parseCVOICE(s); !ok && v != (cvoice{}) {
			t.Fatalf("parseCVOICE(%q) failed with %+v", s, v)
		}
		for _, prefix := range []string{"^CEND:", "^CONN:"} {
			if idx, ok := huaweiIndex(s, prefix); ok != (idx >= 1 && idx <= 7) {
				t.Fatalf("huaweiIndex(%q) = %d, %v", s, idx, ok)
			}
		}
	})
}

// A second call during a call is refused as busy (AT+CHLD=0), and the call in progress goes on.
func TestDialectRefusesWaitingCall(t *testing.T) {
	waiting := map[string]string{
		"simcom": `+CLCC: 2,1,5,0,0,"+79160000000",145`,
		"huawei": `+CCWA: "+79160000000",145,1`,
	}
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", func(m *modemtest.Modem) { m.On("AT+CHLD=0", "OK") })
				a := r.answerKind(k, "+79161234567")
				r.push(waiting[k.name])
				r.talk(a, 3)
				synctest.Wait()
				if !slices.Contains(r.m.Commands(), "AT+CHLD=0") {
					t.Errorf("the waiting call was not refused: %q", r.m.Commands())
				}
				r.push("NO CARRIER")
				r.expect(hw.Hangup, CauseRemote)
			})
		})
	}
}
