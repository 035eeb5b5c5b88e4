package sms

import (
	"encoding/hex"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Limits of one message part (TS 23.040 9.2.3.16, TS 23.038 6.1.2).
const (
	maxSeptets       = 160 // GSM 7-bit septets in a single message
	maxSeptetsConcat = 153 // behind a 6-octet concatenation header (7 septets with fill)
	maxUnits         = 70  // UTF-16 code units in a single UCS2 message
	maxUnitsConcat   = 67  // behind a 6-octet concatenation header
	// MaxParts is the most parts a concatenated message can have.
	MaxParts = 255
)

// Options are the choices for [Encode] and [EncodeDeliver]. The zero value sends a plain
// message without a status report or validity period.
type Options struct {
	// Ref is the message reference (TP-MR) of the first part; later parts count up from it.
	// Modems replace it with their own and report that in "+CMGS: <mr>"; match status
	// reports against the modem's number.
	Ref byte
	// ConcatRef is the reference that ties the parts of a long message together. Use a
	// different value for each long message to the same recipient (a counter does).
	ConcatRef byte
	// StatusReport asks the network for a delivery report (TP-SRR; TP-SRI in EncodeDeliver).
	StatusReport bool
	// Validity is the relative validity period; zero leaves it out (the centre's default).
	// It is rounded up to the next period TS 23.040 can express, at most 63 weeks.
	Validity time.Duration
	// UCS2 forces UCS2 even when every character is in the GSM 7-bit alphabet.
	UCS2 bool
	// SMSC is the service centre number put before the TPDU; empty writes "00", which makes
	// the modem use the SIM's centre.
	SMSC string
}

// Part is one encoded PDU, ready for AT+CMGS=<Length> and then Hex() followed by Ctrl-Z.
type Part struct {
	PDU    []byte // SMSC address, then the TPDU
	Length int    // octets of the TPDU: the PDU without its SMSC address
	Seq    int    // 1-based part number
	Total  int    // number of parts of the message
}

// Hex returns the PDU as upper-case hex digits, as the modem takes it.
func (p Part) Hex() string { return strings.ToUpper(hex.EncodeToString(p.PDU)) }

// chunk is the user data of one part before the header is put in front: exactly one of the
// fields is non-nil.
type chunk struct {
	septets []byte // GSM7: unpacked septets
	ucs2    []byte // UCS2: big-endian octets
}

// split chooses the alphabet for text and cuts it into parts. It never splits an escape
// sequence or a surrogate pair.
func split(text string, forceUCS2 bool) (Alphabet, []chunk, error) {
	if !forceUCS2 {
		if sept, ok := encodeGSM7(text); ok {
			if len(sept) <= maxSeptets {
				return GSM7, []chunk{{septets: sept}}, nil
			}
			var chunks []chunk
			for len(sept) > 0 {
				n := min(maxSeptetsConcat, len(sept))
				if n < len(sept) && sept[n-1] == esc {
					// Keep ESC with its code. No extension code is itself 0x1B, so an ESC
					// in the septets always starts a pair.
					n--
				}
				chunks = append(chunks, chunk{septets: sept[:n]})
				sept = sept[n:]
			}
			return GSM7, chunks, checkParts(len(chunks))
		}
	}
	units := utf16.Encode([]rune(text))
	if len(units) <= maxUnits {
		return UCS2, []chunk{{ucs2: ucs2Bytes(units)}}, nil
	}
	var chunks []chunk
	for len(units) > 0 {
		n := min(maxUnitsConcat, len(units))
		if n < len(units) && utf16.IsSurrogate(rune(units[n-1])) && units[n-1] < 0xDC00 {
			n-- // keep the high surrogate with its low half
		}
		chunks = append(chunks, chunk{ucs2: ucs2Bytes(units[:n])})
		units = units[n:]
	}
	return UCS2, chunks, checkParts(len(chunks))
}

func checkParts(n int) error {
	if n > MaxParts {
		return fmt.Errorf("sms: text needs %d parts, more than %d: %w", n, MaxParts, ErrTooLong)
	}
	return nil
}

func ucs2Bytes(units []uint16) []byte {
	b := make([]byte, 2*len(units)) // never nil: a UCS2 chunk is told apart by it
	for i, u := range units {
		b[2*i], b[2*i+1] = byte(u>>8), byte(u)
	}
	return b
}

// Encode builds the SMS-SUBMIT PDUs that send text to the number to ("+79161234567", or
// digits alone for a number in the network's own format). A text that fits one message gives
// one part; a longer one gives a concatenated message of up to [MaxParts] parts.
func Encode(to, text string, opt Options) ([]Part, error) {
	dst, err := numberAddress(to)
	if err != nil {
		return nil, fmt.Errorf("sms: recipient %q: %w", to, err)
	}
	smsc, err := smscAddress(opt.SMSC)
	if err != nil {
		return nil, fmt.Errorf("sms: service centre %q: %w", opt.SMSC, err)
	}
	alpha, chunks, err := split(text, opt.UCS2)
	if err != nil {
		return nil, err
	}
	first := byte(0x01) // SMS-SUBMIT
	var vp []byte
	if opt.Validity > 0 {
		first |= 0x10 // TP-VPF relative
		vp = []byte{relativeVP(opt.Validity)}
	}
	if opt.StatusReport {
		first |= 0x20
	}
	dcs := byte(0x00)
	if alpha == UCS2 {
		dcs = 0x08
	}
	parts := make([]Part, len(chunks))
	for i, c := range chunks {
		f := first
		if len(chunks) > 1 {
			f |= 0x40 // TP-UDHI
		}
		b := append([]byte(nil), smsc...)
		b = append(b, f, opt.Ref+byte(i))
		b = append(b, dst...)
		b = append(b, 0x00, dcs) // PID: plain short message
		b = append(b, vp...)
		b = appendUserData(b, c, i+1, len(chunks), opt.ConcatRef)
		parts[i] = Part{PDU: b, Length: len(b) - len(smsc), Seq: i + 1, Total: len(chunks)}
	}
	return parts, nil
}

// EncodeDeliver builds the SMS-DELIVER PDUs that a modem would print for text from the sender
// from (a number, or a name of up to 11 GSM 7-bit characters), stamped by the centre at at.
// The simulator and the tests use it; a real box never sends an SMS-DELIVER.
func EncodeDeliver(from, text string, at time.Time, opt Options) ([]Part, error) {
	oa, err := numberAddress(from)
	if err != nil {
		oa, err = alphanumericAddress(from)
		if err != nil {
			return nil, fmt.Errorf("sms: sender %q: %w", from, err)
		}
	}
	smsc, err := smscAddress(opt.SMSC)
	if err != nil {
		return nil, fmt.Errorf("sms: service centre %q: %w", opt.SMSC, err)
	}
	alpha, chunks, err := split(text, opt.UCS2)
	if err != nil {
		return nil, err
	}
	first := byte(0x04) // SMS-DELIVER, no more messages
	if opt.StatusReport {
		first |= 0x20
	}
	dcs := byte(0x00)
	if alpha == UCS2 {
		dcs = 0x08
	}
	parts := make([]Part, len(chunks))
	for i, c := range chunks {
		f := first
		if len(chunks) > 1 {
			f |= 0x40
		}
		b := append([]byte(nil), smsc...)
		b = append(b, f)
		b = append(b, oa...)
		b = append(b, 0x00, dcs)
		b = appendTimestamp(b, at)
		b = appendUserData(b, c, i+1, len(chunks), opt.ConcatRef)
		parts[i] = Part{PDU: b, Length: len(b) - len(smsc), Seq: i + 1, Total: len(chunks)}
	}
	return parts, nil
}

// EncodeStatusReport builds the SMS-STATUS-REPORT PDU a modem would print for r (its
// UserData is not encoded), with the service centre smsc ("" for none). For the simulator.
func EncodeStatusReport(r StatusReport, smsc string) ([]byte, error) {
	ra, err := numberAddress(r.Recipient.Number)
	if err != nil {
		return nil, fmt.Errorf("sms: recipient %q: %w", r.Recipient.Number, err)
	}
	b, err := smscAddress(smsc)
	if err != nil {
		return nil, fmt.Errorf("sms: service centre %q: %w", smsc, err)
	}
	b = append(b, 0x06, r.Ref) // SMS-STATUS-REPORT, no more messages
	b = append(b, ra...)
	b = appendTimestamp(b, r.Time)
	b = appendTimestamp(b, r.Discharge)
	return append(b, r.Status), nil
}

// appendUserData appends TP-UDL and TP-UD for one part, with a concatenation header (8-bit
// reference) when the message has more than one part.
func appendUserData(b []byte, c chunk, seq, total int, ref byte) []byte {
	var udh []byte
	if total > 1 {
		udh = []byte{0x05, 0x00, 0x03, ref, byte(total), byte(seq)}
	}
	if c.ucs2 != nil {
		b = append(b, byte(len(udh)+len(c.ucs2)))
		b = append(b, udh...)
		return append(b, c.ucs2...)
	}
	hdrSeptets := (len(udh)*8 + 6) / 7
	b = append(b, byte(hdrSeptets+len(c.septets)))
	b = append(b, udh...)
	return packSeptets(b, c.septets, hdrSeptets*7-len(udh)*8)
}

// numberAddress encodes a TP address for a number: "+" and digits is international, digits
// alone unknown type. '*' and '#' are allowed, as networks use them.
func numberAddress(num string) ([]byte, error) {
	typ := byte(0x81)
	digits := num
	if strings.HasPrefix(num, "+") {
		typ, digits = 0x91, num[1:]
	}
	if digits == "" || len(digits) > 20 {
		return nil, fmt.Errorf("%d digits: %w", len(digits), ErrInvalid)
	}
	if i := strings.IndexFunc(digits, func(r rune) bool { return (r < '0' || r > '9') && r != '*' && r != '#' }); i >= 0 {
		return nil, fmt.Errorf("character %q: %w", digits[i], ErrInvalid)
	}
	bcd, err := bcdBytes(digits)
	if err != nil {
		return nil, err
	}
	return append([]byte{byte(len(digits)), typ}, bcd...), nil
}

// smscAddress encodes the service centre address with its length in octets.
func smscAddress(num string) ([]byte, error) {
	if num == "" {
		return []byte{0x00}, nil
	}
	a, err := numberAddress(num)
	if err != nil {
		return nil, err
	}
	if len(a)-1 > 11 {
		return nil, fmt.Errorf("too long: %w", ErrInvalid)
	}
	a[0] = byte(len(a) - 1) // octets: type and digits
	return a, nil
}

func bcdBytes(digits string) ([]byte, error) {
	out := make([]byte, (len(digits)+1)/2)
	for i := 0; i < len(digits); i++ {
		d := strings.IndexByte(bcdDigits, digits[i])
		if d < 0 {
			return nil, fmt.Errorf("digit %q: %w", digits[i], ErrInvalid)
		}
		if i%2 == 0 {
			out[i/2] = 0xF0 | byte(d)
		} else {
			out[i/2] = out[i/2]&0x0F | byte(d)<<4
		}
	}
	return out, nil
}

// alphanumericAddress encodes a sender name as packed GSM 7-bit (type 0xD0).
func alphanumericAddress(name string) ([]byte, error) {
	sept, ok := encodeGSM7(name)
	if !ok || len(sept) == 0 || len(sept) > 11 {
		return nil, fmt.Errorf("not a number nor a name of 1..11 GSM 7-bit characters: %w", ErrInvalid)
	}
	semi := (len(sept)*7 + 3) / 4
	return packSeptets([]byte{byte(semi), 0xD0}, sept, 0), nil
}

// appendTimestamp appends a 7-octet service centre time stamp for t in t's own zone (offset
// rounded toward zero to quarter hours).
func appendTimestamp(b []byte, t time.Time) []byte {
	_, off := t.Zone()
	q := off / (15 * 60)
	neg := q < 0
	if neg {
		q = -q
	}
	swap := func(v int) byte { return byte(v%10)<<4 | byte(v/10%10) }
	b = append(b, swap(t.Year()%100), swap(int(t.Month())), swap(t.Day()),
		swap(t.Hour()), swap(t.Minute()), swap(t.Second()))
	tz := swap(q % 80)
	if neg {
		tz |= 0x08
	}
	return append(b, tz)
}

// relativeVP encodes a validity period in the relative format, rounding up.
func relativeVP(d time.Duration) byte {
	ceil := func(d, unit time.Duration) int { return int((d + unit - 1) / unit) }
	switch {
	case d <= 12*time.Hour:
		return byte(max(ceil(d, 5*time.Minute)-1, 0))
	case d <= 24*time.Hour:
		return byte(143 + ceil(d-12*time.Hour, 30*time.Minute))
	case d <= 30*24*time.Hour:
		return byte(166 + ceil(d, 24*time.Hour))
	case d <= 63*7*24*time.Hour:
		return byte(192 + max(ceil(d, 7*24*time.Hour), 5))
	default:
		return 255
	}
}
