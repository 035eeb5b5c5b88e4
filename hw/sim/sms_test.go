package sim

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/hw/gsm"
	"hotline/hw/sms"
)

// smsSim is what every simulated GSM modem offers for SMS.
type smsSim interface {
	DeliverSMS(from, text string) error
	Messages() []StoredSMS
	Sent() []SentSMS
}

// smsLine is what every GSM driver offers for SMS.
type smsLine interface {
	SMS() <-chan gsm.IncomingSMS
	SendSMS(ctx context.Context, to, text string) ([]int, error)
}

var (
	_ smsSim = (*EC25)(nil)
	_ smsSim = (*SIM7600)(nil)
	_ smsSim = (*Huawei)(nil)
)

// decodeSent joins the texts of the PDUs the box submitted.
func decodeSent(t *testing.T, sent []SentSMS) (to, text string) {
	t.Helper()
	var b strings.Builder
	for _, s := range sent {
		p, err := sms.DecodeHex(s.PDU)
		if err != nil || p.Submit == nil {
			t.Fatalf("sent PDU %s: %v (submit %v)", s.PDU, err, p.Submit)
		}
		to = p.Submit.To.Number
		b.WriteString(p.Submit.Text)
	}
	return to, b.String()
}

// TestSMSWithDrivers runs each dialect's driver against its simulator: a long Cyrillic message
// arrives in parts, stays on the SIM until acknowledged, and a reply goes out in parts.
func TestSMSWithDrivers(t *testing.T) {
	text := strings.Repeat("Привет, <b>мир</b> & \"кавычки\"\n", 6) // > 70 UCS2 units: several parts
	reply := strings.Repeat("Спасибо, перезвоним. ", 5)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			m := startSim(t, d, Options{})
			l := startDriver(t, d, m, "ready")
			s := m.(smsSim)
			if err := s.DeliverSMS("+79161234567", text); err != nil {
				t.Fatal(err)
			}
			parts := len(s.Messages())
			if parts < 2 {
				t.Fatalf("%d parts on the SIM, want several", parts)
			}
			var in gsm.IncomingSMS
			select {
			case in = <-l.(smsLine).SMS():
			case <-time.After(10 * time.Second):
				t.Fatal("no SMS from the driver within 10 s")
			}
			if in.From != "+79161234567" || in.Text != text || in.Parts != parts || len(in.Missing) != 0 {
				t.Fatalf("got from %q parts %d missing %v text %q", in.From, in.Parts, in.Missing, in.Text)
			}
			if n := len(s.Messages()); n != parts {
				t.Fatalf("%d messages on the SIM before Ack, want %d", n, parts)
			}
			if err := in.Ack(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := s.Messages(); len(got) != 0 {
				t.Fatalf("after Ack the SIM holds %v", got)
			}
			refs, err := l.(smsLine).SendSMS(context.Background(), "+79161234567", reply)
			if err != nil {
				t.Fatal(err)
			}
			sent := s.Sent()
			if len(refs) != len(sent) || len(sent) < 2 {
				t.Fatalf("refs %v for %d PDUs", refs, len(sent))
			}
			for i, r := range refs {
				if r != sent[i].Ref {
					t.Errorf("ref %d = %d, modem said %d", i, r, sent[i].Ref)
				}
			}
			if to, got := decodeSent(t, sent); to != "+79161234567" || got != reply {
				t.Errorf("sent to %q: %q", to, got)
			}
		})
	}
}

// TestSMSCommands checks the SIM store's replies as the manuals print them.
func TestSMSCommands(t *testing.T) {
	m := startModem(t, Options{})
	c := dialAT(t, m)
	c.send("ATE0\r")
	c.untilFinal(2 * time.Second)
	c.cmd("AT+CMGF=0", "OK")
	if got := c.cmd(`AT+CPMS="SM","SM","SM"`, "OK"); len(got) != 1 || got[0] != "+CPMS: 0,30,0,30,0,30" {
		t.Fatalf("CPMS: %q", got)
	}
	// Stored silently before AT+CNMI.
	if err := m.DeliverSMS("MegaFon", "Balance 100"); err != nil {
		t.Fatal(err)
	}
	c.cmd("AT+CNMI=2,1,0,2,0", "OK")
	if err := m.DeliverSMS("+79161234567", "hi"); err != nil {
		t.Fatal(err)
	}
	if l := c.mustLine(2 * time.Second); l != `+CMTI: "SM",2` {
		t.Fatalf("URC %q", l)
	}
	got := c.cmd("AT+CMGR=2", "OK")
	if len(got) != 2 || !strings.HasPrefix(got[0], "+CMGR: 0,,") {
		t.Fatalf("CMGR: %q", got)
	}
	p, err := sms.DecodeHex(got[1])
	if err != nil || p.Deliver == nil || p.Deliver.Text != "hi" || p.Deliver.From.Number != "+79161234567" {
		t.Fatalf("CMGR PDU %q: %v %+v", got[1], err, p.Deliver)
	}
	if got := c.cmd("AT+CMGR=2", "OK"); !strings.HasPrefix(got[0], "+CMGR: 1,,") {
		t.Fatalf("read again: %q", got)
	}
	if got := c.cmd("AT+CMGL=4", "OK"); len(got) != 4 || !strings.HasPrefix(got[0], "+CMGL: 1,0,,") ||
		!strings.HasPrefix(got[2], "+CMGL: 2,1,,") {
		t.Fatalf("CMGL: %q", got)
	}
	c.cmd("AT+CMGD=1", "OK")
	c.send("AT+CMGR=1\r")
	if l := c.mustLine(2 * time.Second); l != "+CMS ERROR: 321" {
		t.Fatalf("empty slot: %q", l)
	}
	if n := len(m.Messages()); n != 1 {
		t.Fatalf("%d messages left, want 1", n)
	}

	// AT+CMGS: prompt without a line end, then the PDU up to Ctrl-Z.
	parts, err := sms.Encode("+79161234567", "ok", sms.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c.send("AT+CMGS=" + strconv.Itoa(parts[0].Length) + "\r")
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(string(c.buf), "> ") {
		if !c.fill(deadline) {
			t.Fatalf("no prompt; got %q", c.buf)
		}
	}
	c.buf = c.buf[:0]
	c.send(parts[0].Hex() + "\x1a")
	if l := c.mustLine(2 * time.Second); l != "+CMGS: 1" {
		t.Fatalf("CMGS: %q", l)
	}
	if l := c.mustLine(2 * time.Second); l != "OK" {
		t.Fatalf("after CMGS: %q", l)
	}
	// A PDU whose length is not the announced one is refused.
	c.send("AT+CMGS=" + strconv.Itoa(parts[0].Length+1) + "\r")
	for !strings.Contains(string(c.buf), "> ") {
		if !c.fill(time.Now().Add(2 * time.Second)) {
			t.Fatalf("no prompt; got %q", c.buf)
		}
	}
	c.buf = c.buf[:0]
	c.send(parts[0].Hex() + "\x1a")
	if l := c.mustLine(2 * time.Second); l != "+CMS ERROR: 304" {
		t.Fatalf("bad length: %q", l)
	}
	if sent := m.Sent(); len(sent) != 1 || sent[0].PDU != parts[0].Hex() || sent[0].Length != parts[0].Length {
		t.Fatalf("Sent %+v", sent)
	}
	c.cmd("AT", "OK") // back in command mode
}
