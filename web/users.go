package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"hotline/daemon/store"
)

type usersPage struct {
	CSS   string
	Users []userRow
	Name  string // the add form's name, sent back after a mistake
}

type userRow struct {
	Name, Role  string
	Since       string
	IsOperator  bool
	IsMe        bool
	PasswordURL string
	DeleteURL   string
	Anchor      string
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "users_title")
	switch r.URL.Query().Get("done") {
	case "added":
		v.Notice = v.T["users_added"]
	case "password":
		v.Notice = v.T["users_pw_reset"]
	case "deleted":
		v.Notice = v.T["users_deleted"]
	}
	s.renderUsers(w, r, v, http.StatusOK, "")
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, v *view, status int, name string) {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Nav = "users"
	me := sessionFrom(r.Context()).User.Name
	p := usersPage{CSS: s.assets.url("admin.css"), Name: name}
	for i, u := range users {
		base := "/users/" + url.PathEscape(u.Name)
		p.Users = append(p.Users, userRow{
			Name:        cleanDisplay(u.Name),
			Role:        wordOr(v.T, "role_"+u.Role, u.Role),
			Since:       formatTime(v.Lang, u.CreatedAt, s.loc),
			IsOperator:  u.Role == store.RoleOperator,
			IsMe:        u.Name == me,
			PasswordURL: base + "/password",
			DeleteURL:   base + "/delete",
			Anchor:      fmt.Sprintf("user-%d", i),
		})
	}
	v.Page = p
	s.render(w, r, status, "users.html", v)
}

// handleAddUser adds an operator login. A name in use is refused: SetPassword would otherwise
// take over that account.
func (s *Server) handleAddUser(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := r.PostFormValue("name")
	pw, pw2 := r.PostFormValue("password"), r.PostFormValue("password2")
	v := s.newView(r, "users_title")
	fail := func(key string) {
		v.Error = v.T[key]
		s.renderUsers(w, r, v, http.StatusBadRequest, cleanDisplay(name))
	}
	switch {
	case !store.ValidUserName(name):
		fail("err_user_name")
		return
	case pw != pw2:
		fail("err_mismatch")
		return
	}
	if _, err := s.store.User(ctx, name); err == nil {
		fail("err_user_exists")
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	err := s.withPasswordSlot(ctx, func() error { return s.store.SetPassword(ctx, name, pw, store.RoleOperator) })
	if errors.Is(err, store.ErrWeakPassword) {
		fail("err_weak")
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("add operator %q: %w", name, err))
		return
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "user added", fmt.Sprintf("operator %q", name))
	http.Redirect(w, r, "/users?done=added", http.StatusSeeOther)
}

// operatorByPath returns the operator named in the path; owners are not changed here (an
// owner changes their own password on /password).
func (s *Server) operatorByPath(w http.ResponseWriter, r *http.Request) (store.User, bool) {
	u, err := s.store.User(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		s.handleNotFound(w, r)
		return store.User{}, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return store.User{}, false
	}
	if u.Role != store.RoleOperator {
		s.renderError(w, r, http.StatusForbidden, "err_not_operator")
		return store.User{}, false
	}
	return u, true
}

// handleUserPassword sets a new password for an operator; their sessions end.
func (s *Server) handleUserPassword(w http.ResponseWriter, r *http.Request) {
	u, ok := s.operatorByPath(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	pw := r.PostFormValue("password")
	v := s.newView(r, "users_title")
	err := s.withPasswordSlot(ctx, func() error { return s.store.SetPassword(ctx, u.Name, pw, u.Role) })
	if errors.Is(err, store.ErrWeakPassword) {
		v.Error = v.T["err_weak"]
		s.renderUsers(w, r, v, http.StatusBadRequest, "")
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("reset password of %q: %w", u.Name, err))
		return
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "password reset", fmt.Sprintf("operator %q; their sessions ended", u.Name))
	http.Redirect(w, r, "/users?done=password", http.StatusSeeOther)
}

// handleDeleteUser removes an operator login and its sessions.
func (s *Server) handleDeleteUser(w http.ResponseWriter, r *http.Request) {
	u, ok := s.operatorByPath(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	if err := s.store.DeleteUser(ctx, u.Name); err != nil {
		s.serverError(w, r, fmt.Errorf("delete user %q: %w", u.Name, err))
		return
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "user removed", fmt.Sprintf("operator %q", u.Name))
	http.Redirect(w, r, "/users?done=deleted", http.StatusSeeOther)
}
