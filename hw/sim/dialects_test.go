package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"hotline/hw"
	"hotline/hw/gsm"
	"hotline/hw/modem"
	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
)

// simModem is a simulated modem of any dialect.
type simModem interface {
	ATPath() string
	AudioPath() string
	Run(ctx context.Context) error
	Close() error
	Call(ctx context.Context, c Caller) (Result, error)
	SetCallee(number string, c Callee)
	Callees() *Callees
}

// dialect builds a simulated modem and the driver that speaks to it.
type dialect struct {
	name   string
	sim    func(Options) (simModem, error)
	driver func(at, audio io.ReadWriter, log *slog.Logger) runLine
}

// runLine is a driver's line with its Run.
type runLine interface {
	hw.Line
	Run(ctx context.Context) error
}

var dialects = []dialect{
	{
		name: "sim7600",
		sim:  func(o Options) (simModem, error) { return NewSIM7600(o) },
		driver: func(at, audio io.ReadWriter, log *slog.Logger) runLine {
			return gsm.NewSIM7600("gsm1", at, audio, gsm.SIMComOptions{Logger: log, ToneDetect: true})
		},
	},
	{
		name: "huawei",
		sim:  func(o Options) (simModem, error) { return NewHuawei(o) },
		driver: func(at, audio io.ReadWriter, log *slog.Logger) runLine {
			return gsm.NewHuawei("gsm1", at, audio, gsm.HuaweiOptions{Logger: log, ToneDetect: true})
		},
	},
	{
		name: "ec25",
		sim:  func(o Options) (simModem, error) { return NewEC25(o) },
		driver: func(at, audio io.ReadWriter, log *slog.Logger) runLine {
			return gsm.NewQuectel("gsm1", at, audio, gsm.QuectelOptions{Logger: log, ToneDetect: true})
		},
	},
}

