package gsm

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"hotline/hw"
)

func TestSplitFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{``, nil},
		{` `, nil},
		{`1`, []string{`1`}},
		{` 1 , 2 `, []string{`1`, `2`}},
		{`1,2,`, []string{`1`, `2`, ``}},
		{`,`, []string{``, ``}},
		{`"a,b",3`, []string{`"a,b"`, `3`}},
		{`"a"b",3`, []string{`"a"b"`, `3`}},
		{`"a" ,3`, []string{`"a"`, `3`}},
		{`"unterminated,3`, []string{`"unterminated,3`}},
		{`"",128,,,,1`, []string{`""`, `128`, ``, ``, ``, `1`}},
		{`"ccinfo",1,1,-1,0,0,"+7916",145`, []string{`"ccinfo"`, `1`, `1`, `-1`, `0`, `0`, `"+7916"`, `145`}},
	}
	for _, tt := range tests {
		if got := splitFields(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("splitFields(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseCLIP(t *testing.T) {
	tests := []struct {
		line     string
		ok       bool
		number   string
		validity int
	}{
		{`+CLIP: "+79161234567",145,,,,0`, true, "+79161234567", 0},
		{`+CLIP: "+44XXXXXXXXXX",145,"",0,"",0`, true, "+44XXXXXXXXXX", 0},
		{`+CLIP: "",128,,,,1`, true, "", 1},
		{`+CLIP: "",128,,,,2`, true, "", 2},
		{`+CLIP: "5551234",129`, true, "5551234", -1},
		{`+clip: "5551234",129`, true, "5551234", -1},
		{`+CLIP: "caf` + "\xe9" + `",129`, true, "caf\uFFFD", -1},
		{`+CLIP:`, true, "", -1},
		{`+CLCC: 1,1,4,0,0,"1",129`, false, "", 0},
		{`RING`, false, "", 0},
	}
	for _, tt := range tests {
		c, ok := parseCLIP(tt.line)
		if ok != tt.ok || (ok && (c.number != tt.number || c.validity != tt.validity)) {
			t.Errorf("parseCLIP(%q) = %+v, %v; want %q validity %d, %v", tt.line, c, ok, tt.number, tt.validity, tt.ok)
		}
	}
}

func TestParseCCInfo(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want callInfo
	}{
		{`+QIND: "ccinfo",1,1,4,0,0,"+79161234567",145`, true, callInfo{1, 1, 4, "+79161234567"}},
		{`+QIND: "ccinfo",2,0,3,0,0,"XXXXXXXXX",129`, true, callInfo{2, 0, 3, "XXXXXXXXX"}},
		{`+QIND: "ccinfo",2,1,-1,0,0,"+48XXXXXXXXX",145`, true, callInfo{2, 1, -1, "+48XXXXXXXXX"}},
		{`+QIND: "ccinfo",1,1,4,0,0,"",128,"Alice, Inc"`, true, callInfo{1, 1, 4, ""}},
		{`+QIND: "ccinfo",1,1,0`, true, callInfo{1, 1, 0, ""}},
		{`+QIND: "ccinfo",1,1`, false, callInfo{}},
		{`+QIND: "ccinfo",x,1,4,0,0,"1",129`, false, callInfo{}},
		{`+QIND: "csq",20,99`, false, callInfo{}},
		{`+QIND: "act","LTE"`, false, callInfo{}},
		{`+CLIP: "1",129`, false, callInfo{}},
	}
	for _, tt := range tests {
		got, ok := parseCCInfo(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseCCInfo(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseCLCC(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
		want callInfo
	}{
		{`+CLCC: 1,1,4,0,0,"+79139131234",145`, true, callInfo{1, 1, 4, "+79139131234"}},
		{`+CLCC: 1,1,0,0,0,"+44XXXXXXXXXX",145`, true, callInfo{1, 1, 0, "+44XXXXXXXXXX"}},
		{`+CLCC: 1,1,6,0,0,"+44XXXXXXXXXX",145`, true, callInfo{1, 1, 6, "+44XXXXXXXXXX"}},
		{`+CLCC: 2,0,2,0,0`, true, callInfo{2, 0, 2, ""}},
		{`+CLCC: 1,1`, false, callInfo{}},
		{`+CLCC:`, false, callInfo{}},
	}
	for _, tt := range tests {
		got, ok := parseCLCC(tt.line)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseCLCC(%q) = %+v, %v; want %+v, %v", tt.line, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseToneDet(t *testing.T) {
	keys := "0123456789ABCD*#"
	for _, k := range []byte(keys) {
		line := "+QTONEDET: " + strconv.Itoa(int(k))
		if d, ok := parseToneDet(line); !ok || d != k {
			t.Errorf("parseToneDet(%q) = %q, %v; want %q", line, d, ok, k)
		}
	}
	for _, line := range []string{"+QTONEDET: 56,100", "+QTONEDET:56"} {
		if d, ok := parseToneDet(line); !ok || d != '8' {
			t.Errorf("parseToneDet(%q) = %q, %v; want '8'", line, d, ok)
		}
	}
	for _, line := range []string{"+QTONEDET: 8", "+QTONEDET: 69", "+QTONEDET: 97", "+QTONEDET: -1",
		"+QTONEDET: ", "+QTONEDET: 4x", "+QTONEDET: 99999999999999999999", "+RXDTMF: 8"} {
		if d, ok := parseToneDet(line); ok {
			t.Errorf("parseToneDet(%q) = %q, want rejection", line, d)
		}
	}
}

func TestCleanNumber(t *testing.T) {
	long := strings.Repeat("я", 200) // 400 bytes
	got := cleanNumber(long)
	if len(got) > MaxNumberLen || !utf8.ValidString(got) || got != strings.Repeat("я", MaxNumberLen/2) {
		t.Errorf("cleanNumber cut %d bytes badly: %q", len(got), got)
	}
	if got := cleanNumber(" \t+7916 \t"); got != "+7916" {
		t.Errorf("cleanNumber did not trim: %q", got)
	}
}

// checkNumber is the contract for every caller ID a parser hands on.
func checkNumber(t *testing.T, n string) {
	t.Helper()
	if len(n) > MaxNumberLen {
		t.Fatalf("number of %d bytes", len(n))
	}
	if !utf8.ValidString(n) {
		t.Fatalf("number not UTF-8: %q", n)
	}
	if strings.TrimSpace(n) != n {
		t.Fatalf("number not trimmed: %q", n)
	}
}

func FuzzParseCLIP(f *testing.F) {
	for _, s := range []string{
		`+CLIP: "+79161234567",145,,,,0`, `+CLIP: "",128,,,,1`, `+CLIP: "a,b"c",129,"x",0,"y",2`,
		`+CLIP: ` + strings.Repeat("1", 400), `+CLIP: "` + "\xff\xfe" + `"`, `+CLIP:,,,,,,,,`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := parseCLIP(line)
		if !ok {
			return
		}
		checkNumber(t, c.number)
	})
}

func FuzzParseCCInfo(f *testing.F) {
	for _, s := range []string{
		`+QIND: "ccinfo",1,1,4,0,0,"+79161234567",145`, `+QIND: "ccinfo",2,1,-1,0,0,"",128`,
		`+QIND: "ccinfo",1,1,4,0,0,"<b>x</b>",129,"a,b"`, `+QIND: "csq",20,99`, `+QIND: "ccinfo"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := parseCCInfo(line)
		if !ok {
			return
		}
		checkNumber(t, c.number)
		if !strings.Contains(strings.ToLower(line), "ccinfo") {
			t.Fatalf("accepted a non-ccinfo line %q", line)
		}
	})
}

func FuzzParseCLCC(f *testing.F) {
	for _, s := range []string{
		`+CLCC: 1,1,4,0,0,"+79139131234",145`, `+CLCC: 1,1,6,0,0,"",128`, `+CLCC: 1,0,2,0,0`, `+CLCC: "1","2"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		c, ok := parseCLCC(line)
		if !ok {
			return
		}
		checkNumber(t, c.number)
	})
}

func FuzzParseToneDet(f *testing.F) {
	for _, s := range []string{"+QTONEDET: 56", "+QTONEDET: 35,80", "+QTONEDET: 300", "+QTONEDET: -48"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		d, ok := parseToneDet(line)
		if ok && !strings.ContainsRune("0123456789ABCD*#", rune(d)) {
			t.Fatalf("parseToneDet(%q) = %q, not a key", line, d)
		}
	})
}

// FuzzCallState feeds any sequence of URC lines (one per input line) through the line's URC
// handling and checks the events it produces: rings count up by one within a call, caller IDs
// obey their contract, digits are keys, every event kind is known.
func FuzzCallState(f *testing.F) {
	f.Add("RING\n+CLIP: \"+7916\",145,,,,0\n+QIND: \"ccinfo\",1,1,4,0,0,\"+7916\",145\nRING\nNO CARRIER\nRING")
	f.Add("+QIND: \"ccinfo\",1,1,4,0,0,\"1\",129\n+QIND: \"ccinfo\",1,1,-1,0,0,\"1\",129\nNO CARRIER\nRDY\nRING\nRING\nRING")
	f.Add("+CLIP: \"x\",129\nRING\n+QTONEDET: 56\n+QIND: \"ccinfo\",2,1,5,0,0,\"2\",129\n+QIND: \"ccinfo\",2,1,-1")
	f.Fuzz(func(t *testing.T, script string) {
		q := NewQuectel("gsm1", nil, nil, QuectelOptions{ToneDetect: true})
		r := &runner{q: q, reinit: make(chan struct{}, 1), ringWait: newStoppedTimer(), watch: newStoppedTimer()}
		defer r.ringWait.Stop()
		defer r.watch.Stop()
		for line := range strings.SplitSeq(script, "\n") {
			r.handleURC(line)
		}
		rings := 0
		for _, ev := range q.queue {
			switch ev.Kind {
			case hw.Ring:
				if ev.Rings != rings+1 {
					t.Fatalf("ring %d after ring %d", ev.Rings, rings)
				}
				rings = ev.Rings
				checkNumber(t, ev.Number)
			case hw.Hangup:
				rings = 0
				if ev.Cause == "" {
					t.Fatal("hang-up without cause")
				}
			case hw.Digit:
				t.Fatalf("digit %q with no call answered", ev.Digit)
			case hw.State, hw.Connected:
				t.Fatalf("unexpected %v event from URCs alone", ev.Kind)
			default:
				t.Fatalf("unknown event %+v", ev)
			}
		}
	})
}
