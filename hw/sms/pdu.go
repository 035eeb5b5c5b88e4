package sms

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Errors returned by the decoders. They are wrapped with the field that failed.
var (
	// ErrShort means the PDU ends before a field it announces.
	ErrShort = errors.New("sms: PDU too short")
	// ErrInvalid means a field holds a value the specification does not allow.
	ErrInvalid = errors.New("sms: invalid PDU")
	// ErrTooLong means a text needs more than MaxParts parts.
	ErrTooLong = errors.New("sms: text too long")
)

// Alphabet is the character set of a message's user data (TS 23.038 section 4).
type Alphabet uint8

// The three alphabets of TS 23.038.
const (
	GSM7  Alphabet = iota // GSM 7-bit default alphabet, packed septets
	Data8                 // 8-bit data: not text; see Deliver.Data
	UCS2                  // UTF-16 big endian (surrogate pairs accepted)
)

func (a Alphabet) String() string {
	switch a {
	case GSM7:
		return "gsm7"
	case Data8:
		return "8bit"
	case UCS2:
		return "ucs2"
	}
	return fmt.Sprintf("alphabet(%d)", uint8(a))
}

// Address is an originating, destination, recipient or service centre address.
type Address struct {
	// Number is "+" and the digits for an international number, the digits alone for other
	// numbers, and the decoded name for an alphanumeric sender ("MegaFon"). Semi-octets 0xA..0xC
	// are written '*', '#', 'a', 'b', 'c'.
	Number string
	// Type is the type-of-address octet: 0x91 international, 0x81 unknown, 0xA1 national,
	// 0xD0 alphanumeric.
	Type byte
}

// Alphanumeric reports whether the address is a name rather than a number.
func (a Address) Alphanumeric() bool { return a.Type&0x70 == 0x50 }

// International reports whether the address is an international number.
func (a Address) International() bool { return a.Type&0x70 == 0x10 }

func (a Address) String() string { return a.Number }

// Concat is the concatenation element of a user data header (IEI 0x00 or 0x08).
type Concat struct {
	Ref   uint16 // reference shared by all parts of one message
	Total int    // number of parts, 1..255
	Seq   int    // this part's number, 1..Total
	Ref16 bool   // the reference was 16-bit (IEI 0x08)
}

// IE is one information element of a user data header.
type IE struct {
	ID   byte
	Data []byte
}

// UserData is what a message carries: its alphabet, header and decoded text.
type UserData struct {
	DCS      byte     // data coding scheme octet, as received
	Alphabet Alphabet // from DCS
	Class    int      // message class 0..3, or -1 when the DCS gives none
	Header   []IE     // user data header elements, in order (nil without UDHI)
	Concat   *Concat  // concatenation, if the header has a valid one
	Text     string   // decoded text (GSM7 and UCS2); empty for 8-bit data
	Data     []byte   // the octets after the header for 8-bit data and UCS2; nil for GSM7
}

// Deliver is an SMS-DELIVER: a message received by the modem.
type Deliver struct {
	From                Address
	PID                 byte      // protocol identifier
	Time                time.Time // service centre timestamp, in the sender's zone; zero if invalid
	MoreMessages        bool      // TP-MMS inverted: more messages are waiting in the centre
	ReplyPath           bool
	StatusReportRequest bool // TP-SRI: the sender asked for a status report
	UserData
}

// Submit is an SMS-SUBMIT: a message for the network to send (as AT+CMGS takes it, or as a
// sent message is read back from storage).
type Submit struct {
	Ref                 byte // message reference, TP-MR
	To                  Address
	PID                 byte
	RejectDuplicates    bool
	ReplyPath           bool
	StatusReportRequest bool
	// Validity is the relative validity period (TP-VPF = 10), zero when absent or not relative.
	Validity time.Duration
	UserData
}

// StatusReport is an SMS-STATUS-REPORT: the network's report on a message the box sent.
type StatusReport struct {
	Ref       byte // TP-MR of the submitted message, as +CMGS: <mr> gave it
	Recipient Address
	Time      time.Time // when the centre received the submitted message
	Discharge time.Time // when the status was reached (delivered, failed, ...)
	Status    byte      // TP-ST
	// UserData is present only when the report carries the optional parameter indicator
	// and user data; otherwise it is zero.
	UserData
}

// Delivered reports whether the message reached the recipient (TP-ST 0x00..0x1F: transaction
// completed; 0x00 received, 0x01 forwarded, 0x02 replaced).
func (r *StatusReport) Delivered() bool { return r.Status < 0x20 }

// Pending reports whether the centre is still trying to deliver (TP-ST 0x20..0x3F).
func (r *StatusReport) Pending() bool { return r.Status >= 0x20 && r.Status < 0x40 }

// Failed reports whether the centre gave up (TP-ST 0x40 and above).
func (r *StatusReport) Failed() bool { return r.Status >= 0x40 }

