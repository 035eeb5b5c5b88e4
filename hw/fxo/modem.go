package fxo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
)

// Hang-up causes reported in hw.Event.Cause.
const (
	CauseRemote       = "caller hung up"
	CauseBusy         = "caller hung up (busy tone)"
	CauseDialTone     = "caller hung up (dial tone)"
	CauseLoopBreak    = "caller hung up (line dropped)"
	CauseSilence      = "silence"
	CauseFax          = "fax machine"
	CauseData         = "data modem"
	CauseDataEnded    = "modem left voice mode"
	CauseLocal        = "box hung up"
	CauseAnswerFailed = "answer failed"
	CauseModemLost    = hw.CauseModemLost
)

const (
	// RingTimeout ends a ringing call that has not rung again for this long (ring cadences
	// repeat every 3 to 6 s).
	RingTimeout = 10 * time.Second
	// cidFresh is how long caller ID sent before the first RING (UK) stays attached to it.
	cidFresh = 10 * time.Second
	// defaultSilence is Options.SilenceTimeout's default.
	defaultSilence = 30 * time.Second
	// silenceCheck is how often the host-side silence detector looks.
	silenceCheck = 500 * time.Millisecond
	atTimeout    = 3 * time.Second
	// resetTimeout bounds ATZ, which takes a while on some modems.
	resetTimeout = 5 * time.Second
	// answerTimeout bounds AT+VLS=1 and AT+VTR.
	answerTimeout = 5 * time.Second
	// leaveWait is how long the modem has to confirm <DLE>^ (then <DLE>!).
	leaveWait = 2 * time.Second
	// hangupTimeout bounds ATH0 and AT+VLS=0.
	hangupTimeout = 5 * time.Second
	eventBuffer   = 16
	maxQueued     = 1024
)

// Options tune a Modem. The zero value works.
type Options struct {
	// Logger receives the line's log; nil discards.
	Logger *slog.Logger
	// Format forces the voice format (hw.U8, hw.ULaw or hw.S16LE); 0 picks from AT+VSM=?:
	// 8-bit unsigned linear, else mu-law, else signed 16-bit, each at 8000 samples/s.
	Format hw.AudioFormat
	// SilenceTimeout ends a call after this long without voice energy in the caller's audio
	// (counted by the driver; Conexant parts ignore AT+VSD). 0 means 30 s; negative turns the
	// host-side detector off.
	SilenceTimeout time.Duration
	// IgnoreModemSilence keeps the modem's <DLE>s (no voice energy) from ending the call.
	IgnoreModemSilence bool
	// DialTimeout bounds Dial from ATDT to the answer; 0 means 60 s.
	DialTimeout time.Duration
}

type phase int

const (
	idle phase = iota
	ringing
	answering
	active
	dialing // ATDT sent, the callee has not answered
)

// callState is the line's one call. Guarded by Modem.mu.
type callState struct {
	phase    phase
	gen      uint64
	rings    int
	cid      callerID
	ringSent bool // a Ring event went out
	numSent  bool // the number went out (with a Ring or as CallerID)
	lastRing time.Time
	audio    *callAudio
}

// Modem is one analog voice modem as a hotline line.
type Modem struct {
	id     string
	opts   Options
	log    *slog.Logger
	s      *stream
	ch     *modem.Channel
	events chan hw.Event
	wake   chan struct{}

	mu      sync.Mutex
	started bool
	closed  bool
	queue   []hw.Event
	call    callState
	format  hw.AudioFormat
	preCID  callerID // caller ID seen with no call ringing (before the first RING)
	preAt   time.Time
	preSet  bool
	// onHooked is closed once the hang-ups in progress have put the line on hook (nil: none
	// yet). A call answered or dialled right after the last one ended waits for it: the
	// last call's ATH0 must not reach the modem between this call's AT+VLS=1 and AT+VTR.
	// Run waits for it before it returns.
	onHooked chan struct{}
	run      *runner
	progress chan byte // line events for the Dial in progress
}

var _ hw.Line = (*Modem)(nil)

// New returns the line id on the voice modem at port, which carries both the AT commands and
// the audio. Nothing happens until Run.
func New(id string, port io.ReadWriter, opts Options) *Modem {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("line", id)
	if opts.SilenceTimeout == 0 {
		opts.SilenceTimeout = defaultSilence
	}
	m := &Modem{
		id:     id,
		opts:   opts,
		log:    log,
		s:      newStream(port, log),
		events: make(chan hw.Event, eventBuffer),
		wake:   make(chan struct{}, 1),
	}
	m.ch = modem.New(atPort{m.s}, modem.Options{
		Logger:         log,
		IsURC:          isURC,
		DefaultTimeout: atTimeout,
		IsFinalOK:      func(l string) bool { return l == "VCON" },
	})
	return m
}

