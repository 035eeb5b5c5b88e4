package ivr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Logger may be implemented by an Env to give the interpreter the call's logger; without it
// the interpreter logs to slog.Default().
type Logger interface {
	Logger() *slog.Logger
}

// deadEnd is what a step returns when the way on it needs is not set: the interpreter then
// takes a message, as a flow must never leave a caller stuck.
const deadEnd = "\x00dead end"

// Run walks one call through f until it ends and returns what happened. It never leaves the
// caller stuck: a way on that is not set or leads nowhere, an unknown kind of node, and more
// than MaxSteps nodes end in voicemail (logged, and named in Result.Fallback).
//
// A menu works as the box's first menu always has: a key pressed during the menu prompt (or
// during the message just before it) is the choice; after the prompt it waits TimeoutSec for a
// key; no key or a key that is not a choice (then the Invalid prompt plays) costs one of Retries
// tries, and then the call goes to NoInput.
//
// The outcome: answered once a person talked with the caller; voicemail or callback once the
// Env stored one; missed if the caller hung up while a person was rung or queued for, or after
// nobody answered and before the caller chose anything else; completed when the flow reached
// a hang-up node or its end, or the caller hung up after a choice; abandoned when the caller hung
// up before any choice; failed when the Env failed other than by the caller hanging up.
func Run(ctx context.Context, f *Flow, env Env) Result {
	r := &runner{ctx: ctx, env: env, byID: map[string]*Node{}}
	if lg, ok := env.(Logger); ok && lg.Logger() != nil {
		r.log = lg.Logger()
	} else {
		r.log = slog.Default()
	}
	start := ""
	if f != nil {
		start = f.Start
		for i := range f.Nodes {
			n := &f.Nodes[i]
			if _, dup := r.byID[n.ID]; !dup && n.ID != "" {
				r.byID[n.ID] = n
			}
		}
	}
	if start == "" {
		return r.fallback("the flow has no start")
	}
	id := start
	for {
		if err := ctx.Err(); err != nil {
			return r.end(err)
		}
		if id == "" {
			return r.end(nil)
		}
		n := r.byID[id]
		switch {
		case id == deadEnd:
			return r.fallback(fmt.Sprintf("dead end after %q", r.last()))
		case n == nil:
			return r.fallback(fmt.Sprintf("no node %q", id))
		case len(r.res.Path) >= MaxSteps:
			return r.fallback(fmt.Sprintf("more than %d steps", MaxSteps))
		}
		r.res.Path = append(r.res.Path, n.ID)
		if n.Kind != KindMenu {
			r.pending = 0
		}
		next, err := r.step(n)
		if err != nil {
			return r.end(err)
		}
		id = next
	}
}

type runner struct {
	ctx  context.Context
	env  Env
	log  *slog.Logger
	byID map[string]*Node
	res  Result

	pending  byte    // a key pressed during the message before a menu: the menu's first choice
	engaged  bool    // the caller chose something
	waiting  bool    // a person was rung and has not answered, and the caller chose nothing since
	answered bool    // a person talked with the caller
	stored   Outcome // voicemail or callback, once the Env stored one
}

func (r *runner) last() string {
	if len(r.res.Path) == 0 {
		return ""
	}
	return r.res.Path[len(r.res.Path)-1]
}

// end completes the result; err is nil when the flow ended, the ctx error when the caller hung
// up, or an Env failure.
func (r *runner) end(err error) Result {
	hungUp := err != nil && r.ctx.Err() != nil
	switch {
	case r.answered:
		r.res.Outcome = OutcomeAnswered
	case r.stored != "":
		r.res.Outcome = r.stored
	case err != nil && !hungUp:
		r.res.Outcome = OutcomeFailed
	case r.waiting:
		r.res.Outcome = OutcomeMissed
	case hungUp && !r.engaged:
		r.res.Outcome = OutcomeAbandoned
	default:
		r.res.Outcome = OutcomeCompleted
	}
	if err != nil && !hungUp {
		r.res.Err = err
		r.log.Error("call flow failed", "node", r.last(), "err", err)
	}
	return r.res
}

