package sim

import (
	"context"
	"fmt"
	"os"
	"time"

	"hotline/voice"
	"hotline/voice/tone"
)

// Caller is the script of a virtual caller.
type Caller struct {
	// From is the caller ID the network presents, sent verbatim (it may be empty, hold markup or
	// hundreds of digits).
	From string
	// Digits are the keys to press once the box has played something and then waited 1 s in
	// silence: '0'-'9', '*', '#', 'A'-'D'. Each is a DTMF tone pair of 100 ms at -10 dBm0 per
	// tone followed by 100 ms of silence.
	Digits string
	// NoToneReports keeps the modem from reporting this caller's keys with +QTONEDET even when
	// Options.ToneReports is on: the box must hear them in the audio (an in-band-only network).
	NoToneReports bool
	// Say is what the caller says after the box played something again (the voicemail prompt
	// and beep) and then 600 ms of silence: 8 kHz mono samples. With no Digits, "again" means
	// after the first sound and 1 s of silence, as if no key had been pressed.
	Say []int16
	// HangupAfter makes the caller hang up this long after the answer; 0 waits for the box.
	// It is counted in the caller's own 20 ms frames, as everything it does is, not on the
	// wall clock: a simulator paused by a busy machine does all of its script that much later,
	// never fewer of its steps in the time (its keys, then its hang-up, in the order meant).
	HangupAfter time.Duration
	// HangupAfterHeard makes the caller hang up once, after its Digits (or, with none, after
	// the first prompt and the pause after it), it has heard this much of the box's sound:
	// "listen to the answer a while, then hang up". It is timed on the box's own audio as the
	// caller takes it in, so neither side's clock running late moves it to another part of
	// the call. 0: not.
	HangupAfterHeard time.Duration
	// MaxRings is how many rings the caller waits for an answer before giving up; 0 means 10.
	MaxRings int
	// MaxDuration caps the call from the answer as a safety net; 0 means 5 minutes.
	MaxDuration time.Duration
	// Audio faults of the network between the caller and the modem: every DropEvery-th frame
	// of the caller's audio never reaches the box, and every LateEvery-th frame arrives one
	// frame late, together with the next (0: none).
	DropEvery, LateEvery int
}

// Result is what the virtual caller experienced.
type Result struct {
	Answered      bool          // the box took the call (ATA)
	Rings         int           // rings sent
	AnsweredAfter time.Duration // from the first RING to ATA
	// FirstSoundAfter is from ATA to the first frame of sound the caller heard (the greeting).
	FirstSoundAfter time.Duration
	DigitsSent      string        // keys pressed (started) before the call ended
	PromptsHeard    int           // bursts of sound separated by at least 300 ms of silence
	SecondsHeard    float64       // non-silent audio heard, in seconds
	Duration        time.Duration // from the answer to the end of the call
	HungUpBy        string        // "box" or "caller"
	Heard           []int16       // everything the box played, 8 kHz mono
	// LateFrames counts the underruns the simulator itself may have caused: its own clock
	// ticked late (a starved process on a loaded machine) and it sent no frame for so long
	// that a box taking frames at most 20 ms late counts underruns (pauseUnderruns). A real
	// modem's clock never pauses.
	LateFrames int
}

// Listening thresholds of the caller, in 20 ms frames.
const (
	soundDBm0    = -45.0 // a frame louder than this is sound
	burstGap     = 15    // 300 ms of silence separates two prompts
	keyWait      = 50    // 1 s of silence after a prompt: the box waits for a key
	sayWait      = 30    // 600 ms of silence after the beep: the box records
	keyCycle     = 1600  // samples per key: 100 ms tone, 100 ms pause
	keyLevelDBm0 = -10.0
	noAudioAfter = 100 * time.Millisecond // the box sends nothing: count silence
	// noAudioWall: ... and at least this long on the wall clock: the audio deadline a box
	// keeps (a gap shorter than that is a late frame, not a pause in what the box says).
	noAudioWall = 60 * time.Millisecond
)

// phase is where the caller is in its script.
type phase int

const (
	phRinging  phase = iota
	phListen         // waiting for a prompt and the pause after it
	phKeys           // pressing Digits
	phWaitBeep       // waiting for the next prompt and the pause after it
	phSay            // speaking Say
	phIdle           // silent until someone hangs up
)