// isURC tells the unsolicited lines of a voice modem from reply lines.
func isURC(line string) bool {
	if _, _, ok := cidField(line); ok {
		return true
	}
	return strings.HasPrefix(line, "DRON=") || strings.HasPrefix(line, "DROF=") || line == "VCON"
}

// ID is the line's name.
func (m *Modem) ID() string { return m.id }

// Events delivers the line's events; it is closed when Run returns.
func (m *Modem) Events() <-chan hw.Event { return m.events }

// Format is the voice format chosen at init (0 before).
func (m *Modem) Format() hw.AudioFormat {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.format
}

func (m *Modem) emitLocked(ev hw.Event) {
	if m.closed {
		return
	}
	if len(m.queue) >= maxQueued {
		m.log.Error("event consumer stopped reading, dropping event", "kind", ev.Kind.String())
		return
	}
	ev.Time = time.Now()
	m.queue = append(m.queue, ev)
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// runner is the state of one Run.
type runner struct {
	ctx     context.Context
	wg      sync.WaitGroup
	chDone  chan struct{}
	chErr   error
	ringTmr *time.Timer
	silence *time.Ticker
}

// Run drives the line until ctx ends (then it hangs up a call in progress and returns nil) or
// the modem is lost (then it reports the call's end, a "down" State event and the error). It
// initialises the modem (ATZ, ATE0, AT+FCLASS=8, AT+VCID=1, AT+VSM=? and AT+VSM=<id>,8000,
// AT+VSD=128,50, AT+VIT=0; refused optional commands are logged), sends a "ready" State event,
// then reports rings and calls. Events is closed when Run returns. Run may be called once.
func (m *Modem) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.started {
		m.mu.Unlock()
		return fmt.Errorf("fxo %s: Run called twice", m.id)
	}
	m.started = true
	m.mu.Unlock()

	// The port outlives ctx briefly, so a call in progress can be hung up at shutdown.
	portCtx, portCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer portCancel()
	var streamErr error
	streamDone := make(chan struct{})
	go func() {
		defer close(streamDone)
		streamErr = m.s.run(portCtx)
	}()
	r := &runner{ctx: ctx, chDone: make(chan struct{}), ringTmr: time.NewTimer(time.Hour), silence: time.NewTicker(silenceCheck)}
	r.ringTmr.Stop()
	defer r.silence.Stop()
	go func() {
		defer close(r.chDone)
		r.chErr = m.ch.Run(portCtx)
	}()
	m.mu.Lock()
	m.run = r
	m.mu.Unlock()

	err := m.setup(ctx)
	if err == nil {
		m.log.Info("modem ready", "format", m.Format().String())
		m.mu.Lock()
		m.emitLocked(hw.Event{Kind: hw.State, State: "ready"})
		m.mu.Unlock()
		err = m.loop(r)
	} else if ctx.Err() != nil {
		err = nil
	}
	lost := err != nil
	if !lost {
		m.hangupAtShutdown()
	}
	m.mu.Lock()
	m.run = nil
	m.mu.Unlock()
	r.wg.Wait()
	_ = m.waitOnHook(context.Background()) // the hang-ups in progress
	portCancel()
	<-streamDone
	<-r.chDone
	if !lost && streamErr != nil {
		m.log.Warn("port reader stopped with an error", "err", streamErr)
	}

	m.mu.Lock()
	if m.call.phase != idle {
		cause := CauseLocal
		if lost {
			cause = CauseModemLost
		}
		m.endCallLocked(cause)
	}
	if lost {
		m.emitLocked(hw.Event{Kind: hw.State, State: "down"})
	}
	m.closed = true
	pending := m.queue
	m.queue = nil
	m.mu.Unlock()
	for _, ev := range pending {
		select {
		case m.events <- ev:
			continue
		default:
		}
		select {
		case m.events <- ev:
		case <-ctx.Done():
		}
	}
	close(m.events)
	return err
}

