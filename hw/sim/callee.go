package sim

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"hotline/voice"
)

// Outcome is what the simulated network does with a call the box dials.
type Outcome int

const (
	// Answer: the callee's phone rings (alerting) for Callee.AnswerAfter, then it answers.
	Answer Outcome = iota
	// Busy: the callee is busy; the call ends after Callee.AnswerAfter with the dialect's busy
	// report.
	Busy
	// NoAnswer: the phone rings for Callee.AnswerAfter (0: 2 s), then the network gives up.
	NoAnswer
	// Unreachable: the number cannot be reached (switched off, no such number); the call ends
	// after Callee.AnswerAfter without ever alerting.
	Unreachable
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Answer:
		return "answer"
	case Busy:
		return "busy"
	case NoAnswer:
		return "no answer"
	case Unreachable:
		return "unreachable"
	}
	return "unknown"
}

// Callee is the script of a virtual callee: what happens when the box dials its number.
type Callee struct {
	// Outcome is what the network does with the call; the zero value answers.
	Outcome Outcome
	// AnswerAfter is how long the callee's phone rings before the outcome (Answer, Busy,
	// Unreachable: 0 means at once; NoAnswer: 0 means 2 s).
	AnswerAfter time.Duration
	// Play is what the callee says right after the answer: 8 kHz mono samples.
	Play []int16
	// Digits are the keys the callee presses once Play is over and DigitsAfter has passed since
	// the answer: DTMF tone pairs in the audio (100 ms tone, 100 ms pause, -10 dBm0 a tone),
	// and the modem's own key report (+QTONEDET, +RXDTMF, ^DDTMF) where the box enabled it and
	// Options.ToneReports is on, unless NoToneReports.
	Digits        string
	DigitsAfter   time.Duration
	NoToneReports bool
	// HangupAfter makes the callee hang up this long after the answer; 0 waits for the box.
	// Like DigitsAfter it is counted in the callee's own 20 ms frames (see Caller.HangupAfter).
	HangupAfter time.Duration
	// MaxDuration caps an answered call as a safety net; 0 means 5 minutes.
	MaxDuration time.Duration
}

// CalleeResult is what a virtual callee experienced of one dialled call.
type CalleeResult struct {
	Modem    string  // the simulated modem's ID
	Number   string  // the number dialled, as the box sent it
	Outcome  Outcome // the callee's outcome
	Answered bool    // the callee answered
	// DigitsSent are the keys pressed (started) before the call ended.
	DigitsSent string
	// KeysReceived are the keys the box sent with AT+VTS or AT^DTMF during the call.
	KeysReceived string
	// Heard is everything the box sent after the answer, 8 kHz mono.
	Heard []int16
	// Duration is from the answer to the end (0 when never answered).
	Duration time.Duration
	// HungUpBy is "box", "callee" or "network" (busy, no answer, unreachable); "" when the
	// modem stopped during the call.
	HungUpBy string
	// LateFrames counts the underruns the simulator itself may have caused on the box's side
	// of the call by pausing (Result.LateFrames).
	LateFrames int
}

// Callees is the simulated network's directory of numbers the box may dial. One directory may
// serve several simulated modems (Options.Callees); it is safe for concurrent use. A number
// not in it is unreachable, unless SetDefault gave a callee for every other number.
type Callees struct {
	mu       sync.Mutex
	byNumber map[string]Callee
	fallback *Callee
	results  []CalleeResult // ended calls that Next has not returned yet
	changed  chan struct{}  // closed and replaced when a result is added
}

// NewCallees returns an empty directory: every number is unreachable.
func NewCallees() *Callees {
	return &Callees{byNumber: map[string]Callee{}, changed: make(chan struct{})}
}

// Set makes number (exactly as the box dials it, "+79161234567") reach c.
func (d *Callees) Set(number string, c Callee) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.byNumber[number] = c
}

// SetDefault makes every number not given to Set reach c.
func (d *Callees) SetDefault(c Callee) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fallback = &c
}

// lookup returns the callee of number.
func (d *Callees) lookup(number string) Callee {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c, ok := d.byNumber[number]; ok {
		return c
	}
	if d.fallback != nil {
		return *d.fallback
	}
	return Callee{Outcome: Unreachable}
}

// Results returns the dialled calls that have ended and that Next has not returned yet, oldest
// first.
func (d *Callees) Results() []CalleeResult {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]CalleeResult(nil), d.results...)
}

// Next waits for the oldest ended call to number that Next has not returned yet, and returns
// it; it returns ctx's error when ctx ends first. The directory forgets the calls Next
// returned, so one that serves calls for a long time holds only those nobody asked about.
func (d *Callees) Next(ctx context.Context, number string) (CalleeResult, error) {
	for {
		d.mu.Lock()
		for i, r := range d.results {
			if r.Number == number {
				d.results = slices.Delete(d.results, i, i+1)
				d.mu.Unlock()
				return r, nil
			}
		}
		changed := d.changed
		d.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return CalleeResult{}, fmt.Errorf("sim: waiting for a call to %s: %w", number, ctx.Err())
		}
	}
}

func (d *Callees) add(r CalleeResult) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.results = append(d.results, r)
	close(d.changed)
	d.changed = make(chan struct{})
}

// Call states of an outgoing call, as +CLCC and +QIND "ccinfo" report them.
const (
	statDialing  = 2
	statAlerting = 3
)

