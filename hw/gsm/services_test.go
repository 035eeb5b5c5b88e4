package gsm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/hw/modem/modemtest"
	"hotline/hw/sms"
)

// fullLine is what every GSM dialect offers besides hw.Line.
type fullLine interface {
	runnable
	hw.Dialer
	Status() LineStatus
	SendDigits(ctx context.Context, digits string) error
	SMS() <-chan IncomingSMS
	SendSMS(ctx context.Context, to, text string) ([]int, error)
	USSD(ctx context.Context, code string) (string, error)
}

var (
	_ fullLine = (*Quectel)(nil)
	_ fullLine = (*SIM7600)(nil)
	_ fullLine = (*Huawei)(nil)
)

// syncBuffer is a log sink the test reads while the line writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func captureLog(t *testing.T) (*slog.Logger, *syncBuffer) {
	var buf syncBuffer
	return slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestSIMPIN(t *testing.T) {
	tests := []struct {
		name     string
		pin      string
		script   func(m *modemtest.Modem)
		state    string
		sim      string
		pinSends int
	}{
		{
			name: "right PIN",
			pin:  "4321",
			script: func(m *modemtest.Modem) {
				m.Expect("AT+CPIN?", "+CPIN: SIM PIN", "OK")
				m.On(`AT+CPIN="4321"`, "OK")
			},
			state: StateReady, sim: "ready", pinSends: 1,
		},
		{
			name: "wrong PIN",
			pin:  "4321",
			script: func(m *modemtest.Modem) {
				m.On("AT+CPIN?", "+CPIN: SIM PIN", "OK")
				m.On(`AT+CPIN="4321"`, "+CME ERROR: incorrect password")
				m.On("AT+CREG?", "+CREG: 2,0", "OK")
				m.On("AT+CEREG?", "+CEREG: 2,0", "OK")
			},
			state: StatePINNeeded, sim: "PIN rejected", pinSends: 1,
		},
		{
			name: "no PIN set",
			script: func(m *modemtest.Modem) {
				m.On("AT+CPIN?", "+CPIN: SIM PIN", "OK")
			},
			state: StatePINNeeded, sim: "PIN needed",
		},
		{
			name: "PIN set is not digits",
			pin:  `12"4`,
			script: func(m *modemtest.Modem) {
				m.On("AT+CPIN?", "+CPIN: SIM PIN", "OK")
			},
			state: StatePINNeeded, sim: "PIN needed",
		},
		{
			name: "no SIM",
			script: func(m *modemtest.Modem) {
				m.On("AT+CPIN?", "+CME ERROR: 10")
			},
			state: StateNoSIM, sim: "not inserted",
		},
		{
			name: "PUK",
			pin:  "4321",
			script: func(m *modemtest.Modem) {
				m.On("AT+CPIN?", "+CPIN: SIM PUK", "OK")
			},
			state: StatePINNeeded, sim: "PUK needed",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log, buf := captureLog(t)
				opts := QuectelOptions{Logger: log, PIN: tt.pin}
				r := newRigState(t, opts, tt.state, tt.script)
				st := r.q.Status()
				if st.SIM != tt.sim || st.State != tt.state {
					t.Errorf("Status SIM %q state %q, want %q %q", st.SIM, st.State, tt.sim, tt.state)
				}
				pinCmds := func() int {
					n := 0
					for _, c := range r.m.Commands() {
						if strings.HasPrefix(c, "AT+CPIN=") {
							n++
						}
					}
					return n
				}
				if n := pinCmds(); n != tt.pinSends {
					t.Errorf("PIN sent %d times, want %d", n, tt.pinSends)
				}
				// The SIM asks again, and the modem restarts: a refused PIN is never resent.
				r.push("+CPIN: SIM PIN")
				time.Sleep(time.Second)
				synctest.Wait()
				r.push("RDY")
				ev := r.next()
				if ev.Kind != hw.State {
					t.Fatalf("after RDY: %+v, want a State event", ev)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				if n := pinCmds(); n != tt.pinSends {
					t.Errorf("after the SIM asked again: PIN sent %d times, want %d", n, tt.pinSends)
				}
				if tt.pin != "" && strings.Contains(buf.String(), tt.pin) {
					t.Errorf("the log shows the PIN:\n%s", buf.String())
				}
			})
		})
	}
}

