package daemon

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon/diskguard"
	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// fakeSMTP is a mail server that takes one message after another and keeps them.
type fakeSMTP struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []string
	wg   sync.WaitGroup
}

func newFakeSMTP(t *testing.T) *fakeSMTP {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeSMTP{ln: ln}
	s.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Go(func() { s.serve(c) })
		}
	})
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

func (s *fakeSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { io.WriteString(c, l+"\r\n") }
	say("220 test ESMTP")
	var data strings.Builder
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if inData {
			if line == ".\r\n" {
				inData = false
				s.mu.Lock()
				s.msgs = append(s.msgs, data.String())
				s.mu.Unlock()
				say("250 queued")
				continue
			}
			data.WriteString(line)
			continue
		}
		switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 ok")
		case cmd == "DATA":
			inData = true
			say("354 go on")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 what")
		}
	}
}

func TestAlerts(t *testing.T) {
	ctx := context.Background()
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()

	var hookMu sync.Mutex
	var hooks []alertBody
	fails := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hookMu.Lock()
		defer hookMu.Unlock()
		if fails > 0 {
			fails--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		var b alertBody
		if err := json.NewDecoder(r.Body).Decode(&b); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook body: %v", err)
		}
		hooks = append(hooks, b)
	}))
	defer srv.Close()
	mail := newFakeSMTP(t)

	for k, v := range map[string]string{
		SettingAlertWebhook: srv.URL, SettingAlertEmail: "owner@example.com", SettingSMTPHost: mail.ln.Addr().String(),
		SettingSMTPFrom: "hotline@example.com", SettingAlertSMS: "+79160000009", SettingMissedSMS: "Sorry we missed you, we will call back.",
		"language": "en",
	} {
		if err := h.Store.SetSetting(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	a := newAlerter(h)
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return clock }
	var smsMu sync.Mutex
	sms := map[string][]string{}
	a.sms = func(_ context.Context, number, text string) error {
		smsMu.Lock()
		defer smsMu.Unlock()
		sms[number] = append(sms[number], text)
		return nil
	}

	// A voicemail and a caller who hung up in the queue, twice the same day.
	call := func(number, outcome string) int64 {
		id, err := h.Store.StartCall(ctx, "gsm1", number, clock)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.Store.FinishCallSummary(ctx, id, clock, store.Summary{Outcome: outcome}); err != nil {
			t.Fatal(err)
		}
		a.callEnded(ctx, switchboard.CallEnd{LineID: "gsm1", CallID: id})
		return id
	}
	call("+79161234567", store.OutcomeVoicemail)
	call("<b>+7916</b>\x00", store.OutcomeMissed) // garbage for a number: no SMS to it
	missed := call("+79167654321", store.OutcomeMissed)
	call("+79167654321", store.OutcomeMissed) // again the same day: no second SMS
	a.send(ctx)

	// The webhook failed once: both of its alerts wait a minute.
	hookMu.Lock()
	if len(hooks) != 3 {
		t.Errorf("webhook got %d alerts before the retry, want 3 (the first attempt of 4 failed)", len(hooks))
	}
	hookMu.Unlock()
	clock = clock.Add(2 * time.Minute)
	a.send(ctx)
	hookMu.Lock()
	if len(hooks) != 4 || hooks[0].Kind != AlertMissed && hooks[0].Kind != AlertVoicemail {
		t.Errorf("webhook alerts: %+v", hooks)
	}
	var texts []string
	for _, b := range hooks {
		texts = append(texts, b.Text)
	}
	hookMu.Unlock()
	if !strings.Contains(strings.Join(texts, "|"), "New voicemail from +79161234567") {
		t.Errorf("webhook texts: %q", texts)
	}

	mail.mu.Lock()
	if len(mail.msgs) != 4 || !strings.Contains(mail.msgs[0], "To: owner@example.com") || !strings.Contains(mail.msgs[0], "charset=utf-8") {
		t.Errorf("mail: %q", mail.msgs)
	}
	mail.mu.Unlock()

	smsMu.Lock()
	if len(sms["+79160000009"]) != 4 {
		t.Errorf("owner's SMS alerts: %q", sms["+79160000009"])
	}
	if got := sms["+79167654321"]; len(got) != 1 || got[0] != "Sorry we missed you, we will call back." {
		t.Errorf("caller's missed-call SMS (once a day): %q", got)
	}
	smsMu.Unlock()
	if c, _ := h.Store.Call(ctx, missed); !c.SMSSent {
		t.Error("the missed call does not say an SMS went to the caller")
	}

	list, err := h.Store.Alerts(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, al := range list {
		if al.SentAt.IsZero() {
			t.Errorf("alert not sent: %+v", al)
		}
	}
}

// A channel that never works is retried on a schedule and then given up, with its error kept.
func TestAlertGivesUp(t *testing.T) {
	ctx := context.Background()
	h := openWithDeadWebhook(t)
	a := newAlerter(h)
	clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a.now = func() time.Time { return clock }
	a.queue(ctx, alertBody{Kind: AlertLineDown, Text: "Line gsm1 is down", At: clock})
	for range len(alertRetry) + 3 {
		a.send(ctx)
		clock = clock.Add(4 * time.Hour)
	}
	list, _ := h.Store.Alerts(ctx, 10)
	if len(list) != 1 || list[0].Attempts != len(alertRetry)+1 || list[0].LastError == "" || !list[0].SentAt.IsZero() {
		t.Errorf("alert after giving up: %+v", list)
	}
}

// An operator logs in and out from the phone with *1 and *0.
func TestFeatureCodeLogsInAndOut(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.AddOperator(ctx, store.Operator{Name: "Anna", SIPUser: "anna", SIPPassword: "secret-anna"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		code, want string
		avail      bool
	}{{"*1", "Logged in", true}, {"*0", "Logged out", false}} {
		if got := featureCode(st, "anna", tc.code); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.code, got, tc.want)
		}
		o, _ := st.OperatorBySIPUser(ctx, "anna")
		if o.Available != tc.avail {
			t.Errorf("after %s available = %v", tc.code, o.Available)
		}
	}
	if got := featureCode(st, "anna", "*9"); got != "" {
		t.Errorf("unknown code: %q", got)
	}
	if got := featureCode(st, "nobody", "*1"); got != "" {
		t.Errorf("unknown user: %q", got)
	}
}

