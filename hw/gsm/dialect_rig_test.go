package gsm

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
)

// runnable is a line with its Run, as every dialect's type has it.
type runnable interface {
	hw.Line
	Run(ctx context.Context) error
}

// lineKind builds one dialect's line on a scripted fake modem.
type lineKind struct {
	name string
	// script sets the fake's standard replies.
	script func(m *modemtest.Modem)
	// init is the init sequence without tone detection; tone is its tone-detection command.
	init []string
	tone string
	fam  family
	make func(at, audio io.ReadWriter, log *slog.Logger, tone bool) runnable
}

var simcomKind = lineKind{
	name: "simcom",
	script: func(m *modemtest.Modem) {
		for _, c := range []string{"AT", "ATE0", "AT+CMEE=2", "AT+CLIP=1", "AT+CRC=1", "AT+CLCC=1",
			"AT+DDET=1", "AT+CPCMREG=1", "AT+CPCMREG=0", "AT+CHUP"} {
			m.On(c, "OK")
		}
		m.On("ATI", "Manufacturer: SIMCOM INCORPORATED", "Model: SIMCOM_SIM7600G-H",
			"Revision: LE20B04SIM7600G22", "IMEI: 861234567890123", "+GCAP: +CGSM", "OK")
		m.On("AT+CGMM", "SIMCOM_SIM7600G-H", "OK")
		scriptServices(m, simcomFamily)
	},
	init: append([]string{"AT", "ATE0", "AT+CMEE=2", "ATI", "AT+CGMM", "AT+CLIP=1", "AT+CRC=1", "AT+CLCC=1"},
		serviceSteps(simcomFamily)...),
	tone: "AT+DDET=1",
	fam:  simcomFamily,
	make: func(at, audio io.ReadWriter, log *slog.Logger, tone bool) runnable {
		return NewSIM7600("gsm1", at, audio, SIMComOptions{Logger: log, ToneDetect: tone})
	},
}

var huaweiKind = lineKind{
	name: "huawei",
	script: func(m *modemtest.Modem) {
		for _, c := range []string{"AT", "ATE0", "AT+CMEE=0", "AT+CLIP=1", "AT^DDTMFCFG=0,1",
			"AT^DDSETEX=2", "AT+CHUP", "AT+CLCC"} {
			m.On(c, "OK")
		}
		m.On("ATI", "Manufacturer: huawei", "Model: E173", "Revision: 11.126.85.00.209",
			"IMEI: 351234567890123", "+GCAP: +CGSM,+DS,+ES", "OK")
		m.On("AT+CGMM", "E173", "OK")
		m.On("AT^CVOICE?", "^CVOICE:0,8000,16,20", "OK")
		scriptServices(m, huaweiFamily)
	},
	init: append([]string{"AT", "ATE0", "AT+CMEE=0", "ATI", "AT+CGMM", "AT^CVOICE?", "AT+CLIP=1"},
		serviceSteps(huaweiFamily)...),
	tone: "AT^DDTMFCFG=0,1",
	fam:  huaweiFamily,
	make: func(at, audio io.ReadWriter, log *slog.Logger, tone bool) runnable {
		return NewHuawei("gsm1", at, audio, HuaweiOptions{Logger: log, ToneDetect: tone})
	},
}

var dialectKinds = []lineKind{simcomKind, huaweiKind}

// dlRig is a SIMCom or Huawei line on a scripted fake modem, with the fake's end of the audio
// port. Build it inside a synctest bubble.
type dlRig struct {
	t      *testing.T
	m      *modemtest.Modem
	line   runnable
	audio  net.Conn // the modem's end of the audio port
	cancel context.CancelFunc

	runDone chan struct{}
	runErr  error
}

// newDialectRig starts a line of kind k; script may change the fake's replies before Run. It
// waits for the first State event and checks it is want.
func newDialectRig(t *testing.T, k lineKind, tone bool, want string, script func(m *modemtest.Modem)) *dlRig {
	t.Helper()
	m := modemtest.New(t)
	k.script(m)
	if script != nil {
		script(m)
	}
	hostAudio, devAudio := net.Pipe()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	r := &dlRig{
		t:       t,
		m:       m,
		line:    k.make(m.Port(), hostAudio, log, tone),
		audio:   devAudio,
		runDone: make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.runDone)
		r.runErr = r.line.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		for range r.line.Events() {
		}
		<-r.runDone
		devAudio.Close()
		hostAudio.Close()
	})
	if ev := r.next(); ev.Kind != hw.State || ev.State != want {
		t.Fatalf("first event = %+v, want State %q", ev, want)
	}
	return r
}

func (r *dlRig) wait() error {
	<-r.runDone
	return r.runErr
}

