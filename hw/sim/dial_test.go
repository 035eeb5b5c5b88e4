package sim

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/gsm"
	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// dialLine is a driver's line that places calls and sends keys and USSD requests.
type dialLine interface {
	hw.Dialer
	SendDigits(ctx context.Context, digits string) error
	USSD(ctx context.Context, code string) (string, error)
}

// TestDialAgainstSimulator runs each GSM driver's Dial against its simulator over real ptys:
// the callee answers, speaks, presses 1 (as tones in the audio and as the modem's report); the
// box plays a prompt, sends 5 and hangs up. Then busy, unanswered and unreachable numbers fail
// as hw.Dialer says, and a callee that hangs up first ends the call with a Hangup event.
func TestDialAgainstSimulator(t *testing.T) {
	const (
		answers     = "+79161234567"
		busy        = "+79160000001"
		noAnswer    = "+79160000002"
		unreachable = "+79160000003"
		hangsUp     = "89160000004"
	)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			m := startSim(t, d, Options{ToneReports: true})
			m.SetCallee(answers, Callee{
				AnswerAfter: 500 * time.Millisecond,
				// The SIM7600 carries audio only once AT+CPCMREG=1 is taken, some 300 ms
				// after the answer: the callee speaks long enough to be heard anyway.
				Play:        tone.Sine(600, 2*time.Second, -10),
				Digits:      "1",
				DigitsAfter: 2500 * time.Millisecond,
			})
			m.Callees().Set(busy, Callee{Outcome: Busy, AnswerAfter: 200 * time.Millisecond})
			m.Callees().Set(noAnswer, Callee{Outcome: NoAnswer, AnswerAfter: 500 * time.Millisecond})
			m.Callees().Set(hangsUp, Callee{HangupAfter: 500 * time.Millisecond})
			l := startDriver(t, d, m, "ready")
			dl := l.(dialLine)

			a, err := dl.Dial(t.Context(), answers)
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			if ev := nextEvent(t, l); ev.Kind != hw.Connected || ev.Number != answers {
				t.Fatalf("event %+v, want Connected to %s", ev, answers)
			}
			type pumped struct {
				heard []int16
				err   error
			}
			pumpDone := make(chan pumped, 1)
			keyHeard := make(chan struct{})
			go func() {
				h, _, err := pump(a, "1", keyHeard)
				pumpDone <- pumped{h, err}
			}()
			if ev := nextEvent(t, l); ev.Kind != hw.Digit || ev.Digit != '1' {
				t.Fatalf("event %+v, want the modem's Digit 1", ev)
			}
			select {
			case <-keyHeard:
			case <-time.After(10 * time.Second):
				t.Fatal("the box never heard the key 1 in the audio")
			}
			if err := dl.SendDigits(t.Context(), "5"); err != nil {
				t.Errorf("SendDigits: %v", err)
			}
			if err := l.Hangup(t.Context()); err != nil {
				t.Fatalf("Hangup: %v", err)
			}
			if ev := nextEvent(t, l); ev.Kind != hw.Hangup || ev.Cause != gsm.CauseLocal {
				t.Errorf("event %+v, want Hangup %q", ev, gsm.CauseLocal)
			}
			p := <-pumpDone
			if p.err != nil {
				t.Errorf("audio pump: %v", p.err)
			}
			if keys := dtmf.Decode(p.heard); keys != "1" {
				t.Errorf("the box heard keys %q, want 1", keys)
			}
			if n := framesWithTone(p.heard, 600); n < 10 {
				t.Errorf("the box heard %d frames of the callee's 600 Hz, want 10 or more", n)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			r, err := m.Callees().Next(ctx, answers)
			if err != nil {
				t.Fatal(err)
			}
			if !r.Answered || r.DigitsSent != "1" || r.KeysReceived != "5" || r.HungUpBy != "box" || r.Modem != t.Name() {
				t.Errorf("callee: %+v", r)
			}
			if n := framesWithTone(r.Heard, 440); n < 10 {
				t.Errorf("the callee heard %d frames of the box's 440 Hz prompt, want 10 or more", n)
			}

			for _, tc := range []struct {
				number string
				want   error
			}{
				{busy, hw.ErrBusy},
				{noAnswer, hw.ErrNoAnswer},
				{unreachable, hw.ErrNoAnswer},
			} {
				if _, err := dl.Dial(t.Context(), tc.number); !errors.Is(err, tc.want) {
					t.Errorf("Dial %s = %v, want %v", tc.number, err, tc.want)
				}
				r, err := m.Callees().Next(ctx, tc.number)
				if err != nil {
					t.Fatal(err)
				}
				if r.Answered || r.HungUpBy != "network" {
					t.Errorf("callee %s: %+v", tc.number, r)
				}
			}

			// The failed dials sent no events: the next event is this call's.
			a, err = dl.Dial(t.Context(), hangsUp)
			if err != nil {
				t.Fatalf("Dial %s: %v", hangsUp, err)
			}
			go func() {
				_, _, err := pump(a, "", nil)
				pumpDone <- pumped{nil, err}
			}()
			if ev := nextEvent(t, l); ev.Kind != hw.Connected || ev.Number != hangsUp {
				t.Fatalf("event %+v, want Connected to %s", ev, hangsUp)
			}
			if ev := nextEvent(t, l); ev.Kind != hw.Hangup || ev.Cause != gsm.CauseRemote {
				t.Errorf("event %+v, want Hangup %q", ev, gsm.CauseRemote)
			}
			if p := <-pumpDone; p.err != nil {
				t.Errorf("audio pump: %v", p.err)
			}
			if r, err := m.Callees().Next(ctx, hangsUp); err != nil || !r.Answered || r.HungUpBy != "callee" {
				t.Errorf("callee %s: %+v, %v", hangsUp, r, err)
			}
		})
	}
}

