package sms

import (
	"strings"
	"testing"
)

func BenchmarkDecodeGSM7(b *testing.B) {
	pdu := mustHex(b, seedPDUs[0])
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeUCS2Part(b *testing.B) {
	parts, err := Encode("+79161234567", strings.Repeat("Здравствуйте ", 12), Options{})
	if err != nil {
		b.Fatal(err)
	}
	pdu := parts[0].PDU
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(pdu); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeGSM7(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode("+79161234567", "Your call is important to us. We will call you back.", Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeUCS2Multipart(b *testing.B) {
	text := strings.Repeat("Здравствуйте ", 40)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode("+79161234567", text, Options{ConcatRef: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseCUSD(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseCUSD(`+CUSD: 0,"CF2135487D2E4130572D0682BB1A",0`); err != nil {
			b.Fatal(err)
		}
	}
}
