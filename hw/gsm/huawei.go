package gsm

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"hotline/hw"
	"hotline/hw/modem"
)

// huaweiRingWait is how long a RING waits for its number: the dongle is asked with AT+CLCC,
// which takes longer than a +CLIP that follows RING at once.
const huaweiRingWait = time.Second

// HuaweiOptions tune a Huawei line. The zero value works.
type HuaweiOptions struct {
	// Logger receives the line's log; nil discards.
	Logger *slog.Logger
	// Watchdog is how often the line checks that the modem still answers (AT); two checks in a
	// row without an answer in time end Run with an error wrapping ErrStalled, so the caller
	// can recover the modem. 0 means every 20 s; negative turns the check off.
	Watchdog time.Duration
	// ToneDetect sends AT^DDTMFCFG=0,1 and reports the modem's ^DDTMF digits as hw.Digit
	// events. Without it, digits are left to in-band detection.
	ToneDetect bool
	// PIN is the SIM's PIN, sent once when the SIM asks for it; never logged. A PIN the SIM
	// refuses is not sent again.
	PIN string
	// SMSStatusReports asks the network for a delivery report of every SMS sent.
	SMSStatusReports bool
}

// LogValue logs the options without the PIN.
func (o HuaweiOptions) LogValue() slog.Value {
	return slog.GroupValue(slog.Bool("tone_detect", o.ToneDetect), slog.Any("pin", secret(o.PIN)),
		slog.Bool("sms_status_reports", o.SMSStatusReports))
}

// Huawei is a line on a Huawei 3G dongle of the E1550/E173/E169/K3765 kind with voice-enabled
// firmware. Call audio is s16le at 8 kHz in 320-byte frames on the DIAG port, once AT^DDSETEX=2
// has switched it there after the answer.
//
// A RING makes the line ask AT+CLCC for the call's index and number (+CLIP is used too when it
// comes). ^CONN reports the answered call, ^CEND (or NO CARRIER) its end, ^DDTMF the caller's
// keys. At init AT^CVOICE? must report voice enabled in the one format the line carries
// (^CVOICE:0,8000,16,20); otherwise the line reports State StateNoVoice instead of "ready" and
// Answer fails with ErrNoVoice.
type Huawei struct {
	l    *line
	opts HuaweiOptions
}

var _ hw.Line = (*Huawei)(nil)

// NewHuawei returns the line id on a Huawei dongle whose AT (PCUI) port is at and whose audio
// (DIAG) port is audio. Nothing happens until Run.
func NewHuawei(id string, at, audio io.ReadWriter, opts HuaweiOptions) *Huawei {
	h := &Huawei{opts: opts}
	h.l = newLine(id, at, audio, opts.Logger, h, huaweiFamily, opts.PIN, opts.SMSStatusReports)
	h.l.watchdog = opts.Watchdog
	return h
}

// ID is the line's name.
func (h *Huawei) ID() string { return h.l.id }

// Events delivers the line's events; it is closed when Run returns.
func (h *Huawei) Events() <-chan hw.Event { return h.l.events }

// Run drives the line until ctx ends (then it returns nil, after hanging up a call in progress)
// or the modem is lost (then it reports the call's end, sends a "down" State event and returns
// the error). It initialises the modem (ATE0, AT+CMEE=0, ATI, AT+CGMM, AT^CVOICE?, AT+CLIP=1,
// AT^DDTMFCFG=0,1 when asked; a refused command is logged and skipped), sends a State event
// ("ready", or StateNoVoice), then turns URCs into events. Events is closed when Run returns.
// Run may be called once.
func (h *Huawei) Run(ctx context.Context) error { return h.l.runLine(ctx) }

// Answer takes the ringing call with ATA (5 s), switches its audio to the audio port with
// AT^DDSETEX=2 and returns it: s16le in 320-byte frames until the call ends. With no ringing
// call it returns an error wrapping hw.ErrNoCall, on a dongle without voice one wrapping
// ErrNoVoice. If ATA or AT^DDSETEX=2 fails the call is given up (AT+CHUP) and a Hangup event
// reports it. A caller who hangs up as the modem takes ATA ends the call like any later hang-up
// (Hangup event "caller hung up"; the audio returned reports the end), not as a failed answer.
func (h *Huawei) Answer(ctx context.Context) (hw.Audio, error) { return h.l.answer(ctx) }

// Hangup ends the current call (ringing or up) with AT+CHUP and reports a Hangup event with
// cause "box hung up". With no call it does nothing.
func (h *Huawei) Hangup(ctx context.Context) error { return h.l.hangup(ctx) }

// huaweiURCs are the unsolicited result codes a Huawei dongle may send on its AT port.
var huaweiURCs = []string{
	"+CLIP:", "+CRING:", "+CLCC:", "+CCWA:", "+CSSI:", "+CSSU:",
	"^CONN:", "^CEND:", "^ORIG:", "^CONF:", "^DDTMF:",
	"^RSSI:", "^HCSQ:", "^BOOT:", "^MODE:", "^SRVST:", "^SIMST:", "^CSNR:", "^DSFLOWRPT:",
	"^RFSWITCH:", "^STIN:", "^SMMEMFULL:", "^NDISSTAT:",
	"+CMTI:", "+CMT:", "+CDS:", "+CDSI:", "+CEREG:", "+CBM:", "+CUSD:", "+CREG:", "+CGREG:", "+CPIN:",
}

