package web

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"hotline/daemon/store"
)

// sessionCookie carries the login token; the store keeps only its hash.
const sessionCookie = "hotline_session"

// maxFormBytes bounds the body of every form post.
const maxFormBytes = 64 << 10

type ctxKey struct{}

func sessionFrom(ctx context.Context) *store.Session {
	s, _ := ctx.Value(ctxKey{}).(*store.Session)
	return s
}

// currentSession returns the request's valid session, or nil.
func (s *Server) currentSession(r *http.Request) *store.Session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	sess, err := s.store.Session(r.Context(), c.Value)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Error("look up session", "error", err)
		}
		return nil
	}
	return &sess
}

// mayView reports whether a role may read calls and voicemail and mark messages handled.
func mayView(role string) bool {
	return role == store.RoleOwner || role == store.RoleOperator
}

// mayChange reports whether a role may change how the box works: settings, users, flows,
// backups. Only the owner may.
func mayChange(role string) bool {
	return role == store.RoleOwner
}

// page wraps a handler of the logged-in pages: without a session it sends the visitor to the
// login form, with a role that allowed refuses (403), and a POST must carry the session's
// form token.
func (s *Server) page(allowed func(role string) bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.currentSession(r)
		if sess == nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess))
		if !allowed(sess.User.Role) {
			s.log.Warn("role refused", "path", r.URL.Path, "user", sess.User.Name, "role", sess.User.Role)
			s.renderError(w, r, http.StatusForbidden, "err_role")
			return
		}
		if r.Method == http.MethodPost && isUpload(r) {
			// An upload: streamed, its form token is the first part (see upload.go).
			var ok bool
			if r, ok = s.openUpload(w, r, sess); !ok {
				s.log.Warn("upload form token missing or wrong", "path", r.URL.Path, "remote", r.RemoteAddr)
				s.renderError(w, r, http.StatusForbidden, "err_forbidden")
				return
			}
		} else if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !validCSRF(sess, r.PostFormValue("csrf")) {
				s.log.Warn("form token missing or wrong", "path", r.URL.Path, "remote", r.RemoteAddr)
				s.renderError(w, r, http.StatusForbidden, "err_forbidden")
				return
			}
		}
		h(w, r)
	}
}

// api wraps a JSON handler: it answers 401 without a session and 403 for a role that allowed
// refuses.
func (s *Server) api(allowed func(role string) bool, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.currentSession(r)
		if sess == nil {
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "login required"})
			return
		}
		if !allowed(sess.User.Role) {
			writeJSON(w, http.StatusForbidden, apiError{Error: "not allowed for this account"})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess)))
	}
}

func validCSRF(sess *store.Session, got string) bool {
	return sess.CSRF != "" && subtle.ConstantTimeCompare([]byte(sess.CSRF), []byte(got)) == 1
}

// secureRequest reports whether a cookie may be marked Secure: the request came over TLS, or
// to a loopback host, which browsers treat as secure even over plain http.
func secureRequest(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startSession logs name in: a new session with a new token, whatever the browser had before.
// A session the request still carried is ended, so a token planted in the browser beforehand
// is never the one that becomes logged in (session fixation).
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, name string) error {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := s.store.DeleteSession(r.Context(), c.Value); err != nil {
			return fmt.Errorf("end the previous session: %w", err)
		}
	}
	token, err := s.store.CreateSession(r.Context(), name, sessionTTL)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	setSessionCookie(w, r, token)
	return nil
}

// setSessionCookie hands the browser its session token. The cookie lasts as long as a session
// can (the store ends it sooner when unused), is never readable by scripts, is sent only on
// requests from the box's own pages, and only over HTTPS when the box is reached over HTTPS
// (or on loopback, which browsers treat as secure).
func setSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", MaxAge: int(store.MaxSessionAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
}

func clearSessionCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(r),
	})
}

// clientKey names the client for rate limiting: its IPv4 address, or the /64 of an IPv6
// address, since one machine can pick any address in its /64.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	switch {
	case ip == nil:
		return "ip:" + host
	case ip.To4() != nil:
		return "ip:" + ip.To4().String()
	default:
		return "ip:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
}

// userKey names an account for rate limiting, bounded so a long name cannot bloat memory.
func userKey(name string) string {
	name = strings.ToLower(name)
	if len(name) > 64 {
		name = name[:64]
	}
	return "user:" + name
}

// tooMany renders the 429 answer with the wait rounded up to whole minutes.
func (s *Server) tooMany(w http.ResponseWriter, r *http.Request, v *view, page string, wait time.Duration) {
	mins := int((wait + time.Minute - 1) / time.Minute)
	v.Error = fmt.Sprintf(v.T["err_too_many"], max(mins, 1))
	w.Header().Set("Retry-After", fmt.Sprint(int(wait.Seconds()+0.999)))
	s.render(w, r, http.StatusTooManyRequests, page, v)
}

type setupPage struct {
	CodeFile string
}

func (s *Server) setupView(r *http.Request) *view {
	v := s.newView(r, "setup_title")
	v.Page = setupPage{CodeFile: filepath.Join(s.store.Dir(), "setup-code.txt")}
	return v
}

