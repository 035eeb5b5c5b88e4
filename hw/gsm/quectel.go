package gsm

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"time"

	"hotline/hw"
)

// QuectelOptions tune a Quectel line. The zero value works.
type QuectelOptions struct {
	// Logger receives the line's log; nil discards.
	Logger *slog.Logger
	// Watchdog is how often the line checks that the modem still answers (AT); two checks in a
	// row without an answer in time end Run with an error wrapping ErrStalled, so the caller
	// can recover the modem. 0 means every 20 s; negative turns the check off.
	Watchdog time.Duration
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

// Quectel is a line on a Quectel EC2x/EG25/EG9x in serial-PCM mode.
//
// Call state comes from RING, +CLIP, the call-state URCs of AT+QINDCFG="ccinfo",1,0 (+QIND:
// "ccinfo": 4 incoming, 0 active, -1 released) and NO CARRIER; the call audio is on the USB
// NMEA port once AT+QPCMV=1,0 switched it there at init.
type Quectel struct {
	*line // the shared call-state engine
	opts  QuectelOptions
}

var _ hw.Line = (*Quectel)(nil)

// NewQuectel returns the line id on a Quectel modem whose AT port is at and whose PCM port is
// audio. Nothing happens until Run.
func NewQuectel(id string, at io.ReadWriter, audio io.ReadWriter, opts QuectelOptions) *Quectel {
	q := &Quectel{opts: opts}
	q.line = newLine(id, at, audio, opts.Logger, q, quectelFamily, opts.PIN, opts.SMSStatusReports)
	q.line.watchdog = opts.Watchdog
	return q
}

// ID is the line's name.
func (q *Quectel) ID() string { return q.id }

// Events delivers the line's events; it is closed when Run returns.
func (q *Quectel) Events() <-chan hw.Event { return q.events }

// Run drives the line until ctx ends (then it returns nil, after hanging up a call in progress)
// or the modem is lost (then it reports the call's end, sends a "down" State event and returns
// the error). It runs the AT channel, initialises the modem (ATE0, AT+CMEE=2, ATI, AT+CGMM,
// AT+CLIP=1, AT+CRC=0, AT+QINDCFG="ccinfo",1,0, AT+QTONEDET=1 when asked, AT+QPCMV=1,0; a
// refused optional command is logged and skipped), sends a "ready" State event, then turns URCs
// into events. Events is closed when Run returns. Run may be called once.
func (q *Quectel) Run(ctx context.Context) error { return q.runLine(ctx) }

// Answer takes the ringing call: ATA (5 s), fresh audio port, a Connected event. The returned
// audio carries s16le in 320-byte frames until the call ends. With no ringing call it returns
// an error wrapping hw.ErrNoCall. If ATA fails the call is given up (AT+CHUP) and a Hangup event
// reports it. A caller who hangs up as the modem takes ATA ends the call like any later hang-up
// (Hangup event "caller hung up"; the audio returned reports the end), not as a failed answer.
func (q *Quectel) Answer(ctx context.Context) (hw.Audio, error) { return q.answer(ctx) }

// Hangup ends the current call (ringing or up) with AT+CHUP and reports a Hangup event with
// cause "box hung up". With no call it does nothing. The call is ended locally even when the
// modem does not confirm; that failure is returned.
func (q *Quectel) Hangup(ctx context.Context) error { return q.hangup(ctx) }

// quectelURCs are the unsolicited result codes an EC2x may send on its AT port.
var quectelURCs = []string{
	"+CLIP:", "+CRING:", "+QIND:", "+QTONEDET:", "+CLCC:", "^DSCI:",
	"+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CBM:", "+CUSD:", "+CSQ:",
	"+CREG:", "+CEREG:", "+CGREG:", "+CGEV:", "+QUSIM:", "+CPIN:", "+CFUN:", "+QSTK",
	"RDY", "POWERED DOWN", "+QNETDEVSTATUS:",
}

func (q *Quectel) isURC(text string) bool { return hasAnyPrefix(text, quectelURCs) }

func (q *Quectel) setup(ctx context.Context, l *line) (string, error) {
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
	if err := l.runSteps(ctx, steps, nil); err != nil {
		return "", err
	}
	return StateReady, nil
}

func (q *Quectel) urc(r *lineRunner, text string) bool {
	switch {
	case strings.HasPrefix(text, "+QIND:"):
		if cc, ok := parseCCInfo(text); ok {
			r.onCallInfo(cc)
		}
	case strings.HasPrefix(text, "+QTONEDET:"):
		r.onKeyURC(q.opts.ToneDetect, "+QTONEDET", text, parseToneDet)
	case strings.HasPrefix(text, "+CLCC:"):
		// Call state comes from ccinfo; a +CLCC here is a reply that came too late.
		q.log.Debug("URC ignored", "urc", text)
	default:
		return false
	}
	return true
}

func (q *Quectel) connect(context.Context, *line) error { return nil }

func (q *Quectel) active(*line, uint64) {}

func (q *Quectel) ended(*line) {}

func (q *Quectel) ringWait() time.Duration { return clipWait }

func (q *Quectel) askOnRing() bool { return false }
