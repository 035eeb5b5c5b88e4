package web

import (
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

// dashboardRefresh is how often the dashboard reloads itself, in seconds.
const dashboardRefresh = 15

// maxBars is the most signal bars a line shows.
const maxBars = 5

type dashboardPage struct {
	CSS         string
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
	now := s.clock()
	today, err := s.store.CallStats(r.Context(), startOfDay(now, s.loc))
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "dash_title")
	v.Nav = "dashboard"
	p := dashboardPage{CSS: s.assets.url("dashboard.css"), Refresh: dashboardRefresh, Today: today}
	if s.lines != nil {
		p.HasLines = true
		p.ActiveCalls = s.lines.Counters().ActiveCalls
		for _, l := range s.lines.LineInfos() {
			c := s.lineCard(v, l, now)
			if k, ok := lineAlerts[l.State]; ok {
				p.Alerts = append(p.Alerts, fmt.Sprintf(v.T[k], c.ID))
			}
			p.Lines = append(p.Lines, c)
		}
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "dashboard.html", v)
}

// lineCard turns a line's status into what its card shows. Text from the modem and the network
// is cleaned here and escaped by the template.
func (s *Server) lineCard(v *view, l daemon.LineInfo, now time.Time) lineCard {
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
		c.State, c.StateClass = v.T[st.key], st.class
	} else {
		c.State, c.StateClass = cleanDisplay(l.State), "warn"
	}
	if k, ok := simStates[l.SIM]; ok {
		c.SIM = v.T[k]
	} else {
		c.SIM = cleanDisplay(l.SIM)
	}
	c.BarsLabel = fmt.Sprintf(v.T["signal_of"], c.Bars, maxBars)
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
