package web

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"hotline/daemon"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func TestCallsPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(1))
	f.addCall("+74951112233", t0.Add(time.Hour), nil)
	ctx := context.Background()
	missed, err := f.st.StartCall(ctx, "gsm2", "", t0.Add(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.FinishCall(ctx, missed, t0.Add(2*time.Hour+20*time.Second), "", "missed"); err != nil {
		t.Fatal(err)
	}

	for _, lang := range []string{langRU, langEN} {
		t.Run(lang, func(t *testing.T) {
			w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": lang}})
			if w.Code != http.StatusOK {
				t.Fatalf("GET /calls: %d", w.Code)
			}
			body := w.Body.String()
			want := []string{
				`<html lang="` + lang + `">`,
				htmlEscaped("+79161234567"), `href="tel:&#43;79161234567"`, htmlEscaped("+74951112233"),
				htmlEscaped(messages[lang]["hidden_number"]),
				htmlEscaped(messages[lang]["out_voicemail"]),
				htmlEscaped(messages[lang]["out_completed"]),
				htmlEscaped(messages[lang]["out_missed"]),
				"1 → 0", "1:12", "gsm2", // menu path, 75 s - 3 s answered, the line
				fmt.Sprintf(`href="/voicemail?show=all#vm-%d"`, vm),
				formatTime(lang, t0, time.UTC),
			}
			for _, s := range want {
				if !strings.Contains(body, s) {
					t.Errorf("calls page lacks %q", s)
				}
			}
			// Newest first.
			if a, b := strings.Index(body, "74951112233"), strings.Index(body, "79161234567"); a < 0 || b < 0 || a > b {
				t.Errorf("calls not newest first")
			}
		})
	}
}

func TestCallsPaging(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ctx := context.Background()
	var ids []int64
	for i := range callsPerPage + 10 {
		id, err := f.st.StartCall(ctx, "sim1", fmt.Sprintf("+7900%07d", i), t0.Add(time.Duration(i)*time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows := regexp.MustCompile(`<tr id="call-(\d+)">`)
	w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}})
	first := rows.FindAllStringSubmatch(w.Body.String(), -1)
	if len(first) != callsPerPage {
		t.Fatalf("first page has %d rows, want %d", len(first), callsPerPage)
	}
	next := regexp.MustCompile(`href="/calls\?before=(\d+)"`).FindStringSubmatch(w.Body.String())
	if next == nil {
		t.Fatalf("first page has no link to older calls")
	}
	if want := fmt.Sprint(ids[10]); next[1] != want {
		t.Errorf("older link before=%s, want %s", next[1], want)
	}
	w = f.do(req{path: "/calls?before=" + next[1], cookies: []*http.Cookie{cookie}})
	second := rows.FindAllStringSubmatch(w.Body.String(), -1)
	if len(second) != 10 || second[0][1] != fmt.Sprint(ids[9]) || second[9][1] != fmt.Sprint(ids[0]) {
		t.Errorf("second page rows %v, want ids %d..%d", second, ids[9], ids[0])
	}
	if strings.Contains(w.Body.String(), "before=") {
		t.Errorf("last page links to older calls")
	}

	var page callsJSON
	getJSON(t, f, "/api/calls?limit=25", cookie, &page)
	if len(page.Calls) != 25 || page.NextBeforeID != page.Calls[24].ID {
		t.Fatalf("api page: %d calls, next %d", len(page.Calls), page.NextBeforeID)
	}
	getJSON(t, f, fmt.Sprintf("/api/calls?before=%d&limit=1000", page.NextBeforeID), cookie, &page)
	if len(page.Calls) != callsPerPage+10-25 || page.NextBeforeID != 0 {
		t.Errorf("api rest: %d calls, next %d", len(page.Calls), page.NextBeforeID)
	}
}

func getJSON(t *testing.T, f *fixture, path string, cookie *http.Cookie, v any) []byte {
	t.Helper()
	w := f.do(req{path: path, cookies: []*http.Cookie{cookie}})
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", path, w.Code, w.Header().Get("Content-Type"))
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", path, err, w.Body)
	}
	return w.Body.Bytes()
}

