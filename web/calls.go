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

	"hotline/daemon/store"
)

// callsPerPage is how many calls one page of the log shows.
const callsPerPage = 50

// maxDisplayRunes bounds a caller ID as shown; the rest is cut with an ellipsis.
const maxDisplayRunes = 64

type callsPage struct {
	Calls    []callRow
	OlderURL string // "" on the last page
	IsPaged  bool   // not the newest page
}

type callRow struct {
	ID            int64
	Time, TimeISO string
	Number        string       // display form; "" when the caller hid it
	TelURL        template.URL // "tel:+..." when the number is a clean phone number
	Line          string
	Duration      string
	Menu          string
	Outcome       string
	OutcomeClass  string
	VoicemailURL  string
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
	Outcome         string     `json:"outcome"`
	VoicemailID     int64      `json:"voicemail_id"`
	Status          string     `json:"status"`
}

type callsJSON struct {
	Calls        []callJSON `json:"calls"`
	NextBeforeID int64      `json:"next_before_id"` // pass as ?before= for the next page; 0 at the end
}

// listCalls reads one page of the log and the id to continue from (0 when there is no more).
func (s *Server) listCalls(r *http.Request, limit int) ([]store.Call, int64, error) {
	before, _ := strconv.ParseInt(r.URL.Query().Get("before"), 10, 64)
	calls, err := s.store.ListCalls(r.Context(), store.CallFilter{Limit: limit + 1, BeforeID: max(before, 0)})
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

func (s *Server) handleCalls(w http.ResponseWriter, r *http.Request) {
	calls, next, err := s.listCalls(r, callsPerPage)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "calls_title")
	v.Nav = "calls"
	p := callsPage{IsPaged: r.URL.Query().Get("before") != ""}
	if next != 0 {
		p.OlderURL = "/calls?before=" + strconv.FormatInt(next, 10)
	}
	for _, c := range calls {
		row := callRow{
			ID:           c.ID,
			Time:         formatTime(v.Lang, c.StartedAt, s.loc),
			TimeISO:      c.StartedAt.In(s.loc).Format(time.RFC3339),
			Number:       displayNumber(c.RawNumber, c.Number),
			TelURL:       telURL(c.Number),
			Line:         cleanDisplay(c.LineID),
			Menu:         menuText(c.MenuPath),
			Outcome:      outcomeText(v.Lang, c.Outcome),
			OutcomeClass: outcomeClass(c.Outcome),
		}
		if d := c.Duration(); d > 0 {
			row.Duration = formatDuration(d)
		}
		if c.VoicemailID != 0 {
			row.VoicemailURL = "/voicemail?show=all#vm-" + strconv.FormatInt(c.VoicemailID, 10)
		}
		p.Calls = append(p.Calls, row)
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "calls.html", v)
}

func (s *Server) handleAPICalls(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	calls, next, err := s.listCalls(r, limit)
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
			Outcome:         c.Outcome,
			VoicemailID:     c.VoicemailID,
			Status:          c.Status,
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
	case "voicemail", "missed", "abandoned", "completed", "failed":
		return "out-" + outcome
	case "":
		return "out-progress"
	}
	return "out-other"
}