// fallback takes a message from a caller whom the flow left with nowhere to go.
func (r *runner) fallback(why string) Result {
	r.log.Warn("call flow went wrong, taking a message", "why", why, "node", r.last())
	r.res.Fallback = why
	if _, err := r.env.Play(r.ctx, PromptVoicemail, false); err != nil {
		return r.end(err)
	}
	if err := r.voicemail("", DefaultVoicemailMax); err != nil {
		return r.end(err)
	}
	if _, err := r.env.Play(r.ctx, PromptGoodbye, false); err != nil {
		return r.end(err)
	}
	return r.end(nil)
}

func (r *runner) voicemail(box string, max time.Duration) error {
	err := r.env.Voicemail(r.ctx, box, max)
	if errors.Is(err, ErrNoRecording) && r.ctx.Err() == nil {
		r.log.Warn("no message could be taken", "err", err)
		r.waiting = true // the caller wanted to leave one: a missed call to return
		return nil
	}
	if err == nil || r.ctx.Err() != nil {
		// A hang-up is the usual end of a message.
		r.stored, r.waiting = OutcomeVoicemail, false
	}
	if err != nil {
		return fmt.Errorf("voicemail: %w", err)
	}
	return nil
}

// or is to, or deadEnd when a way on that is needed is not set.
func or(to string) string {
	if to == "" {
		return deadEnd
	}
	return to
}

// play plays a prompt unless the name is empty.
func (r *runner) play(name string, bargeIn bool) (byte, error) {
	if name == "" {
		return 0, nil
	}
	key, err := r.env.Play(r.ctx, name, bargeIn)
	if err != nil {
		return 0, fmt.Errorf("play %s: %w", name, err)
	}
	return key, nil
}

// key plays prompt with barge-in and then waits up to timeout: the key pressed, or 0.
func (r *runner) key(prompt string, timeout time.Duration) (byte, error) {
	k, err := r.play(prompt, true)
	if err != nil || k != 0 {
		return k, err
	}
	k, err = r.env.WaitKey(r.ctx, timeout)
	if err != nil {
		return 0, fmt.Errorf("wait for a key: %w", err)
	}
	return k, nil
}

// step does what n does and returns the ID of the node to go to ("" ends the call).
func (r *runner) step(n *Node) (string, error) {
	switch n.Kind {
	case KindPlay:
		next := r.byID[n.Next]
		key, err := r.play(n.prompt(), next != nil && next.Kind == KindMenu)
		r.pending = key
		return or(n.Next), err
	case KindMenu:
		return r.menu(n)
	case KindSchedule:
		return r.schedule(n), nil
	case KindRing, KindQueue, KindForward:
		return r.connect(n)
	case KindVoicemail:
		if _, err := r.play(n.prompt(), false); err != nil {
			return "", err
		}
		return n.Next, r.voicemail(n.Box, seconds(n.MaxLengthSec, DefaultVoicemailMax))
	case KindCallback:
		if err := r.env.Callback(r.ctx); err != nil {
			return "", fmt.Errorf("callback: %w", err)
		}
		r.stored, r.waiting = OutcomeCallback, false
		_, err := r.play(n.prompt(), false)
		return n.Next, err
	case KindSurvey:
		return n.Next, r.survey(n)
	case KindLanguage:
		return or(n.Next), r.language(n)
	case KindSMS:
		if err := r.env.SMS(r.ctx, n.Text); err != nil {
			if r.ctx.Err() != nil {
				return "", err
			}
			r.log.Warn("cannot send the SMS", "node", n.ID, "err", err)
		}
		return or(n.Next), nil
	case KindHangup:
		_, err := r.play(n.Prompt, false)
		return "", err
	}
	return deadEnd, nil
}

