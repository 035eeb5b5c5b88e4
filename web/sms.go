package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"hotline/daemon/store"
)

// SMSSender sends an SMS on a line and logs it; the daemon implements it.
type SMSSender interface {
	SendSMS(ctx context.Context, lineID, to, text string) error
}

const (
	// smsPerPage is how many messages the inbox shows.
	smsPerPage = 100
	// maxReplyRunes bounds a reply typed in the admin (ten UCS2 parts).
	maxReplyRunes = 670
	// smsSendTimeout bounds sending a reply from the admin.
	smsSendTimeout = 90 * time.Second
)

type smsPage struct {
	Messages  []smsRow
	CanReply  bool
	LastLine  string // line of the newest incoming message, for the new-message form
	MaxLength int
}

type smsRow struct {
	ID            int64
	Incoming      bool
	Time, TimeISO string
	Number        string // display form
	TelURL        template.URL
	ReplyTo       string // the sanitised number replies go to; "" when it cannot be answered
	Line          string
	Text          string // cleaned; shown with CSS white-space: pre-wrap
	Parts         int
	Missing       int
	Handled       bool
	Status        string
}

// smsJSON is a message in the API.
type smsJSON struct {
	ID            int64      `json:"id"`
	Line          string     `json:"line"`
	Direction     string     `json:"direction"`
	Number        string     `json:"number"`
	DisplayNumber string     `json:"display_number"`
	Text          string     `json:"text"`
	Parts         int        `json:"parts"`
	MissingParts  int        `json:"missing_parts"`
	SentAt        *time.Time `json:"sent_at"`
	ReceivedAt    time.Time  `json:"received_at"`
	Handled       bool       `json:"handled"`
	HandledBy     string     `json:"handled_by"`
	Status        string     `json:"status"`
}

func (s *Server) handleSMS(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.ListSMS(r.Context(), smsPerPage)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "sms_title")
	v.Nav = "sms"
	switch r.URL.Query().Get("ok") {
	case "sent":
		v.Notice = v.T["sms_sent"]
	case "handled":
		v.Notice = v.T["sms_marked"]
	case "new":
		v.Notice = v.T["sms_unmarked"]
	}
	switch r.URL.Query().Get("err") {
	case "send":
		v.Error = v.T["sms_send_failed"]
	case "input":
		v.Error = v.T["sms_bad_input"]
	}
	p := smsPage{CanReply: s.sms != nil, MaxLength: maxReplyRunes}
	for _, m := range list {
		row := smsRow{
			ID:       m.ID,
			Incoming: m.Direction == store.SMSIn,
			Time:     formatTime(v.Lang, m.ReceivedAt, s.loc),
			TimeISO:  m.ReceivedAt.In(s.loc).Format(time.RFC3339),
			Number:   displayNumber(m.RawNumber, m.Number),
			TelURL:   telURL(m.Number),
			Line:     cleanDisplay(m.LineID),
			Text:     store.CleanSMSText(m.Text),
			Parts:    m.Parts,
			Missing:  m.MissingParts,
			Handled:  m.Handled(),
			Status:   smsStatusText(v.T, m.Status),
		}
		if telURL(m.Number) != "" {
			row.ReplyTo = m.Number
		}
		if row.Incoming && p.LastLine == "" {
			p.LastLine = row.Line
		}
		p.Messages = append(p.Messages, row)
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "sms.html", v)
}

// smsStatusText words an outgoing message's status.
func smsStatusText(t map[string]string, status string) string {
	if status == "" {
		return ""
	}
	if txt, ok := t["sms_status_"+status]; ok {
		return txt
	}
	return cleanDisplay(status)
}

func (s *Server) handleSMSHandled(w http.ResponseWriter, r *http.Request) {
	var handled bool
	switch r.PostFormValue("handled") {
	case "1":
		handled = true
	case "0":
	default:
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.handleNotFound(w, r)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	if err := s.store.SetSMSHandled(r.Context(), id, handled, user); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			s.handleNotFound(w, r)
			return
		}
		s.serverError(w, r, fmt.Errorf("mark SMS %d: %w", id, err))
		return
	}
	action, ok := "sms_handled", "handled"
	if !handled {
		action, ok = "sms_new", "new"
	}
	s.audit(r.Context(), user, action, "sms "+strconv.FormatInt(id, 10))
	http.Redirect(w, r, "/sms?ok="+ok+"#sms-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

func (s *Server) handleSMSReply(w http.ResponseWriter, r *http.Request) {
	if s.sms == nil {
		s.renderError(w, r, http.StatusServiceUnavailable, "sms_disabled")
		return
	}
	to := strings.TrimSpace(r.PostFormValue("to"))
	line := strings.TrimSpace(r.PostFormValue("line"))
	text := store.CleanSMSText(r.PostFormValue("text"))
	if to == "" || line == "" || text == "" || utf8.RuneCountInString(text) > maxReplyRunes ||
		len(to) > 40 || len(line) > 64 {
		http.Redirect(w, r, "/sms?err=input", http.StatusSeeOther)
		return
	}
	user := sessionFrom(r.Context()).User.Name
	ctx, cancel := context.WithTimeout(r.Context(), smsSendTimeout)
	defer cancel()
	if err := s.sms.SendSMS(ctx, line, to, text); err != nil {
		s.log.Warn("SMS reply not sent", "line", line, "err", err)
		s.audit(r.Context(), user, "sms_send_failed", "to "+cleanDisplay(to))
		http.Redirect(w, r, "/sms?err=send", http.StatusSeeOther)
		return
	}
	s.audit(r.Context(), user, "sms_sent", "to "+cleanDisplay(to))
	http.Redirect(w, r, "/sms?ok=sent", http.StatusSeeOther)
}

func (s *Server) handleAPISMS(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	list, err := s.store.ListSMS(r.Context(), limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := struct {
		SMS []smsJSON `json:"sms"`
	}{SMS: make([]smsJSON, 0, len(list))}
	for _, m := range list {
		out.SMS = append(out.SMS, smsJSON{
			ID:            m.ID,
			Line:          m.LineID,
			Direction:     m.Direction,
			Number:        m.Number,
			DisplayNumber: displayNumber(m.RawNumber, m.Number),
			Text:          store.CleanSMSText(m.Text),
			Parts:         m.Parts,
			MissingParts:  m.MissingParts,
			SentAt:        optTime(m.SentAt, s.loc),
			ReceivedAt:    m.ReceivedAt.In(s.loc),
			Handled:       m.Handled(),
			HandledBy:     m.HandledBy,
			Status:        m.Status,
		})
	}
	writeJSON(w, http.StatusOK, out)
}
