package sms

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex in test: %v", err)
	}
	return b
}

// TestPackSeptets checks the packing against values worked out by hand from TS 23.038 6.1.2.1.1.
func TestPackSeptets(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		fill       int
		want       string
	}{
		{"hellohello", "hellohello", 0, "E8329BFD4697D9EC37"},
		{"ussd request", "*100#", 0, "AA180C3602"},
		{"sender name", "MegaFon", 0, "CDF2396C7CBB01"},
		{"euro via escape", "€", 0, "9B32"},
		{"one fill bit after 8-bit concat header", "hi", 1, "D069"},
		{"five fill bits after 9-octet header", "hi", 5, "009D06"},
		{"eight septets fill seven octets", "12345678", 0, "31D98C56B3DD70"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sept, ok := encodeGSM7(tt.text)
			if !ok {
				t.Fatalf("encodeGSM7(%q) not ok", tt.text)
			}
			got := strings.ToUpper(hex.EncodeToString(packSeptets(nil, sept, tt.fill)))
			if got != tt.want {
				t.Fatalf("packed %q = %s, want %s", tt.text, got, tt.want)
			}
			back := decodeGSM7(unpackSeptets(mustHex(t, tt.want), tt.fill, len(sept)))
			if back != tt.text {
				t.Fatalf("unpacked %q, want %q", back, tt.text)
			}
		})
	}
}

func TestGSM7Tables(t *testing.T) {
	all := "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	sept, ok := encodeGSM7(all)
	if !ok || len(sept) != 127 {
		t.Fatalf("default alphabet: ok=%v, %d septets, want 127", ok, len(sept))
	}
	for i, s := range sept {
		want := byte(i)
		if i >= esc {
			want++ // the table skips the escape
		}
		if s != want {
			t.Fatalf("character %d encodes as %#x, want %#x", i, s, want)
		}
	}
	ext := map[string]string{"\f": "1B0A", "^": "1B14", "{": "1B28", "}": "1B29", "\\": "1B2F",
		"[": "1B3C", "~": "1B3D", "]": "1B3E", "|": "1B40", "€": "1B65"}
	for r, want := range ext {
		sept, ok := encodeGSM7(r)
		if !ok || strings.ToUpper(hex.EncodeToString(sept)) != want {
			t.Errorf("%q encodes as %X (ok=%v), want %s", r, sept, ok, want)
		}
	}
	for _, s := range []string{"Привет", "😀", "`", "ç"} {
		if IsGSM7(s) {
			t.Errorf("IsGSM7(%q) = true", s)
		}
	}
	// An escape before a code the extension table lacks shows the default character; a
	// double escape and a trailing escape show a space.
	if got := decodeGSM7([]byte{esc, 'A', esc, esc, 'x', esc}); got != "A x " {
		t.Fatalf("unknown escapes decode as %q", got)
	}
}