func (r *runner) menu(n *Node) (string, error) {
	tries := n.Retries
	if tries <= 0 {
		tries = DefaultMenuTries
	}
	tries = min(tries, MaxMenuTries)
	timeout := seconds(n.TimeoutSec, DefaultMenuTimeout)
	key := r.pending
	r.pending = 0
	for t := 0; t < tries; {
		var err error
		if key == 0 {
			if key, err = r.key(n.prompt(), timeout); err != nil {
				return "", err
			}
		}
		choice := key
		key = 0
		if choice == 0 {
			t++
			continue
		}
		r.res.Digits += string(choice)
		if to, ok := n.Choices[string(choice)]; ok {
			r.engaged, r.waiting = true, false
			return to, nil
		}
		t++
		if _, err := r.play(n.invalidPrompt(), false); err != nil {
			return "", err
		}
	}
	return or(n.NoInput), nil
}

func (r *runner) schedule(n *Node) string {
	open, holiday := true, false
	if n.Schedule == nil {
		r.log.Warn("schedule node without a schedule: open", "node", n.ID)
	} else {
		var err error
		if open, holiday, err = n.Schedule.Open(r.env.Now()); err != nil {
			r.log.Warn("bad schedule: open", "node", n.ID, "err", err)
			open = true
		}
	}
	switch r.env.ClosedOverride() {
	case "open":
		open = true
	case "closed":
		open, holiday = false, false
	}
	if open {
		return or(n.Open)
	}
	r.res.Closed = true
	if holiday && n.Holiday != "" {
		return n.Holiday
	}
	return or(n.Closed)
}

func (r *runner) connect(n *Node) (string, error) {
	if n.Record {
		if _, err := r.play(PromptRecordingNotice, false); err != nil {
			return "", err
		}
	}
	if _, err := r.play(n.prompt(), false); err != nil {
		return "", err
	}
	c := Connect{
		Node:      n.ID,
		Operators: n.Operators,
		Strategy:  n.Strategy,
		Ring:      seconds(n.RingSec, DefaultRing),
		Number:    n.Number,
		Record:    n.Record,
	}
	if c.Strategy == "" {
		c.Strategy = RingAll
	}
	if n.Kind == KindForward {
		c.Operators = nil
	}
	if n.Kind == KindQueue {
		c.Queue = true
		c.MaxWait = seconds(n.MaxWaitSec, DefaultMaxWait)
		c.Music = n.Music
		c.Announce = seconds(n.AnnounceSec, DefaultAnnounce)
		if validKey(n.LeaveKey) {
			c.LeaveKey = n.LeaveKey[0]
		}
	}
	r.waiting = true
	got, err := r.env.Connect(r.ctx, c)
	r.res.QueueWait += got.Wait
	if got.Answered {
		r.answered, r.waiting = true, false
		r.res.AnsweredBy = got.By
		r.res.Talk += got.Talk
	}
	if err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	switch {
	case got.Answered:
		return n.Next, nil
	case got.Left && c.LeaveKey != 0:
		r.res.Digits += string(c.LeaveKey)
		return or(n.Leave), nil
	}
	return or(n.NoAnswer), nil
}

func (r *runner) survey(n *Node) error {
	for try := 0; try < 2; try++ {
		key, err := r.key(n.prompt(), seconds(n.TimeoutSec, DefaultMenuTimeout))
		if err != nil {
			return err
		}
		if key == 0 {
			continue
		}
		r.res.Digits += string(key)
		if key < '1' || key > '5' {
			continue
		}
		score := int(key - '0')
		r.res.Survey = score
		if err := r.env.Survey(r.ctx, score); err != nil {
			if r.ctx.Err() != nil {
				return err
			}
			r.log.Warn("cannot store the survey score", "node", n.ID, "err", err)
		}
		_, err = r.play(PromptSurveyThanks, false)
		return err
	}
	return nil
}

func (r *runner) language(n *Node) error {
	for try := 0; try < DefaultMenuTries; try++ {
		key, err := r.key(n.prompt(), seconds(n.TimeoutSec, DefaultMenuTimeout))
		if err != nil {
			return err
		}
		if key == 0 {
			continue
		}
		r.res.Digits += string(key)
		if lang, ok := n.Languages[string(key)]; ok {
			r.env.SetLanguage(lang)
			r.res.Language = lang
			r.engaged, r.waiting = true, false
			return nil
		}
		if _, err := r.play(n.invalidPrompt(), false); err != nil {
			return err
		}
	}
	return nil
}