// TestUSSDAgainstSimulator asks each simulated network for the balance through the driver, in
// GSM 7-bit text and in Cyrillic (UCS2).
func TestUSSDAgainstSimulator(t *testing.T) {
	for _, d := range dialects {
		for _, reply := range []string{"Balance: 12.50 EUR, valid till 01.01.2030", "Баланс: 123,45 р."} {
			t.Run(d.name, func(t *testing.T) {
				t.Parallel()
				m := startSim(t, d, Options{USSDReply: reply})
				l := startDriver(t, d, m, "ready")
				got, err := l.(dialLine).USSD(t.Context(), "*100#")
				if err != nil || got != reply {
					t.Errorf("USSD = %q, %v; want %q", got, err, reply)
				}
			})
		}
	}
}

// TestDialWire checks the exact wording of each dialect for a dialled call, from ATD to the
// answer and for a busy number.
func TestDialWire(t *testing.T) {
	for _, tc := range []struct {
		d      dialect
		setup  []string
		answer []string
		busy   []string
	}{
		{
			d:     dialects[2], // ec25
			setup: []string{`AT+QINDCFG="ccinfo",1,0`},
			answer: []string{`+QIND: "ccinfo",1,0,2,0,0,"+4930123",145`, `+QIND: "ccinfo",1,0,3,0,0,"+4930123",145`,
				`+QIND: "ccinfo",1,0,0,0,0,"+4930123",145`},
			busy: []string{`+QIND: "ccinfo",1,0,2,0,0,"030999",129`, `+QIND: "ccinfo",1,0,3,0,0,"030999",129`,
				`+QIND: "ccinfo",1,0,-1,0,0,"030999",129`, "BUSY"},
		},
		{
			d:     dialects[0], // sim7600
			setup: []string{"AT+CLCC=1"},
			answer: []string{`+CLCC: 1,0,2,0,0,"+4930123",145`, `+CLCC: 1,0,3,0,0,"+4930123",145`,
				"VOICE CALL: BEGIN", `+CLCC: 1,0,0,0,0,"+4930123",145`},
			busy: []string{`+CLCC: 1,0,2,0,0,"030999",129`, `+CLCC: 1,0,3,0,0,"030999",129`,
				`+CLCC: 1,0,6,0,0,"030999",129`, "BUSY"},
		},
		{
			d:      dialects[1], // huawei
			answer: []string{"^ORIG:1,0", "^CONF:1", "^CONN:1,0"},
			busy:   []string{"^ORIG:1,0", "^CONF:1", "^CEND:1,0,104,17"},
		},
	} {
		t.Run(tc.d.name, func(t *testing.T) {
			t.Parallel()
			m := startSim(t, tc.d, Options{})
			m.SetCallee("+4930123", Callee{AnswerAfter: 100 * time.Millisecond})
			m.SetCallee("030999", Callee{Outcome: Busy})
			at := dialAT(t, m)
			at.send("ATE0\r")
			at.untilFinal(2 * time.Second)
			for _, c := range tc.setup {
				at.cmd(c, "OK")
			}
			at.cmd("ATD+4930123", "NO CARRIER") // a data call
			at.cmd("ATD+4930123;", "OK")
			var got []string
			for range tc.answer {
				got = append(got, at.mustLine(3*time.Second))
			}
			if strings.Join(got, "|") != strings.Join(tc.answer, "|") {
				t.Errorf("answered call:\n got %q\nwant %q", got, tc.answer)
			}
			at.cmd("ATD+4930124;", "ERROR") // one call at a time
			at.cmd("AT+CHUP", "OK")
			at.cmd("AT", "OK") // the hang-up's URCs come first
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if r, err := m.Callees().Next(ctx, "+4930123"); err != nil || r.HungUpBy != "box" || !r.Answered {
				t.Errorf("callee: %+v, %v", r, err)
			}
			at.cmd("ATD030999;", "OK")
			got = got[:0]
			for range tc.busy {
				got = append(got, at.mustLine(3*time.Second))
			}
			if strings.Join(got, "|") != strings.Join(tc.busy, "|") {
				t.Errorf("busy call:\n got %q\nwant %q", got, tc.busy)
			}
		})
	}
}

