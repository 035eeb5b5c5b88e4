package modem

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

type splitLine struct {
	text  string
	fault lineFault
}

func splitAll(chunks ...[]byte) []splitLine {
	var s splitter
	var out []splitLine
	for _, c := range chunks {
		s.feed(c, func(text []byte, fault lineFault) {
			out = append(out, splitLine{string(text), fault})
		})
	}
	return out
}

func TestSplitter(t *testing.T) {
	long := strings.Repeat("9", MaxLineLen)
	tests := []struct {
		name string
		in   string
		want []splitLine
	}{
		{"crlf framing", "\r\nOK\r\n", []splitLine{{"OK", lineOK}}},
		{"simcom cr cr lf", "+CRING: VOICE\r\r\nOK\r\r\n", []splitLine{{"+CRING: VOICE", lineOK}, {"OK", lineOK}}},
		{"echo ends in cr", "ATE0\r\r\nOK\r\n", []splitLine{{"ATE0", lineOK}, {"OK", lineOK}}},
		{"bare lf", "RING\n\n+CLIP: \"1\",129\n", []splitLine{{"RING", lineOK}, {"+CLIP: \"1\",129", lineOK}}},
		{"empty lines dropped", "\r\n\r\n\r\n", nil},
		{"spaces trimmed", "  OK \t\r\n", []splitLine{{"OK", lineOK}}},
		{"blank line of spaces", "   \r\n", nil},
		{"unterminated tail kept back", "OK\r\nRI", []splitLine{{"OK", lineOK}}},
		{"nul byte", "\x00RING\r\n", []splitLine{{"\x00RING", lineGarbage}}},
		{"binary", "\x01\x02\xff\xfe\r\nOK\r\n", []splitLine{{"\x01\x02\xff\xfe", lineGarbage}, {"OK", lineOK}}},
		{"invalid utf8", "caf\xe9\r\n", []splitLine{{"caf\xe9", lineGarbage}}},
		{"del byte", "A\x7fB\r\n", []splitLine{{"A\x7fB", lineGarbage}}},
		{"utf8 ok", "+CLIP: \"Иван\",129\r\n", []splitLine{{"+CLIP: \"Иван\",129", lineOK}}},
		{"exactly max", long + "\r\n", []splitLine{{long, lineOK}}},
		{"overlong", long + "99\r\nOK\r\n", []splitLine{{long, lineOverlong}, {"OK", lineOK}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := splitAll([]byte(tt.in))
			if !slices.Equal(got, tt.want) {
				t.Errorf("split(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
			}
			// Byte by byte must give the same lines.
			var chunks [][]byte
			for i := range len(tt.in) {
				chunks = append(chunks, []byte{tt.in[i]})
			}
			if got := splitAll(chunks...); !slices.Equal(got, tt.want) {
				t.Errorf("split byte by byte(%q)\n got  %+v\n want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	quectelURC := func(l string) bool {
		return strings.HasPrefix(l, "+CLIP:") || strings.HasPrefix(l, "+QIND:") || strings.HasPrefix(l, "+CLCC:")
	}
	tests := []struct {
		name    string
		line    string
		pending string // "" = no command in flight
		echo    bool   // echo already seen
		want    lineRole
	}{
		{"idle ring", "RING", "", false, roleURC},
		{"idle unknown line", "+QIND: \"csq\",20,99", "", false, roleURC},
		{"idle no carrier", "NO CARRIER", "", false, roleURC},
		{"idle stray ok", "OK", "", false, roleStray},
		{"idle stray cme", "+CME ERROR: 10", "", false, roleStray},
		{"idle late echo", "AT+CLCC", "", false, roleStray},
		{"echo", "AT+CLIP=1", "AT+CLIP=1", false, roleEcho},
		{"echo other case", "at+clip=1", "AT+CLIP=1", false, roleEcho},
		{"second echo is info", "AT+CLIP=1", "AT+CLIP=1", true, roleInfo},
		{"ok", "OK", "AT", false, roleFinal},
		{"error", "ERROR", "AT", false, roleFinal},
		{"cme", "+CME ERROR: SIM not inserted", "AT+CPIN?", false, roleFinal},
		{"cms", "+CMS ERROR: 500", "AT+CMGS=10", false, roleFinal},
		{"connect", "CONNECT 115200", "ATD123", false, roleFinal},
		{"ring during ata", "RING", "ATA", false, roleURC},
		{"no carrier ends ata", "NO CARRIER", "ATA", false, roleFinal},
		{"no carrier ends atd", "NO CARRIER", "ATD+79161234567;", false, roleFinal},
		{"no carrier ends compound answer", "NO CARRIER", "AT+QPCMV=0;+QPCMV=1,0;A", false, roleFinal},
		{"no carrier during other command", "NO CARRIER", "AT+CSQ", false, roleURC},
		{"busy", "BUSY", "ATD123;", false, roleFinal},
		{"info", "EC25", "AT+CGMM", false, roleInfo},
		{"urc during command", "+CLIP: \"123\",129", "AT+CSQ", false, roleURC},
		{"own prefix is reply", "+CLCC: 1,1,4,0,0,\"123\",129", "AT+CLCC", false, roleInfo},
		{"own prefix is reply, query", "+CLIP: 1,1", "AT+CLIP?", false, roleInfo},
		{"other prefix sharing start", "+QIND: \"ccinfo\",1,1,4,0,0,\"1\",129", "AT+QINDCFG=\"ccinfo\",1,0", false, roleURC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p *cmdInfo
			if tt.pending != "" {
				ci := newCmdInfo(tt.pending)
				ci.echoSeen = tt.echo
				p = &ci
			}
			if got := classify(tt.line, p, quectelURC); got != tt.want {
				t.Errorf("classify(%q, %q) = %v, want %v", tt.line, tt.pending, got, tt.want)
			}
		})
	}
}

func TestNewCmdInfo(t *testing.T) {
	tests := []struct {
		cmd  string
		name string
		dial bool
	}{
		{"AT", "", false},
		{"ATA", "", true},
		{"ata", "", true},
		{"ATD+79161234567;", "", true},
		{"ATE0", "", false},
		{"ATI", "", false},
		{"AT+CLCC", "+CLCC", false},
		{"AT+CLIP=1", "+CLIP", false},
		{"AT+QINDCFG=\"ccinfo\",1,0", "+QINDCFG", false},
		{"AT^DDSETEX=2", "^DDSETEX", false},
		{"AT+CPIN?", "+CPIN", false},
		{"AT+QPCMV=0;+QPCMV=1,0;A", "+QPCMV", true},
		{"AT+QPCMV=0;+QPCMV=1,0;D123;", "+QPCMV", true},
		{"AT+", "", false},
	}
	for _, tt := range tests {
		ci := newCmdInfo(tt.cmd)
		if ci.name != tt.name || ci.dial != tt.dial {
			t.Errorf("newCmdInfo(%q) = name %q dial %v, want %q %v", tt.cmd, ci.name, ci.dial, tt.name, tt.dial)
		}
	}
}

// FuzzSplitter checks that any byte stream, however it is cut into reads, gives the same lines,
// and that accepted lines are clean, bounded text.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte("\r\nOK\r\n"), 3)
	f.Add([]byte("ATE0\r\r\nOK\r\nRING\r\n+CLIP: \"+79161234567\",145,,,,0\r\n"), 7)
	f.Add([]byte("\x00\xff\r\n+CME ERROR: 10\r\r\n"), 1)
	f.Add(bytes.Repeat([]byte("A"), MaxLineLen+2), 700)
	f.Fuzz(func(t *testing.T, data []byte, cut int) {
		whole := splitAll(data)
		if cut < 0 {
			cut = -cut
		}
		if len(data) > 0 {
			cut %= len(data) + 1
		} else {
			cut = 0
		}
		if parts := splitAll(data[:cut], data[cut:]); !slices.Equal(whole, parts) {
			t.Fatalf("chunking changed the lines: %+v vs %+v", whole, parts)
		}
		for _, l := range whole {
			if len(l.text) > MaxLineLen {
				t.Fatalf("line longer than %d: %d", MaxLineLen, len(l.text))
			}
			if l.fault != lineOK {
				continue
			}
			if l.text == "" || !utf8.ValidString(l.text) || strings.ContainsAny(l.text, "\r\n\x00") {
				t.Fatalf("bad accepted line %q", l.text)
			}
			if first, last := l.text[0], l.text[len(l.text)-1]; first == ' ' || first == '\t' || last == ' ' || last == '\t' {
				t.Fatalf("untrimmed line %q", l.text)
			}
			// Classification must be total and stable.
			for _, cmd := range []string{"", "ATA", "AT+CLCC", "AT"} {
				var p *cmdInfo
				if cmd != "" {
					ci := newCmdInfo(cmd)
					p = &ci
				}
				if r1, r2 := classify(l.text, p, nil), classify(l.text, p, nil); r1 != r2 {
					t.Fatalf("unstable classification of %q", l.text)
				}
			}
		}
	})
}