// PDU is a decoded PDU line: the service centre address and exactly one of Deliver, Submit
// and Report.
type PDU struct {
	SMSC    Address
	Deliver *Deliver
	Submit  *Submit
	Report  *StatusReport
}

// DecodeHex decodes a PDU line as the modem prints it: hex digits, with the SMSC address first.
// Surrounding white space is ignored.
func DecodeHex(s string) (PDU, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return PDU{}, fmt.Errorf("sms: PDU is not hex: %w", ErrInvalid)
	}
	return Decode(b)
}

// Decode decodes a binary PDU that starts with the SMSC address (a zero length octet when
// there is none). The message type indicator chooses SMS-DELIVER, SMS-SUBMIT or
// SMS-STATUS-REPORT. Bytes after the user data are ignored. The returned values share no
// memory with b.
func Decode(b []byte) (PDU, error) {
	r := reader{b: b}
	var p PDU
	smsc, err := r.smsc()
	if err != nil {
		return PDU{}, fmt.Errorf("sms: SMSC address: %w", err)
	}
	p.SMSC = smsc
	first, err := r.byte()
	if err != nil {
		return PDU{}, fmt.Errorf("sms: first octet: %w", err)
	}
	switch first & 0x03 {
	case 0x00:
		p.Deliver, err = decodeDeliver(&r, first)
	case 0x01:
		p.Submit, err = decodeSubmit(&r, first)
	case 0x02:
		p.Report, err = decodeReport(&r, first)
	default:
		err = fmt.Errorf("message type 3: %w", ErrInvalid)
	}
	if err != nil {
		return PDU{}, fmt.Errorf("sms: %w", err)
	}
	return p, nil
}

func decodeDeliver(r *reader, first byte) (*Deliver, error) {
	d := &Deliver{
		MoreMessages:        first&0x04 == 0,
		StatusReportRequest: first&0x20 != 0,
		ReplyPath:           first&0x80 != 0,
	}
	var err error
	if d.From, err = r.address(); err != nil {
		return nil, fmt.Errorf("originating address: %w", err)
	}
	if d.PID, err = r.byte(); err != nil {
		return nil, fmt.Errorf("protocol identifier: %w", err)
	}
	dcs, err := r.byte()
	if err != nil {
		return nil, fmt.Errorf("data coding scheme: %w", err)
	}
	if d.Time, err = r.timestamp(); err != nil {
		return nil, fmt.Errorf("service centre timestamp: %w", err)
	}
	if d.UserData, err = r.userData(dcs, first&0x40 != 0); err != nil {
		return nil, fmt.Errorf("user data: %w", err)
	}
	return d, nil
}

func decodeSubmit(r *reader, first byte) (*Submit, error) {
	s := &Submit{
		RejectDuplicates:    first&0x04 != 0,
		StatusReportRequest: first&0x20 != 0,
		ReplyPath:           first&0x80 != 0,
	}
	var err error
	if s.Ref, err = r.byte(); err != nil {
		return nil, fmt.Errorf("message reference: %w", err)
	}
	if s.To, err = r.address(); err != nil {
		return nil, fmt.Errorf("destination address: %w", err)
	}
	if s.PID, err = r.byte(); err != nil {
		return nil, fmt.Errorf("protocol identifier: %w", err)
	}
	dcs, err := r.byte()
	if err != nil {
		return nil, fmt.Errorf("data coding scheme: %w", err)
	}
	switch (first >> 3) & 0x03 {
	case 0x02: // relative
		vp, err := r.byte()
		if err != nil {
			return nil, fmt.Errorf("validity period: %w", err)
		}
		s.Validity = relativeValidity(vp)
	case 0x01, 0x03: // enhanced, absolute: 7 octets we keep no value of
		if _, err := r.take(7); err != nil {
			return nil, fmt.Errorf("validity period: %w", err)
		}
	}
	if s.UserData, err = r.userData(dcs, first&0x40 != 0); err != nil {
		return nil, fmt.Errorf("user data: %w", err)
	}
	return s, nil
}

func decodeReport(r *reader, first byte) (*StatusReport, error) {
	s := &StatusReport{}
	var err error
	if s.Ref, err = r.byte(); err != nil {
		return nil, fmt.Errorf("message reference: %w", err)
	}
	if s.Recipient, err = r.address(); err != nil {
		return nil, fmt.Errorf("recipient address: %w", err)
	}
	if s.Time, err = r.timestamp(); err != nil {
		return nil, fmt.Errorf("service centre timestamp: %w", err)
	}
	if s.Discharge, err = r.timestamp(); err != nil {
		return nil, fmt.Errorf("discharge time: %w", err)
	}
	if s.Status, err = r.byte(); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	s.Class = -1
	// Optional: TP-PI, then PID, DCS, UDL+UD as it announces. Many modems cut the PDU here.
	pi, err := r.byte()
	if err != nil || pi&0x80 != 0 { // absent, or an extension octet we do not know
		return s, nil
	}
	if pi&0x01 != 0 {
		if _, err := r.byte(); err != nil {
			return s, nil
		}
	}
	var dcs byte
	if pi&0x02 != 0 {
		if dcs, err = r.byte(); err != nil {
			return s, nil
		}
	}
	if pi&0x04 != 0 {
		if s.UserData, err = r.userData(dcs, first&0x40 != 0); err != nil {
			return nil, fmt.Errorf("user data: %w", err)
		}
	}
	return s, nil
}

