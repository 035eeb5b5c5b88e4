package gsm

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
)

const (
	// cpcmregFirst is the pause between the answer and the first AT+CPCMREG=1: the SIM7600
	// refuses it at first ("need to wait a bit before they can accept +CPCMREG").
	cpcmregFirst = 100 * time.Millisecond
	// cpcmregRetry spaces the tries while the modem answers ERROR.
	cpcmregRetry = 200 * time.Millisecond
	// cpcmregRetryFor bounds the tries; some firmware takes seconds.
	cpcmregRetryFor = 12 * time.Second
)

// SIMComOptions tune a SIMCom line. The zero value works.
type SIMComOptions struct {
	// Logger receives the line's log; nil discards.
	Logger *slog.Logger
	// Watchdog is how often the line checks that the modem still answers (AT); two checks in a
	// row without an answer in time end Run with an error wrapping ErrStalled, so the caller
	// can recover the modem. 0 means every 20 s; negative turns the check off.
	Watchdog time.Duration
	// ToneDetect sends AT+DDET=1 and reports the modem's +RXDTMF digits as hw.Digit events.
	// Without it, digits are left to in-band detection.
	ToneDetect bool
	// PIN is the SIM's PIN, sent once when the SIM asks for it; never logged. A PIN the SIM
	// refuses is not sent again.
	PIN string
	// SMSStatusReports asks the network for a delivery report of every SMS sent.
	SMSStatusReports bool
}

// LogValue logs the options without the PIN.
func (o SIMComOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("tone_detect", o.ToneDetect), slog.Any("pin", secret(o.PIN)),
		slog.Bool("sms_status_reports", o.SMSStatusReports))
}

// SIM7600 is a line on a SIMCom SIM7500/SIM7600 with call audio on its USB audio port
// (interface 4), switched on per call with AT+CPCMREG=1.
//
// Call state comes from the call-list URCs of AT+CLCC=1 (stat 4 incoming, 0 active, 6
// disconnect), +CRING: VOICE (AT+CRC=1) or RING, +CLIP, VOICE CALL: BEGIN / VOICE CALL: END,
// MISSED_CALL and NO CARRIER. Once the answered call is up the line sends AT+CPCMREG=1, and
// again every 200 ms while the modem answers ERROR and the call lasts (for up to 12 s: the
// firmware accepts it only after a delay); AT+CPCMREG=0 follows the call's end.
type SIM7600 struct {
	l    *line
	opts SIMComOptions

	// route is closed when the last AT+CPCMREG task finished; guarded by l.mu.
	route chan struct{}
}

var _ hw.Line = (*SIM7600)(nil)

// NewSIM7600 returns the line id on a SIM7600 whose AT port is at and whose audio port is
// audio. Nothing happens until Run.
func NewSIM7600(id string, at, audio io.ReadWriter, opts SIMComOptions) *SIM7600 {
	s := &SIM7600{opts: opts}
	s.l = newLine(id, at, audio, opts.Logger, s, simcomFamily, opts.PIN, opts.SMSStatusReports)
	s.l.watchdog = opts.Watchdog
	return s
}

// ID is the line's name.
func (s *SIM7600) ID() string { return s.l.id }

// Events delivers the line's events; it is closed when Run returns.
func (s *SIM7600) Events() <-chan hw.Event { return s.l.events }

// Run drives the line until ctx ends (then it returns nil, after hanging up a call in progress)
// or the modem is lost (then it reports the call's end, sends a "down" State event and returns
// the error). It initialises the modem (ATE0, AT+CMEE=2, ATI, AT+CGMM, AT+CLIP=1, AT+CRC=1,
// AT+CLCC=1, AT+DDET=1 when asked; a refused command is logged and skipped), sends a "ready"
// State event, then turns URCs into events. Events is closed when Run returns. Run may be
// called once.
func (s *SIM7600) Run(ctx context.Context) error { return s.l.runLine(ctx) }

// Answer takes the ringing call with ATA (5 s) and returns its audio: s16le in 320-byte frames
// until the call ends. Audio flows once the modem accepts AT+CPCMREG=1, which the line sends in
// the background; until then ReadFrame reports underruns. With no ringing call it returns an
// error wrapping hw.ErrNoCall. If ATA fails the call is given up (AT+CHUP) and a Hangup event
// reports it. A caller who hangs up as the modem takes ATA ends the call like any later hang-up
// (Hangup event "caller hung up"; the audio returned reports the end), not as a failed answer.
func (s *SIM7600) Answer(ctx context.Context) (hw.Audio, error) { return s.l.answer(ctx) }

// Hangup ends the current call (ringing or up) with AT+CHUP and reports a Hangup event with
// cause "box hung up". With no call it does nothing.
func (s *SIM7600) Hangup(ctx context.Context) error { return s.l.hangup(ctx) }

// simcomURCs are the unsolicited result codes a SIM7600 may send on its AT port.
var simcomURCs = []string{
	"+CLIP:", "+CRING:", "+CLCC:", "+CCWA:", "+RXDTMF:", "VOICE CALL:", "MISSED_CALL:",
	"+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:", "+CSQ:", "+CNSMOD:", "+CTZV:", "*PSUTTZ", "DST:",
	"+CREG:", "+CEREG:", "+CGREG:", "+CGEV:", "+CPIN:", "+CFUN:", "+STIN:",
	"RDY", "SMS DONE", "PB DONE", "POWERED DOWN",
}

