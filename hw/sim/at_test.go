package sim

import (
	"bufio"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exchange is one step of a transcript: what the box sends and what the modem must answer.
type exchange struct {
	line int
	send []string
	want string
}

func readTranscript(t *testing.T, name string) []exchange {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []exchange
	var cur exchange
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if len(l) < 3 || (l[:2] != "> " && l[:2] != "< ") {
			t.Fatalf("%s:%d: bad line %q", name, n, l)
		}
		s, err := strconv.Unquote(l[2:])
		if err != nil {
			t.Fatalf("%s:%d: %v", name, n, err)
		}
		if l[0] == '>' {
			if cur.line == 0 {
				cur.line = n
			}
			cur.send = append(cur.send, s)
			continue
		}
		cur.want = s
		out = append(out, cur)
		cur = exchange{}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("empty transcript")
	}
	return out
}

func TestATDialogue(t *testing.T) {
	m := startModem(t, Options{ID: "sim-dialogue"})
	c := dialAT(t, m)
	for _, x := range readTranscript(t, "testdata/dialogue.txt") {
		for _, s := range x.send {
			c.send(s)
		}
		if got := string(c.untilFinal(2 * time.Second)); got != x.want {
			t.Errorf("dialogue.txt:%d: sent %q\n got %q\nwant %q", x.line, x.send, got, x.want)
		}
	}
	// Nothing else may have come.
	if l, ok := c.line(100 * time.Millisecond); ok {
		t.Errorf("unexpected output after the dialogue: %q", l)
	}
}

// The daemon may close and reopen its ports (after a timeout, on restart); the modem keeps its
// state and keeps answering.
func TestATReopen(t *testing.T) {
	m := startModem(t, Options{})
	c := dialAT(t, m)
	c.send("ATE0\r")
	c.untilFinal(2 * time.Second)
	c.close()
	for range 3 {
		c = dialAT(t, m)
		if got := c.cmd("AT+CSQ", "OK"); !reflect.DeepEqual(got, []string{"+CSQ: 25,99"}) {
			t.Errorf("after reopen: got %q", got)
		}
		c.close()
	}
}

func TestParseLine(t *testing.T) {
	for _, tt := range []struct {
		body string
		want []command
		err  bool
	}{
		{body: "", want: nil},
		{body: "E0", want: []command{{name: "E", arg: "0"}}},
		{body: "e0v1&d2", want: []command{{name: "E", arg: "0"}, {name: "V", arg: "1"}, {name: "&D", arg: "2"}}},
		{body: "+CSQ", want: []command{{name: "+CSQ"}}},
		{body: "+cpin?", want: []command{{name: "+CPIN", op: "?"}}},
		{body: "+QPCMV=?", want: []command{{name: "+QPCMV", op: "=?"}}},
		{body: `+QINDCFG="ccinfo",1,0`, want: []command{{name: "+QINDCFG", op: "=", arg: `"ccinfo",1,0`}}},
		{body: `+X="a;b";+CSQ`, want: []command{{name: "+X", op: "=", arg: `"a;b"`}, {name: "+CSQ"}}},
		{body: "+QPCMV=0;+QPCMV=1,0;A", want: []command{{name: "+QPCMV", op: "=", arg: "0"},
			{name: "+QPCMV", op: "=", arg: "1,0"}, {name: "A"}}},
		{body: "D+4912345;", want: []command{{name: "D", arg: "+4912345;"}}},
		{body: "S0=0", want: []command{{name: "S", arg: "0=0"}}},
		{body: "S7?", want: []command{{name: "S", arg: "7?"}}},
		{body: "^DSCI=1", want: []command{{name: "^DSCI", op: "=", arg: "1"}}},
		{body: " E0 ", want: []command{{name: "E", arg: "0"}}},
		{body: `+X="open`, err: true},
		{body: "+", err: true},
		{body: "+CSQ?x", err: true},
		{body: "S", err: true},
		{body: "S0", err: true},
		{body: "&", err: true},
		{body: "1", err: true},
		{body: `"`, err: true},
	} {
		t.Run(tt.body, func(t *testing.T) {
			got, err := parseLine(tt.body)
			if (err != nil) != tt.err {
				t.Fatalf("parseLine(%q) error = %v, want error %v", tt.body, err, tt.err)
			}
			if !tt.err && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseLine(%q) = %+v, want %+v", tt.body, got, tt.want)
			}
		})
	}
}

func TestSplitArgs(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want []string
	}{
		{"", []string{""}},
		{"1", []string{"1"}},
		{`"ccinfo",1,0`, []string{"ccinfo", "1", "0"}},
		{` "a,b" , 2`, []string{"a,b", "2"}},
		{`1,,3`, []string{"1", "", "3"}},
	} {
		if got := splitArgs(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitArgs(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCommandBody(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		found    bool
	}{
		{"AT", "", true},
		{"at+csq", "+csq", true},
		{"\x00\xffAT+CSQ", "+CSQ", true},
		{"hello", "", false},
		{"", "", false},
		{"A", "", false},
	} {
		got, found := commandBody([]byte(tt.in))
		if got != tt.want || found != tt.found {
			t.Errorf("commandBody(%q) = %q, %v; want %q, %v", tt.in, got, found, tt.want, tt.found)
		}
	}
}

func TestIMEIIsLuhnValid(t *testing.T) {
	for _, id := range []string{"", "sim1", "sim2", "a much longer modem name"} {
		s := imei(id)
		if len(s) != 15 {
			t.Fatalf("imei(%q) = %q: want 15 digits", id, s)
		}
		sum := 0
		for i := range len(s) {
			d := int(s[len(s)-1-i] - '0')
			if i%2 == 1 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
			sum += d
		}
		if sum%10 != 0 {
			t.Errorf("imei(%q) = %s fails the Luhn check", id, s)
		}
	}
	if imei("sim1") == imei("sim2") {
		t.Error("two modems share an IMEI")
	}
}

// FuzzParseLine feeds arbitrary command lines to the parser: it must not panic, and what it
// accepts must be well formed.
func FuzzParseLine(f *testing.F) {
	for _, s := range []string{"", "E0", "+CSQ", `+QINDCFG="ccinfo",1,0`, "+QPCMV=0;+QPCMV=1,0;A",
		"D123;", "S0=1", "S7?", `+X="a;b";+Y?`, "&F&W", "+CSQ?x", `"`, "^DSCI=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmds, err := parseLine(body)
		if err != nil {
			return
		}
		for _, c := range cmds {
			if c.name == "" {
				t.Fatalf("parseLine(%q): command without a name: %+v", body, cmds)
			}
			switch c.op {
			case "", "?", "=?", "=":
			default:
				t.Fatalf("parseLine(%q): bad op %q", body, c.op)
			}
			if c.name[0] == '+' && c.op == "=" {
				_ = splitArgs(c.arg)
			}
		}
		_, _ = commandBody([]byte(body))
	})
}
