package sim

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"

	"hotline/hw/sms"
	"hotline/voice"
)

// dialAnnouncer is what a dialect says about a call the box dialled. Every method runs with
// atModem.mu held.
type dialAnnouncer interface {
	// dialled queues (atModem.post) what follows OK to ATD<number>;.
	dialled(cs *callState)
	// alerted, connected and failed return, framed, what the modem sends when the callee's
	// phone rings, when the callee answers, and when the network ends the unanswered call.
	alerted(cs *callState) string
	connected(cs *callState) string
	failed(cs *callState, o Outcome) string
	// ussdStyle says how the family words a USSD reply: packed GSM 7-bit hex rather than text,
	// and the reply before OK rather than as a URC after it.
	ussdStyle() (packed, inCommand bool)
}

// Callees returns the modem's directory of numbers the box can dial (Options.Callees or the
// modem's own).
func (m *atModem) Callees() *Callees { return m.callees }

// SetCallee makes number reach c when the box dials it from this modem; it is
// m.Callees().Set(number, c).
func (m *atModem) SetCallee(number string, c Callee) { m.callees.Set(number, c) }

// dial handles ATD<arg>: a voice call (the dial string ends in ';') to a virtual callee. It
// answers OK at once, as the real modems do, and the call's progress follows as URCs.
func (m *atModem) dial(arg string) final {
	number, isVoice := strings.CutSuffix(strings.TrimSpace(arg), ";")
	if !isVoice {
		return noCarrier // data calls are not simulated
	}
	if !dialString(number) {
		return fail
	}
	if m.call != nil || m.calling || m.bgCtx == nil {
		return fail
	}
	callee := m.callees.lookup(number)
	cs := &callState{
		from:     number,
		outgoing: true,
		stat:     statDialing,
		answered: make(chan struct{}, 1),
		hungUp:   make(chan struct{}, 1),
		frames:   make(chan voice.Frame, 64),
	}
	m.call, m.calling = cs, true
	m.d.dialled(cs)
	ctx, id, dir := m.bgCtx, m.opts.ID, m.callees
	m.bg.Go(func() { runCallee(ctx, m, cs, callee, id, dir) })
	m.log.Info("box dials", "number", number, "outcome", callee.Outcome)
	return ok
}

// dialString reports whether s is a number the simulated network takes: an optional '+', then
// 1 to 20 digits, '*' or '#'.
func dialString(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if s == "" || len(s) > 20 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isDigit(c) && c != '*' && c != '#' {
			return false
		}
	}
	return true
}

// boxKeys records the keys of AT+VTS=<keys> or AT^DTMF=<idx>,<key> sent into an outgoing call
// that is up. m.mu is held.
func (m *atModem) boxKeys(keys string) {
	cs := m.call
	if cs == nil || !cs.outgoing || cs.stat != statActive {
		return
	}
	for _, k := range []byte(strings.Trim(strings.TrimSpace(keys), `"`)) {
		if isDigit(k) || k == '*' || k == '#' || k >= 'A' && k <= 'D' {
			cs.keys = append(cs.keys, k)
		}
	}
}

// cusd handles AT+CUSD: a request (=1,"<str>"[,<dcs>]) is answered with Options.USSDReply; =0
// and =2 (cancel) say OK.
func (m *atModem) cusd(c command) final {
	switch c.op {
	case "?":
		m.info("+CUSD: 1")
		return ok
	case "=?":
		m.info("+CUSD: (0-2)")
		return ok
	case "=":
	default:
		return fail
	}
	args := splitArgs(c.arg)
	switch strings.TrimSpace(args[0]) {
	case "0", "2":
		return ok
	case "1":
	default:
		return badParams
	}
	if len(args) < 2 || strings.Trim(args[1], `" `) == "" {
		return ok // presentation on, no request
	}
	text := m.opts.USSDReply
	if text == "" {
		text = DefaultUSSDReply
	}
	packed, inCommand := m.d.ussdStyle()
	line := cusdLine(text, packed)
	if inCommand {
		m.info(line)
	} else {
		m.post = append(m.post, line)
	}
	return ok
}

// cusdLine words a USSD reply: GSM 7-bit text as it is (DCS 15) or, packed, as GSM 7-bit hex;
// other text as UCS2 hex (DCS 72).
func cusdLine(text string, packed bool) string {
	if sms.IsGSM7(text) {
		if packed {
			if h, err := sms.EncodeUSSD(text); err == nil {
				return `+CUSD: 0,"` + h + `",15`
			}
		}
		return `+CUSD: 0,"` + text + `",15`
	}
	var b []byte
	for _, u := range utf16.Encode([]rune(text)) {
		b = append(b, byte(u>>8), byte(u))
	}
	return `+CUSD: 0,"` + strings.ToUpper(hex.EncodeToString(b)) + `",72`
}