// progressDelay is how long the network takes from ATD to the callee's phone alerting.
const progressDelay = 300 * time.Millisecond

// dialer is a simulated modem as a virtual callee sees it: the network side of calls the box
// dials. atModem implements it; the callee's script is the same for all dialects.
type dialer interface {
	network
	// alerting reports that the callee's phone rings, if cs is still the call.
	alerting(cs *callState) bool
	// connect makes cs active (the callee answered) and reports it; false: cs is gone.
	connect(cs *callState) bool
	// fail ends the unanswered cs with outcome o (Busy, NoAnswer, Unreachable); false: cs is gone.
	fail(cs *callState, o Outcome) bool
	// done marks the end of the callee's run.
	done(cs *callState)
	// keysReceived returns the keys the box sent into cs.
	keysReceived(cs *callState) string
}

// runCallee plays callee c on the outgoing call cs until it ends, then records the result.
func runCallee(ctx context.Context, e dialer, cs *callState, c Callee, id string, dir *Callees) {
	defer e.done(cs)
	res := CalleeResult{Modem: id, Number: cs.from, Outcome: c.Outcome}
	defer func() {
		res.KeysReceived = e.keysReceived(cs)
		dir.add(res)
	}()
	wait := func(d time.Duration) (ok bool) {
		t := time.NewTimer(e.wall(d))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-cs.hungUp:
			res.HungUpBy = "box"
		case <-ctx.Done():
		}
		return false
	}
	if !wait(progressDelay) {
		return
	}
	if c.Outcome != Unreachable && !e.alerting(cs) {
		return
	}
	ring := c.AnswerAfter
	if c.Outcome == NoAnswer && ring <= 0 {
		ring = 2 * time.Second
	}
	if !wait(ring) {
		return
	}
	if c.Outcome != Answer {
		if e.fail(cs, c.Outcome) {
			res.HungUpBy = "network"
		} else {
			res.HungUpBy = "box"
		}
		return
	}
	if !e.connect(cs) {
		res.HungUpBy = "box"
		return
	}
	res.Answered = true
	keys, err := keyAudio(c.Digits)
	if err != nil { // checked at Set time by the tests; a bad key is skipped
		keys = nil
	}
	r := &callRun{e: e, cs: cs, c: Caller{Digits: c.Digits, NoToneReports: c.NoToneReports}}
	script, keyAt := calleeScript(c, keys)
	answeredAt := e.answerTime(cs)
	if c.MaxDuration <= 0 {
		c.MaxDuration = 5 * time.Minute
	}
	res.Heard = make([]int16, 0, 10*voice.Rate)
	pos, nextKey := 0, 0
	var lastTick time.Time // when the last tick was handled while the audio was live
	tick := time.NewTicker(e.wall(voice.FrameDuration))
	defer tick.Stop()
	finish := func(by string) {
		for drained := false; !drained; {
			select {
			case f := <-cs.frames:
				res.Heard = append(res.Heard, f[:]...)
			default:
				drained = true
			}
		}
		res.HungUpBy = by
		res.Duration = e.callTime(time.Since(answeredAt))
		res.DigitsSent = c.Digits[:nextKey]
	}
	for {
		select {
		case <-ctx.Done():
			finish("")
			return
		case <-cs.hungUp:
			finish("box")
			return
		case f := <-cs.frames:
			res.Heard = append(res.Heard, f[:]...)
		case now := <-tick.C:
			if handled := time.Now(); e.audioLive(cs) {
				if !lastTick.IsZero() {
					res.LateFrames += pauseUnderruns(handled.Sub(lastTick))
				}
				lastTick = handled
			} else {
				lastTick = time.Time{}
			}
			// The callee's script runs on its own 20 ms steps (pos), its safety net on the
			// wall clock; see Caller.HangupAfter.
			own := time.Duration(pos/voice.FrameSamples) * voice.FrameDuration
			if (c.HangupAfter > 0 && own >= c.HangupAfter) || e.callTime(now.Sub(answeredAt)) >= c.MaxDuration {
				by := "callee"
				if !e.callerHangUp(cs) {
					by = "box"
				}
				finish(by)
				return
			}
			for nextKey < len(keyAt) && keyAt[nextKey] < pos+voice.FrameSamples {
				if !c.NoToneReports {
					e.toneReport(cs, c.Digits[nextKey])
				}
				nextKey++
			}
			n := 0
			if pos < len(script) {
				n = copy(r.out[:], script[pos:])
			}
			clear(r.out[n:])
			pos += voice.FrameSamples
			if e.audioLive(cs) {
				r.send()
			}
		}
	}
}

// calleeScript lays out what the callee sends after the answer: Play, silence up to
// DigitsAfter, then the keys. keyAt holds the sample offset where each key starts.
func calleeScript(c Callee, keys []int16) (script []int16, keyAt []int) {
	script = append(script, c.Play...)
	if len(keys) == 0 {
		return script, nil
	}
	if start := int(c.DigitsAfter * voice.Rate / time.Second); start > len(script) {
		script = append(script, make([]int16, start-len(script))...)
	}
	for i := range len(keys) / keyCycle {
		keyAt = append(keyAt, len(script)+i*keyCycle)
	}
	return append(script, keys...), keyAt
}
