// Package gsm drives GSM voice modems as hotline lines (hw.Line): it speaks each family's AT
// dialect over the AT channel of hw/modem, turns its unsolicited result codes into line events,
// and moves call audio over the modem's serial PCM port. Quectel EC2x/EG25 ([Quectel]), SIMCom
// SIM7500/SIM7600 ([SIM7600]) and Huawei E1550/E173 dongles ([Huawei]) are implemented.
//
// # Concepts
//
// A line owns two ports: the AT port (commands and URCs) and the audio port (raw s16le at 8 kHz,
// 320-byte frames every 20 ms while a call is up; on the EC25 this is the USB "NMEA" tty after
// AT+QPCMV=1,0). Call state comes from URCs (RING, +CLIP, +QIND "ccinfo", NO CARRIER), not from
// polling; +CLCC is asked only when a ringing call falls silent without saying it ended.
//
// Ports are plain io.ReadWriters. When they also have SetReadDeadline (hw/modem.Port, net.Conn),
// the line can stop its readers at hang-up and shutdown without closing them; otherwise close the
// ports to stop Run.
//
// # SIM, network and signal
//
// After its own init every line asks AT+CGMR, AT+CGSN and AT+CPIN? (entering the PIN of its
// options once when the SIM asks: a refused PIN is never sent again, as three wrong tries lock
// the SIM; the PIN never reaches a log), switches on registration reports (AT+CREG=2, and
// AT+CEREG=2 on LTE modems), asks for the long operator name (AT+COPS=3,0; AT+COPS?) and the
// signal (the family's signal reports, and AT+CSQ every 30 s). Status returns what is known;
// the first State event after init and every change after it say in plain words where the line
// stands: "ready", "no SIM", "SIM PIN needed", "not registered", "searching", "down" (and
// StateNoVoice on a Huawei dongle without voice firmware).
//
// # SMS and USSD
//
// Messages are received in PDU mode and stored on the SIM (AT+CNMI=2,1,0,2,0): a +CMTI
// notice makes the line read the slot (AT+CMGR), decode it and join the parts of a long message
// (hw/sms), and hand the whole text to the consumer on SMS. The message is deleted (AT+CMGD)
// only when the consumer acknowledges it (IncomingSMS.Ack), after it stored it; what waits on
// the SIM at start (AT+CMGL=4) goes the same way. A PDU that cannot be decoded is logged and
// left on the SIM. SendSMS splits a text into parts and sends each with AT+CMGS and the data
// prompt; USSD asks the network (AT+CUSD) and decodes the reply.
//
// # Outgoing calls
//
// Dial (hw.Dialer) places a call with ATD<number>; and follows the family's call-state reports
// until the callee answers, is busy (hw.ErrBusy), does not answer or the call fails
// (hw.ErrNoAnswer), or 60 s pass. An answered call is then like an answered incoming one: audio,
// SendDigits (DTMF), Hangup, a Hangup event when the callee hangs up.
package gsm

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
)

// Hang-up causes reported in hw.Event.Cause.
const (
	CauseRemote       = "caller hung up"
	CauseLocal        = "box hung up"
	CauseAnswerFailed = "answer failed"
	CauseModemLost    = "modem lost"
	CauseModemRestart = "modem restarted"
)

// QuectelOptions tune a Quectel line. The zero value works.
type QuectelOptions struct {
	// Logger receives the line's log; nil discards.
	Logger *slog.Logger
	// ToneDetect sends AT+QTONEDET=1 and reports the modem's +QTONEDET digits as hw.Digit
	// events. Without it, digits are left to in-band detection.
	ToneDetect bool
	// PIN is the SIM's PIN, sent once when the SIM asks for it; never logged. A PIN the SIM
	// refuses is not sent again.
	PIN string
	// SMSStatusReports asks the network for a delivery report of every SMS sent.
	SMSStatusReports bool
}

// LogValue logs the options without the PIN.
func (o QuectelOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("tone_detect", o.ToneDetect), slog.Any("pin", secret(o.PIN)),
		slog.Bool("sms_status_reports", o.SMSStatusReports))
}

type phase int

