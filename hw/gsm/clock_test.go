package gsm

import (
	"testing"
	"time"
)

func TestParseCCLK(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: ` "26/11/23,13:01:10+12"`, want: time.Date(2026, 11, 23, 10, 1, 10, 0, time.UTC)},
		{in: `"26/11/23,10:01:10-20"`, want: time.Date(2026, 11, 23, 15, 1, 10, 0, time.UTC)},
		{in: `"26/11/23,10:01:10"`, want: time.Date(2026, 11, 23, 10, 1, 10, 0, time.UTC)},
		{in: `"26/03/29,02:30:00+08,1"`, want: time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)}, // +QLTS with DST flag
		{in: `"04/01/01,00:00:25+00"`, want: time.Date(2004, 1, 1, 0, 0, 25, 0, time.UTC)},
		{in: `"26/13/01,00:00:00+00"`, bad: true},
		{in: `"70/01/01,00:00:00"`, bad: true}, // a modem's unset clock (found by FuzzParseCCLK)
		{in: `"80/01/06,00:00:00+00"`, bad: true},
		{in: `"26/11/23,10:01:10+99"`, bad: true},
		{in: `"26/11/23,10:01:10x4"`, bad: true},
		{in: `"26/11/23"`, bad: true},
		{in: ``, bad: true},
	} {
		got, err := ParseCCLK(tc.in)
		if (err != nil) != tc.bad || (!tc.bad && !got.Equal(tc.want)) {
			t.Errorf("ParseCCLK(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}

func FuzzParseCCLK(f *testing.F) {
	for _, s := range []string{`"26/11/23,13:01:10+12"`, `"04/01/01,00:00:25"`, `"26/03/29,02:30:00+08,1"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCCLK(s)
		if err == nil && (got.Year() < 2000 || got.Year() > 2100) {
			t.Errorf("ParseCCLK(%q) = %v", s, got)
		}
	})
}
