// Package switchboard is the heart of the hotline: a line's call comes in, the flow decides what
// happens, and the audio goes where it must. It writes the call record (before any audio flows)
// and completes it at the end. It knows no modem dialect: lines are hw.Line.
//
// # Concepts
//
// One goroutine per line reads the line's events. An answered call gets two goroutines: the flow
// (straight-line code: play, wait for a key, record) and the audio pump that moves 20 ms frames.
// Both end the moment the caller hangs up (the call's context is cancelled).
package switchboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"hotline/daemon/store"
	"hotline/hw"
	"hotline/voice/ivr"
)

// Store is what the switchboard writes: the call log and voicemail.
type Store interface {
	StartCall(ctx context.Context, lineID, rawNumber string, startedAt time.Time) (int64, error)
	SetCallNumber(ctx context.Context, id int64, rawNumber string) error
	AnswerCall(ctx context.Context, id int64, at time.Time) error
	FinishCallSummary(ctx context.Context, id int64, endedAt time.Time, sum store.Summary) error
	StartVoicemail(ctx context.Context, callID int64, file string, at time.Time) (int64, error)
	FinishVoicemail(ctx context.Context, id int64, d time.Duration) error
	Setting(ctx context.Context, key, def string) (string, error)
	AddCallback(ctx context.Context, callID int64, rawNumber string) (int64, error)
	ClaimAutoReply(ctx context.Context, number, day string) (bool, error)
}

// Flow returns the flow new calls run and its version.
type Flow func(ctx context.Context) (*ivr.Flow, int64, error)

// Prompts loads a prompt's samples by language and name.
type Prompts func(lang, name string) ([]int16, error)

// Options configure a Board.
type Options struct {
	Store        Store
	Prompts      Prompts
	Flow         Flow   // nil: the default flow in the box's language
	People       People // nil: nobody answers (calls for a person end in voicemail)
	VoicemailDir string // where voicemail WAV files go
	RecordingDir string // where recorded conversations go ("": none are recorded)
	Logger       *slog.Logger
	// SendSMS sends a text to a number from any line that can (nil: no SMS replies).
	SendSMS func(ctx context.Context, number, text string) error
	// MissedSMS is the owner's text for a caller who called after hours and left no message
	// ("" or nil: none); sent at most once a day per number.
	MissedSMS func(ctx context.Context) string
	// CanRecord says whether a recording may start or go on (nil: always); an error (e.g. the
	// disk is full) stops it cleanly and is logged.
	CanRecord func() error
	// WriteFailed hears of a recording that failed to write (a full or read-only disk), so the
	// disk guard can act at once (nil: nobody).
	WriteFailed func(error)
	// ClockUnset reports that the wall clock is known to be wrong (a board that has not got the
	// time yet): schedules are not trusted then and the hotline counts as open (nil: never).
	ClockUnset func() bool
	// Now is the wall clock schedules are read from (nil: time.Now).
	Now func() time.Time
	// Speed runs the call path's waits Speed times faster than real time (0 or 1: real time;
	// a simulator's lines that deliver their frames as much faster, for soak tests): the
	// menus' timeouts, ringing, queue waits and announcements, the operator's take-key wait.
	// The audio follows the line's own frames. Waits and talk times in the call summary are
	// call time; the record's timestamps (started, answered, ended) stay wall clock.
	Speed float64
}

// CallEnd tells subscribers that a call's record is complete.
type CallEnd struct {
	LineID string
	CallID int64
}

// Board runs the calls of every line.
type Board struct {
	opts Options
	log  *slog.Logger
	clk  clock // the call path's waits (Options.Speed)

	mu      sync.Mutex
	subs    map[chan CallEnd]struct{}
	states  map[string]string     // line ID -> last State event ("ready", "down", ...)
	active  map[string]activeCall // line ID -> its current call
	lines   map[string]*lineState // lines being served
	queue   []*call               // callers waiting for a person, longest first
	talking map[string]int        // people on a call now

	count counters
}

// New makes a Board.
func New(opts Options) *Board {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Board{opts: opts, log: opts.Logger, clk: newClock(opts.Speed), subs: map[chan CallEnd]struct{}{}, states: map[string]string{}, active: map[string]activeCall{}, lines: map[string]*lineState{}, talking: map[string]int{}}
}