func (h *Huawei) isURC(text string) bool { return hasAnyPrefix(text, huaweiURCs) }

func (h *Huawei) setup(ctx context.Context, l *line) (string, error) {
	steps := []string{
		"ATE0",      // no echo
		"AT+CMEE=0", // plain ERROR, as the dongles are driven elsewhere
		"ATI",
		"AT+CGMM",
		"AT^CVOICE?", // voice support and format
		"AT+CLIP=1",  // caller ID after RING
	}
	if h.opts.ToneDetect {
		steps = append(steps, "AT^DDTMFCFG=0,1") // ^DDTMF
	}
	voice := false
	why := "no reply"
	err := l.runSteps(ctx, steps, func(cmd string, resp modem.Response, err error) {
		if cmd != "AT^CVOICE?" {
			return
		}
		if err != nil {
			why = err.Error()
			return
		}
		why = "no ^CVOICE line"
		for _, text := range resp.Lines {
			if v, ok := parseCVOICE(text); ok {
				voice = v.usable()
				why = fmt.Sprintf("^CVOICE mode %d, %d Hz, %d bits, %d ms", v.mode, v.rate, v.bits, v.period)
			}
		}
	})
	if err != nil {
		return "", err
	}
	if !voice {
		l.log.Error("the dongle has no voice support (voice-enabled firmware needed); calls cannot be answered", "cvoice", why)
		return StateNoVoice, nil
	}
	return "ready", nil
}

func (h *Huawei) urc(r *lineRunner, text string) bool {
	l := h.l
	switch {
	case strings.HasPrefix(text, "^CONN:"):
		if idx, ok := huaweiIndex(text, "^CONN:"); ok {
			r.onConnected(idx)
		}
	case strings.HasPrefix(text, "^CEND:"):
		idx, ok := huaweiIndex(text, "^CEND:")
		if ok && parseCENDCause(text) == causeUserBusy {
			l.mu.Lock()
			if l.call.outgoing && l.call.phase == dialing {
				l.svc.dialReport(dialOutcome{err: fmt.Errorf("%w (^CEND cause 17)", hw.ErrBusy)})
			}
			l.mu.Unlock()
		}
		if !ok {
			// Noise, most likely; a real end also shows as NO CARRIER or a silent ring.
			l.log.Warn("unreadable ^CEND ignored", "urc", text)
			return true
		}
		r.onCallEnd(idx)
	case strings.HasPrefix(text, "^DDTMF:"):
		r.onKeyURC(h.opts.ToneDetect, "^DDTMF", text, func(t string) (byte, bool) {
			return parseKeyURC(t, "^DDTMF:")
		})
	case strings.HasPrefix(text, "+CCWA:"):
		r.refuseWaiting(0)
	case strings.HasPrefix(text, "^ORIG:"), strings.HasPrefix(text, "^CONF:"):
		if idx, ok := huaweiIndex(text, text[:6]); ok {
			l.mu.Lock()
			if l.call.outgoing && l.call.phase == dialing && l.call.idx == 0 {
				l.call.idx = idx
			}
			l.mu.Unlock()
		}
		l.log.Debug("dial progress", "urc", text)
	case strings.HasPrefix(text, "^"):
		l.log.Debug("URC ignored", "urc", text) // ^BOOT, ^MODE, ...
	default:
		return false
	}
	return true
}

// connect switches the answered call's audio to the audio port.
func (h *Huawei) connect(ctx context.Context, l *line) error {
	if _, err := l.ch.Command(ctx, "AT^DDSETEX=2", 0); err != nil {
		return fmt.Errorf("switch audio to the audio port: %w", err)
	}
	return nil
}

func (h *Huawei) active(*line, uint64) {}

func (h *Huawei) ended(*line) {}

func (h *Huawei) ringWait() time.Duration { return huaweiRingWait }

func (h *Huawei) askOnRing() bool { return true }

// cvoice is the reply to AT^CVOICE?: ^CVOICE:<mode>,<rate>,<bits>,<period>.
type cvoice struct {
	mode, rate, bits, period int
}

// usable reports voice enabled in the format the line carries: 8 kHz, 16 bits, 20 ms frames.
func (v cvoice) usable() bool {
	return v.mode == 0 && v.rate == 8000 && v.bits == 16 && v.period == 20
}

// parseCVOICE reads ^CVOICE:<mode>,<rate>,<bits>,<period>.
func parseCVOICE(text string) (cvoice, bool) {
	rest, ok := params(text, "^CVOICE:")
	if !ok {
		return cvoice{}, false
	}
	f := splitFields(rest)
	var v cvoice
	var oks [4]bool
	v.mode, oks[0] = atoiField(f, 0)
	v.rate, oks[1] = atoiField(f, 1)
	v.bits, oks[2] = atoiField(f, 2)
	v.period, oks[3] = atoiField(f, 3)
	if oks != [4]bool{true, true, true, true} {
		return cvoice{}, false
	}
	return v, true
}

// huaweiIndex reads the call index that starts ^CONN:<idx>,<type> and ^CEND:<idx>,...
func huaweiIndex(text, prefix string) (int, bool) {
	rest, ok := params(text, prefix)
	if !ok {
		return 0, false
	}
	idx, ok := atoiField(splitFields(rest), 0)
	if !ok || idx < 1 || idx > 7 {
		return 0, false
	}
	return idx, true
}
