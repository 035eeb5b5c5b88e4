package web

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"rsc.io/qr"

	"hotline/daemon/store"
	"hotline/voice/sip"
)

// SIPStatus tells where operators' phones register and which are registered now;
// (*daemon.Hotline) implements it.
type SIPStatus interface {
	SIPRegistrations() []sip.Registration
	SIPAddr() string // host:port, "" when SIP is off
}

type operatorsPage struct {
	CSS       string
	Rows      []operatorRow
	SIPServer string // host:port phones use; "" when SIP is off
	Form      operatorForm
}

type operatorForm struct {
	Name, Mobile, SIPUser string
}

type operatorRow struct {
	ID          int64
	Name        string
	Mobile      string
	TelURL      template.URL
	SIPUser     string
	SIPPassword string
	Available   bool
	Record      bool
	Phone       string // registration state in words
	Registered  bool
	QRURL       string
	Account     string
	Hours       opHoursForm // the operator's own working hours (ophours.go)
}

// sipAccountHost is the host:port a phone should use: the SIP server's address, with the host
// the browser reached the admin on when the server listens on every address.
func (s *Server) sipAccountHost(r *http.Request) string {
	if s.sip == nil {
		return ""
	}
	addr := s.sip.SIPAddr()
	if addr == "" {
		return ""
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		h := r.Host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		host = strings.Trim(h, "[]")
	}
	return net.JoinHostPort(host, port)
}

// sipAccountText is what the QR code of an operator's phone holds: a SIP URI with the
// password, "sip:user:password@host:port" (RFC 3261 section 19.1.1 has user:password in the
// userinfo of a SIP URI). Softphones agree on no common QR format for an account — the ones
// that scan codes read their vendor's own provisioning formats (Acrobits "csc:user:pass@CLOUDID",
// SessionTalk "scloc:{json}", Zoiper and Linphone a provisioning URL), each tied to the
// vendor's cloud — so the box shows the plain URI: any phone's camera or QR app reads it, and
// the operator copies the three values it holds into the softphone's account form.
func sipAccountText(user, password, hostport string) string {
	return "sip:" + sipEscape(user) + ":" + sipEscape(password) + "@" + hostport
}

// sipEscape percent-encodes everything but the unreserved characters of RFC 3261.
func sipEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// newSIPPassword makes a phone password: 16 characters of base32, 80 random bits.
func newSIPPassword() string {
	return rand.Text()[:16]
}

func (s *Server) registrations() map[string]sip.Registration {
	out := map[string]sip.Registration{}
	if s.sip == nil {
		return out
	}
	for _, reg := range s.sip.SIPRegistrations() {
		if old, ok := out[reg.User]; !ok || reg.Expires.After(old.Expires) {
			out[reg.User] = reg
		}
	}
	return out
}

func (s *Server) handleOperators(w http.ResponseWriter, r *http.Request) {
	s.renderOperators(w, r, s.newView(r, "ops_title"), http.StatusOK, 0, nil)
}

