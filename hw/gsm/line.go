package gsm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
)

const (
	// clipWait is how long a ring waits for its +CLIP before it is reported without one.
	clipWait = 150 * time.Millisecond
	// ringSilence is how long a ringing call may go without a RING before +CLCC is asked
	// whether it still exists (the network repeats RING every few seconds).
	ringSilence = 12 * time.Second
	// maxClccFailures ends a silent ringing call when +CLCC cannot tell this many times running.
	maxClccFailures = 3
	// answerTimeout bounds ATA; 2 s proved too short on some modems.
	answerTimeout = 5 * time.Second
	// hangupTimeout bounds AT+CHUP.
	hangupTimeout = 5 * time.Second
	// atTimeout is the default for other commands.
	atTimeout = 3 * time.Second
	// eventBuffer is the capacity of the Events channel.
	eventBuffer = 16
	// maxQueuedEvents caps events waiting for a consumer that stopped reading.
	maxQueuedEvents = 1024
	// defaultWatchdog is how often the modem is checked when the options say 0.
	defaultWatchdog = 20 * time.Second
	// watchdogTimeout is how long a check waits for OK; watchdogMisses checks in a row
	// without one mean the modem hangs.
	watchdogTimeout = 3 * time.Second
	watchdogMisses  = 2
)

// ErrStalled is wrapped by Run's error when the modem stopped answering AT commands while
// its port stayed open: the modem hangs and needs to be recovered (port reopened, AT+CFUN=1,1,
// power cycle).
var ErrStalled = errors.New("the modem stopped answering")

// Hang-up causes reported in hw.Event.Cause.
const (
	CauseRemote       = "caller hung up"
	CauseLocal        = "box hung up"
	CauseAnswerFailed = "answer failed"
	CauseModemLost    = hw.CauseModemLost
	CauseModemRestart = "modem restarted"
)

// ErrNoVoice is wrapped by Answer's error on a modem whose firmware carries no voice (a Huawei
// dongle whose AT^CVOICE? does not report voice enabled). The line still reports rings, so the
// call log shows who called.
var ErrNoVoice = errors.New("the modem's firmware has no voice support")

// StateNoVoice is the State event of a line whose modem answers AT but cannot carry calls.
const StateNoVoice = "no voice support"

// statDisconnect is SIMCom's extra +CLCC state: the call was released.
const statDisconnect = 6

// dialect is what sets a modem family apart; line does the rest (call state, events, audio).
// Its methods run on the line's goroutines as documented for each.
type dialect interface {
	// isURC tells the family's unsolicited result codes from reply lines.
	isURC(line string) bool
	// setup initialises the modem after it answered AT and returns the State word to report:
	// "ready", or StateNoVoice when the modem cannot carry calls.
	setup(ctx context.Context, l *line) (string, error)
	// urc handles the family's own URCs and returns false for those the line handles itself
	// (RING, +CRING, +CLIP, +CLCC, NO CARRIER, RDY). It runs on the event loop.
	urc(r *lineRunner, text string) bool
	// connect runs after ATA was accepted and before the audio starts; an error gives the call
	// up (Huawei: AT^DDSETEX=2).
	connect(ctx context.Context, l *line) error
	// active is called, with l.mu held, when the answered call's audio starts (SIMCom:
	// AT+CPCMREG=1). ended is called, with l.mu held, when that call ends.
	active(l *line, gen uint64)
	ended(l *line)
	// ringWait is how long a RING waits for the caller's number before it is reported.
	ringWait() time.Duration
	// askOnRing makes a RING that brings no number ask AT+CLCC for it (Huawei).
	askOnRing() bool
}

type phase int

const (
	idle      phase = iota
	ringing         // RING or a call-state report of an incoming call seen, not answered
	answering       // ATA sent
	active          // answered, audio flows
	dialing         // ATD sent, the callee not answered yet
)

// callState is the line's one call. Guarded by line.mu.
type callState struct {
	phase       phase
	gen         uint64 // increases with every new call
	rings       int
	ringPending bool // a RING waits for the caller's number
	number      string
	numberKnown bool
	idx         int // modem's call index, 0 = not known yet
	localHangup bool
	lastRing    time.Time
	outgoing    bool // placed by Dial
}

