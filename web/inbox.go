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

	"hotline/daemon/store"
)

// The inbox around the voicemail page: calling a caller back, deleting a message for a week
// (store.TrashVoicemail) and the missed calls that still wait for a call back.

// missedListed is how many missed calls the inbox lists at most (each outcome).
const missedListed = 100

type missedRow struct {
	ID            int64
	Anchor        string
	Number        string
	TelURL        template.URL
	Line          string
	Time, TimeISO string
	Outcome       string
	CallbackURL   string // "" when the number is hidden
	HandledURL    string
}

// voicemailFileName is the download name of a message: when it came and from whom, e.g.
// "voicemail-20260301-1200-79161234567.wav".
func voicemailFileName(m store.Voicemail, loc *time.Location) string {
	name := "voicemail-" + m.CreatedAt.In(loc).Format("20060102-1504")
	if d := strings.TrimPrefix(m.Number, "+"); d != "" && strings.Trim(d, "0123456789") == "" {
		name += "-" + d
	} else {
		name += "-" + strconv.FormatInt(m.ID, 10)
	}
	return name + ".wav"
}

// inboxNotice sets the page's notice or error from the ?ok= and ?err= of an inbox action.
func inboxNotice(v *view, r *http.Request) {
	q := r.URL.Query()
	switch q.Get("ok") {
	case "calling":
		v.Notice = v.T["inb_calling"]
	case "queued":
		v.Notice = v.T["inb_queued"]
	case "deleted":
		v.Notice = v.T["inb_deleted"]
	case "restored":
		v.Notice = v.T["inb_restored"]
	case "missed":
		v.Notice = v.T["inb_missed_done"]
	}
	switch q.Get("err") {
	case "busy":
		v.Error = v.T["cb_busy"]
	case "nonumber":
		v.Error = v.T["inb_nonumber"]
	}
}

// fillInbox adds the missed calls, and for the owner the trash, to the voicemail page.
func (s *Server) fillInbox(ctx context.Context, v *view, p *voicemailPage) error {
	for _, outcome := range []string{store.OutcomeMissed, store.OutcomeAbandoned} {
		calls, err := s.store.SearchCalls(ctx, store.LogFilter{Outcome: outcome, Status: store.StatusNew, Limit: missedListed})
		if err != nil {
			return fmt.Errorf("missed calls: %w", err)
		}
		for _, c := range calls {
			id := strconv.FormatInt(c.ID, 10)
			row := missedRow{
				ID: c.ID, Anchor: "call-" + id,
				Number:     displayNumber(c.RawNumber, c.Number),
				TelURL:     telURL(c.Number),
				Line:       cleanDisplay(c.LineID),
				Time:       formatTime(v.Lang, c.StartedAt, s.loc),
				TimeISO:    c.StartedAt.In(s.loc).Format(time.RFC3339),
				Outcome:    v.T["out_"+outcome],
				HandledURL: "/missed/" + id + "/handled",
			}
			if c.Number != "" {
				row.CallbackURL = "/missed/" + id + "/callback"
			}
			p.Missed = append(p.Missed, row)
		}
	}
	if !p.IsOwner {
		return nil
	}
	trashed, err := s.store.TrashedVoicemail(ctx)
	if err != nil {
		return err
	}
	for id, at := range trashed {
		m, err := s.store.Voicemail(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		sid := strconv.FormatInt(id, 10)
		p.Trash = append(p.Trash, voicemailRow{
			ID: id, Anchor: "trash-" + sid,
			Number:     displayNumber(m.RawNumber, m.Number),
			Time:       formatTime(v.Lang, m.CreatedAt, s.loc),
			TimeISO:    m.CreatedAt.In(s.loc).Format(time.RFC3339),
			Duration:   formatDuration(m.Duration),
			DeletedAt:  formatTime(v.Lang, at, s.loc),
			RestoreURL: "/voicemail/" + sid + "/restore",
		})
	}
	// Newest first, as the messages.
	for i := 1; i < len(p.Trash); i++ {
		for j := i; j > 0 && p.Trash[j].ID > p.Trash[j-1].ID; j-- {
			p.Trash[j], p.Trash[j-1] = p.Trash[j-1], p.Trash[j]
		}
	}
	return nil
}

// callBack makes (or finds) the open callback request for a caller and calls them back in
// the background like the callbacks page does. It answers an HTTP status and a word for the
// page's redirect: "calling", "queued" (the request is saved but this box cannot call from
// the admin), "nonumber", "busy", "closed", "internal".
func (s *Server) callBack(r *http.Request, callID int64, rawNumber, number, user string) (int, string) {
	if number == "" {
		return http.StatusUnprocessableEntity, "nonumber"
	}
	cbID, err := s.store.AddCallback(r.Context(), callID, rawNumber)
	if err != nil {
		s.log.Error("add callback", "call", callID, "error", err)
		return http.StatusInternalServerError, "internal"
	}
	s.audit(r.Context(), user, "callback_request", "call "+strconv.FormatInt(callID, 10))
	if s.callbacks == nil {
		return http.StatusAccepted, "queued"
	}
	return s.startCallback(r, cbID, user)
}

// inboxBack is where an inbox form returns: the voicemail page with the same list shown.
func inboxBack(r *http.Request, query string) string {
	back := "/voicemail?" + query
	if r.PostFormValue("show") == "all" {
		back += "&show=all"
	}
	return back
}

func (s *Server) redirectInbox(w http.ResponseWriter, r *http.Request, status int, word string) {
	switch {
	case status == http.StatusNotFound:
		s.handleNotFound(w, r)
	case status == http.StatusInternalServerError:
		s.renderError(w, r, status, "err_internal")
	case status < 300:
		http.Redirect(w, r, inboxBack(r, "ok="+word), http.StatusSeeOther)
	default:
		http.Redirect(w, r, inboxBack(r, "err="+word), http.StatusSeeOther)
	}
}

func (s *Server) handleVoicemailCallback(w http.ResponseWriter, r *http.Request) {
	m, ok := s.voicemailByPath(w, r)
	if !ok {
		return
	}
	status, word := s.callBack(r, m.CallID, m.RawNumber, m.Number, sessionFrom(r.Context()).User.Name)
	s.redirectInbox(w, r, status, word)
}

func (s *Server) handleVoicemailDelete(w http.ResponseWriter, r *http.Request) {
	m, ok := s.voicemailByPath(w, r)
	if !ok {
		return
	}
	user := sessionFrom(r.Context()).User.Name
	if err := s.store.TrashVoicemail(r.Context(), m.ID); err != nil {
		s.serverError(w, r, fmt.Errorf("delete voicemail %d: %w", m.ID, err))
		return
	}
	s.audit(r.Context(), user, "voicemail_delete", "voicemail "+strconv.FormatInt(m.ID, 10))
	s.redirectInbox(w, r, http.StatusOK, "deleted")
}

func (s *Server) handleVoicemailRestore(w http.ResponseWriter, r *http.Request) {
	m, ok := s.voicemailByPath(w, r)
	if !ok {
		return
	}
	err := s.store.RestoreVoicemail(r.Context(), m.ID)
	if errors.Is(err, store.ErrNotFound) {
		s.handleNotFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("restore voicemail %d: %w", m.ID, err))
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "voicemail_restore", "voicemail "+strconv.FormatInt(m.ID, 10))
	s.redirectInbox(w, r, http.StatusOK, "restored")
}