// startSim creates a simulated modem and serves it for the duration of the test.
func startSim(t *testing.T, d dialect, opts Options) simModem {
	t.Helper()
	opts.ID = t.Name()
	m, err := d.sim(opts)
	if err != nil {
		t.Fatalf("new %s: %v", d.name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m
}

// startDriver opens the simulated modem's ports as the daemon does and runs the driver on them
// for the duration of the test. It waits for the first State event and checks it is want.
func startDriver(t *testing.T, d dialect, m simModem, want string) runLine {
	t.Helper()
	at, err := modem.OpenPort(m.ATPath())
	if err != nil {
		t.Fatal(err)
	}
	audio, err := modem.OpenPort(m.AudioPath())
	if err != nil {
		at.Close()
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	l := d.driver(at, audio, log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		for range l.Events() {
		}
		if err := <-done; err != nil {
			t.Errorf("driver Run: %v", err)
		}
		at.Close()
		audio.Close()
	})
	if ev := nextEvent(t, l); ev.Kind != hw.State || ev.State != want {
		t.Fatalf("first event %+v, want State %q", ev, want)
	}
	return l
}

func nextEvent(t *testing.T, l hw.Line) hw.Event {
	t.Helper()
	select {
	case ev, ok := <-l.Events():
		if !ok {
			t.Fatal("driver events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no driver event within 10 s")
	}
	return hw.Event{}
}

// pump is the box's side of a call's audio: it plays a 1 s tone then silence, and keeps what
// the caller says, until the call ends. keyHeard is closed once the caller's audio holds the
// DTMF keys key.
func pump(a hw.Audio, key string, keyHeard chan<- struct{}) (heard []int16, frames int, err error) {
	prompt := tone.Sine(440, time.Second, -10)
	in := make([]byte, a.Format().FrameBytes())
	out := make([]byte, a.Format().FrameBytes())
	var f voice.Frame
	for n := 0; ; n++ {
		err := a.ReadFrame(in)
		switch {
		case err == nil:
			frames++
			for i := range f {
				f[i] = int16(binary.LittleEndian.Uint16(in[2*i:]))
			}
			heard = append(heard, f[:]...)
			if keyHeard != nil && frames%5 == 0 && dtmf.Decode(heard) == key {
				close(keyHeard)
				keyHeard = nil
			}
		case errors.Is(err, hw.ErrUnderrun):
		case errors.Is(err, hw.ErrNoCall):
			return heard, frames, nil
		default:
			return heard, frames, err
		}
		clear(f[:])
		if pos := n * voice.FrameSamples; pos < len(prompt) {
			copy(f[:], prompt[pos:])
		}
		for i, s := range f {
			binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
		}
		if err := a.WriteFrame(out); err != nil {
			if errors.Is(err, hw.ErrNoCall) {
				return heard, frames, nil
			}
			return heard, frames, err
		}
	}
}

// TestDriverAgainstSimulator runs each GSM driver against its simulator over real ptys: the
// caller rings, the line reports the ring with the number, the box answers and plays a prompt,
// the caller presses 5 (reported by the modem and heard in the audio) and hangs up.
func TestDriverAgainstSimulator(t *testing.T) {
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			m := startSim(t, d, Options{ToneReports: true, RingInterval: time.Second})
			l := startDriver(t, d, m, "ready")

			const from = "+79161234567"
			calls := make(chan callOutcome, 1)
			callCtx, hangUp := context.WithCancel(t.Context())
			defer hangUp()
			go func() {
				res, err := m.Call(callCtx, Caller{From: from, Digits: "5"})
				calls <- callOutcome{res, err}
			}()

			if ev := nextEvent(t, l); ev.Kind != hw.Ring || ev.Rings != 1 || ev.Number != from {
				t.Fatalf("event %+v, want Ring 1 from %s", ev, from)
			}
			a, err := l.Answer(t.Context())
			if err != nil {
				t.Fatalf("Answer: %v", err)
			}
			type pumped struct {
				heard  []int16
				frames int
				err    error
			}
			pumpDone := make(chan pumped, 1)
			keyHeard := make(chan struct{})
			go func() {
				h, n, err := pump(a, "5", keyHeard)
				pumpDone <- pumped{h, n, err}
			}()

			var kinds []string
			var digits string
			for {
				if len(kinds) == 2 {
					// Connected and the modem's digit: once the key's tone is through, the
					// caller hangs up.
					select {
					case <-keyHeard:
					case <-time.After(10 * time.Second):
						t.Fatal("the box never heard the key in the audio")
					}
					hangUp()
				}
				ev := nextEvent(t, l)
				kinds = append(kinds, ev.Kind.String())
				if ev.Kind == hw.Digit {
					digits += string(ev.Digit)
				}
				if ev.Kind == hw.Hangup {
					if ev.Cause != gsm.CauseRemote {
						t.Errorf("Hangup cause %q, want %q", ev.Cause, gsm.CauseRemote)
					}
					break
				}
			}
			if got := strings.Join(kinds, " "); got != "connected digit hangup" {
				t.Errorf("events after the answer: %s; want connected digit hangup", got)
			}
			if digits != "5" {
				t.Errorf("the modem reported keys %q, want 5", digits)
			}
			p := <-pumpDone
			if p.err != nil {
				t.Errorf("audio pump: %v", p.err)
			}
			if keys := dtmf.Decode(p.heard); keys != "5" {
				t.Errorf("the box heard keys %q in the caller's audio (%d frames), want 5", keys, p.frames)
			}
			o := awaitCall(t, calls)
			if !errors.Is(o.err, context.Canceled) {
				t.Fatalf("Call = %v, want the hang-up's context.Canceled", o.err)
			}
			r := o.res
			if !r.Answered || r.Rings != 1 || r.DigitsSent != "5" || r.HungUpBy != "caller" {
				t.Errorf("caller: answered %v after %d rings, sent %q, hung up by %q", r.Answered, r.Rings, r.DigitsSent, r.HungUpBy)
			}
			if r.PromptsHeard != 1 || r.SecondsHeard < 0.5 {
				t.Errorf("caller heard %d prompts, %.2f s; want the prompt", r.PromptsHeard, r.SecondsHeard)
			}
			// The line takes the next call.
			go func() {
				res, err := m.Call(t.Context(), Caller{From: "", MaxRings: 1})
				calls <- callOutcome{res, err}
			}()
			if ev := nextEvent(t, l); ev.Kind != hw.Ring || ev.Number != "" {
				t.Errorf("second call: event %+v, want Ring without number", ev)
			}
			if ev := nextEvent(t, l); ev.Kind != hw.Hangup {
				t.Errorf("second call: event %+v, want Hangup", ev)
			}
			if o := awaitCall(t, calls); o.err != nil || o.res.Answered {
				t.Errorf("second call: %+v, %v", o.res, o.err)
			}
		})
	}
}

