package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
)

// Identity of the simulated Huawei dongle.
const (
	huaweiMaker    = "huawei"
	huaweiModel    = "E173"
	huaweiRevision = "11.126.85.00.209"
)

// Huawei is a simulated Huawei E173 3G dongle with voice-enabled firmware on two
// pseudo-terminals: the AT port (the PCUI tty, /dev/ttyUSB2) and the audio port (the DIAG tty,
// /dev/ttyUSB1). Create it with NewHuawei, serve it with Run, place calls into it with Call,
// and Close it when done.
//
// It speaks the Huawei dialect: echo until ATE0; AT^CVOICE? answers ^CVOICE:0,8000,16,20
// (ERROR with Options.NoVoice); RING, then +CLIP after AT+CLIP=1; AT+CLCC lists the call
// (+CLCC: 1,1,4,0,0,"<number>",145); ^CONN:1,0 follows the answer; ^CEND:1,<secs>,104,16 ends
// the call, whoever ends it; ^DDTMF: <key> after AT^DDTMFCFG=0,1 (with Options.ToneReports).
// Audio flows while the call is up and the box has sent AT^DDSETEX=2 during it.
type Huawei struct {
	m *atModem

	// Guarded by m.mu.
	ddtmf   bool // AT^DDTMFCFG=0,1
	ddsetex bool // AT^DDSETEX=2 during this call
}

// NewHuawei creates the two pseudo-terminals of a simulated Huawei dongle. The modem answers
// nothing until Run serves it. An empty Options.ID means "huawei".
func NewHuawei(opts Options) (*Huawei, error) {
	m, err := newATModem(opts, "huawei")
	if err != nil {
		return nil, err
	}
	h := &Huawei{m: m}
	m.d = h
	return h, nil
}

// ID returns the modem's name from Options.ID.
func (h *Huawei) ID() string { return h.m.opts.ID }

// ATPath returns the path of the AT port, which the daemon opens like /dev/ttyUSB2.
func (h *Huawei) ATPath() string { return h.m.atPath() }

// AudioPath returns the path of the audio port, which the daemon opens like /dev/ttyUSB1.
func (h *Huawei) AudioPath() string { return h.m.audioPath() }

// Unplug pulls the dongle out; see EC25.Unplug.
func (h *Huawei) Unplug() { h.m.Unplug() }

// Plug puts the dongle back; see EC25.Plug.
func (h *Huawei) Plug() error { return h.m.Plug() }

// Run serves the modem until ctx ends or the modem is closed, and then returns nil once all its
// goroutines have stopped. It returns an error when a port fails, and ErrClosed when called on a
// closed modem. Run may be called once.
func (h *Huawei) Run(ctx context.Context) error { return h.m.run(ctx) }

// Close removes the pseudo-terminals. A running Run stops, and Close waits for it. Close is
// idempotent.
func (h *Huawei) Close() error { return h.m.close() }

// Call rings the modem as a caller with script c and returns, when the call is over, what the
// caller experienced; see EC25.Call.
func (h *Huawei) Call(ctx context.Context, c Caller) (Result, error) { return callInto(ctx, h.m, c) }

// Callees returns the modem's directory of numbers the box can dial; see EC25.Callees.
func (h *Huawei) Callees() *Callees { return h.m.callees }

// SetCallee makes number reach c when the box dials it; see EC25.SetCallee.
func (h *Huawei) SetCallee(number string, c Callee) { h.m.SetCallee(number, c) }