// callEnd is how a call ended: its generation and the cause of its Hangup event.
type callEnd struct {
	gen   uint64
	cause string
}

// line is a GSM line driven from URCs, shared by the Quectel, SIMCom and Huawei dialects.
type line struct {
	id        string
	audioPort io.ReadWriter
	log       *slog.Logger
	ch        *modem.Channel
	svc       *services
	d         dialect
	events    chan hw.Event
	wake      chan struct{} // capacity 1: the event queue grew
	watchdog  time.Duration // set once, before Run

	mu         sync.Mutex
	started    bool
	closed     bool // no more events are accepted
	stopping   bool // Run is winding down: no new background work
	noVoice    bool // setup found no voice support
	queue      []hw.Event
	call       callState
	audio      *callAudio    // the active call's audio
	lastReader chan struct{} // closed when the last call's audio reader returned
	lastEnd    callEnd       // how the last call ended
	run        *lineRunner   // set while Run runs
}

func newLine(id string, at, audio io.ReadWriter, logger *slog.Logger, d dialect, fam family, pin string, reports bool) *line {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log := logger.With("line", id)
	l := &line{
		id:        id,
		audioPort: audio,
		log:       log,
		d:         d,
		events:    make(chan hw.Event, eventBuffer),
		wake:      make(chan struct{}, 1),
	}
	l.ch = modem.New(at, modem.Options{Logger: log, IsURC: d.isURC, DefaultTimeout: atTimeout})
	l.svc = newServices(id, l.ch, log, fam, pin, reports, l.emit)
	return l
}

// emitLocked queues an event for the consumer. l.mu is held.
func (l *line) emitLocked(ev hw.Event) {
	if l.closed {
		return
	}
	if len(l.queue) >= maxQueuedEvents {
		l.log.Error("event consumer stopped reading, dropping event", "kind", ev.Kind.String())
		return
	}
	ev.Time = time.Now()
	l.queue = append(l.queue, ev)
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *line) emit(ev hw.Event) {
	l.mu.Lock()
	l.emitLocked(ev)
	l.mu.Unlock()
}

// goLocked runs f on a goroutine owned by Run, with Run's context, and reports whether it did:
// it does nothing when Run is not running. l.mu is held.
func (l *line) goLocked(f func(ctx context.Context)) bool {
	r := l.run
	if r == nil || l.stopping {
		return false
	}
	r.wg.Go(func() { f(r.ctx) })
	return true
}

// runLine is Run of every dialect on line.
func (l *line) runLine(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return fmt.Errorf("gsm %s: Run called twice", l.id)
	}
	l.started = true
	l.mu.Unlock()

	// The AT channel outlives ctx briefly, so a call in progress can be hung up at shutdown.
	chCtx, chCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer chCancel()
	var chErr error
	chDone := make(chan struct{})
	go func() {
		defer close(chDone)
		chErr = l.ch.Run(chCtx)
	}()

	work, stopWork := context.WithCancel(ctx)
	r := &lineRunner{
		l:        l,
		ctx:      work,
		chDone:   chDone,
		chErr:    &chErr,
		initRes:  make(chan initResult, 1),
		stalled:  make(chan error, 1),
		reinit:   make(chan struct{}, 1),
		clccRes:  make(chan clccResult, 1),
		askRes:   make(chan askResult, 1),
		ringWait: newStoppedTimer(),
		watch:    newStoppedTimer(),
	}
	l.mu.Lock()
	l.run = r
	l.mu.Unlock()
	r.wg.Go(r.initLoop)
	r.wg.Go(func() { l.svc.poll(work) })
	r.wg.Go(func() { l.svc.smsWorker(work) })
	r.wg.Go(r.watchdogLoop)
	err := r.loop()
	stopWork()

	lost := err != nil
	if !lost {
		l.hangupAtShutdown()
	} else {
		l.svc.lost()
	}
	l.mu.Lock()
	l.stopping = true
	l.mu.Unlock()
	chCancel()
	r.wg.Wait()
	<-chDone
	if !lost && chErr != nil {
		l.log.Warn("AT channel stopped with an error", "err", chErr)
	}

	l.mu.Lock()
	if l.call.phase != idle {
		cause := CauseLocal
		if lost {
			cause = CauseModemLost
		}
		l.endCallLocked(cause)
	}
	if lost {
		l.emitLocked(hw.Event{Kind: hw.State, State: "down"})
	}
	l.closed = true
	l.run = nil
	reader := l.lastReader
	pending := l.queue
	l.queue = nil
	l.mu.Unlock()

	if reader != nil {
		<-reader
	}
	l.deliverRest(ctx, pending)
	close(l.events)
	return err
}

