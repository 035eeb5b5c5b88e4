package gsm

import (
	"strings"
	"unicode/utf8"
)

// simState is the SIM as +CPIN reports it.
type simState int

const (
	simUnknown  simState = iota // not asked yet, or the modem would not say
	simReady                    // READY
	simPIN                      // SIM PIN: the PIN is needed
	simPUK                      // SIM PUK (or PIN2/PUK2 and the like): locked, needs more than a PIN
	simAbsent                   // no SIM in the slot
	simRejected                 // the configured PIN was refused; it is not sent again
)

// words are the plain-words forms used in LineStatus.SIM.
func (s simState) String() string {
	switch s {
	case simReady:
		return "ready"
	case simPIN:
		return "PIN needed"
	case simPUK:
		return "PUK needed"
	case simAbsent:
		return "not inserted"
	case simRejected:
		return "PIN rejected"
	}
	return ""
}

// parseCPIN reads "+CPIN: READY" / "+CPIN: SIM PIN" / "+CPIN: NOT INSERTED" (also the
// "+CPIN: NOT READY" some modems send while the SIM is out). Unknown codes return false.
func parseCPIN(text string) (simState, bool) {
	rest, ok := params(text, "+CPIN:")
	if !ok {
		return simUnknown, false
	}
	code := strings.ToUpper(strings.TrimSpace(unquote(strings.TrimSpace(rest))))
	switch code {
	case "READY":
		return simReady, true
	case "SIM PIN":
		return simPIN, true
	case "NOT INSERTED", "NOT READY", "SIM REMOVED":
		return simAbsent, true
	}
	if strings.HasPrefix(code, "SIM PUK") || strings.HasPrefix(code, "SIM PIN2") || strings.HasPrefix(code, "PH-") {
		return simPUK, true
	}
	return simUnknown, false
}

// simErrorAbsent reports whether a +CME ERROR says the SIM is missing (10 "SIM not inserted",
// 13 "SIM failure"; verbose or numeric).
func simErrorAbsent(final string) bool {
	f := strings.ToUpper(final)
	return strings.HasSuffix(f, ": 10") || strings.HasSuffix(f, ": 13") ||
		strings.Contains(f, "NOT INSERTED") || strings.Contains(f, "SIM FAILURE")
}

// Registration states of +CREG/+CEREG (27.007 <stat>).
const (
	regNone      = 0 // not registered, not searching
	regHome      = 1
	regSearching = 2
	regDenied    = 3
	regUnknown   = 4
	regRoaming   = 5
)

// parseReg reads a registration line of kind prefix ("+CREG:", "+CEREG:"). A URC carries
// <stat>[,<lac>,<ci>[,<act>]]; the reply to the query (query true) carries <n>,<stat>[,...].
// It returns <stat>, 0..10 (values past 5 are SMS-only and emergency states of newer modems).
func parseReg(text, prefix string, query bool) (int, bool) {
	rest, ok := params(text, prefix)
	if !ok {
		return 0, false
	}
	f := splitFields(rest)
	i := 0
	if query {
		i = 1
	}
	stat, ok := atoiField(f, i)
	if !ok || stat < 0 || stat > 10 {
		return 0, false
	}
	if !query && len(f) >= 2 && !strings.HasPrefix(strings.TrimSpace(f[1]), `"`) {
		// "+CREG: 2,1" as a URC: a modem that answers the query form unasked. Take its stat.
		if s, ok := atoiField(f, 1); ok && s >= 0 && s <= 10 {
			stat = s
		}
	}
	return stat, true
}

// regClass folds a <stat> into what the line reports.
func regClass(stat int) int {
	switch stat {
	case regHome, 6, 9: // 6, 9: home, SMS only / CSFB not preferred
		return regHome
	case regRoaming, 7, 10:
		return regRoaming
	case regSearching, regUnknown:
		return regSearching
	case regDenied:
		return regDenied
	}
	return regNone
}

// MaxOperatorLen caps the operator name kept from +COPS, in bytes.
const MaxOperatorLen = 64

// parseCOPS reads +COPS: <mode>[,<format>,<oper>[,<act>]] and returns <oper> ("" when the
// modem is not registered and gives only the mode).
func parseCOPS(text string) (string, bool) {
	rest, ok := params(text, "+COPS:")
	if !ok {
		return "", false
	}
	f := splitFields(rest)
	if _, ok := atoiField(f, 0); !ok {
		return "", false
	}
	if len(f) < 3 {
		return "", true
	}
	// Control bytes go; invalid UTF-8 becomes U+FFFD (which makes the text longer), and only
	// then is the name cut, at a rune boundary, to MaxOperatorLen bytes.
	name := strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, cleanNumber(unquote(f[2])))
	for len(name) > MaxOperatorLen {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return name, true
}

// signal is a received signal strength: rssi as +CSQ gives it (0..31, 99 unknown).
type signal struct {
	rssi int
}

// dBm returns the strength in dBm (27.007: 0 is -113 dBm or less, 31 is -51 or more, 2 dB a
// step), or 0 when unknown.
func (s signal) dBm() int {
	if s.rssi < 0 || s.rssi > 31 {
		return 0
	}
	return -113 + 2*s.rssi
}

// bars maps the strength to 0..5 bars as a phone shows them.
func (s signal) bars() int {
	d := s.dBm()
	switch {
	case d == 0 || s.rssi < 2:
		return 0
	case d >= -73:
		return 5
	case d >= -83:
		return 4
	case d >= -93:
		return 3
	case d >= -103:
		return 2
	}
	return 1
}

