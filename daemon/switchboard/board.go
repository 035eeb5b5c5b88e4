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
	"time"

	"hotline/hw"
)

// Store is what the switchboard writes: the call log and voicemail.
type Store interface {
	StartCall(ctx context.Context, lineID, rawNumber string, startedAt time.Time) (int64, error)
	SetCallNumber(ctx context.Context, id int64, rawNumber string) error
	AnswerCall(ctx context.Context, id int64, at time.Time) error
	FinishCall(ctx context.Context, id int64, endedAt time.Time, menuPath, outcome string) error
	StartVoicemail(ctx context.Context, callID int64, file string, at time.Time) (int64, error)
	FinishVoicemail(ctx context.Context, id int64, d time.Duration) error
	Setting(ctx context.Context, key, def string) (string, error)
}

// Prompts loads a prompt's samples by language and name.
type Prompts func(lang, name string) ([]int16, error)

// Options configure a Board.
type Options struct {
	Store        Store
	Prompts      Prompts
	VoicemailDir string // where voicemail WAV files go
	Logger       *slog.Logger
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

	mu     sync.Mutex
	subs   map[chan CallEnd]struct{}
	states map[string]string     // line ID -> last State event ("ready", "down", ...)
	active map[string]activeCall // line ID -> its current call

	count counters
}

// New makes a Board.
func New(opts Options) *Board {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Board{opts: opts, log: opts.Logger, subs: map[chan CallEnd]struct{}{}, states: map[string]string{}, active: map[string]activeCall{}}
}

// Subscribe returns a channel that receives every finished call until cancel is called.
func (b *Board) Subscribe() (<-chan CallEnd, func()) {
	ch := make(chan CallEnd, 16)
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
}

func (l *lineState) handle(ctx context.Context, ev hw.Event) {
	switch ev.Kind {
	case hw.Ring:
		l.ring(ctx, ev)
	case hw.Digit:
		if l.call != nil {
			select {
			case l.call.modemKey <- ev.Digit:
			default:
			}
		}
	case hw.Hangup:
		if l.call != nil {
			l.log.Info("call ended by the line", "cause", ev.Cause)
			l.b.callEnded(l.call)
			l.call.hungUp(ev.Cause)
			l.call = nil
		}
	case hw.CallerID:
		if l.call != nil && l.call.number == "" && ev.Number != "" {
			l.call.number = ev.Number
			l.b.callNumber(l.call)
			l.log.Info("caller's number learned", "call", l.call.id, "number", ev.Number)
			if l.call.id != 0 {
				if err := l.b.opts.Store.SetCallNumber(ctx, l.call.id, ev.Number); err != nil {
					l.log.Error("cannot record the caller's number", "err", err)
				}
			}
		}
	case hw.State:
		l.log.Info("line state", "state", ev.State)
		l.b.mu.Lock()
		l.b.states[l.line.ID()] = ev.State
		l.b.mu.Unlock()
	}
}

func (l *lineState) ring(ctx context.Context, ev hw.Event) {
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
	if c.started {
		return
	}
	want := l.b.answerRings(ctx)
	if ev.Rings < want {
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
	l        *lineState
	id       int64
	number   string
	rings    int
	started  bool
	modemKey chan byte

	ctx    context.Context
	cancel context.CancelCauseFunc
	done   chan struct{}
}

func newCall(l *lineState, id int64, number string) *call {
	ctx, cancel := context.WithCancelCause(context.Background())
	return &call{l: l, id: id, number: number, modemKey: make(chan byte, 16), ctx: ctx, cancel: cancel, done: make(chan struct{})}
}

// hungUp is called by the line goroutine when the call is over from the line's side.
func (c *call) hungUp(cause string) {
	c.cancel(fmt.Errorf("%w: %s", errHungUp, cause))
	if !c.started {
		// Never answered: the record is completed here.
		c.finish(context.Background(), time.Now(), "", "missed")
	}
}

func (c *call) finish(ctx context.Context, at time.Time, path, outcome string) {
	if c.id != 0 {
		if err := c.l.b.opts.Store.FinishCall(ctx, c.id, at, path, outcome); err != nil {
			c.l.log.Error("cannot complete the call record", "call", c.id, "err", err)
		}
	}
	c.l.b.callEnded(c)
	if outcome == "voicemail" {
		c.l.b.count.voicemails.Add(1)
	}
	c.l.log.Info("call finished", "call", c.id, "outcome", outcome, "menu", path)
	c.l.b.publish(CallEnd{LineID: c.l.line.ID(), CallID: c.id})
}