// deliverRest hands over the events still queued at the end of Run: all of them if the consumer
// is there, as many as fit without waiting once ctx has ended.
func (l *line) deliverRest(ctx context.Context, pending []hw.Event) {
	for _, ev := range pending {
		select {
		case l.events <- ev:
			continue
		default:
		}
		select {
		case l.events <- ev:
		case <-ctx.Done():
			l.log.Info("events not delivered at shutdown", "kind", ev.Kind.String())
		}
	}
}

// hangupAtShutdown ends a call in progress when the line stops, so the modem does not keep it.
func (l *line) hangupAtShutdown() {
	l.mu.Lock()
	up := l.call.phase != idle
	l.mu.Unlock()
	if !up {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := l.ch.Command(ctx, "AT+CHUP", time.Second); err != nil {
		l.log.Warn("hang-up at shutdown failed", "err", err)
	}
}

func newStoppedTimer() *time.Timer {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}

type clccResult struct {
	gen     uint64
	present bool // an incoming call is listed
	err     error
}

type initResult struct {
	state string
	err   error
}

// askResult is the answer to AT+CLCC asked because a RING came without a number.
type askResult struct {
	gen   uint64
	found bool
	call  callInfo
}

// lineRunner is the state of one Run: the event loop and the goroutines it owns.
type lineRunner struct {
	refusing atomic.Bool // a waiting call is being refused (AT+CHLD=0)

	l       *line
	ctx     context.Context
	wg      sync.WaitGroup
	chDone  <-chan struct{} // closed when the AT channel's Run returned
	chErr   *error          // its error, readable once chDone is closed
	initRes chan initResult
	reinit  chan struct{}
	stalled chan error // the watchdog found the modem hanging

	ringWait  *time.Timer // a RING waits for the caller's number
	watch     *time.Timer // a ringing call went quiet
	clccRes   chan clccResult
	clccBusy  bool
	clccFails int
	askRes    chan askResult
	askBusy   bool
}

// loop turns URCs into events and hands queued events to the consumer. It returns nil when the
// context ends and an error when the modem is lost or cannot be initialised.
func (r *lineRunner) loop() error {
	l := r.l
	urcs := l.ch.URCs()
	for {
		var out chan<- hw.Event
		var next hw.Event
		l.mu.Lock()
		if len(l.queue) > 0 {
			out, next = l.events, l.queue[0]
		}
		l.mu.Unlock()

		select {
		case out <- next:
			l.mu.Lock()
			l.queue = l.queue[1:]
			if len(l.queue) == 0 {
				l.queue = nil
			}
			l.mu.Unlock()
		case <-l.wake:
		case text, ok := <-urcs:
			if !ok {
				<-r.chDone
				return fmt.Errorf("gsm %s: modem lost: %w", l.id, *r.chErr)
			}
			r.handleURC(text)
		case <-r.ringWait.C:
			r.ringTimeout()
		case <-r.watch.C:
			r.checkSilentRing()
		case res := <-r.clccRes:
			r.clccDone(res)
		case res := <-r.askRes:
			r.askDone(res)
		case err := <-r.stalled:
			return fmt.Errorf("gsm %s: %w: %w", l.id, ErrStalled, err)
		case res := <-r.initRes:
			if res.err == nil {
				l.mu.Lock()
				l.noVoice = res.state == StateNoVoice
				l.mu.Unlock()
				state := l.svc.announce(res.state == StateNoVoice)
				l.log.Info("modem initialised", "state", state)
				l.emit(hw.Event{Kind: hw.State, State: state})
				continue
			}
			if r.ctx.Err() != nil || errors.Is(res.err, modem.ErrClosed) {
				continue // shutting down, or the lost port shows up on urcs
			}
			return fmt.Errorf("gsm %s: init: %w", l.id, res.err)
		case <-r.ctx.Done():
			return nil
		}
	}
}

// handleURC applies one unsolicited line to the call state.
func (r *lineRunner) handleURC(text string) {
	l := r.l
	if l.svc.urc(text) || l.d.urc(r, text) {
		return
	}
	switch {
	case text == "RING" || strings.HasPrefix(text, "+CRING:"):
		r.onRing()
	case strings.HasPrefix(text, "+CLIP:"):
		c, ok := parseCLIP(text)
		if !ok {
			l.log.Warn("unreadable +CLIP", "line", text)
			return
		}
		r.onCallerID(c.number)
	case strings.HasPrefix(text, "+CLCC:"):
		if cc, ok := parseCLCC(text); ok {
			r.onCallInfo(cc)
		}
	case text == "NO CARRIER":
		r.onRemoteEnd()
	case text == "RDY":
		l.log.Warn("modem restarted")
		l.mu.Lock()
		if l.call.phase != idle {
			l.endCallLocked(CauseModemRestart)
		}
		l.mu.Unlock()
		select {
		case r.reinit <- struct{}{}:
		default:
		}
	default:
		l.log.Debug("URC ignored", "urc", text)
	}
}

// onRemoteEnd ends the call on a report that it was released (NO CARRIER, VOICE CALL: END).
func (r *lineRunner) onRemoteEnd() {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.phase != idle {
		l.endCallLocked(l.remoteCauseLocked())
	}
}

// newCallLocked starts tracking an incoming call. l.mu is held.
func (l *line) newCallLocked() {
	l.call = callState{phase: ringing, gen: l.call.gen + 1}
}

func (r *lineRunner) onRing() {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	switch c.phase {
	case idle:
		l.newCallLocked()
	case ringing:
	default:
		l.log.Info("RING during a call ignored (call waiting?)")
		return
	}
	if c.ringPending {
		// The last ring never got its number; report it before counting this one.
		l.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
	c.rings++
	c.ringPending = true
	c.lastRing = time.Now()
	r.ringWait.Reset(l.d.ringWait())
	r.watch.Reset(ringSilence)
	if l.d.askOnRing() && !c.numberKnown && !r.askBusy {
		r.askBusy = true
		gen := c.gen
		r.wg.Go(func() { r.askCLCC(gen) })
	}
}

// askCLCC asks the modem for the ringing call's index and number.
func (r *lineRunner) askCLCC(gen uint64) {
	l := r.l
	res := askResult{gen: gen}
	resp, err := l.ch.Command(r.ctx, "AT+CLCC", 0)
	if err != nil {
		l.log.Warn("AT+CLCC after RING failed", "err", err)
	}
	for _, text := range resp.Lines {
		if ci, ok := parseCLCC(text); ok && ci.dir == dirIncoming && (ci.stat == statIncoming || ci.stat == statWaiting) {
			if !res.found || ci.stat == statIncoming {
				res.found, res.call = true, ci
			}
		}
	}
	select {
	case r.askRes <- res:
	case <-r.ctx.Done():
	}
}

func (r *lineRunner) askDone(res askResult) {
	l := r.l
	r.askBusy = false
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	if c.gen != res.gen || c.phase != ringing {
		return
	}
	if res.found && c.idx == 0 {
		c.idx = res.call.idx
	}
	if c.ringPending {
		if res.found && !c.numberKnown && res.call.number != "" {
			c.number, c.numberKnown = res.call.number, true
		}
		// Without a number the ring goes on waiting: the +CLIP that came with the RING may be
		// handled only now, and the ring timer reports the ring in any case.
		if c.numberKnown {
			c.ringPending = false
			r.ringWait.Stop()
			l.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
		}
	} else if res.found {
		r.learnNumberLocked(res.call.number)
	}
}

func (r *lineRunner) onCallerID(number string) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	switch c.phase {
	case idle:
		// +CLIP before the first RING: keep the number for it.
		l.newCallLocked()
		c.lastRing = time.Now()
		r.watch.Reset(ringSilence)
	case ringing:
	default:
		return // a waiting call's +CLIP
	}
	announced := c.rings > 0 && !c.ringPending && !c.numberKnown
	c.number, c.numberKnown = number, true
	if c.ringPending {
		c.ringPending = false
		r.ringWait.Stop()
		l.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	} else if announced && number != "" {
		l.emitLocked(hw.Event{Kind: hw.CallerID, Number: c.number})
	}
}

func (r *lineRunner) ringTimeout() {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	if c.phase == ringing && c.ringPending {
		c.ringPending = false
		l.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
}

// onCallInfo applies a call-state report (+CLCC URC, Quectel +QIND "ccinfo") to the call state.
func (r *lineRunner) onCallInfo(cc callInfo) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	if cc.dir != dirIncoming {
		l.outgoingLocked(cc)
		return
	}
	ours := c.idx == 0 || c.idx == cc.idx
	switch cc.stat {
	case statIncoming:
		switch c.phase {
		case idle:
			l.newCallLocked()
			c.lastRing = time.Now()
			r.watch.Reset(ringSilence)
		case ringing:
		default:
			if !ours {
				l.log.Info("second incoming call ignored", "idx", cc.idx)
			}
			return
		}
		if c.idx == 0 {
			c.idx = cc.idx
		}
		r.learnNumberLocked(cc.number)
	case statActive:
		if c.phase != idle && c.idx == 0 {
			c.idx = cc.idx
		}
		if c.phase != idle && ours {
			r.learnNumberLocked(cc.number)
		}
	case statReleased, statDisconnect:
		if c.phase != idle && ours {
			l.endCallLocked(l.remoteCauseLocked())
		}
	case statWaiting:
		if c.phase != idle && !ours {
			r.refuseWaiting(cc.idx)
		}
	}
}

// onConnected notes the modem's report that call idx is up (Huawei ^CONN).
func (r *lineRunner) onConnected(idx int) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.phase != idle && l.call.idx == 0 {
		l.call.idx = idx
	}
	if l.call.outgoing && l.call.phase == dialing && (idx == 0 || l.call.idx == idx) {
		l.svc.dialReport(dialOutcome{connected: true})
	}
}

