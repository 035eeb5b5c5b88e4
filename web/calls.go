package web

import (
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// callsPerPage is how many calls one page of the log shows.
const callsPerPage = 50

// maxDisplayRunes bounds a caller ID as shown; the rest is cut with an ellipsis.
const maxDisplayRunes = 64

type callsPage struct {
	CSS      string
	Calls    []callRow
	Filter   logQuery
	Lines    []string // lines in the log, for the line filter
	Outcomes []option
	Statuses []option
	OlderURL string // "" on the last page
	NewerURL string // the newest page with the same filters; "" on it
	CSVURL   string
	Filtered bool // some filter is set
}

type callRow struct {
	ID            int64
	URL           string // the call's own page
	Time, TimeISO string
	Number        string       // display form; "" when the caller hid it
	TelURL        template.URL // "tel:+..." when the number is a clean phone number
	Line          string
	Duration      string
	Menu          string
	Outcome       string
	OutcomeClass  string
	VoicemailURL  string
	Status        string
	StatusClass   string
	HasNote       bool
}

// callJSON is a call in the API.
type callJSON struct {
	ID              int64      `json:"id"`
	CallID          int64      `json:"call_id"` // same as id, as in the test-call result
	Line            string     `json:"line"`
	Number          string     `json:"number"`
	DisplayNumber   string     `json:"display_number"`
	StartedAt       time.Time  `json:"started_at"`
	AnsweredAt      *time.Time `json:"answered_at"`
	EndedAt         *time.Time `json:"ended_at"`
	DurationSeconds float64    `json:"duration_seconds"`
	MenuPath        string     `json:"menu_path"`
	Nodes           string     `json:"nodes"`
	Outcome         string     `json:"outcome"`
	VoicemailID     int64      `json:"voicemail_id"`
	Status          string     `json:"status"`
	AnsweredBy      string     `json:"answered_by"`
	WaitSeconds     float64    `json:"wait_seconds"`
	TalkSeconds     float64    `json:"talk_seconds"`
	Survey          int        `json:"survey"` // 1..5, 0 if none
	HasRecording    bool       `json:"has_recording"`
	Note            string     `json:"note"`
}

type callsJSON struct {
	Calls        []callJSON `json:"calls"`
	NextBeforeID int64      `json:"next_before_id"` // pass as ?before= for the next page; 0 at the end
}

func (s *Server) handleAPICalls(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	q, ok := parseLogQuery(r, s.loc)
	if !ok {
		writeJSON(w, http.StatusBadRequest, apiError{Error: "bad filter"})
		return
	}
	calls, next, err := s.searchCalls(r, q, limit)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := callsJSON{Calls: make([]callJSON, 0, len(calls)), NextBeforeID: next}
	for _, c := range calls {
		out.Calls = append(out.Calls, callJSON{
			ID:              c.ID,
			CallID:          c.ID,
			Line:            c.LineID,
			Number:          c.Number,
			DisplayNumber:   displayNumber(c.RawNumber, c.Number),
			StartedAt:       c.StartedAt.In(s.loc),
			AnsweredAt:      optTime(c.AnsweredAt, s.loc),
			EndedAt:         optTime(c.EndedAt, s.loc),
			DurationSeconds: seconds(c.Duration()),
			MenuPath:        c.MenuPath,
			Nodes:           c.Nodes,
			Outcome:         c.Outcome,
			VoicemailID:     c.VoicemailID,
			Status:          c.Status,
			AnsweredBy:      c.AnsweredBy,
			WaitSeconds:     seconds(c.QueueWait),
			TalkSeconds:     seconds(c.Talk),
			Survey:          c.Survey,
			HasRecording:    c.Recording != "",
			Note:            c.Note,
		})
	}
	writeJSON(w, http.StatusOK, out)
}

func optTime(t time.Time, loc *time.Location) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.In(loc)
	return &t
}

// seconds is a duration in seconds to the millisecond.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1000) / 1000
}

// displayNumber is how a caller is shown: the number as received, cleaned, or the sanitised
// number, or "" when the caller hid it.
func displayNumber(raw, number string) string {
	if d := cleanDisplay(raw); d != "" {
		return d
	}
	return number
}

// cleanDisplay makes hostile text safe to show as one short line: invalid UTF-8 becomes
// U+FFFD, control and invisible format characters (bidi overrides, zero-width) go, and it is
// cut to maxDisplayRunes. The store cleans caller IDs already; this keeps the page right even
// for rows an older version wrote. HTML escaping is the template's job.
func cleanDisplay(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	n := 0
	for _, r := range s {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			continue
		}
		if n == maxDisplayRunes {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// telURL links a clean number ("+" and up to 20 digits) for calling back from a phone.
func telURL(number string) template.URL {
	digits := strings.TrimPrefix(number, "+")
	if digits == "" || len(digits) > 20 || !utf8.ValidString(number) {
		return ""
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return ""
		}
	}
	// Safe: only "+" and ASCII digits reach the attribute.
	return template.URL("tel:" + number)
}

// menuText shows the keys a caller chose, "1,0" as "1 → 0".
func menuText(path string) string {
	return strings.ReplaceAll(cleanDisplay(path), ",", " → ")
}

// outcomeClass names the CSS class of an outcome; unknown outcomes get a neutral one.
func outcomeClass(outcome string) string {
	switch outcome {
	case "answered", "callback", "voicemail", "missed", "abandoned", "completed", "failed":
		return "out-" + outcome
	case "":
		return "out-progress"
	}
	return "out-other"
}