func TestDecodeDeliver(t *testing.T) {
	msk := time.FixedZone("", 3*3600)
	for _, tt := range []struct {
		name     string
		pdu      string
		smsc     string
		from     string
		fromType byte
		alpha    Alphabet
		text     string
		at       time.Time
		concat   *Concat
	}{
		{
			// The classic published example: SMSC +27381000015, "hellohello".
			name: "gsm7 hellohello",
			pdu:  "07917283010010F5 04 0BC87238880900F1 00 00 99309251619580 0A E8329BFD4697D9EC37",
			smsc: "+27381000015", from: "27838890001", fromType: 0xC8, alpha: GSM7,
			text: "hellohello", at: time.Date(1999, 3, 29, 15, 16, 59, 0, time.FixedZone("", 2*3600)),
		},
		{
			name: "alphanumeric sender, UCS2 Cyrillic",
			pdu:  "07919730071111F1 04 0DD0CDF2396C7CBB01 00 08 42305121035421 0C 041F 0440 0438 0432 0435 0442",
			smsc: "+79037011111", from: "MegaFon", fromType: 0xD0, alpha: UCS2,
			text: "Привет", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
		},
		{
			name: "alphanumeric sender with a whole padding septet",
			pdu:  "00 04 0ED0CDF2396C7CBB01 00 00 42305121035421 02 E834",
			from: "MegaFon", fromType: 0xD0, alpha: GSM7, text: "hi", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
		},
		{
			name: "negative time zone, national number",
			pdu:  "00 04 0AA19161234567 00 00 42305121035429 02 E834",
			from: "1916325476", fromType: 0xA1, alpha: GSM7, text: "hi",
			at: time.Date(2024, 3, 15, 12, 30, 45, 0, time.FixedZone("", -3*3600)),
		},
		{
			name: "gsm7 extension characters",
			pdu:  "00 04 0B919761214365F7 00 00 42305121035421 02 9B32",
			from: "+79161234567", fromType: 0x91, alpha: GSM7, text: "€", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
		},
		{
			name: "gsm7 behind 8-bit concat header, one fill bit",
			pdu:  "00 44 0B919761214365F7 00 00 42305121035421 09 050003AA0201 D069",
			from: "+79161234567", fromType: 0x91, alpha: GSM7, text: "hi", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
			concat: &Concat{Ref: 0xAA, Total: 2, Seq: 1},
		},
		{
			name: "gsm7 behind 16-bit concat header, no fill",
			pdu:  "00 44 0B919761214365F7 00 00 42305121035421 0A 06080400010201 E834",
			from: "+79161234567", fromType: 0x91, alpha: GSM7, text: "hi", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
			concat: &Concat{Ref: 1, Total: 2, Seq: 1, Ref16: true},
		},
		{
			name: "national language shift element is skipped",
			pdu:  "00 44 0B919761214365F7 00 00 42305121035421 0D 080003AA0201250101 009D06",
			from: "+79161234567", fromType: 0x91, alpha: GSM7, text: "hi", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
			concat: &Concat{Ref: 0xAA, Total: 2, Seq: 1},
		},
		{
			name: "ucs2 behind 16-bit concat header",
			pdu:  "00 44 0B919761214365F7 00 08 42305121035421 0B 060804123402010417 0434",
			from: "+79161234567", fromType: 0x91, alpha: UCS2, text: "Зд", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
			concat: &Concat{Ref: 0x1234, Total: 2, Seq: 1, Ref16: true},
		},
		{
			name: "ucs2 surrogate pair",
			pdu:  "00 04 0B919761214365F7 00 08 42305121035421 06 0048D83DDE00",
			from: "+79161234567", fromType: 0x91, alpha: UCS2, text: "H😀", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
		},
		{
			name: "impossible concat numbers are ignored",
			pdu:  "00 44 0B919761214365F7 00 08 42305121035421 08 050003AA02030041",
			from: "+79161234567", fromType: 0x91, alpha: UCS2, text: "A", at: time.Date(2024, 3, 15, 12, 30, 45, 0, msk),
		},
		{
			name: "invalid timestamp keeps the message",
			pdu:  "00 04 0B919761214365F7 00 00 FF305121035421 02 E834",
			from: "+79161234567", fromType: 0x91, alpha: GSM7, text: "hi",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode(mustHex(t, tt.pdu))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			d := p.Deliver
			if d == nil || p.Submit != nil || p.Report != nil {
				t.Fatalf("want a Deliver only, got %+v", p)
			}
			if p.SMSC.Number != tt.smsc {
				t.Errorf("SMSC %q, want %q", p.SMSC.Number, tt.smsc)
			}
			if d.From.Number != tt.from || d.From.Type != tt.fromType {
				t.Errorf("From %q/%#x, want %q/%#x", d.From.Number, d.From.Type, tt.from, tt.fromType)
			}
			if d.Alphabet != tt.alpha || d.Text != tt.text {
				t.Errorf("%v %q, want %v %q", d.Alphabet, d.Text, tt.alpha, tt.text)
			}
			if !d.Time.Equal(tt.at) || d.Time.String() != tt.at.String() {
				t.Errorf("time %v, want %v", d.Time, tt.at)
			}
			switch {
			case tt.concat == nil && d.Concat != nil:
				t.Errorf("concat %+v, want none", *d.Concat)
			case tt.concat != nil && (d.Concat == nil || *d.Concat != *tt.concat):
				t.Errorf("concat %+v, want %+v", d.Concat, *tt.concat)
			}
		})
	}
}