// onCallEnd ends the call if idx is ours (Huawei ^CEND); idx 0 means any.
func (r *lineRunner) onCallEnd(idx int) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &l.call
	if c.phase == idle {
		return
	}
	if idx != 0 && c.idx != 0 && idx != c.idx {
		l.log.Info("end of another call ignored", "idx", idx)
		return
	}
	if c.outgoing && c.phase == dialing && c.idx == 0 && idx != 0 {
		// No ^ORIG for this call yet: the end is the last call's, reported late.
		l.log.Debug("end of an earlier call ignored", "idx", idx)
		return
	}
	l.endCallLocked(l.remoteCauseLocked())
}

// learnNumberLocked takes the caller's number from a call-state report when +CLIP gave none
// (it came before AT+CLIP=1, or not at all). If a Ring event already went out without it, the switchboard hears of it as a CallerID event.
func (r *lineRunner) learnNumberLocked(number string) {
	c := &r.l.call
	if c.numberKnown || number == "" {
		return
	}
	c.number, c.numberKnown = number, true
	if c.rings > 0 && !c.ringPending {
		r.l.emitLocked(hw.Event{Kind: hw.CallerID, Number: number})
	}
}

// onDigit reports a key the modem detected during the answered call.
func (r *lineRunner) onDigit(d byte) {
	l := r.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.phase != active && l.call.phase != answering {
		l.log.Debug("digit outside a call ignored", "digit", string(d))
		return
	}
	l.emitLocked(hw.Event{Kind: hw.Digit, Digit: d})
}

