package web

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"hotline/daemon/store"
)

// maxHistory is how many calls of the same number a call's page lists.
const maxHistory = 50

// csvFlushRows is how many CSV rows are written between flushes to the client.
const csvFlushRows = 200

// csvWriteTime is how long a CSV export may take to reach the client, past WriteTimeout.
const csvWriteTime = 15 * time.Minute

// logOutcomes are the outcomes the log can be filtered by, in the order the filter lists them.
var logOutcomes = []string{
	store.OutcomeAnswered, store.OutcomeMissed, store.OutcomeVoicemail, store.OutcomeCallback,
	store.OutcomeAbandoned, store.OutcomeCompleted, store.OutcomeFailed, store.OutcomeInProgress,
}

// callStatuses are the owner's handling states of a call, with their message keys.
var callStatuses = []struct{ value, key string }{
	{store.StatusNew, "status_new"},
	{store.StatusInProgress, "status_in_progress"},
	{store.StatusDone, "status_done"},
}

// option is one choice of a <select>.
type option struct {
	Value, Label string
	Selected     bool
}

// logQuery is the call log's filter as the form sends it; only valid values are kept.
type logQuery struct {
	From, To string // dates, 2006-01-02; To is included
	Line     string
	Outcome  string
	Status   string
	Number   string // what the owner typed, cleaned
	Before   int64
}