// setup initialises the modem.
func (m *Modem) setup(ctx context.Context) error {
	required := func(cmd string, timeout time.Duration) (modem.Response, error) {
		resp, err := m.ch.Command(ctx, cmd, timeout)
		if err != nil {
			return resp, fmt.Errorf("fxo %s: init: %w", m.id, err)
		}
		return resp, nil
	}
	optional := func(cmd string) {
		if _, err := m.ch.Command(ctx, cmd, 0); err != nil {
			var ce *modem.CommandError
			if !errors.As(err, &ce) {
				m.log.Warn("init command got no answer", "cmd", cmd, "err", err)
				return
			}
			m.log.Info("init command refused, going on", "cmd", cmd, "final", ce.Final)
		}
	}
	if _, err := required("ATZ", resetTimeout); err != nil {
		return err
	}
	if _, err := required("ATE0", 0); err != nil {
		return err
	}
	if _, err := required("AT+FCLASS=8", 0); err != nil {
		return err
	}
	optional("AT+VCID=1") // every init: some models forget it on reset
	resp, err := required("AT+VSM=?", 0)
	if err != nil {
		return err
	}
	var entries []vsmEntry
	for _, l := range resp.Lines {
		if e, ok := parseVSM(l); ok {
			entries = append(entries, e)
		}
	}
	e, ok := pickVSM(entries, m.opts.Format)
	if !ok {
		return fmt.Errorf("fxo %s: init: the modem offers no usable voice format at 8000 Hz (AT+VSM=? gave %q)", m.id, resp.Lines)
	}
	if _, err := m.ch.Command(ctx, fmt.Sprintf("AT+VSM=%d,8000", e.id), 0); err != nil {
		if _, err := required(fmt.Sprintf("AT+VSM=%d,8000,0,0", e.id), 0); err != nil {
			return err
		}
	}
	m.mu.Lock()
	m.format = e.format
	m.mu.Unlock()
	optional("AT+VSD=128,50")
	optional("AT+VIT=0")
	return nil
}

// loop turns URCs and DLE events into events until ctx ends (nil) or the modem is lost.
func (m *Modem) loop(r *runner) error {
	urcs := m.ch.URCs()
	for {
		var out chan<- hw.Event
		var next hw.Event
		m.mu.Lock()
		if len(m.queue) > 0 {
			out, next = m.events, m.queue[0]
		}
		m.mu.Unlock()
		select {
		case out <- next:
			m.mu.Lock()
			m.queue = m.queue[1:]
			if len(m.queue) == 0 {
				m.queue = nil
			}
			m.mu.Unlock()
		case <-m.wake:
		case line, ok := <-urcs:
			if !ok {
				<-r.chDone
				return fmt.Errorf("fxo %s: modem lost: %w", m.id, r.chErr)
			}
			m.handleURC(r, line)
		case code := <-m.s.events:
			m.handleDLE(code)
		case <-r.ringTmr.C:
			m.mu.Lock()
			if m.call.phase == ringing && time.Since(m.call.lastRing) >= RingTimeout {
				m.endCallLocked(CauseRemote)
			}
			m.mu.Unlock()
		case now := <-r.silence.C:
			m.checkSilence(now)
		case <-r.ctx.Done():
			return nil
		}
	}
}

// handleURC applies one line from the modem.
func (m *Modem) handleURC(r *runner, line string) {
	if line == "RING" {
		m.onRing(r)
		return
	}
	if key, value, ok := cidField(line); ok {
		m.onCID(key, value)
		return
	}
	m.log.Debug("line ignored", "text", line)
}

func (m *Modem) onRing(r *runner) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &m.call
	switch c.phase {
	case idle:
		m.call = callState{phase: ringing, gen: c.gen + 1}
		if m.preSet && time.Since(m.preAt) < cidFresh {
			c.cid = m.preCID
		}
		m.preSet = false
	case ringing:
	default:
		m.log.Debug("RING during a call ignored")
		return
	}
	c.rings++
	c.lastRing = time.Now()
	c.ringSent = true
	c.numSent = c.cid.number != "" || c.cid.withheld
	m.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.cid.number, NumberLater: c.rings == 1 && !c.numSent})
	r.ringTmr.Reset(RingTimeout)
}

func (m *Modem) onCID(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := &m.call
	if c.phase == idle {
		if !m.preSet || time.Since(m.preAt) >= cidFresh {
			m.preCID = callerID{}
		}
		m.preCID.apply(key, value)
		m.preSet, m.preAt = true, time.Now()
		return
	}
	if !c.cid.apply(key, value) {
		return
	}
	m.log.Info("caller ID", "number", c.cid.number, "name", c.cid.name, "date", c.cid.date, "time", c.cid.time)
	if c.ringSent && !c.numSent && (c.cid.number != "" || c.cid.withheld) {
		c.numSent = true
		m.emitLocked(hw.Event{Kind: hw.CallerID, Number: c.cid.number})
	}
}

