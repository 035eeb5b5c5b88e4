package gsm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseReg(t *testing.T) {
	for _, tt := range []struct {
		line   string
		prefix string
		query  bool
		stat   int
		ok     bool
	}{
		{"+CREG: 1", "+CREG:", false, 1, true},
		{`+CREG: 5,"1A2B","01A2D001",7`, "+CREG:", false, 5, true},
		{"+CREG: 2,1", "+CREG:", true, 1, true},
		{`+CREG: 2,5,"1A2B","01A2D001",7`, "+CREG:", true, 5, true},
		{"+CREG: 2,1", "+CREG:", false, 1, true}, // the query form sent unasked
		{`+CEREG: 2,"1A2B","01A2D001",7`, "+CEREG:", false, 2, true},
		{"+CEREG: 0,3", "+CEREG:", true, 3, true},
		{"+CREG: 11", "+CREG:", false, 0, false},
		{"+CREG:", "+CREG:", false, 0, false},
		{"+CREG: x", "+CREG:", false, 0, false},
		{"+CREG: 2", "+CREG:", true, 0, false},
	} {
		stat, ok := parseReg(tt.line, tt.prefix, tt.query)
		if ok != tt.ok || stat != tt.stat {
			t.Errorf("parseReg(%q, query %v) = %d %v, want %d %v", tt.line, tt.query, stat, ok, tt.stat, tt.ok)
		}
	}
}

func TestParseCOPS(t *testing.T) {
	for _, tt := range []struct {
		line, name string
		ok         bool
	}{
		{`+COPS: 0,0,"MegaFon",7`, "MegaFon", true},
		{`+COPS: 0,0,"Beeline, RU",2`, "Beeline, RU", true},
		{`+COPS: 0`, "", true},
		{`+COPS: 0,2,"25002",7`, "25002", true},
		{`+COPS: x`, "", false},
		{`+COPS: 0,0,"` + strings.Repeat("Я", 100) + `"`, strings.Repeat("Я", 32), true},
	} {
		name, ok := parseCOPS(tt.line)
		if ok != tt.ok || name != tt.name {
			t.Errorf("parseCOPS(%q) = %q %v, want %q %v", tt.line, name, ok, tt.name, tt.ok)
		}
	}
}

func TestParseCPIN(t *testing.T) {
	for _, tt := range []struct {
		line string
		st   simState
		ok   bool
	}{
		{"+CPIN: READY", simReady, true},
		{"+CPIN: SIM PIN", simPIN, true},
		{"+CPIN: SIM PUK", simPUK, true},
		{"+CPIN: NOT INSERTED", simAbsent, true},
		{`+CPIN: "READY"`, simReady, true},
		{"+CPIN: WHAT", simUnknown, false},
	} {
		st, ok := parseCPIN(tt.line)
		if ok != tt.ok || st != tt.st {
			t.Errorf("parseCPIN(%q) = %v %v", tt.line, st, ok)
		}
	}
}

