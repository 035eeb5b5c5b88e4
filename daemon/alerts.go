package daemon

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/smtp"
	"strings"
	"sync"
	"time"

	"hotline/daemon/diskguard"
	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// Settings that configure alerts to the owner. Empty means off.
const (
	SettingAlertSMS     = "alert_sms"     // a phone number
	SettingAlertEmail   = "alert_email"   // an e-mail address
	SettingAlertWebhook = "alert_webhook" // an http(s) URL that gets a JSON POST (a Telegram bot's sendMessage URL works)
	SettingSMTPHost     = "smtp_host"     // host:port of the mail server
	SettingSMTPUser     = "smtp_user"
	SettingSMTPPassword = "smtp_password"
	SettingSMTPFrom     = "smtp_from"
	// SettingMissedSMS is the text sent to a caller who hung up waiting or called after hours
	// (at most once per number per day).
	SettingMissedSMS = "missed_sms_text"
)

// Alert kinds.
const (
	AlertVoicemail = "voicemail"
	AlertMissed    = "missed"
	AlertLineDown  = "line_down"
	AlertDisk      = "disk"
)

// alertRetry is when a failed alert is tried again, by attempt; after the last it stays failed.
var alertRetry = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour, 3 * time.Hour}

// lineDownAfter is how long a line must be not ready before the owner is told.
const lineDownAfter = 2 * time.Minute

// alertBody is what every channel sends; the webhook gets it as JSON.
type alertBody struct {
	Kind   string    `json:"kind"`
	Text   string    `json:"text"`
	Line   string    `json:"line,omitempty"`
	Number string    `json:"number,omitempty"`
	CallID int64     `json:"call_id,omitempty"`
	Disk   string    `json:"disk,omitempty"` // for AlertDisk: one of the disk troubles below
	At     time.Time `json:"at"`
}

// The disk troubles an AlertDisk names (alertBody.Disk).
const (
	diskFull        = "full"         // too little room: voicemail is not recorded
	diskReadOnly    = "read_only"    // the card refuses writes
	diskWorkingCopy = "working_copy" // the box started from a copy in memory (the card is read-only)
	diskUnmeasured  = "unmeasured"   // the free space cannot be measured
)

// diskTrouble is the trouble the guard's status shows, "" for none.
func diskTrouble(s diskguard.Status) string {
	switch {
	case s.Alert == "":
		return ""
	case s.ReadOnly:
		return diskReadOnly
	case !s.Recording:
		return diskFull
	default:
		return diskUnmeasured
	}
}

// diskChanged tells the owner of a new disk trouble, in the owner's language: once when it
// starts, not at each check that finds it still there (the free space it names changes as
// the box goes on logging calls).
func (a *alerter) diskChanged(ctx context.Context, s diskguard.Status) {
	trouble := diskTrouble(s)
	a.mu.Lock()
	same := trouble == a.diskTold
	a.diskTold = trouble
	a.mu.Unlock()
	if same || trouble == "" {
		return
	}
	a.queue(ctx, alertBody{Kind: AlertDisk, Disk: trouble, Text: diskText(a.lang(ctx) != "en", trouble, s.Free), At: s.Checked})
}

// diskText is the owner's words for a disk trouble, in Russian or English.
func diskText(ru bool, trouble string, free uint64) string {
	mb := fmt.Sprintf("%.1f", float64(free)/1e6)
	switch trouble {
	case diskFull:
		if ru {
			return "Память коробки почти заполнена (свободно " + mb + " МБ): голосовые сообщения не записываются, звонки принимаются. " +
				"Удалите старые сообщения в разделе «Сообщения» или поставьте карту памяти побольше."
		}
		return "The box's memory is almost full (" + mb + " MB free): voicemail is not being recorded; calls are still answered. " +
			"Delete old messages on the Messages page, or put in a bigger memory card."
	case diskReadOnly:
		if ru {
			return "Карта памяти коробки перестала принимать запись (так бывает, когда карта начинает выходить из строя). " +
				"Звонки принимаются; коробка сама перезапустится и продолжит работу с копией данных в памяти. Замените карту."
		}
		return "The box's memory card has stopped taking writes (cards do this when they start to fail). " +
			"Calls are still answered; the box restarts by itself to work from a copy of its data in memory. Replace the card."
	case diskWorkingCopy:
		if ru {
			return "Карта памяти коробки перестала принимать запись (так бывает, когда карта начинает выходить из строя). " +
				"Коробка принимает звонки и сообщения, работая с копией данных в оперативной памяти, но всё новое пропадёт при перезапуске. " +
				"Скачайте резервную копию в админке, замените карту и восстановите копию."
		}
		return "The box's memory card has turned read-only, which cards do when they start to fail. " +
			"The box still answers calls and takes messages from a copy of its data in working memory, but what happens from now on " +
			"is lost when the box restarts. Download a backup from the admin, then replace the memory card and restore the backup."
	default:
		if ru {
			return "Коробка не может проверить свободное место на карте памяти. Если это повторяется, замените карту."
		}
		return "The box cannot measure the free space on its memory card. If this goes on, replace the card."
	}
}

