package supervise

import (
	"context"
	"fmt"
	"time"

	"hotline/hw/gsm"
)

// smsSource is a driver line that receives SMS (every GSM line).
type smsSource interface {
	SMS() <-chan gsm.IncomingSMS
}

// SMS delivers the messages of every driver line the Line runs, one after the other (see
// gsm.IncomingSMS for the Ack contract). It is never closed; stop reading when Run has
// returned. Lines that receive no SMS (FXO) deliver nothing.
func (l *Line) SMS() <-chan gsm.IncomingSMS { return l.sms }

// forwardSMS hands drv's messages to l.sms until stop is closed.
func (l *Line) forwardSMS(drv Runner, stop <-chan struct{}) {
	src, ok := drv.(smsSource)
	if !ok {
		return
	}
	in := src.SMS()
	for {
		select {
		case m := <-in:
			select {
			case l.sms <- m:
			case <-stop:
				return
			}
		case <-stop:
			return
		}
	}
}

// SendSMS sends text on the current driver line (see gsm.Quectel.SendSMS); it fails while the
// modem is being recovered or on a line that sends no SMS.
func (l *Line) SendSMS(ctx context.Context, to, text string) ([]int, error) {
	s, ok := l.Current().(interface {
		SendSMS(ctx context.Context, to, text string) ([]int, error)
	})
	if !ok {
		return nil, fmt.Errorf("line %s: cannot send SMS now (modem not up or no SMS)", l.cfg.ID)
	}
	return s.SendSMS(ctx, to, text)
}

// USSD sends a USSD request on the current driver line (see gsm.Quectel.USSD); it fails while
// the modem is being recovered or on a line without USSD.
func (l *Line) USSD(ctx context.Context, code string) (string, error) {
	u, ok := l.Current().(interface {
		USSD(ctx context.Context, code string) (string, error)
	})
	if !ok {
		return "", fmt.Errorf("line %s: cannot send USSD now (modem not up or no USSD)", l.cfg.ID)
	}
	return u.USSD(ctx, code)
}

// NetworkTime reads the mobile network's time from the current driver line (see
// gsm.Quectel.NetworkTime); it fails while the modem is being recovered or on a line without a
// network clock.
func (l *Line) NetworkTime(ctx context.Context) (time.Time, error) {
	n, ok := l.Current().(interface {
		NetworkTime(ctx context.Context) (time.Time, error)
	})
	if !ok {
		return time.Time{}, fmt.Errorf("line %s: no network time now (modem not up or no network clock)", l.cfg.ID)
	}
	return n.NetworkTime(ctx)
}