// A Huawei dongle without voice firmware: the line says so and does not answer; the caller gives
// up after the rings.
func TestDriverAgainstHuaweiWithoutVoice(t *testing.T) {
	d := dialects[1]
	m := startSim(t, d, Options{NoVoice: true, RingInterval: 200 * time.Millisecond})
	l := startDriver(t, d, m, gsm.StateNoVoice)
	calls := make(chan callOutcome, 1)
	go func() {
		res, err := m.Call(t.Context(), Caller{From: "+4930123", MaxRings: 2})
		calls <- callOutcome{res, err}
	}()
	if ev := nextEvent(t, l); ev.Kind != hw.Ring || ev.Number != "+4930123" {
		t.Fatalf("event %+v, want Ring", ev)
	}
	if _, err := l.Answer(t.Context()); !errors.Is(err, gsm.ErrNoVoice) {
		t.Errorf("Answer = %v, want ErrNoVoice", err)
	}
	for {
		ev := nextEvent(t, l)
		if ev.Kind == hw.Hangup {
			break
		}
		if ev.Kind != hw.Ring {
			t.Fatalf("event %+v, want Ring or Hangup", ev)
		}
	}
	if o := awaitCall(t, calls); o.err != nil || o.res.Answered || o.res.HungUpBy != "caller" {
		t.Errorf("call: %+v, %v", o.res, o.err)
	}
}

// The SIM7600's wording and quirks on the wire: echo until ATE0, +CRING framed by \r\r\n,
// AT+CPCMREG=1 refused outside a call and in its first 200 ms, audio only after it.
func TestSIM7600Wire(t *testing.T) {
	m := startSim(t, dialects[0], Options{ToneReports: true, RingInterval: 10 * time.Second})
	at := dialAT(t, m)
	at.send("AT\r")
	if got := string(at.untilFinal(2 * time.Second)); got != "AT\r\r\nOK\r\n" {
		t.Errorf("echoed AT = %q", got)
	}
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	for _, c := range []string{"AT+CLIP=1", "AT+CRC=1", "AT+CLCC=1", "AT+DDET=1"} {
		at.cmd(c, "OK")
	}
	at.cmd("AT+CPCMREG=1", "ERROR") // no call
	audio := dialAudio(t, m)
	calls := make(chan callOutcome, 1)
	callCtx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	go func() {
		res, err := m.Call(callCtx, Caller{From: "+447700900123"})
		calls <- callOutcome{res, err}
	}()
	var raw []byte
	deadline := time.Now().Add(2 * time.Second)
	for !bytes.Contains(raw, []byte("+CLCC")) || !bytes.HasSuffix(raw, []byte("\r\n")) {
		if !at.fill(deadline) {
			t.Fatalf("no ring; got %q", at.buf)
		}
		raw = at.buf
	}
	want := "\r\n+CRING: VOICE\r\r\n\r\n+CLIP: \"+447700900123\",145,\"\",0,\"\",0\r\n" +
		"\r\n+CLCC: 1,1,4,0,0,\"+447700900123\",145\r\n"
	if string(raw) != want {
		t.Errorf("ring = %q\nwant   %q", raw, want)
	}
	at.buf = nil
	if got := strings.Join(at.cmd("ATA", "OK"), "|"); got != "" {
		t.Errorf("ATA lines %q", got)
	}
	if l := at.mustLine(time.Second); l != "VOICE CALL: BEGIN" {
		t.Errorf("after ATA: %q", l)
	}
	if l := at.mustLine(time.Second); l != `+CLCC: 1,1,0,0,0,"+447700900123",145` {
		t.Errorf("after VOICE CALL: BEGIN: %q", l)
	}
	at.cmd("AT+CPCMREG=1", "ERROR") // too early
	time.Sleep(100 * time.Millisecond)
	if n := audio.bytesRead(); n != 0 {
		t.Errorf("audio flowed before AT+CPCMREG=1: %d bytes", n)
	}
	time.Sleep(cpcmregDelay)
	at.cmd("AT+CPCMREG=1", "OK")
	waitAudio(t, audio)
	hangUp()
	lines := at.waitFor("NO CARRIER", 3*time.Second)
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "VOICE CALL: END: 0000") ||
		lines[1] != `+CLCC: 1,1,6,0,0,"+447700900123",145` {
		t.Errorf("caller's hang-up: %q", lines)
	}
	awaitCall(t, calls)
	at.cmd("AT+CPCMREG=0", "OK")
}

