package gsm

import (
	"context"
	"fmt"

	"hotline/hw"
)

// The families' differences for the services.
var (
	quectelFamily = family{eps: true, signalSteps: []string{`AT+QINDCFG="csq",1,0`}}
	simcomFamily  = family{eps: true, signalSteps: []string{"AT+AUTOCSQ=1,1"}}
	huaweiFamily  = family{ussdPacked: true, huaweiDTMF: true} // 3G: no +CEREG; ^RSSI comes unasked
)

var (
	_ hw.Dialer = (*Quectel)(nil)
	_ hw.Dialer = (*SIM7600)(nil)
	_ hw.Dialer = (*Huawei)(nil)
)

// outgoingLocked applies a call-state report of an outgoing call (+QIND "ccinfo" or +CLCC with
// dir 0). l.mu is held.
func (l *line) outgoingLocked(cc callInfo) {
	c := &l.call
	if !c.outgoing || c.phase == idle || (c.idx != 0 && c.idx != cc.idx) {
		return
	}
	if c.idx == 0 && (cc.stat == statReleased || cc.stat == statDisconnect) {
		// A release before any report of this call is the last call's, late (the URCs that
		// follow AT+CHUP): it must not end the call just dialled.
		l.log.Debug("release of an earlier call ignored", "idx", cc.idx)
		return
	}
	if c.idx == 0 {
		c.idx = cc.idx
	}
	switch cc.stat {
	case statDialing, statAlerting:
		l.log.Debug("dial progress", "stat", cc.stat)
	case statActive:
		if c.phase == dialing {
			l.svc.dialReport(dialOutcome{connected: true})
		}
	case statReleased, statDisconnect:
		l.endCallLocked(l.remoteCauseLocked())
	}
}

// startDial reserves the idle line for an outgoing call.
func (l *line) startDial(number string) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, hw.ErrNoCall
	}
	if l.noVoice {
		return 0, ErrNoVoice
	}
	if l.call.phase != idle {
		return 0, ErrLineBusy
	}
	l.call = callState{phase: dialing, gen: l.call.gen + 1, outgoing: true, number: number, numberKnown: true}
	return l.call.gen, nil
}

func (l *line) afterATD(ctx context.Context) error { return l.d.connect(ctx, l) }

// dialConnected starts the audio of the answered outgoing call gen.
func (l *line) dialConnected(ctx context.Context, gen uint64) (hw.Audio, error) {
	l.mu.Lock()
	prevReader := l.lastReader
	l.mu.Unlock()
	if err := waitReader(ctx, prevReader); err != nil {
		l.dialGiveUp(gen)
		return nil, err
	}
	prepareAudioPort(l.audioPort, l.log)
	a := newCallAudio(l.id, l.audioPort, l.log)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed || l.call.gen != gen || l.call.phase != dialing {
		return nil, fmt.Errorf("call ended meanwhile: %w", hw.ErrNoAnswer)
	}
	l.call.phase = active
	l.audio = a
	l.lastReader = a.readerDone
	go a.readLoop() // ends at hang-up (a.stop); Run and the next call wait for it
	l.d.active(l, gen)
	l.emitLocked(hw.Event{Kind: hw.Connected, Number: l.call.number})
	return a, nil
}