func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	has, err := s.store.HasOwner(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if has {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	// Make sure a code exists (and its file) even if the daemon has not asked for it yet.
	if _, err := s.store.SetupCode(r.Context()); err != nil {
		s.serverError(w, r, fmt.Errorf("setup code: %w", err))
		return
	}
	s.render(w, r, http.StatusOK, "setup.html", s.setupView(r))
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	has, err := s.store.HasOwner(ctx)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if has {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	v := s.setupView(r)
	keys := []string{clientKey(r)}
	if blocked, wait := s.limiter.blocked(keys...); blocked {
		s.tooMany(w, r, v, "setup.html", wait)
		return
	}
	code := strings.TrimSpace(r.PostForm.Get("code"))
	password := r.PostForm.Get("password")
	if password != r.PostForm.Get("password2") {
		v.Error = v.T["err_mismatch"]
		s.render(w, r, http.StatusBadRequest, "setup.html", v)
		return
	}
	switch err := s.store.ClaimOwner(ctx, code, password); {
	case err == nil:
	case errors.Is(err, store.ErrBadSetupCode):
		s.limiter.fail(keys...)
		s.log.Warn("wrong setup code", "remote", r.RemoteAddr)
		v.Error = v.T["err_setup_code"]
		s.render(w, r, http.StatusUnauthorized, "setup.html", v)
		return
	case errors.Is(err, store.ErrWeakPassword):
		v.Error = v.T["err_weak"]
		s.render(w, r, http.StatusBadRequest, "setup.html", v)
		return
	case errors.Is(err, store.ErrAlreadyClaimed):
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	default:
		s.serverError(w, r, fmt.Errorf("claim owner: %w", err))
		return
	}
	s.limiter.reset(keys...)
	s.log.Info("box claimed by its owner", "remote", r.RemoteAddr)
	if err := s.startSession(w, r, store.OwnerName); err != nil {
		s.serverError(w, r, err)
		return
	}
	next := "/calls"
	if s.needsWelcome(r) {
		next = "/welcome" // the first-run wizard (welcome.go)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

type loginPage struct {
	Username string
}

func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	has, err := s.store.HasOwner(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !has {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	if s.currentSession(r) != nil {
		http.Redirect(w, r, "/calls", http.StatusSeeOther)
		return
	}
	v := s.newView(r, "login_title")
	v.Page = loginPage{Username: store.OwnerName}
	s.render(w, r, http.StatusOK, "login.html", v)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("username"))
	password := r.PostForm.Get("password")
	v := s.newView(r, "login_title")
	v.Page = loginPage{Username: name}
	keys := []string{clientKey(r), userKey(name)}
	if blocked, wait := s.limiter.blocked(keys...); blocked {
		s.log.Warn("login refused: too many attempts", "user", name, "remote", r.RemoteAddr)
		s.tooMany(w, r, v, "login.html", wait)
		return
	}
	user, wait, err := s.checkPassword(ctx, name, password, keys)
	switch {
	case errors.Is(err, errTooMany):
		s.log.Warn("login refused: too many attempts", "user", name, "remote", r.RemoteAddr)
		s.tooMany(w, r, v, "login.html", wait)
		return
	case errors.Is(err, store.ErrBadLogin):
		s.limiter.fail(keys...)
		s.log.Warn("login failed", "user", name, "remote", r.RemoteAddr)
		v.Error = v.T["err_login"]
		s.render(w, r, http.StatusUnauthorized, "login.html", v)
		return
	case err != nil:
		s.serverError(w, r, fmt.Errorf("check password: %w", err))
		return
	}
	s.limiter.reset(keys...)
	if err := s.startSession(w, r, user.Name); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(ctx, user.Name, "login", r.RemoteAddr)
	http.Redirect(w, r, "/calls", http.StatusSeeOther)
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if sess := s.currentSession(r); sess != nil {
		if !validCSRF(sess, r.PostFormValue("csrf")) {
			s.renderError(w, r, http.StatusForbidden, "err_forbidden")
			return
		}
		// Logging out ends every session of the account, on every device: a login left open
		// on a shared or lost computer ends with it.
		if err := s.store.DeleteUserSessions(r.Context(), sess.User.Name, ""); err != nil {
			s.serverError(w, r, fmt.Errorf("end sessions: %w", err))
			return
		}
		s.audit(r.Context(), sess.User.Name, "logout", r.RemoteAddr+"; every session of the account ended")
	}
	clearSessionCookie(w, r)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// errTooMany means the rate limiter refused an attempt.
var errTooMany = errors.New("too many attempts")

// checkPassword runs the store's deliberately slow password check, at most
// maxPasswordChecks at a time, so a burst of logins cannot take all the box's CPU and memory.
// The limiter is asked again once the check has its slot: attempts that waited for one may be
// over the limit by then, and so at most maxPasswordChecks attempts are ever between the
// limiter's yes and their failure being counted. errTooMany comes with the wait.
func (s *Server) checkPassword(ctx context.Context, name, password string, keys []string) (store.User, time.Duration, error) {
	var u store.User
	var wait time.Duration
	err := s.withPasswordSlot(ctx, func() error {
		var blocked bool
		if blocked, wait = s.limiter.blocked(keys...); blocked {
			return errTooMany
		}
		var err error
		u, err = s.store.CheckPassword(ctx, name, password)
		return err
	})
	return u, wait, err
}

// withPasswordSlot runs fn, which hashes passwords, when one of the maxPasswordChecks slots
// is free.
func (s *Server) withPasswordSlot(ctx context.Context, fn func() error) error {
	select {
	case s.pwChecks <- struct{}{}:
		defer func() { <-s.pwChecks }()
	case <-ctx.Done():
		return ctx.Err()
	}
	return fn()
}

// audit writes to the audit log; a failure is logged, not shown to the user.
func (s *Server) audit(ctx context.Context, user, action, detail string) {
	if err := s.store.Audit(ctx, user, action, detail); err != nil {
		s.log.Error("write audit log", "action", action, "error", err)
	}
}