// alerter queues alerts in the store and sends them in the background; a slow or failing
// channel never holds up a call.
type alerter struct {
	h      *Hotline
	log    *slog.Logger
	client *http.Client
	// sms sends an SMS (the daemon's lines; tests replace it).
	sms func(ctx context.Context, number, text string) error
	// now is the clock of retries.
	now func() time.Time
	// wake makes the sender look at the queue at once.
	wake chan struct{}

	mu       sync.Mutex
	down     map[string]time.Time // line -> when it stopped being ready
	told     map[string]bool      // line -> the owner was told it is down
	diskTold string               // the disk trouble the owner was last told of ("": none)
}

func newAlerter(h *Hotline) *alerter {
	return &alerter{
		h: h, log: h.log.With("subsys", "alerts"), client: &http.Client{Timeout: 15 * time.Second},
		sms: h.sendAnySMS, now: time.Now, wake: make(chan struct{}, 1),
		down: map[string]time.Time{}, told: map[string]bool{},
	}
}

// run queues alerts for finished calls and line trouble, and sends what is due, until ctx ends.
func (a *alerter) run(ctx context.Context) {
	ends, cancel := a.h.Board.Subscribe()
	defer cancel()
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-ends:
			a.callEnded(ctx, e)
			a.send(ctx)
		case <-a.wake:
			a.send(ctx)
		case <-tick.C:
			a.watchLines(ctx)
			a.send(ctx)
		}
	}
}

func (a *alerter) lang(ctx context.Context) string {
	l, _ := a.h.Store.Setting(ctx, "language", "ru")
	return l
}

// callEnded queues the alerts a finished call asks for, and the caller's missed-call SMS.
func (a *alerter) callEnded(ctx context.Context, e switchboard.CallEnd) {
	if e.CallID == 0 {
		return
	}
	c, err := a.h.Store.Call(ctx, e.CallID)
	if err != nil {
		a.log.Error("cannot read the finished call", "call", e.CallID, "err", err)
		return
	}
	ru := a.lang(ctx) != "en"
	who := c.Number
	if who == "" {
		who = map[bool]string{true: "скрытый номер", false: "a withheld number"}[ru]
	}
	body := alertBody{Line: c.LineID, Number: c.Number, CallID: c.ID, At: c.StartedAt}
	switch c.Outcome {
	case store.OutcomeVoicemail:
		body.Kind = AlertVoicemail
		if ru {
			body.Text = "Новое голосовое сообщение от " + who
		} else {
			body.Text = "New voicemail from " + who
		}
	case store.OutcomeMissed, store.OutcomeAbandoned:
		body.Kind = AlertMissed
		if ru {
			body.Text = "Пропущенный звонок от " + who
		} else {
			body.Text = "Missed call from " + who
		}
	case store.OutcomeCallback:
		body.Kind = AlertMissed
		if ru {
			body.Text = "Просят перезвонить: " + who
		} else {
			body.Text = "Callback requested by " + who
		}
	default:
		return
	}
	a.queue(ctx, body)
	if c.Outcome == store.OutcomeMissed && !c.SMSSent {
		a.missedSMS(ctx, c)
	}
}

// missedSMS sends the owner's text to a caller who hung up waiting (at most once a day).
func (a *alerter) missedSMS(ctx context.Context, c store.Call) {
	text, _ := a.h.Store.Setting(ctx, SettingMissedSMS, "")
	if strings.TrimSpace(text) == "" || c.Number == "" {
		return
	}
	ok, err := a.h.Store.ClaimAutoReply(ctx, c.Number, a.now().Format(time.DateOnly))
	if err != nil || !ok {
		return
	}
	if err := a.sms(ctx, c.Number, text); err != nil {
		a.log.Warn("missed-call SMS not sent", "call", c.ID, "err", err)
		return
	}
	_ = a.h.Store.MarkCallSMS(ctx, c.ID)
}

// queue stores one alert per configured channel.
func (a *alerter) queue(ctx context.Context, body alertBody) {
	data, err := json.Marshal(body)
	if err != nil {
		return
	}
	for _, ch := range []struct{ channel, setting string }{
		{"sms", SettingAlertSMS}, {"email", SettingAlertEmail}, {"webhook", SettingAlertWebhook},
	} {
		if v, _ := a.h.Store.Setting(ctx, ch.setting, ""); strings.TrimSpace(v) != "" {
			if _, err := a.h.Store.AddAlert(ctx, ch.channel, body.Kind, string(data), a.now()); err != nil {
				a.log.Error("cannot queue an alert", "err", err)
			}
		}
	}
}

// watchLines tells the owner about a line that stayed down, once until it is back.
func (a *alerter) watchLines(ctx context.Context) {
	now := a.now()
	for _, id := range a.h.Lines() {
		state := a.h.Board.LineState(id)
		a.mu.Lock()
		if state == "ready" || state == "" {
			delete(a.down, id)
			delete(a.told, id)
			a.mu.Unlock()
			continue
		}
		since, ok := a.down[id]
		if !ok {
			a.down[id] = now
			since = now
		}
		tell := !a.told[id] && now.Sub(since) >= lineDownAfter
		if tell {
			a.told[id] = true
		}
		a.mu.Unlock()
		if tell {
			text := fmt.Sprintf("Линия %s не работает: %s", id, state)
			if a.lang(ctx) == "en" {
				text = fmt.Sprintf("Line %s is down: %s", id, state)
			}
			a.queue(ctx, alertBody{Kind: AlertLineDown, Text: text, Line: id, At: now})
		}
	}
}

