package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"hotline/daemon/store"
)

// publicStateChanging are the only state-changing routes that need no session; each guards
// itself (setup code, password, loopback). Any other POST must be behind a login.
var publicStateChanging = map[string]bool{
	"POST /setup": true, "POST /login": true, "POST /logout": true, "POST /api/sim/call": true,
}

// TestEveryRouteDeclared: every route says who may use it, once, and no state-changing route is
// public by accident.
func TestEveryRouteDeclared(t *testing.T) {
	f := newFixture(t, nil)
	seen := map[string]bool{}
	for _, rt := range f.srv.routeTable() {
		method, path, ok := strings.Cut(rt.pattern, " ")
		if !ok || path == "" || rt.handler == nil {
			t.Errorf("route %q has no method, path or handler", rt.pattern)
		}
		if seen[rt.pattern] {
			t.Errorf("route %q twice", rt.pattern)
		}
		seen[rt.pattern] = true
		if method != http.MethodGet && rt.access == public && !publicStateChanging[rt.pattern] {
			t.Errorf("%s changes state without a login: give it viewPage/ownerPage or add it to publicStateChanging with a reason", rt.pattern)
		}
		if strings.HasPrefix(path, "/api/") && (rt.access == viewPage || rt.access == ownerPage) {
			t.Errorf("%s is an API route wrapped as a page (redirects instead of 401)", rt.pattern)
		}
	}
}

// concrete turns a route pattern into a path that reaches its handler.
func concrete(pattern string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	r := strings.NewReplacer("{id}", "1", "{name}", "style.css", "{code}", "en")
	return method, r.Replace(path)
}

func operatorSession(t *testing.T, f *fixture) (*http.Cookie, string) {
	t.Helper()
	ctx := context.Background()
	if err := f.st.SetPassword(ctx, "anna", "operator password", store.RoleOperator); err != nil {
		t.Fatal(err)
	}
	token, err := f.st.CreateSession(ctx, "anna", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := f.st.Session(ctx, token)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookie, Value: token}, sess.CSRF
}

// TestRolesEnforced goes over every route with an operator session, with the owner's and with
// none: owner-only routes refuse the operator with 403 whatever the method, routes behind a
// login send strangers away, and the operator reaches what an operator may see.
func TestRolesEnforced(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.addCall("+79161234567", t0, tone(0.5))
	f.addSMS("+79161234567", "hello")
	opCookie, opCSRF := operatorSession(t, f)
	ownCookie, ownCSRF := f.login()
	for _, rt := range f.srv.routeTable() {
		if rt.access == public {
			continue
		}
		method, path := concrete(rt.pattern)
		t.Run(rt.pattern, func(t *testing.T) {
			send := func(c *http.Cookie, csrf string) int {
				r := req{method: method, path: path}
				if c != nil {
					r.cookies = []*http.Cookie{c}
				}
				if method == http.MethodPost {
					r.form = url.Values{"csrf": {csrf}, "text": {"x"}, "to": {"+79161234567"}, "line": {"gsm1"}}
				}
				return f.do(r).Code
			}
			owner := rt.access == ownerPage || rt.access == ownerAPI
			api := rt.access == viewAPI || rt.access == ownerAPI
			switch code := send(opCookie, opCSRF); {
			case owner && code != http.StatusForbidden:
				t.Errorf("operator: %d, want 403 on an owner-only route", code)
			case !owner && (code == http.StatusForbidden || code == http.StatusUnauthorized || code == http.StatusSeeOther && method == http.MethodGet):
				t.Errorf("operator: %d on a route operators may use", code)
			}
			if code := send(ownCookie, ownCSRF); code == http.StatusForbidden || code == http.StatusUnauthorized {
				t.Errorf("owner: %d", code)
			}
			switch code := send(nil, ""); {
			case api && code != http.StatusUnauthorized:
				t.Errorf("no session: %d, want 401", code)
			case !api && code != http.StatusSeeOther:
				t.Errorf("no session: %d, want a redirect to the login", code)
			}
			if method == http.MethodPost && !api {
				if code := send(opCookie, "forged"); code != http.StatusForbidden {
					t.Errorf("operator with a forged form token: %d, want 403", code)
				}
			}
		})
	}
}