func TestAPIFields(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	callID, vmID := f.addCall("+79161234567", t0, tone(2))

	var calls struct{ Calls []map[string]any }
	getJSON(t, f, "/api/calls", cookie, &calls)
	if len(calls.Calls) != 1 {
		t.Fatalf("%d calls", len(calls.Calls))
	}
	c := calls.Calls[0]
	for _, k := range []string{"id", "call_id", "line", "number", "display_number", "started_at", "answered_at",
		"ended_at", "duration_seconds", "menu_path", "outcome", "voicemail_id"} {
		if _, ok := c[k]; !ok {
			t.Errorf("call lacks %q: %v", k, c)
		}
	}
	if c["id"] != float64(callID) || c["voicemail_id"] != float64(vmID) || c["number"] != "+79161234567" ||
		c["duration_seconds"] != 72.0 || c["outcome"] != "voicemail" || c["menu_path"] != "1,0" || c["line"] != "sim1" {
		t.Errorf("call %v", c)
	}
	if started, _ := time.Parse(time.RFC3339, c["started_at"].(string)); !started.Equal(t0) {
		t.Errorf("started_at %v, want %v", c["started_at"], t0)
	}

	var vms struct{ Voicemail []map[string]any }
	getJSON(t, f, "/api/voicemail", cookie, &vms)
	if len(vms.Voicemail) != 1 {
		t.Fatalf("%d voicemails", len(vms.Voicemail))
	}
	v := vms.Voicemail[0]
	for _, k := range []string{"id", "call_id", "number", "display_number", "created_at", "duration_seconds", "handled", "audio_url"} {
		if _, ok := v[k]; !ok {
			t.Errorf("voicemail lacks %q: %v", k, v)
		}
	}
	if v["id"] != float64(vmID) || v["call_id"] != float64(callID) || v["duration_seconds"] != 2.0 ||
		v["handled"] != false || v["audio_url"] != fmt.Sprintf("/voicemail/%d/audio", vmID) {
		t.Errorf("voicemail %v", v)
	}

	// Handled messages leave the default list and stay in show=all.
	if err := f.st.SetVoicemailHandled(context.Background(), vmID, true, "owner"); err != nil {
		t.Fatal(err)
	}
	getJSON(t, f, "/api/voicemail", cookie, &vms)
	if len(vms.Voicemail) != 0 {
		t.Errorf("handled message in the unhandled list")
	}
	getJSON(t, f, "/api/voicemail?show=all", cookie, &vms)
	if len(vms.Voicemail) != 1 || vms.Voicemail[0]["handled"] != true || vms.Voicemail[0]["handled_by"] != "owner" {
		t.Errorf("show=all: %v", vms.Voicemail)
	}
}

// hostileIDs are caller IDs a network or a prankster could send.
var hostileIDs = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	"+7916\x00\x1b[31m123\x07\r\n<b>",
	"\xff\xfe+1\xc3(555\x80",
	strings.Repeat("9", 200),
	"\u202e1234567\u200b<svg/onload=alert(1)>",
	`javascript:alert(1)`,
}

func TestHostileCallerIDs(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	for i, raw := range hostileIDs {
		f.addCall(raw, t0.Add(time.Duration(i)*time.Minute), tone(0.2))
	}
	check := func(t *testing.T, where, body string) {
		t.Helper()
		if !utf8.ValidString(body) {
			t.Errorf("%s: invalid UTF-8 in the output", where)
		}
		for _, bad := range []string{"<script>alert", "<img", "<svg", "<b>", "\x00", "\x1b", "\x07", "\u202e", `href="javascript:`} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: output contains %q", where, bad)
			}
		}
		if strings.Contains(body, strings.Repeat("9", maxDisplayRunes+1)) {
			t.Errorf("%s: 200-digit caller ID shown uncut", where)
		}
	}
	for _, p := range []string{"/calls", "/voicemail", "/voicemail?show=all"} {
		w := f.do(req{path: p, cookies: []*http.Cookie{cookie}})
		if w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", p, w.Code)
		}
		body := w.Body.String()
		check(t, p, body)
		if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
			t.Errorf("%s: the <script> caller ID is not shown escaped", p)
		}
		if !strings.Contains(body, "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;") {
			t.Errorf("%s: the <img> caller ID is not shown escaped", p)
		}
		// No tel: link for a number that is not clean.
		for _, m := range regexp.MustCompile(`href="tel:([^"]*)"`).FindAllStringSubmatch(body, -1) {
			if !regexp.MustCompile(`^(&#43;)?[0-9]{1,20}$`).MatchString(m[1]) {
				t.Errorf("%s: tel link to %q", p, m[1])
			}
		}
	}
	for _, p := range []string{"/api/calls", "/api/voicemail"} {
		type entry struct {
			Number        string `json:"number"`
			DisplayNumber string `json:"display_number"`
		}
		var raw struct {
			Calls     []entry `json:"calls"`
			Voicemail []entry `json:"voicemail"`
		}
		body := getJSON(t, f, p, cookie, &raw)
		check(t, p, string(body))
		if bytes.ContainsAny(body, "<>") {
			t.Errorf("%s: JSON carries raw < or >", p)
		}
		n := 0
		for _, list := range [][]entry{raw.Calls, raw.Voicemail} {
			for _, c := range list {
				n++
				if !utf8.ValidString(c.DisplayNumber) || strings.IndexFunc(c.DisplayNumber, unicode.IsControl) >= 0 ||
					utf8.RuneCountInString(c.DisplayNumber) > maxDisplayRunes+1 {
					t.Errorf("%s: display_number %q", p, c.DisplayNumber)
				}
				if !regexp.MustCompile(`^(\+?[0-9]{1,20})?$`).MatchString(c.Number) {
					t.Errorf("%s: number %q is not sanitised", p, c.Number)
				}
			}
		}
		if n != len(hostileIDs) {
			t.Errorf("%s: %d entries, want %d", p, n, len(hostileIDs))
		}
	}
}