// The callee's side (network) of a dialled call; see dialer.

func (m *atModem) alerting(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	cs.stat = statAlerting
	if u := m.d.alerted(cs); u != "" {
		m.writeAT([]byte(u))
	}
	return true
}

func (m *atModem) connect(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	cs.stat = statActive
	cs.answeredAt = time.Now()
	if err := m.pcm.flush(); err != nil {
		m.log.Warn("flush audio port", "err", err)
	}
	if u := m.d.connected(cs); u != "" {
		m.writeAT([]byte(u))
	}
	m.log.Info("dialled call answered", "number", cs.from)
	return true
}

func (m *atModem) fail(cs *callState, o Outcome) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	m.call = nil
	m.writeAT([]byte(m.d.failed(cs, o)))
	m.d.callOver()
	m.log.Info("dialled call not put through", "number", cs.from, "outcome", o)
	return true
}

func (m *atModem) done(cs *callState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call == cs {
		m.call = nil
		m.d.callOver()
	}
	m.calling = false
}

func (m *atModem) keysReceived(cs *callState) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return string(cs.keys)
}

var _ dialer = (*atModem)(nil)

// framed frames URC lines as the modem sends them.
func framed(lines ...string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("\r\n" + l + "\r\n")
	}
	return b.String()
}

// finalOf is the result code 27.007 gives for a dialled call that was not put through.
func finalOf(o Outcome) string {
	switch o {
	case Busy:
		return "BUSY"
	case NoAnswer:
		return "NO ANSWER"
	}
	return "NO CARRIER"
}

// Quectel: +QIND "ccinfo" with dir 0 (2 dialling, 3 alerting, 0 active, -1 released), then
// BUSY, NO ANSWER or NO CARRIER.

func (q *quectel) dialled(cs *callState) {
	if q.ind["ccinfo"] {
		q.post = append(q.post, ccinfo(cs, statDialing))
	}
}

func (q *quectel) alerted(cs *callState) string {
	if q.ind["ccinfo"] {
		return framed(ccinfo(cs, statAlerting))
	}
	return ""
}

func (q *quectel) connected(cs *callState) string {
	if q.ind["ccinfo"] {
		return framed(ccinfo(cs, statActive))
	}
	return ""
}

func (q *quectel) failed(cs *callState, o Outcome) string {
	if q.ind["ccinfo"] {
		return framed(ccinfo(cs, -1), finalOf(o))
	}
	return framed(finalOf(o))
}

func (q *quectel) ussdStyle() (packed, inCommand bool) { return false, false }

// SIMCom: +CLCC URCs with dir 0 after AT+CLCC=1 (2, 3, 0, 6), VOICE CALL: BEGIN at the answer,
// then BUSY, NO ANSWER or NO CARRIER.

func (s *SIM7600) dialled(cs *callState) {
	if s.clcc {
		s.m.post = append(s.m.post, clcc(cs, statDialing))
	}
}

func (s *SIM7600) alerted(cs *callState) string {
	if s.clcc {
		return framed(clcc(cs, statAlerting))
	}
	return ""
}

func (s *SIM7600) connected(cs *callState) string {
	if s.clcc {
		return framed("VOICE CALL: BEGIN", clcc(cs, statActive))
	}
	return framed("VOICE CALL: BEGIN")
}

func (s *SIM7600) failed(cs *callState, o Outcome) string {
	if s.clcc {
		return framed(clcc(cs, statDisconnect), finalOf(o))
	}
	return framed(finalOf(o))
}

func (s *SIM7600) ussdStyle() (packed, inCommand bool) { return false, true }

// Huawei: ^ORIG:1,0 after OK, ^CONF:1 (alerting), ^CONN:1,0 (answered), ^CEND:1,0,<status>,
// <cause> for a call not put through: 17 user busy, 19 no answer, 20 subscriber absent.

func (h *Huawei) dialled(*callState) { h.m.post = append(h.m.post, "^ORIG:1,0") }

func (h *Huawei) alerted(*callState) string { return framed("^CONF:1") }

func (h *Huawei) connected(*callState) string { return framed("^CONN:1,0") }

func (h *Huawei) failed(_ *callState, o Outcome) string {
	cause := 20
	switch o {
	case Busy:
		cause = 17
	case NoAnswer:
		cause = 19
	}
	return framed(fmt.Sprintf("^CEND:1,0,104,%d", cause))
}

func (h *Huawei) ussdStyle() (packed, inCommand bool) { return true, false }
