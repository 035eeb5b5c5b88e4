package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
)

// LineStatus is what the dashboard and /metrics read of the running lines. *daemon.Hotline
// implements it.
type LineStatus interface {
	// LineInfos returns every line, in a stable order.
	LineInfos() []daemon.LineInfo
	// Counters returns the switchboard's running totals since start.
	Counters() daemon.Counters
}

// dashboardRefresh is how often the dashboard reloads itself when the browser runs no
// script, in seconds; with script it is updated in place by /events.
const dashboardRefresh = 15

// maxBars is the most signal bars a line shows.
const maxBars = 5

type dashboardPage struct {
	CSS         string
	Script      string
	Refresh     int
	Alerts      []string
	Lines       []lineCard
	HasLines    bool // the box was given its lines (false: the dashboard shows today's calls only)
	ActiveCalls int
	Today       store.Stats
}

type lineCard struct {
	ID, Kind     string
	State        string // in plain words, translated
	StateClass   string // "ok", "warn" or "bad"
	Operator     string
	Roaming      bool
	GSM          bool // has SIM, network and signal to show
	Bars         int
	BarSlots     [maxBars]struct{}
	BarsLabel    string
	DBm          int
	SIM          string
	Model        string
	InCall       bool
	CallNumber   string       // "" when withheld
	CallTel      template.URL // tel: link when the number is clean
	CallSince    string       // time of the first ring
	CallSinceISO string
	CallFor      string // how long so far, m:ss
}

// lineStates maps a line's State word to its message key and how good it is.
var lineStates = map[string]struct{ key, class string }{
	"ready":            {"line_ready", "ok"},
	"no SIM":           {"line_no_sim", "bad"},
	"SIM PIN needed":   {"line_pin", "bad"},
	"searching":        {"line_searching", "warn"},
	"not registered":   {"line_not_registered", "bad"},
	"down":             {"line_down", "bad"},
	"no voice support": {"line_no_voice", "bad"},
	"starting":         {"line_starting", "warn"},
}

// simStates maps gsm.LineStatus.SIM to its message key.
var simStates = map[string]string{
	"":             "sim_unknown",
	"ready":        "sim_ready",
	"PIN needed":   "sim_pin",
	"PUK needed":   "sim_puk",
	"not inserted": "sim_absent",
	"PIN rejected": "sim_rejected",
}

// lineAlerts maps the states that stop a line from taking calls to the alert shown at the top.
var lineAlerts = map[string]string{
	"down":           "alert_down",
	"no SIM":         "alert_no_sim",
	"SIM PIN needed": "alert_pin",
}

// clock is the server's time (tests set Server.now).
func (s *Server) clock() time.Time {
	if s.now != nil {
		return s.now()
	}
	return time.Now()
}

// startOfDay is midnight of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "dash_title")
	v.Nav = "dashboard"
	p, err := s.dashboard(r.Context(), v.T)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p.CSS, p.Script, p.Refresh = s.assets.url("dashboard.css"), s.assets.url("dashboard.js"), dashboardRefresh
	v.Page = p
	s.render(w, r, http.StatusOK, "dashboard.html", v)
}

// dashboard reads what the dashboard shows now: today's calls, the lines and the alerts, in
// the language of T.
func (s *Server) dashboard(ctx context.Context, T map[string]string) (dashboardPage, error) {
	now := s.clock()
	today, err := s.store.CallStats(ctx, startOfDay(now, s.loc))
	if err != nil {
		return dashboardPage{}, err
	}
	p := dashboardPage{Today: today}
	if s.lines != nil {
		p.HasLines = true
		p.ActiveCalls = s.lines.Counters().ActiveCalls
		for _, l := range s.lines.LineInfos() {
			c := s.lineCard(T, l, now)
			if k, ok := lineAlerts[l.State]; ok {
				p.Alerts = append(p.Alerts, fmt.Sprintf(T[k], c.ID))
			}
			p.Lines = append(p.Lines, c)
		}
	}
	if s.disk != nil {
		if a := diskAlert(T, s.disk.Disk()); a != "" {
			p.Alerts = append(p.Alerts, a)
		}
	}
	return p, nil
}

// lineCard turns a line's status into what its card shows. Text from the modem and the network
// is cleaned here and escaped by the template.
func (s *Server) lineCard(T map[string]string, l daemon.LineInfo, now time.Time) lineCard {
	c := lineCard{
		ID:       cleanDisplay(l.ID),
		Kind:     cleanDisplay(l.Kind),
		Operator: cleanDisplay(l.Operator),
		Roaming:  l.Roaming,
		GSM:      l.Kind != "fxo",
		Bars:     min(max(l.SignalBars, 0), maxBars),
		DBm:      l.SignalDBm,
		Model:    cleanDisplay(l.Model),
		InCall:   l.InCall,
	}
	if st, ok := lineStates[l.State]; ok {
		c.State, c.StateClass = T[st.key], st.class
	} else {
		c.State, c.StateClass = cleanDisplay(l.State), "warn"
	}
	if k, ok := simStates[l.SIM]; ok {
		c.SIM = T[k]
	} else {
		c.SIM = cleanDisplay(l.SIM)
	}
	c.BarsLabel = fmt.Sprintf(T["signal_of"], c.Bars, maxBars)
	if l.InCall {
		number, display := store.SanitizeNumber(l.CallNumber)
		c.CallNumber = displayNumber(display, number)
		c.CallTel = telURL(number)
		if !l.CallSince.IsZero() {
			c.CallSince = l.CallSince.In(s.loc).Format("15:04:05")
			c.CallSinceISO = l.CallSince.In(s.loc).Format(time.RFC3339)
			c.CallFor = formatDuration(now.Sub(l.CallSince))
		}
	}
	return c
}