// handleDLE applies one event from the voice data stream.
func (m *Modem) handleDLE(code byte) {
	m.mu.Lock()
	if m.call.phase == dialing {
		switch code {
		case 's', 'u', 'o', 'q', etx:
			// Silence, buffer reports and the end of the last call's voice data (the loop
			// may hand it over late) say nothing about the call being dialled.
		default:
			if !isDigit(code) {
				m.dialProgressLocked(code)
			}
		}
		m.mu.Unlock()
		return
	}
	m.mu.Unlock()
	if isDigit(code) {
		m.mu.Lock()
		if m.call.phase == active {
			m.emitLocked(hw.Event{Kind: hw.Digit, Digit: code})
		}
		m.mu.Unlock()
		return
	}
	var cause string
	switch code {
	case 'l':
		cause = CauseLoopBreak
	case 'b', 'K':
		cause = CauseBusy
	case 'd', 'i':
		cause = CauseDialTone
	case 's':
		if m.opts.IgnoreModemSilence {
			return
		}
		cause = CauseSilence
	case 'c', 'm':
		cause = CauseFax
	case 'a', 'e', 'f':
		cause = CauseData
	case etx:
		cause = CauseDataEnded
	case 'u', 'o':
		m.log.Debug("modem reports an audio under- or overrun", "code", string(rune(code)))
		return
	default:
		m.log.Debug("DLE event ignored", "code", fmt.Sprintf("%q", code))
		return
	}
	m.remoteEnd(cause)
}

// checkSilence ends an active call whose caller has been silent for too long.
func (m *Modem) checkSilence(now time.Time) {
	if m.opts.SilenceTimeout < 0 {
		return
	}
	m.mu.Lock()
	c := m.call
	m.mu.Unlock()
	if c.phase != active || c.audio == nil || c.audio.silentFor(now) < m.opts.SilenceTimeout {
		return
	}
	m.remoteEnd(CauseSilence)
}

// remoteEnd ends the active call on a cue from the line and puts the modem back on hook in
// the background.
func (m *Modem) remoteEnd(cause string) {
	m.mu.Lock()
	if m.call.phase != active {
		m.mu.Unlock()
		return
	}
	m.log.Info("call ended by the line", "cause", cause)
	m.endCallLocked(cause)
	r := m.run
	var done func()
	if r != nil {
		done = m.beginHangupLocked()
	}
	m.mu.Unlock()
	if r == nil {
		return
	}
	go func() {
		defer done()
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.ctx), 2*leaveWait+hangupTimeout)
		defer cancel()
		if err := m.onHook(ctx); err != nil {
			m.log.Warn("going on hook failed", "err", err)
		}
	}()
}

// endCallLocked reports the end of the call and forgets it. m.mu is held.
func (m *Modem) endCallLocked(cause string) {
	c := &m.call
	if c.audio != nil {
		c.audio.stop()
	}
	m.emitLocked(hw.Event{Kind: hw.Hangup, Cause: cause, Number: c.cid.number})
	m.call = callState{gen: c.gen}
}

// onHook leaves data mode if the modem is in it and hangs up.
func (m *Modem) onHook(ctx context.Context) error {
	for _, code := range []byte{endDuplex, endRecv} {
		exited, err := m.s.stop(code)
		if err != nil {
			return fmt.Errorf("fxo %s: leave data mode: %w", m.id, err)
		}
		if exited == nil {
			break
		}
		t := time.NewTimer(leaveWait)
		select {
		case <-exited:
			t.Stop()
			exited = nil
		case <-t.C:
			m.log.Warn("modem did not leave data mode", "sent", "<DLE>"+string(rune(code)))
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fxo %s: leave data mode: %w", m.id, ctx.Err())
		}
		if exited == nil {
			break
		}
	}
	if m.s.inData() {
		m.s.forceLine()
	}
	beforeATH0()
	if _, err := m.ch.Command(ctx, "ATH0", hangupTimeout); err != nil {
		m.log.Warn("ATH0 failed, trying AT+VLS=0", "err", err)
		if _, err2 := m.ch.Command(ctx, "AT+VLS=0", hangupTimeout); err2 != nil {
			return fmt.Errorf("fxo %s: hang up: %w", m.id, errors.Join(err, err2))
		}
	}
	return nil
}