// Call rings the modem as a caller with script c and returns, when the call is over, what the
// caller experienced. Run must be serving the modem, and the modem carries one call at a time
// (ErrBusy). Cancelling ctx makes the caller hang up; Call then returns the result so far with
// ctx's error. The result is also filled when the error is ErrStopped or ErrMaxDuration.
func (e *EC25) Call(ctx context.Context, c Caller) (Result, error) {
	return callInto(ctx, e.atModem, c)
}

// network is a simulated modem as the virtual caller sees it: the radio side of its calls.
// Every simulated dialect implements it; the caller's script is the same for all.
type network interface {
	// startCall registers a new incoming call from number from (ErrClosed, ErrNotRunning,
	// ErrBusy), endCall marks the end of Call.
	startCall(from string) (*callState, error)
	endCall(cs *callState)
	// ring sends one ring of cs, if it still rings, and reports whether it did.
	ring(cs *callState) bool
	// giveUp ends a ringing call from the caller's side; see line.giveUp.
	giveUp(cs *callState) (answered, released bool)
	// callerHangUp ends cs from the caller's side; false: the box had released it already.
	callerHangUp(cs *callState) bool
	// toneReport lets the modem report the caller's key, if the box asked for such reports.
	toneReport(cs *callState, key byte)
	// audioLive reports whether cs is up with its audio flowing on the audio port.
	audioLive(cs *callState) bool
	// answerTime is when the box answered cs.
	answerTime(cs *callState) time.Time
	// audioOut is the simulator's end of the audio port.
	audioOut() *os.File
	// stopped is closed when the modem's Run has returned.
	stopped() <-chan struct{}
	// ringInterval is the time between two rings.
	ringInterval() time.Duration
	// wall is how long d of call time lasts on the wall clock (Options.Speed); callTime is
	// the converse.
	wall(d time.Duration) time.Duration
	callTime(d time.Duration) time.Duration
}

// frameSender is a network that carries the caller's voice in its own way rather than as
// s16le frames on audioOut (the FXO modem: DLE-shielded 8-bit PCM on its one port, paced by
// the modem).
type frameSender interface {
	// sendFrame queues the caller's next 20 ms.
	sendFrame(f *voice.Frame)
}

// callInto is Call on any simulated modem.
func callInto(ctx context.Context, e network, c Caller) (Result, error) {
	if c.MaxRings <= 0 {
		c.MaxRings = 10
	}
	if c.MaxDuration <= 0 {
		c.MaxDuration = 5 * time.Minute
	}
	keys, err := keyAudio(c.Digits)
	if err != nil {
		return Result{}, err
	}
	cs, err := e.startCall(c.From)
	if err != nil {
		return Result{}, err
	}
	defer e.endCall(cs)
	r := &callRun{e: e, cs: cs, c: c, keys: keys}
	return r.run(ctx)
}

// keyAudio renders the key presses of digits.
func keyAudio(digits string) ([]int16, error) {
	out := make([]int16, 0, len(digits)*keyCycle)
	for i := range len(digits) {
		t, err := tone.DTMF(digits[i], keyCycle/2*time.Second/voice.Rate, keyLevelDBm0)
		if err != nil {
			return nil, fmt.Errorf("sim: caller digits: %w", err)
		}
		out = append(out, t...)
		out = append(out, make([]int16, keyCycle-len(t))...)
	}
	return out, nil
}

// callRun is one call in progress, driven by Call's goroutine.
type callRun struct {
	e    network
	cs   *callState
	c    Caller
	keys []int16
	res  Result

	phase       phase
	outPos      int // samples of keys or Say sent
	keysStarted int
	answeredAt  time.Time

	// Listening.
	everSound   bool
	soundFrames int
	silent      int       // consecutive silent frames
	soundMark   bool      // sound heard since the current phase began
	heardAfter  int       // frames of sound heard since the keys (HangupAfterHeard)
	lastFrame   time.Time // when the box's audio last arrived
	lastTick    time.Time // when the last tick was handled while the audio was live

	// Speaking.
	out       voice.Frame
	tx        [2 * voice.FrameSamples]byte
	txPending int         // bytes of tx still to write
	frameNo   int         // frames of the caller's audio so far
	ticks     int         // 20 ms steps of the caller since the answer: its own clock
	late      voice.Frame // a frame held back (LateEvery)
	hasLate   bool
}

