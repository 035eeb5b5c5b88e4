package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"os"
	"strconv"
	"time"

	"hotline/daemon/store"
)

// voicemailListed is how many messages the voicemail page and API list at most.
const voicemailListed = 200

type voicemailPage struct {
	ShowAll  bool
	Show     string // "all" or "new", sent back by the forms
	Messages []voicemailRow
	Missed   []missedRow    // missed and abandoned calls still to call back (inbox.go)
	Trash    []voicemailRow // deleted messages, recoverable for a week (owner only)
	CanCall  bool           // the box can call back from the admin
	IsOwner  bool           // may delete and restore
}

type voicemailRow struct {
	ID            int64
	Anchor        string
	Number        string
	TelURL        template.URL
	Line          string
	Time, TimeISO string
	Duration      string
	Complete      bool
	Handled       bool
	HandledBy     string
	HandledAt     string
	AudioURL      string
	DownloadURL   string
	MarkValue     string // what the button sets: "1" (handled) or "0" (new again)
	MarkURL       string
	CallbackURL   string // "" when the number is hidden
	DeleteURL     string
	RestoreURL    string
	DeletedAt     string // in the trash: when it was deleted
}

// voicemailJSON is a message in the API.
type voicemailJSON struct {
	ID              int64      `json:"id"`
	CallID          int64      `json:"call_id"`
	Line            string     `json:"line"`
	Number          string     `json:"number"`
	DisplayNumber   string     `json:"display_number"`
	CreatedAt       time.Time  `json:"created_at"`
	DurationSeconds float64    `json:"duration_seconds"`
	Complete        bool       `json:"complete"`
	Handled         bool       `json:"handled"`
	HandledAt       *time.Time `json:"handled_at"`
	HandledBy       string     `json:"handled_by"`
	AudioURL        string     `json:"audio_url"`
}

type voicemailListJSON struct {
	Voicemail []voicemailJSON `json:"voicemail"`
}

func audioURL(id int64) string { return "/voicemail/" + strconv.FormatInt(id, 10) + "/audio" }

// showAll reads the list toggle: ?show=all lists every message, anything else only new ones.
func showAll(r *http.Request) bool { return r.URL.Query().Get("show") == "all" }

func (s *Server) handleVoicemail(w http.ResponseWriter, r *http.Request) {
	all := showAll(r)
	list, err := s.store.LiveVoicemail(r.Context(), !all, voicemailListed)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "vm_title")
	v.Nav = "voicemail"
	switch r.URL.Query().Get("ok") {
	case "handled":
		v.Notice = v.T["vm_marked"]
	case "new":
		v.Notice = v.T["vm_unmarked"]
	default:
		inboxNotice(v, r)
	}
	p := voicemailPage{ShowAll: all, Show: "new", CanCall: s.callbacks != nil}
	p.IsOwner = v.User != nil && mayChange(v.User.Role)
	if all {
		p.Show = "all"
	}
	for _, m := range list {
		id := strconv.FormatInt(m.ID, 10)
		row := voicemailRow{
			ID:          m.ID,
			Anchor:      "vm-" + id,
			Number:      displayNumber(m.RawNumber, m.Number),
			TelURL:      telURL(m.Number),
			Line:        cleanDisplay(m.LineID),
			Time:        formatTime(v.Lang, m.CreatedAt, s.loc),
			TimeISO:     m.CreatedAt.In(s.loc).Format(time.RFC3339),
			Duration:    formatDuration(m.Duration),
			Complete:    m.Complete,
			Handled:     m.Handled,
			HandledBy:   cleanDisplay(m.HandledBy),
			HandledAt:   formatTime(v.Lang, m.HandledAt, s.loc),
			AudioURL:    audioURL(m.ID),
			DownloadURL: audioURL(m.ID) + "?download=1",
			MarkValue:   "1",
			MarkURL:     "/voicemail/" + id + "/handled",
		}
		if m.Handled {
			row.MarkValue = "0"
		}
		if m.Number != "" {
			row.CallbackURL = "/voicemail/" + id + "/callback"
		}
		row.DeleteURL = "/voicemail/" + id + "/delete"
		p.Messages = append(p.Messages, row)
	}
	if err := s.fillInbox(r.Context(), v, &p); err != nil {
		s.serverError(w, r, err)
		return
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "voicemail.html", v)
}