// send delivers the alerts that are due.
func (a *alerter) send(ctx context.Context) {
	due, err := a.h.Store.DueAlerts(ctx, a.now(), 20)
	if err != nil {
		a.log.Error("cannot read the alert queue", "err", err)
		return
	}
	for _, al := range due {
		if ctx.Err() != nil {
			return
		}
		var body alertBody
		if err := json.Unmarshal([]byte(al.Body), &body); err != nil {
			_ = a.h.Store.AlertFailed(ctx, al.ID, "unreadable alert", time.Time{})
			continue
		}
		err := a.deliver(ctx, al.Channel, body)
		if err == nil {
			if err := a.h.Store.AlertSent(ctx, al.ID); err != nil {
				a.log.Error("cannot mark an alert sent", "err", err)
			}
			a.log.Info("alert sent", "channel", al.Channel, "kind", al.Kind)
			continue
		}
		var next time.Time
		if al.Attempts < len(alertRetry) {
			next = a.now().Add(alertRetry[al.Attempts])
		}
		a.log.Warn("alert not sent", "channel", al.Channel, "kind", al.Kind, "attempt", al.Attempts+1, "retry_at", next, "err", err)
		if err := a.h.Store.AlertFailed(ctx, al.ID, err.Error(), next); err != nil {
			a.log.Error("cannot record a failed alert", "err", err)
		}
	}
}

func (a *alerter) deliver(ctx context.Context, channel string, body alertBody) error {
	setting := func(k string) string { v, _ := a.h.Store.Setting(ctx, k, ""); return strings.TrimSpace(v) }
	switch channel {
	case "sms":
		to := setting(SettingAlertSMS)
		if to == "" {
			return errors.New("no number for SMS alerts")
		}
		return a.sms(ctx, to, body.Text)
	case "webhook":
		return a.webhook(ctx, setting(SettingAlertWebhook), body)
	case "email":
		return sendMail(ctx, mailConfig{
			Host: setting(SettingSMTPHost), User: setting(SettingSMTPUser), Password: setting(SettingSMTPPassword),
			From: setting(SettingSMTPFrom), To: setting(SettingAlertEmail),
		}, body.Text, body.Text+"\r\n\r\n"+body.At.Local().Format("2006-01-02 15:04")+"\r\n")
	}
	return fmt.Errorf("unknown alert channel %q", channel)
}

// webhook POSTs the alert as JSON; any 2xx answer is delivery.
func (a *alerter) webhook(ctx context.Context, url string, body alertBody) error {
	if !strings.HasPrefix(url, "http://") && !strings.HasPrefix(url, "https://") {
		return fmt.Errorf("webhook %q is not an http(s) URL", url)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("webhook answered %s", resp.Status)
	}
	return nil
}

// mailConfig is where and as whom alerts are mailed.
type mailConfig struct {
	Host           string // host:port (port 25 or 587 with STARTTLS when offered, 465 with TLS)
	User, Password string
	From, To       string
}

// sendMail sends one plain-text UTF-8 message.
func sendMail(ctx context.Context, cfg mailConfig, subject, text string) error {
	if cfg.Host == "" || cfg.To == "" {
		return errors.New("e-mail alerts need a mail server and an address")
	}
	if strings.ContainsAny(cfg.From+cfg.To, "\r\n") {
		return errors.New("e-mail address with a line break")
	}
	from := cfg.From
	if from == "" {
		from = cfg.User
	}
	host, port, err := net.SplitHostPort(cfg.Host)
	if err != nil {
		return fmt.Errorf("mail server %q: use host:port", cfg.Host)
	}
	d := net.Dialer{Timeout: 15 * time.Second}
	var conn net.Conn
	if port == "465" {
		conn, err = tls.DialWithDialer(&d, "tcp", cfg.Host, &tls.Config{ServerName: host})
	} else {
		conn, err = d.DialContext(ctx, "tcp", cfg.Host)
	}
	if err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	} else {
		conn.SetDeadline(time.Now().Add(30 * time.Second))
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail server: %w", err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok && port != "465" {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("mail server STARTTLS: %w", err)
		}
	}
	if cfg.User != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.User, cfg.Password, host)); err != nil {
			return fmt.Errorf("mail server login: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("mail from %s: %w", from, err)
	}
	if err := c.Rcpt(cfg.To); err != nil {
		return fmt.Errorf("mail to %s: %w", cfg.To, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	subject = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return -1
		}
		return r
	}, subject)
	msg := "From: " + from + "\r\nTo: " + cfg.To + "\r\nSubject: " + mime.QEncoding.Encode("utf-8", subject) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(text, "\n.", "\n..")
	if _, err := io.WriteString(w, msg); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("mail: %w", err)
	}
	return c.Quit()
}
