package daemon

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/hw/sim"
	"hotline/hw/sms"
)

// waitFor polls cond every 20 ms until it holds or 15 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMSEndToEnd: a long Cyrillic SMS with markup reaches the store through the simulated
// EC25 and the real driver, and leaves the SIM only after it is stored; a reply goes out as the
// right PDUs and is logged as sent.
func TestSMSEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Sims: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}()
	modem := h.sims["gsm1"].(*sim.EC25)

	text := "<b>Привет</b>… " + strings.Repeat("Это длинное сообщение. ", 8) + "\nКонец"
	var mu sync.Mutex
	var deleted []bool // per deleted slot: was the message in the store at that moment
	modem.OnSMSDelete(func(int) {
		list, err := h.Store.ListSMS(context.Background(), 10)
		found := err == nil && len(list) > 0 && list[0].Text == text
		mu.Lock()
		deleted = append(deleted, found)
		mu.Unlock()
	})

	waitFor(t, "line ready", func() bool { return h.Board.LineState("gsm1") == "ready" })
	if err := h.SimSMS(ctx, "gsm1", "+79161234567", text); err != nil {
		t.Fatal(err)
	}
	parts := len(modem.Messages())
	if parts < 2 {
		t.Fatalf("%d parts on the SIM, want a multipart message", parts)
	}
	var got store.SMS
	waitFor(t, "the SMS in the store", func() bool {
		list, err := h.Store.ListSMS(ctx, 10)
		if err != nil || len(list) == 0 {
			return false
		}
		got = list[0]
		return true
	})
	if got.Text != text || got.Number != "+79161234567" || got.Parts != parts || got.MissingParts != 0 ||
		got.Direction != store.SMSIn || got.LineID != "gsm1" || got.SentAt.IsZero() {
		t.Fatalf("stored %+v", got)
	}
	waitFor(t, "the SIM emptied", func() bool { return len(modem.Messages()) == 0 })
	mu.Lock()
	if len(deleted) != parts {
		t.Errorf("%d slots deleted, want %d", len(deleted), parts)
	}
	for i, ok := range deleted {
		if !ok {
			t.Errorf("slot %d deleted before the message was stored", i)
		}
	}
	mu.Unlock()

	// A long message whose parts the network delivers last part first is still one message.
	late := "Сначала конец, потом начало. " + strings.Repeat("Части приходят вразнобой. ", 8) + "Всё."
	if err := modem.DeliverSMSOutOfOrder("+79167654321", late); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the out-of-order SMS", func() bool {
		list, err := h.Store.ListSMS(ctx, 10)
		return err == nil && len(list) == 2 && list[0].Text == late && list[0].MissingParts == 0
	})

	// A modem that delivers straight to the box (+CMT): stored, then acknowledged to the network.
	if err := modem.DeliverSMSDirect("+79160001122", "Прямая доставка, без SIM."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the directly delivered SMS", func() bool {
		list, err := h.Store.ListSMS(ctx, 10)
		return err == nil && len(list) == 3 && list[0].Text == "Прямая доставка, без SIM." && list[0].Number == "+79160001122"
	})
	waitFor(t, "AT+CNMA", func() bool { return modem.DirectAcks() == 1 })

	// An alphanumeric sender is kept as it came.
	if err := h.SimSMS(ctx, "gsm1", "MegaFon", "Баланс: 100 р."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the operator's SMS", func() bool {
		list, err := h.Store.ListSMS(ctx, 10)
		return err == nil && len(list) == 4 && list[0].RawNumber == "MegaFon" && list[0].Number == ""
	})

	reply := "Спасибо! Перезвоним вам сегодня. " + strings.Repeat("Ваша заявка принята. ", 4)
	if err := h.SendSMS(ctx, "gsm1", "8 916 123-45-67", reply); err != nil {
		t.Fatal(err)
	}
	sent := modem.Sent()
	if len(sent) < 2 {
		t.Fatalf("%d PDUs sent, want several", len(sent))
	}
	var b strings.Builder
	for _, s := range sent {
		p, err := sms.DecodeHex(s.PDU)
		if err != nil || p.Submit == nil {
			t.Fatalf("PDU %s: %v", s.PDU, err)
		}
		if p.Submit.To.Number != "+79161234567" {
			t.Errorf("sent to %q", p.Submit.To.Number)
		}
		b.WriteString(p.Submit.Text)
	}
	if b.String() != reply {
		t.Errorf("sent text %q, want %q", b.String(), reply)
	}
	list, err := h.Store.ListSMS(ctx, 1)
	if err != nil || len(list) != 1 {
		t.Fatal(list, err)
	}
	if out := list[0]; out.Direction != store.SMSOut || out.Status != store.SMSSent || len(out.Refs) != len(sent) ||
		out.Number != "+79161234567" || out.Text != strings.TrimSpace(reply) {
		t.Errorf("outgoing row %+v", out)
	}
	if err := h.SendSMS(ctx, "gsm9", "+79161234567", "x"); err == nil {
		t.Error("SendSMS on a missing line succeeded")
	}
	if err := h.SendSMS(ctx, "gsm1", "<script>", "x"); err == nil {
		t.Error("SendSMS to a non-number succeeded")
	}
}