// Answer takes the ringing call off hook (AT+VLS=1, OK or VCON) and starts full-duplex voice
// (AT+VTR, CONNECT). The returned audio carries the modem's format in 160-sample frames until
// the call ends. With no ringing call it returns an error wrapping hw.ErrNoCall. If the modem
// refuses, the line goes back on hook and a Hangup event reports it.
func (m *Modem) Answer(ctx context.Context) (hw.Audio, error) {
	m.mu.Lock()
	if m.closed || m.call.phase != ringing {
		m.mu.Unlock()
		return nil, fmt.Errorf("fxo %s: answer: %w", m.id, hw.ErrNoCall)
	}
	m.call.phase = answering
	gen := m.call.gen
	a := newCallAudio(m.id, m.s, m.format, m.log)
	m.mu.Unlock()

	fail := func(err error) (hw.Audio, error) {
		m.s.disarm()
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*leaveWait+hangupTimeout)
		defer cancel()
		if herr := m.onHook(hctx); herr != nil {
			m.log.Warn("going on hook after a failed answer", "err", herr)
		}
		m.mu.Lock()
		if m.call.gen == gen && m.call.phase != idle {
			m.endCallLocked(CauseAnswerFailed)
		}
		m.mu.Unlock()
		return nil, fmt.Errorf("fxo %s: answer: %w", m.id, err)
	}
	// A call the caller has just left may still be going on hook (remoteEnd runs it in the
	// background): its ATH0 would put this call back on hook.
	if err := m.waitOnHook(ctx); err != nil {
		return fail(err)
	}
	if _, err := m.ch.Command(ctx, "AT+VLS=1", answerTimeout); err != nil {
		return fail(err)
	}
	m.s.arm(a)
	if _, err := m.ch.Command(ctx, "AT+VTR", answerTimeout); err != nil {
		return fail(err)
	}
	m.mu.Lock()
	if m.call.gen != gen || m.call.phase != answering {
		m.mu.Unlock()
		a.stop()
		return fail(hw.ErrNoCall)
	}
	m.call.phase = active
	m.call.audio = a
	number := m.call.cid.number
	m.emitLocked(hw.Event{Kind: hw.Connected, Number: number})
	m.mu.Unlock()
	m.log.Info("call answered", "number", number)
	return a, nil
}

// Hangup ends the current call: a ringing call is forgotten (an analog line has nothing to
// reject), an active one leaves data mode (<DLE>^, then <DLE>!) and goes on hook (ATH0, else
// AT+VLS=0). A Hangup event reports it. It is safe to call with no call.
func (m *Modem) Hangup(ctx context.Context) error {
	m.mu.Lock()
	switch m.call.phase {
	case idle:
		m.mu.Unlock()
		return nil
	case ringing:
		m.endCallLocked(CauseLocal)
		m.mu.Unlock()
		return nil
	}
	m.endCallLocked(CauseLocal)
	done := m.beginHangupLocked()
	m.mu.Unlock()
	defer done()
	return m.onHook(ctx)
}

// beforeATH0 runs in onHook just before ATH0, once the modem has left data mode: a seam for
// tests, which slow the hang-up down there.
var beforeATH0 = func() {}

// beginHangupLocked notes a hang-up in progress and returns the func that marks it finished,
// after any that began before it. m.mu is held.
func (m *Modem) beginHangupLocked() func() {
	prev, onHooked := m.onHooked, make(chan struct{})
	m.onHooked = onHooked
	return func() {
		if prev != nil {
			<-prev // bounded: every hang-up gives up after its own timeout
		}
		close(onHooked)
	}
}

// waitOnHook waits until the hang-ups in progress have put the line on hook.
func (m *Modem) waitOnHook(ctx context.Context) error {
	m.mu.Lock()
	onHooked := m.onHooked
	m.mu.Unlock()
	if onHooked == nil {
		return nil
	}
	select {
	case <-onHooked:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the last call to go on hook: %w", ctx.Err())
	}
}

// hangupAtShutdown ends a call in progress when the line stops.
func (m *Modem) hangupAtShutdown() {
	m.mu.Lock()
	up := m.call.phase == active || m.call.phase == answering
	m.mu.Unlock()
	if !up {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.Hangup(ctx); err != nil {
		m.log.Warn("hang-up at shutdown failed", "err", err)
	}
}
