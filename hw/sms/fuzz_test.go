package sms

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var seedPDUs = []string{
	"07917283010010F5040BC87238880900F10000993092516195800AE8329BFD4697D9EC37",
	"07919730071111F1040DD0CDF2396C7CBB0100084230512103542112041F0440043804320435044200",
	"00440B919761214365F70000423051210354210D080003AA0201250101009D06",
	"00440B919761214365F700084230512103542111060804123402010417043404400430",
	"07919730071111F1062A0B919761214365F7423051210354214230512104542100070000" + "02EF35",
	"0031070B919761214365F70008A70C041F0440043804320435" + "0442",
	"00",
}

// FuzzDecode checks that Decode never panics, and that whatever it accepts stays within the
// sizes the format allows.
func FuzzDecode(f *testing.F) {
	for _, s := range seedPDUs {
		f.Add(mustHex(f, s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Decode(b)
		if err != nil {
			return
		}
		n := 0
		var ud *UserData
		if p.Deliver != nil {
			n++
			ud = &p.Deliver.UserData
		}
		if p.Submit != nil {
			n++
			ud = &p.Submit.UserData
		}
		if p.Report != nil {
			n++
			ud = &p.Report.UserData
		}
		if n != 1 {
			t.Fatalf("%d message kinds set", n)
		}
		// 160 septets, each at most an escape pair's rune (3 bytes for €) — or 70 UCS2 units.
		if len(ud.Text) > 160*3 || len(ud.Data) > 140 || !utf8.ValidString(ud.Text) {
			t.Fatalf("text of %d bytes, data of %d", len(ud.Text), len(ud.Data))
		}
		if c := ud.Concat; c != nil && (c.Seq < 1 || c.Seq > c.Total) {
			t.Fatalf("concat %+v", *c)
		}
	})
}

// FuzzParseCUSD checks that ParseCUSD never panics and gives valid UTF-8 for valid input.
func FuzzParseCUSD(f *testing.F) {
	for _, s := range []string{
		`+CUSD: 0,"CF2135487D2E4130572D0682BB1A",0`, `+CUSD: 5`, `+CUSD: 0,"100,00 EURO, valid till 01.01.2010, …",15`,
		`+CUSD: 0,"04110430043B0430043D0441",72`, `+CUSD: 0,"D2370048",17`, `+CUSD: 0,"6577035D66B3DF",16`,
		`+CUSD: 1,"AA180C3602",15`, `+CUSD: 0,abc,15`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		u, err := ParseCUSD(line)
		if err != nil {
			return
		}
		if len(u.Text) > 2*maxCUSD {
			t.Fatalf("text of %d bytes from a line of %d", len(u.Text), len(line))
		}
		if utf8.ValidString(line) && !utf8.ValidString(u.Text) {
			t.Fatalf("invalid UTF-8 %q from %q", u.Text, line)
		}
	})
}

// FuzzEncodeDecode checks that every text Encode accepts comes back unchanged from its parts.
func FuzzEncodeDecode(f *testing.F) {
	for _, s := range []string{"hellohello", "Привет 😀", "[€]{}~^|\\", strings.Repeat("Здравствуйте ", 12), "", "<b>&</b>"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, text string, ucs2 bool) {
		if !utf8.ValidString(text) || len(text) > 4000 {
			return
		}
		// Encoding is lossless for valid UTF-8 except unpaired surrogates, which Go strings
		// cannot hold anyway.
		parts, err := Encode("+79161234567", text, Options{UCS2: ucs2, ConcatRef: 1})
		if err != nil {
			t.Fatalf("Encode: %v", err)
		}
		r := NewReassembler(time.Hour, 1, func() time.Time { return time.Time{} })
		var got []Text
		for i := len(parts) - 1; i >= 0; i-- { // backwards, to exercise the reassembler too
			p, err := Decode(parts[i].PDU)
			if err != nil || p.Submit == nil {
				t.Fatalf("Decode part %d: %v", i, err)
			}
			got = append(got, r.Add(&Deliver{From: p.Submit.To, UserData: p.Submit.UserData})...)
		}
		if len(got) != 1 || !got[0].Complete() || got[0].Text != strings.ToValidUTF8(text, "\uFFFD") {
			t.Fatalf("round trip of %q gave %+v", text, got)
		}
	})
}