// renderOperators shows the operators page; hours, when not nil, replaces the hours form of
// operator draftID (after a refused save).
func (s *Server) renderOperators(w http.ResponseWriter, r *http.Request, v *view, status int, draftID int64, hours *opHoursForm) {
	ops, err := s.store.Operators(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Nav = "operators"
	tz := s.boxZone(r.Context())
	q := r.URL.Query()
	if k := q.Get("ok"); k == "added" || k == "updated" || k == "deleted" {
		v.Notice = v.T["ops_"+k]
	}
	if k := q.Get("err"); k == "name" || k == "exists" || k == "invalid" || k == "in_flow" {
		v.Error = v.T["ops_err_"+k]
	}
	p := operatorsPage{CSS: s.assets.url("flows.css"), SIPServer: s.sipAccountHost(r)}
	regs := s.registrations()
	for _, o := range ops {
		row := operatorRow{
			ID: o.ID, Name: cleanDisplay(o.Name), Mobile: cleanDisplay(o.Mobile), TelURL: telURL(o.Mobile),
			SIPUser: o.SIPUser, SIPPassword: o.SIPPassword, Available: o.Available, Record: o.Record,
			Hours: opHoursToForm(v.T, o.Hours, tz),
		}
		if hours != nil && o.ID == draftID {
			row.Hours = *hours
		}
		switch reg, ok := regs[o.SIPUser]; {
		case o.SIPUser == "":
			row.Phone = v.T["ops_no_phone"]
		case ok:
			row.Registered = true
			row.Phone = fmt.Sprintf(v.T["ops_registered"], formatTime(v.Lang, reg.Expires, s.loc))
			if ua := cleanDisplay(reg.UserAgent); ua != "" {
				row.Phone += " · " + ua
			}
		default:
			row.Phone = v.T["ops_not_registered"]
		}
		if o.SIPUser != "" && p.SIPServer != "" {
			row.QRURL = "/operators/" + strconv.FormatInt(o.ID, 10) + "/qr.png"
			row.Account = sipAccountText(o.SIPUser, o.SIPPassword, p.SIPServer)
		}
		p.Rows = append(p.Rows, row)
	}
	v.Page = p
	s.render(w, r, status, "operators.html", v)
}

// operatorFromForm reads the add and edit forms into o.
func operatorFromForm(r *http.Request, o *store.Operator) {
	o.Name = strings.TrimSpace(r.PostFormValue("name"))
	o.Mobile = strings.TrimSpace(r.PostFormValue("mobile"))
	user := strings.TrimSpace(r.PostFormValue("sip_user"))
	if user != o.SIPUser || user != "" && (o.SIPPassword == "" || r.PostFormValue("new_password") == "1") {
		o.SIPPassword = newSIPPassword()
	}
	if user == "" {
		o.SIPPassword = ""
	}
	o.SIPUser = user
	o.Record = r.PostFormValue("record") == "1"
}

// operatorErr maps a store error to the page's error word.
func operatorErr(err error) string {
	if errors.Is(err, store.ErrExists) {
		return "exists"
	}
	return "invalid"
}

func (s *Server) handleOperatorAdd(w http.ResponseWriter, r *http.Request) {
	var o store.Operator
	operatorFromForm(r, &o)
	o.Available = true
	if o.Name == "" {
		http.Redirect(w, r, "/operators?err=name", http.StatusSeeOther)
		return
	}
	if _, err := s.store.AddOperator(r.Context(), o); err != nil {
		s.log.Info("operator not added", "err", err)
		http.Redirect(w, r, "/operators?err="+operatorErr(err), http.StatusSeeOther)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_added", cleanDisplay(o.Name))
	http.Redirect(w, r, "/operators?ok=added", http.StatusSeeOther)
}

// opByPath finds the operator of {id}.
func (s *Server) opByPath(ctx context.Context, r *http.Request) (store.Operator, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return store.Operator{}, store.ErrNotFound
	}
	ops, err := s.store.Operators(ctx)
	if err != nil {
		return store.Operator{}, err
	}
	i := slices.IndexFunc(ops, func(o store.Operator) bool { return o.ID == id })
	if i < 0 {
		return store.Operator{}, store.ErrNotFound
	}
	return ops[i], nil
}

// withOperator runs fn on the operator of {id}, or answers 404 or 500.
func (s *Server) withOperator(w http.ResponseWriter, r *http.Request, fn func(o store.Operator)) {
	o, err := s.opByPath(r.Context(), r)
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.handleNotFound(w, r)
	case err != nil:
		s.serverError(w, r, err)
	default:
		fn(o)
	}
}

