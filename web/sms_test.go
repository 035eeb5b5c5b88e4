package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeSMS records replies; fail makes SendSMS fail.
type fakeSMS struct {
	mu   sync.Mutex
	sent [][3]string
	fail bool
}

func (f *fakeSMS) SendSMS(ctx context.Context, lineID, to, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("modem said no")
	}
	f.sent = append(f.sent, [3]string{lineID, to, text})
	return nil
}

func smsFixture(t *testing.T, snd SMSSender) *fixture {
	t.Helper()
	f := newOwnedFixture(t, nil)
	if snd != nil {
		f.srv.sms = snd
		f.h = f.srv.routes()
	}
	return f
}

func (f *fixture) addSMS(from, text string) int64 {
	f.t.Helper()
	id, _, err := f.st.AddIncomingSMS(context.Background(), "gsm1", from, text, 1, 0,
		time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC), time.Time{})
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func TestSMSHostileText(t *testing.T) {
	f := smsFixture(t, nil)
	cookie, _ := f.login()
	long := strings.Repeat("ж", 10000) + "END"
	for _, tt := range []struct{ name, from, text, mustNot string }{
		{"script", "+79161234567", "<script>alert(1)</script>\nвторая строка", "<script>alert(1)"},
		{"attribute break", "+79161234567", `"><img src=x onerror=alert(1)>`, "<img src=x"},
		{"control bytes", "+79161234567", "a\x00b\x1b[31mc\x07\u202Ed", "\x1b"},
		{"invalid utf8", "+79161234567", "x\xff\xfey", "\xff"},
		{"hostile sender", "<b>boss</b>", "hi", "<b>boss</b>"},
		{"long", "+79161234567", long, "END"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := f.addSMS(tt.from, tt.text)
			w := f.do(req{path: "/sms", cookies: []*http.Cookie{cookie}})
			if w.Code != http.StatusOK {
				t.Fatalf("GET /sms: %d", w.Code)
			}
			body := w.Body.String()
			if strings.Contains(body, tt.mustNot) {
				t.Errorf("page holds %q raw", tt.mustNot)
			}
			if !utf8.ValidString(body) || strings.ContainsAny(body, "\x00\x07\x1b\u202E") {
				t.Error("page holds invalid UTF-8 or control characters")
			}
			if !strings.Contains(body, `id="sms-`) {
				t.Error("no message on the page")
			}

			w = f.do(req{path: "/api/sms", cookies: []*http.Cookie{cookie}})
			if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Fatalf("GET /api/sms: %d %s", w.Code, w.Header().Get("Content-Type"))
			}
			if strings.Contains(w.Body.String(), "<script") || strings.Contains(w.Body.String(), "<img") {
				t.Error("JSON holds raw markup")
			}
			var out struct {
				SMS []smsJSON `json:"sms"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
				t.Fatal(err)
			}
			if len(out.SMS) == 0 || out.SMS[0].ID != id {
				t.Fatalf("API: %+v", out.SMS)
			}
			got := out.SMS[0].Text
			if n := utf8.RuneCountInString(got); n > 10000 || !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\x07\x1b\u202E") {
				t.Errorf("API text: %d runes, %q...", n, got[:min(len(got), 40)])
			}
		})
	}
	// Line breaks stay text: no <br> is made of them, CSS shows them.
	f.addSMS("+79161234567", "one\ntwo")
	body := f.do(req{path: "/sms", cookies: []*http.Cookie{cookie}}).Body.String()
	if !strings.Contains(body, "<p class=\"sms-text\">one\ntwo</p>") {
		t.Error("line break not kept as text in .sms-text")
	}
	if !strings.Contains(body, "sms-disabled") {
		t.Error("no notice that replies are disabled")
	}
}

func TestSMSAccess(t *testing.T) {
	snd := &fakeSMS{}
	f := smsFixture(t, snd)
	id := f.addSMS("+79161234567", "Перезвоните")
	cookie, csrf := f.login()
	reply := url.Values{"csrf": {csrf}, "to": {"+79161234567"}, "line": {"gsm1"}, "text": {"Перезвоним"}}
	mark := url.Values{"csrf": {csrf}, "handled": {"1"}}
	markPath := "/sms/" + strconv.FormatInt(id, 10) + "/handled"

	for _, tt := range []struct {
		name string
		r    req
		want int
	}{
		{"page without session", req{path: "/sms"}, http.StatusSeeOther},
		{"api without session", req{path: "/api/sms"}, http.StatusUnauthorized},
		{"reply without session", req{method: "POST", path: "/sms/reply", form: reply}, http.StatusSeeOther},
		{"reply without token", req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie},
			form: url.Values{"to": {"+79161234567"}, "line": {"gsm1"}, "text": {"x"}}}, http.StatusForbidden},
		{"mark with wrong token", req{method: "POST", path: markPath, cookies: []*http.Cookie{cookie},
			form: url.Values{"csrf": {"nope"}, "handled": {"1"}}}, http.StatusForbidden},
		{"reply cross-origin", req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie}, form: reply,
			header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}}, http.StatusForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if w := f.do(tt.r); w.Code != tt.want {
				t.Errorf("%s %s: %d, want %d", tt.r.method, tt.r.path, w.Code, tt.want)
			}
		})
	}
	if len(snd.sent) != 0 {
		t.Fatalf("refused requests sent %v", snd.sent)
	}
	if m, _ := f.st.GetSMS(context.Background(), id); m.Handled() {
		t.Fatal("refused request marked the SMS")
	}

	w := f.do(req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie}, form: reply})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/sms?ok=sent" {
		t.Fatalf("reply: %d %s", w.Code, w.Header().Get("Location"))
	}
	if len(snd.sent) != 1 || snd.sent[0] != [3]string{"gsm1", "+79161234567", "Перезвоним"} {
		t.Fatalf("sent %v", snd.sent)
	}
	w = f.do(req{method: "POST", path: markPath, cookies: []*http.Cookie{cookie}, form: mark})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("mark: %d", w.Code)
	}
	if m, _ := f.st.GetSMS(context.Background(), id); !m.Handled() || m.HandledBy != "owner" {
		t.Fatalf("not marked: %+v", m)
	}
	bad := url.Values{"csrf": {csrf}, "to": {"+79161234567"}, "line": {"gsm1"}, "text": {strings.Repeat("x", maxReplyRunes+1)}}
	if w := f.do(req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie}, form: bad}); w.Header().Get("Location") != "/sms?err=input" {
		t.Errorf("too long: %s", w.Header().Get("Location"))
	}
	snd.fail = true
	if w := f.do(req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie}, form: reply}); w.Header().Get("Location") != "/sms?err=send" {
		t.Errorf("failed send: %s", w.Header().Get("Location"))
	}
	if w := f.do(req{method: "POST", path: "/sms/999/handled", cookies: []*http.Cookie{cookie}, form: mark}); w.Code != http.StatusNotFound {
		t.Errorf("missing SMS: %d", w.Code)
	}
}

func TestSMSReplyDisabled(t *testing.T) {
	f := smsFixture(t, nil)
	cookie, csrf := f.login()
	w := f.do(req{method: "POST", path: "/sms/reply", cookies: []*http.Cookie{cookie},
		form: url.Values{"csrf": {csrf}, "to": {"+79161234567"}, "line": {"gsm1"}, "text": {"x"}}})
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("reply with no sender: %d", w.Code)
	}
}
