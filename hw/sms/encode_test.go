package sms

import (
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

// decodeParts decodes every part and joins their texts, checking the framing on the way.
func decodeParts(t *testing.T, parts []Part) []*Submit {
	t.Helper()
	var out []*Submit
	for i, p := range parts {
		if p.Seq != i+1 || p.Total != len(parts) {
			t.Fatalf("part %d numbered %d/%d", i, p.Seq, p.Total)
		}
		if p.Length != len(p.PDU)-int(p.PDU[0])-1 {
			t.Fatalf("part %d: Length %d for %d octets with SMSC length %d", i, p.Length, len(p.PDU), p.PDU[0])
		}
		d, err := DecodeHex(p.Hex())
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if d.Submit == nil {
			t.Fatalf("part %d decodes as %+v", i, d)
		}
		out = append(out, d.Submit)
	}
	return out
}

func TestEncodeSingle(t *testing.T) {
	for _, tt := range []struct {
		name, to, text string
		opt            Options
		want           string
	}{
		{
			name: "gsm7", to: "+79161234567", text: "hellohello",
			want: "00 01 00 0B919761214365F7 00 00 0A E8329BFD4697D9EC37",
		},
		{
			name: "ucs2 with status report and one day validity", to: "+79161234567", text: "Привет",
			opt:  Options{StatusReport: true, Validity: 24 * time.Hour, Ref: 7},
			want: "00 31 07 0B919761214365F7 00 08 A7 0C 041F044004380432043504 42",
		},
		{
			name: "national number, extension characters", to: "89161234567", text: "[€]",
			want: "00 01 00 0B819861214365F7 00 00 06 1BDEA6BCF101",
		},
		{
			name: "own service centre", to: "+79161234567", text: "hi", opt: Options{SMSC: "+79037011111"},
			want: "07919730071111F1 01 00 0B919761214365F7 00 00 02 E834",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Encode(tt.to, tt.text, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.want, " ", "")
			if len(parts) != 1 || parts[0].Hex() != want {
				t.Fatalf("got %d parts, first %s, want %s", len(parts), parts[0].Hex(), want)
			}
			s := decodeParts(t, parts)[0]
			if s.Text != tt.text || s.To.Number != tt.to || s.StatusReportRequest != tt.opt.StatusReport ||
				s.Validity != tt.opt.Validity || s.Ref != tt.opt.Ref {
				t.Fatalf("decoded back as %+v", s)
			}
		})
	}
}

func TestEncodeMultipart(t *testing.T) {
	cyr := strings.Repeat("Здравствуйте, это автоответчик нашей компании. ", 4) // 188 characters
	emoji := strings.Repeat("a", 66) + "😀" + strings.Repeat("b", 10)
	esc := strings.Repeat("a", 152) + "€" + strings.Repeat("b", 10)
	for _, tt := range []struct {
		name, text string
		alpha      Alphabet
		sizes      []int // characters (GSM7: septets; UCS2: UTF-16 units) per part
	}{
		{"gsm7 exactly 160", strings.Repeat("x", 160), GSM7, []int{160}},
		{"gsm7 161 splits 153+8", strings.Repeat("x", 161), GSM7, []int{153, 8}},
		{"escape never split", esc, GSM7, []int{152, 12}},
		{"ucs2 exactly 70", strings.Repeat("я", 70), UCS2, []int{70}},
		{"cyrillic 188 splits 67+67+54", cyr, UCS2, []int{67, 67, 54}},
		{"surrogate pair never split", emoji, UCS2, []int{66, 12}},
		{"markup passes unchanged", strings.Repeat(`<b>"Tom" & <i>Jerry</i></b> `, 7), GSM7, []int{153, 43}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Encode("+79161234567", tt.text, Options{ConcatRef: 0x42, Ref: 0xFF})
			if err != nil {
				t.Fatal(err)
			}
			subs := decodeParts(t, parts)
			if len(subs) != len(tt.sizes) {
				t.Fatalf("%d parts, want %d", len(subs), len(tt.sizes))
			}
			var joined strings.Builder
			for i, s := range subs {
				if s.Alphabet != tt.alpha {
					t.Errorf("part %d alphabet %v", i, s.Alphabet)
				}
				if s.Ref != byte(0xFF+i) {
					t.Errorf("part %d TP-MR %d", i, s.Ref)
				}
				n := len(utf16.Encode([]rune(s.Text)))
				if tt.alpha == GSM7 {
					sept, _ := encodeGSM7(s.Text)
					n = len(sept)
				}
				if n != tt.sizes[i] {
					t.Errorf("part %d holds %d, want %d", i, n, tt.sizes[i])
				}
				if len(subs) > 1 {
					want := Concat{Ref: 0x42, Total: len(subs), Seq: i + 1}
					if s.Concat == nil || *s.Concat != want {
						t.Errorf("part %d concat %+v, want %+v", i, s.Concat, want)
					}
				} else if s.Concat != nil {
					t.Errorf("single part has concat %+v", *s.Concat)
				}
				joined.WriteString(s.Text)
			}
			if joined.String() != tt.text {
				t.Fatalf("joined text differs:\n%q\n%q", joined.String(), tt.text)
			}
		})
	}
}