func (s *SIM7600) isURC(text string) bool { return hasAnyPrefix(text, simcomURCs) }

func (s *SIM7600) setup(ctx context.Context, l *line) (string, error) {
	steps := []string{
		"ATE0",      // no echo
		"AT+CMEE=2", // verbose +CME ERROR
		"ATI",
		"AT+CGMM",
		"AT+CLIP=1", // caller ID after RING
		"AT+CRC=1",  // +CRING: VOICE
		"AT+CLCC=1", // call-list URCs
	}
	if s.opts.ToneDetect {
		steps = append(steps, "AT+DDET=1") // +RXDTMF
	}
	if err := l.runSteps(ctx, steps, nil); err != nil {
		return "", err
	}
	return "ready", nil
}

func (s *SIM7600) urc(r *lineRunner, text string) bool {
	l := s.l
	switch {
	case strings.HasPrefix(text, "VOICE CALL: END"):
		r.onRemoteEnd()
	case strings.HasPrefix(text, "VOICE CALL: BEGIN"):
		l.mu.Lock()
		if l.call.outgoing && l.call.phase == dialing {
			l.svc.dialReport(dialOutcome{connected: true})
		}
		l.mu.Unlock()
	case strings.HasPrefix(text, "VOICE CALL:"):
		l.log.Debug("voice call report", "urc", text)
	case strings.HasPrefix(text, "MISSED_CALL:"):
		// The caller gave up ringing, perhaps just as ATA went out (answer sees the end).
		l.mu.Lock()
		if l.call.phase == ringing || l.call.phase == answering {
			l.endCallLocked(CauseRemote)
		}
		l.mu.Unlock()
	case strings.HasPrefix(text, "+RXDTMF:"):
		r.onKeyURC(s.opts.ToneDetect, "+RXDTMF", text, func(t string) (byte, bool) {
			return parseKeyURC(t, "+RXDTMF:")
		})
	default:
		return false
	}
	return true
}

func (s *SIM7600) connect(context.Context, *line) error { return nil }

func (s *SIM7600) ringWait() time.Duration { return clipWait }

func (s *SIM7600) askOnRing() bool { return false }

// active starts routing the call's audio to the audio port. l.mu is held.
func (s *SIM7600) active(l *line, gen uint64) {
	prev, done := s.route, make(chan struct{})
	if l.goLocked(func(ctx context.Context) {
		defer close(done)
		if waitFor(ctx, prev) {
			s.pcmOn(ctx, gen)
		}
	}) {
		s.route = done
	}
}

// ended routes the audio back once the call is over. l.mu is held.
func (s *SIM7600) ended(l *line) {
	prev, done := s.route, make(chan struct{})
	if l.goLocked(func(ctx context.Context) {
		defer close(done)
		if !waitFor(ctx, prev) {
			return
		}
		if _, err := l.ch.Command(ctx, "AT+CPCMREG=0", 0); err != nil {
			l.log.Warn("AT+CPCMREG=0 after the call failed", "err", err)
		}
	}) {
		s.route = done
	}
}

// pcmOn sends AT+CPCMREG=1 until the modem takes it, the call ends or the tries run out.
func (s *SIM7600) pcmOn(ctx context.Context, gen uint64) {
	l := s.l
	start := time.Now()
	wait := time.NewTimer(cpcmregFirst)
	defer wait.Stop()
	for try := 1; ; try++ {
		select {
		case <-wait.C:
		case <-ctx.Done():
			return
		}
		if !l.callUp(gen) {
			return
		}
		_, err := l.ch.Command(ctx, "AT+CPCMREG=1", 0)
		if err == nil {
			l.log.Info("call audio on", "tries", try)
			return
		}
		var ce *modem.CommandError
		if ctx.Err() != nil || errors.Is(err, modem.ErrClosed) {
			return
		}
		if time.Since(start) >= cpcmregRetryFor {
			l.log.Error("modem never accepted AT+CPCMREG=1; the call has no audio", "tries", try, "err", err)
			return
		}
		if !errors.As(err, &ce) {
			l.log.Warn("AT+CPCMREG=1 failed, trying again", "err", err)
		}
		wait.Reset(cpcmregRetry)
	}
}

// waitFor waits until ch (nil: nothing to wait for) is closed, or ctx ends (false).
func waitFor(ctx context.Context, ch <-chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// parseKeyURC reads a key reported as a character after prefix: "+RXDTMF: 8", "^DDTMF:5",
// "+RXDTMF: *,100". Anything but '0'-'9', '*', '#', 'A'-'D' returns false.
func parseKeyURC(text, prefix string) (byte, bool) {
	rest, ok := params(text, prefix)
	if !ok {
		return 0, false
	}
	f := splitFields(rest)
	if len(f) == 0 {
		return 0, false
	}
	k := unquote(f[0])
	if len(k) != 1 {
		return 0, false
	}
	switch c := k[0]; {
	case c >= '0' && c <= '9', c >= 'A' && c <= 'D', c == '*', c == '#':
		return c, true
	case c >= 'a' && c <= 'd':
		return c - 'a' + 'A', true
	}
	return 0, false
}