const (
	idle      phase = iota
	ringing         // RING or ccinfo "incoming" seen, not answered
	answering       // ATA sent
	active          // answered, audio flows
	dialing         // ATD sent, the callee not answered yet
)

// callState is the line's one call. Guarded by Quectel.mu.
type callState struct {
	phase       phase
	gen         uint64 // increases with every new call
	rings       int
	ringPending bool // a RING waits for its +CLIP
	number      string
	numberKnown bool
	idx         int // modem's call index, 0 = not known yet
	localHangup bool
	lastRing    time.Time
	outgoing    bool // placed by Dial
}

// Quectel is a line on a Quectel EC2x/EG25/EG9x in serial-PCM mode.
type Quectel struct {
	id        string
	audioPort io.ReadWriter
	opts      QuectelOptions
	log       *slog.Logger
	ch        *modem.Channel
	svc       *services
	events    chan hw.Event
	wake      chan struct{} // capacity 1: the event queue grew

	mu         sync.Mutex
	started    bool
	closed     bool // no more events are accepted
	queue      []hw.Event
	call       callState
	audio      *callAudio    // the active call's audio
	lastReader chan struct{} // closed when the last call's audio reader returned
}

var _ hw.Line = (*Quectel)(nil)

// NewQuectel returns the line id on a Quectel modem whose AT port is at and whose PCM port is
// audio. Nothing happens until Run.
func NewQuectel(id string, at io.ReadWriter, audio io.ReadWriter, opts QuectelOptions) *Quectel {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("line", id)
	q := &Quectel{
		id:        id,
		audioPort: audio,
		opts:      opts,
		log:       log,
		events:    make(chan hw.Event, eventBuffer),
		wake:      make(chan struct{}, 1),
	}
	q.ch = modem.New(at, modem.Options{Logger: log, IsURC: isURC, DefaultTimeout: atTimeout})
	q.svc = newServices(id, q.ch, log, quectelFamily, opts.PIN, opts.SMSStatusReports, q.emit)
	return q
}

// ID is the line's name.
func (q *Quectel) ID() string { return q.id }

// Events delivers the line's events; it is closed when Run returns.
func (q *Quectel) Events() <-chan hw.Event { return q.events }

// emitLocked queues an event for the consumer. q.mu is held.
func (q *Quectel) emitLocked(ev hw.Event) {
	if q.closed {
		return
	}
	if len(q.queue) >= maxQueuedEvents {
		q.log.Error("event consumer stopped reading, dropping event", "kind", ev.Kind.String())
		return
	}
	ev.Time = time.Now()
	q.queue = append(q.queue, ev)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *Quectel) emit(ev hw.Event) {
	q.mu.Lock()
	q.emitLocked(ev)
	q.mu.Unlock()
}

// Run drives the line until ctx ends (then it returns nil, after hanging up a call in progress)
// or the modem is lost (then it reports the call's end, sends a "down" State event and returns
// the error). It runs the AT channel, initialises the modem (ATE0, AT+CMEE=2, ATI, AT+CGMM,
// AT+CLIP=1, AT+CRC=0, AT+QINDCFG="ccinfo",1,0, AT+QTONEDET=1 when asked, AT+QPCMV=1,0; a
// refused optional command is logged and skipped), sends a "ready" State event, then turns URCs
// into events. Events is closed when Run returns. Run may be called once.
func (q *Quectel) Run(ctx context.Context) error {
	q.mu.Lock()
	if q.started {
		q.mu.Unlock()
		return fmt.Errorf("gsm %s: Run called twice", q.id)
	}
	q.started = true
	q.mu.Unlock()

	// The AT channel outlives ctx briefly, so a call in progress can be hung up at shutdown.
	chCtx, chCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer chCancel()
	var chErr error
	chDone := make(chan struct{})
	go func() {
		defer close(chDone)
		chErr = q.ch.Run(chCtx)
	}()

	work, stopWork := context.WithCancel(ctx)
	r := &runner{
		q:        q,
		ctx:      work,
		chDone:   chDone,
		chErr:    &chErr,
		initRes:  make(chan error, 1),
		reinit:   make(chan struct{}, 1),
		clccRes:  make(chan clccResult, 1),
		ringWait: newStoppedTimer(),
		watch:    newStoppedTimer(),
	}
	r.wg.Go(r.initLoop)
	r.wg.Go(func() { q.svc.poll(work) })
	r.wg.Go(func() { q.svc.smsWorker(work) })
	err := r.loop()
	stopWork()

	lost := err != nil
	if !lost {
		q.hangupAtShutdown()
	} else {
		q.svc.lost()
	}
	chCancel()
	r.wg.Wait()
	<-chDone
	if !lost && chErr != nil {
		q.log.Warn("AT channel stopped with an error", "err", chErr)
	}

	q.mu.Lock()
	if q.call.phase != idle {
		cause := CauseLocal
		if lost {
			cause = CauseModemLost
		}
		q.endCallLocked(cause)
	}
	if lost {
		q.emitLocked(hw.Event{Kind: hw.State, State: "down"})
	}
	q.closed = true
	reader := q.lastReader
	pending := q.queue
	q.queue = nil
	q.mu.Unlock()

	if reader != nil {
		<-reader
	}
	q.deliverRest(ctx, pending)
	close(q.events)
	return err
}