func (r *callRun) run(ctx context.Context) (Result, error) {
	e, cs := r.e, r.cs
	firstRing := time.Now()
	if e.ring(cs) {
		r.res.Rings++
	}
	rings := time.NewTicker(e.ringInterval())
	defer rings.Stop()
ringing:
	for {
		select {
		case <-ctx.Done():
			r.hangUp()
			return r.res, ctx.Err()
		case <-e.stopped():
			return r.res, ErrStopped
		case <-cs.hungUp:
			r.res.HungUpBy = "box"
			return r.res, nil
		case <-cs.answered:
			break ringing
		case <-rings.C:
			if r.res.Rings >= r.c.MaxRings {
				answered, released := e.giveUp(cs)
				if answered {
					continue // ATA came just in time; cs.answered is ready
				}
				r.res.HungUpBy = "box"
				if released {
					r.res.HungUpBy = "caller"
				}
				return r.res, nil
			}
			if e.ring(cs) {
				r.res.Rings++
			}
		}
	}
	rings.Stop()

	r.answeredAt = e.answerTime(cs)
	r.res.Answered = true
	r.res.AnsweredAfter = e.callTime(r.answeredAt.Sub(firstRing))
	r.res.Heard = make([]int16, 0, 30*voice.Rate)
	r.phase = phListen
	r.lastFrame = r.answeredAt

	tick := time.NewTicker(e.wall(voice.FrameDuration))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			r.hangUp()
			return r.finish(), ctx.Err()
		case <-e.stopped():
			return r.finish(), ErrStopped
		case <-cs.hungUp:
			r.res.HungUpBy = "box"
			return r.finish(), nil
		case f := <-cs.frames:
			r.hear(&f, time.Now())
			if r.c.HangupAfterHeard > 0 && time.Duration(r.heardAfter)*voice.FrameDuration >= r.c.HangupAfterHeard {
				r.hangUp()
				return r.finish(), nil
			}
		case now := <-tick.C:
			r.ticks++
			if r.c.HangupAfter > 0 && time.Duration(r.ticks)*voice.FrameDuration >= r.c.HangupAfter {
				r.hangUp()
				return r.finish(), nil
			}
			if e.callTime(now.Sub(r.answeredAt)) >= r.c.MaxDuration { // a safety net: wall clock
				r.hangUp()
				return r.finish(), fmt.Errorf("%w (%v)", ErrMaxDuration, r.c.MaxDuration)
			}
			r.tick(now)
		}
	}
}

// hangUp ends the call from the caller's side, unless the box was first.
func (r *callRun) hangUp() {
	if r.e.callerHangUp(r.cs) {
		r.res.HungUpBy = "caller"
	} else {
		r.res.HungUpBy = "box"
	}
}

// finish completes the result once the call is over.
func (r *callRun) finish() Result {
	for drained := false; !drained; {
		select {
		case f := <-r.cs.frames:
			r.hear(&f, time.Now())
		default:
			drained = true
		}
	}
	if p, ok := r.e.(interface{ lateFrames() int }); ok {
		r.res.LateFrames = p.lateFrames() // the modem paces the caller's audio itself
	}
	r.res.Duration = r.e.callTime(time.Since(r.answeredAt))
	r.res.DigitsSent = r.c.Digits[:r.keysStarted]
	r.res.SecondsHeard = float64(r.soundFrames) / voice.FramesPerSecond
	return r.res
}

// hear takes one frame the box played.
func (r *callRun) hear(f *voice.Frame, now time.Time) {
	r.lastFrame = now
	r.res.Heard = append(r.res.Heard, f[:]...)
	if tone.LevelDBm0(f[:]) > soundDBm0 {
		if !r.everSound {
			r.res.FirstSoundAfter = now.Sub(r.answeredAt)
		}
		r.sound()
	} else {
		r.silence()
	}
}

