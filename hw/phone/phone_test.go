package phone

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tt := range []struct {
		raw, region, want string
		ok                bool
	}{
		{"8 916 123-45-67", "", "+79161234567", true},
		{"+7 (916) 123 45 67", "", "+79161234567", true},
		{"89161234567", "RU", "+79161234567", true},
		{"9161234567", "RU", "+79161234567", true},
		{"  +79161234567\t", "ru", "+79161234567", true},
		{"8 (495) 123-45-67", "RU", "+74951234567", true},
		{"8-10-44-20-7946-0958", "RU", "+442079460958", true}, // Russian international prefix 810
		{"+44 20 7946 0958", "RU", "+442079460958", true},
		{"020 7946 0958", "GB", "+442079460958", true},
		{"+7 000 123-45-67", "RU", "", false}, // no such range
		{"(212) 736-5000", "US", "+12127365000", true},
		{"123-45-67", "RU", "", false}, // a local number without its area code
		{"900", "RU", "", false},       // short code
		{"MegaFon", "RU", "", false},
		{"<b>+79161234567</b>", "RU", "", false},
		{"+79161234567 ext. 5", "RU", "", false},
		{"+7916123456<script>", "RU", "", false},
		{strings.Repeat("9", 200), "RU", "", false},
		{"", "RU", "", false},
		{"+", "RU", "", false},
		{"++79161234567", "RU", "", false},
		{"7+9161234567", "RU", "", false},
		{"9161234567", "XX", "", false}, // unknown region, no country code
		{"+79161234567", "XX", "+79161234567", true},
	} {
		got, ok := Normalize(tt.raw, tt.region)
		if got != tt.want || ok != tt.ok {
			t.Errorf("Normalize(%q, %q) = %q, %v; want %q, %v", tt.raw, tt.region, got, ok, tt.want, tt.ok)
		}
	}
}

func TestFormat(t *testing.T) {
	for _, tt := range []struct{ in, region, want string }{
		{"+79161234567", "RU", "8 (916) 123-45-67"},
		{"+79161234567", "", "8 (916) 123-45-67"},
		{"+79161234567", "GB", "+7 916 123-45-67"},
		{"+442079460958", "RU", "+44 20 7946 0958"},
		{"+442079460958", "GB", "020 7946 0958"},
		{"+12127365000", "US", "(212) 736-5000"},
		{"MegaFon", "RU", "MegaFon"},
		{"", "RU", ""},
		{"89161234567", "RU", "89161234567"}, // not E.164: shown as it is
	} {
		if got := Format(tt.in, tt.region); got != tt.want {
			t.Errorf("Format(%q, %q) = %q, want %q", tt.in, tt.region, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"8 916 123-45-67", "+7 (916) 123 45 67", "<b>1</b>", "+44 20 7946 0958", "8-10-1-212-736-5000", "０１２"} {
		f.Add(s, "RU")
	}
	f.Add("2127365000", "US")
	f.Fuzz(func(t *testing.T, raw, region string) {
		got, ok := Normalize(raw, region)
		if ok != e164.MatchString(got) || (!ok && got != "") {
			t.Fatalf("Normalize(%q, %q) = %q, %v", raw, region, got, ok)
		}
		if ok {
			// Normalising is idempotent, and Format gives something that normalises back.
			if again, ok2 := Normalize(got, region); !ok2 || again != got {
				t.Fatalf("Normalize(%q) = %q, %v", got, again, ok2)
			}
			_ = Format(got, region)
		}
	})
}

func BenchmarkNormalize(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Normalize("8 916 123-45-67", "RU"); !ok {
			b.Fatal("not ok")
		}
	}
}