// TestEncodeConcatLayout checks the octets of a concatenated GSM7 part by hand: the header
// 05 00 03 ref total seq, then one fill bit before the first septet.
func TestEncodeConcatLayout(t *testing.T) {
	parts, err := Encode("+79161234567", "hi"+strings.Repeat("x", 160), Options{ConcatRef: 0xAA})
	if err != nil {
		t.Fatal(err)
	}
	h := parts[0].Hex()
	// first octet 41, MR 00, DA, PID 00, DCS 00, UDL 160 (0xA0), header, 'h'<<1 = D0, 'i' = 69 | 'x'<<7 ...
	prefix := "0041000B919761214365F70000A0050003AA0201D069"
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("part 1 = %s\nwant prefix %s", h, prefix)
	}
}

func TestEncodeErrors(t *testing.T) {
	for _, tt := range []struct{ name, to, text string }{
		{"empty number", "", "x"},
		{"letters in number", "+7916abc", "x"},
		{"too many digits", "+" + strings.Repeat("1", 21), "x"},
		{"too many parts", "+79161234567", strings.Repeat("я", 67*255+1)},
	} {
		if _, err := Encode(tt.to, tt.text, Options{}); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := Encode("+79161234567", "x", Options{SMSC: "bad"}); err == nil {
		t.Errorf("bad SMSC: no error")
	}
	if parts, err := Encode("+79161234567", strings.Repeat("я", 67*255), Options{}); err != nil || len(parts) != 255 {
		t.Errorf("255 parts: %d, %v", len(parts), err)
	}
}

func TestValidity(t *testing.T) {
	for _, tt := range []struct {
		in   time.Duration
		vp   byte
		back time.Duration
	}{
		{time.Minute, 0, 5 * time.Minute},
		{time.Hour, 11, time.Hour},
		{12 * time.Hour, 143, 12 * time.Hour},
		{13 * time.Hour, 145, 13 * time.Hour},
		{24 * time.Hour, 167, 24 * time.Hour},
		{3 * 24 * time.Hour, 169, 3 * 24 * time.Hour},
		{30 * 24 * time.Hour, 196, 30 * 24 * time.Hour},
		{31 * 24 * time.Hour, 197, 5 * 7 * 24 * time.Hour},
		{63 * 7 * 24 * time.Hour, 255, 63 * 7 * 24 * time.Hour},
		{1000 * 24 * time.Hour, 255, 63 * 7 * 24 * time.Hour},
	} {
		vp := relativeVP(tt.in)
		if vp != tt.vp || relativeValidity(vp) != tt.back {
			t.Errorf("%v: vp %d (%v), want %d (%v)", tt.in, vp, relativeValidity(vp), tt.vp, tt.back)
		}
	}
}

func TestEncodeDeliver(t *testing.T) {
	at := time.Date(2024, 3, 15, 12, 30, 45, 0, time.FixedZone("", 3*3600))
	parts, err := EncodeDeliver("MegaFon", "Привет", at, Options{SMSC: "+79037011111"})
	if err != nil {
		t.Fatal(err)
	}
	want := "07919730071111F1040DD0CDF2396C7CBB01000842305121035421" + "0C041F0440043804320435" + "0442"
	if len(parts) != 1 || parts[0].Hex() != want {
		t.Fatalf("got %s\nwant %s", parts[0].Hex(), want)
	}
	if _, err := EncodeDeliver("A very long sender", "x", at, Options{}); err == nil {
		t.Fatal("12-character sender: no error")
	}
}
