package switchboard

import (
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"hotline/hw"
)

// Counters are the switchboard's running totals since the box started, for the dashboard and
// /metrics.
type Counters struct {
	CallsTotal    int64 // calls that rang
	CallsAnswered int64 // calls the box took off hook
	Voicemails    int64 // calls that ended with a message recorded
	Underruns     int64 // 20 ms frames the line did not deliver in time (counted when each call ends)
	RecorderDrops int64 // frames the voicemail recorder fell behind on and lost (counted when each call ends)
	// DeadlineMisses are frames the box itself took longer than 20 ms (of call time) to answer,
	// from the line's driver having the frame to the reply written; SlowestFrame is the longest
	// such time seen, on the wall clock (both counted when each call ends).
	DeadlineMisses int64
	SlowestFrame   time.Duration
	ActiveCalls    int // calls up now (ringing or answered)
}

// counters are the atomics behind Counters.
type counters struct {
	calls, answered, voicemails, underruns, drops atomic.Int64
	misses, slowest                               atomic.Int64
}

// addAudio adds the audio counts of a call's pump once it has stopped, and logs what went
// wrong; which names the call in the messages ("" for the caller's, " on the placed call").
func (c *counters) addAudio(p *pump, log *slog.Logger, which string) {
	if n := p.underruns.Load(); n > 0 {
		c.underruns.Add(n)
		log.Warn("audio underruns"+which, "frames", n)
	}
	if n := p.dropped.Load(); n > 0 {
		c.drops.Add(n)
		log.Warn("recorder fell behind, audio dropped"+which, "frames", n)
	}
	slowest := p.slowest.Load()
	if n := p.misses.Load(); n > 0 {
		c.misses.Add(n)
		log.Warn("audio deadline missed"+which, "frames", n, "slowest", time.Duration(slowest), "budget", p.budget, "at", p.missTimes())
	}
	for {
		old := c.slowest.Load()
		if slowest <= old || c.slowest.CompareAndSwap(old, slowest) {
			return
		}
	}
}

// activeCall is a line's current call as the dashboard shows it. Guarded by Board.mu.
type activeCall struct {
	c      *call
	number string // raw, as the line reported it; untrusted
	since  time.Time
}

// ActiveCall returns the number (raw, as the line reported it: untrusted, "" when withheld or
// not known yet) and the first ring's time of the line's current call; ok is false when the
// line has no call.
func (b *Board) ActiveCall(lineID string) (number string, since time.Time, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.active[lineID]
	return a.number, a.since, ok
}

// Counters returns the running totals.
func (b *Board) Counters() Counters {
	b.mu.Lock()
	active := len(b.active)
	b.mu.Unlock()
	return Counters{
		CallsTotal:     b.count.calls.Load(),
		CallsAnswered:  b.count.answered.Load(),
		Voicemails:     b.count.voicemails.Load(),
		Underruns:      b.count.underruns.Load(),
		RecorderDrops:  b.count.drops.Load(),
		DeadlineMisses: b.count.misses.Load(),
		SlowestFrame:   time.Duration(b.count.slowest.Load()),
		ActiveCalls:    active,
	}
}

// callStarted notes a new call on its line (line goroutine).
func (b *Board) callStarted(c *call, at time.Time) {
	b.count.calls.Add(1)
	b.mu.Lock()
	b.active[c.l.line.ID()] = activeCall{c: c, number: c.number, since: at}
	b.mu.Unlock()
}

// callNumber notes the caller's number learned after the first ring (line goroutine).
func (b *Board) callNumber(c *call, number string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c.number = number
	id := c.l.line.ID()
	if a, ok := b.active[id]; ok && a.c == c {
		a.number = c.number
		b.active[id] = a
	}
}

// callEnded forgets the call, unless its line has a newer one already. It is called both when
// the line reports the end and when the record is complete, whichever comes first.
func (b *Board) callEnded(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := c.l.line.ID()
	if a, ok := b.active[id]; ok && a.c == c {
		delete(b.active, id)
	}
}

// now is the wall clock of schedules.
func (b *Board) now() time.Time {
	if b.opts.Now != nil {
		return b.opts.Now()
	}
	return time.Now()
}

// hasCall reports whether l has a call of its own (ringing or answered).
func (b *Board) hasCall(l *lineState) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.active[l.line.ID()]
	return ok
}

// freeDialer returns a line other than except that can place a call now, or nil.
func (b *Board) freeDialer(except *lineState) *lineState {
	b.mu.Lock()
	var lines []*lineState
	for _, l := range b.lines {
		if l != except {
			lines = append(lines, l)
		}
	}
	b.mu.Unlock()
	slices.SortFunc(lines, func(x, y *lineState) int { return strings.Compare(x.line.ID(), y.line.ID()) })
	for _, l := range lines {
		if _, ok := l.line.(hw.Dialer); !ok {
			continue
		}
		if _, busy := l.outgoing(); !busy && !b.hasCall(l) && b.LineState(l.line.ID()) == "ready" {
			return l
		}
	}
	return nil
}

// enqueue puts a caller at the end of the queue for a person.
func (b *Board) enqueue(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !slices.Contains(b.queue, c) {
		b.queue = append(b.queue, c)
	}
}

// dequeue takes a caller out of the queue.
func (b *Board) dequeue(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if i := slices.Index(b.queue, c); i >= 0 {
		b.queue = slices.Delete(b.queue, i, i+1)
	}
}

// position is a caller's place in the queue, from 1; 0 when not queued.
func (b *Board) position(c *call) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Index(b.queue, c) + 1
}

// Queued is how many callers wait for a person now.
func (b *Board) Queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

// setTalking marks a person as on a call (or free again).
func (b *Board) setTalking(name string, on bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if on {
		b.talking[name]++
	} else if b.talking[name]--; b.talking[name] <= 0 {
		delete(b.talking, name)
	}
}

// notTalking keeps the persons who are not on a call now.
func (b *Board) notTalking(persons []Person) []Person {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := persons[:0:0]
	for _, p := range persons {
		if b.talking[p.Name] == 0 {
			out = append(out, p)
		}
	}
	return out
}

// Talking lists the people on a call now.
func (b *Board) Talking() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for n := range b.talking {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}
