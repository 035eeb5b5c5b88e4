package web

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
)

func TestRootRedirects(t *testing.T) {
	f := newFixture(t, nil)
	if w := f.do(req{path: "/"}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/setup" {
		t.Fatalf("new box: got %d to %q, want 303 to /setup", w.Code, w.Header().Get("Location"))
	}
	cookie, _ := f.login()
	tests := []struct {
		name    string
		cookies []*http.Cookie
		want    string
	}{
		{"no session", nil, "/login"},
		{"unknown session", []*http.Cookie{{Name: sessionCookie, Value: "bogus"}}, "/login"},
		{"session", []*http.Cookie{cookie}, "/dashboard"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{path: "/", cookies: tt.cookies})
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != tt.want {
				t.Errorf("got %d to %q, want 303 to %q", w.Code, w.Header().Get("Location"), tt.want)
			}
		})
	}
}

func sessionCookieFrom(t *testing.T, w interface{ Result() *http.Response }) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	return nil
}

func TestSetupClaim(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()

	w := f.do(req{path: "/setup"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /setup: %d", w.Code)
	}
	code, err := f.st.SetupCode(ctx)
	if err != nil || code == "" {
		t.Fatalf("setup code %q: %v", code, err)
	}
	body := w.Body.String()
	if !strings.Contains(body, "setup-code.txt") || !strings.Contains(body, f.st.Dir()) {
		t.Errorf("setup page does not say where the code is:\n%s", body)
	}
	if strings.Contains(body, code) {
		t.Errorf("setup page shows the code itself")
	}

	wrong := "0000-0000"
	if wrong == code {
		wrong = "1111-1111"
	}
	tests := []struct {
		name, code, pw, pw2 string
		status              int
		msg                 string
	}{
		{"wrong code", wrong, testPassword, testPassword, http.StatusUnauthorized, "err_setup_code"},
		{"empty code", "", testPassword, testPassword, http.StatusUnauthorized, "err_setup_code"},
		{"passwords differ", code, testPassword, testPassword + "x", http.StatusBadRequest, "err_mismatch"},
		{"weak password", code, "short", "short", http.StatusBadRequest, "err_weak"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/setup", header: map[string]string{"Accept-Language": "en"},
				form: url.Values{"code": {tt.code}, "password": {tt.pw}, "password2": {tt.pw2}}})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if want := messages[langEN][tt.msg]; !strings.Contains(w.Body.String(), htmlEscaped(want)) {
				t.Errorf("body lacks %q:\n%s", want, w.Body.String())
			}
			if sessionCookieFrom(t, w) != nil {
				t.Errorf("a failed claim set a session cookie")
			}
			if has, _ := f.st.HasOwner(ctx); has {
				t.Fatalf("a failed claim made an owner")
			}
		})
	}

	// The right code, typed without the dash, claims the box and logs in.
	digits := strings.ReplaceAll(code, "-", "")
	w = f.do(req{method: "POST", path: "/setup",
		form: url.Values{"code": {digits}, "password": {testPassword}, "password2": {testPassword}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/welcome" {
		t.Fatalf("claim: %d to %q, want 303 to the first-run wizard /welcome\n%s", w.Code, w.Header().Get("Location"), w.Body)
	}
	c := sessionCookieFrom(t, w)
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		t.Fatalf("claim cookie %+v: want HttpOnly, SameSite=Strict, Path=/", c)
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
		t.Errorf("GET /calls after claim: %d", w.Code)
	}
	if _, err := f.st.CheckPassword(ctx, store.OwnerName, testPassword); err != nil {
		t.Errorf("owner password not set: %v", err)
	}

	// Claimed: setup is gone for good.
	for _, r := range []req{
		{path: "/setup"},
		{method: "POST", path: "/setup", form: url.Values{"code": {code}, "password": {"another password"}, "password2": {"another password"}}},
	} {
		w := f.do(r)
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
			t.Errorf("%s /setup after claim: %d to %q, want 303 to /login", r.method, w.Code, w.Header().Get("Location"))
		}
	}
	if _, err := f.st.CheckPassword(ctx, store.OwnerName, testPassword); err != nil {
		t.Errorf("a second claim changed the password: %v", err)
	}
}