// dialGiveUp hangs up the unanswered call gen and forgets it quietly.
func (l *line) dialGiveUp(gen uint64) {
	l.mu.Lock()
	there := l.call.gen == gen && l.call.phase == dialing
	l.mu.Unlock()
	if there {
		ctx, cancel := context.WithTimeout(context.Background(), hangupTimeout)
		defer cancel()
		if _, err := l.ch.Command(ctx, "AT+CHUP", hangupTimeout); err != nil {
			l.log.Info("hang-up of the unanswered call", "err", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.call.gen == gen && l.call.phase == dialing {
		l.call = callState{gen: gen}
	}
}

func (l *line) activeCall() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.call.idx, l.call.phase == active
}

// waitReader waits for the last call's audio reader to finish.
func waitReader(ctx context.Context, reader <-chan struct{}) error {
	if reader == nil {
		return nil
	}
	select {
	case <-reader:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for the last call's audio: %w", context.Cause(ctx))
	}
}

// Status returns what the line knows of its modem, SIM and network.
func (q *Quectel) Status() LineStatus { return q.svc.status() }

// Dial calls number (see hw.Dialer): ATD<number>; then the +QIND "ccinfo" reports (2 dialling,
// 3 alerting, 0 active: answered, -1 released) and BUSY / NO ANSWER / NO CARRIER. The audio
// runs on the PCM port that AT+QPCMV=1,0 set up at init. It gives up after 60 s.
func (q *Quectel) Dial(ctx context.Context, number string) (hw.Audio, error) {
	return q.svc.dialCall(ctx, q.line, number)
}

// SendDigits sends DTMF keys (0-9 * # A-D) into the call that is up, with AT+VTS="<key>" each.
func (q *Quectel) SendDigits(ctx context.Context, digits string) error {
	return q.svc.sendDigits(ctx, q.line, digits)
}

// SMS delivers received messages and delivery reports; see IncomingSMS for the Ack contract.
// It is never closed; stop reading when Run has returned.
func (q *Quectel) SMS() <-chan IncomingSMS { return q.svc.smsOut }

// SendSMS sends text to the number to ('+' and digits), split into as many parts as needed
// (GSM 7-bit, or UCS2 for Cyrillic and other scripts), with AT+CMGS in PDU mode, and returns
// each part's message reference (-1 where the modem gave none).
func (q *Quectel) SendSMS(ctx context.Context, to, text string) ([]int, error) {
	return q.svc.sendSMS(ctx, to, text)
}

// USSD sends a USSD request such as "*100#" (AT+CUSD=1,"<code>",15) and returns the network's
// decoded reply; it waits at most 30 s. A reply that asks for more closes the session.
func (q *Quectel) USSD(ctx context.Context, code string) (string, error) {
	return q.svc.ussd(ctx, code)
}

// Status returns what the line knows of its modem, SIM and network.
func (s *SIM7600) Status() LineStatus { return s.l.svc.status() }

// Dial calls number (see hw.Dialer): ATD<number>; then the +CLCC reports (2 dialling,
// 3 alerting, 0 active, 6 released), VOICE CALL: BEGIN and BUSY / NO ANSWER / NO CARRIER /
// VOICE CALL: END. Once answered, AT+CPCMREG=1 routes the audio as for an answered call. It
// gives up after 60 s.
func (s *SIM7600) Dial(ctx context.Context, number string) (hw.Audio, error) {
	return s.l.svc.dialCall(ctx, s.l, number)
}

// SendDigits sends DTMF keys (0-9 * # A-D) into the call that is up, with AT+VTS="<key>" each.
func (s *SIM7600) SendDigits(ctx context.Context, digits string) error {
	return s.l.svc.sendDigits(ctx, s.l, digits)
}

// SMS delivers received messages and delivery reports; see IncomingSMS for the Ack contract.
func (s *SIM7600) SMS() <-chan IncomingSMS { return s.l.svc.smsOut }

// SendSMS sends text to the number to; see Quectel.SendSMS.
func (s *SIM7600) SendSMS(ctx context.Context, to, text string) ([]int, error) {
	return s.l.svc.sendSMS(ctx, to, text)
}

// USSD sends a USSD request as text (AT+CUSD=1,"*100#",15); see Quectel.USSD.
func (s *SIM7600) USSD(ctx context.Context, code string) (string, error) {
	return s.l.svc.ussd(ctx, code)
}

// Status returns what the line knows of its modem, SIM and network.
func (h *Huawei) Status() LineStatus { return h.l.svc.status() }

// Dial calls number (see hw.Dialer): ATD<number>; and AT^DDSETEX=2 for the audio, then ^ORIG,
// ^CONF (alerting), ^CONN (answered) or ^CEND (ended; cause 17 is busy) and BUSY / NO ANSWER /
// NO CARRIER. It gives up after 60 s. On a dongle without voice it fails with ErrNoVoice.
func (h *Huawei) Dial(ctx context.Context, number string) (hw.Audio, error) {
	return h.l.svc.dialCall(ctx, h.l, number)
}

// SendDigits sends DTMF keys (0-9 * #; the dongles refuse A-D) into the call that is up, with
// AT^DTMF=<call index>,<key> each.
func (h *Huawei) SendDigits(ctx context.Context, digits string) error {
	return h.l.svc.sendDigits(ctx, h.l, digits)
}

// SMS delivers received messages and delivery reports; see IncomingSMS for the Ack contract.
func (h *Huawei) SMS() <-chan IncomingSMS { return h.l.svc.smsOut }

// SendSMS sends text to the number to; see Quectel.SendSMS.
func (h *Huawei) SendSMS(ctx context.Context, to, text string) ([]int, error) {
	return h.l.svc.sendSMS(ctx, to, text)
}

// USSD sends a USSD request packed in GSM 7-bit hex (AT+CUSD=1,"AA180C3602",15 for *100#), as
// the dongles want it; see Quectel.USSD.
func (h *Huawei) USSD(ctx context.Context, code string) (string, error) {
	return h.l.svc.ussd(ctx, code)
}
