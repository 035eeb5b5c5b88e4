package fxo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
)

const (
	// defaultDialTimeout is Options.DialTimeout's default.
	defaultDialTimeout = 60 * time.Second
	// ringbackBurst is longer than one burst of ringback tone (1 s in Europe, 2 s in North
	// America): sound this long after the last <DLE>r report is the callee, not ringback.
	ringbackBurst = 2500 * time.Millisecond
	// progressCheck is how often Dial looks at the line's sound while the callee's phone rings.
	progressCheck = 50 * time.Millisecond
)

var _ hw.Dialer = (*Modem)(nil)

// Dial calls number (digits, '*' and '#'; an analog line has no '+') and returns once the
// callee answered, with the call's audio; a Connected event follows. It goes off hook and dials
// with ATDT<number>; (the modem answers VCON, or OK, once it has dialled), starts full-duplex
// voice (AT+VTR) and follows the call's progress in the voice data, as an analog line gives no
// answer signal: <DLE>b (busy or congestion tone) fails with hw.ErrBusy; <DLE>r reports each
// burst of ringback tone, and sound more than 2.5 s after the last one is the callee answering.
// A modem that reports no ringback cannot tell ringback from an answer: Dial then returns at
// the first sound. BUSY, NO DIALTONE, NO CARRIER or NO ANSWER from the modem, a dropped loop,
// or Options.DialTimeout (60 s) without an answer fail with hw.ErrNoAnswer. A failed dial goes
// back on hook and sends no events.
func (m *Modem) Dial(ctx context.Context, number string) (hw.Audio, error) {
	if !validNumber(number) {
		return nil, fmt.Errorf("fxo %s: dial: invalid number %q", m.id, number)
	}
	m.mu.Lock()
	if m.closed || m.run == nil || m.call.phase != idle {
		m.mu.Unlock()
		return nil, fmt.Errorf("fxo %s: dial: the line is not idle: %w", m.id, hw.ErrNoAnswer)
	}
	m.call = callState{phase: dialing, gen: m.call.gen + 1}
	m.call.cid.number = number
	gen := m.call.gen
	progress := make(chan byte, 16)
	m.progress = progress
	a := newCallAudio(m.id, m.s, m.format, m.log)
	m.mu.Unlock()

	wait := m.opts.DialTimeout
	if wait <= 0 {
		wait = defaultDialTimeout
	}
	tctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	fail := func(err error) (hw.Audio, error) {
		a.stop()
		m.s.disarm()
		hctx, hcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*leaveWait+hangupTimeout)
		defer hcancel()
		if herr := m.onHook(hctx); herr != nil {
			m.log.Warn("going on hook after a failed dial", "err", herr)
		}
		m.mu.Lock()
		if m.call.gen == gen && m.call.phase == dialing {
			m.call = callState{gen: gen}
			m.progress = nil
		}
		m.mu.Unlock()
		m.log.Info("dialled call not answered", "number", number, "err", err)
		return nil, fmt.Errorf("fxo %s: dial %s: %w", m.id, number, err)
	}
	if err := m.waitOnHook(tctx); err != nil { // see Answer
		return fail(err)
	}
	m.log.Info("dialling", "number", number)
	if _, err := m.ch.Command(tctx, "ATDT"+number+";", wait); err != nil {
		var ce *modem.CommandError
		switch {
		case ctx.Err() != nil:
			return fail(context.Cause(ctx))
		case errors.As(err, &ce) && ce.Final == "BUSY":
			return fail(fmt.Errorf("%w (BUSY)", hw.ErrBusy))
		case errors.As(err, &ce) && (ce.Final == "NO DIALTONE" || ce.Final == "NO CARRIER" || ce.Final == "NO ANSWER"):
			return fail(fmt.Errorf("%w (%s)", hw.ErrNoAnswer, ce.Final))
		case errors.Is(err, modem.ErrTimeout), tctx.Err() != nil:
			return fail(fmt.Errorf("%w (no answer in %v)", hw.ErrNoAnswer, wait))
		}
		return fail(err)
	}
	created := time.Unix(0, a.lastVoice.Load())
	m.s.arm(a)
	if _, err := m.ch.Command(tctx, "AT+VTR", answerTimeout); err != nil {
		return fail(err)
	}

	tick := time.NewTicker(progressCheck)
	defer tick.Stop()
	var lastRing time.Time
	rang := false
	for answered := false; !answered; {
		select {
		case code := <-progress:
			switch code {
			case 'r':
				lastRing, rang = time.Now(), true
			case 'b', 'K':
				return fail(fmt.Errorf("%w (busy tone)", hw.ErrBusy))
			default:
				return fail(fmt.Errorf("%w (line event %q)", hw.ErrNoAnswer, code))
			}
		case <-tick.C:
			m.mu.Lock()
			gone := m.call.gen != gen || m.call.phase != dialing
			m.mu.Unlock()
			if gone {
				return fail(fmt.Errorf("%w (hung up while dialling)", hw.ErrNoAnswer))
			}
			voice := time.Unix(0, a.lastVoice.Load())
			switch {
			case rang && voice.Sub(lastRing) > ringbackBurst:
				answered = true
			case !rang && voice.After(created):
				answered = true
			}
		case <-tctx.Done():
			if ctx.Err() != nil {
				return fail(context.Cause(ctx))
			}
			return fail(fmt.Errorf("%w (no answer in %v)", hw.ErrNoAnswer, wait))
		}
	}
	m.mu.Lock()
	if m.call.gen != gen || m.call.phase != dialing {
		m.mu.Unlock()
		return fail(fmt.Errorf("%w (the call ended meanwhile)", hw.ErrNoAnswer))
	}
	m.call.phase = active
	m.call.audio = a
	m.progress = nil
	a.discard()
	m.emitLocked(hw.Event{Kind: hw.Connected, Number: number})
	m.mu.Unlock()
	m.log.Info("dialled call answered", "number", number)
	return a, nil
}

// validNumber reports whether n can be dialled on an analog line: 1 to 32 of '0'-'9', '*', '#'.
func validNumber(n string) bool {
	if n == "" || len(n) > 32 {
		return false
	}
	for i := range len(n) {
		if c := n[i]; (c < '0' || c > '9') && c != '*' && c != '#' {
			return false
		}
	}
	return true
}

// dialProgressLocked hands a line event that came while dialling to Dial. m.mu is held.
func (m *Modem) dialProgressLocked(code byte) {
	select {
	case m.progress <- code:
	default:
	}
}