func TestCleanDisplay(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"+79161234567", "+79161234567"},
		{"  Anna\t", "Anna"},
		{"a\x00b\x1bc\x7fd", "abcd"},
		{"\xffx", "\uFFFDx"},
		{"\u202eabc\u200d", "abc"},
		{strings.Repeat("7", 70), strings.Repeat("7", maxDisplayRunes) + "…"},
		{strings.Repeat("я", maxDisplayRunes), strings.Repeat("я", maxDisplayRunes)},
	}
	for _, tt := range tests {
		if got := cleanDisplay(tt.in); got != tt.want {
			t.Errorf("cleanDisplay(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzCleanDisplay(f *testing.F) {
	for _, s := range hostileIDs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanDisplay(s)
		if !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 %q", got)
		}
		if utf8.RuneCountInString(got) > maxDisplayRunes+1 {
			t.Fatalf("too long: %d runes", utf8.RuneCountInString(got))
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("kept %U in %q", r, got)
			}
		}
		if cleanDisplay(got) != got && !strings.HasSuffix(got, "…") {
			t.Fatalf("not idempotent: %q -> %q", got, cleanDisplay(got))
		}
	})
}

func TestTelURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+79161234567", "tel:+79161234567"},
		{"112", "tel:112"},
		{"", ""},
		{"+", ""},
		{"+7916 123", ""},
		{"javascript:alert(1)", ""},
		{strings.Repeat("1", 21), ""},
		{"１２３", ""},
	}
	for _, tt := range tests {
		if got := string(telURL(tt.in)); got != tt.want {
			t.Errorf("telURL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestVoicemailPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	_, older := f.addCall("+79161234567", t0, tone(3))
	_, newer := f.addCall("+74951112233", t0.Add(time.Hour), tone(65))
	w := f.do(req{path: "/voicemail", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /voicemail: %d", w.Code)
	}
	body := w.Body.String()
	for _, s := range []string{
		fmt.Sprintf(`<audio controls preload="metadata" src="/voicemail/%d/audio">`, older),
		fmt.Sprintf(`href="/voicemail/%d/audio?download=1"`, newer),
		fmt.Sprintf(`action="/voicemail/%d/handled"`, older),
		`name="csrf" value="` + csrf + `"`,
		`name="handled" value="1"`,
		"0:03", "1:05", htmlEscaped("+79161234567"), messages[langEN]["vm_mark"],
		`<span class="badge">2`,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("voicemail page lacks %q\n%s", s, body)
		}
	}
	if a, b := strings.Index(body, "74951112233"), strings.Index(body, "79161234567"); a < 0 || a > b {
		t.Errorf("voicemail not newest first")
	}
}

func TestMarkHandled(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(1))
	ctx := context.Background()
	path := fmt.Sprintf("/voicemail/%d/handled", vm)
	sameSite := map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "http://example.com"}
	tests := []struct {
		name     string
		path     string
		form     url.Values
		status   int
		location string
		handled  bool
	}{
		{"no token", path, url.Values{"handled": {"1"}}, http.StatusForbidden, "", false},
		{"wrong token", path, url.Values{"handled": {"1"}, "csrf": {csrf + "x"}}, http.StatusForbidden, "", false},
		{"bad value", path, url.Values{"handled": {"yes"}, "csrf": {csrf}}, http.StatusBadRequest, "", false},
		{"unknown id", "/voicemail/999/handled", url.Values{"handled": {"1"}, "csrf": {csrf}}, http.StatusNotFound, "", false},
		{"handled", path, url.Values{"handled": {"1"}, "csrf": {csrf}}, http.StatusSeeOther,
			fmt.Sprintf("/voicemail?ok=handled#vm-%d", vm), true},
		{"new again, from the all list", path, url.Values{"handled": {"0"}, "csrf": {csrf}, "show": {"all"}}, http.StatusSeeOther,
			fmt.Sprintf("/voicemail?ok=new&show=all#vm-%d", vm), false},
		{"handled again", path, url.Values{"handled": {"1"}, "csrf": {csrf}}, http.StatusSeeOther,
			fmt.Sprintf("/voicemail?ok=handled#vm-%d", vm), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: tt.path, form: tt.form, cookies: []*http.Cookie{cookie}, header: sameSite})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, w.Body)
			}
			if tt.location != "" && w.Header().Get("Location") != tt.location {
				t.Errorf("redirect to %q, want %q", w.Header().Get("Location"), tt.location)
			}
			v, err := f.st.Voicemail(ctx, vm)
			if err != nil {
				t.Fatal(err)
			}
			if v.Handled != tt.handled {
				t.Errorf("handled = %v, want %v", v.Handled, tt.handled)
			}
			if v.Handled && v.HandledBy != "owner" {
				t.Errorf("handled by %q, want owner", v.HandledBy)
			}
		})
	}
	w := f.do(req{path: "/voicemail?ok=handled&show=all", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	for _, s := range []string{messages[langEN]["vm_marked"], messages[langEN]["vm_handled"], messages[langEN]["vm_unmark"], `name="handled" value="0"`} {
		if !strings.Contains(w.Body.String(), s) {
			t.Errorf("after marking, the page lacks %q", s)
		}
	}
	entries, err := f.st.ListAudit(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "voicemail_") {
			actions = append(actions, e.Action+" by "+e.User)
		}
	}
	slices.Sort(actions)
	want := []string{"voicemail_handled by owner", "voicemail_handled by owner", "voicemail_new by owner"}
	if !slices.Equal(actions, want) {
		t.Errorf("audit %v, want %v", actions, want)
	}
}