func (s *Server) handleAPIVoicemail(w http.ResponseWriter, r *http.Request) {
	list, err := s.store.LiveVoicemail(r.Context(), !showAll(r), voicemailListed)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := voicemailListJSON{Voicemail: make([]voicemailJSON, 0, len(list))}
	for _, m := range list {
		out.Voicemail = append(out.Voicemail, voicemailJSON{
			ID:              m.ID,
			CallID:          m.CallID,
			Line:            m.LineID,
			Number:          m.Number,
			DisplayNumber:   displayNumber(m.RawNumber, m.Number),
			CreatedAt:       m.CreatedAt.In(s.loc),
			DurationSeconds: seconds(m.Duration),
			Complete:        m.Complete,
			Handled:         m.Handled,
			HandledAt:       optTime(m.HandledAt, s.loc),
			HandledBy:       m.HandledBy,
			AudioURL:        audioURL(m.ID),
		})
	}
	writeJSON(w, http.StatusOK, out)
}

// voicemailByPath loads the message named by the {id} in the path; ok is false after it has
// answered 404 or 500.
func (s *Server) voicemailByPath(w http.ResponseWriter, r *http.Request) (store.Voicemail, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.handleNotFound(w, r)
		return store.Voicemail{}, false
	}
	m, err := s.store.Voicemail(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.handleNotFound(w, r)
		return store.Voicemail{}, false
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("voicemail %d: %w", id, err))
		return store.Voicemail{}, false
	}
	return m, true
}

// handleAudio serves a message's WAV file, with Range support so players can seek.
func (s *Server) handleAudio(w http.ResponseWriter, r *http.Request) {
	m, ok := s.voicemailByPath(w, r)
	if !ok {
		return
	}
	path, err := s.store.VoicemailPath(m)
	if err != nil {
		s.log.Warn("voicemail file refused", "id", m.ID, "error", err)
		s.handleNotFound(w, r)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			s.log.Warn("voicemail file missing", "id", m.ID, "path", path)
			s.handleNotFound(w, r)
			return
		}
		s.serverError(w, r, fmt.Errorf("open voicemail %d: %w", m.ID, err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.serverError(w, r, fmt.Errorf("stat voicemail %d: %w", m.ID, err))
		return
	}
	if !fi.Mode().IsRegular() {
		s.log.Warn("voicemail path is not a file", "id", m.ID, "path", path)
		s.handleNotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "private, no-cache")
	if r.URL.Query().Get("download") == "1" {
		name := voicemailFileName(m, s.loc)
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// handleMarkHandled marks a message handled (handled=1) or new again (handled=0).
func (s *Server) handleMarkHandled(w http.ResponseWriter, r *http.Request) {
	var handled bool
	switch r.PostFormValue("handled") {
	case "1":
		handled = true
	case "0":
	default:
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	m, ok := s.voicemailByPath(w, r)
	if !ok {
		return
	}
	user := sessionFrom(r.Context()).User.Name
	if err := s.store.SetVoicemailHandled(r.Context(), m.ID, handled, user); err != nil {
		s.serverError(w, r, fmt.Errorf("mark voicemail %d: %w", m.ID, err))
		return
	}
	action, ok2 := "voicemail_handled", "handled"
	if !handled {
		action, ok2 = "voicemail_new", "new"
	}
	s.audit(r.Context(), user, action, "voicemail "+strconv.FormatInt(m.ID, 10))
	back := "/voicemail?ok=" + ok2
	if r.PostFormValue("show") == "all" {
		back += "&show=all"
	}
	http.Redirect(w, r, back+"#vm-"+strconv.FormatInt(m.ID, 10), http.StatusSeeOther)
}
