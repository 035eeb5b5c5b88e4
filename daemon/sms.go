package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"hotline/daemon/store"
	"hotline/hw/gsm"
	"hotline/hw/phone"
)

// smsSource is a line that receives SMS (every GSM line).
type smsSource interface {
	SMS() <-chan gsm.IncomingSMS
}

// smsSender is a line that sends SMS (every GSM line).
type smsSender interface {
	SendSMS(ctx context.Context, to, text string) ([]int, error)
}

var (
	_ smsSource = (*gsm.Quectel)(nil)
	_ smsSource = (*gsm.SIM7600)(nil)
	_ smsSource = (*gsm.Huawei)(nil)
	_ smsSender = (*gsm.Quectel)(nil)
	_ smsSender = (*gsm.SIM7600)(nil)
	_ smsSender = (*gsm.Huawei)(nil)
)

// ErrNoSMSLine is wrapped by SendSMS's error when the line does not exist or sends no SMS.
var ErrNoSMSLine = errors.New("no such line that sends SMS")

// smsAckTimeout bounds deleting a stored message from the SIM.
const smsAckTimeout = 30 * time.Second

// startSMS starts serveSMS for every line that receives SMS, each goroutine owned by wg; Run
// calls it once, and waits for wg.
func (h *Hotline) startSMS(ctx context.Context, wg *sync.WaitGroup) {
	for _, l := range h.lines {
		if src, ok := l.line.(smsSource); ok {
			id := l.line.ID()
			wg.Go(func() { h.serveSMS(ctx, id, src) })
		}
	}
}

// serveSMS stores every message the line src receives and then lets the line delete it from
// the SIM (Ack); a message that cannot be stored stays on the SIM, to be delivered again
// after a restart. Delivery reports update the status of the message they report on. It
// returns when ctx ends.
func (h *Hotline) serveSMS(ctx context.Context, id string, src smsSource) {
	log := h.log.With("subsys", "sms", "line", id)
	for {
		select {
		case <-ctx.Done():
			return
		case m := <-src.SMS():
			if err := h.storeSMS(ctx, id, m); err != nil {
				if ctx.Err() == nil {
					log.Error("SMS not stored; it stays on the SIM", "err", err)
				}
				continue
			}
			actx, cancel := context.WithTimeout(ctx, smsAckTimeout)
			if err := m.Ack(actx); err != nil && ctx.Err() == nil {
				log.Warn("SMS stored but not deleted from the SIM; it comes again and is dropped as a duplicate", "err", err)
			}
			cancel()
		}
	}
}

// storeSMS records one received message or delivery report.
func (h *Hotline) storeSMS(ctx context.Context, id string, m gsm.IncomingSMS) error {
	if r := m.Report; r != nil {
		out, err := h.Store.SMSByRef(ctx, id, int(r.Ref))
		if errors.Is(err, store.ErrNotFound) {
			h.log.Info("delivery report for a message not in the log", "line", id, "ref", r.Ref)
			return nil
		}
		if err != nil {
			return err
		}
		status := ""
		switch {
		case r.Delivered():
			status = store.SMSDelivered
		case r.Failed():
			status = store.SMSFailed
		default:
			return nil // still pending
		}
		return h.Store.SetSMSStatus(ctx, out.ID, status, nil)
	}
	from := h.normalize(ctx, m.From)
	rowID, dup, err := h.Store.AddIncomingSMS(ctx, id, from, m.Text, m.Parts, len(m.Missing), m.Time, m.Received)
	if err != nil {
		return err
	}
	h.log.Info("SMS stored", "line", id, "sms", rowID, "duplicate", dup, "parts", m.Parts)
	return nil
}

// normalize returns number in E.164 by the region in the settings ("region", default RU), or
// as it came when it is not a number (an alphanumeric sender such as "MegaFon").
func (h *Hotline) normalize(ctx context.Context, number string) string {
	if n, ok := phone.Normalize(number, h.region(ctx)); ok {
		return n
	}
	return number
}

// SendSMS sends text to the number to on the line lineID and logs it: the row is written
// (queued) before the modem is asked, then marked sent with the parts' references, or failed.
func (h *Hotline) SendSMS(ctx context.Context, lineID, to, text string) error {
	var snd smsSender
	for _, l := range h.lines {
		if l.line.ID() == lineID {
			snd, _ = l.line.(smsSender)
		}
	}
	if snd == nil {
		return fmt.Errorf("send SMS on %q: %w", lineID, ErrNoSMSLine)
	}
	number, ok := phone.Normalize(to, h.region(ctx))
	if !ok {
		return fmt.Errorf("send SMS: %q is not a phone number", to)
	}
	if store.CleanSMSText(text) == "" {
		return errors.New("send SMS: the text is empty")
	}
	id, err := h.Store.AddOutgoingSMS(ctx, lineID, number, text)
	if err != nil {
		return fmt.Errorf("send SMS: %w", err)
	}
	refs, sendErr := snd.SendSMS(ctx, number, text)
	status := store.SMSSent
	if sendErr != nil {
		status = store.SMSFailed
	}
	// Recorded even when ctx ended: the modem may have sent some parts.
	if err := h.Store.SetSMSStatus(context.WithoutCancel(ctx), id, status, refs); err != nil {
		return errors.Join(sendErr, fmt.Errorf("send SMS: %w", err))
	}
	if sendErr != nil {
		return fmt.Errorf("send SMS on %s: %w", lineID, sendErr)
	}
	return nil
}

func (h *Hotline) region(ctx context.Context) string {
	r, err := h.Store.Setting(ctx, "region", phone.DefaultRegion)
	if err != nil || r == "" {
		return phone.DefaultRegion
	}
	return r
}

// smsSim is a simulated modem with a SIM message store.
type smsSim interface {
	DeliverSMS(from, text string) error
}

// SimSMS makes the simulated modem of line receive an SMS from the sender from (for tests and
// `hotline run --sim`).
func (h *Hotline) SimSMS(ctx context.Context, line, from, text string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m, ok := h.sims[line]
	if !ok {
		return fmt.Errorf("%q is not a simulated line", line)
	}
	s, ok := m.(smsSim)
	if !ok {
		return fmt.Errorf("simulated line %s takes no SMS", line)
	}
	if err := s.DeliverSMS(from, text); err != nil {
		return fmt.Errorf("simulated SMS on %s: %w", line, err)
	}
	return nil
}

// sendAnySMS sends text to number from the first line that can send SMS and is ready (the
// switchboard's replies to callers).
func (h *Hotline) sendAnySMS(ctx context.Context, number, text string) error {
	for _, l := range h.lines {
		if _, ok := l.line.(smsSender); ok && h.Board.LineState(l.line.ID()) == "ready" {
			return h.SendSMS(ctx, l.line.ID(), number, text)
		}
	}
	return ErrNoSMSLine
}