func TestPINNotInLoggedOptions(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("opts", "quectel", QuectelOptions{PIN: "9876"}, "simcom", SIMComOptions{PIN: "9876"},
		"huawei", HuaweiOptions{PIN: "9876"}, "pin", secret("9876"))
	if strings.Contains(buf.String(), "9876") || !strings.Contains(buf.String(), "redacted") {
		t.Errorf("log: %s", buf.String())
	}
	if s := fmt.Sprintf("%v %s %#v", secret("9876"), secret("9876"), secret("9876")); strings.Contains(s, "9876") {
		t.Errorf("formatted: %s", s)
	}
}

// TestRegistrationStates: +CREG/+CEREG reports change the plain-words state, once per change.
func TestRegistrationStates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		st := r.q.Status()
		if !st.Registered || st.Roaming || st.Operator != "MegaFon" || st.SignalBars != 5 || st.SignalDBm != -73 ||
			st.Model != "EC25" || st.Firmware != "EC25EFAR06A06M4G" || st.IMEI != "861234567890123" {
			t.Errorf("Status = %+v", st)
		}
		steps := []struct {
			urc   string
			state string // "" no event
		}{
			{"+CREG: 2", ""},                    // LTE still registered
			{"+CEREG: 2", StateSearching},       // both searching
			{"+CEREG: 2,\"1A2B\",\"01\",7", ""}, // same state again
			{"+CREG: 3", ""},                    // denied, but LTE searches
			{"+CEREG: 0", StateNotRegistered},
			{`+CEREG: 5,"1A2B","01A2D001",7`, StateReady},
			{"+CREG: garbage", ""},
		}
		for _, s := range steps {
			r.push(s.urc)
			if s.state != "" {
				ev := r.next()
				if ev.Kind != hw.State || ev.State != s.state {
					t.Fatalf("after %q: %+v, want State %q", s.urc, ev, s.state)
				}
			} else {
				r.quiet()
			}
		}
		if st := r.q.Status(); !st.Registered || !st.Roaming || st.State != StateReady {
			t.Errorf("roaming: Status = %+v", st)
		}
	})
}

// TestRegistrationStatesDialects: the same on SIMCom (LTE) and Huawei (3G, no +CEREG).
func TestRegistrationStatesDialects(t *testing.T) {
	for _, k := range dialectKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, k, false, "ready", nil)
				r.push("+CREG: 2")
				if k.fam.eps {
					r.quiet()
					r.push("+CEREG: 4")
				}
				r.expect(hw.State, StateSearching)
				r.push("+CREG: 0")
				if k.fam.eps {
					r.quiet()
					r.push("+CEREG: 3")
				}
				r.expect(hw.State, StateNotRegistered)
				r.push(`+CREG: 1,"1A2B","01A2D001"`)
				r.expect(hw.State, StateReady)
				// Registered again: the operator is asked again.
				time.Sleep(time.Second)
				synctest.Wait()
				if n := r.m.Count("AT+COPS?"); n != 2 {
					t.Errorf("AT+COPS? sent %d times, want 2", n)
				}
			})
		})
	}
}

func TestSignal(t *testing.T) {
	for _, tt := range []struct {
		line      string
		bars, dBm int
		ok        bool
	}{
		{"+CSQ: 31,99", 5, -51, true},
		{"+CSQ: 20,99", 5, -73, true},
		{"+CSQ: 15,0", 4, -83, true},
		{"+CSQ: 10,99", 3, -93, true},
		{"+CSQ: 5,99", 2, -103, true},
		{"+CSQ: 2,99", 1, -109, true},
		{"+CSQ: 1,99", 0, -111, true},
		{"+CSQ: 0,99", 0, -113, true},
		{"+CSQ: 99,99", 0, 0, true},
		{`+QIND: "csq",25,99`, 5, -63, true},
		{"^RSSI:12", 3, -89, true},
		{"+CSQ: 32,99", 0, 0, false},
		{"+CSQ: -1,99", 0, 0, false},
		{`+QIND: "ccinfo",1,1,4,0,0,"1",129`, 0, 0, false},
		{"+CSQ:", 0, 0, false},
	} {
		s, ok := parseCSQ(tt.line)
		if ok != tt.ok || (ok && (s.bars() != tt.bars || s.dBm() != tt.dBm)) {
			t.Errorf("%q: %v bars %d dBm %d, want %v %d %d", tt.line, ok, s.bars(), s.dBm(), tt.ok, tt.bars, tt.dBm)
		}
	}
}