// onKeyURC reports the key of a tone-detection URC (name, read by parse) as a digit; with tone
// detection off (on false) the URC is ignored.
func (r *lineRunner) onKeyURC(on bool, name, text string, parse func(string) (byte, bool)) {
	if !on {
		r.l.log.Debug(name+" ignored, tone detection off", "urc", text)
		return
	}
	d, ok := parse(text)
	if !ok {
		r.l.log.Warn("unreadable "+name, "urc", text)
		return
	}
	r.onDigit(d)
}

// checkSilentRing asks +CLCC whether a ringing call that stopped ringing still exists.
func (r *lineRunner) checkSilentRing() {
	l := r.l
	l.mu.Lock()
	c := l.call
	l.mu.Unlock()
	if c.phase != ringing || r.clccBusy {
		return
	}
	if quiet := time.Since(c.lastRing); quiet < ringSilence {
		r.watch.Reset(ringSilence - quiet)
		return
	}
	r.clccBusy = true
	r.wg.Go(func() {
		resp, err := l.ch.Command(r.ctx, "AT+CLCC", 0)
		res := clccResult{gen: c.gen, err: err}
		for _, text := range resp.Lines {
			if ci, ok := parseCLCC(text); ok && ci.dir == dirIncoming && ci.stat >= statActive && ci.stat <= statWaiting {
				res.present = true
			}
		}
		select {
		case r.clccRes <- res:
		case <-r.ctx.Done():
		}
	})
}