func (r *callRun) sound() {
	if !r.everSound || r.silent >= burstGap {
		r.res.PromptsHeard++
	}
	r.everSound = true
	r.soundFrames++
	if r.phase > phKeys {
		r.heardAfter++
	}
	r.silent = 0
	r.soundMark = true
}

func (r *callRun) silence() {
	r.silent++
	switch r.phase {
	case phListen:
		if r.soundMark && r.silent >= keyWait {
			r.soundMark = false
			r.outPos = 0
			if len(r.keys) > 0 {
				r.phase = phKeys
			} else {
				r.phase = phWaitBeep
			}
		}
	case phWaitBeep:
		if r.soundMark && r.silent >= sayWait {
			r.outPos = 0
			if len(r.c.Say) > 0 {
				r.phase = phSay
			} else {
				r.phase = phIdle
			}
		}
	}
}

// tick runs every 20 ms of the call: counts silence when the box sends nothing, and sends the
// caller's next frame.
func (r *callRun) tick(now time.Time) {
	// Frames still queued are not silence, only late (the caller's own goroutine was slow to
	// take them); nor is a gap the box's audio deadline allows.
	if len(r.cs.frames) == 0 && now.Sub(r.lastFrame) > max(r.e.wall(noAudioAfter), noAudioWall) {
		r.silence()
	}
	r.next(&r.out)
	if !r.e.audioLive(r.cs) {
		r.lastTick = time.Time{}
		return
	}
	// (The FXO modem paces the audio itself and counts its own pauses.)
	handled := time.Now()
	if !r.lastTick.IsZero() {
		r.res.LateFrames += pauseUnderruns(handled.Sub(r.lastTick))
	}
	r.lastTick = handled
	r.frameNo++
	switch {
	case r.c.DropEvery > 0 && r.frameNo%r.c.DropEvery == 0:
		return // lost on the way
	case r.c.LateEvery > 0 && r.frameNo%r.c.LateEvery == 0:
		r.late, r.hasLate = r.out, true // held back a frame
		return
	}
	if r.hasLate {
		cur := r.out
		r.out, r.hasLate = r.late, false
		r.send()
		r.out = cur
	}
	r.send()
}

// pauseUnderruns is how many underruns a box may count when a modem sends nothing for gap
// between two frames: one after 60 ms without a frame, one more every 20 ms after that, where
// the box may take a frame up to 20 ms late itself (scheduling on a busy machine) and so see
// the gap 20 ms longer.
// gap is wall-clock time at any Options.Speed, as the drivers' underrun deadline is.
func pauseUnderruns(gap time.Duration) int {
	if gap <= 40*time.Millisecond {
		return 0
	}
	return int((gap-40*time.Millisecond)/voice.FrameDuration) + 1
}

// next renders the caller's next 20 ms into dst and moves the script on.
func (r *callRun) next(dst *voice.Frame) {
	var src []int16
	switch r.phase {
	case phKeys:
		if r.outPos%keyCycle == 0 {
			if !r.c.NoToneReports {
				r.e.toneReport(r.cs, r.c.Digits[r.keysStarted])
			}
			r.keysStarted++
		}
		src = r.keys
	case phSay:
		src = r.c.Say
	}
	n := 0
	if r.outPos < len(src) {
		n = copy(dst[:], src[r.outPos:])
	}
	clear(dst[n:])
	if src == nil {
		return
	}
	r.outPos += voice.FrameSamples
	if r.outPos >= len(src) {
		switch r.phase {
		case phKeys:
			r.phase = phWaitBeep
		case phSay:
			r.phase = phIdle
		}
	}
}

// send writes the caller's frame on the audio port. A box that does not read its audio port
// loses frames, never sample alignment: a frame that went out in part is completed first.
func (r *callRun) send() {
	if fs, ok := r.e.(frameSender); ok {
		fs.sendFrame(&r.out)
		return
	}
	w := r.e.audioOut()
	// The deadline counts from the actual time: the tick may be handled late.
	w.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
	if r.txPending > 0 {
		n, _ := w.Write(r.tx[len(r.tx)-r.txPending:])
		r.txPending -= n
		if r.txPending > 0 {
			return
		}
	}
	encodeFrame(&r.tx, &r.out)
	n, _ := w.Write(r.tx[:])
	r.txPending = len(r.tx) - n
}
