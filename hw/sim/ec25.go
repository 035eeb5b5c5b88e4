package sim

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"hotline/voice"
)

// Errors of the simulator.
var (
	// ErrClosed: the modem was closed; its ports are gone.
	ErrClosed = errors.New("sim: modem closed")
	// ErrNotRunning: Call needs Run to be serving the modem.
	ErrNotRunning = errors.New("sim: modem not running (start Run first)")
	// ErrBusy: a call is already under way on this modem; a modem carries one call at a time.
	ErrBusy = errors.New("sim: a call is already in progress on this modem")
	// ErrStopped: Run ended (its context was cancelled or the modem closed) during a call.
	ErrStopped = errors.New("sim: modem stopped during the call")
	// ErrMaxDuration: the call reached Caller.MaxDuration and the caller hung up.
	ErrMaxDuration = errors.New("sim: call reached its maximum duration")
)

// Options configures a simulated modem (EC25, SIM7600 or Huawei).
type Options struct {
	// ID names the modem in logs ("sim1"); empty means its model: "ec25", "sim7600", "huawei".
	ID string
	// Logger receives the modem's log; nil discards it.
	Logger *slog.Logger
	// ToneReports makes the modem report the caller's keys, once the box has enabled such
	// reports: +QTONEDET after AT+QTONEDET=1 (EC25), +RXDTMF after AT+DDET=1 (SIM7600),
	// ^DDTMF after AT^DDTMFCFG=0,1 (Huawei). Without it the keys exist only as tones in the
	// audio.
	ToneReports bool
	// RingInterval is the time between two rings of an incoming call; 0 means 3 s.
	RingInterval time.Duration
	// Speed runs the modem's calls Speed times faster than real time (0 or less than 1: real
	// time): the rings, the 20 ms audio frames of callers, callees and the FXO line, and the
	// callers' and callees' timings (Caller.HangupAfter, Callee.AnswerAfter, ...) are paced
	// by the wall clock divided by Speed, and the durations in results are scaled back to call
	// time. The AT side (replies, BootTime, the SIM7600's audio set-up delay) stays real time.
	Speed float64
	// Garbage makes the AT port emit stray lines and binary junk now and then, between replies
	// and URCs, as flaky modems do.
	Garbage bool
	// NoVoice simulates a Huawei dongle whose firmware has no voice: AT^CVOICE? and
	// AT^DDSETEX=2 answer ERROR. The other modems ignore it.
	NoVoice bool
	// BootTime is how long a restart (AT+CFUN=1,1, PowerCycle) keeps the modem deaf before its
	// start-up lines (RDY, ...); 0 restarts at once.
	BootTime time.Duration
	// Callees is the directory of numbers the box can dial (ATD<number>;). Several modems may
	// share one; nil gives the modem a directory of its own, reachable through its Callees
	// method. Every number not set in it is unreachable.
	Callees *Callees
	// USSDReply is the network's answer to every USSD request (AT+CUSD=1,...); empty means
	// DefaultUSSDReply. Text in the GSM 7-bit alphabet goes out with DCS 15 (packed GSM 7-bit
	// hex on the Huawei), anything else (Cyrillic) as UCS2 hex with DCS 72.
	USSDReply string
}

// DefaultUSSDReply is the simulated network's USSD answer when Options.USSDReply is empty.
const DefaultUSSDReply = "Balance: 100.00 RUB"

// Call states as +CLCC and +QIND "ccinfo" report them.
const (
	statActive   = 0
	statIncoming = 4
)

// EC25 is a simulated Quectel EC25 on two pseudo-terminals. Create it with NewEC25, serve it with
// Run, place calls into it with Call, and Close it when done.
type EC25 struct {
	*atModem

	// Guarded by atModem.mu.
	crc     bool
	ind     map[string]bool // AT+QINDCFG switches
	toneDet bool            // AT+QTONEDET=1
	pcmOn   bool            // AT+QPCMV=1,...
	pcmMode int             // 0 = USB NMEA port (this audio port)
	cereg   int
}

// quectel is the EC25 as the dialect its atModem speaks: the replies and URCs that are the
// EC25's own.
type quectel EC25

// callState is the modem's view of the current call, shared between Call and the AT handler.
type callState struct {
	from       string // the caller's number; for an outgoing call the number dialled
	outgoing   bool   // the box dialled it
	keys       []byte // keys the box sent into the call (AT+VTS, AT^DTMF)
	stat       int
	answeredAt time.Time
	answered   chan struct{}    // ATA arrived (1-buffered)
	hungUp     chan struct{}    // the box hung up (1-buffered)
	frames     chan voice.Frame // what the box plays, frame by frame
}

// NewEC25 creates the two pseudo-terminals of a simulated EC25. The modem answers nothing until
// Run serves it.
func NewEC25(opts Options) (*EC25, error) {
	m, err := newATModem(opts, "ec25")
	if err != nil {
		return nil, err
	}
	m.infoBlock, m.repeat = true, true
	e := &EC25{atModem: m, ind: map[string]bool{"ring": true, "smsincoming": true}}
	m.d = (*quectel)(e)
	return e, nil
}

// ID returns the modem's name from Options.ID.
func (e *EC25) ID() string { return e.opts.ID }