func TestCrossOriginRefused(t *testing.T) {
	sim := &fakeSim{}
	f := newOwnedFixture(t, sim)
	cookie, csrf := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(1))
	evil := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	tests := []struct {
		path string
		form url.Values
		body string
	}{
		{"/login", url.Values{"username": {"owner"}, "password": {testPassword}}, ""},
		{"/setup", url.Values{"code": {"1234-5678"}, "password": {testPassword}, "password2": {testPassword}}, ""},
		{"/logout", url.Values{"csrf": {csrf}}, ""},
		{fmt.Sprintf("/voicemail/%d/handled", vm), url.Values{"handled": {"1"}, "csrf": {csrf}}, ""},
		{"/password", url.Values{"csrf": {csrf}, "current": {testPassword}, "password": {"cross-site password"}, "password2": {"cross-site password"}}, ""},
		{"/api/sim/call", nil, `{"from":"+79160000000"}`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := f.do(req{method: "POST", path: tt.path, form: tt.form, body: tt.body, cookies: []*http.Cookie{cookie},
				header: evil, remote: "127.0.0.1:5000"})
			if w.Code != http.StatusForbidden {
				t.Fatalf("status %d, want 403", w.Code)
			}
			if sessionCookieFrom(t, w) != nil {
				t.Errorf("refused request touched the session cookie")
			}
			if w.Header().Get("Content-Security-Policy") == "" {
				t.Errorf("403 without security headers")
			}
		})
	}
	// Origin alone (older browsers) is enough to refuse.
	w := f.do(req{method: "POST", path: "/logout", form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{cookie},
		header: map[string]string{"Origin": "http://evil.example"}})
	if w.Code != http.StatusForbidden {
		t.Errorf("Origin-only cross-site logout: %d, want 403", w.Code)
	}
	if v, _ := f.st.Voicemail(context.Background(), vm); v.Handled {
		t.Errorf("cross-site request marked the message handled")
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusOK {
		t.Errorf("cross-site logout ended the session: %d", w.Code)
	}
	if len(sim.calls) != 0 {
		t.Errorf("cross-site request placed a test call")
	}
	if _, err := f.st.CheckPassword(context.Background(), "owner", testPassword); err != nil {
		t.Errorf("cross-site request changed the password: %v", err)
	}
}

