package fxo

import (
	"strconv"
	"strings"

	"hotline/hw"
)

// callerID is what the modem reported of a caller with AT+VCID=1.
type callerID struct {
	date, time, number, name string
	withheld                 bool // NMBR=P (private) or NMBR=O (out of area)
}

// cidField reads one formatted caller-ID line: "NMBR=...", "NMBR = ..." (both occur, see mgetty
// cnd.c), and likewise DATE, TIME, NAME, plus DDN_NMBR (the dialled number, some Conexant
// parts) and MESG (undecoded). It returns the upper-case key and the value, trimmed.
func cidField(line string) (key, value string, ok bool) {
	k, v, found := strings.Cut(line, "=")
	if !found {
		return "", "", false
	}
	key = strings.ToUpper(strings.TrimSpace(k))
	switch key {
	case "DATE", "TIME", "NMBR", "NAME", "DDN_NMBR", "MESG":
		return key, strings.TrimSpace(v), true
	}
	return "", "", false
}

// apply adds one caller-ID field to c and reports whether it told the number.
func (c *callerID) apply(key, value string) bool {
	switch key {
	case "DATE":
		c.date = value
	case "TIME":
		c.time = value
	case "NAME":
		c.name = value
	case "NMBR":
		c.number, c.withheld = value, false
		if value == "P" || value == "O" {
			c.number, c.withheld = "", true
		}
		return true
	}
	return false
}

// vsmEntry is one compression method of an AT+VSM=? listing.
type vsmEntry struct {
	id     int
	name   string // upper case, unquoted
	bits   int
	rates  []int // sample rates offered; empty when the listing gave none readable
	format hw.AudioFormat
}

// parseVSM reads one line of the AT+VSM=? listing, in V.253 form
// `<cml>,"<name>",<bits>,<tm>,(<rates>),(<sds>),(<sdi>)`, optionally after "+VSM:". It tells
// which hw.AudioFormat the method carries, or 0 when the hotline cannot use it (ADPCM, ...).
func parseVSM(line string) (vsmEntry, bool) {
	s := strings.TrimSpace(line)
	if rest, found := strings.CutPrefix(s, "+VSM:"); found {
		s = strings.TrimSpace(rest)
	}
	idText, rest, found := strings.Cut(s, ",")
	if !found {
		return vsmEntry{}, false
	}
	id, err := strconv.Atoi(strings.TrimSpace(idText))
	if err != nil || id < 0 || id > 255 {
		return vsmEntry{}, false
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '"' {
		return vsmEntry{}, false
	}
	end := strings.IndexByte(rest[1:], '"')
	if end < 0 {
		return vsmEntry{}, false
	}
	e := vsmEntry{id: id, name: strings.ToUpper(strings.TrimSpace(rest[1 : 1+end]))}
	rest = strings.TrimPrefix(strings.TrimSpace(rest[2+end:]), ",")
	bitsText, rest, _ := strings.Cut(rest, ",")
	if b, err := strconv.Atoi(strings.TrimSpace(bitsText)); err == nil {
		e.bits = b
	}
	// The first parenthesised list after <tm> holds the rates: "(7200,8000,11025)" or "(7200-11025)".
	if open := strings.IndexByte(rest, '('); open >= 0 {
		if close := strings.IndexByte(rest[open:], ')'); close > 0 {
			e.rates = parseRates(rest[open+1 : open+close])
		}
	}
	e.format = formatOf(e.name, e.bits)
	return e, true
}

// parseRates reads "7200,8000,11025" or "7200-11025"; a range is kept as its two ends.
func parseRates(s string) []int {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(strings.TrimSpace(lo))
		if err != nil {
			continue
		}
		if !isRange {
			out = append(out, a, a)
			continue
		}
		b, err := strconv.Atoi(strings.TrimSpace(hi))
		if err != nil {
			continue
		}
		out = append(out, a, b)
	}
	return out
}

// offers8k reports whether the method can run at 8000 samples/s (assumed when no rates were
// listed).
func (e vsmEntry) offers8k() bool {
	if len(e.rates) == 0 {
		return true
	}
	for i := 0; i+1 < len(e.rates); i += 2 {
		if e.rates[i] <= 8000 && 8000 <= e.rates[i+1] {
			return true
		}
	}
	return false
}

// formatOf maps a method's name and bits to the format the hotline can carry.
func formatOf(name string, bits int) hw.AudioFormat {
	switch {
	case name == "UNSIGNED PCM" && bits == 8, name == "8-BIT LINEAR":
		return hw.U8
	case name == "ULAW", name == "G711U", name == "G.711U", name == "MU-LAW", name == "G711 ULAW":
		return hw.ULaw
	case name == "SIGNED PCM" && bits == 16, name == "16-BIT LINEAR":
		return hw.S16LE
	}
	return 0
}

// pickVSM chooses the method to use from a listing: want when it is not 0, else 8-bit unsigned
// linear, then mu-law, then signed 16-bit, each at 8000 samples/s.
func pickVSM(entries []vsmEntry, want hw.AudioFormat) (vsmEntry, bool) {
	order := []hw.AudioFormat{hw.U8, hw.ULaw, hw.S16LE}
	if want != 0 {
		order = []hw.AudioFormat{want}
	}
	for _, f := range order {
		for _, e := range entries {
			if e.format == f && e.offers8k() {
				return e, true
			}
		}
	}
	return vsmEntry{}, false
}