// voiceData reads the FXO's voice data for d: the samples, unshielded, and the DLE events.
func (c *atConn) voiceData(d time.Duration) (samples []int16, events string) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	var pcm []byte
	for c.fill(deadline) {
	}
	for i := 0; i < len(c.buf); i++ {
		b := c.buf[i]
		if b != simDLE {
			pcm = append(pcm, b)
			continue
		}
		if i+1 == len(c.buf) {
			break
		}
		i++
		if c.buf[i] == simDLE {
			pcm = append(pcm, simDLE)
		} else {
			events += string(c.buf[i])
		}
	}
	c.buf = nil
	samples = make([]int16, len(pcm))
	voice.DecodeU8(samples, pcm)
	return samples, events
}

// TestFXODial dials from the simulated analog modem: ATDT answers VCON, the voice data carries
// ringback (<DLE>r each burst), then the callee's voice and key (tones, and <DLE>/1~ with
// ToneReports); a busy number gives busy tone and <DLE>b; an unknown one congestion tone, which
// the modem reports as busy too.
func TestFXODial(t *testing.T) {
	t.Parallel()
	m, err := NewFXO(Options{ID: t.Name(), ToneReports: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		m.Close()
	})
	m.SetCallee("0301234", Callee{
		AnswerAfter: 1500 * time.Millisecond,
		Play:        tone.Sine(600, 400*time.Millisecond, -10),
		Digits:      "1",
		DigitsAfter: 600 * time.Millisecond,
	})
	m.SetCallee("0309999", Callee{Outcome: Busy, AnswerAfter: 200 * time.Millisecond})
	at := dialAT(t, m)
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	at.cmd("ATDT0301234;", "ERROR") // not in voice mode
	at.cmd("AT+FCLASS=8", "OK")
	at.send("ATDT0301234;\r")
	at.waitFor("VCON", 2*time.Second)
	at.send("AT+VTR\r")
	at.waitFor("CONNECT", 2*time.Second)
	samples, events := at.voiceData(5 * time.Second) // room for a slow machine: the key comes ~2.2 s after CONNECT
	if n := framesWithTone(samples, 425); n < 20 {
		t.Errorf("ringback: %d frames of 425 Hz, want 20 or more", n)
	}
	if n := framesWithTone(samples, 600); n < 10 {
		t.Errorf("the callee's voice: %d frames of 600 Hz, want 10 or more", n)
	}
	if keys := dtmf.Decode(samples); keys != "1" {
		t.Errorf("keys in the voice data %q, want 1", keys)
	}
	if events != "r/1~" {
		t.Errorf("DLE events %q, want r/1~", events)
	}
	at.send(string([]byte{simDLE, '!'}))
	at.waitFor("OK", 2*time.Second)
	at.cmd("ATH", "OK")
	rctx, rcancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer rcancel()
	if r, err := m.Callees().Next(rctx, "0301234"); err != nil || !r.Answered || r.HungUpBy != "box" || r.DigitsSent != "1" {
		t.Errorf("callee: %+v, %v", r, err)
	}

	for _, tc := range []struct {
		number string
		freq   float64
		events string
	}{
		{"0309999", 425, "rb"},
		{"0300000", 425, "b"},
	} {
		at.send("ATDT" + tc.number + "\r")
		at.waitFor("VCON", 2*time.Second)
		at.send("AT+VTR\r")
		at.waitFor("CONNECT", 2*time.Second)
		samples, events := at.voiceData(1500 * time.Millisecond)
		if n := framesWithTone(samples, tc.freq); n < 20 {
			t.Errorf("%s: %d frames of %v Hz, want 20 or more", tc.number, n, tc.freq)
		}
		if events != tc.events {
			t.Errorf("%s: DLE events %q, want %q", tc.number, events, tc.events)
		}
		at.send(string([]byte{simDLE, '!'}))
		at.waitFor("OK", 2*time.Second)
		at.cmd("ATH", "OK")
		if r, err := m.Callees().Next(rctx, tc.number); err != nil || r.Answered || r.HungUpBy != "network" {
			t.Errorf("callee %s: %+v, %v", tc.number, r, err)
		}
	}
}

// TestNetworkTimeAgainstSimulator: each GSM driver reads the network's time from its simulated
// modem's clock (+CCLK, Moscow local time) and gives it back in UTC.
func TestNetworkTimeAgainstSimulator(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			m := startSim(t, d, Options{})
			l := startDriver(t, d, m, "ready")
			got, err := l.(interface {
				NetworkTime(context.Context) (time.Time, error)
			}).NetworkTime(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Since(got); d < -2*time.Second || d > 3*time.Second || got.Location() != time.UTC {
				t.Errorf("network time %v, now %v", got, time.Now().UTC())
			}
		})
	}
}