func (r *lineRunner) clccDone(res clccResult) {
	l := r.l
	r.clccBusy = false
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.gen != res.gen || l.call.phase != ringing {
		r.clccFails = 0
		return
	}
	switch {
	case res.err != nil:
		r.clccFails++
		l.log.Warn("+CLCC failed while a call rang", "err", res.err, "failures", r.clccFails)
		if r.clccFails >= maxClccFailures {
			r.clccFails = 0
			l.endCallLocked(CauseRemote)
			return
		}
		r.watch.Reset(ringSilence)
	case !res.present:
		r.clccFails = 0
		l.log.Info("ringing call vanished without a release report")
		l.endCallLocked(CauseRemote)
	default:
		r.clccFails = 0
		r.watch.Reset(ringSilence)
	}
}

// remoteCauseLocked is the cause of an end the modem reported: the box's, if the box asked.
func (l *line) remoteCauseLocked() string {
	if l.call.localHangup {
		return CauseLocal
	}
	return CauseRemote
}

// endCallLocked ends the call: audio stops, one Hangup event. l.mu is held; phase is not idle.
// A dialled call that was never answered ends without an event: Dial reports it.
func (l *line) endCallLocked(cause string) {
	if l.call.outgoing && l.call.phase == dialing {
		l.call = callState{gen: l.call.gen}
		l.svc.dialReport(dialOutcome{soft: true, err: fmt.Errorf("%w (released before the answer)", hw.ErrNoAnswer)})
		return
	}
	if c := &l.call; c.ringPending {
		// A ring still waiting for its number is reported before the end.
		l.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
	if l.audio != nil {
		l.audio.stop()
		l.audio = nil
		l.d.ended(l)
	}
	l.lastEnd = callEnd{gen: l.call.gen, cause: cause}
	l.call = callState{gen: l.call.gen}
	l.log.Info("call ended", "cause", cause)
	l.emitLocked(hw.Event{Kind: hw.Hangup, Cause: cause})
}

// endCall ends call gen if it is still the current one.
func (l *line) endCall(gen uint64, cause string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.phase != idle && l.call.gen == gen {
		l.endCallLocked(cause)
	}
}

// hungUpByCaller reports whether call gen ended on the modem's report that the caller hung up.
func (l *line) hungUpByCaller(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hungUpByCallerLocked(gen)
}

// hungUpByCallerLocked is hungUpByCaller with l.mu held.
func (l *line) hungUpByCallerLocked(gen uint64) bool {
	return l.lastEnd.gen == gen && l.lastEnd.cause == CauseRemote
}

// callUp reports whether call gen is still up (answered, not ended).
func (l *line) callUp(gen uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.call.gen == gen && l.call.phase == active
}

// initLoop initialises the modem, and again each time it restarts (RDY).
func (r *lineRunner) initLoop() {
	for {
		state, err := r.l.initModem(r.ctx)
		select {
		case r.initRes <- initResult{state: state, err: err}:
		case <-r.ctx.Done():
			return
		}
		if err != nil {
			return
		}
		select {
		case <-r.reinit:
		case <-r.ctx.Done():
			return
		}
	}
}

// initModem checks that the modem answers and lets the dialect set it up.
func (l *line) initModem(ctx context.Context) (string, error) {
	var err error
	for try := 1; try <= 5; try++ {
		if _, err = l.ch.Command(ctx, "AT", 2*time.Second); err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
			return "", err
		}
		l.log.Warn("modem does not answer AT", "try", try, "err", err)
	}
	if err != nil {
		return "", fmt.Errorf("modem does not answer AT: %w", err)
	}
	state, err := l.d.setup(ctx, l)
	if err != nil {
		return "", err
	}
	return state, l.svc.setup(ctx)
}