// Subscribe returns a channel that receives every finished call until cancel is called.
func (b *Board) Subscribe() (<-chan CallEnd, func()) {
	// Room for every call that ends on the other lines while a subscriber waits through one
	// call of its own (a test call on a simulator running faster than real time ends dozens):
	// a full channel loses the event.
	ch := make(chan CallEnd, 256)
	b.mu.Lock()
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *Board) publish(e CallEnd) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

// LineState returns what the line last said of itself ("ready", "down", ...; "" before it said
// anything).
func (b *Board) LineState(id string) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.states[id]
}

// Serve handles the calls of line until ctx ends or the line's events close. Run it in a
// goroutine per line; it waits for the line's calls to end before it returns.
func (b *Board) Serve(ctx context.Context, line hw.Line) error {
	l := &lineState{b: b, line: line, log: b.log.With("line", line.ID())}
	b.mu.Lock()
	b.lines[line.ID()] = l
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.lines, line.ID())
		b.mu.Unlock()
	}()
	defer l.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			l.endCall()
			return nil
		case ev, ok := <-line.Events():
			if !ok {
				l.endCall()
				return nil
			}
			l.handle(ctx, ev)
		}
	}
}

// lineState is what the line goroutine knows about the current call.
type lineState struct {
	b    *Board
	line hw.Line
	log  *slog.Logger
	wg   sync.WaitGroup

	call *call // nil when idle

	mu      sync.Mutex
	outBusy bool     // reserved for a call the box places
	out     *dialled // that call, once it is up
}

// reserve takes the line for a call the box places; false if it is busy.
func (l *lineState) reserve() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.outBusy || l.b.hasCall(l) || l.b.LineState(l.line.ID()) != "ready" {
		return false
	}
	l.outBusy = true
	return true
}

func (l *lineState) release() {
	l.mu.Lock()
	l.outBusy = false
	l.mu.Unlock()
}

func (l *lineState) setOut(d *dialled) {
	l.mu.Lock()
	l.out = d
	l.mu.Unlock()
}

// outgoing returns the placed call in progress, if any.
func (l *lineState) outgoing() (*dialled, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.out, l.outBusy
}

func (l *lineState) handle(ctx context.Context, ev hw.Event) {
	switch ev.Kind {
	case hw.Ring:
		l.ring(ctx, ev)
	case hw.Digit:
		var keys chan byte
		if l.call != nil {
			keys = l.call.modemKey
		} else if d, _ := l.outgoing(); d != nil {
			keys = d.pump.modemKey // the operator's key on a mobile the box called
		}
		select {
		case keys <- ev.Digit:
		default:
		}
	case hw.Hangup:
		if d, _ := l.outgoing(); d != nil && l.call == nil {
			l.log.Info("placed call ended by the far end", "cause", ev.Cause)
			d.cancel()
			return
		}
		if l.call != nil {
			l.log.Info("call ended by the line", "cause", ev.Cause)
			l.b.callEnded(l.call)
			l.call.hungUp(ev.Cause)
			l.call = nil
		}
	case hw.CallerID:
		if l.call != nil && l.call.number == "" && ev.Number != "" {
			l.b.callNumber(l.call, ev.Number)
			l.log.Info("caller's number learned", "call", l.call.id, "number", ev.Number)
			if l.call.id != 0 {
				if err := l.b.opts.Store.SetCallNumber(ctx, l.call.id, ev.Number); err != nil {
					l.log.Error("cannot record the caller's number", "err", err)
				}
			}
		}
		if l.call != nil && l.call.numberLater {
			// The caller ID the box waited for: answer now, not at the next ring.
			l.call.numberLater = false
			l.answerWhenDue(ctx)
		}
	case hw.State:
		l.log.Info("line state", "state", ev.State)
		l.b.mu.Lock()
		l.b.states[l.line.ID()] = ev.State
		l.b.mu.Unlock()
	}
}