// parseLogQuery reads the filter from the query string. A malformed date or an unknown outcome
// or status is not ok: the form never sends them.
func parseLogQuery(r *http.Request, loc *time.Location) (logQuery, bool) {
	v := r.URL.Query()
	q := logQuery{
		From:    strings.TrimSpace(v.Get("from")),
		To:      strings.TrimSpace(v.Get("to")),
		Line:    cleanDisplay(v.Get("line")),
		Outcome: v.Get("outcome"),
		Status:  v.Get("status"),
		Number:  cleanDisplay(v.Get("number")),
	}
	if n := []rune(q.Number); len(n) > 32 {
		// A cut right after a space leaves it at the end: trimmed, so that the links the page
		// makes carry the number the page shows (found by FuzzLogQuery).
		q.Number = strings.TrimSpace(string(n[:32]))
	}
	q.Before, _ = strconv.ParseInt(v.Get("before"), 10, 64)
	q.Before = max(q.Before, 0)
	for _, d := range []string{q.From, q.To} {
		if _, err := time.ParseInLocation(time.DateOnly, d, loc); d != "" && err != nil {
			return logQuery{}, false
		}
	}
	if q.Outcome != "" && !containsString(logOutcomes, q.Outcome) {
		return logQuery{}, false
	}
	if q.Status != "" && q.Status != store.StatusNew && q.Status != store.StatusInProgress && q.Status != store.StatusDone {
		return logQuery{}, false
	}
	return q, true
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// filter is the store's form of the query; dates are days in loc, To included.
func (q logQuery) filter(loc *time.Location, limit int) store.LogFilter {
	f := store.LogFilter{LineID: q.Line, Outcome: q.Outcome, Status: q.Status, Number: q.Number, BeforeID: q.Before, Limit: limit}
	if t, err := time.ParseInLocation(time.DateOnly, q.From, loc); err == nil {
		f.From = t
	}
	if t, err := time.ParseInLocation(time.DateOnly, q.To, loc); err == nil {
		f.To = t.AddDate(0, 0, 1)
	}
	return f
}

// values is the query without the paging.
func (q logQuery) values() url.Values {
	v := url.Values{}
	for k, s := range map[string]string{"from": q.From, "to": q.To, "line": q.Line, "outcome": q.Outcome, "status": q.Status, "number": q.Number} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v
}

// url is path with the filter and, when before is not 0, the paging.
func (q logQuery) url(path string, before int64) string {
	v := q.values()
	if before > 0 {
		v.Set("before", strconv.FormatInt(before, 10))
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// logFilter is the store's filter for q. A number typed whole in the national way
// ("8 916 123-45-67") is searched as its international form, which the log's number index
// finds at once; anything else is searched as digits anywhere in the number.
func (s *Server) logFilter(ctx context.Context, q logQuery, limit int) store.LogFilter {
	f := q.filter(s.loc, limit)
	n := strings.TrimSpace(f.Number)
	if n == "" || strings.HasPrefix(n, "+") || len(n) < 10 {
		return f
	}
	region, err := s.store.Setting(ctx, settingRegion, defaultRegion)
	if err != nil {
		s.log.Warn("read region", "error", err)
		return f
	}
	if num, err := phonenumbers.Parse(n, region); err == nil && phonenumbers.IsValidNumber(num) {
		f.Number = phonenumbers.Format(num, phonenumbers.E164)
	}
	return f
}

// searchCalls reads one page of the filtered log and the id to continue from (0 at the end).
func (s *Server) searchCalls(r *http.Request, q logQuery, limit int) ([]store.Call, int64, error) {
	calls, err := s.store.SearchCalls(r.Context(), s.logFilter(r.Context(), q, limit+1))
	if err != nil {
		return nil, 0, err
	}
	var next int64
	if len(calls) > limit {
		calls = calls[:limit]
		next = calls[len(calls)-1].ID
	}
	return calls, next, nil
}

// statusText says a handling status in plain words.
func statusText(T map[string]string, status string) string {
	for _, st := range callStatuses {
		if st.value == status {
			return T[st.key]
		}
	}
	return cleanDisplay(status)
}

// row is how a call shows in a list.
func (s *Server) row(v *view, c store.Call) callRow {
	row := callRow{
		ID:           c.ID,
		URL:          "/calls/" + strconv.FormatInt(c.ID, 10),
		Time:         formatTime(v.Lang, c.StartedAt, s.loc),
		TimeISO:      c.StartedAt.In(s.loc).Format(time.RFC3339),
		Number:       displayNumber(c.RawNumber, c.Number),
		TelURL:       telURL(c.Number),
		Line:         cleanDisplay(c.LineID),
		Menu:         menuText(c.MenuPath),
		Outcome:      outcomeText(v.Lang, c.Outcome),
		OutcomeClass: outcomeClass(c.Outcome),
		Status:       statusText(v.T, c.Status),
		StatusClass:  "st-" + strings.ReplaceAll(c.Status, "_", "-"),
		HasNote:      c.Note != "",
	}
	if d := c.Duration(); d > 0 {
		row.Duration = formatDuration(d)
	}
	if c.VoicemailID != 0 {
		row.VoicemailURL = "/voicemail?show=all#vm-" + strconv.FormatInt(c.VoicemailID, 10)
	}
	return row
}

func (s *Server) handleCalls(w http.ResponseWriter, r *http.Request) {
	q, ok := parseLogQuery(r, s.loc)
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	calls, next, err := s.searchCalls(r, q, callsPerPage)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	lines, err := s.store.CallLines(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "calls_title")
	v.Nav = "calls"
	p := callsPage{CSS: s.assets.url("admin.css"), Filter: q, CSVURL: q.url("/calls.csv", 0), Filtered: len(q.values()) > 0}
	for _, l := range lines {
		p.Lines = append(p.Lines, cleanDisplay(l))
	}
	for _, o := range logOutcomes {
		p.Outcomes = append(p.Outcomes, option{Value: o, Label: outcomeText(v.Lang, o), Selected: o == q.Outcome})
	}
	for _, st := range callStatuses {
		p.Statuses = append(p.Statuses, option{Value: st.value, Label: v.T[st.key], Selected: st.value == q.Status})
	}
	if next != 0 {
		p.OlderURL = q.url("/calls", next)
	}
	if q.Before != 0 {
		p.NewerURL = q.url("/calls", 0)
	}
	for _, c := range calls {
		p.Calls = append(p.Calls, s.row(v, c))
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "calls.html", v)
}

// callPage is one call with everything known of it.
type callPage struct {
	CSS          string
	Row          callRow
	Ended        string
	Answered     string
	AnsweredBy   string
	Wait, Talk   string
	Survey       int
	Nodes        string
	Digits       string
	Language     string
	EndReason    string
	SMSSent      bool
	RecordingURL string
	Note         string
	Statuses     []option
	ActionURL    string
	History      []callRow
	HistoryURL   string // the log filtered to this number; "" when it is hidden
}

// callByPath returns the call named by the {id} of the path, or answers 404.
func (s *Server) callByPath(w http.ResponseWriter, r *http.Request) (store.Call, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.handleNotFound(w, r)
		return store.Call{}, false
	}
	c, err := s.store.Call(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		s.handleNotFound(w, r)
		return store.Call{}, false
	}
	if err != nil {
		s.serverError(w, r, err)
		return store.Call{}, false
	}
	return c, true
}

func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	history, err := s.store.CallerHistory(r.Context(), c.Number, maxHistory+1)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "call_title")
	v.Nav = "calls"
	switch r.URL.Query().Get("saved") {
	case "note":
		v.Notice = v.T["call_note_saved"]
	case "status":
		v.Notice = v.T["call_status_saved"]
	}
	p := callPage{
		CSS:        s.assets.url("admin.css"),
		Row:        s.row(v, c),
		Ended:      formatTime(v.Lang, c.EndedAt, s.loc),
		Answered:   formatTime(v.Lang, c.AnsweredAt, s.loc),
		AnsweredBy: cleanDisplay(c.AnsweredBy),
		Survey:     c.Survey,
		Nodes:      strings.ReplaceAll(cleanDisplay(c.Nodes), ",", " → "),
		Digits:     cleanDisplay(c.Digits),
		Language:   cleanDisplay(c.Language),
		EndReason:  cleanDisplay(c.EndReason),
		SMSSent:    c.SMSSent,
		Note:       c.Note,
		ActionURL:  "/calls/" + strconv.FormatInt(c.ID, 10),
	}
	if c.QueueWait > 0 {
		p.Wait = formatDuration(c.QueueWait)
	}
	if c.Talk > 0 {
		p.Talk = formatDuration(c.Talk)
	}
	if c.Recording != "" {
		p.RecordingURL = p.ActionURL + "/recording"
	}
	for _, st := range callStatuses {
		p.Statuses = append(p.Statuses, option{Value: st.value, Label: v.T[st.key], Selected: st.value == c.Status})
	}
	if c.Number != "" {
		p.HistoryURL = logQuery{Number: c.Number}.url("/calls", 0)
	}
	for _, h := range history {
		if h.ID != c.ID && len(p.History) < maxHistory {
			p.History = append(p.History, s.row(v, h))
		}
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "call.html", v)
}