func TestDecodeStatusReport(t *testing.T) {
	pdu := "07919730071111F1 06 2A 0B919761214365F7 42305121035421 42305121045421 00"
	p, err := Decode(mustHex(t, pdu))
	if err != nil {
		t.Fatal(err)
	}
	r := p.Report
	if r == nil {
		t.Fatalf("want a report, got %+v", p)
	}
	msk := time.FixedZone("", 3*3600)
	if r.Ref != 0x2A || r.Recipient.Number != "+79161234567" || r.Status != 0 ||
		!r.Time.Equal(time.Date(2024, 3, 15, 12, 30, 45, 0, msk)) ||
		!r.Discharge.Equal(time.Date(2024, 3, 15, 12, 40, 45, 0, msk)) {
		t.Fatalf("report %+v", r)
	}
	if !r.Delivered() || r.Pending() || r.Failed() {
		t.Fatalf("status 0: delivered %v pending %v failed %v", r.Delivered(), r.Pending(), r.Failed())
	}
	for _, tt := range []struct {
		st                         byte
		delivered, pending, failed bool
	}{{0x00, true, false, false}, {0x21, false, true, false}, {0x41, false, false, true}, {0x62, false, false, true}} {
		r := StatusReport{Status: tt.st}
		if r.Delivered() != tt.delivered || r.Pending() != tt.pending || r.Failed() != tt.failed {
			t.Errorf("status %#x: %v %v %v", tt.st, r.Delivered(), r.Pending(), r.Failed())
		}
	}
	// The simulator's encoder gives the same octets.
	enc, err := EncodeStatusReport(*r, "+79037011111")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(enc, mustHex(t, pdu)) {
		t.Fatalf("EncodeStatusReport = %X, want %s", enc, pdu)
	}
	// Optional parameters: PID and DCS and user data ("ok").
	p, err = Decode(mustHex(t, pdu+" 07 00 00 02 EF35"))
	if err != nil || p.Report.Text != "ok" {
		t.Fatalf("report with user data: %+v, %v", p.Report, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	good := "00 04 0B919761214365F7 00 00 42305121035421 02 E834"
	if _, err := Decode(mustHex(t, good)); err != nil {
		t.Fatalf("good PDU: %v", err)
	}
	b := mustHex(t, good)
	for n := range len(b) - 1 { // every truncation fails cleanly
		if _, err := Decode(b[:n]); !errors.Is(err, ErrShort) {
			t.Errorf("truncated to %d octets: %v, want ErrShort", n, err)
		}
	}
	for _, tt := range []struct{ name, pdu string }{
		{"message type 3", "00 03"},
		{"smsc too long", "0C 91"},
		{"address too long", "00 04 1591"},
		{"gsm7 length over 160", "00 04 0B919761214365F7 00 00 42305121035421 A1"},
		{"ucs2 length over 140", "00 04 0B919761214365F7 00 08 42305121035421 8D"},
	} {
		if _, err := Decode(mustHex(t, tt.pdu)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, err := DecodeHex("zz"); !errors.Is(err, ErrInvalid) {
		t.Errorf("non-hex: %v", err)
	}
	if _, err := DecodeHex("00 44 0B919761214365F7 00 00 42305121035421 02 0A"); err == nil {
		t.Errorf("header length past user data: no error")
	}
}

func TestDCS(t *testing.T) {
	for _, tt := range []struct {
		dcs   byte
		alpha Alphabet
		class int
	}{
		{0x00, GSM7, -1}, {0x04, Data8, -1}, {0x08, UCS2, -1}, {0x0C, GSM7, -1},
		{0x10, GSM7, 0}, {0x18, UCS2, 0}, {0x11, GSM7, 1}, {0x48, UCS2, -1},
		{0xC0, GSM7, -1}, {0xD1, GSM7, -1}, {0xE0, UCS2, -1}, {0xF0, GSM7, 0}, {0xF6, Data8, 2},
		{0x80, GSM7, -1},
	} {
		a, c, _ := dcsInfo(tt.dcs)
		if a != tt.alpha || c != tt.class {
			t.Errorf("DCS %#x: %v class %d, want %v class %d", tt.dcs, a, c, tt.alpha, tt.class)
		}
	}
}

func TestDecodeSubmitValidityFormats(t *testing.T) {
	for _, tt := range []struct {
		name, pdu string
		validity  time.Duration
	}{
		{"none", "00 01 05 0B919761214365F7 00 00 02 E834", 0},
		{"relative", "00 11 05 0B919761214365F7 00 00 A7 02 E834", 24 * time.Hour},
		{"absolute is skipped", "00 19 05 0B919761214365F7 00 00 42305121035421 02 E834", 0},
		{"enhanced is skipped", "00 09 05 0B919761214365F7 00 00 01000000000000 02 E834", 0},
	} {
		p, err := Decode(mustHex(t, tt.pdu))
		if err != nil || p.Submit == nil {
			t.Fatalf("%s: %+v %v", tt.name, p, err)
		}
		s := p.Submit
		if s.Text != "hi" || s.Validity != tt.validity || s.Ref != 5 || !s.To.International() || s.To.Alphanumeric() || s.To.String() != "+79161234567" {
			t.Errorf("%s: %+v", tt.name, s)
		}
	}
}

func TestAlphabetString(t *testing.T) {
	for a, want := range map[Alphabet]string{GSM7: "gsm7", Data8: "8bit", UCS2: "ucs2", 7: "alphabet(7)"} {
		if a.String() != want {
			t.Errorf("%d: %q", a, a.String())
		}
	}
}
