package sms

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a hand-driven clock for the reassembler.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newClock() *clock { return &clock{t: time.Date(2024, 3, 15, 12, 0, 0, 0, time.UTC)} }

// delivers encodes text from sender as SMS-DELIVER parts and decodes them back, as a modem
// would hand them over.
func delivers(t testing.TB, from, text string, ref byte) []*Deliver {
	t.Helper()
	at := time.Date(2024, 3, 15, 11, 59, 0, 0, time.FixedZone("", 3*3600))
	parts, err := EncodeDeliver(from, text, at, Options{ConcatRef: ref})
	if err != nil {
		t.Fatal(err)
	}
	var out []*Deliver
	for _, p := range parts {
		d, err := Decode(p.PDU)
		if err != nil || d.Deliver == nil {
			t.Fatalf("decode own part: %+v %v", d, err)
		}
		out = append(out, d.Deliver)
	}
	return out
}

func TestReassemblerOrderAndDuplicates(t *testing.T) {
	text := strings.Repeat("Здравствуйте! Перезвоните нам, пожалуйста. ", 5)
	ps := delivers(t, "+79161234567", text, 9)
	if len(ps) != 4 {
		t.Fatalf("%d parts", len(ps))
	}
	c := newClock()
	r := NewReassembler(0, 0, c.now)
	for i, p := range []*Deliver{ps[2], ps[0], ps[2], ps[3]} { // out of order, one twice
		if got := r.Add(p); len(got) != 0 {
			t.Fatalf("add %d finished early: %+v", i, got)
		}
	}
	if r.Pending() != 1 {
		t.Fatalf("pending %d", r.Pending())
	}
	got := r.Add(ps[1])
	if len(got) != 1 || !got[0].Complete() || got[0].Text != text || got[0].Parts != 4 ||
		got[0].From.Number != "+79161234567" || got[0].Ref != 9 || !got[0].Received.Equal(c.now()) ||
		!got[0].Time.Equal(ps[0].Time) {
		t.Fatalf("got %+v", got)
	}
	if r.Pending() != 0 {
		t.Fatalf("pending %d after completion", r.Pending())
	}
	if got := r.Add(ps[1]); len(got) != 0 || r.Pending() != 1 {
		t.Fatalf("a late duplicate starts a new message, not a result: %+v", got)
	}
}

func TestReassemblerSingleAndSeparation(t *testing.T) {
	c := newClock()
	r := NewReassembler(time.Hour, 10, c.now)
	single := delivers(t, "MegaFon", "Баланс 100 р.", 0)
	if got := r.Add(single[0]); len(got) != 1 || got[0].Text != "Баланс 100 р." || !got[0].Complete() || got[0].Parts != 1 {
		t.Fatalf("single: %+v", got)
	}
	// Same reference from two senders, and two references from one sender, stay apart.
	long := strings.Repeat("x", 200)
	a := delivers(t, "+79161234567", long, 1)
	b := delivers(t, "+79990000000", long+"b", 1)
	a2 := delivers(t, "+79161234567", long+"2", 2)
	var done []Text
	for _, p := range []*Deliver{a[0], b[0], a2[0], b[1], a2[1], a[1]} {
		done = append(done, r.Add(p)...)
	}
	var texts []string
	for _, d := range done {
		texts = append(texts, d.From.Number+":"+d.Text[200:])
	}
	want := []string{"+79990000000:b", "+79161234567:2", "+79161234567:"}
	if !slices.Equal(texts, want) {
		t.Fatalf("finished %q, want %q", texts, want)
	}
}

func TestReassemblerExpiry(t *testing.T) {
	c := newClock()
	r := NewReassembler(24*time.Hour, 0, c.now)
	ps := delivers(t, "+79161234567", strings.Repeat("abc", 200), 3) // 4 parts
	r.Add(ps[0])
	r.Add(ps[2])
	c.advance(24*time.Hour - time.Second)
	if got := r.Expire(); len(got) != 0 {
		t.Fatalf("expired early: %+v", got)
	}
	c.advance(time.Second)
	other := delivers(t, "+79990000000", "hi", 0)
	got := r.Add(other[0]) // Add expires too, before it adds
	if len(got) != 2 {
		t.Fatalf("got %d results: %+v", len(got), got)
	}
	inc := got[0]
	if inc.Complete() || !slices.Equal(inc.Missing, []int{2, 4}) || inc.Text != ps[0].Text+ps[2].Text || inc.Parts != 4 {
		t.Fatalf("incomplete result %+v", inc)
	}
	if got[1].Text != "hi" || r.Pending() != 0 {
		t.Fatalf("second result %+v, pending %d", got[1], r.Pending())
	}
}

func TestReassemblerBounded(t *testing.T) {
	c := newClock()
	r := NewReassembler(time.Hour, 3, c.now)
	long := strings.Repeat("y", 300)
	var evicted []Text
	for i := range 5 {
		ps := delivers(t, fmt.Sprintf("+7916000000%d", i), long, byte(i))
		evicted = append(evicted, r.Add(ps[0])...)
		c.advance(time.Second)
	}
	if r.Pending() != 3 || len(evicted) != 2 {
		t.Fatalf("pending %d, evicted %d", r.Pending(), len(evicted))
	}
	if evicted[0].From.Number != "+79160000000" || evicted[1].From.Number != "+79160000001" || evicted[0].Complete() {
		t.Fatalf("evicted %+v", evicted)
	}
	rest := r.Flush()
	if len(rest) != 3 || rest[0].From.Number != "+79160000002" || r.Pending() != 0 {
		t.Fatalf("flush %+v", rest)
	}
}

func TestReassemblerConcurrent(t *testing.T) {
	r := NewReassembler(0, 0, nil)
	ps := delivers(t, "+79161234567", strings.Repeat("z", 1000), 5)
	var wg sync.WaitGroup
	results := make(chan Text, len(ps))
	for _, p := range ps {
		wg.Go(func() {
			for _, t := range r.Add(p) {
				results <- t
			}
		})
	}
	wg.Wait()
	close(results)
	var n int
	for got := range results {
		n++
		if got.Text != strings.Repeat("z", 1000) {
			t.Fatalf("text of %d bytes", len(got.Text))
		}
	}
	if n != 1 {
		t.Fatalf("%d results", n)
	}
}