// ATPath returns the path of the AT port, which the daemon opens like /dev/ttyUSB2.
func (e *EC25) ATPath() string { return e.atPath() }

// AudioPath returns the path of the audio port, which the daemon opens like /dev/ttyUSB1.
func (e *EC25) AudioPath() string { return e.audioPath() }

// Run serves the modem until ctx ends or the modem is closed, and then returns nil once all its
// goroutines have stopped. It returns an error when a port fails, and ErrClosed when called on a
// closed modem. Run may be called once.
func (e *EC25) Run(ctx context.Context) error { return e.run(ctx) }

// Close removes the pseudo-terminals. A running Run stops, and Close waits for it. Close is
// idempotent.
func (e *EC25) Close() error { return e.close() }

// readErr sorts a read error of a serving loop: nil for a normal end (ctx over, modem closed).
func readErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrClosed) {
		return nil
	}
	return fmt.Errorf("sim: read %s port: %w", what, err)
}

// decodeFrame turns 320 bytes of s16le into a frame.
func decodeFrame(f *voice.Frame, b *[2 * voice.FrameSamples]byte) {
	for i := range f {
		f[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
}

// encodeFrame turns a frame into 320 bytes of s16le.
func encodeFrame(b *[2 * voice.FrameSamples]byte, f *voice.Frame) {
	for i, s := range f {
		b[2*i] = byte(uint16(s))
		b[2*i+1] = byte(uint16(s) >> 8)
	}
}

// imei derives a stable, Luhn-valid IMEI from the modem's ID.
func imei(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	digits := fmt.Sprintf("86%012d", h.Sum64()%1e12)
	sum := 0
	for i := range len(digits) {
		d := int(digits[i] - '0')
		if i%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + string(rune('0'+(10-sum%10)%10))
}

// garbageLines are stray lines seen from flaky modems. None of them is a final result or a call
// URC, so a sound driver can skip them.
var garbageLines = []string{
	`+QIND: "csq",23,99`,
	`+QUSIM: 1`,
	`+QIND: SMS DONE`,
	`+QIND: PB DONE`,
	`+CGEV: ME PDN ACT 1`,
	`#&@!%`,
	``,
}

func (q *quectel) junk(rng *rand.Rand, b []byte) []byte {
	switch rng.IntN(3) {
	case 0: // a line of binary noise: NULs and high bytes, never CR or LF
		b = append(b, "\r\n"...)
		for range 1 + rng.IntN(24) {
			c := byte(0x80 + rng.IntN(0x80))
			if rng.IntN(4) == 0 {
				c = 0
			}
			b = append(b, c)
		}
		return append(b, "\r\n"...)
	case 1: // a stray line
		b = append(b, "\r\n"...)
		b = append(b, garbageLines[rng.IntN(len(garbageLines))]...)
		return append(b, "\r\n"...)
	default: // bare line ends
		return append(b, "\r\n\r\n"[:2+2*rng.IntN(2)]...)
	}
}

func (q *quectel) identify() { q.info(manufacturer, model, "Revision: "+revision) }

func (q *quectel) ring(cs *callState) string {
	var b strings.Builder
	if q.crc {
		b.WriteString("\r\n+CRING: VOICE\r\n")
	} else {
		b.WriteString("\r\nRING\r\n")
	}
	if q.clip {
		validity := 0
		if cs.from == "" {
			validity = 1
		}
		fmt.Fprintf(&b, "\r\n+CLIP: \"%s\",%d,,,,%d\r\n", cs.from, numberType(cs.from), validity)
	}
	if q.ind["ccinfo"] {
		b.WriteString("\r\n" + ccinfo(cs, statIncoming) + "\r\n")
	}
	return b.String()
}

func (q *quectel) answered(cs *callState) {
	if q.ind["ccinfo"] {
		q.post = append(q.post, ccinfo(cs, statActive))
	}
}

func (q *quectel) boxHungUp(cs *callState, _ bool) {
	if q.ind["ccinfo"] {
		q.post = append(q.post, ccinfo(cs, -1))
	}
}

func (q *quectel) callerHungUp(cs *callState, _ bool) string {
	s := "\r\nNO CARRIER\r\n"
	if q.ind["ccinfo"] {
		s = "\r\n" + ccinfo(cs, -1) + "\r\n" + s
	}
	return s
}

func (q *quectel) tone(key byte) string {
	if !q.toneDet {
		return ""
	}
	return "+QTONEDET: " + strconv.Itoa(int(key))
}

func (q *quectel) live(cs *callState) bool {
	return cs.stat == statActive && q.pcmOn && q.pcmMode == 0
}

// callOver changes nothing: AT+QPCMV holds across calls.
func (q *quectel) callOver() {}

func (q *quectel) reset() {
	q.crc, q.toneDet, q.pcmOn, q.pcmMode, q.cereg = false, false, false, 0, 0
	q.ind = map[string]bool{"ring": true, "smsincoming": true}
}

func (q *quectel) bootURCs() []string {
	return []string{"RDY", "+CFUN: 1", "+CPIN: READY", "+QUSIM: 1", "+QIND: SMS DONE", "+QIND: PB DONE"}
}
