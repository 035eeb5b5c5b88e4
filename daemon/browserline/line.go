// Package browserline is a telephone line whose caller is the owner's web browser: the admin's
// test-call page places a call into the box through it, so the owner hears the greeting, presses
// keys and leaves a message over the box's real call flow. The browser's side travels over a
// small [Transport] (a WebSocket in the web admin) as 20 ms frames of 8 kHz s16le both ways.
//
// A Line takes one call at a time. [Line.Call] rings the box, waits for the switchboard to answer,
// then carries the browser's frames to the call's audio until either side hangs up.
package browserline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"hotline/hw"
)

const (
	// FrameBytes is one 20 ms frame of 8 kHz s16le, the size of every frame both ways.
	FrameBytes = 320
	// Number is the caller ID the box sees for a call from the browser.
	Number = "browser"

	defaultRingEvery = time.Second
	answerWithin     = 30 * time.Second // the box answers within this or the call is given up
	maxCall          = 15 * time.Minute // a test call never lasts longer
	eventSendLimit   = 5 * time.Second  // how long a Hangup event may wait for the switchboard
)

var (
	// ErrBusy is returned by Call when a call from a browser is already on the line.
	ErrBusy = errors.New("browserline: a test call is already on the line")
	// ErrHangup is returned by a Transport's ReadFrame when the browser hung up.
	ErrHangup = errors.New("browserline: the browser hung up")
	// ErrNotAnswered is returned by Call when the box did not answer in time.
	ErrNotAnswered = errors.New("browserline: the box did not answer")

	errFrameSize = errors.New("browserline: an audio frame is 320 bytes (20 ms of s16le)")
)

// Transport carries one call's audio to and from the browser.
type Transport interface {
	// ReadFrame fills p (FrameBytes long) with the next 20 ms from the browser, waiting for it.
	// It returns ErrHangup when the browser hung up and another error when the connection is
	// gone.
	ReadFrame(p []byte) error
	// WriteFrame sends 20 ms to the browser. It must not block for long (a slow browser loses
	// frames or the call, never stalls the box).
	WriteFrame(p []byte) error
	// Close ends the connection; a blocked ReadFrame returns.
	Close() error
}

// Line is the browser's line. Make it with [New]; the switchboard serves it like any line.
type Line struct {
	id     string
	log    *slog.Logger
	events chan hw.Event

	// RingEvery is the time between rings while the box has not answered; set before the
	// first call (tests shorten it).
	RingEvery time.Duration

	mu   sync.Mutex
	call *call // nil when idle
}

var _ hw.Line = (*Line)(nil)

// New returns an idle browser line named id ("browser"); log nil discards.
func New(id string, log *slog.Logger) *Line {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Line{
		id:        id,
		log:       log.With("line", id),
		events:    make(chan hw.Event, 32),
		RingEvery: defaultRingEvery,
	}
}

// ID is the line's name.
func (l *Line) ID() string { return l.id }

// Events delivers the line's events. It is never closed.
func (l *Line) Events() <-chan hw.Event { return l.events }

// Busy reports whether a call from a browser is on the line.
func (l *Line) Busy() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.call != nil
}

// call is one call from the browser.
type call struct {
	t        Transport
	answered chan struct{} // closed by Answer
	answer   sync.Once
	done     chan struct{} // closed when the call ends, by either side
	end      sync.Once
	cause    atomic.Pointer[string]
	audio    *audio
}

func (c *call) hangup(cause string) {
	c.end.Do(func() {
		c.cause.Store(&cause)
		close(c.done)
	})
}

// Call places a call from the browser into the box over t, and returns when it ended (either
// side hung up, the transport failed, ctx ended, or the box did not answer). It closes t before
// it returns. It fails at once with ErrBusy when another call is on the line.
func (l *Line) Call(ctx context.Context, t Transport) error {
	c := &call{
		t:        t,
		answered: make(chan struct{}),
		done:     make(chan struct{}),
	}
	c.audio = newAudio(c, l.id)
	l.mu.Lock()
	if l.call != nil {
		l.mu.Unlock()
		_ = t.Close()
		return ErrBusy
	}
	l.call = c
	l.mu.Unlock()

	ctx, cancel := context.WithTimeout(ctx, maxCall)
	defer cancel()
	// The reader below blocks in t.ReadFrame; closing t when the call ends lets it return.
	stop := context.AfterFunc(ctx, func() { c.hangup("call ended") })
	defer stop()
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		<-c.done
		_ = t.Close()
	}()

	err := l.run(ctx, c)
	c.hangup("local hang-up")
	<-closed

	cause := *c.cause.Load()
	l.send(hw.Event{Kind: hw.Hangup, Time: time.Now(), Cause: cause})
	l.mu.Lock()
	l.call = nil
	l.mu.Unlock()
	l.log.Info("browser call ended", "cause", cause)
	return err
}

// run rings until the box answers, then carries the browser's frames until the call ends.
func (l *Line) run(ctx context.Context, c *call) error {
	// The browser's frames are read from the start (and dropped until the answer) so that its
	// hang-up is seen while ringing too.
	readErr := make(chan error, 1)
	go func() { readErr <- c.audio.readLoop() }()

	ring := time.NewTicker(l.RingEvery)
	defer ring.Stop()
	limit := time.NewTimer(answerWithin)
	defer limit.Stop()
	rings := 1
	l.send(hw.Event{Kind: hw.Ring, Time: time.Now(), Number: Number, Rings: rings})
ringing:
	for {
		select {
		case <-c.answered:
			break ringing
		case <-ring.C:
			rings++
			l.send(hw.Event{Kind: hw.Ring, Time: time.Now(), Number: Number, Rings: rings})
		case <-limit.C:
			c.hangup("not answered")
			<-readErr
			return ErrNotAnswered
		case err := <-readErr:
			c.hangup("remote hang-up")
			return ignoreHangup(err)
		case <-c.done:
			<-readErr
			return ctx.Err()
		}
	}
	l.send(hw.Event{Kind: hw.Connected, Time: time.Now(), Number: Number})
	select {
	case err := <-readErr:
		c.hangup("remote hang-up")
		return ignoreHangup(err)
	case <-c.done:
		<-readErr
		return nil
	}
}

func ignoreHangup(err error) error {
	if err == nil || errors.Is(err, ErrHangup) {
		return nil
	}
	return err
}

// send delivers an event; it gives up after a while so a line nobody serves cannot stall.
func (l *Line) send(ev hw.Event) {
	select {
	case l.events <- ev:
		return
	default:
	}
	t := time.NewTimer(eventSendLimit)
	defer t.Stop()
	select {
	case l.events <- ev:
	case <-t.C:
		l.log.Warn("event dropped: nobody reads the line", "event", ev.Kind.String())
	}
}

// Answer takes the browser's ringing call and returns its audio.
func (l *Line) Answer(ctx context.Context) (hw.Audio, error) {
	l.mu.Lock()
	c := l.call
	l.mu.Unlock()
	if c == nil {
		return nil, fmt.Errorf("browserline %s: answer: %w", l.id, hw.ErrNoCall)
	}
	select {
	case <-c.done:
		return nil, fmt.Errorf("browserline %s: answer: %w", l.id, hw.ErrNoCall)
	default:
	}
	c.answer.Do(func() { close(c.answered) })
	return c.audio, nil
}

// Hangup ends the browser's call, if any.
func (l *Line) Hangup(ctx context.Context) error {
	l.mu.Lock()
	c := l.call
	l.mu.Unlock()
	if c != nil {
		c.hangup("local hang-up")
	}
	return nil
}
