package gsm

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
)

// TestCallerHangsUpAtAnswer: the caller hangs up the moment the modem takes the call, and the
// modem's release report comes right behind ATA's OK, before the line has set the call's audio
// up. The call was answered and ends as the caller's hang-up: Answer returns audio that reports
// the end, one Hangup event "caller hung up" (no Connected), no AT+CHUP; the next call is
// answered as usual.
func TestCallerHangsUpAtAnswer(t *testing.T) {
	const number = "+79161234567"
	simcomActive := []string{"OK", "VOICE CALL: BEGIN", `+CLCC: 1,1,0,0,0,"` + number + `",145`}
	for _, tt := range []struct {
		kind lineKind
		name string
		ata  []string // the modem's reply to ATA with what follows it at once
	}{
		{simcomKind, "voice call end", append(simcomActive, "VOICE CALL: END: 000000")},
		{simcomKind, "clcc disconnect", append(simcomActive, `+CLCC: 1,1,6,0,0,"`+number+`",145`)},
		{simcomKind, "no carrier", append(simcomActive, "NO CARRIER")},
		{simcomKind, "all three", append(simcomActive, "VOICE CALL: END: 000000",
			`+CLCC: 1,1,6,0,0,"`+number+`",145`, "NO CARRIER")},
		{simcomKind, "before the active report", []string{"OK", "VOICE CALL: END: 000000", "NO CARRIER"}},
		{huaweiKind, "cend", []string{"OK", "^CEND:1,0,104,16"}},
		{huaweiKind, "no carrier", []string{"OK", "^CONN:1,0", "NO CARRIER"}},
	} {
		t.Run(tt.kind.name+"/"+tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, tt.kind, false, "ready", nil)
				if tt.kind.name == "simcom" {
					r.raw(simcomRing(1, number))
				} else {
					r.m.On("AT+CLCC", `+CLCC: 1,1,4,0,0,"`+number+`",145`, "OK")
					r.push("RING")
				}
				r.expect(hw.Ring, number)
				r.m.On("ATA", tt.ata...)
				a, err := r.line.Answer(context.Background())
				if err != nil {
					t.Fatalf("Answer = %v, want the call's audio", err)
				}
				checkEndedAtAnswer(t, r.next(), r.quiet, a, r.m)
				if n := r.m.Count("AT+CPCMREG=1"); n != 0 {
					t.Errorf("AT+CPCMREG=1 sent %d times for an ended call", n)
				}

				// The line is free for the next call, which talks.
				r.talk(r.answerKind(tt.kind, number), 3)
				r.push("NO CARRIER")
				r.expect(hw.Hangup, CauseRemote)
			})
		})
	}
}

// TestCallerHangsUpAtAnswerQuectel is TestCallerHangsUpAtAnswer on the EC25: its call-state
// report of the release and NO CARRIER right behind ATA's OK.
func TestCallerHangsUpAtAnswerQuectel(t *testing.T) {
	const number = "+79161234567"
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("ATA", "OK", `+QIND: "ccinfo",1,1,0,0,0,"`+number+`",145`,
				`+QIND: "ccinfo",1,1,-1,0,0,"`+number+`",145`, "NO CARRIER")
		})
		r.ring(number)
		if ev := r.next(); ev.Kind != hw.Ring {
			t.Fatalf("event = %+v, want Ring", ev)
		}
		a, err := r.q.Answer(context.Background())
		if err != nil {
			t.Fatalf("Answer = %v, want the call's audio", err)
		}
		checkEndedAtAnswer(t, r.next(), r.quiet, a, r.m)
		// The next call is answered as usual.
		a = r.answer(number)
		f := testFrame(4)
		go r.sendFrame(f)
		p := make([]byte, frameBytes)
		readFrame(t, a, p)
		if string(p) != string(f) {
			t.Errorf("next call's frame %x..., want %x...", p[:4], f[:4])
		}
	})
}

// checkEndedAtAnswer checks what a call the caller ended at its answer leaves: ev, the next
// event, is the caller's Hangup and none follows (quiet); the audio reports the end; the line
// sent no AT+CHUP.
func checkEndedAtAnswer(t *testing.T, ev hw.Event, quiet func(), a hw.Audio, m *modemtest.Modem) {
	t.Helper()
	if ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
		t.Fatalf("event = %+v, want Hangup %q", ev, CauseRemote)
	}
	quiet()
	p := make([]byte, frameBytes)
	if err := a.ReadFrame(p); !errors.Is(err, hw.ErrNoCall) {
		t.Errorf("ReadFrame = %v, want ErrNoCall", err)
	}
	if err := a.WriteFrame(p); !errors.Is(err, hw.ErrNoCall) {
		t.Errorf("WriteFrame = %v, want ErrNoCall", err)
	}
	if err := a.ReadFrame(p[:10]); err == nil || errors.Is(err, hw.ErrNoCall) {
		t.Errorf("ReadFrame of 10 bytes = %v, want the frame size error", err)
	}
	if a.Format() != hw.S16LE {
		t.Errorf("format %v", a.Format())
	}
	if n := m.Count("AT+CHUP"); n != 0 {
		t.Errorf("AT+CHUP sent %d times, want 0", n)
	}
}

// TestCallerGivesUpAsAnswered: the SIM7600 reports MISSED_CALL while ATA is on its way (the caller
// gave up ringing just then) and never answers ATA. The call ends as the caller's hang-up, not
// as a failed answer: Answer's error wraps hw.ErrNoCall and no AT+CHUP is sent.
func TestCallerGivesUpAsAnswered(t *testing.T) {
	const number = "+79161234567"
	synctest.Test(t, func(t *testing.T) {
		r := newDialectRig(t, simcomKind, false, "ready", nil)
		r.raw(simcomRing(1, number))
		r.expect(hw.Ring, number)
		r.m.On("ATA", "MISSED_CALL: 10:21AM "+number) // a URC, and no reply to ATA
		_, err := r.line.Answer(context.Background())
		if !errors.Is(err, hw.ErrNoCall) {
			t.Errorf("Answer = %v, want ErrNoCall", err)
		}
		r.expect(hw.Hangup, CauseRemote)
		r.quiet()
		if n := r.m.Count("AT+CHUP"); n != 0 {
			t.Errorf("AT+CHUP sent %d times, want 0", n)
		}
	})
}