// The Huawei's wording and quirks on the wire: ^CVOICE, RING with +CLIP, AT+CLCC, ^CONN after
// the answer, audio only after AT^DDSETEX=2, ^CEND at the end.
func TestHuaweiWire(t *testing.T) {
	m := startSim(t, dialects[1], Options{ToneReports: true, RingInterval: 10 * time.Second})
	at := dialAT(t, m)
	at.send("ATE0\r")
	at.untilFinal(2 * time.Second)
	if got := at.cmd("AT^CVOICE?", "OK"); len(got) != 1 || got[0] != "^CVOICE:0,8000,16,20" {
		t.Errorf("AT^CVOICE? = %q", got)
	}
	at.cmd("AT+CLIP=1", "OK")
	at.cmd("AT^DDTMFCFG=0,1", "OK")
	audio := dialAudio(t, m)
	calls := make(chan callOutcome, 1)
	callCtx, hangUp := context.WithCancel(t.Context())
	defer hangUp()
	go func() {
		res, err := m.Call(callCtx, Caller{From: "+79139131234"})
		calls <- callOutcome{res, err}
	}()
	at.waitFor("RING", 2*time.Second)
	if l := at.mustLine(time.Second); l != `+CLIP: "+79139131234",145,,,,0` {
		t.Errorf("after RING: %q", l)
	}
	if got := at.cmd("AT+CLCC", "OK"); len(got) != 1 || got[0] != `+CLCC: 1,1,4,0,0,"+79139131234",145` {
		t.Errorf("AT+CLCC = %q", got)
	}
	at.cmd("ATA", "OK")
	if l := at.mustLine(time.Second); l != "^CONN:1,0" {
		t.Errorf("after ATA: %q", l)
	}
	time.Sleep(200 * time.Millisecond)
	if n := audio.bytesRead(); n != 0 {
		t.Errorf("audio flowed before AT^DDSETEX=2: %d bytes", n)
	}
	at.cmd("AT^DDSETEX=2", "OK")
	waitAudio(t, audio)
	hangUp()
	if l := at.mustLine(3 * time.Second); !strings.HasPrefix(l, "^CEND:1,") || !strings.HasSuffix(l, ",104,16") {
		t.Errorf("caller's hang-up: %q", l)
	}
	awaitCall(t, calls)
}

// waitAudio waits until the caller's audio reaches the box.
func waitAudio(t *testing.T, audio *audioConn) {
	t.Helper()
	for i := 0; audio.bytesRead() < 3*320; i++ {
		if i == 500 {
			t.Fatalf("no audio from the caller; got %d bytes", audio.bytesRead())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