func (s *Server) handleOperatorEdit(w http.ResponseWriter, r *http.Request) {
	s.withOperator(w, r, func(o store.Operator) {
		oldName := o.Name
		operatorFromForm(r, &o)
		if o.Name == "" {
			http.Redirect(w, r, "/operators?err=name", http.StatusSeeOther)
			return
		}
		if o.Name != oldName && s.flowNames(r.Context(), oldName) {
			http.Redirect(w, r, "/operators?err=in_flow", http.StatusSeeOther)
			return
		}
		if err := s.store.UpdateOperator(r.Context(), o); err != nil {
			s.log.Info("operator not changed", "err", err)
			http.Redirect(w, r, "/operators?err="+operatorErr(err), http.StatusSeeOther)
			return
		}
		s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_changed", cleanDisplay(o.Name))
		http.Redirect(w, r, "/operators?ok=updated#op-"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
	})
}

func (s *Server) handleOperatorAvailable(w http.ResponseWriter, r *http.Request) {
	s.withOperator(w, r, func(o store.Operator) {
		on := r.PostFormValue("available") == "1"
		if err := s.store.SetOperatorAvailable(r.Context(), o.Name, on); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_available", fmt.Sprintf("%s %v", cleanDisplay(o.Name), on))
		http.Redirect(w, r, "/operators#op-"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
	})
}

// flowNames tells whether the current flow rings the operator name by name: removing or
// renaming them would break the next save.
func (s *Server) flowNames(ctx context.Context, name string) bool {
	f, _, err := s.currentFlow(ctx, langRU)
	if err != nil {
		return false
	}
	for _, n := range f.Nodes {
		if slices.Contains(n.Operators, name) {
			return true
		}
	}
	return false
}

func (s *Server) handleOperatorDelete(w http.ResponseWriter, r *http.Request) {
	s.withOperator(w, r, func(o store.Operator) {
		if s.flowNames(r.Context(), o.Name) {
			http.Redirect(w, r, "/operators?err=in_flow", http.StatusSeeOther)
			return
		}
		if err := s.store.DeleteOperator(r.Context(), o.Name); err != nil {
			s.serverError(w, r, err)
			return
		}
		s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_deleted", cleanDisplay(o.Name))
		http.Redirect(w, r, "/operators?ok=deleted", http.StatusSeeOther)
	})
}

func (s *Server) handleOperatorQR(w http.ResponseWriter, r *http.Request) {
	s.withOperator(w, r, func(o store.Operator) {
		host := s.sipAccountHost(r)
		if o.SIPUser == "" || host == "" {
			s.handleNotFound(w, r)
			return
		}
		code, err := qr.Encode(sipAccountText(o.SIPUser, o.SIPPassword, host), qr.M)
		if err != nil {
			s.serverError(w, r, fmt.Errorf("QR code: %w", err))
			return
		}
		code.Scale = 6
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("Cache-Control", "no-store") // it holds a password
		_, _ = w.Write(code.PNG())
	})
}

// operatorJSON is an operator in the API.
type operatorJSON struct {
	ID           int64      `json:"id"`
	Name         string     `json:"name"`
	Mobile       string     `json:"mobile"`
	SIPUser      string     `json:"sip_user"`
	SIPPassword  string     `json:"sip_password"`
	Available    bool       `json:"available"`
	Record       bool       `json:"record"`
	Registered   bool       `json:"registered"`
	RegExpires   *time.Time `json:"registered_until"`
	UserAgent    string     `json:"user_agent,omitempty"`
	SIPAccount   string     `json:"sip_account,omitempty"`
	LastCalledAt *time.Time `json:"last_called_at"`
	Hours        any        `json:"hours"` // the operator's own working hours; null: always
}

func (s *Server) operatorJSON(r *http.Request, o store.Operator, regs map[string]sip.Registration) operatorJSON {
	out := operatorJSON{ID: o.ID, Name: o.Name, Mobile: o.Mobile, SIPUser: o.SIPUser, SIPPassword: o.SIPPassword,
		Available: o.Available, Record: o.Record, LastCalledAt: optTime(o.LastCalled, s.loc)}
	if sch := opHoursOut(o.Hours); sch != nil {
		out.Hours = sch
	}
	if reg, ok := regs[o.SIPUser]; ok && o.SIPUser != "" {
		out.Registered, out.RegExpires, out.UserAgent = true, optTime(reg.Expires, s.loc), reg.UserAgent
	}
	if host := s.sipAccountHost(r); host != "" && o.SIPUser != "" {
		out.SIPAccount = sipAccountText(o.SIPUser, o.SIPPassword, host)
	}
	return out
}

func (s *Server) handleAPIOperators(w http.ResponseWriter, r *http.Request) {
	ops, err := s.store.Operators(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	regs := s.registrations()
	out := struct {
		SIPServer string         `json:"sip_server"`
		Operators []operatorJSON `json:"operators"`
	}{SIPServer: s.sipAccountHost(r), Operators: make([]operatorJSON, 0, len(ops))}
	for _, o := range ops {
		out.Operators = append(out.Operators, s.operatorJSON(r, o, regs))
	}
	writeJSON(w, http.StatusOK, out)
}

// operatorIn is the body of POST /api/operators and PUT /api/operators/{id}; a field left out
// keeps its value (PUT) or its default (POST).
type operatorIn struct {
	Name        *string `json:"name"`
	Mobile      *string `json:"mobile"`
	SIPUser     *string `json:"sip_user"`
	SIPPassword *string `json:"sip_password"` // "" or left out on POST: the box makes one up
	Available   *bool   `json:"available"`
	Record      *bool   `json:"record"`
	// Hours are the operator's own working hours: a schedule as in the flow, null for always;
	// left out keeps them.
	Hours json.RawMessage `json:"hours"`
}

func (in operatorIn) apply(o *store.Operator) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&o.Name, in.Name)
	set(&o.Mobile, in.Mobile)
	set(&o.SIPUser, in.SIPUser)
	if in.SIPPassword != nil {
		o.SIPPassword = *in.SIPPassword
	}
	if o.SIPUser != "" && o.SIPPassword == "" {
		o.SIPPassword = newSIPPassword()
	}
	if o.SIPUser == "" {
		o.SIPPassword = ""
	}
	if in.Available != nil {
		o.Available = *in.Available
	}
	if in.Record != nil {
		o.Record = *in.Record
	}
}

func (s *Server) writeOperatorErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrExists):
		writeJSON(w, http.StatusConflict, apiError{Error: "the name or SIP user is taken"})
	case errors.Is(err, store.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such operator"})
	case strings.HasPrefix(err.Error(), "store: add operator: ") || strings.HasPrefix(err.Error(), "store: update operator: "):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
	default:
		s.serverError(w, r, err)
	}
}

