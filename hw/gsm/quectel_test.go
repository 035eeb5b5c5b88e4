package gsm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
	"hotline/hw/modem/modemtest"
)

func TestInitSequence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{ToneDetect: true}, nil)
		at := slices.Index(initCommands, "AT+QPCMV=1,0")
		want := slices.Insert(slices.Clone(initCommands), at, "AT+QTONEDET=1")
		if got := r.m.Commands(); !slices.Equal(got, want) {
			t.Errorf("init commands\n got  %q\n want %q", got, want)
		}
		if u := r.m.Unexpected(); len(u) != 0 {
			t.Errorf("unexpected commands %q", u)
		}
	})
}

func TestInitToleratesRefusedOptionalCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("AT+CMEE=2", "+CME ERROR: 3")
			m.On(`AT+QINDCFG="ccinfo",1,0`, "ERROR")
			m.On(`AT+QGPSCFG="outport","none"`, "+CME ERROR: operation not allowed")
			m.Expect("AT+CRC=0") // silent: times out
		})
		if got := r.m.Commands(); !slices.Equal(got, initCommands) {
			t.Errorf("init commands\n got  %q\n want %q", got, initCommands)
		}
		// The line works regardless.
		r.ring("+79161234567")
		if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 {
			t.Errorf("event = %+v, want Ring 1", ev)
		}
	})
}

func TestInitFailsWhenModemIsMute(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m := modemtest.New(t)
		m.On("AT") // never answers
		hostAudio, devAudio := net.Pipe()
		defer devAudio.Close()
		q := NewQuectel("gsm1", m.Port(), hostAudio, QuectelOptions{})
		err := q.Run(context.Background())
		if !errors.Is(err, modem.ErrTimeout) {
			t.Errorf("Run = %v, want an error wrapping modem.ErrTimeout", err)
		}
		if n := m.Count("AT"); n != 5 {
			t.Errorf("AT sent %d times, want 5", n)
		}
		var kinds []string
		for ev := range q.Events() {
			kinds = append(kinds, ev.Kind.String()+":"+ev.State)
		}
		if !slices.Equal(kinds, []string{"state:down"}) {
			t.Errorf("events %q, want [state:down]", kinds)
		}
	})
}

func TestIncomingCallRingTwiceAnswerAndTalk(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		const num = "+79161234567"
		for ring := 1; ring <= 2; ring++ {
			start := time.Now()
			r.ring(num)
			ev := r.next()
			if ev.Kind != hw.Ring || ev.Rings != ring || ev.Number != num {
				t.Fatalf("ring %d: event = %+v", ring, ev)
			}
			if d := time.Since(start); d >= clipWait {
				t.Errorf("ring %d reported after %v; +CLIP was there at once", ring, d)
			}
			r.quiet() // one event per ring, even with ccinfo
			time.Sleep(3 * time.Second)
		}

		r.m.On("ATA", "OK", `+QIND: "ccinfo",1,1,0,0,0,"`+num+`",145`)
		a, err := r.q.Answer(context.Background())
		if err != nil {
			t.Fatalf("Answer: %v", err)
		}
		if ev := r.next(); ev.Kind != hw.Connected {
			t.Fatalf("event = %+v, want Connected", ev)
		}
		if a.Format() != hw.S16LE || a.Format().FrameBytes() != 320 {
			t.Errorf("format %v", a.Format())
		}

		p := make([]byte, frameBytes)
		for i := range byte(5) {
			f := testFrame(10 * i)
			r.sendFrame(f)
			if err := a.ReadFrame(p); err != nil {
				t.Fatalf("ReadFrame %d: %v", i, err)
			}
			if !bytes.Equal(p, f) {
				t.Fatalf("frame %d differs", i)
			}
			r.checkWrite(a, testFrame(100+i))
		}

		// Remote hang-up: ccinfo -1 and NO CARRIER give one Hangup.
		r.push(`+QIND: "ccinfo",1,1,-1,0,0,"`+num+`",145`, "NO CARRIER")
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
			t.Fatalf("event = %+v, want Hangup %q", ev, CauseRemote)
		}
		r.quiet()
		if err := a.ReadFrame(p); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("ReadFrame after hang-up = %v, want ErrNoCall", err)
		}
		if err := a.WriteFrame(p); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("WriteFrame after hang-up = %v, want ErrNoCall", err)
		}
		// The next call rings from 1 again.
		r.ring("+3531234567")
		if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != "+3531234567" {
			t.Errorf("next call: %+v", ev)
		}
	})
}

