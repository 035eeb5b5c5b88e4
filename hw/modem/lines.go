package modem

import (
	"strings"
	"unicode/utf8"
)

// MaxLineLen is the longest line the channel accepts from a modem, in bytes. Longer lines are
// dropped whole: no AT reply or URC of a voice modem comes near it, so such a line is noise.
const MaxLineLen = 1024

// lineFault says why a line from the modem was not accepted.
type lineFault int

const (
	lineOK       lineFault = iota
	lineGarbage            // control bytes or invalid UTF-8
	lineOverlong           // longer than MaxLineLen
)

func (f lineFault) String() string {
	switch f {
	case lineGarbage:
		return "garbage"
	case lineOverlong:
		return "overlong"
	}
	return "ok"
}

// splitter cuts a byte stream into lines at CR and LF. Empty lines vanish, so "\r\r\n" ends a
// line just like "\n". It never blocks and never grows past MaxLineLen.
type splitter struct {
	buf      [MaxLineLen]byte
	n        int
	overlong bool
}

// feed consumes p and calls emit for each complete line: trimmed of spaces and tabs, with the
// fault that made it unusable (lineOK for a good one). For a faulty line, text is a prefix of
// it, for the log. The slice is only valid during the call.
func (s *splitter) feed(p []byte, emit func(text []byte, fault lineFault)) {
	for _, b := range p {
		if b == '\r' || b == '\n' {
			s.flush(emit)
			continue
		}
		if s.n == len(s.buf) {
			s.overlong = true
			continue
		}
		s.buf[s.n] = b
		s.n++
	}
}

// flush ends the current line.
func (s *splitter) flush(emit func([]byte, lineFault)) {
	line := trimSpace(s.buf[:s.n])
	overlong := s.overlong
	s.n = 0
	s.overlong = false
	switch {
	case overlong:
		emit(line, lineOverlong)
	case len(line) == 0:
	case !cleanText(line):
		emit(line, lineGarbage)
	default:
		emit(line, lineOK)
	}
}

// trimSpace cuts ASCII spaces and tabs from both ends.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// cleanText reports whether b is valid UTF-8 without control characters (tab excepted).
func cleanText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(b)
}

// finalKind classifies a line as a final result code.
type finalKind int

const (
	notFinal   finalKind = iota
	finalOK              // OK, CONNECT
	finalError           // ERROR, +CME ERROR, +CMS ERROR, NO CARRIER, BUSY, NO ANSWER, NO DIALTONE
)

// classifyFinal tells whether line ends a command, and how.
func classifyFinal(line string) finalKind {
	switch line {
	case "OK", "CONNECT":
		return finalOK
	case "ERROR", "NO CARRIER", "BUSY", "NO ANSWER", "NO DIALTONE":
		return finalError
	}
	switch {
	case strings.HasPrefix(line, "CONNECT "):
		return finalOK
	case strings.HasPrefix(line, "+CME ERROR:"), strings.HasPrefix(line, "+CMS ERROR:"):
		return finalError
	}
	return notFinal
}

// lineRole is what a line from the modem is, seen from the command in flight.
type lineRole int

const (
	roleInfo  lineRole = iota // part of the reply
	roleFinal                 // ends the reply
	roleURC                   // unsolicited, goes to the URC consumer
	roleEcho                  // the command echoed back; dropped
	roleStray                 // a reply nobody waits for; dropped
)

func (r lineRole) String() string {
	switch r {
	case roleInfo:
		return "info"
	case roleFinal:
		return "final"
	case roleURC:
		return "urc"
	case roleEcho:
		return "echo"
	case roleStray:
		return "stray"
	}
	return "unknown"
}

// cmdInfo is what classification needs to know about the command in flight.
type cmdInfo struct {
	cmd      string
	shown    string // stands for cmd in the log when cmd holds a secret
	name     string // "+CLCC" for AT+CLCC, "" for basic commands such as ATA
	dial     bool   // ATD/ATA: NO CARRIER, BUSY ... belong to the reply
	echoSeen bool
}

// newCmdInfo reads the command's name and kind.
func newCmdInfo(cmd string) cmdInfo {
	up := strings.ToUpper(cmd)
	ci := cmdInfo{cmd: cmd}
	body, _ := strings.CutPrefix(up, "AT")
	if body != "" && strings.IndexByte("+^$%*#&", body[0]) >= 0 {
		end := 1
		for end < len(body) && isNameByte(body[end]) {
			end++
		}
		if end > 1 {
			ci.name = body[:end]
		}
	}
	// A dial or answer may come last in a compound line: AT+QPCMV=1,0;A
	last := strings.TrimRight(body, ";")
	if i := strings.LastIndexByte(last, ';'); i >= 0 {
		last = last[i+1:]
	}
	ci.dial = strings.HasPrefix(body, "D") || body == "A" || last == "A" || strings.HasPrefix(last, "D")
	return ci
}

func isNameByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// classify decides the role of a line. pending is nil when no command is in flight. isURC may
// be nil.
func classify(line string, pending *cmdInfo, isURC func(string) bool) lineRole {
	if pending == nil {
		switch {
		case hasPrefixFold(line, "AT"):
			return roleStray // a late echo
		case line == "OK", line == "ERROR", line == "CONNECT",
			strings.HasPrefix(line, "CONNECT "),
			strings.HasPrefix(line, "+CME ERROR:"), strings.HasPrefix(line, "+CMS ERROR:"):
			return roleStray // the reply to a command that timed out
		}
		return roleURC
	}
	if !pending.echoSeen && strings.EqualFold(line, pending.cmd) {
		return roleEcho
	}
	if line == "RING" {
		return roleURC
	}
	if line == "NO CARRIER" && !pending.dial {
		return roleURC
	}
	if classifyFinal(line) != notFinal {
		return roleFinal
	}
	if pending.name != "" && hasPrefixFold(line, pending.name) &&
		len(line) > len(pending.name) && line[len(pending.name)] == ':' {
		return roleInfo // "+CLCC: ..." answering AT+CLCC, even if it could also be a URC
	}
	if isURC != nil && isURC(line) {
		return roleURC
	}
	return roleInfo
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
