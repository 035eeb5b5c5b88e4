package web

import (
	"errors"
	"fmt"
	"net/http"

	"hotline/daemon/store"
)

// handlePasswordForm shows the form where a logged-in user changes their own password.
func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "pw_title")
	v.Nav = "password"
	if r.URL.Query().Get("changed") == "1" {
		v.Notice = v.T["pw_changed"]
	}
	s.render(w, r, http.StatusOK, "password.html", v)
}

// handlePassword changes the logged-in user's password: the current one must be right (wrong
// guesses count against the same limits as logins), the new one typed twice. On success every
// other session of the user ends and this browser gets a new session token.
func (s *Server) handlePassword(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sess := sessionFrom(ctx)
	v := s.newView(r, "pw_title")
	v.Nav = "password"
	keys := []string{clientKey(r), userKey(sess.User.Name)}
	if blocked, wait := s.limiter.blocked(keys...); blocked {
		s.log.Warn("password change refused: too many attempts", "user", sess.User.Name, "remote", r.RemoteAddr)
		s.tooMany(w, r, v, "password.html", wait)
		return
	}
	current := r.PostForm.Get("current")
	next := r.PostForm.Get("password")
	if next != r.PostForm.Get("password2") {
		v.Error = v.T["err_mismatch"]
		s.render(w, r, http.StatusBadRequest, "password.html", v)
		return
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	var token string
	err = s.withPasswordSlot(ctx, func() error {
		var err error
		token, err = s.store.ChangePassword(ctx, c.Value, current, next, "from "+r.RemoteAddr)
		return err
	})
	switch {
	case err == nil:
	case errors.Is(err, store.ErrBadLogin):
		s.limiter.fail(keys...)
		s.log.Warn("password change: wrong current password", "user", sess.User.Name, "remote", r.RemoteAddr)
		v.Error = v.T["err_current"]
		s.render(w, r, http.StatusUnauthorized, "password.html", v)
		return
	case errors.Is(err, store.ErrWeakPassword):
		v.Error = v.T["err_weak"]
		s.render(w, r, http.StatusBadRequest, "password.html", v)
		return
	case errors.Is(err, store.ErrNotFound):
		// The session ended meanwhile (logged out elsewhere, or the password changed there).
		clearSessionCookie(w, r)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	default:
		s.serverError(w, r, fmt.Errorf("change password: %w", err))
		return
	}
	s.limiter.reset(keys...)
	s.log.Info("password changed", "user", sess.User.Name, "remote", r.RemoteAddr)
	setSessionCookie(w, r, token)
	http.Redirect(w, r, "/password?changed=1", http.StatusSeeOther)
}