// auditNote writes to the audit log who set the note of call id, with the note's beginning.
func (s *Server) auditNote(r *http.Request, id int64) {
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "call_note",
		fmt.Sprintf("call %d: %s", id, truncateRunes(cleanDisplay(r.PostFormValue("note")), 80)))
}

// handleCallNote stores the note of a call.
func (s *Server) handleCallNote(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	if err := s.store.SetCallNote(r.Context(), c.ID, r.PostFormValue("note")); err != nil {
		s.serverError(w, r, fmt.Errorf("save note of call %d: %w", c.ID, err))
		return
	}
	s.auditNote(r, c.ID)
	http.Redirect(w, r, "/calls/"+strconv.FormatInt(c.ID, 10)+"?saved=note", http.StatusSeeOther)
}

// handleCallStatus sets the handling status of a call: new, in progress or done.
func (s *Server) handleCallStatus(w http.ResponseWriter, r *http.Request) {
	status := r.PostFormValue("status")
	if status != store.StatusNew && status != store.StatusInProgress && status != store.StatusDone {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	if err := s.store.SetCallStatus(r.Context(), c.ID, status); err != nil {
		s.serverError(w, r, fmt.Errorf("set status of call %d: %w", c.ID, err))
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "call_status", fmt.Sprintf("call %d: %s", c.ID, status))
	back := "/calls/" + strconv.FormatInt(c.ID, 10) + "?saved=status"
	if r.PostFormValue("back") == "log" {
		back = "/calls#call-" + strconv.FormatInt(c.ID, 10)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// handleCallRecording plays the recording of a call's conversation, with Range support.
func (s *Server) handleCallRecording(w http.ResponseWriter, r *http.Request) {
	c, ok := s.callByPath(w, r)
	if !ok {
		return
	}
	path, err := s.store.RecordingPath(c)
	if err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.log.Warn("recording refused", "call", c.ID, "error", err)
		}
		s.handleNotFound(w, r)
		return
	}
	name := fmt.Sprintf("call-%d-%s.wav", c.ID, c.StartedAt.In(s.loc).Format("20060102-1504"))
	s.serveWAV(w, r, path, name)
}

// serveWAV sends a WAV file with Range support; download=1 in the query saves it as name.
func (s *Server) serveWAV(w http.ResponseWriter, r *http.Request, path, name string) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Warn("audio file missing", "path", path)
		s.handleNotFound(w, r)
		return
	}
	if err != nil {
		s.serverError(w, r, fmt.Errorf("open audio: %w", err))
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		s.serverError(w, r, fmt.Errorf("stat audio: %w", err))
		return
	}
	if !fi.Mode().IsRegular() {
		s.handleNotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "audio/wav")
	h.Set("Cache-Control", "private, no-cache")
	if r.URL.Query().Get("download") == "1" {
		h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	}
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a cell that starts with
// = + - @, a tab or a carriage return gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// csvColumns are the export's columns by message key.
var csvColumns = []string{
	"csv_id", "csv_started", "csv_line", "csv_number", "csv_outcome", "csv_status", "csv_answered_by",
	"csv_wait", "csv_talk", "csv_duration", "csv_menu", "csv_nodes", "csv_survey", "csv_voicemail",
	"csv_recording", "csv_note", "csv_end_reason",
}

