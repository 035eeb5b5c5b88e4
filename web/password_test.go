package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
)

// sessionOf opens a session for user name as the login form would, and returns its cookie
// and form token.
func (f *fixture) sessionOf(name string) (*http.Cookie, string) {
	f.t.Helper()
	ctx := context.Background()
	token, err := f.st.CreateSession(ctx, name, sessionTTL)
	if err != nil {
		f.t.Fatalf("create session: %v", err)
	}
	sess, err := f.st.Session(ctx, token)
	if err != nil {
		f.t.Fatalf("session: %v", err)
	}
	return &http.Cookie{Name: sessionCookie, Value: token}, sess.CSRF
}

func TestChangePassword(t *testing.T) {
	const newPassword = "a new and longer password"
	for _, role := range []string{store.RoleOwner, store.RoleOperator} {
		t.Run(role, func(t *testing.T) {
			f := newOwnedFixture(t, nil)
			ctx := context.Background()
			name, pw := store.OwnerName, testPassword
			if role == store.RoleOperator {
				name, pw = "anna", "operator password"
				if err := f.st.SetPassword(ctx, name, pw, role); err != nil {
					t.Fatal(err)
				}
			}
			here, csrf := f.sessionOf(name)
			phone, _ := f.sessionOf(name)
			other := "anna"
			if name == "anna" {
				other = store.OwnerName
			} else if err := f.st.SetPassword(ctx, other, "operator password", store.RoleOperator); err != nil {
				t.Fatal(err)
			}
			otherCookie, _ := f.sessionOf(other)
			en := map[string]string{"Accept-Language": "en"}

			w := f.do(req{path: "/password", cookies: []*http.Cookie{here}, header: en})
			if w.Code != http.StatusOK {
				t.Fatalf("GET /password: %d", w.Code)
			}
			for _, want := range []string{`name="current"`, `name="password"`, `name="password2"`, `value="` + csrf + `"`, `id="password-link"`} {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("password page lacks %s", want)
				}
			}

			refusals := []struct {
				name               string
				csrf, cur, pw, pw2 string
				status             int
				msg                string
			}{
				{"wrong form token", "wrong", pw, newPassword, newPassword, http.StatusForbidden, "err_forbidden"},
				{"new passwords differ", csrf, pw, newPassword, newPassword + "x", http.StatusBadRequest, "err_mismatch"},
				{"wrong current password", csrf, pw + "x", newPassword, newPassword, http.StatusUnauthorized, "err_current"},
				{"weak new password", csrf, pw, "short", "short", http.StatusBadRequest, "err_weak"},
			}
			for i, tt := range refusals {
				t.Run(tt.name, func(t *testing.T) {
					w := f.do(req{method: "POST", path: "/password", cookies: []*http.Cookie{here}, header: en,
						remote: fmt.Sprintf("192.0.2.%d:1", 50+i),
						form:   url.Values{"csrf": {tt.csrf}, "current": {tt.cur}, "password": {tt.pw}, "password2": {tt.pw2}}})
					if w.Code != tt.status {
						t.Fatalf("status %d, want %d\n%s", w.Code, tt.status, w.Body)
					}
					if want := messages[langEN][tt.msg]; !strings.Contains(w.Body.String(), htmlEscaped(want)) {
						t.Errorf("body lacks %q", want)
					}
					if sessionCookieFrom(t, w) != nil {
						t.Errorf("a refused change set a cookie")
					}
					if _, err := f.st.CheckPassword(ctx, name, pw); err != nil {
						t.Errorf("a refused change changed the password: %v", err)
					}
					for _, c := range []*http.Cookie{here, phone} {
						if w := f.do(req{path: "/calls", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
							t.Errorf("a refused change ended a session: %d", w.Code)
						}
					}
				})
			}

			w = f.do(req{method: "POST", path: "/password", cookies: []*http.Cookie{here}, header: en,
				form: url.Values{"csrf": {csrf}, "current": {pw}, "password": {newPassword}, "password2": {newPassword}}})
			if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/password?changed=1" {
				t.Fatalf("change: %d to %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
			}
			c := sessionCookieFrom(t, w)
			if c == nil || c.Value == "" || c.Value == here.Value || c.Value == phone.Value || !c.HttpOnly ||
				c.SameSite != http.SameSiteStrictMode || c.MaxAge != int(store.MaxSessionAge/time.Second) {
				t.Fatalf("cookie after the change %+v: want a new token, HttpOnly, SameSite=Strict", c)
			}
			w = f.do(req{path: "/password?changed=1", cookies: []*http.Cookie{c}, header: en})
			if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), htmlEscaped(messages[langEN]["pw_changed"])) {
				t.Errorf("after the change: %d, want the notice\n%s", w.Code, w.Body)
			}
			for label, old := range map[string]*http.Cookie{"this browser's old token": here, "the other device": phone} {
				if w := f.do(req{path: "/calls", cookies: []*http.Cookie{old}}); w.Code != http.StatusSeeOther {
					t.Errorf("%s still logged in: %d", label, w.Code)
				}
			}
			if w := f.do(req{path: "/calls", cookies: []*http.Cookie{otherCookie}}); w.Code != http.StatusOK {
				t.Errorf("another user's session ended: %d", w.Code)
			}
			if _, err := f.st.CheckPassword(ctx, name, pw); !errors.Is(err, store.ErrBadLogin) {
				t.Errorf("old password still works: %v", err)
			}
			u, err := f.st.CheckPassword(ctx, name, newPassword)
			if err != nil || u.Role != role {
				t.Errorf("new password: %+v, %v; want role %s", u, err, role)
			}
			entries, err := f.st.ListAudit(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, e := range entries {
				if e.User == name && e.Action == "password changed" {
					found = true
				}
				if strings.Contains(e.Detail, newPassword) || strings.Contains(e.Detail, pw) {
					t.Errorf("a password in the audit log: %+v", e)
				}
			}
			if !found {
				t.Errorf("no audit entry for the change: %+v", entries)
			}
		})
	}
}