// runSteps sends init commands in order. A refused command is logged and skipped; seen, when
// not nil, gets every reply. It stops at a closed channel or an ended context.
func (l *line) runSteps(ctx context.Context, steps []string, seen func(cmd string, resp modem.Response, err error)) error {
	for _, cmd := range steps {
		resp, err := l.ch.Command(ctx, cmd, 0)
		if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
			return err
		}
		if seen != nil {
			seen(cmd, resp, err)
		}
		if err == nil {
			l.svc.noteReply(cmd, resp)
		}
		if err != nil {
			l.log.Warn("init command refused, going on without it", "cmd", cmd, "err", err)
			continue
		}
		switch cmd {
		case "ATI":
			l.log.Info("modem identity", "ati", strings.Join(resp.Lines, " / "))
		case "AT+CGMM":
			l.log.Info("modem model", "model", strings.Join(resp.Lines, " "))
		}
	}
	return nil
}

// answer takes the ringing call: ATA (5 s), the dialect's connect step, a fresh audio port and
// a Connected event.
//
// Once the modem took ATA the call is answered, and a caller who hangs up at once (the modem's
// release report right behind ATA's OK, racing the rest of the answer) ends it like a caller who
// hangs up later: the Hangup event says the caller hung up, and answer returns audio that reports
// the end (hw.ErrNoCall), so the call is not taken for a failed answer.
func (l *line) answer(ctx context.Context) (hw.Audio, error) {
	l.mu.Lock()
	if l.closed || l.call.phase != ringing {
		l.mu.Unlock()
		return nil, fmt.Errorf("gsm %s: answer: %w", l.id, hw.ErrNoCall)
	}
	if l.noVoice {
		l.mu.Unlock()
		return nil, fmt.Errorf("gsm %s: answer: %w", l.id, ErrNoVoice)
	}
	l.call.phase = answering
	gen := l.call.gen
	prevReader := l.lastReader
	l.mu.Unlock()

	if _, err := l.ch.Command(ctx, "ATA", answerTimeout); err != nil {
		var ce *modem.CommandError
		if errors.As(err, &ce) && (ce.Final == "NO CARRIER" || ce.Final == "BUSY" || ce.Final == "NO ANSWER") {
			// The caller is gone.
			l.endCall(gen, CauseRemote)
			return nil, fmt.Errorf("gsm %s: answer: %w: %w", l.id, hw.ErrNoCall, err)
		}
		if l.hungUpByCaller(gen) {
			// The release report came before ATA's reply: nothing to give up.
			return nil, fmt.Errorf("gsm %s: answer: the caller hung up: %w: %w", l.id, hw.ErrNoCall, err)
		}
		// Refused, timed out or broken: the call may hang half-answered; give it up.
		l.giveUp(gen)
		return nil, fmt.Errorf("gsm %s: answer: %w", l.id, err)
	}
	if err := l.d.connect(ctx, l); err != nil {
		return l.answerFailed(gen, fmt.Errorf("gsm %s: answer: audio: %w", l.id, err))
	}

	if prevReader != nil {
		select {
		case <-prevReader:
		case <-ctx.Done():
			return l.answerFailed(gen, fmt.Errorf("gsm %s: answer: waiting for the last call's audio: %w", l.id, context.Cause(ctx)))
		}
	}
	prepareAudioPort(l.audioPort, l.log)
	a := newCallAudio(l.id, l.audioPort, l.log)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.call.gen != gen || l.call.phase != answering {
		if l.hungUpByCallerLocked(gen) {
			l.log.Info("call answered, and the caller hung up at once")
			return endedAudio{a.gone}, nil
		}
		return nil, fmt.Errorf("gsm %s: answer: call ended meanwhile: %w", l.id, hw.ErrNoCall)
	}
	l.call.phase = active
	l.audio = a
	l.lastReader = a.readerDone
	go a.readLoop() // ends at hang-up (a.stop); Run and the next Answer wait for it
	l.d.active(l, gen)
	l.log.Info("call answered", "number", l.call.number)
	l.emitLocked(hw.Event{Kind: hw.Connected, Number: l.call.number})
	return a, nil
}

