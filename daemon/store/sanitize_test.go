package store

import (
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSanitizeNumber(t *testing.T) {
	digits200 := strings.Repeat("1234567890", 20)
	tests := []struct {
		name, raw, number, display string
	}{
		{"international with formatting", "+7 (916) 123-45-67", "+79161234567", "+7 (916) 123-45-67"},
		{"plain E.164", "+4930123456", "+4930123456", "+4930123456"},
		{"national", "8 916 123 45 67", "89161234567", "8 916 123 45 67"},
		{"dots and slashes", "030/123.456", "030123456", "030/123.456"},
		{"surrounding spaces", "  +441632960123 ", "+441632960123", "+441632960123"},
		{"markup", "<script>alert(1)</script>", "", "<script>alert(1)</script>"},
		{"withheld", "withheld", "", "withheld"},
		{"empty", "", "", ""},
		{"only spaces", "   ", "", ""},
		{"lone plus", "+", "", "+"},
		{"plus in the middle", "7+916", "", "7+916"},
		{"two plus", "++7916", "", "++7916"},
		{"letters", "+7916abc", "", "+7916abc"},
		{"service code", "*100#", "", "*100#"},
		{"20 digits", "+" + digits200[:20], "+" + digits200[:20], "+" + digits200[:20]},
		{"21 digits", digits200[:21], "", digits200[:21]},
		{"200 digits", digits200, "", digits200[:63] + "…"},
		{"control bytes", "+7916\x00123\x1b[2J", "", "+7916123[2J"},
		{"newline inside", "+7916\n1234567", "+79161234567", "+79161234567"},
		{"invalid UTF-8", "+7916\xff\xfe", "", "+7916\uFFFD\uFFFD"},
		{"bidi override", "\u202e+7916", "", "+7916"},
		{"arabic-indic digits", "٠١٢٣", "", "٠١٢٣"},
		{"long unicode", strings.Repeat("ж", 100), "", strings.Repeat("ж", 63) + "…"},
		{"exactly 64 runes", strings.Repeat("я", 64), "", strings.Repeat("я", 64)},
		{"64 runes and trailing spaces", strings.Repeat("я", 64) + "   ", "", strings.Repeat("я", 64)},
		{"cut before a space", strings.Repeat("a", 62) + " bcd", "", strings.Repeat("a", 62) + "…"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			number, display := SanitizeNumber(tt.raw)
			if number != tt.number {
				t.Errorf("number = %q, want %q", number, tt.number)
			}
			if display != tt.display {
				t.Errorf("display = %q, want %q", display, tt.display)
			}
		})
	}
}

var numberRE = regexp.MustCompile(`^\+?[0-9]{0,20}$`)

func FuzzSanitizeNumber(f *testing.F) {
	for _, s := range []string{
		"+7 (916) 123-45-67", "<script>alert(1)</script>", "", "withheld",
		strings.Repeat("9", 200), "\xff\xfe\x00", "\u202e+1", "  +  ", "+" + strings.Repeat("ж ", 40),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		number, display := SanitizeNumber(raw)
		if !numberRE.MatchString(number) {
			t.Errorf("number %q does not match %v", number, numberRE)
		}
		if !utf8.ValidString(display) {
			t.Errorf("display %q is not valid UTF-8", display)
		}
		if n := utf8.RuneCountInString(display); n > MaxDisplayRunes+1 {
			t.Errorf("display has %d runes", n)
		}
		for _, r := range display {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Errorf("display %q holds control character %U", display, r)
			}
		}
		if strings.TrimSpace(display) != display {
			t.Errorf("display %q is not trimmed", display)
		}
		// The number's digits all come from the input, in order.
		digits := strings.TrimPrefix(number, "+")
		var in strings.Builder
		for _, r := range raw {
			if r >= '0' && r <= '9' {
				in.WriteRune(r)
			}
		}
		if number != "" && in.String() != digits {
			t.Errorf("number %q from %q lost or invented digits", number, raw)
		}
		// Sanitising the display again changes nothing, and an uncut display of a number
		// still reads as that number.
		n2, d2 := SanitizeNumber(display)
		if d2 != display {
			t.Errorf("second pass changed display %q into %q", display, d2)
		}
		if number != "" && !strings.HasSuffix(display, "…") && n2 != number {
			t.Errorf("display %q of number %q reads as %q", display, number, n2)
		}
	})
}

func TestCleanText(t *testing.T) {
	tests := []struct {
		in   string
		max  int
		want string
	}{
		{"hello", 10, "hello"},
		{"line\r\nbreak", 20, "linebreak"},
		{"\tx\t", 5, "x"},
		{"abcdef", 4, "abc…"},
		{"ab  cdef", 4, "ab…"},
		{"a\u2028b", 5, "ab"},
		{"\xc3", 5, "\uFFFD"},
		{"\ufeffBOM", 5, "BOM"},
	}
	for _, tt := range tests {
		if got := cleanText(tt.in, tt.max); got != tt.want {
			t.Errorf("cleanText(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func BenchmarkSanitizeNumber(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		SanitizeNumber("+7 (916) 123-45-67")
	}
}
