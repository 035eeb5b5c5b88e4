package web

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
)

// TestBodyLimits sends every state-changing endpoint a body just over its limit, with the
// fields it needs at the front, and checks it is refused and changes nothing: every form and
// JSON body is read through http.MaxBytesReader.
func TestBodyLimits(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	_, vm := f.addCall("+79161234567", time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), tone(0.2))
	cookie, csrf := f.sessionOf(store.OwnerName)
	pad := func(v url.Values, limit int) string {
		s := v.Encode() + "&pad="
		return s + strings.Repeat("x", limit+1-len(s))
	}
	tests := []struct {
		name, path string
		body       string
		want       int
	}{
		{"login", "/login", pad(url.Values{"username": {"owner"}, "password": {testPassword}}, maxFormBytes), http.StatusBadRequest},
		{"logout", "/logout", pad(url.Values{"csrf": {csrf}}, maxFormBytes), http.StatusForbidden},
		{"mark handled", fmt.Sprintf("/voicemail/%d/handled", vm), pad(url.Values{"csrf": {csrf}, "handled": {"1"}}, maxFormBytes), http.StatusForbidden},
		{"password", "/password", pad(url.Values{"csrf": {csrf}, "current": {testPassword}, "password": {"new password!"}, "password2": {"new password!"}}, maxFormBytes), http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: tt.path, body: tt.body, cookies: []*http.Cookie{cookie},
				header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
			if w.Code != tt.want {
				t.Errorf("status %d, want %d\n%s", w.Code, tt.want, w.Body)
			}
			if c := sessionCookieFrom(t, w); c != nil {
				t.Errorf("an oversized body set the session cookie %+v", c)
			}
		})
	}
	// Nothing changed: still logged in, same password, message still new.
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusOK {
		t.Errorf("session after oversized posts: %d", w.Code)
	}
	if _, err := f.st.CheckPassword(ctx, store.OwnerName, testPassword); err != nil {
		t.Errorf("password after oversized posts: %v", err)
	}
	if v, _ := f.st.Voicemail(ctx, vm); v.Handled {
		t.Errorf("an oversized post marked the message handled")
	}
	// The same forms just under the limit go through (the limit is what refused them).
	ok := url.Values{"csrf": {csrf}, "handled": {"1"}}.Encode() + "&pad="
	ok += strings.Repeat("x", maxFormBytes-len(ok))
	w := f.do(req{method: "POST", path: fmt.Sprintf("/voicemail/%d/handled", vm), body: ok, cookies: []*http.Cookie{cookie},
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if w.Code != http.StatusSeeOther {
		t.Errorf("form of exactly %d bytes: %d, want 303", maxFormBytes, w.Code)
	}

	// The setup form, on a box that has no owner yet.
	nf := newFixture(t, nil)
	code, err := nf.st.SetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w = nf.do(req{method: "POST", path: "/setup", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		body: pad(url.Values{"code": {code}, "password": {testPassword}, "password2": {testPassword}}, maxFormBytes)})
	if w.Code != http.StatusBadRequest {
		t.Errorf("oversized setup: %d, want 400", w.Code)
	}
	if has, _ := nf.st.HasOwner(ctx); has {
		t.Errorf("an oversized setup form claimed the box")
	}
}

// TestSlowClientCut opens a connection to a server with the production timeouts and sends the
// request header one line per half second, the way a slow-loris attack keeps connections
// busy. The server must drop it once ReadHeaderTimeout has passed, without answering.
func TestSlowClientCut(t *testing.T) {
	t.Parallel()
	f := newOwnedFixture(t, nil)
	ts := httptest.NewUnstartedServer(f.h)
	ts.Config.ReadHeaderTimeout = ReadHeaderTimeout
	ts.Config.ReadTimeout = ReadTimeout
	ts.Config.WriteTimeout = WriteTimeout
	ts.Config.IdleTimeout = IdleTimeout
	ts.Start()
	defer ts.Close()

	// A normal request on the same server is answered.
	resp, err := ts.Client().Get(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz: %d", resp.StatusCode)
	}

	start := time.Now() // before the server can start its header clock
	conn, err := net.Dial("tcp", ts.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(bufio.NewReader(conn)) // until the server closes the connection
		closed <- b
	}()
	if _, err := io.WriteString(conn, "GET /calls HTTP/1.1\r\nHost: box\r\n"); err != nil {
		t.Fatal(err)
	}
	// Long enough that the test fails (rather than hangs) if the server never cuts.
	giveUp := time.After(3 * ReadHeaderTimeout)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case got := <-closed:
			elapsed := time.Since(start)
			if elapsed < ReadHeaderTimeout {
				t.Errorf("cut after %v, before ReadHeaderTimeout %v: something else closed it", elapsed, ReadHeaderTimeout)
			}
			if strings.Contains(string(got), "200 OK") {
				t.Errorf("the trickled request was answered: %q", got)
			}
			t.Logf("cut after %v and %d header lines", elapsed.Round(100*time.Millisecond), i)
			return
		case <-giveUp:
			t.Fatalf("a client trickling its header was still connected after %v", 3*ReadHeaderTimeout)
		case <-tick.C:
			// Writes may fail once the server has closed; the reader reports that.
			_, err := fmt.Fprintf(conn, "X-Slow-%d: y\r\n", i)
			if err != nil && !errors.Is(err, net.ErrClosed) {
				t.Logf("write after %v: %v", time.Since(start), err)
			}
		}
	}
}