func (s *Server) handleMissedCallback(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	status, word := s.callBack(r, c.ID, c.RawNumber, c.Number, sessionFrom(r.Context()).User.Name)
	s.redirectInbox(w, r, status, word)
}

func (s *Server) handleMissedHandled(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	if err := s.store.SetCallStatus(r.Context(), c.ID, store.StatusDone); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "call_done", "call "+strconv.FormatInt(c.ID, 10))
	s.redirectInbox(w, r, http.StatusOK, "missed")
}

// apiVoicemailByPath is voicemailByPath for the API: JSON errors.
func (s *Server) apiVoicemailByPath(w http.ResponseWriter, r *http.Request) (store.Voicemail, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeJSON(w, http.StatusNotFound, apiError{Error: "not found"})
		return store.Voicemail{}, false
	}
	m, err := s.store.Voicemail(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "no such message"})
		return store.Voicemail{}, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return store.Voicemail{}, false
	}
	return m, true
}

func (s *Server) handleAPIVoicemailCallback(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apiVoicemailByPath(w, r)
	if !ok {
		return
	}
	status, word := s.callBack(r, m.CallID, m.RawNumber, m.Number, sessionFrom(r.Context()).User.Name)
	if status < 300 {
		writeJSON(w, status, struct {
			ID      int64 `json:"id"`
			Calling bool  `json:"calling"`
		}{m.ID, word == "calling"})
		return
	}
	msgs := map[string]string{
		"nonumber": "the caller's number is hidden",
		"internal": "internal error",
		"closed":   "the request is not open",
		"busy":     "a callback to this caller is under way",
		"notfound": "no such callback request",
	}
	writeJSON(w, status, apiError{Error: msgs[word]})
}

func (s *Server) handleAPIVoicemailDelete(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apiVoicemailByPath(w, r)
	if !ok {
		return
	}
	if err := s.store.TrashVoicemail(r.Context(), m.ID); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "voicemail_delete", "voicemail "+strconv.FormatInt(m.ID, 10))
	writeJSON(w, http.StatusOK, struct {
		ID      int64 `json:"id"`
		Deleted bool  `json:"deleted"`
	}{m.ID, true})
}

func (s *Server) handleAPIVoicemailRestore(w http.ResponseWriter, r *http.Request) {
	m, ok := s.apiVoicemailByPath(w, r)
	if !ok {
		return
	}
	err := s.store.RestoreVoicemail(r.Context(), m.ID)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, apiError{Error: "the message is not deleted"})
		return
	}
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "voicemail_restore", "voicemail "+strconv.FormatInt(m.ID, 10))
	writeJSON(w, http.StatusOK, struct {
		ID      int64 `json:"id"`
		Deleted bool  `json:"deleted"`
	}{m.ID, false})
}