func (h *Huawei) dispatch(c command) (final, bool) {
	m := h.m
	switch c.name {
	case "+CGMI", "+GMI":
		return m.action(c, huaweiMaker), true
	case "+CGMM", "+GMM":
		return m.action(c, huaweiModel), true
	case "+CGMR", "+GMR":
		return m.action(c, huaweiRevision), true
	case "^CVOICE":
		if m.opts.NoVoice {
			return fail, true
		}
		switch c.op {
		case "?":
			m.info("^CVOICE:0,8000,16,20")
		case "=?":
			m.info("^CVOICE:(0)")
		case "=":
			if c.arg != "0" {
				return badParams, true
			}
		}
		return ok, true
	case "^DDTMFCFG":
		switch c.op {
		case "=":
			switch strings.ReplaceAll(c.arg, " ", "") {
			case "0,1":
				h.ddtmf = true
			case "1,0":
				h.ddtmf = false
			default:
				return badParams, true
			}
		case "?":
			m.info(fmt.Sprintf("^DDTMFCFG: %d,%d", 1-b2i(h.ddtmf), b2i(h.ddtmf)))
		}
		return ok, true
	case "^DDSETEX":
		if m.opts.NoVoice {
			return fail, true
		}
		if c.op != "=" || c.arg != "2" {
			return badParams, true
		}
		h.ddsetex = true
		return ok, true
	case "+CLCC":
		if c.op == "" {
			if cs := m.call; cs != nil {
				m.info(clcc(cs, cs.stat))
			}
		}
		return ok, true
	case "+CRC":
		return ok, true // plain RING either way
	case "^DTMF":
		if c.op == "=" {
			if args := splitArgs(c.arg); len(args) == 2 {
				m.boxKeys(args[1])
			}
		}
		return ok, true
	case "^U2DIAG", "^CURC", "^SYSCFG", "^CARDLOCK", "^CPIN":
		return ok, true // accepted and forgotten
	}
	return final{}, false
}

func (h *Huawei) identify() {
	h.m.info("Manufacturer: "+huaweiMaker, "Model: "+huaweiModel, "Revision: "+huaweiRevision,
		"IMEI: "+h.m.imei, "+GCAP: +CGSM,+DS,+ES")
}

func (h *Huawei) ring(cs *callState) string {
	s := "\r\nRING\r\n"
	if h.m.clip {
		validity := 0
		if cs.from == "" {
			validity = 1
		}
		s += fmt.Sprintf("\r\n+CLIP: \"%s\",%d,,,,%d\r\n", cs.from, numberType(cs.from), validity)
	}
	return s
}

func (h *Huawei) answered(*callState) { h.m.post = append(h.m.post, "^CONN:1,0") }

// cend is the dongle's report of a call's end: index, seconds, end status, network cause
// (16: normal clearing).
func cend(cs *callState) string { return fmt.Sprintf("^CEND:1,%d,104,16", callSeconds(cs)) }

func (h *Huawei) boxHungUp(cs *callState, _ bool) { h.m.post = append(h.m.post, cend(cs)) }

func (h *Huawei) callerHungUp(cs *callState, _ bool) string { return "\r\n" + cend(cs) + "\r\n" }

func (h *Huawei) reset() { h.ddtmf, h.ddsetex = false, false }

// bootURCs: the dongle announces its start with ^BOOT only; it sends no RDY.
func (h *Huawei) bootURCs() []string { return []string{"^BOOT:20952832,0,0,0,72"} }

// Stall makes the modem hang; see EC25.Stall.
func (h *Huawei) Stall(untilReset bool) { h.m.Stall(untilReset) }

// Unstall ends a stall; see EC25.Unstall.
func (h *Huawei) Unstall() { h.m.Unstall() }

// PowerCycle turns the modem off and on; see EC25.PowerCycle.
func (h *Huawei) PowerCycle() { h.m.PowerCycle() }

func (h *Huawei) tone(key byte) string {
	if !h.ddtmf {
		return ""
	}
	return "^DDTMF: " + string(key)
}

func (h *Huawei) live(cs *callState) bool { return cs.stat == statActive && h.ddsetex }

func (h *Huawei) callOver() { h.ddsetex = false }

func (h *Huawei) junk(rng *rand.Rand, b []byte) []byte { return lineJunk(rng, b, huaweiGarbage) }

// huaweiGarbage are stray lines the Huawei sends.
var huaweiGarbage = []string{"^RSSI:17", "^BOOT:20952832,0,0,0,72", "^MODE:5,4", "^SRVST:2", "#&@!%", ""}
