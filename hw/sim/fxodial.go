package sim

import (
	"strings"
	"time"

	"hotline/voice"
	"hotline/voice/tone"
)

// progressTone is a call-progress tone the simulated analog exchange plays to the box.
type progressTone int

const (
	noTone     progressTone = iota
	ringback                // the callee's phone rings: 425 Hz, 1 s on, 4 s off
	busyTone                // 425 Hz, 0.5 s on, 0.5 s off
	congestion              // number unreachable: 425 Hz, 0.25 s on, 0.25 s off
)

// Cadences of the CEPT tones (ITU-T E.180 Supplement 2, the common European plan), as samples
// of one full cycle.
var progressCycles = map[progressTone][]int16{
	ringback:   cadence(time.Second, 4*time.Second),
	busyTone:   cadence(500*time.Millisecond, 500*time.Millisecond),
	congestion: cadence(250*time.Millisecond, 250*time.Millisecond),
}

func cadence(on, off time.Duration) []int16 {
	return append(tone.Sine(425, on, -13), tone.Silence(off)...)
}

// fxoDial handles ATD[T|P]<number>[;] in voice mode: the modem goes off hook, dials and
// answers VCON at once (an analog line has no answer supervision). What follows is heard in
// the voice data after AT+VTR: ringback, then the callee, or busy tone (<DLE>b) or congestion
// tone. m.mu is held.
func (m *FXO) fxoDial(arg string) final {
	number := strings.TrimSuffix(strings.TrimSpace(arg), ";")
	if len(number) > 0 && (number[0] == 'T' || number[0] == 't' || number[0] == 'P' || number[0] == 'p') {
		number = number[1:]
	}
	if m.fclass != 8 || !dialString(number) || m.call != nil || m.calling || m.bgCtx == nil {
		return fail
	}
	callee := m.callees.lookup(number)
	cs := &callState{
		from:     number,
		outgoing: true,
		stat:     statDialing,
		answered: make(chan struct{}, 1),
		hungUp:   make(chan struct{}, 1),
		frames:   make(chan voice.Frame, 64),
	}
	m.call, m.calling, m.offHook = cs, true, true
	m.setTone(noTone)
	for range len(m.txq) {
		<-m.txq
	}
	ctx, id, dir := m.bgCtx, m.opts.ID, m.callees
	m.bg.Go(func() { runCallee(ctx, m, cs, callee, id, dir) })
	m.log.Info("box dials", "number", number, "outcome", callee.Outcome)
	return ok
}

// setTone starts playing t from its beginning; m.mu is held.
func (m *FXO) setTone(t progressTone) { m.tone, m.toneAt = t, 0 }

// nextToneFrame fills f with the next 20 ms of the progress tone and reports whether one
// plays; ringBurst: a burst of ringback starts with it, which the modem reports (<DLE>r) with
// Options.ToneReports. m.mu is held.
func (m *FXO) nextToneFrame(f *voice.Frame) (playing, ringBurst bool) {
	cycle := progressCycles[m.tone]
	if cycle == nil {
		return false, false
	}
	ringBurst = m.tone == ringback && m.toneAt == 0 && m.opts.ToneReports
	for i := range f {
		f[i] = cycle[(m.toneAt+i)%len(cycle)]
	}
	m.toneAt = (m.toneAt + len(f)) % len(cycle)
	return true, ringBurst
}

// Callees returns the modem's directory of numbers the box can dial; see EC25.Callees.
func (m *FXO) Callees() *Callees { return m.callees }

// SetCallee makes number reach c when the box dials it; see EC25.SetCallee.
func (m *FXO) SetCallee(number string, c Callee) { m.callees.Set(number, c) }

// The callee's side (the exchange) of a dialled call; see dialer.

func (m *FXO) alerting(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	cs.stat = statAlerting
	m.setTone(ringback) // the pacer reports each burst with <DLE>r
	return true
}

func (m *FXO) connect(cs *callState) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	cs.stat = statActive
	cs.answeredAt = time.Now()
	m.setTone(noTone)
	m.log.Info("dialled call answered", "number", cs.from)
	return true
}

func (m *FXO) fail(cs *callState, o Outcome) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call != cs {
		return false
	}
	m.call = nil
	switch o {
	case Busy:
		m.setTone(busyTone)
		if m.data {
			m.write([]byte{simDLE, 'b'})
		}
	case NoAnswer:
		m.setTone(noTone) // the ringing just stops
	default:
		m.setTone(congestion)
		if m.data {
			m.write([]byte{simDLE, 'b'}) // the modem's busy detector takes congestion tone too
		}
	}
	m.log.Info("dialled call not put through", "number", cs.from, "outcome", o)
	return true
}

func (m *FXO) done(cs *callState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.call == cs {
		m.call = nil
	}
	m.calling = false
}

func (m *FXO) keysReceived(*callState) string { return "" }

var _ dialer = (*FXO)(nil)