// parseCSQ reads +CSQ: <rssi>,<ber> (the reply, and SIMCom's AT+AUTOCSQ reports), Quectel's
// +QIND: "csq",<rssi>,<ber> and Huawei's ^RSSI:<rssi>. rssi 99 means unknown.
func parseCSQ(text string) (signal, bool) {
	var f []string
	switch {
	case strings.HasPrefix(text, "+CSQ:"):
		f = splitFields(text[len("+CSQ:"):])
	case strings.HasPrefix(text, "^RSSI:"):
		f = splitFields(text[len("^RSSI:"):])
	case strings.HasPrefix(text, "+QIND:"):
		f = splitFields(text[len("+QIND:"):])
		if len(f) < 2 || !strings.EqualFold(unquote(f[0]), "csq") {
			return signal{}, false
		}
		f = f[1:]
	default:
		return signal{}, false
	}
	rssi, ok := atoiField(f, 0)
	if !ok || rssi < 0 || (rssi > 31 && rssi != 99) {
		return signal{}, false
	}
	return signal{rssi: rssi}, true
}

// parseStorageIndex reads +CMTI: <mem>,<index> and +CDSI: <mem>,<index> (prefix says which)
// and returns the index; a negative index (a known firmware bug sends -1) returns false.
func parseStorageIndex(text, prefix string) (mem string, idx int, ok bool) {
	rest, ok := params(text, prefix)
	if !ok {
		return "", 0, false
	}
	f := splitFields(rest)
	if len(f) < 2 {
		return "", 0, false
	}
	idx, ok = atoiField(f, 1)
	if !ok || idx < 0 || idx > 9999 {
		return "", 0, false
	}
	return strings.ToUpper(unquote(f[0])), idx, true
}

// smsHeader is the line before a PDU in a +CMGL or +CMGR reply.
type smsHeader struct {
	index  int // +CMGL only; -1 for +CMGR
	stat   int // 0 received unread, 1 received read, 2 stored unsent, 3 stored sent
	length int // TPDU octets
}

// parseCMGL reads +CMGL: <index>,<stat>,[<alpha>],<length>.
func parseCMGL(text string) (smsHeader, bool) {
	rest, ok := params(text, "+CMGL:")
	if !ok {
		return smsHeader{}, false
	}
	f := splitFields(rest)
	if len(f) < 3 {
		return smsHeader{}, false
	}
	idx, ok1 := atoiField(f, 0)
	stat, ok2 := atoiField(f, 1)
	length, ok3 := atoiField(f, len(f)-1)
	if !ok1 || !ok2 || !ok3 || idx < 0 || idx > 9999 || length < 0 || length > 255 {
		return smsHeader{}, false
	}
	return smsHeader{index: idx, stat: stat, length: length}, true
}

// parseCMGR reads +CMGR: <stat>,[<alpha>],<length>.
func parseCMGR(text string) (smsHeader, bool) {
	rest, ok := params(text, "+CMGR:")
	if !ok {
		return smsHeader{}, false
	}
	f := splitFields(rest)
	if len(f) < 2 {
		return smsHeader{}, false
	}
	stat, ok1 := atoiField(f, 0)
	length, ok2 := atoiField(f, len(f)-1)
	if !ok1 || !ok2 || length < 0 || length > 255 {
		return smsHeader{}, false
	}
	return smsHeader{index: -1, stat: stat, length: length}, true
}

// parseCMGS reads the message reference of +CMGS: <mr>[,<scts>].
func parseCMGS(text string) (int, bool) {
	rest, ok := params(text, "+CMGS:")
	if !ok {
		return 0, false
	}
	mr, ok := atoiField(splitFields(rest), 0)
	if !ok || mr < 0 || mr > 255 {
		return 0, false
	}
	return mr, true
}

// isHexPDU reports whether a line is a PDU: an even number of hex digits, at most 2*(176+12).
func isHexPDU(s string) bool {
	if len(s) < 2 || len(s)%2 != 0 || len(s) > 400 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// parseCENDCause reads the <cc_cause> of ^CEND:<idx>,<duration>,<end_status>[,<cc_cause>], or
// -1 when it has none.
func parseCENDCause(text string) int {
	rest, ok := params(text, "^CEND:")
	if !ok {
		return -1
	}
	c, ok := atoiField(splitFields(rest), 3)
	if !ok {
		return -1
	}
	return c
}

// Call-control causes (3GPP TS 24.008 10.5.4.11) that say more than "no answer".
const (
	causeUserBusy = 17
)

// validNumber checks a number to dial: an optional leading '+', then 1..20 of 0-9 * #. Nothing
// else can reach the ATD command.
func validNumber(n string) bool {
	body := strings.TrimPrefix(n, "+")
	if body == "" || len(n) > 20 {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			return false
		}
	}
	return true
}

// validDigits checks DTMF keys to send: 1..32 of 0-9 * # A-D.
func validDigits(d string, letters bool) bool {
	if d == "" || len(d) > 32 {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= '0' && c <= '9', c == '*', c == '#':
		case letters && c >= 'A' && c <= 'D':
		default:
			return false
		}
	}
	return true
}

// validUSSD checks a USSD code: 1..64 of 0-9 * #.
func validUSSD(code string) bool {
	if code == "" || len(code) > 64 {
		return false
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= '0' && c <= '9' || c == '*' || c == '#') {
			return false
		}
	}
	return true
}