// next returns the next event, failing the test if none comes within a minute (bubble time).
func (r *dlRig) next() hw.Event {
	r.t.Helper()
	select {
	case ev, ok := <-r.line.Events():
		if !ok {
			r.t.Fatal("events closed")
		}
		return ev
	case <-time.After(time.Minute):
		r.t.Fatal("no event within a minute")
	}
	return hw.Event{}
}

// expect checks the next event's kind and, when not empty, its number or cause.
func (r *dlRig) expect(kind hw.EventKind, detail string) hw.Event {
	r.t.Helper()
	ev := r.next()
	got := ""
	switch kind {
	case hw.Ring, hw.Connected, hw.CallerID:
		got = ev.Number
	case hw.Hangup:
		got = ev.Cause
	case hw.State:
		got = ev.State
	case hw.Digit:
		got = string(ev.Digit)
	}
	if ev.Kind != kind || (detail != "" && got != detail) {
		r.t.Fatalf("event = %+v, want %v %q", ev, kind, detail)
	}
	return ev
}

// quiet fails the test if an event is waiting once every goroutine has settled.
func (r *dlRig) quiet() {
	r.t.Helper()
	time.Sleep(time.Millisecond)
	synctest.Wait()
	select {
	case ev, ok := <-r.line.Events():
		if ok {
			r.t.Fatalf("unexpected event %+v", ev)
		}
	default:
	}
}

func (r *dlRig) push(lines ...string) {
	r.t.Helper()
	if err := r.m.Push(lines...); err != nil {
		r.t.Fatal(err)
	}
}