// answerFailed ends call gen, whose answer failed with err after the modem took ATA. When the
// caller hung up meanwhile (the step failed because the call was gone), the call was answered
// and ended by the caller: it returns audio that reports the end, and no error.
func (l *line) answerFailed(gen uint64, err error) (hw.Audio, error) {
	if !l.hungUpByCaller(gen) {
		l.giveUp(gen)
	}
	if l.hungUpByCaller(gen) {
		l.log.Info("call answered, and the caller hung up at once", "step", err)
		return endedAudio{fmt.Errorf("gsm %s: call ended: %w", l.id, hw.ErrNoCall)}, nil
	}
	return nil, err
}

// endedAudio is the audio of a call the caller ended while it was being answered: there is no
// sound, and every read and write returns gone (wrapping hw.ErrNoCall).
type endedAudio struct{ gone error }

func (e endedAudio) Format() hw.AudioFormat { return hw.S16LE }

func (e endedAudio) ReadFrame(p []byte) error {
	if len(p) != frameBytes {
		return errFrameSize
	}
	return e.gone
}

func (e endedAudio) WriteFrame(p []byte) error { return e.ReadFrame(p) }

// giveUp hangs up a call whose answer failed.
func (l *line) giveUp(gen uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	if _, err := l.ch.Command(ctx, "AT+CHUP", hangupTimeout); err != nil {
		l.log.Warn("hang-up after failed answer", "err", err)
	}
	l.endCall(gen, CauseAnswerFailed)
}

// hangup ends the current call with AT+CHUP.
func (l *line) hangup(ctx context.Context) error {
	l.mu.Lock()
	if l.call.phase == idle {
		l.mu.Unlock()
		return nil
	}
	l.call.localHangup = true
	gen := l.call.gen
	l.mu.Unlock()

	_, err := l.ch.Command(ctx, "AT+CHUP", hangupTimeout)
	l.endCall(gen, CauseLocal)
	var ce *modem.CommandError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("gsm %s: hang up: %w", l.id, err)
	}
	if err != nil {
		l.log.Info("AT+CHUP refused; the call was probably gone", "err", err)
	}
	return nil
}

// watchdogLoop checks every l.watchdog that the modem answers AT, once it was initialised, and reports
// on r.stalled when watchdogMisses checks in a row timed out.
func (r *lineRunner) watchdogLoop() {
	l := r.l
	every := l.watchdog
	if every == 0 {
		every = defaultWatchdog
	}
	if every < 0 {
		return
	}
	select {
	case <-l.svc.inited:
	case <-r.ctx.Done():
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	misses := 0
	for {
		select {
		case <-t.C:
		case <-r.ctx.Done():
			return
		}
		_, err := l.ch.Command(r.ctx, "AT", watchdogTimeout)
		switch {
		case err == nil:
			misses = 0
			continue
		case !errors.Is(err, modem.ErrTimeout):
			continue // refused (still alive), or shutting down
		}
		misses++
		l.log.Warn("modem did not answer the watchdog's AT", "misses", misses)
		if misses >= watchdogMisses {
			select {
			case r.stalled <- err:
			default:
			}
			return
		}
	}
}

// refuseWaiting turns away a second call that arrives during one (call waiting): AT+CHLD=0
// sets "user determined user busy" for it (3GPP TS 27.007), so its caller hears busy instead
// of ringing on; the call in progress goes on.
func (r *lineRunner) refuseWaiting(idx int) {
	if !r.refusing.CompareAndSwap(false, true) {
		return
	}
	r.l.log.Info("second call during a call: refused as busy", "idx", idx)
	r.wg.Go(func() {
		defer r.refusing.Store(false)
		if _, err := r.l.ch.Command(r.ctx, "AT+CHLD=0", 5*time.Second); err != nil && r.ctx.Err() == nil {
			r.l.log.Warn("cannot refuse the waiting call", "err", err)
		}
	})
}