// TestSignalReports: each dialect's own signal reports, and the 30 s AT+CSQ poll.
func TestSignalReports(t *testing.T) {
	t.Run("quectel", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			r := newRig(t, QuectelOptions{}, nil)
			r.push(`+QIND: "csq",5,99`)
			r.quiet()
			if st := r.q.Status(); st.SignalBars != 2 || st.SignalDBm != -103 {
				t.Errorf("after +QIND csq: %d bars %d dBm", st.SignalBars, st.SignalDBm)
			}
			r.m.On("AT+CSQ", "+CSQ: 31,99", "OK")
			time.Sleep(signalPoll + time.Second)
			synctest.Wait()
			if n := r.m.Count("AT+CSQ"); n != 2 {
				t.Errorf("AT+CSQ sent %d times in 31 s, want 2", n)
			}
			if st := r.q.Status(); st.SignalBars != 5 {
				t.Errorf("after the poll: %d bars", st.SignalBars)
			}
		})
	})
	for _, tc := range []struct {
		k   lineKind
		urc string
	}{{simcomKind, "+CSQ: 5,99"}, {huaweiKind, "^RSSI:5"}} {
		t.Run(tc.k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newDialectRig(t, tc.k, false, "ready", nil)
				r.push(tc.urc)
				r.quiet()
				if st := r.line.(fullLine).Status(); st.SignalBars != 2 {
					t.Errorf("after %q: %d bars", tc.urc, st.SignalBars)
				}
			})
		})
	}
}

const callee = "+79161234567"

// dialScript is how each dialect places a call, reports progress and the answer.
type dialScript struct {
	k        lineKind
	progress []string // after ATD's OK
	answered []string
	released []string // the callee hangs up after answering
	busy     []string // the callee is busy
}

var dialScripts = []dialScript{
	{
		k:        lineKind{name: "quectel"},
		progress: []string{`+QIND: "ccinfo",2,0,2,0,0,"` + callee + `",145`, `+QIND: "ccinfo",2,0,3,0,0,"` + callee + `",145`},
		answered: []string{`+QIND: "ccinfo",2,0,0,0,0,"` + callee + `",145`},
		released: []string{`+QIND: "ccinfo",2,0,-1,0,0,"` + callee + `",145`, "NO CARRIER"},
		busy:     []string{`+QIND: "ccinfo",2,0,-1,0,0,"` + callee + `",145`, "BUSY"},
	},
	{
		k:        simcomKind,
		progress: []string{`+CLCC: 1,0,2,0,0,"` + callee + `",145`, `+CLCC: 1,0,3,0,0,"` + callee + `",145`},
		answered: []string{"VOICE CALL: BEGIN", `+CLCC: 1,0,0,0,0,"` + callee + `",145`},
		released: []string{"VOICE CALL: END: 000012", `+CLCC: 1,0,6,0,0,"` + callee + `",145`, "NO CARRIER"},
		busy:     []string{`+CLCC: 1,0,6,0,0,"` + callee + `",145`, "BUSY"},
	},
	{
		k:        huaweiKind,
		progress: []string{"^ORIG:1,0", "^CONF:1"},
		answered: []string{"^CONN:1,0"},
		released: []string{"^CEND:1,12,104,16", "NO CARRIER"},
		busy:     []string{"^CEND:1,0,104,17"},
	},
}

// dialRig starts a line of the script's dialect and returns it with its fake modem and events.
type anyRig struct {
	line  fullLine
	m     *modemtest.Modem
	next  func() hw.Event
	quiet func()
	push  func(lines ...string)
}

func startAny(t *testing.T, k lineKind, opts QuectelOptions, script func(m *modemtest.Modem)) anyRig {
	t.Helper()
	if k.name == "quectel" {
		r := newRig(t, opts, script)
		return anyRig{line: r.q, m: r.m, next: r.next, quiet: r.quiet, push: r.push}
	}
	r := newDialectRig(t, k, false, "ready", script)
	return anyRig{line: r.line.(fullLine), m: r.m, next: r.next, quiet: func() { r.quiet() }, push: r.push}
}