func (r *dlRig) raw(s string) {
	r.t.Helper()
	if err := r.m.WriteRaw([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// simcomRing is one ring of an incoming call on a SIM7600 with CRC, CLIP and CLCC URCs on,
// framed as the module frames it.
func simcomRing(idx int, number string) string {
	return "\r\n+CRING: VOICE\r\r\n" +
		"\r\n+CLIP: \"" + number + "\",145,\"\",0,\"\",0\r\n" +
		"\r\n+CLCC: " + strconv.Itoa(idx) + ",1,4,0,0,\"" + number + "\",145\r\n"
}

// answerSIMCom rings once and answers, returning the call's audio. The ATA reply carries the
// module's reports of the active call.
func (r *dlRig) answerSIMCom(number string) hw.Audio {
	r.t.Helper()
	routed := r.m.Count("AT+CPCMREG=1")
	r.raw(simcomRing(1, number))
	r.expect(hw.Ring, number)
	r.m.On("ATA", "OK", "VOICE CALL: BEGIN", `+CLCC: 1,1,0,0,0,"`+number+`",145`)
	a, err := r.line.Answer(context.Background())
	if err != nil {
		r.t.Fatalf("Answer: %v", err)
	}
	r.expect(hw.Connected, number)
	r.m.WaitCommand("AT+CPCMREG=1", routed+1)
	return a
}

// answerHuawei rings once and answers, returning the call's audio.
func (r *dlRig) answerHuawei(number string) hw.Audio {
	r.t.Helper()
	r.m.On("AT+CLCC", `+CLCC: 1,1,4,0,0,"`+number+`",145`, "OK")
	r.push("RING")
	r.expect(hw.Ring, number)
	r.m.On("ATA", "OK", "^CONN:1,0")
	a, err := r.line.Answer(context.Background())
	if err != nil {
		r.t.Fatalf("Answer: %v", err)
	}
	r.expect(hw.Connected, number)
	return a
}

func (r *dlRig) answerKind(k lineKind, number string) hw.Audio {
	r.t.Helper()
	if k.name == "simcom" {
		return r.answerSIMCom(number)
	}
	return r.answerHuawei(number)
}

// talk checks that frames cross both ways.
func (r *dlRig) talk(a hw.Audio, seed byte) {
	r.t.Helper()
	p := make([]byte, frameBytes)
	for i := range byte(3) {
		f := testFrame(seed + 10*i)
		go func() {
			if _, err := r.audio.Write(f); err != nil {
				r.t.Errorf("modem audio write: %v", err)
			}
		}()
		err := a.ReadFrame(p)
		for try := 0; errors.Is(err, hw.ErrUnderrun) && try < 10; try++ {
			err = a.ReadFrame(p) // silence reported while the frame is on its way
		}
		if err != nil {
			r.t.Fatalf("ReadFrame %d: %v", i, err)
		}
		if !bytes.Equal(p, f) {
			r.t.Fatalf("frame %d differs", i)
		}
		w := testFrame(seed + 100 + i)
		got := make(chan []byte, 1)
		go func() {
			b := make([]byte, frameBytes)
			if _, err := io.ReadFull(r.audio, b); err != nil {
				got <- nil
				return
			}
			got <- b
		}()
		if err := a.WriteFrame(w); err != nil {
			r.t.Fatalf("WriteFrame: %v", err)
		}
		if b := <-got; !bytes.Equal(b, w) {
			r.t.Fatalf("modem received a different frame %d", i)
		}
	}
}

// TestDialectTranscripts replays testdata/simcom/*.txt and testdata/huawei/*.txt. The format is
// that of testdata/ec25_remote_hangup.txt, plus: ">1 CMD => A | B" answers CMD so once (before
// the standing replies), "@ novoice" expects the line to come up without voice support, "!
// sent CMD N" checks that the line has sent CMD N times so far, and "= callerid NUMBER" expects
// a CallerID event.
func TestDialectTranscripts(t *testing.T) {
	for _, k := range dialectKinds {
		files, err := filepath.Glob(filepath.Join("testdata", k.name, "*.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Fatalf("no %s transcripts in testdata", k.name)
		}
		for _, file := range files {
			t.Run(k.name+"/"+filepath.Base(file), func(t *testing.T) {
				data, err := os.ReadFile(file)
				if err != nil {
					t.Fatal(err)
				}
				synctest.Test(t, func(t *testing.T) {
					playDialect(t, k, string(data))
				})
			})
		}
	}
}

func playDialect(t *testing.T, k lineKind, script string) {
	lines := strings.Split(script, "\n")
	tone := false
	state := "ready"
	var replies [][3]string
	body := 0
	for i, l := range lines {
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case l == "@ tonedetect":
			tone = true
		case l == "@ novoice":
			state = StateNoVoice
		case strings.HasPrefix(l, "> "), strings.HasPrefix(l, ">1 "):
			once, spec, _ := strings.Cut(l, " ")
			cmd, reply, ok := strings.Cut(spec, " => ")
			if !ok {
				t.Fatalf("line %d: bad reply %q", i+1, l)
			}
			replies = append(replies, [3]string{once, cmd, reply})
		default:
			body = i
		}
		if body > 0 {
			break
		}
	}
	r := newDialectRig(t, k, tone, state, func(m *modemtest.Modem) {
		for _, rp := range replies {
			var out []string
			if rp[2] != "" {
				out = strings.Split(rp[2], " | ")
			}
			if rp[0] == ">1" {
				m.Expect(rp[1], out...)
			} else {
				m.On(rp[1], out...)
			}
		}
	})
	for n, l := range lines[body:] {
		at := body + n + 1
		switch {
		case strings.HasPrefix(l, "#") || strings.TrimSpace(l) == "":
		case strings.HasPrefix(l, "< "):
			r.push(l[2:])
		case strings.HasPrefix(l, "<q "):
			raw, err := strconv.Unquote(l[3:])
			if err != nil {
				t.Fatalf("line %d: %v", at, err)
			}
			r.raw(raw)
		case strings.HasPrefix(l, "! "):
			verb, arg, _ := strings.Cut(l[2:], " ")
			switch verb {
			case "answer":
				if _, err := r.line.Answer(context.Background()); err != nil {
					t.Fatalf("line %d: Answer: %v", at, err)
				}
			case "answer-fails":
				if _, err := r.line.Answer(context.Background()); err == nil {
					t.Fatalf("line %d: Answer succeeded", at)
				}
			case "hangup":
				if err := r.line.Hangup(context.Background()); err != nil {
					t.Fatalf("line %d: Hangup: %v", at, err)
				}
			case "sleep":
				d, err := time.ParseDuration(arg)
				if err != nil {
					t.Fatalf("line %d: %v", at, err)
				}
				time.Sleep(d)
			case "sent":
				// ! sent CMD N: the line has sent CMD N times by now.
				i := strings.LastIndexByte(arg, ' ')
				want, err := strconv.Atoi(arg[i+1:])
				if i < 0 || err != nil {
					t.Fatalf("line %d: bad %q", at, l)
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				if got := r.m.Count(arg[:i]); got != want {
					t.Fatalf("line %d: %s sent %d times, want %d (all: %q)", at, arg[:i], got, want, r.m.Commands())
				}
			default:
				t.Fatalf("line %d: unknown action %q", at, l)
			}
		case l == "= quiet":
			r.quiet()
		case strings.HasPrefix(l, "= "):
			checkDialectEvent(t, r.next(), at, l[2:])
		default:
			t.Fatalf("line %d: cannot read %q", at, l)
		}
	}
	if u := r.m.Unexpected(); len(u) != 0 {
		t.Errorf("commands the transcript did not script: %q", u)
	}
}

// checkDialectEvent is checkEvent plus "callerid NUMBER".
func checkDialectEvent(t *testing.T, ev hw.Event, at int, want string) {
	if kind, arg, _ := strings.Cut(want, " "); kind == "callerid" {
		if ev.Kind != hw.CallerID || ev.Number != arg {
			t.Fatalf("line %d: event %+v, want %q", at, ev, want)
		}
		return
	}
	checkEvent(t, ev, at, want)
}