func TestParseSMSHeaders(t *testing.T) {
	if h, ok := parseCMGL("+CMGL: 3,1,,106"); !ok || h.index != 3 || h.stat != 1 || h.length != 106 {
		t.Errorf("+CMGL = %+v %v", h, ok)
	}
	if h, ok := parseCMGL(`+CMGL: 12,0,"Mum",23`); !ok || h.index != 12 || h.length != 23 {
		t.Errorf("+CMGL with alpha = %+v %v", h, ok)
	}
	if h, ok := parseCMGR("+CMGR: 0,,106"); !ok || h.stat != 0 || h.length != 106 {
		t.Errorf("+CMGR = %+v %v", h, ok)
	}
	for _, bad := range []string{"+CMGL: -1,1,,20", "+CMGL: 1", "+CMGL: 1,1,,999", "+CMGR: x,,1"} {
		if _, ok1 := parseCMGL(bad); ok1 {
			t.Errorf("%q accepted", bad)
		}
		if _, ok2 := parseCMGR(bad); ok2 {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, tt := range []struct {
		line string
		idx  int
		ok   bool
	}{{`+CMTI: "SM",3`, 3, true}, {`+CMTI: "ME",41`, 41, true}, {`+CMTI: "SM",-1`, 0, false}, {`+CMTI: "SM"`, 0, false}} {
		_, idx, ok := parseStorageIndex(tt.line, "+CMTI:")
		if ok != tt.ok || idx != tt.idx {
			t.Errorf("%q = %d %v", tt.line, idx, ok)
		}
	}
	if mr, ok := parseCMGS("+CMGS: 42"); !ok || mr != 42 {
		t.Errorf("+CMGS = %d %v", mr, ok)
	}
	if c := parseCENDCause("^CEND:1,0,104,17"); c != 17 {
		t.Errorf("^CEND cause %d", c)
	}
	if c := parseCENDCause("^CEND:1,0,104"); c != -1 {
		t.Errorf("^CEND without cause %d", c)
	}
}

func TestValidNumber(t *testing.T) {
	for n, want := range map[string]bool{
		"+79161234567": true, "112": true, "*100#": true, "#31#": true, "12345678901234567890": true,
		"": false, "+": false, "123456789012345678901": false, "12;H": false, "1\r": false, `1"`: false,
		"1+2": false, " 12": false, "A1": false,
	} {
		if got := validNumber(n); got != want {
			t.Errorf("validNumber(%q) = %v", n, got)
		}
	}
}

// FuzzNetParsers feeds any line to the SIM, registration, operator, signal and SMS header
// parsers: they never panic and what they return stays in range.
func FuzzNetParsers(f *testing.F) {
	for _, s := range []string{
		"+CREG: 1", `+CREG: 2,5,"1A2B","01A2D001",7`, `+CEREG: 2,"1A2B","01A2D001",7`, "+CSQ: 20,99",
		`+QIND: "csq",25,99`, "^RSSI:12", `+COPS: 0,0,"MegaFon",7`, "+CPIN: SIM PIN", "+CMGL: 3,1,,106",
		`+CMGL: 12,0,"Mum",23`, "+CMGR: 0,,106", `+CMTI: "SM",3`, `+CDSI: "SM",-1`, "+CMGS: 42",
		"^CEND:1,0,104,17", `+COPS: 0,0,"` + "\x00\xff", `+CREG: "`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range []string{"+CREG:", "+CEREG:"} {
			for _, q := range []bool{false, true} {
				if stat, ok := parseReg(line, p, q); ok && (stat < 0 || stat > 10) {
					t.Fatalf("stat %d", stat)
				}
			}
		}
		if s, ok := parseCSQ(line); ok {
			if b := s.bars(); b < 0 || b > 5 {
				t.Fatalf("bars %d", b)
			}
			if d := s.dBm(); d != 0 && (d < -113 || d > -51) {
				t.Fatalf("dBm %d", d)
			}
		}
		if name, ok := parseCOPS(line); ok && (len(name) > MaxOperatorLen || !utf8.ValidString(name)) {
			t.Fatalf("operator %q", name)
		}
		parseCPIN(line)
		if h, ok := parseCMGL(line); ok && (h.index < 0 || h.length < 0 || h.length > 255) {
			t.Fatalf("+CMGL %+v", h)
		}
		if h, ok := parseCMGR(line); ok && (h.length < 0 || h.length > 255) {
			t.Fatalf("+CMGR %+v", h)
		}
		for _, p := range []string{"+CMTI:", "+CDSI:"} {
			if _, idx, ok := parseStorageIndex(line, p); ok && idx < 0 {
				t.Fatalf("index %d", idx)
			}
		}
		parseCMGS(line)
		parseCENDCause(line)
		if validNumber(line) && (len(line) > 20 || strings.ContainsAny(line, "\r\n;\"")) {
			t.Fatalf("number %q passed", line)
		}
	})
}