func TestVoicemailAudio(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(2))
	v, err := f.st.Voicemail(context.Background(), vm)
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.st.VoicemailPath(v)
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	n := len(file)
	audio := fmt.Sprintf("/voicemail/%d/audio", vm)
	tests := []struct {
		name         string
		path, rng    string
		status       int
		want         []byte
		contentRange string
	}{
		{"whole", audio, "", http.StatusOK, file, ""},
		{"header", audio, "bytes=0-43", http.StatusPartialContent, file[:44], fmt.Sprintf("bytes 0-43/%d", n)},
		{"middle", audio, "bytes=1000-1999", http.StatusPartialContent, file[1000:2000], fmt.Sprintf("bytes 1000-1999/%d", n)},
		{"tail", audio, "bytes=-100", http.StatusPartialContent, file[n-100:], fmt.Sprintf("bytes %d-%d/%d", n-100, n-1, n)},
		{"open end", audio, fmt.Sprintf("bytes=%d-", n-10), http.StatusPartialContent, file[n-10:], fmt.Sprintf("bytes %d-%d/%d", n-10, n-1, n)},
		{"beyond", audio, fmt.Sprintf("bytes=%d-", n+10), http.StatusRequestedRangeNotSatisfiable, nil, ""},
		{"unknown id", "/voicemail/424242/audio", "", http.StatusNotFound, nil, ""},
		{"not a number", "/voicemail/abc/audio", "", http.StatusNotFound, nil, ""},
		{"negative", "/voicemail/-1/audio", "", http.StatusNotFound, nil, ""},
		{"escaped dots", "/voicemail/..%2f..%2fhotline.db/audio", "", http.StatusNotFound, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{path: tt.path, cookies: []*http.Cookie{cookie}}
			if tt.rng != "" {
				r.header = map[string]string{"Range": tt.rng}
			}
			w := f.do(r)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if tt.want != nil {
				if !bytes.Equal(w.Body.Bytes(), tt.want) {
					t.Errorf("body %d bytes, want %d bytes", w.Body.Len(), len(tt.want))
				}
				if ct := w.Header().Get("Content-Type"); ct != "audio/wav" {
					t.Errorf("Content-Type %q", ct)
				}
				if w.Header().Get("Accept-Ranges") != "bytes" {
					t.Errorf("no Accept-Ranges")
				}
			}
			if w.Header().Get("Content-Range") != tt.contentRange && tt.contentRange != "" {
				t.Errorf("Content-Range %q, want %q", w.Header().Get("Content-Range"), tt.contentRange)
			}
			if bytes.HasPrefix(w.Body.Bytes(), []byte("SQLite")) {
				t.Errorf("served the database")
			}
		})
	}
	w := f.do(req{path: audio + "?download=1", cookies: []*http.Cookie{cookie}})
	if cd := w.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=\"voicemail-") || !strings.HasSuffix(cd, ".wav\"") {
		t.Errorf("download Content-Disposition %q", cd)
	}
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if w := f.do(req{path: audio, cookies: []*http.Cookie{cookie}}); w.Code != http.StatusNotFound {
		t.Errorf("missing file: %d, want 404", w.Code)
	}
}