func (l *lineState) ring(ctx context.Context, ev hw.Event) {
	if _, busy := l.outgoing(); busy && l.call == nil {
		l.log.Warn("ring while the line places a call: left to the modem's call waiting")
		return
	}
	if l.call == nil {
		at := ev.Time
		if at.IsZero() {
			at = time.Now()
		}
		id, err := l.b.opts.Store.StartCall(ctx, l.line.ID(), ev.Number, at)
		if err != nil {
			// The call is still answered: a caller must never meet a dead line because the log failed.
			l.log.Error("cannot record the call", "err", err)
		}
		l.call = newCall(l, id, ev.Number)
		l.b.callStarted(l.call, at)
		l.log.Info("incoming call", "call", id, "number", ev.Number)
	}
	c := l.call
	c.rings = ev.Rings
	// An analog line's caller ID comes after the first ring: wait for it (up to the second
	// ring), or the call is logged without the number to call back.
	c.numberLater = ev.NumberLater && c.number == ""
	l.answerWhenDue(ctx)
}

// answerWhenDue starts the ringing call's answer and flow once it has rung as often as the
// owner set and its caller ID is not still on its way.
func (l *lineState) answerWhenDue(ctx context.Context) {
	c := l.call
	if c == nil || c.started || c.numberLater || c.rings < l.b.answerRings(ctx) {
		return
	}
	c.started = true
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		c.run(ctx)
	}()
}

// endCall cancels the running call (shutdown).
func (l *lineState) endCall() {
	if l.call != nil {
		l.b.callEnded(l.call)
		l.call.hungUp("box stopped")
		l.call = nil
	}
}

// answerRings is the configured number of rings before the box answers (1..10).
func (b *Board) answerRings(ctx context.Context) int {
	v, err := b.opts.Store.Setting(ctx, "answer_rings", "1")
	if err != nil {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 1
	}
	return min(n, 10)
}

// errHungUp is the cause given to a call's context when the line reports the end of the call.
var errHungUp = errors.New("caller hung up")

// call is one call on a line, from its first ring to its record's completion.
type call struct {
	l       *lineState
	id      int64
	number  string
	rings   int
	started bool
	// numberLater: the line said the caller ID may still come after this ring (analog).
	numberLater bool
	modemKey    chan byte

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
	lost   atomic.Bool // the modem was lost mid-call

	// for the operator panel (control.go): what the call does now, guarded by Board.mu, and
	// requests to the flow goroutine (nil channels for a callback's call)
	phase CallState
	with  []string
	takes chan Person
	xfers chan transferred
}

func newCall(l *lineState, id int64, number string) *call {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &call{l: l, id: id, number: number, modemKey: make(chan byte, 16), ctx: ctx, cancel: cancel, done: make(chan struct{}),
		phase: StateIncoming, takes: make(chan Person), xfers: make(chan transferred)}
}

// hungUp is called by the line goroutine when the call is over from the line's side.
func (c *call) hungUp(cause string) {
	if cause == hw.CauseModemLost {
		c.lost.Store(true)
	}
	c.cancel(fmt.Errorf("%w: %s", errHungUp, cause))
	if !c.started {
		// Never answered: the record is completed here.
		c.finish(context.Background(), time.Now(), "", "missed")
	}
}

func (c *call) finish(ctx context.Context, at time.Time, path, outcome string) {
	c.finishSummary(ctx, at, store.Summary{Outcome: outcome, MenuPath: path})
}

func (c *call) finishSummary(ctx context.Context, at time.Time, sum store.Summary) {
	if c.id != 0 {
		if err := c.l.b.opts.Store.FinishCallSummary(ctx, c.id, at, sum); err != nil {
			c.l.log.Error("cannot complete the call record", "call", c.id, "err", err)
		}
	}
	c.l.b.callEnded(c)
	c.l.log.Info("call finished", "call", c.id, "outcome", sum.Outcome, "keys", sum.MenuPath, "path", sum.Nodes, "answered_by", sum.AnsweredBy)
	c.l.b.publish(CallEnd{LineID: c.l.line.ID(), CallID: c.id})
}

// callerNumber is the caller's number as the line gave it ("" when withheld).
func (c *call) callerNumber() string {
	c.l.b.mu.Lock()
	defer c.l.b.mu.Unlock()
	return c.number
}