func TestCallerID(t *testing.T) {
	digits200 := strings.Repeat("0123456789", 20)
	digits300 := strings.Repeat("9", 300)
	tests := []struct {
		name string
		clip string
		want string
	}{
		{"international", `+CLIP: "+79161234567",145,,,,0`, "+79161234567"},
		{"markup", `+CLIP: "<script>alert('x')</script>",129,,,,0`, "<script>alert('x')</script>"},
		{"200 digits", `+CLIP: "` + digits200 + `",129,,,,0`, digits200},
		{"capped at 256 bytes", `+CLIP: "` + digits300 + `",129`, digits300[:MaxNumberLen]},
		{"withheld", `+CLIP: "",128,,,,1`, ""},
		{"not available", `+CLIP: "",128,,,,2`, ""},
		{"comma inside quotes", `+CLIP: "12,34",129,,,,0`, "12,34"},
		{"quote inside quotes", `+CLIP: "ab"cd",129`, `ab"cd`},
		{"unquoted", `+CLIP: 5551234,129`, "5551234"},
		{"padded", `+CLIP: "  555 ",129`, "555"},
		{"with alpha", `+CLIP: "+4930123",145,"",0,"Иван, Петров",0`, "+4930123"},
		{"bare", `+CLIP:`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, QuectelOptions{}, nil)
				r.push("RING", tt.clip)
				ev := r.next()
				if ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != tt.want {
					t.Errorf("event = %+v, want Ring 1 with number %q", ev, tt.want)
				}
			})
		})
	}
}

func TestRingWithoutCallerID(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		start := time.Now()
		r.push("RING")
		ev := r.next()
		if ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != "" {
			t.Errorf("event = %+v, want Ring 1 without number", ev)
		}
		if d := time.Since(start); d != clipWait {
			t.Errorf("ring without +CLIP reported after %v, want %v", d, clipWait)
		}
		// The second ring brings only ccinfo, which names the caller.
		time.Sleep(3 * time.Second)
		r.push("RING", `+QIND: "ccinfo",2,1,4,0,0,"+4930123456",145`)
		if ev := r.next(); ev.Rings != 2 || ev.Number != "+4930123456" {
			t.Errorf("event = %+v, want Ring 2 with the ccinfo number", ev)
		}
		// Two RINGs in a row without +CLIP still count one by one.
		time.Sleep(3 * time.Second)
		r.push("RING")
		r.push("RING")
		for want := 3; want <= 4; want++ {
			if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != want {
				t.Errorf("event = %+v, want Ring %d", ev, want)
			}
		}
	})
}

func TestToneDetect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{ToneDetect: true}, nil)
		// Before the answer, digits mean nothing.
		r.ring("+79161234567")
		r.next()
		r.push("+QTONEDET: 49")
		r.quiet()

		r.m.On("ATA", "OK")
		if _, err := r.q.Answer(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.next() // Connected
		r.push("+QTONEDET: 56", "+QTONEDET: 35", "+QTONEDET: 99", "+QTONEDET: x",
			"+QTONEDET: 42", "+QTONEDET: 65", "+QTONEDET: 48,100")
		var got []byte
		for range 5 {
			ev := r.next()
			if ev.Kind != hw.Digit {
				t.Fatalf("event = %+v, want Digit", ev)
			}
			got = append(got, ev.Digit)
		}
		if string(got) != "8#*A0" {
			t.Errorf("digits %q, want %q", got, "8#*A0")
		}
		r.quiet()
	})
}

func TestToneDetectOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		if n := r.m.Count("AT+QTONEDET=1"); n != 0 {
			t.Errorf("AT+QTONEDET=1 sent %d times with tone detection off", n)
		}
		r.answer("+79161234567")
		r.push("+QTONEDET: 56")
		r.quiet()
	})
}

func TestRemoteHangup(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
	}{
		{"no carrier", []string{"NO CARRIER"}},
		{"ccinfo released", []string{`+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`}},
		{"ccinfo then no carrier", []string{`+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`, "NO CARRIER"}},
		{"no carrier then ccinfo", []string{"NO CARRIER", `+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, QuectelOptions{}, nil)
				a := r.answer("+79161234567")
				r.push(tt.lines...)
				if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
					t.Fatalf("event = %+v, want Hangup %q", ev, CauseRemote)
				}
				r.quiet()
				start := time.Now()
				if err := a.ReadFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
					t.Errorf("ReadFrame = %v, want ErrNoCall", err)
				}
				if d := time.Since(start); d != 0 {
					t.Errorf("ReadFrame took %v after hang-up", d)
				}
			})
		})
	}
}

func TestOtherCallsReleaseIgnored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		r.answer("+79161234567")
		// A waiting call (index 2) comes and goes; ours (index 1) stays.
		r.push(`+QIND: "ccinfo",2,1,5,0,0,"+4930123",145`, `+QIND: "ccinfo",2,1,-1,0,0,"+4930123",145`,
			`+QIND: "ccinfo",3,0,-1,0,0,"123",129`)
		r.quiet()
	})
}

func TestCallerGivesUpWhileRinging(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		r.ring("+79161234567")
		r.next()
		r.push(`+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`)
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
			t.Fatalf("event = %+v, want Hangup", ev)
		}
		if _, err := r.q.Answer(context.Background()); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("Answer after the caller left = %v, want ErrNoCall", err)
		}
		if n := r.m.Count("ATA"); n != 0 {
			t.Errorf("ATA sent %d times", n)
		}
	})
}

func TestSilentRingCheckedWithCLCC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.Expect("AT+CLCC", `+CLCC: 1,1,4,0,0,"+79161234567",145`, "OK") // still ringing
			m.On("AT+CLCC", "OK")                                            // then gone
		})
		start := time.Now()
		r.ring("+79161234567")
		r.next()
		ev := r.next()
		if ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
			t.Fatalf("event = %+v, want Hangup", ev)
		}
		if n := r.m.Count("AT+CLCC"); n != 2 {
			t.Errorf("AT+CLCC sent %d times, want 2", n)
		}
		if d := time.Since(start); d != 2*ringSilence {
			t.Errorf("silent call ended after %v, want %v", d, 2*ringSilence)
		}
	})
}

func TestRingingKeepsGoingWithoutCLCC(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		for ring := 1; ring <= 6; ring++ {
			r.ring("+79161234567")
			if ev := r.next(); ev.Rings != ring {
				t.Fatalf("event = %+v, want ring %d", ev, ring)
			}
			time.Sleep(5 * time.Second)
		}
		if n := r.m.Count("AT+CLCC"); n != 0 {
			t.Errorf("AT+CLCC sent %d times while RING kept coming", n)
		}
	})
}

func TestLocalHangup(t *testing.T) {
	tests := []struct {
		name  string
		reply []string
	}{
		{"ok then release", []string{"OK", `+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`}},
		{"release before ok", []string{`+QIND: "ccinfo",1,1,-1,0,0,"+79161234567",145`, "NO CARRIER", "OK"}},
		{"modem refuses", []string{"ERROR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(t, QuectelOptions{}, nil)
				a := r.answer("+79161234567")
				r.m.On("AT+CHUP", tt.reply...)
				if err := r.q.Hangup(context.Background()); err != nil {
					t.Fatalf("Hangup: %v", err)
				}
				if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseLocal {
					t.Fatalf("event = %+v, want Hangup %q", ev, CauseLocal)
				}
				r.quiet()
				if err := a.ReadFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
					t.Errorf("ReadFrame = %v, want ErrNoCall", err)
				}
				if err := r.q.Hangup(context.Background()); err != nil {
					t.Errorf("second Hangup: %v", err)
				}
				if n := r.m.Count("AT+CHUP"); n != 1 {
					t.Errorf("AT+CHUP sent %d times, want 1", n)
				}
			})
		})
	}
}

func TestHangupWhileRingingRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		r.ring("+79161234567")
		r.next()
		if err := r.q.Hangup(context.Background()); err != nil {
			t.Fatal(err)
		}
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseLocal {
			t.Fatalf("event = %+v", ev)
		}
	})
}

func TestHangupWithoutCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		if err := r.q.Hangup(context.Background()); err != nil {
			t.Errorf("Hangup with no call: %v", err)
		}
		r.quiet()
		if n := r.m.Count("AT+CHUP"); n != 0 {
			t.Errorf("AT+CHUP sent %d times with no call", n)
		}
	})
}

func TestAnswerWithoutRing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		if _, err := r.q.Answer(context.Background()); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("Answer = %v, want ErrNoCall", err)
		}
		if n := r.m.Count("ATA"); n != 0 {
			t.Errorf("ATA sent with no call")
		}
	})
}

func TestAnswerTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("ATA") // no reply
		})
		r.ring("+79161234567")
		r.next()
		start := time.Now()
		_, err := r.q.Answer(context.Background())
		if !errors.Is(err, modem.ErrTimeout) {
			t.Fatalf("Answer = %v, want ErrTimeout", err)
		}
		if d := time.Since(start); d != answerTimeout {
			t.Errorf("Answer gave up after %v, want %v", d, answerTimeout)
		}
		if n := r.m.Count("AT+CHUP"); n != 1 {
			t.Errorf("AT+CHUP sent %d times after a failed answer, want 1", n)
		}
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseAnswerFailed {
			t.Errorf("event = %+v, want Hangup %q", ev, CauseAnswerFailed)
		}
		r.quiet()
	})
}

func TestAnswerNoCarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("ATA", "NO CARRIER")
		})
		r.ring("+79161234567")
		r.next()
		_, err := r.q.Answer(context.Background())
		var ce *modem.CommandError
		if !errors.Is(err, hw.ErrNoCall) || !errors.As(err, &ce) {
			t.Fatalf("Answer = %v, want ErrNoCall and a CommandError", err)
		}
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
			t.Errorf("event = %+v", ev)
		}
		if n := r.m.Count("AT+CHUP"); n != 0 {
			t.Errorf("AT+CHUP sent %d times for a caller who left", n)
		}
	})
}

func TestGarbageBetweenURCs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		junk := "\x00\x00\xff\xfe\r\n" + "\r\ncaf\xe9\r\n" + strings.Repeat("#", 3000) + "\r\n" +
			"\r\n+QIND: \"csq\",20,99\r\n\r\n+FOO: 1\r\n\r\n+QIND: \"ccinfo\",zz\r\n\r\n+CLIP\r\n\x1b[2J\r\n"
		if err := r.m.WriteRaw([]byte(junk)); err != nil {
			t.Fatal(err)
		}
		r.quiet()
		r.push("RING")
		if err := r.m.WriteRaw([]byte("\r\n\x01\x02garbage\r\n")); err != nil {
			t.Fatal(err)
		}
		r.push(`+CLIP: "+79161234567",145,,,,0`)
		if ev := r.next(); ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != "+79161234567" {
			t.Errorf("event = %+v", ev)
		}
		r.quiet()
	})
}

func TestModemVanishesMidCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		r.m.Close()
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseModemLost {
			t.Fatalf("event = %+v, want Hangup %q", ev, CauseModemLost)
		}
		if ev := r.next(); ev.Kind != hw.State || ev.State != "down" {
			t.Fatalf("event = %+v, want State down", ev)
		}
		if _, ok := <-r.q.Events(); ok {
			t.Error("events not closed")
		}
		err := r.wait()
		if !errors.Is(err, io.EOF) {
			t.Errorf("Run = %v, want the lost port's error", err)
		}
		if err := a.ReadFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("ReadFrame = %v, want ErrNoCall", err)
		}
		if err := r.q.Hangup(context.Background()); err != nil {
			t.Errorf("Hangup after Run: %v", err)
		}
		if _, err := r.q.Answer(context.Background()); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("Answer after Run = %v", err)
		}
	})
}

func TestModemRestarts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		r.answer("+79161234567")
		r.push("RDY")
		if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseModemRestart {
			t.Fatalf("event = %+v", ev)
		}
		if ev := r.next(); ev.Kind != hw.State || ev.State != "ready" {
			t.Fatalf("event = %+v, want ready again", ev)
		}
		if n := r.m.Count("AT+QPCMV=1,0"); n != 2 {
			t.Errorf("AT+QPCMV=1,0 sent %d times, want 2", n)
		}
	})
}

func TestRunStopsWithContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		a := r.answer("+79161234567")
		r.cancel()
		var got []hw.Event
		for ev := range r.q.Events() {
			got = append(got, ev)
		}
		if len(got) != 1 || got[0].Kind != hw.Hangup || got[0].Cause != CauseLocal {
			t.Errorf("events at shutdown %+v, want one Hangup %q", got, CauseLocal)
		}
		if err := r.wait(); err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
		if n := r.m.Count("AT+CHUP"); n != 1 {
			t.Errorf("AT+CHUP sent %d times at shutdown, want 1", n)
		}
		if err := a.WriteFrame(make([]byte, frameBytes)); !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("WriteFrame = %v", err)
		}
		if err := r.q.Run(context.Background()); err == nil {
			t.Error("second Run succeeded")
		}
	})
}

func TestSecondCallAfterHangup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		p := make([]byte, frameBytes)
		for call := range byte(3) {
			a := r.answer("+79161234567")
			f := testFrame(call)
			r.sendFrame(f)
			if err := a.ReadFrame(p); err != nil || !bytes.Equal(p, f) {
				t.Fatalf("call %d: ReadFrame %v", call, err)
			}
			r.checkWrite(a, testFrame(call+50))
			r.push("NO CARRIER")
			if ev := r.next(); ev.Kind != hw.Hangup {
				t.Fatalf("call %d: %+v", call, ev)
			}
		}
	})
}

// A RING that came before AT+CLIP=1 took effect has no number; the ccinfo report after the
// answer names the caller, and the line says so once.
func TestCallerIDLearnedAfterAnswer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		const num = "+79161234567"
		r.push("RING")
		if ev := r.next(); ev.Kind != hw.Ring || ev.Number != "" {
			t.Fatalf("event = %+v, want Ring without number", ev)
		}
		r.m.On("ATA", "OK", `+QIND: "ccinfo",1,1,0,0,0,"`+num+`",145`)
		if _, err := r.q.Answer(context.Background()); err != nil {
			t.Fatalf("Answer: %v", err)
		}
		var got []hw.Event
		for range 2 {
			got = append(got, r.next())
		}
		var learned int
		for _, ev := range got {
			if ev.Kind == hw.CallerID {
				learned++
				if ev.Number != num {
					t.Errorf("CallerID number %q, want %q", ev.Number, num)
				}
			}
		}
		if learned != 1 {
			t.Errorf("events after the answer: %+v; want one Connected and one CallerID", got)
		}
		// A second report of the same call names nobody new.
		r.push(`+QIND: "ccinfo",1,1,0,0,0,"` + num + `",145`)
		r.quiet()
	})
}