// TestVoicemailPathEscape plants file names that leave DIR/voicemail straight into the
// database (the store refuses to write them) and checks the admin serves none of them.
func TestVoicemailPathEscape(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	_, vm := f.addCall("+79161234567", t0, tone(1))
	db, err := sql.Open("sqlite", filepath.Join(f.st.Dir(), "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := os.WriteFile(filepath.Join(f.st.Dir(), "secret.wav"), []byte("RIFFsecret"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../hotline.db", "../secret.wav", "/etc/passwd", "..", ".", "sub/../../secret.wav", `..\secret.wav`} {
		t.Run(name, func(t *testing.T) {
			if _, err := db.Exec(`UPDATE voicemails SET file = ? WHERE id = ?`, name, vm); err != nil {
				t.Fatal(err)
			}
			w := f.do(req{path: fmt.Sprintf("/voicemail/%d/audio", vm), cookies: []*http.Cookie{cookie}})
			if w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
			if b := w.Body.Bytes(); bytes.HasPrefix(b, []byte("SQLite")) || bytes.Contains(b, []byte("RIFFsecret")) || bytes.Contains(b, []byte("root:")) {
				t.Errorf("served a file outside the voicemail folder")
			}
		})
	}
}

func TestSimCall(t *testing.T) {
	body := `{"from":"+79161234567","digits":"1","hangup_after_ms":500}`
	tests := []struct {
		name   string
		sim    bool
		remote string
		body   string
		status int
	}{
		{"no simulated lines", false, "127.0.0.1:4000", body, http.StatusNotFound},
		{"remote address", true, "192.0.2.9:4000", body, http.StatusForbidden},
		{"LAN address", true, "10.0.0.5:4000", body, http.StatusForbidden},
		{"loopback v4", true, "127.0.0.1:4000", body, http.StatusOK},
		{"loopback v6", true, "[::1]:4000", body, http.StatusOK},
		{"bad JSON", true, "127.0.0.1:4000", `{"from":`, http.StatusBadRequest},
		{"not an object", true, "127.0.0.1:4000", `[1,2]`, http.StatusBadRequest},
		{"too big", true, "127.0.0.1:4000", `{"from":"1","say_pcm":"` + strings.Repeat("A", maxSimBody) + `"}`, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var sim SimCaller
			fs := &fakeSim{}
			if tt.sim {
				sim = fs
			}
			f := newFixture(t, sim)
			w := f.do(req{method: "POST", path: "/api/sim/call", body: tt.body, remote: tt.remote,
				header: map[string]string{"Content-Type": "application/json"}})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, w.Body)
			}
			if !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
				t.Errorf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			if tt.status != http.StatusOK {
				if len(fs.calls) != 0 {
					t.Errorf("refused request placed a call")
				}
				return
			}
			var res daemon.TestCallResult
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatal(err)
			}
			if res.Outcome != "voicemail" || res.VoicemailID != 3 || res.DigitsSent != "1" {
				t.Errorf("result %+v", res)
			}
			if len(fs.calls) != 1 || fs.calls[0].From != "+79161234567" || fs.calls[0].HangupAfterMS != 500 {
				t.Errorf("sim got %+v", fs.calls)
			}
		})
	}
}

func TestSecurityHeaders(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	for _, p := range []string{"/", "/login", "/setup", "/calls", "/voicemail", "/api/calls", "/healthz", "/static/style.css", "/nope", "/api/nope"} {
		w := f.do(req{path: p, cookies: []*http.Cookie{cookie}})
		h := w.Header()
		csp := h.Get("Content-Security-Policy")
		for _, d := range []string{"default-src 'self'", "media-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "object-src 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("%s: CSP %q lacks %q", p, csp, d)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows unsafe code: %q", p, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", p, k, h.Get(k), v)
			}
		}
	}
}

func TestHealthAndNotFound(t *testing.T) {
	f := newFixture(t, nil)
	if w := f.do(req{path: "/healthz"}); w.Code != http.StatusOK || strings.TrimSpace(w.Body.String()) != "ok" {
		t.Errorf("/healthz: %d %q", w.Code, w.Body)
	}
	if w := f.do(req{path: "/no/such/page"}); w.Code != http.StatusNotFound || !strings.Contains(w.Body.String(), htmlEscaped(messages[langRU]["err_notfound"])) {
		t.Errorf("404 page: %d", w.Code)
	}
	if w := f.do(req{method: "DELETE", path: "/calls"}); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /calls: %d, want 405", w.Code)
	}
}

// TestPagesHaveNoInlineCode keeps the pages within the CSP: no inline script, no event
// handler attributes, no inline styles, and every asset from the box itself.
func TestPagesHaveNoInlineCode(t *testing.T) {
	f := newFixture(t, nil)
	w := f.do(req{path: "/setup"})
	pages := []string{w.Body.String()}
	cookie, _ := f.login()
	f.addCall(`<script>x</script>`, t0, tone(0.1))
	for _, p := range []string{"/login", "/calls", "/voicemail", "/voicemail?show=all", "/nope"} {
		pages = append(pages, f.do(req{path: p, cookies: []*http.Cookie{cookie}}).Body.String())
	}
	bad := regexp.MustCompile(`(?i)<script|\son[a-z]+=|\sstyle=|<style|(src|href)="(https?:)?//`)
	for i, body := range pages {
		if m := bad.FindString(body); m != "" {
			t.Errorf("page %d has %q", i, m)
		}
	}
}