func TestChangePasswordRateLimited(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.sessionOf(store.OwnerName)
	change := func(current string) int {
		return f.do(req{method: "POST", path: "/password", cookies: []*http.Cookie{cookie}, remote: "198.51.100.7:1",
			form: url.Values{"csrf": {csrf}, "current": {current}, "password": {"new password!"}, "password2": {"new password!"}}}).Code
	}
	for i := range maxFailures {
		if code := change("guess " + fmt.Sprint(i)); code != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, code)
		}
	}
	if code := change(testPassword); code != http.StatusTooManyRequests {
		t.Fatalf("right password after %d guesses: %d, want 429", maxFailures, code)
	}
	// The guesses count against the account for logins too.
	w := f.do(req{method: "POST", path: "/login", remote: "203.0.113.80:1",
		form: url.Values{"username": {store.OwnerName}, "password": {testPassword}}})
	if w.Code != http.StatusTooManyRequests {
		t.Errorf("login after the guesses: %d, want 429", w.Code)
	}
	f.advance(failureWindow)
	if code := change(testPassword); code != http.StatusSeeOther {
		t.Errorf("after the window: %d, want 303", code)
	}
}

// TestLoginRotatesSession: logging in never keeps the token the browser brought along, and
// ends the session it belonged to.
func TestLoginRotatesSession(t *testing.T) {
	f := newOwnedFixture(t, nil)
	old, _ := f.sessionOf(store.OwnerName)
	w := f.do(req{method: "POST", path: "/login", cookies: []*http.Cookie{old},
		form: url.Values{"username": {store.OwnerName}, "password": {testPassword}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("login: %d", w.Code)
	}
	c := sessionCookieFrom(t, w)
	if c == nil || c.Value == old.Value {
		t.Fatalf("login kept the old token: %+v", c)
	}
	if c.MaxAge != int(store.MaxSessionAge/time.Second) {
		t.Errorf("cookie Max-Age %d, want %d", c.MaxAge, int(store.MaxSessionAge/time.Second))
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{old}}); w.Code != http.StatusSeeOther {
		t.Errorf("the session from before the login still works: %d", w.Code)
	}
	if w := f.do(req{path: "/calls", cookies: []*http.Cookie{c}}); w.Code != http.StatusOK {
		t.Errorf("the new session does not work: %d", w.Code)
	}
	// A made-up token in the cookie does not stop the login.
	w = f.do(req{method: "POST", path: "/login", cookies: []*http.Cookie{{Name: sessionCookie, Value: "planted-by-someone"}},
		form: url.Values{"username": {store.OwnerName}, "password": {testPassword}}})
	if c := sessionCookieFrom(t, w); w.Code != http.StatusSeeOther || c == nil || c.Value == "planted-by-someone" {
		t.Errorf("login with a planted token: %d, cookie %+v", w.Code, c)
	}
}