func TestDial(t *testing.T) {
	for _, ds := range dialScripts {
		t.Run(ds.k.name+"/answered", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startAny(t, ds.k, QuectelOptions{}, func(m *modemtest.Modem) {
					m.On("ATD"+callee+";", append([]string{"OK"}, ds.progress...)...)
					m.On(`AT+VTS="1"`, "OK")
					m.On(`AT+VTS="#"`, "OK")
					m.On("AT^DTMF=1,1", "OK")
					m.On("AT^DTMF=1,#", "OK")
				})
				go func() {
					time.Sleep(3 * time.Second)
					r.push(ds.answered...)
				}()
				a, err := r.line.Dial(context.Background(), callee)
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				if a.Format() != hw.S16LE {
					t.Errorf("format %v", a.Format())
				}
				if ev := r.next(); ev.Kind != hw.Connected || ev.Number != callee {
					t.Fatalf("event %+v, want Connected", ev)
				}
				switch ds.k.name {
				case "simcom":
					r.m.WaitCommand("AT+CPCMREG=1", 1)
				case "huawei":
					if n := r.m.Count("AT^DDSETEX=2"); n != 1 {
						t.Errorf("AT^DDSETEX=2 sent %d times", n)
					}
				}
				// DTMF into the call.
				if err := r.line.SendDigits(context.Background(), "1#"); err != nil {
					t.Fatalf("SendDigits: %v", err)
				}
				want := []string{`AT+VTS="1"`, `AT+VTS="#"`}
				if ds.k.name == "huawei" {
					want = []string{"AT^DTMF=1,1", "AT^DTMF=1,#"}
					if err := r.line.SendDigits(context.Background(), "A"); err == nil {
						t.Error("Huawei sent A")
					}
				}
				for _, c := range want {
					if r.m.Count(c) != 1 {
						t.Errorf("%s sent %d times", c, r.m.Count(c))
					}
				}
				// The line is busy now.
				if _, err := r.line.Dial(context.Background(), callee); !errors.Is(err, ErrLineBusy) {
					t.Errorf("second Dial: %v, want ErrLineBusy", err)
				}
				r.push(ds.released...)
				if ev := r.next(); ev.Kind != hw.Hangup || ev.Cause != CauseRemote {
					t.Fatalf("event %+v, want Hangup", ev)
				}
				r.quiet()
				if err := r.line.SendDigits(context.Background(), "1"); !errors.Is(err, hw.ErrNoCall) {
					t.Errorf("SendDigits after the call: %v", err)
				}
			})
		})
		t.Run(ds.k.name+"/busy", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startAny(t, ds.k, QuectelOptions{}, func(m *modemtest.Modem) {
					m.On("ATD"+callee+";", append([]string{"OK"}, ds.progress...)...)
				})
				go func() {
					time.Sleep(2 * time.Second)
					r.push(ds.busy...)
				}()
				_, err := r.line.Dial(context.Background(), callee)
				if !errors.Is(err, hw.ErrBusy) {
					t.Fatalf("Dial: %v, want ErrBusy", err)
				}
				r.quiet() // a failed dial sends no events
				// The line is free again.
				r.m.On("ATD"+callee+";", "NO CARRIER")
				if _, err := r.line.Dial(context.Background(), callee); !errors.Is(err, hw.ErrNoAnswer) {
					t.Fatalf("Dial after busy: %v, want ErrNoAnswer", err)
				}
			})
		})
		t.Run(ds.k.name+"/no answer", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startAny(t, ds.k, QuectelOptions{}, func(m *modemtest.Modem) {
					m.On("ATD"+callee+";", append([]string{"OK"}, ds.progress...)...)
				})
				go func() {
					time.Sleep(20 * time.Second)
					r.push("NO ANSWER")
				}()
				if _, err := r.line.Dial(context.Background(), callee); !errors.Is(err, hw.ErrNoAnswer) {
					t.Fatalf("Dial: %v, want ErrNoAnswer", err)
				}
				r.quiet()
			})
		})
		t.Run(ds.k.name+"/timed out", func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startAny(t, ds.k, QuectelOptions{}, func(m *modemtest.Modem) {
					m.On("ATD"+callee+";", append([]string{"OK"}, ds.progress...)...)
				})
				start := time.Now()
				_, err := r.line.Dial(context.Background(), callee)
				if !errors.Is(err, hw.ErrNoAnswer) {
					t.Fatalf("Dial: %v, want ErrNoAnswer", err)
				}
				if d := time.Since(start); d < dialTimeout {
					t.Errorf("gave up after %v", d)
				}
				r.m.WaitCommand("AT+CHUP", 1)
				r.quiet()
			})
		})
	}
}