func TestStatic(t *testing.T) {
	f := newFixture(t, nil)
	css := f.srv.assets.files["style.css"]
	tests := []struct {
		path, ctype, cache string
		status             int
	}{
		{"/static/style.css?v=" + css.hash, "text/css; charset=utf-8", "public, max-age=31536000, immutable", http.StatusOK},
		{"/static/style.css", "text/css; charset=utf-8", "public, max-age=3600", http.StatusOK},
		{"/static/icon.svg", "image/svg+xml", "public, max-age=3600", http.StatusOK},
		{"/static/nope.js", "", "", http.StatusNotFound},
		{"/static/", "", "", http.StatusNotFound},
	}
	for _, tt := range tests {
		w := f.do(req{path: tt.path})
		if w.Code != tt.status {
			t.Errorf("%s: %d, want %d", tt.path, w.Code, tt.status)
			continue
		}
		if tt.status != http.StatusOK {
			continue
		}
		if w.Header().Get("Content-Type") != tt.ctype || w.Header().Get("Cache-Control") != tt.cache {
			t.Errorf("%s: type %q cache %q", tt.path, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
	}
	w := f.do(req{path: "/static/style.css", header: map[string]string{"If-None-Match": `"` + css.hash + `"`}})
	if w.Code != http.StatusNotModified {
		t.Errorf("conditional GET: %d, want 304", w.Code)
	}
	if page := f.do(req{path: "/setup"}).Body.String(); !strings.Contains(page, `href="/static/style.css?v=`+css.hash+`"`) {
		t.Errorf("pages do not link the versioned stylesheet")
	}
}

func TestLanguage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	tests := []struct {
		name, accept, cookie, want string
	}{
		{"default", "", "", langRU},
		{"english browser", "en-US,en;q=0.9", "", langEN},
		{"russian browser", "ru-RU,ru;q=0.9,en;q=0.8", "", langRU},
		{"preferred unknown", "de-DE,de;q=0.9,en;q=0.5", "", langEN},
		{"q decides", "ru;q=0.3, en;q=0.8", "", langEN},
		{"cookie wins", "en", langRU, langRU},
		{"cookie en", "ru", langEN, langEN},
		{"bad cookie", "en", "xx", langEN},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := req{path: "/login", header: map[string]string{"Accept-Language": tt.accept}}
			if tt.cookie != "" {
				r.cookies = []*http.Cookie{{Name: langCookie, Value: tt.cookie}}
			}
			body := f.do(r).Body.String()
			if !strings.Contains(body, `<html lang="`+tt.want+`">`) || !strings.Contains(body, htmlEscaped(messages[tt.want]["login_title"])) {
				t.Errorf("page not in %s", tt.want)
			}
		})
	}

	switches := []struct {
		path, location string
		status         int
	}{
		{"/lang/en?back=/calls", "/calls", http.StatusSeeOther},
		{"/lang/ru?back=" + url.QueryEscape("/voicemail?show=all"), "/voicemail?show=all", http.StatusSeeOther},
		{"/lang/en?back=//evil.example/x", "/", http.StatusSeeOther},
		{"/lang/en?back=https://evil.example/", "/", http.StatusSeeOther},
		{"/lang/en?back=" + url.QueryEscape(`/\evil.example`), "/", http.StatusSeeOther},
		{"/lang/en", "/", http.StatusSeeOther},
		{"/lang/xx?back=/calls", "", http.StatusNotFound},
	}
	for _, tt := range switches {
		w := f.do(req{path: tt.path})
		if w.Code != tt.status || w.Header().Get("Location") != tt.location {
			t.Errorf("%s: %d to %q, want %d to %q", tt.path, w.Code, w.Header().Get("Location"), tt.status, tt.location)
		}
		if tt.status == http.StatusSeeOther {
			c := w.Result().Cookies()
			if len(c) != 1 || c[0].Name != langCookie || !knownLang(c[0].Value) {
				t.Errorf("%s: cookies %v", tt.path, c)
			}
		}
	}
}