func (s *Server) handleAPIOperatorAdd(w http.ResponseWriter, r *http.Request) {
	var in operatorIn
	if err := decodeJSONBody(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	o := store.Operator{Available: true}
	in.apply(&o)
	hours, err := opHoursJSON(in.Hours)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	o.Hours = hours
	id, err := s.store.AddOperator(r.Context(), o)
	if err != nil {
		s.writeOperatorErr(w, r, err)
		return
	}
	o.ID = id
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_added", cleanDisplay(o.Name))
	writeJSON(w, http.StatusCreated, s.operatorJSON(r, o, s.registrations()))
}

func (s *Server) handleAPIOperatorPut(w http.ResponseWriter, r *http.Request) {
	o, err := s.opByPath(r.Context(), r)
	if err != nil {
		s.writeOperatorErr(w, r, err)
		return
	}
	var in operatorIn
	if err := decodeJSONBody(w, r, &in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
		return
	}
	oldName := o.Name
	in.apply(&o)
	if in.Hours != nil {
		if o.Hours, err = opHoursJSON(in.Hours); err != nil {
			writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
			return
		}
	}
	if o.Name != oldName && s.flowNames(r.Context(), oldName) {
		writeJSON(w, http.StatusConflict, apiError{Error: "the call flow rings this operator by name; take them out of it first"})
		return
	}
	if err := s.store.UpdateOperator(r.Context(), o); err != nil {
		s.writeOperatorErr(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_changed", cleanDisplay(o.Name))
	writeJSON(w, http.StatusOK, s.operatorJSON(r, o, s.registrations()))
}

func (s *Server) handleAPIOperatorDelete(w http.ResponseWriter, r *http.Request) {
	o, err := s.opByPath(r.Context(), r)
	if err != nil {
		s.writeOperatorErr(w, r, err)
		return
	}
	if s.flowNames(r.Context(), o.Name) {
		writeJSON(w, http.StatusConflict, apiError{Error: "the call flow rings this operator by name; take them out of it first"})
		return
	}
	if err := s.store.DeleteOperator(r.Context(), o.Name); err != nil {
		s.writeOperatorErr(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "operator_deleted", cleanDisplay(o.Name))
	w.WriteHeader(http.StatusNoContent)
}