func TestSetupRateLimited(t *testing.T) {
	f := newFixture(t, nil)
	code, err := f.st.SetupCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	post := func(code, remote string) int {
		return f.do(req{method: "POST", path: "/setup", remote: remote, header: map[string]string{"Accept-Language": "en"},
			form: url.Values{"code": {code}, "password": {testPassword}, "password2": {testPassword}}}).Code
	}
	for i := range maxFailures {
		if got := post(fmt.Sprintf("9999-999%d", i), "192.0.2.7:5555"); got != http.StatusUnauthorized {
			t.Fatalf("wrong code %d: status %d", i, got)
		}
	}
	w := f.do(req{method: "POST", path: "/setup", remote: "192.0.2.7:6666", header: map[string]string{"Accept-Language": "en"},
		form: url.Values{"code": {code}, "password": {testPassword}, "password2": {testPassword}}})
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong codes the right one got %d, want 429", maxFailures, w.Code)
	}
	if !strings.Contains(w.Body.String(), "too many attempts, try again in 15 minutes") &&
		!strings.Contains(w.Body.String(), "Too many attempts, try again in 15 minutes") {
		t.Errorf("429 body lacks the wait:\n%s", w.Body)
	}
	// Another client is not blocked.
	if got := post("0000-000x", "192.0.2.8:1"); got != http.StatusUnauthorized {
		t.Errorf("other client: %d, want 401", got)
	}
	f.advance(failureWindow)
	if got := post(code, "192.0.2.7:7777"); got != http.StatusSeeOther {
		t.Errorf("after the window the right code got %d, want 303", got)
	}
}

func TestLogin(t *testing.T) {
	f := newOwnedFixture(t, nil)
	tests := []struct {
		name       string
		user, pw   string
		host       string
		status     int
		wantSecure bool
	}{
		{"right password", "owner", testPassword, "", http.StatusSeeOther, false},
		{"right password on 127.0.0.1", "owner", testPassword, "127.0.0.1:8080", http.StatusSeeOther, true},
		{"wrong password", "owner", "not the password", "", http.StatusUnauthorized, false},
		{"unknown user", "mallory", testPassword, "", http.StatusUnauthorized, false},
		{"empty", "", "", "", http.StatusUnauthorized, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{method: "POST", path: "/login", host: tt.host, remote: fmt.Sprintf("192.0.2.%d:1", 10+i),
				header: map[string]string{"Accept-Language": "en"},
				form:   url.Values{"username": {tt.user}, "password": {tt.pw}}})
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, w.Body)
			}
			c := sessionCookieFrom(t, w)
			if tt.status != http.StatusSeeOther {
				if c != nil {
					t.Errorf("failed login set a cookie")
				}
				if !strings.Contains(w.Body.String(), messages[langEN]["err_login"]) {
					t.Errorf("body lacks the plain message:\n%s", w.Body)
				}
				return
			}
			if loc := w.Header().Get("Location"); loc != "/calls" {
				t.Errorf("redirect to %q, want /calls", loc)
			}
			if c == nil || c.Value == "" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure != tt.wantSecure {
				t.Fatalf("cookie %+v: want HttpOnly SameSite=Strict Path=/ Secure=%v", c, tt.wantSecure)
			}
			if w := f.do(req{path: "/calls", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
				t.Errorf("session does not open /calls: %d", w.Code)
			}
		})
	}
}

