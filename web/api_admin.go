package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"hotline/daemon"
	"hotline/daemon/store"
)

// settingsJSON is GET /api/settings: every setting of the settings page; the SMTP password is
// never sent back, only whether one is set.
type settingsJSON struct {
	Settings        map[string]string `json:"settings"`
	SMTPPasswordSet bool              `json:"smtp_password_set"`
}

func (s *Server) handleAPISettings(w http.ResponseWriter, r *http.Request) {
	out := settingsJSON{Settings: map[string]string{}}
	for _, f := range settingFields {
		v, err := s.store.Setting(r.Context(), f.key, f.def)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		out.Settings[f.key] = v
	}
	pw, err := s.store.Setting(r.Context(), daemon.SettingSMTPPassword, "")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out.SMTPPasswordSet = pw != ""
	writeJSON(w, http.StatusOK, out)
}

// handleAPISettingsPut changes settings from a JSON object of the keys GET returns (and
// "smtp_password", write only); keys left out keep their values. Nothing is saved when any
// value is wrong: the answer names each wrong key with what is wrong, in English.
func (s *Server) handleAPISettingsPut(w http.ResponseWriter, r *http.Request) {
	var body map[string]string
	if err := decodeJSONBody(w, r, &body); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	ctx := r.Context()
	in := map[string]string{}
	for _, f := range settingFields {
		v, err := s.store.Setting(ctx, f.key, f.def)
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		in[f.key] = v
	}
	newPassword, setPassword := body[daemon.SettingSMTPPassword]
	for k, v := range body {
		if _, known := in[k]; !known && k != daemon.SettingSMTPPassword {
			writeJSON(w, http.StatusBadRequest, apiError{Error: fmt.Sprintf("unknown setting %q", k)})
			return
		}
		if k == daemon.SettingMissedSMS {
			in[k] = cleanMultiline(v)
		} else if k != daemon.SettingSMTPPassword {
			in[k] = strings.TrimSpace(v)
		}
	}
	errs := validateSettings(messages[langEN], in)
	if len(newPassword) > 256 || strings.ContainsAny(newPassword, "\r\n\x00") {
		errs[daemon.SettingSMTPPassword] = messages[langEN]["err_smtp_password"]
	}
	if len(errs) > 0 {
		writeJSON(w, http.StatusBadRequest, struct {
			Error  string            `json:"error"`
			Fields map[string]string `json:"fields"`
		}{"some settings are wrong; nothing was saved", errs})
		return
	}
	var changed []string
	for _, f := range settingFields {
		old, _ := s.store.Setting(ctx, f.key, f.def)
		if old == in[f.key] {
			continue
		}
		if err := s.store.SetSetting(ctx, f.key, in[f.key]); err != nil {
			s.serverError(w, r, err)
			return
		}
		changed = append(changed, f.key)
	}
	if setPassword {
		if err := s.store.SetSetting(ctx, daemon.SettingSMTPPassword, newPassword); err != nil {
			s.serverError(w, r, err)
			return
		}
		changed = append(changed, daemon.SettingSMTPPassword)
	}
	if len(changed) > 0 {
		s.audit(ctx, sessionFrom(ctx).User.Name, "settings changed", strings.Join(changed, ", ")+" (API)")
	}
	s.handleAPISettings(w, r)
}

type userJSON struct {
	Name string `json:"name"`
	Role string `json:"role"`
}

func (s *Server) handleAPIUsers(w http.ResponseWriter, r *http.Request) {
	users, err := s.store.ListUsers(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		Users []userJSON `json:"users"`
	}{Users: []userJSON{}}
	for _, u := range users {
		out.Users = append(out.Users, userJSON{Name: u.Name, Role: u.Role})
	}
	writeJSON(w, http.StatusOK, out)
}

// handleAPIUserAdd adds an operator login: {"name": ..., "password": ...}.
func (s *Server) handleAPIUserAdd(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSONBody(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	ctx := r.Context()
	if !store.ValidUserName(in.Name) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: messages[langEN]["err_user_name"]})
		return
	}
	if _, err := s.store.User(ctx, in.Name); err == nil {
		writeJSON(w, http.StatusConflict, apiError{Error: messages[langEN]["err_user_exists"]})
		return
	} else if !errors.Is(err, store.ErrNotFound) {
		s.serverError(w, r, err)
		return
	}
	err := s.withPasswordSlot(ctx, func() error { return s.store.SetPassword(ctx, in.Name, in.Password, store.RoleOperator) })
	if errors.Is(err, store.ErrWeakPassword) {
		writeJSON(w, http.StatusBadRequest, apiError{Error: messages[langEN]["err_weak"]})
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("add operator %q: %w", in.Name, err))
		return
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "user added", fmt.Sprintf("operator %q (API)", in.Name))
	writeJSON(w, http.StatusCreated, userJSON{Name: in.Name, Role: store.RoleOperator})
}

// handleAPIUserDelete removes an operator login and its sessions; the owner is not removed.
func (s *Server) handleAPIUserDelete(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u, err := s.store.User(ctx, r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such user"})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if u.Role != store.RoleOperator {
		writeJSON(w, http.StatusForbidden, apiError{Error: "only operator logins are removed here"})
		return
	}
	if err := s.store.DeleteUser(ctx, u.Name); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(ctx, sessionFrom(ctx).User.Name, "user removed", fmt.Sprintf("operator %q (API)", u.Name))
	w.WriteHeader(http.StatusNoContent)
}
