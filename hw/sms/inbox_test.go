package sms

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestInbox replays testdata/inbox.txt: every PDU decoded and handed to a reassembler, the
// finished texts compared with the file's "want" lines.
func TestInbox(t *testing.T) {
	f, err := os.Open("testdata/inbox.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReassembler(time.Hour, 8, func() time.Time { return time.Unix(0, 0) })
	var got, want []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pdu "):
			p, err := DecodeHex(strings.TrimPrefix(line, "pdu "))
			if err != nil || p.Deliver == nil {
				t.Fatalf("line %d: %+v %v", n, p, err)
			}
			for _, m := range r.Add(p.Deliver) {
				if !m.Complete() {
					t.Fatalf("line %d: incomplete %+v", n, m)
				}
				got = append(got, m.From.Number+"\t"+strconv.Quote(m.Text))
			}
		case strings.HasPrefix(line, "want "):
			want = append(want, strings.TrimPrefix(line, "want "))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if r.Pending() != 0 {
		t.Fatalf("%d messages left pending", r.Pending())
	}
}