func TestLoginFormPrefillsOwner(t *testing.T) {
	f := newFixture(t, nil)
	if w := f.do(req{path: "/login"}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/setup" {
		t.Errorf("login on a new box: %d to %q, want 303 to /setup", w.Code, w.Header().Get("Location"))
	}
	f.claim()
	w := f.do(req{path: "/login"})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /login: %d", w.Code)
	}
	for _, want := range []string{`name="username"`, `value="owner"`, `name="password"`, `type="password"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("login form lacks %s", want)
		}
	}
	cookie, _ := f.login()
	if w := f.do(req{path: "/login", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusSeeOther {
		t.Errorf("GET /login while logged in: %d, want 303", w.Code)
	}
}

func TestLoginRateLimit(t *testing.T) {
	f := newOwnedFixture(t, nil)
	login := func(user, pw, remote string) *httpResult {
		w := f.do(req{method: "POST", path: "/login", remote: remote, header: map[string]string{"Accept-Language": "en"},
			form: url.Values{"username": {user}, "password": {pw}}})
		return &httpResult{w.Code, w.Body.String(), w.Header().Get("Retry-After")}
	}

	t.Run("per address", func(t *testing.T) {
		for i := range maxFailures {
			if r := login(fmt.Sprint("guess", i), "x", "198.51.100.1:1"); r.code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.code)
			}
		}
		r := login("owner", testPassword, "198.51.100.1:2")
		if r.code != http.StatusTooManyRequests {
			t.Fatalf("right password from a blocked address: %d, want 429", r.code)
		}
		if !strings.Contains(r.body, "Too many attempts, try again in 15 minutes") {
			t.Errorf("429 body lacks the wait:\n%s", r.body)
		}
		if r.retryAfter != "900" {
			t.Errorf("Retry-After %q, want 900", r.retryAfter)
		}
		f.advance(10 * time.Minute)
		if r := login("owner", testPassword, "198.51.100.1:3"); r.code != http.StatusTooManyRequests ||
			!strings.Contains(r.body, "try again in 5 minutes") {
			t.Errorf("10 minutes later: %d, want 429 with 5 minutes left\n%s", r.code, r.body)
		}
		if r := login("owner", testPassword, "198.51.100.2:1"); r.code != http.StatusSeeOther {
			t.Errorf("another address: %d, want 303", r.code)
		}
		f.advance(5 * time.Minute)
		if r := login("owner", testPassword, "198.51.100.1:4"); r.code != http.StatusSeeOther {
			t.Errorf("after the window: %d, want 303", r.code)
		}
	})

	t.Run("per user name", func(t *testing.T) {
		for i := range maxFailures {
			remote := fmt.Sprintf("203.0.113.%d:1", 1+i)
			if r := login("Owner", "wrong", remote); r.code != http.StatusUnauthorized {
				t.Fatalf("failure %d: %d", i, r.code)
			}
		}
		if r := login("owner", testPassword, "203.0.113.99:1"); r.code != http.StatusTooManyRequests {
			t.Fatalf("owner from a fresh address after 5 failures on the name: %d, want 429", r.code)
		}
		f.advance(failureWindow)
		if r := login("owner", testPassword, "203.0.113.99:1"); r.code != http.StatusSeeOther {
			t.Errorf("after the window: %d, want 303", r.code)
		}
	})

}

type httpResult struct {
	code             int
	body, retryAfter string
}

func TestLimiter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := newLimiter(func() time.Time { return now })

	t.Run("sliding window", func(t *testing.T) {
		for range maxFailures - 1 {
			l.fail("a")
			now = now.Add(time.Minute)
		}
		if b, _ := l.blocked("a"); b {
			t.Fatalf("blocked after %d failures", maxFailures-1)
		}
		l.fail("a")
		b, wait := l.blocked("a")
		if !b || wait != failureWindow-time.Duration(maxFailures-1)*time.Minute {
			t.Fatalf("blocked=%v wait=%v, want true %v", b, wait, failureWindow-time.Duration(maxFailures-1)*time.Minute)
		}
		now = now.Add(wait)
		if b, _ := l.blocked("a"); b {
			t.Errorf("still blocked once the oldest failure left the window")
		}
		l.fail("a")
		if b, _ := l.blocked("a"); !b {
			t.Errorf("not blocked after a fresh failure within the window of four others")
		}
		l.reset("a")
		if b, _ := l.blocked("a"); b {
			t.Errorf("blocked after reset")
		}
	})

	t.Run("bounded memory", func(t *testing.T) {
		for i := range 3 * maxTracked {
			l.fail("k" + strings.Repeat("x", i%7) + string(rune(0x4e00+i)))
		}
		if n := l.len(); n > maxTracked {
			t.Errorf("tracks %d keys, want at most %d", n, maxTracked)
		}
		// The most recent key survives, the oldest is gone.
		last := "k" + strings.Repeat("x", (3*maxTracked-1)%7) + string(rune(0x4e00+3*maxTracked-1))
		if _, ok := l.keys[last]; !ok {
			t.Errorf("newest key evicted")
		}
		if _, ok := l.keys["k"+string(rune(0x4e00))]; ok {
			t.Errorf("oldest key kept")
		}
	})

	t.Run("expired keys are dropped", func(t *testing.T) {
		l := newLimiter(func() time.Time { return now })
		l.fail("x")
		now = now.Add(failureWindow)
		if b, _ := l.blocked("x"); b || l.len() != 0 {
			t.Errorf("blocked=%v len=%d after the window, want false 0", b, l.len())
		}
	})
}

func TestLogout(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	if w := f.do(req{method: "POST", path: "/logout", cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {"wrong"}}}); w.Code != http.StatusForbidden {
		t.Errorf("logout with a wrong token: %d, want 403", w.Code)
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusOK {
		t.Fatalf("session ended by a refused logout: %d", w.Code)
	}
	w := f.do(req{method: "POST", path: "/logout", cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {csrf}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Fatalf("logout: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if c := sessionCookieFrom(t, w); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the cookie: %+v", c)
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusSeeOther {
		t.Errorf("old session still works after logout: %d", w.Code)
	}
}

func TestSessionRequired(t *testing.T) {
	f := newOwnedFixture(t, nil)
	_, vm := f.addCall("+79161234567", time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), tone(0.5))
	vmPath := fmt.Sprintf("/voicemail/%d", vm)
	tests := []struct {
		method, path string
		api          bool
	}{
		{"GET", "/dashboard", false},
		{"GET", "/calls", false},
		{"GET", "/voicemail", false},
		{"GET", vmPath + "/audio", false},
		{"POST", vmPath + "/handled", false},
		{"GET", "/password", false},
		{"POST", "/password", false},
		{"GET", "/api/calls", true},
		{"GET", "/api/voicemail", true},
	}
	for _, tt := range tests {
		for _, cookies := range [][]*http.Cookie{nil, {{Name: sessionCookie, Value: "bogus"}}} {
			t.Run(tt.method+" "+tt.path, func(t *testing.T) {
				r := req{method: tt.method, path: tt.path, cookies: cookies}
				if tt.method == "POST" {
					r.form = url.Values{"handled": {"1"}}
				}
				w := f.do(r)
				if tt.api {
					if w.Code != http.StatusUnauthorized || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") ||
						!strings.Contains(w.Body.String(), `"error"`) {
						t.Errorf("got %d %q %s, want 401 JSON error", w.Code, w.Header().Get("Content-Type"), w.Body)
					}
					return
				}
				if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
					t.Errorf("got %d to %q, want 303 to /login", w.Code, w.Header().Get("Location"))
				}
			})
		}
	}
	if v, _ := f.st.Voicemail(context.Background(), vm); v.Handled {
		t.Errorf("voicemail marked handled without a session")
	}
}

func TestOperatorMayView(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	if err := f.st.SetPassword(ctx, "anna", "operator password", store.RoleOperator); err != nil {
		t.Fatal(err)
	}
	token, err := f.st.CreateSession(ctx, "anna", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Cookie{Name: sessionCookie, Value: token}
	for _, p := range []string{"/dashboard", "/calls", "/voicemail", "/api/calls", "/api/voicemail"} {
		if w := f.do(req{path: p, cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
			t.Errorf("operator GET %s: %d", p, w.Code)
		}
	}
	for _, tt := range []struct {
		role string
		want bool
	}{{store.RoleOwner, true}, {store.RoleOperator, true}, {"", false}, {"admin", false}, {"Owner", false}} {
		if got := mayView(tt.role); got != tt.want {
			t.Errorf("mayView(%q) = %v, want %v", tt.role, got, tt.want)
		}
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.1:1234", "ip:192.0.2.1"},
		{"[::ffff:192.0.2.1]:1234", "ip:192.0.2.1"},
		{"[2001:db8:1:2::a]:1", "ip:2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:1", "ip:2001:db8:1:2::/64"},
		{"[2001:db8:1:3::a]:1", "ip:2001:db8:1:3::/64"},
		{"[::1]:80", "ip:::/64"},
		{"pipe", "ip:pipe"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := clientKey(r); got != tt.want {
			t.Errorf("clientKey(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
	if got := userKey(strings.Repeat("A", 1000)); got != "user:"+strings.Repeat("a", 64) {
		t.Errorf("userKey not bounded and folded: %q", got)
	}
}

func TestSecureRequest(t *testing.T) {
	tests := []struct {
		host string
		tls  bool
		want bool
	}{
		{"example.com", false, false},
		{"192.168.1.20:8080", false, false},
		{"hotline.local", false, false},
		{"localhost:8080", false, true},
		{"LOCALHOST", false, true},
		{"admin.localhost", false, true},
		{"127.0.0.1:8080", false, true},
		{"127.1.2.3", false, true},
		{"[::1]:8080", false, true},
		{"192.168.1.20", true, true},
		{"localhost.evil.example", false, false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "http://"+tt.host+"/", nil)
		if tt.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if got := secureRequest(r); got != tt.want {
			t.Errorf("secureRequest(%s, tls=%v) = %v, want %v", tt.host, tt.tls, got, tt.want)
		}
	}
}