// deliverRest hands over the events still queued at the end of Run: all of them if the consumer
// is there, as many as fit without waiting once ctx has ended.
func (q *Quectel) deliverRest(ctx context.Context, pending []hw.Event) {
	for _, ev := range pending {
		select {
		case q.events <- ev:
			continue
		default:
		}
		select {
		case q.events <- ev:
		case <-ctx.Done():
			q.log.Info("events not delivered at shutdown", "kind", ev.Kind.String())
		}
	}
}

// hangupAtShutdown ends a call in progress when the line stops, so the modem does not keep it.
func (q *Quectel) hangupAtShutdown() {
	q.mu.Lock()
	up := q.call.phase != idle
	q.mu.Unlock()
	if !up {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := q.ch.Command(ctx, "AT+CHUP", time.Second); err != nil {
		q.log.Warn("hang-up at shutdown failed", "err", err)
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

// runner is the state of one Run: the event loop and the goroutines it owns.
type runner struct {
	q       *Quectel
	ctx     context.Context
	wg      sync.WaitGroup
	chDone  <-chan struct{} // closed when the AT channel's Run returned
	chErr   *error          // its error, readable once chDone is closed
	initRes chan error
	reinit  chan struct{}

	ringWait  *time.Timer // a RING waits for its +CLIP
	watch     *time.Timer // a ringing call went quiet
	clccRes   chan clccResult
	clccBusy  bool
	clccFails int
}

// loop turns URCs into events and hands queued events to the consumer. It returns nil when the
// context ends and an error when the modem is lost or cannot be initialised.
func (r *runner) loop() error {
	q := r.q
	urcs := q.ch.URCs()
	for {
		var out chan<- hw.Event
		var next hw.Event
		q.mu.Lock()
		if len(q.queue) > 0 {
			out, next = q.events, q.queue[0]
		}
		q.mu.Unlock()

		select {
		case out <- next:
			q.mu.Lock()
			q.queue = q.queue[1:]
			if len(q.queue) == 0 {
				q.queue = nil
			}
			q.mu.Unlock()
		case <-q.wake:
		case line, ok := <-urcs:
			if !ok {
				<-r.chDone
				return fmt.Errorf("gsm %s: modem lost: %w", q.id, *r.chErr)
			}
			r.handleURC(line)
		case <-r.ringWait.C:
			r.ringTimeout()
		case <-r.watch.C:
			r.checkSilentRing()
		case res := <-r.clccRes:
			r.clccDone(res)
		case err := <-r.initRes:
			if err == nil {
				state := q.svc.announce(false)
				q.log.Info("modem initialised", "state", state)
				q.emit(hw.Event{Kind: hw.State, State: state})
				continue
			}
			if r.ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
				continue // shutting down, or the lost port shows up on urcs
			}
			return fmt.Errorf("gsm %s: init: %w", q.id, err)
		case <-r.ctx.Done():
			return nil
		}
	}
}

// handleURC applies one unsolicited line to the call state.
func (r *runner) handleURC(line string) {
	q := r.q
	if q.svc.urc(line) {
		return
	}
	switch {
	case line == "RING" || strings.HasPrefix(line, "+CRING:"):
		r.onRing()
	case strings.HasPrefix(line, "+CLIP:"):
		c, ok := parseCLIP(line)
		if !ok {
			q.log.Warn("unreadable +CLIP", "line", line)
			return
		}
		r.onCallerID(c.number)
	case strings.HasPrefix(line, "+QIND:"):
		if cc, ok := parseCCInfo(line); ok {
			r.onCallInfo(cc)
		}
	case strings.HasPrefix(line, "+QTONEDET:"):
		r.onToneDet(line)
	case line == "NO CARRIER":
		q.mu.Lock()
		if q.call.phase != idle {
			q.endCallLocked(q.remoteCauseLocked())
		}
		q.mu.Unlock()
	case line == "RDY":
		q.log.Warn("modem restarted")
		q.mu.Lock()
		if q.call.phase != idle {
			q.endCallLocked(CauseModemRestart)
		}
		q.mu.Unlock()
		select {
		case r.reinit <- struct{}{}:
		default:
		}
	default:
		q.log.Debug("URC ignored", "urc", line)
	}
}

// newCallLocked starts tracking an incoming call. q.mu is held.
func (q *Quectel) newCallLocked() {
	q.call = callState{phase: ringing, gen: q.call.gen + 1}
}

func (r *runner) onRing() {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.call
	switch c.phase {
	case idle:
		q.newCallLocked()
	case ringing:
	default:
		q.log.Info("RING during a call ignored (call waiting?)")
		return
	}
	if c.ringPending {
		// The last ring never got a +CLIP; report it before counting this one.
		q.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
	c.rings++
	c.ringPending = true
	c.lastRing = time.Now()
	r.ringWait.Reset(clipWait)
	r.watch.Reset(ringSilence)
}

func (r *runner) onCallerID(number string) {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.call
	switch c.phase {
	case idle:
		// +CLIP before the first RING: keep the number for it.
		q.newCallLocked()
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
		q.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	} else if announced && number != "" {
		q.emitLocked(hw.Event{Kind: hw.CallerID, Number: c.number})
	}
}

func (r *runner) ringTimeout() {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.call
	if c.phase == ringing && c.ringPending {
		c.ringPending = false
		q.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
}

func (r *runner) onCallInfo(cc callInfo) {
	q := r.q
	q.mu.Lock()
	defer q.mu.Unlock()
	c := &q.call
	if cc.dir != dirIncoming {
		q.outgoingLocked(cc)
		return
	}
	ours := c.idx == 0 || c.idx == cc.idx
	switch cc.stat {
	case statIncoming:
		switch c.phase {
		case idle:
			q.newCallLocked()
			c.lastRing = time.Now()
			r.watch.Reset(ringSilence)
		case ringing:
		default:
			if !ours {
				q.log.Info("second incoming call ignored", "idx", cc.idx)
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
	case statReleased:
		if c.phase != idle && ours {
			q.endCallLocked(q.remoteCauseLocked())
		}
	}
}

// learnNumberLocked takes the caller's number from a call-state report when +CLIP gave none
// (it came before AT+CLIP=1, or not at all). If a Ring event already went out without it, the
// switchboard hears of it as a CallerID event.
func (r *runner) learnNumberLocked(number string) {
	q := r.q
	c := &q.call
	if c.numberKnown || number == "" {
		return
	}
	c.number, c.numberKnown = number, true
	if c.rings > 0 && !c.ringPending {
		q.emitLocked(hw.Event{Kind: hw.CallerID, Number: number})
	}
}

func (r *runner) onToneDet(line string) {
	q := r.q
	if !q.opts.ToneDetect {
		q.log.Debug("+QTONEDET ignored, tone detection off", "urc", line)
		return
	}
	d, ok := parseToneDet(line)
	if !ok {
		q.log.Warn("unreadable +QTONEDET", "urc", line)
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.call.phase != active && q.call.phase != answering {
		q.log.Debug("digit outside a call ignored", "digit", string(d))
		return
	}
	q.emitLocked(hw.Event{Kind: hw.Digit, Digit: d})
}

// checkSilentRing asks +CLCC whether a ringing call that stopped ringing still exists.
func (r *runner) checkSilentRing() {
	q := r.q
	q.mu.Lock()
	c := q.call
	q.mu.Unlock()
	if c.phase != ringing || r.clccBusy {
		return
	}
	if quiet := time.Since(c.lastRing); quiet < ringSilence {
		r.watch.Reset(ringSilence - quiet)
		return
	}
	r.clccBusy = true
	r.wg.Go(func() {
		resp, err := q.ch.Command(r.ctx, "AT+CLCC", 0)
		res := clccResult{gen: c.gen, err: err}
		for _, l := range resp.Lines {
			if ci, ok := parseCLCC(l); ok && ci.dir == dirIncoming && ci.stat >= statActive && ci.stat <= statWaiting {
				res.present = true
			}
		}
		r.clccRes <- res
	})
}

func (r *runner) clccDone(res clccResult) {
	q := r.q
	r.clccBusy = false
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.call.gen != res.gen || q.call.phase != ringing {
		r.clccFails = 0
		return
	}
	switch {
	case res.err != nil:
		r.clccFails++
		q.log.Warn("+CLCC failed while a call rang", "err", res.err, "failures", r.clccFails)
		if r.clccFails >= maxClccFailures {
			r.clccFails = 0
			q.endCallLocked(CauseRemote)
			return
		}
		r.watch.Reset(ringSilence)
	case !res.present:
		r.clccFails = 0
		q.log.Info("ringing call vanished without a release report")
		q.endCallLocked(CauseRemote)
	default:
		r.clccFails = 0
		r.watch.Reset(ringSilence)
	}
}

// remoteCauseLocked is the cause of an end the modem reported: the box's, if the box asked.
func (q *Quectel) remoteCauseLocked() string {
	if q.call.localHangup {
		return CauseLocal
	}
	return CauseRemote
}

// endCallLocked ends the call: audio stops, one Hangup event. q.mu is held; phase is not idle.
// A dialled call that was never answered ends without an event: Dial reports it.
func (q *Quectel) endCallLocked(cause string) {
	if q.call.outgoing && q.call.phase == dialing {
		q.call = callState{gen: q.call.gen}
		q.svc.dialReport(dialOutcome{soft: true, err: fmt.Errorf("%w (released before the answer)", hw.ErrNoAnswer)})
		return
	}
	if c := &q.call; c.ringPending {
		// A ring still waiting for its +CLIP is reported before the end.
		q.emitLocked(hw.Event{Kind: hw.Ring, Rings: c.rings, Number: c.number})
	}
	if q.audio != nil {
		q.audio.stop()
		q.audio = nil
	}
	q.call = callState{gen: q.call.gen}
	q.log.Info("call ended", "cause", cause)
	q.emitLocked(hw.Event{Kind: hw.Hangup, Cause: cause})
}

// endCall ends call gen if it is still the current one.
func (q *Quectel) endCall(gen uint64, cause string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.call.phase != idle && q.call.gen == gen {
		q.endCallLocked(cause)
	}
}

// initLoop initialises the modem, and again each time it restarts (RDY).
func (r *runner) initLoop() {
	for {
		err := r.q.initModem(r.ctx)
		select {
		case r.initRes <- err:
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

// initModem checks that the modem answers and sets it up for incoming calls.
func (q *Quectel) initModem(ctx context.Context) error {
	var err error
	for try := 1; try <= 5; try++ {
		if _, err = q.ch.Command(ctx, "AT", 2*time.Second); err == nil {
			break
		}
		if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
			return err
		}
		q.log.Warn("modem does not answer AT", "try", try, "err", err)
	}
	if err != nil {
		return fmt.Errorf("modem does not answer AT: %w", err)
	}
	steps := []string{
		"ATE0",      // no echo
		"AT+CMEE=2", // verbose +CME ERROR
		"ATI",
		"AT+CGMM",
		"AT+CLIP=1",                   // caller ID after RING
		"AT+CRC=0",                    // plain RING
		`AT+QINDCFG="ccinfo",1,0`,     // call state URCs
		`AT+QGPSCFG="outport","none"`, // keep NMEA sentences off the PCM port
	}
	if q.opts.ToneDetect {
		steps = append(steps, "AT+QTONEDET=1")
	}
	steps = append(steps, "AT+QPCMV=1,0") // call audio on the USB NMEA port
	for _, cmd := range steps {
		resp, err := q.ch.Command(ctx, cmd, 0)
		if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
			return err
		}
		if err != nil {
			q.log.Warn("init command refused, going on without it", "cmd", cmd, "err", err)
			continue
		}
		q.svc.noteReply(cmd, resp)
		switch cmd {
		case "ATI":
			q.log.Info("modem identity", "ati", strings.Join(resp.Lines, " / "))
		case "AT+CGMM":
			q.log.Info("modem model", "model", strings.Join(resp.Lines, " "))
		}
	}
	return q.svc.setup(ctx)
}

// Answer takes the ringing call: ATA (5 s), fresh audio port, a Connected event. The returned
// audio carries s16le in 320-byte frames until the call ends. With no ringing call it returns
// an error wrapping hw.ErrNoCall. If ATA fails the call is given up (AT+CHUP) and a Hangup event
// reports it.
func (q *Quectel) Answer(ctx context.Context) (hw.Audio, error) {
	q.mu.Lock()
	if q.closed || q.call.phase != ringing {
		q.mu.Unlock()
		return nil, fmt.Errorf("gsm %s: answer: %w", q.id, hw.ErrNoCall)
	}
	q.call.phase = answering
	gen := q.call.gen
	prevReader := q.lastReader
	q.mu.Unlock()

	if _, err := q.ch.Command(ctx, "ATA", answerTimeout); err != nil {
		var ce *modem.CommandError
		if errors.As(err, &ce) && (ce.Final == "NO CARRIER" || ce.Final == "BUSY" || ce.Final == "NO ANSWER") {
			// The caller is gone.
			q.endCall(gen, CauseRemote)
			return nil, fmt.Errorf("gsm %s: answer: %w: %w", q.id, hw.ErrNoCall, err)
		}
		// Refused, timed out or broken: the call may hang half-answered; give it up.
		q.giveUp(gen)
		return nil, fmt.Errorf("gsm %s: answer: %w", q.id, err)
	}

	if prevReader != nil {
		select {
		case <-prevReader:
		case <-ctx.Done():
			q.giveUp(gen)
			return nil, fmt.Errorf("gsm %s: answer: waiting for the last call's audio: %w", q.id, context.Cause(ctx))
		}
	}
	prepareAudioPort(q.audioPort, q.log)
	a := newCallAudio(q.id, q.audioPort, q.log)

	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.call.gen != gen || q.call.phase != answering {
		return nil, fmt.Errorf("gsm %s: answer: call ended meanwhile: %w", q.id, hw.ErrNoCall)
	}
	q.call.phase = active
	q.audio = a
	q.lastReader = a.readerDone
	go a.readLoop() // ends at hang-up (a.stop); Run and the next Answer wait for it
	q.log.Info("call answered", "number", q.call.number)
	q.emitLocked(hw.Event{Kind: hw.Connected, Number: q.call.number})
	return a, nil
}

// giveUp hangs up a call whose answer failed.
func (q *Quectel) giveUp(gen uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
	defer cancel()
	if _, err := q.ch.Command(ctx, "AT+CHUP", hangupTimeout); err != nil {
		q.log.Warn("hang-up after failed answer", "err", err)
	}
	q.endCall(gen, CauseAnswerFailed)
}

// Hangup ends the current call (ringing or up) with AT+CHUP and reports a Hangup event with
// cause "box hung up". With no call it does nothing. The call is ended locally even when the
// modem does not confirm; that failure is returned.
func (q *Quectel) Hangup(ctx context.Context) error {
	q.mu.Lock()
	if q.call.phase == idle {
		q.mu.Unlock()
		return nil
	}
	q.call.localHangup = true
	gen := q.call.gen
	q.mu.Unlock()

	_, err := q.ch.Command(ctx, "AT+CHUP", hangupTimeout)
	q.endCall(gen, CauseLocal)
	var ce *modem.CommandError
	if err != nil && !errors.As(err, &ce) {
		return fmt.Errorf("gsm %s: hang up: %w", q.id, err)
	}
	if err != nil {
		q.log.Info("AT+CHUP refused; the call was probably gone", "err", err)
	}
	return nil
}
