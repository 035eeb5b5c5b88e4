package switchboard

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Call control from the operator panel: what each line's call is doing now, and hanging it
// up, transferring the conversation to another operator's phone, or ringing one operator at
// once for a caller who waits. Take and Transfer are handed to the call's own flow goroutine
// (the one that rings and bridges), which accepts them only while the call is in the right
// state; Hangup cancels the call's context as the caller's own hang-up would.

// CallState is what a call is doing now.
type CallState string

// The states of a call, as [Board.Calls] reports them.
const (
	StateIncoming  CallState = "incoming"  // ringing the box; not answered yet
	StateMenu      CallState = "menu"      // the box plays the greeting, menu or a message
	StateQueue     CallState = "queue"     // waiting for a free person, hold music on
	StateRinging   CallState = "ringing"   // operators' phones ring for it
	StateTalking   CallState = "talking"   // an operator talks with the caller
	StateVoicemail CallState = "voicemail" // the caller leaves a message
)

// Errors of the call control.
var (
	// ErrNoCall is returned when the line has no call (or it ended meanwhile).
	ErrNoCall = errors.New("no call on this line")
	// ErrNotAnswered is returned for a call the box has not answered yet: wait a moment.
	ErrNotAnswered = errors.New("the box has not answered the call yet")
	// ErrNotTalking is returned by Transfer when nobody talks with the caller.
	ErrNotTalking = errors.New("nobody talks with the caller")
	// ErrNotWaiting is returned by Take when the caller does not wait for a person (still in
	// the menu, leaving a message, or talking already).
	ErrNotWaiting = errors.New("the caller does not wait for a person")
	// ErrUnknownOperator is returned for an operator that does not exist.
	ErrUnknownOperator = errors.New("unknown operator")
	// ErrNoPhone is returned for an operator without a phone the box can ring now (for a
	// transfer: a registered SIP phone).
	ErrNoPhone = errors.New("the operator has no phone the box can ring now")
)

// controlWait is how long a request waits for the call's flow to take it: the flow listens
// for requests all the time it rings or waits, so only a call that changes state just then
// lets it run out.
const controlWait = 2 * time.Second

// LiveCall is one line's call as the operator panel shows it.
type LiveCall struct {
	LineID string
	CallID int64     // its record in the call log (0 when the log failed)
	Number string    // the caller as the line reported it: untrusted, "" when withheld
	Since  time.Time // the first ring
	State  CallState
	// With is who talks with the caller (StateTalking) or whose phones ring (StateRinging).
	With []string
	// Position is the caller's place in the queue, from 1 (0 when not queued).
	Position int
}

// Calls returns the call of every line that has one, by line ID.
func (b *Board) Calls() []LiveCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]LiveCall, 0, len(b.active))
	for id, a := range b.active {
		out = append(out, b.liveCall(id, a))
	}
	slices.SortFunc(out, func(x, y LiveCall) int { return strings.Compare(x.LineID, y.LineID) })
	return out
}

// Call returns the line's call; ok is false when it has none.
func (b *Board) Call(lineID string) (lc LiveCall, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.active[lineID]
	if !ok {
		return LiveCall{}, false
	}
	return b.liveCall(lineID, a), true
}

// liveCall describes a; b.mu is held.
func (b *Board) liveCall(id string, a activeCall) LiveCall {
	lc := LiveCall{LineID: id, CallID: a.c.id, Number: a.number, Since: a.since, State: a.c.phase, With: slices.Clone(a.c.with)}
	if lc.State == "" {
		lc.State = StateIncoming
	}
	lc.Position = slices.Index(b.queue, a.c) + 1
	return lc
}

// setPhase records what the call does now (for the panel).
func (c *call) setPhase(s CallState, with ...string) {
	b := c.l.b
	b.mu.Lock()
	defer b.mu.Unlock()
	c.phase, c.with = s, with
}

// current returns the line's call as the control sees it.
func (b *Board) current(lineID string) (*call, CallState, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.active[lineID]
	if !ok {
		return nil, "", ErrNoCall
	}
	if a.c.phase == "" || a.c.phase == StateIncoming {
		return nil, StateIncoming, ErrNotAnswered
	}
	return a.c, a.c.phase, nil
}

// errEndedFromAdmin is the cause of a call that was hung up from the admin.
var errEndedFromAdmin = errors.New("ended from the admin")

// Hangup ends the line's call (answered by the box) at once, as if the caller hung up: an
// operator on it is hung up too, and the call's record says who ended it (by, the admin's
// user name).
func (b *Board) Hangup(lineID, by string) error {
	c, _, err := b.current(lineID)
	if err != nil {
		return err
	}
	cause := errEndedFromAdmin
	if by != "" {
		cause = fmt.Errorf("%w by %s", errEndedFromAdmin, by)
	}
	c.cancel(cause)
	c.l.log.Info("call ended from the admin", "call", c.id, "by", by)
	return nil
}

// Transfer hands the line's conversation to another operator's SIP phone, as the operator's
// own phone does with a blind transfer: the operator talking is hung up, the caller hears hold
// music while to's phone rings, and talks with to if they answer. to needs a SIP phone
// (to.SIPUser).
func (b *Board) Transfer(ctx context.Context, lineID string, to Person) error {
	if to.SIPUser == "" {
		return ErrNoPhone
	}
	c, state, err := b.current(lineID)
	if err != nil {
		return err
	}
	if state != StateTalking {
		return ErrNotTalking
	}
	name := to.Name
	if name == "" {
		name = to.SIPUser
	}
	if err := send(ctx, c, c.xfers, transferred{user: to.SIPUser, name: name}, ErrNotTalking); err != nil {
		return err
	}
	c.l.log.Info("transfer from the admin", "call", c.id, "to", name)
	return nil
}

// Take rings only p, at once, for the line's caller who waits for a person (ringing others or
// queued): the phones that ring for the call stop, and the caller jumps the queue. If p does
// not answer within the flow's ring time, the call goes on as the flow says (the queue's next
// round, or the ring node's next step when it is not a queue).
func (b *Board) Take(ctx context.Context, lineID string, p Person) error {
	if p.SIPUser == "" && p.Mobile == "" {
		return ErrNoPhone
	}
	c, state, err := b.current(lineID)
	if err != nil {
		return err
	}
	if state != StateRinging && state != StateQueue {
		return ErrNotWaiting
	}
	if err := send(ctx, c, c.takes, p, ErrNotWaiting); err != nil {
		return err
	}
	c.l.log.Info("taken from the admin", "call", c.id, "for", p.Name)
	return nil
}

// send hands v to the call's flow goroutine over ch; notNow is the error when the flow does not
// take it within controlWait.
func send[T any](ctx context.Context, c *call, ch chan T, v T, notNow error) error {
	t := time.NewTimer(controlWait)
	defer t.Stop()
	select {
	case ch <- v:
		return nil
	case <-c.ctx.Done():
		return ErrNoCall
	case <-c.done:
		return ErrNoCall
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return notNow
	}
}