func TestDialRejectsBadNumbers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, nil)
		for _, n := range []string{"", "+", "123;H", "1\r2", `12"3`, "12345678901234567890123", "+7 916", "++7", "ATD"} {
			if _, err := r.q.Dial(context.Background(), n); err == nil || errors.Is(err, hw.ErrNoAnswer) {
				t.Errorf("Dial(%q) = %v", n, err)
			}
		}
		for _, c := range r.m.Commands() {
			if strings.HasPrefix(c, "ATD") {
				t.Errorf("sent %q", c)
			}
		}
		if err := r.q.SendDigits(context.Background(), "1;"); err == nil {
			t.Error("SendDigits took ';'")
		}
	})
}

func TestDialCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("ATD"+callee+";", "OK")
		})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := r.q.Dial(ctx, callee); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Dial: %v, want the context's error", err)
		}
		r.m.WaitCommand("AT+CHUP", 1)
		r.quiet()
	})
}

// deliverPDUs returns the PDU lines of text from sender, as the modem prints them.
func deliverPDUs(t *testing.T, from, text string, ref byte) []sms.Part {
	t.Helper()
	parts, err := sms.EncodeDeliver(from, text, time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), sms.Options{ConcatRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	return parts
}

func nextSMS(t *testing.T, l fullLine) IncomingSMS {
	t.Helper()
	select {
	case m := <-l.SMS():
		return m
	case <-time.After(time.Minute):
		t.Fatal("no SMS within a minute")
	}
	return IncomingSMS{}
}

var cyrillic = strings.Repeat("Здравствуйте! Перезвоните, пожалуйста, по поводу заказа. ", 3)

func TestReceiveSMS(t *testing.T) {
	for _, k := range []lineKind{{name: "quectel"}, simcomKind, huaweiKind} {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				single := deliverPDUs(t, "+79161112233", "Hello", 0)[0]
				multi := deliverPDUs(t, "+79164445566", cyrillic, 7)
				if len(multi) != 3 {
					t.Fatalf("%d parts", len(multi))
				}
				r := startAny(t, k, QuectelOptions{}, func(m *modemtest.Modem) {
					m.On("AT+CMGR=3", fmt.Sprintf("+CMGR: 0,,%d", single.Length), single.Hex(), "OK")
					for i, p := range multi {
						m.On(fmt.Sprintf("AT+CMGR=%d", 10+i), fmt.Sprintf("+CMGR: 0,,%d", p.Length), p.Hex(), "OK")
						m.On(fmt.Sprintf("AT+CMGD=%d", 10+i), "OK")
					}
					m.On("AT+CMGD=3", "OK")
				})
				r.push(`+CMTI: "SM",-1`) // the known firmware bug: ignored
				r.push(`+CMTI: "SM",3`)
				m := nextSMS(t, r.line)
				if m.From != "+79161112233" || m.Text != "Hello" || m.Parts != 1 || !slices.Equal(m.Slots, []int{3}) {
					t.Errorf("SMS = %+v", m)
				}
				synctest.Wait()
				if n := r.m.Count("AT+CMGD=3"); n != 0 {
					t.Fatal("deleted before the Ack")
				}
				if err := m.Ack(context.Background()); err != nil {
					t.Fatal(err)
				}
				if err := m.Ack(context.Background()); err != nil {
					t.Fatal(err)
				}
				if n := r.m.Count("AT+CMGD=3"); n != 1 {
					t.Errorf("AT+CMGD=3 sent %d times", n)
				}
				// Parts out of order.
				r.push(`+CMTI: "SM",12`, `+CMTI: "SM",10`)
				synctest.Wait()
				select {
				case m := <-r.line.SMS():
					t.Fatalf("incomplete message delivered: %+v", m)
				default:
				}
				r.push(`+CMTI: "SM",11`)
				m = nextSMS(t, r.line)
				if m.Text != cyrillic || m.Parts != 3 || len(m.Missing) != 0 || m.From != "+79164445566" {
					t.Errorf("SMS = %+v", m)
				}
				slices.Sort(m.Slots)
				if !slices.Equal(m.Slots, []int{10, 11, 12}) {
					t.Errorf("slots %v", m.Slots)
				}
				if err := m.Ack(context.Background()); err != nil {
					t.Fatal(err)
				}
				for i := range multi {
					if n := r.m.Count(fmt.Sprintf("AT+CMGD=%d", 10+i)); n != 1 {
						t.Errorf("AT+CMGD=%d sent %d times", 10+i, n)
					}
				}
				if u := r.m.Unexpected(); len(u) != 0 {
					t.Errorf("unexpected commands %q", u)
				}
			})
		})
	}
}

