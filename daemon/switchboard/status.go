package switchboard

import (
	"sync/atomic"
	"time"
)

// Counters are the switchboard's running totals since the box started, for the dashboard and
// /metrics.
type Counters struct {
	CallsTotal    int64 // calls that rang
	CallsAnswered int64 // calls the box took off hook
	Voicemails    int64 // calls that ended with a message recorded
	Underruns     int64 // 20 ms frames the line did not deliver in time (counted when each call ends)
	RecorderDrops int64 // frames the voicemail recorder fell behind on and lost (counted when each call ends)
	ActiveCalls   int   // calls up now (ringing or answered)
}

// counters are the atomics behind Counters.
type counters struct {
	calls, answered, voicemails, underruns, drops atomic.Int64
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
		CallsTotal:    b.count.calls.Load(),
		CallsAnswered: b.count.answered.Load(),
		Voicemails:    b.count.voicemails.Load(),
		Underruns:     b.count.underruns.Load(),
		RecorderDrops: b.count.drops.Load(),
		ActiveCalls:   active,
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
func (b *Board) callNumber(c *call) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
