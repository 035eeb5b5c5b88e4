package sms

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// USSDStatus is the <m> of a +CUSD reply (3GPP TS 27.007 7.15).
type USSDStatus int

// The USSD statuses.
const (
	USSDDone           USSDStatus = 0 // no further action needed (the usual balance reply)
	USSDActionRequired USSDStatus = 1 // the network waits for the user's answer
	USSDTerminated     USSDStatus = 2 // the network ended the session
	USSDOtherClient    USSDStatus = 3 // another local client answered
	USSDNotSupported   USSDStatus = 4 // operation not supported
	USSDTimeout        USSDStatus = 5 // the network timed out
)

func (s USSDStatus) String() string {
	switch s {
	case USSDDone:
		return "done"
	case USSDActionRequired:
		return "action required"
	case USSDTerminated:
		return "terminated"
	case USSDOtherClient:
		return "other client"
	case USSDNotSupported:
		return "not supported"
	case USSDTimeout:
		return "timeout"
	}
	return "status " + strconv.Itoa(int(s))
}

// USSD is a decoded +CUSD reply.
type USSD struct {
	Status USSDStatus
	Text   string // the decoded text; empty when the reply has none
	DCS    int    // the data coding scheme, -1 when the reply gives none
	Raw    string // the <str> as the modem printed it, without quotes
}

// maxCUSD bounds the line ParseCUSD looks at: a USSD string is at most 160 octets, which a
// modem prints as at most 320 hex digits (or 4 bytes per character of decoded text).
const maxCUSD = 2048

// ParseCUSD decodes a "+CUSD: <m>[,<str>[,<dcs>]]" line. The string may come as packed GSM
// 7-bit hex, as UCS2 hex, or as text the modem already decoded (what it does depends on the
// model and on AT+CSCS); ParseCUSD uses the DCS and checks which reading gives sensible text.
func ParseCUSD(line string) (USSD, error) {
	if len(line) > maxCUSD {
		return USSD{}, fmt.Errorf("sms: +CUSD line of %d bytes: %w", len(line), ErrInvalid)
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "+CUSD:")
	if !ok {
		return USSD{}, fmt.Errorf("sms: not a +CUSD line: %w", ErrInvalid)
	}
	rest = strings.TrimSpace(rest)
	mStr, rest, _ := strings.Cut(rest, ",")
	m, err := strconv.Atoi(strings.TrimSpace(mStr))
	if err != nil || m < 0 || m > 9 {
		return USSD{}, fmt.Errorf("sms: +CUSD status %q: %w", mStr, ErrInvalid)
	}
	u := USSD{Status: USSDStatus(m), DCS: -1}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return u, nil
	}
	var dcsStr string
	if strings.HasPrefix(rest, `"`) {
		end := strings.LastIndexByte(rest, '"')
		if end == 0 {
			return USSD{}, fmt.Errorf("sms: +CUSD string without closing quote: %w", ErrInvalid)
		}
		u.Raw = rest[1:end]
		after := strings.TrimSpace(rest[end+1:])
		if after != "" {
			d, ok := strings.CutPrefix(after, ",")
			if !ok {
				return USSD{}, fmt.Errorf("sms: +CUSD text after string: %w", ErrInvalid)
			}
			dcsStr = strings.TrimSpace(d)
		}
	} else if i := strings.LastIndexByte(rest, ','); i >= 0 {
		u.Raw, dcsStr = strings.TrimSpace(rest[:i]), strings.TrimSpace(rest[i+1:])
	} else {
		u.Raw = rest
	}
	if dcsStr != "" {
		d, err := strconv.Atoi(dcsStr)
		if err != nil || d < 0 || d > 255 {
			return USSD{}, fmt.Errorf("sms: +CUSD data coding scheme %q: %w", dcsStr, ErrInvalid)
		}
		u.DCS = d
	}
	u.Text = decodeUSSDString(u.Raw, u.DCS)
	return u, nil
}