// TestSMSAtInit: messages already on the SIM are read at init, a bad PDU stays there.
func TestSMSAtInit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		multi := deliverPDUs(t, "+79164445566", cyrillic, 9)
		log, buf := captureLog(t)
		r := newRig(t, QuectelOptions{Logger: log}, func(m *modemtest.Modem) {
			list := []string{}
			for i, p := range multi {
				list = append(list, fmt.Sprintf("+CMGL: %d,1,,%d", i, p.Length), p.Hex())
			}
			list = append(list, "+CMGL: 5,1,,20", "0791FFFF", "OK")
			m.On("AT+CMGL=4", list...)
			for i := range multi {
				m.On(fmt.Sprintf("AT+CMGD=%d", i), "OK")
			}
		})
		m := nextSMS(t, r.q)
		if m.Text != cyrillic || !slices.Equal(m.Slots, []int{0, 1, 2}) {
			t.Errorf("SMS = %+v", m)
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := r.m.Count("AT+CMGD=5"); n != 0 {
			t.Error("the bad PDU was deleted")
		}
		if !strings.Contains(buf.String(), "SMS cannot be decoded; kept on the SIM") || !strings.Contains(buf.String(), "slot=5") {
			t.Errorf("the bad PDU was not logged:\n%s", buf.String())
		}
		// A second notice for the bad slot is not read again in this run.
		r.push(`+CMTI: "SM",5`)
		synctest.Wait()
		if n := r.m.Count("AT+CMGR=5"); n != 0 {
			t.Errorf("bad slot read again %d times", n)
		}
	})
}

// TestSMSNotAckedStays: a message the consumer never acked is still on the SIM, so the next
// run (here: a modem restart that re-reads the list) does not lose it.
func TestSMSUnackedNotDeleted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := deliverPDUs(t, "+79161112233", "Перезвоните", 0)[0]
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("AT+CMGR=4", fmt.Sprintf("+CMGR: 0,,%d", p.Length), p.Hex(), "OK")
		})
		r.push(`+CMTI: "SM",4`)
		m := nextSMS(t, r.q)
		if m.Text != "Перезвоните" {
			t.Errorf("text %q", m.Text)
		}
		r.cancel()
		for range r.q.Events() {
		}
		if err := r.wait(); err != nil {
			t.Fatal(err)
		}
		for _, c := range r.m.Commands() {
			if strings.HasPrefix(c, "AT+CMGD") {
				t.Errorf("sent %q without an Ack", c)
			}
		}
		if err := m.Ack(context.Background()); err == nil {
			t.Error("Ack after the line stopped succeeded")
		}
	})
}

func TestDeliveryReport(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rep, err := sms.EncodeStatusReport(sms.StatusReport{Ref: 42, Recipient: sms.Address{Number: "+79161234567", Type: 0x91},
			Time: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Discharge: time.Date(2025, 3, 1, 12, 0, 5, 0, time.UTC)}, "")
		if err != nil {
			t.Fatal(err)
		}
		hexRep := strings.ToUpper(fmt.Sprintf("%x", rep))
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On("AT+CMGR=7", fmt.Sprintf("+CMGR: 0,,%d", len(rep)-1), hexRep, "OK")
			m.On("AT+CMGD=7", "OK")
		})
		r.push(`+CDSI: "SM",7`)
		m := nextSMS(t, r.q)
		if m.Report == nil || m.Report.Ref != 42 || !m.Report.Delivered() {
			t.Fatalf("report %+v", m)
		}
		if err := m.Ack(context.Background()); err != nil {
			t.Fatal(err)
		}
		r.push(fmt.Sprintf("+CDS: %d", len(rep)-1), hexRep)
		m = nextSMS(t, r.q)
		if m.Report == nil || m.Report.Ref != 42 || len(m.Slots) != 0 {
			t.Fatalf("+CDS report %+v", m)
		}
	})
}