// TestOwnerOnlyWrappers checks the owner-only wrappers themselves (the settings, users, flows
// and backup routes use them): the operator gets 403 on a page and an API route, by GET and by
// POST with a valid form token, and the handler never runs.
func TestOwnerOnlyWrappers(t *testing.T) {
	f := newOwnedFixture(t, nil)
	opCookie, opCSRF := operatorSession(t, f)
	ownCookie, ownCSRF := f.login()
	ran := 0
	h := func(w http.ResponseWriter, r *http.Request) { ran++ }
	mux := http.NewServeMux()
	mux.HandleFunc("GET /settings", f.srv.page(mayChange, h))
	mux.HandleFunc("POST /settings", f.srv.page(mayChange, h))
	mux.HandleFunc("GET /backup", f.srv.page(mayChange, h))
	mux.HandleFunc("POST /api/flows", f.srv.api(mayChange, h))
	f.h = mux
	for _, tc := range []struct{ method, path string }{
		{"GET", "/settings"}, {"POST", "/settings"}, {"GET", "/backup"}, {"POST", "/api/flows"},
	} {
		for _, who := range []struct {
			name   string
			cookie *http.Cookie
			csrf   string
			want   int
		}{{"operator", opCookie, opCSRF, http.StatusForbidden}, {"owner", ownCookie, ownCSRF, http.StatusOK}} {
			r := req{method: tc.method, path: tc.path, cookies: []*http.Cookie{who.cookie}}
			if tc.method == http.MethodPost {
				r.form = url.Values{"csrf": {who.csrf}}
			}
			before := ran
			if code := f.do(r).Code; code != who.want {
				t.Errorf("%s %s %s: %d, want %d", who.name, tc.method, tc.path, code, who.want)
			}
			if ran := ran - before; (who.want == http.StatusOK) != (ran == 1) {
				t.Errorf("%s %s %s: handler ran %d times", who.name, tc.method, tc.path, ran)
			}
		}
	}
	for _, tt := range []struct {
		role string
		want bool
	}{{store.RoleOwner, true}, {store.RoleOperator, false}, {"", false}, {"Owner", false}} {
		if got := mayChange(tt.role); got != tt.want {
			t.Errorf("mayChange(%q) = %v, want %v", tt.role, got, tt.want)
		}
	}
}

// hostileTexts reach the box as SMS texts from outside.
var hostileTexts = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	"line\x00one\x1b[31m\x07\r\n<b>bold</b>",
	"\xff\xfe broken \xc3( utf-8 \x80",
	strings.Repeat("ж", 5000),
	"\u202eevil\u200b<svg/onload=alert(1)>",
	`javascript:alert(1)`,
	"{{.}} {{template \"x\"}} ${7*7}",
}

// TestHostileInputEveryPage stores hostile caller IDs and SMS texts (from hostile numbers)
// and fetches every page and API route a logged-in owner can GET: each answers, in valid
// UTF-8, with no markup, control byte or bidi override of the input in it.
func TestHostileInputEveryPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	for i, raw := range hostileIDs {
		f.addCall(raw, t0.Add(time.Duration(i)*time.Minute), tone(0.2))
	}
	for i, text := range hostileTexts {
		f.addSMS(hostileIDs[i%len(hostileIDs)], text)
	}
	cookie, _ := f.login()
	for _, rt := range f.srv.routeTable() {
		method, path := concrete(rt.pattern)
		if method != http.MethodGet || path == "/lang/en" {
			continue
		}
		for _, p := range []string{path, path + "?show=all", path + "?before=" + url.QueryEscape("<script>")} {
			w := f.do(req{path: p, cookies: []*http.Cookie{cookie}})
			body := w.Body.String()
			if w.Code >= 500 {
				t.Errorf("GET %s: %d", p, w.Code)
			}
			if !utf8.ValidString(body) && !strings.HasPrefix(w.Header().Get("Content-Type"), "audio/") {
				t.Errorf("GET %s: invalid UTF-8 in the answer", p)
			}
			if strings.HasPrefix(w.Header().Get("Content-Type"), "audio/") {
				continue
			}
			for _, bad := range []string{"<script>alert", "<img src=x", "<svg/onload", "<b>", "\x00", "\x1b", "\x07", "\u202e", `href="javascript:`, "49"} {
				if bad == "49" { // a template injection would have computed 7*7
					if strings.Contains(body, "${49}") {
						t.Errorf("GET %s: the text was evaluated", p)
					}
					continue
				}
				if strings.Contains(body, bad) {
					t.Errorf("GET %s: answer contains %q", p, bad)
				}
			}
			if ct := w.Header().Get("Content-Type"); w.Code == http.StatusOK && ct == "" {
				t.Errorf("GET %s: no Content-Type", p)
			}
		}
	}
}