// ussdAlphabet reads a cell broadcast / USSD data coding scheme (TS 23.038 section 5).
// langPrefix means the text starts with a language indication, not text.
func ussdAlphabet(dcs int) (a Alphabet, langPrefix bool) {
	if dcs < 0 {
		return GSM7, false
	}
	switch {
	case dcs == 0x10:
		return GSM7, true
	case dcs == 0x11:
		return UCS2, true
	case dcs&0xC0 == 0x40 || dcs&0xF0 == 0x90: // general data coding, with or without UDH
		switch (dcs >> 2) & 0x03 {
		case 1:
			return Data8, false
		case 2:
			return UCS2, false
		}
		return GSM7, false
	case dcs&0xF0 == 0xF0:
		if dcs&0x04 != 0 {
			return Data8, false
		}
	}
	return GSM7, false
}

// decodeUSSDString decodes s as the DCS says, falling back to s itself when it is not hex or
// the hex does not read as text.
func decodeUSSDString(s string, dcs int) string {
	alpha, lang := ussdAlphabet(dcs)
	b, err := hex.DecodeString(s)
	if err != nil || len(s) == 0 {
		return s // the modem decoded it already
	}
	switch alpha {
	case UCS2:
		if lang && len(b) >= 2 {
			b = b[2:] // two packed GSM 7-bit characters of language
		}
		if t, ok := ucs2Text(b); ok {
			return t
		}
	case Data8:
		if utf8.Valid(b) && printable(string(b)) {
			return string(b)
		}
	default:
		if t, ok := gsm7Text(b); ok {
			if lang {
				t = strings.TrimPrefix(dropRunes(t, 2), "\r")
			}
			return t
		}
		// Modems set to AT+CSCS="UCS2" print even a GSM 7-bit reply as UCS2 hex; then every
		// character is one the GSM 7-bit alphabet has.
		if t, ok := ucs2Text(b); ok && IsGSM7(t) {
			return t
		}
	}
	return s
}

// gsm7Text unpacks a USSD string and accepts it when it reads as text: at least four in
// five characters are ASCII letters, digits, spaces or punctuation other than '@' (septet 0,
// which is what zero octets unpack to).
func gsm7Text(b []byte) (string, bool) {
	sept := unpackSeptets(b, 0, len(b)*8/7)
	sept = trimPadding(sept, len(b))
	t := decodeGSM7(sept)
	plain, total := 0, 0
	for _, r := range t {
		total++
		if r < utf8.RuneSelf && r != '@' && (unicode.IsPrint(r) || r == '\n' || r == '\r') {
			plain++
		}
	}
	return t, total > 0 && plain*5 >= total*4
}

// ucs2Text decodes UCS2 octets and accepts them when every character is printable and no
// surrogate is left unpaired.
func ucs2Text(b []byte) (string, bool) {
	if len(b) == 0 || len(b)%2 != 0 {
		return "", false
	}
	t := decodeUCS2(b)
	if strings.ContainsRune(t, utf8.RuneError) || !printable(t) {
		return "", false
	}
	return t, true
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) && r != '\n' && r != '\r' {
			return false
		}
	}
	return true
}

// EncodeUSSD packs a USSD request such as "*100#" into GSM 7-bit septets and returns them as
// upper-case hex, for AT+CUSD=1,"<hex>",15 on modems that take packed strings (Huawei). Seven
// spare bits at the end are filled with CR, as TS 23.038 6.1.2.3.1 asks, so the network does
// not read an '@'.
func EncodeUSSD(req string) (string, error) {
	sept, ok := encodeGSM7(req)
	if !ok {
		return "", fmt.Errorf("sms: USSD request %q has characters outside GSM 7-bit: %w", req, ErrInvalid)
	}
	if len(sept) > 182 {
		return "", fmt.Errorf("sms: USSD request of %d characters: %w", len(sept), ErrTooLong)
	}
	if len(sept)%8 == 7 || (len(sept)%8 == 0 && len(sept) > 0 && sept[len(sept)-1] == '\r') {
		sept = append(sept, '\r')
	}
	return strings.ToUpper(hex.EncodeToString(packSeptets(nil, sept, 0))), nil
}

// dropRunes returns s without its first n characters.
func dropRunes(s string, n int) string {
	for ; n > 0 && s != ""; n-- {
		_, size := utf8.DecodeRuneInString(s)
		s = s[size:]
	}
	return s
}