func TestSendSMS(t *testing.T) {
	for _, k := range []lineKind{{name: "quectel"}, simcomKind, huaweiKind} {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := startAny(t, k, QuectelOptions{}, nil)
				single, err := sms.Encode(callee, "Ваш заказ готов", sms.Options{ConcatRef: 1})
				if err != nil {
					t.Fatal(err)
				}
				multi, err := sms.Encode(callee, cyrillic, sms.Options{ConcatRef: 2})
				if err != nil {
					t.Fatal(err)
				}
				for i, p := range append(single, multi...) {
					cmd := fmt.Sprintf("AT+CMGS=%d", p.Length)
					r.m.Prompt(cmd)
					r.m.On(p.Hex(), fmt.Sprintf("+CMGS: %d", 100+i), "OK")
				}
				refs, err := r.line.SendSMS(context.Background(), callee, "Ваш заказ готов")
				if err != nil || !slices.Equal(refs, []int{100}) {
					t.Fatalf("SendSMS = %v, %v", refs, err)
				}
				refs, err = r.line.SendSMS(context.Background(), callee, cyrillic)
				if err != nil || !slices.Equal(refs, []int{101, 102, 103}) {
					t.Fatalf("SendSMS multipart = %v, %v", refs, err)
				}
				if _, err := r.line.SendSMS(context.Background(), `1"2`, "x"); err == nil {
					t.Error("bad number accepted")
				}
				if u := r.m.Unexpected(); len(u) != 0 {
					t.Errorf("unexpected %q", u)
				}
			})
		})
	}
}

func TestUSSD(t *testing.T) {
	balance := "Баланс: 123,45 р."
	ucs2 := strings.ToUpper(fmt.Sprintf("%x", utf16be(balance)))
	for _, tc := range []struct {
		k     lineKind
		cmd   string
		inCmd bool // the reply comes before OK
	}{
		{lineKind{name: "quectel"}, `AT+CUSD=1,"*100#",15`, false},
		{simcomKind, `AT+CUSD=1,"*100#",15`, true},
		{huaweiKind, `AT+CUSD=1,"AA180C3602",15`, false},
	} {
		t.Run(tc.k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				reply := `+CUSD: 0,"` + ucs2 + `",72`
				r := startAny(t, tc.k, QuectelOptions{}, func(m *modemtest.Modem) {
					if tc.inCmd {
						m.On(tc.cmd, reply, "OK")
					} else {
						m.On(tc.cmd, "OK")
					}
				})
				if !tc.inCmd {
					go func() {
						time.Sleep(3 * time.Second)
						r.push(reply)
					}()
				}
				got, err := r.line.USSD(context.Background(), "*100#")
				if err != nil || got != balance {
					t.Fatalf("USSD = %q, %v", got, err)
				}
				if !tc.inCmd {
					// No reply at all this time: the request times out.
					start := time.Now()
					if _, err := r.line.USSD(context.Background(), "*100#"); err == nil || time.Since(start) < ussdTimeout {
						t.Errorf("unanswered USSD: %v after %v", err, time.Since(start))
					}
				}
				if _, err := r.line.USSD(context.Background(), `*100#"`); err == nil {
					t.Error("bad code accepted")
				}
			})
		})
	}
}

func TestUSSDNetworkError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(t, QuectelOptions{}, func(m *modemtest.Modem) {
			m.On(`AT+CUSD=1,"*100#",15`, "OK", "+CUSD: 4")
		})
		if _, err := r.q.USSD(context.Background(), "*100#"); !errors.Is(err, ErrUSSD) {
			t.Fatalf("USSD: %v, want ErrUSSD", err)
		}
	})
}

func utf16be(s string) []byte {
	var b []byte
	for _, r := range s {
		b = append(b, byte(r>>8), byte(r))
	}
	return b
}