func TestLangFromAccept(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", langRU},
		{"*", langRU},
		{"en", langEN},
		{"EN-gb", langEN},
		{"fr, en;q=0.1", langEN},
		{"en;q=0, ru;q=0", langRU},
		{"en;q=abc", langRU},
		{"en;q=0.5, ru;q=0.5", langEN},
		{"uk, ru;q=0.9, en;q=0.8", langRU},
		{"en;q=2", langRU},
	}
	for _, tt := range tests {
		if got := langFromAccept(tt.in); got != tt.want {
			t.Errorf("langFromAccept(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzLangFromAccept(f *testing.F) {
	for _, s := range []string{"en-US,en;q=0.9", "ru;q=0.3, en;q=0.8", ";;;q=", "en;q=1e400"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := langFromAccept(s); !knownLang(got) {
			t.Fatalf("langFromAccept(%q) = %q", s, got)
		}
	})
}

func TestLocalPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/calls", "/calls"},
		{"/voicemail?show=all", "/voicemail?show=all"},
		{"", "/"},
		{"calls", "/"},
		{"//evil.example", "/"},
		{"/\\evil.example", "/"},
		{"https://evil.example/", "/"},
		{"/x\r\nSet-Cookie: a=b", "/"},
	}
	for _, tt := range tests {
		if got := localPath(tt.in); got != tt.want {
			t.Errorf("localPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/calls", "//x", "/\\x", "https://x", "/%2f%2fx", "/\t/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := localPath(s)
		u, err := url.Parse(got)
		if err != nil || !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || u.Host != "" || u.Scheme != "" ||
			strings.ContainsAny(got, "\\\r\n") {
			t.Fatalf("localPath(%q) = %q leaves the site", s, got)
		}
	})
}

// TestTranslations checks that both languages have the same keys and that every key a
// template or the code names exists.
func TestTranslations(t *testing.T) {
	keys := func(lang string) []string {
		var k []string
		for key, v := range messages[lang] {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", lang, key)
			}
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if ru, en := keys(langRU), keys(langEN); !slices.Equal(ru, en) {
		t.Errorf("languages differ in keys:\nru %v\nen %v", ru, en)
	}
	used := regexp.MustCompile(`\.T\.([a-z0-9_]+)`)
	err := fs.WalkDir(templateFiles, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFiles.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			for _, lang := range []string{langRU, langEN} {
				if _, ok := messages[lang][m[1]]; !ok {
					t.Errorf("%s uses %s, missing in %s", path, m[1], lang)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for outcome, key := range outcomeKeys {
		for _, lang := range []string{langRU, langEN} {
			if _, ok := messages[lang][key]; !ok {
				t.Errorf("outcome %q: %s missing in %s", outcome, key, lang)
			}
		}
	}
	for _, k := range []string{"err_too_many"} {
		for _, lang := range []string{langRU, langEN} {
			if strings.Count(messages[lang][k], "%d") != 1 {
				t.Errorf("%s %s needs exactly one %%d", lang, k)
			}
		}
	}
}

func TestFormat(t *testing.T) {
	durations := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"}, {-time.Second, "0:00"}, {1499 * time.Millisecond, "0:01"}, {59 * time.Second, "0:59"},
		{65 * time.Second, "1:05"}, {time.Hour + 2*time.Minute + 3*time.Second, "1:02:03"},
	}
	for _, tt := range durations {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
	msk := time.FixedZone("MSK", 3*3600)
	if got := formatTime(langRU, t0, msk); got != "01.03.2026 12:30" {
		t.Errorf("ru time %q", got)
	}
	if got := formatTime(langEN, t0, msk); got != "1 Mar 2026, 12:30" {
		t.Errorf("en time %q", got)
	}
	if formatTime(langEN, time.Time{}, msk) != "" {
		t.Errorf("zero time shown")
	}
	if got := outcomeText(langEN, "weird<x>"); got != "weird<x>" {
		t.Errorf("unknown outcome %q", got)
	}
}

// TestRenderConcurrent renders pages in both languages at once; run with -race.
func TestRenderConcurrent(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	f.addCall("+79161234567", t0, tone(0.5))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			lang := []string{langRU, langEN}[i%2]
			for _, p := range []string{"/calls", "/voicemail"} {
				w := f.do(req{path: p, cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": lang}})
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<html lang="`+lang+`">`) ||
					!strings.Contains(w.Body.String(), htmlEscaped(messages[lang]["nav_calls"])) {
					t.Errorf("%s in %s: %d", p, lang, w.Code)
				}
			}
		})
	}
	wg.Wait()
}

func TestNewNeedsStore(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Errorf("New without a store succeeded")
	}
}