// relativeValidity decodes TP-VP in relative format (TS 23.040 9.2.3.12.1).
func relativeValidity(vp byte) time.Duration {
	v := time.Duration(vp)
	switch {
	case vp <= 143:
		return (v + 1) * 5 * time.Minute
	case vp <= 167:
		return 12*time.Hour + (v-143)*30*time.Minute
	case vp <= 196:
		return (v - 166) * 24 * time.Hour
	default:
		return (v - 192) * 7 * 24 * time.Hour
	}
}

// reader walks a PDU. Every method fails with ErrShort instead of reading past the end.
type reader struct {
	b   []byte
	off int
}

func (r *reader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

func (r *reader) take(n int) ([]byte, error) {
	if n < 0 || len(r.b)-r.off < n {
		return nil, ErrShort
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

// smsc reads the service centre address: a length in octets (type octet included), then the
// type and the BCD digits.
func (r *reader) smsc() (Address, error) {
	n, err := r.byte()
	if err != nil {
		return Address{}, err
	}
	if n == 0 {
		return Address{}, nil
	}
	if n > 11 {
		return Address{}, fmt.Errorf("length %d: %w", n, ErrInvalid)
	}
	b, err := r.take(int(n))
	if err != nil {
		return Address{}, err
	}
	return Address{Type: b[0], Number: bcdNumber(b[0], b[1:], 2*(int(n)-1))}, nil
}

// address reads a TP address: a length in useful semi-octets, the type, the digits.
func (r *reader) address() (Address, error) {
	n, err := r.byte()
	if err != nil {
		return Address{}, err
	}
	if n > 20 {
		return Address{}, fmt.Errorf("address length %d: %w", n, ErrInvalid)
	}
	typ, err := r.byte()
	if err != nil {
		return Address{}, err
	}
	b, err := r.take((int(n) + 1) / 2)
	if err != nil {
		return Address{}, err
	}
	a := Address{Type: typ}
	if a.Alphanumeric() {
		a.Number = decodeGSM7(trimPadding(unpackSeptets(b, 0, int(n)*4/7), len(b)))
	} else {
		a.Number = bcdNumber(typ, b, int(n))
	}
	return a, nil
}

// trimPadding drops a last septet that is only the zero or CR padding of a whole spare septet
// (7 spare bits at the end of n octets).
func trimPadding(septets []byte, octets int) []byte {
	if k := len(septets); k > 0 && octets*8%7 == 0 && k == octets*8/7 &&
		(septets[k-1] == 0 || septets[k-1] == '\r') {
		return septets[:k-1]
	}
	return septets
}

const bcdDigits = "0123456789*#abc"

// bcdNumber reads n semi-octets, low nibble first, and prefixes "+" for international numbers.
func bcdNumber(typ byte, b []byte, n int) string {
	var s strings.Builder
	if typ&0x70 == 0x10 {
		s.WriteByte('+')
	}
	for i := 0; i < n && i/2 < len(b); i++ {
		d := b[i/2]
		if i%2 == 1 {
			d >>= 4
		}
		d &= 0x0F
		if d == 0x0F { // filler
			break
		}
		s.WriteByte(bcdDigits[d])
	}
	return s.String()
}

// timestamp reads a 7-octet service centre time stamp (TS 23.040 9.2.3.11). Digits that do not
// form a date give the zero time rather than losing the message.
func (r *reader) timestamp() (time.Time, error) {
	b, err := r.take(7)
	if err != nil {
		return time.Time{}, err
	}
	var f [6]int
	for i := range 6 {
		lo, hi := int(b[i]&0x0F), int(b[i]>>4)
		if lo > 9 || hi > 9 {
			return time.Time{}, nil
		}
		f[i] = lo*10 + hi
	}
	tzLo, tzHi := int(b[6]&0x07), int(b[6]>>4)
	if tzHi > 9 {
		return time.Time{}, nil
	}
	quarters := tzLo*10 + tzHi
	if b[6]&0x08 != 0 {
		quarters = -quarters
	}
	year, mon, day, hour, mins, sec := f[0], f[1], f[2], f[3], f[4], f[5]
	if mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || mins > 59 || sec > 59 ||
		quarters > 14*4 || quarters < -12*4 {
		return time.Time{}, nil
	}
	if year < 90 {
		year += 2000
	} else {
		year += 1900
	}
	zone := time.FixedZone("", quarters*15*60)
	t := time.Date(year, time.Month(mon), day, hour, mins, sec, 0, zone)
	if t.Day() != day { // 31 February and the like
		return time.Time{}, nil
	}
	return t, nil
}

// dcsInfo interprets a data coding scheme octet for SMS (TS 23.038 section 4).
func dcsInfo(dcs byte) (a Alphabet, class int, compressed bool) {
	class = -1
	switch {
	case dcs&0xC0 == 0x00 || dcs&0xC0 == 0x40: // general data coding (01: auto-deletion)
		compressed = dcs&0x20 != 0
		if dcs&0x10 != 0 {
			class = int(dcs & 0x03)
		}
		switch (dcs >> 2) & 0x03 {
		case 1:
			a = Data8
		case 2:
			a = UCS2
		default: // 3 is reserved: treat as the default alphabet
			a = GSM7
		}
	case dcs&0xF0 == 0xC0 || dcs&0xF0 == 0xD0: // message waiting, GSM 7-bit
		a = GSM7
	case dcs&0xF0 == 0xE0: // message waiting, UCS2
		a = UCS2
	case dcs&0xF0 == 0xF0: // data coding / message class
		class = int(dcs & 0x03)
		if dcs&0x04 != 0 {
			a = Data8
		}
	default: // reserved coding groups: the default alphabet
		a = GSM7
	}
	return a, class, compressed
}

// userData reads TP-UDL and TP-UD and decodes them according to dcs.
func (r *reader) userData(dcs byte, udhi bool) (UserData, error) {
	ud := UserData{DCS: dcs}
	var compressed bool
	ud.Alphabet, ud.Class, compressed = dcsInfo(dcs)
	udl, err := r.byte()
	if err != nil {
		return ud, fmt.Errorf("length: %w", err)
	}
	var octets int
	if ud.Alphabet == GSM7 && !compressed {
		if udl > 160 {
			return ud, fmt.Errorf("length %d septets: %w", udl, ErrInvalid)
		}
		octets = (int(udl)*7 + 7) / 8
	} else {
		if udl > 140 {
			return ud, fmt.Errorf("length %d octets: %w", udl, ErrInvalid)
		}
		octets = int(udl)
	}
	raw, err := r.take(octets)
	if err != nil {
		return ud, fmt.Errorf("%d octets: %w", octets, err)
	}
	hdrLen := 0
	if udhi {
		if len(raw) == 0 || int(raw[0])+1 > len(raw) {
			return ud, fmt.Errorf("header length: %w", ErrShort)
		}
		hdrLen = int(raw[0]) + 1
		ud.Header, ud.Concat = parseHeader(raw[1:hdrLen])
	}
	ud.Data = append([]byte(nil), raw[hdrLen:]...)
	if compressed {
		ud.Alphabet = Data8 // compressed text (TS 23.042) is kept as data
		return ud, nil
	}
	switch ud.Alphabet {
	case GSM7:
		skip := (hdrLen*8 + 6) / 7 // header septets, fill bits included
		ud.Text = decodeGSM7(unpackSeptets(raw, skip*7, int(udl)-skip))
		ud.Data = nil
	case UCS2:
		ud.Text = decodeUCS2(ud.Data)
	}
	return ud, nil
}

// parseHeader splits a user data header into elements. A malformed element ends the header
// (what came before it is kept); a concatenation element with impossible numbers is ignored,
// as TS 23.040 9.2.3.24.1 asks.
func parseHeader(h []byte) ([]IE, *Concat) {
	var ies []IE
	var concat *Concat
	for len(h) >= 2 {
		id, n := h[0], int(h[1])
		if 2+n > len(h) {
			break
		}
		data := append([]byte(nil), h[2:2+n]...)
		ies = append(ies, IE{ID: id, Data: data})
		h = h[2+n:]
		var c Concat
		switch {
		case id == 0x00 && n == 3:
			c = Concat{Ref: uint16(data[0]), Total: int(data[1]), Seq: int(data[2])}
		case id == 0x08 && n == 4:
			c = Concat{Ref: uint16(data[0])<<8 | uint16(data[1]), Total: int(data[2]), Seq: int(data[3]), Ref16: true}
		default:
			continue
		}
		if c.Total >= 1 && c.Seq >= 1 && c.Seq <= c.Total {
			concat = &c
		}
	}
	return ies, concat
}

// decodeUCS2 decodes UTF-16 big endian; an odd last octet is dropped and unpaired surrogates
// become U+FFFD.
func decodeUCS2(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	return string(utf16.Decode(u))
}