// The owner hears of a disk trouble once when it starts, in the owner's language, not at every
// check that still finds it (the free space it names changes as the box logs calls); a trouble
// that ends and comes back is told again, and so is another kind of trouble.
func TestDiskAlertsOncePerTrouble(t *testing.T) {
	ctx := context.Background()
	h := openWithDeadWebhook(t)
	a := newAlerter(h)
	ok := diskguard.Status{Recording: true, Free: 900e6}
	full := func(free uint64) diskguard.Status {
		return diskguard.Status{Free: free, Alert: fmt.Sprintf("Only %d bytes free", free)}
	}
	for i, step := range []struct {
		lang   string
		status diskguard.Status
		want   string // the trouble told now, "" for none
		words  string // in the text told
	}{
		{"ru", ok, "", ""},
		{"ru", full(66e6), diskFull, "Память коробки почти заполнена (свободно 66.0 МБ)"},
		{"ru", full(65e6), "", ""},
		{"ru", full(64.5e6), "", ""},
		{"ru", ok, "", ""},
		{"en", full(60e6), diskFull, "The box's memory is almost full (60.0 MB free)"},
		{"en", diskguard.Status{ReadOnly: true, Alert: "read-only"}, diskReadOnly, "stopped taking writes"},
		{"ru", diskguard.Status{ReadOnly: true, Alert: "read-only"}, "", ""},
		{"ru", diskguard.Status{Recording: true, Alert: "Cannot measure"}, diskUnmeasured, "не может проверить свободное место"},
	} {
		if err := h.Store.SetSetting(ctx, "language", step.lang); err != nil {
			t.Fatal(err)
		}
		before, err := h.Store.Alerts(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		a.diskChanged(ctx, step.status)
		after, err := h.Store.Alerts(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case step.want == "" && len(after) != len(before):
			t.Errorf("step %d: an alert was queued: %s", i, after[0].Body)
		case step.want != "" && len(after) != len(before)+1:
			t.Errorf("step %d: %d alerts queued, want one", i, len(after)-len(before))
		case step.want != "":
			var b alertBody
			if err := json.Unmarshal([]byte(after[0].Body), &b); err != nil {
				t.Fatal(err)
			}
			if b.Kind != AlertDisk || b.Disk != step.want || !strings.Contains(b.Text, step.words) {
				t.Errorf("step %d: told %+v, want %s with %q", i, b, step.want, step.words)
			}
		}
	}
}

// openWithDeadWebhook opens a daemon whose alerts go to a webhook that never answers, so that
// they stay queued in the store.
func openWithDeadWebhook(t *testing.T) *Hotline {
	t.Helper()
	ctx := context.Background()
	h, err := Open(ctx, Config{DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	if err := h.Store.SetSetting(ctx, SettingAlertWebhook, "http://127.0.0.1:1/never"); err != nil {
		t.Fatal(err)
	}
	return h
}
