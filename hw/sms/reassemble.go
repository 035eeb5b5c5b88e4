package sms

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// Text is a whole message as the box keeps it: one SMS, or the parts of a concatenated one
// joined in order.
type Text struct {
	From     Address
	Time     time.Time // centre timestamp of the lowest-numbered part that arrived
	Received time.Time // when the first part reached the reassembler (its clock)
	Text     string    // the parts' texts joined in order; missing parts are left out
	Parts    int       // parts the message has (1 for a single SMS)
	Missing  []int     // numbers of the parts that never came (nil when complete)
	Ref      uint16    // concatenation reference (0 for a single SMS)
	// Data is the 8-bit user data of a single 8-bit message (nil otherwise).
	Data []byte
}

// Complete reports whether every part arrived.
func (t Text) Complete() bool { return len(t.Missing) == 0 }

// Defaults of a Reassembler.
const (
	DefaultTTL    = 24 * time.Hour
	DefaultGroups = 256
)

// Reassembler joins the parts of concatenated messages. It is safe for concurrent use, starts
// no goroutines and holds at most its group limit of unfinished messages, each at most 255
// parts: when a new message would pass the limit, the oldest unfinished one is handed back
// incomplete. Parts are matched by sender, reference, total and reference size.
type Reassembler struct {
	ttl    time.Duration
	limit  int
	now    func() time.Time
	mu     sync.Mutex
	groups map[groupKey]*group
	seq    uint64 // counts groups started, for oldest-first order
}

type groupKey struct {
	from  string
	ref   uint16
	total int
	ref16 bool
}

type group struct {
	first   time.Time // reassembler clock at the first part
	from    Address
	parts   map[int]*Deliver
	ordinal uint64 // arrival order, to evict the oldest deterministically
}

// NewReassembler returns a Reassembler that gives up on a message ttl after its first part
// arrived (DefaultTTL when ttl <= 0) and keeps at most groups unfinished messages
// (DefaultGroups when groups <= 0). now is its clock (time.Now when nil).
func NewReassembler(ttl time.Duration, groups int, now func() time.Time) *Reassembler {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if groups <= 0 {
		groups = DefaultGroups
	}
	if now == nil {
		now = time.Now
	}
	return &Reassembler{ttl: ttl, limit: groups, now: now, groups: map[groupKey]*group{}}
}

// Add takes one received message. It returns the messages that are finished now: the whole
// message d completes (d itself when it is not a part), and any unfinished messages that
// expired or were pushed out by the group limit, marked incomplete. A part already held is
// ignored. Add keeps d until its message is finished: do not change it afterwards.
func (r *Reassembler) Add(d *Deliver) []Text {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.expireLocked(now)
	if d.Concat == nil || d.Concat.Total == 1 {
		t := Text{From: d.From, Time: d.Time, Received: now, Text: d.Text, Parts: 1}
		if d.Alphabet == Data8 {
			t.Data = append([]byte(nil), d.Data...)
		}
		if d.Concat != nil {
			t.Ref = d.Concat.Ref
		}
		return append(out, t)
	}
	c := d.Concat
	k := groupKey{from: d.From.Number, ref: c.Ref, total: c.Total, ref16: c.Ref16}
	g, ok := r.groups[k]
	if !ok {
		if len(r.groups) >= r.limit {
			out = append(out, r.evictOldestLocked())
		}
		r.seq++
		g = &group{first: now, from: d.From, parts: map[int]*Deliver{}, ordinal: r.seq}
		r.groups[k] = g
	}
	if _, dup := g.parts[c.Seq]; dup {
		return out
	}
	g.parts[c.Seq] = d
	if len(g.parts) == c.Total {
		delete(r.groups, k)
		out = append(out, g.text(k))
	}
	return out
}

// Expire hands back, incomplete, every unfinished message whose first part is older than the
// TTL. Call it now and then (a minute's ticker will do); Add also does it.
func (r *Reassembler) Expire() []Text {
	now := r.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.expireLocked(now)
}

// Flush hands back every unfinished message, incomplete, and forgets them (at shutdown).
func (r *Reassembler) Flush() []Text {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Text
	for _, k := range r.sortedKeysLocked() {
		out = append(out, r.groups[k].text(k))
		delete(r.groups, k)
	}
	return out
}

// Pending returns the number of unfinished messages held.
func (r *Reassembler) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.groups)
}

func (r *Reassembler) expireLocked(now time.Time) []Text {
	var out []Text
	for _, k := range r.sortedKeysLocked() {
		g := r.groups[k]
		if now.Sub(g.first) >= r.ttl {
			out = append(out, g.text(k))
			delete(r.groups, k)
		}
	}
	return out
}

func (r *Reassembler) evictOldestLocked() Text {
	keys := r.sortedKeysLocked()
	k := keys[0]
	t := r.groups[k].text(k)
	delete(r.groups, k)
	return t
}

// sortedKeysLocked lists the groups oldest first, so results come in a stable order.
func (r *Reassembler) sortedKeysLocked() []groupKey {
	keys := make([]groupKey, 0, len(r.groups))
	for k := range r.groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return r.groups[keys[i]].ordinal < r.groups[keys[j]].ordinal })
	return keys
}

// text joins the parts held, in order, and lists the missing ones.
func (g *group) text(k groupKey) Text {
	t := Text{From: g.from, Received: g.first, Parts: k.total, Ref: k.ref}
	var b strings.Builder
	for seq := 1; seq <= k.total; seq++ {
		p, ok := g.parts[seq]
		if !ok {
			t.Missing = append(t.Missing, seq)
			continue
		}
		if t.Time.IsZero() {
			t.Time = p.Time
		}
		b.WriteString(p.Text)
	}
	t.Text = b.String()
	return t
}