// handleCallsCSV streams the filtered log as CSV: UTF-8 with a byte order mark (so a
// spreadsheet reads Cyrillic right), rows written as they are read, newest first.
func (s *Server) handleCallsCSV(w http.ResponseWriter, r *http.Request) {
	q, ok := parseLogQuery(r, s.loc)
	if !ok {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	q.Before = 0
	T := messages[pickLang(r)]
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Now().Add(csvWriteTime)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		s.log.Warn("extend write deadline for CSV", "error", err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="calls-`+s.clock().In(s.loc).Format("20060102-1504")+`.csv"`)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	rec := make([]string, len(csvColumns))
	for i, k := range csvColumns {
		rec[i] = T[k]
	}
	_ = cw.Write(rec)
	n := 0
	err := s.store.EachCall(r.Context(), s.logFilter(r.Context(), q, 0), func(c store.Call) error {
		rec = rec[:0]
		vm, recorded := "", ""
		if c.VoicemailID != 0 {
			vm = strconv.FormatInt(c.VoicemailID, 10)
		}
		if c.Recording != "" {
			recorded = T["yes"]
		}
		survey := ""
		if c.Survey > 0 {
			survey = strconv.Itoa(c.Survey)
		}
		for _, cell := range []string{
			strconv.FormatInt(c.ID, 10),
			c.StartedAt.In(s.loc).Format(time.DateTime),
			c.LineID,
			c.Number,
			outcomeText(pickLang(r), c.Outcome),
			statusText(T, c.Status),
			c.AnsweredBy,
			csvSeconds(c.QueueWait),
			csvSeconds(c.Talk),
			csvSeconds(c.Duration()),
			c.MenuPath,
			c.Nodes,
			survey,
			vm,
			recorded,
			c.Note,
			c.EndReason,
		} {
			rec = append(rec, csvSafe(cell))
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
		if n++; n%csvFlushRows == 0 {
			cw.Flush()
			if err := cw.Error(); err != nil {
				return err
			}
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return err
			}
		}
		return nil
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	if err != nil {
		// The status is sent: cut the response so that a half file is not taken for the whole.
		s.log.Warn("CSV export stopped", "error", err, "rows", n)
		panic(http.ErrAbortHandler)
	}
}

// csvSeconds is a duration in whole seconds, "" for none.
func csvSeconds(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64(d.Round(time.Second)/time.Second), 10)
}
