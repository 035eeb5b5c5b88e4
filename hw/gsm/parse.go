package gsm

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxNumberLen caps the caller ID passed on in an event, in bytes.
const MaxNumberLen = 256

// splitFields splits the parameters of a result code (the text after "+XXX:") at commas. A field
// that begins with a double quote runs to the first quote that is followed by a comma or the end
// of the text, so quoted values keep their commas and stray quotes; an unterminated quote runs
// to the end. Fields are trimmed of spaces; quotes stay on.
func splitFields(s string) []string {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			// A trailing comma still ends an (empty) field; an empty text has no fields.
			return out
		}
		var field string
		if s[0] == '"' {
			end := closingQuote(s)
			if end < 0 {
				return append(out, strings.TrimRight(s, " \t"))
			}
			field = s[:end+1]
			s = strings.TrimLeft(s[end+1:], " \t")
			if s == "" {
				return append(out, field)
			}
			s = s[1:] // the comma
		} else {
			i := strings.IndexByte(s, ',')
			if i < 0 {
				return append(out, strings.TrimRight(s, " \t"))
			}
			field = strings.TrimRight(s[:i], " \t")
			s = s[i+1:]
		}
		out = append(out, field)
		if s == "" || strings.TrimLeft(s, " \t") == "" {
			return append(out, "")
		}
	}
}

// closingQuote finds the quote that closes the field opened at s[0], or -1.
func closingQuote(s string) int {
	for j := 1; j < len(s); j++ {
		if s[j] != '"' {
			continue
		}
		rest := strings.TrimLeft(s[j+1:], " \t")
		if rest == "" || rest[0] == ',' {
			return j
		}
	}
	return -1
}

// unquote removes the surrounding quotes of a field, if any.
func unquote(f string) string {
	if len(f) >= 2 && f[0] == '"' && f[len(f)-1] == '"' {
		return f[1 : len(f)-1]
	}
	return strings.TrimPrefix(f, `"`)
}

// cleanNumber makes raw caller ID text safe to carry: valid UTF-8, trimmed, at most
// MaxNumberLen bytes (cut at a character boundary). It does not judge the content.
func cleanNumber(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.TrimSpace(s)
	if len(s) > MaxNumberLen {
		cut := MaxNumberLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = strings.TrimSpace(s[:cut])
	}
	return s
}

// params returns the text after prefix (case-insensitive), or false.
func params(line, prefix string) (string, bool) {
	if len(line) < len(prefix) || !strings.EqualFold(line[:len(prefix)], prefix) {
		return "", false
	}
	return line[len(prefix):], true
}

func atoiField(fields []string, i int) (int, bool) {
	if i >= len(fields) {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSpace(fields[i]))
	if err != nil {
		return 0, false
	}
	return n, true
}

// clip is a +CLIP URC: +CLIP: <number>,<type>[,<subaddr>,<satype>[,<alpha>[,<CLI validity>]]]
type clip struct {
	number   string // raw, cleaned; empty when withheld
	validity int    // 0 valid, 1 withheld, 2 not available; -1 not given
}

func parseCLIP(line string) (clip, bool) {
	rest, ok := params(line, "+CLIP:")
	if !ok {
		return clip{}, false
	}
	f := splitFields(rest)
	c := clip{validity: -1}
	if len(f) > 0 {
		c.number = cleanNumber(unquote(f[0]))
	}
	if v, ok := atoiField(f, 5); ok {
		c.validity = v
	}
	return c, true
}

// Call states in +QIND "ccinfo" and +CLCC (27.007 <stat>; -1 is Quectel's "released").
const (
	statActive   = 0
	statHeld     = 1
	statDialing  = 2
	statAlerting = 3
	statIncoming = 4
	statWaiting  = 5
	statReleased = -1
)

// Call directions in +QIND "ccinfo" and +CLCC.
const (
	dirOutgoing = 0
	dirIncoming = 1
)

// callInfo is one call as +QIND: "ccinfo" or +CLCC describe it.
type callInfo struct {
	idx    int
	dir    int
	stat   int
	number string // cleaned; empty when absent
}

// parseCCInfo reads +QIND: "ccinfo",<idx>,<dir>,<state>,<mode>,<mpty>,<number>,<type>[,<alpha>].
// Other +QIND kinds return false.
func parseCCInfo(line string) (callInfo, bool) {
	rest, ok := params(line, "+QIND:")
	if !ok {
		return callInfo{}, false
	}
	f := splitFields(rest)
	if len(f) < 4 || !strings.EqualFold(unquote(f[0]), "ccinfo") {
		return callInfo{}, false
	}
	return callFields(f[1:])
}

// parseCLCC reads +CLCC: <idx>,<dir>,<stat>,<mode>,<mpty>[,<number>,<type>[,<alpha>]].
func parseCLCC(line string) (callInfo, bool) {
	rest, ok := params(line, "+CLCC:")
	if !ok {
		return callInfo{}, false
	}
	return callFields(splitFields(rest))
}

// callFields reads <idx>,<dir>,<stat>,<mode>,<mpty>,<number>,... as ccinfo and CLCC share them.
func callFields(f []string) (callInfo, bool) {
	idx, ok1 := atoiField(f, 0)
	dir, ok2 := atoiField(f, 1)
	stat, ok3 := atoiField(f, 2)
	if !ok1 || !ok2 || !ok3 {
		return callInfo{}, false
	}
	c := callInfo{idx: idx, dir: dir, stat: stat}
	if len(f) > 5 {
		c.number = cleanNumber(unquote(f[5]))
	}
	return c, true
}

// parseToneDet reads +QTONEDET: <ASCII code>[,...] and returns the key: 48-57 '0'-'9',
// 65-68 'A'-'D', 42 '*', 35 '#'. Other codes return false.
func parseToneDet(line string) (byte, bool) {
	rest, ok := params(line, "+QTONEDET:")
	if !ok {
		return 0, false
	}
	code, ok := atoiField(splitFields(rest), 0)
	if !ok {
		return 0, false
	}
	switch {
	case code >= '0' && code <= '9', code >= 'A' && code <= 'D', code == '*', code == '#':
		return byte(code), true
	}
	return 0, false
}

// hasAnyPrefix reports whether text starts with one of prefixes.
func hasAnyPrefix(text string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(text, p) {
			return true
		}
	}
	return false
}
