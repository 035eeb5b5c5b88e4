package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"hotline/daemon/store"
)

// statsPeriods are the periods the statistics page offers, in days; the first is the default.
var statsPeriods = []int{30, 7, 90}

// Chart geometry, in SVG user units (the chart scales to the page's width).
const (
	chartW      = 480.0
	chartH      = 170.0
	chartTop    = 8.0
	chartBottom = 140.0 // the baseline of the bars
	chartLeft   = 28.0  // room for the scale
)

// chart is a bar chart the template draws as inline SVG, with a title for screen readers;
// the page puts the same numbers in a table next to it.
type chart struct {
	ID, Title  string
	W, H       float64
	Bars       []chartBar
	XLabels    []chartText
	YLabels    []chartText
	BaseY, Top float64
	Left       float64
}

type chartBar struct {
	X, Y, W, H float64
	Class      string
	Tip        string // the bar's own <title>
}

type chartText struct {
	X, Y float64
	Text string
}

// series is one part of a stacked bar.
type series struct {
	class  string
	values []int
}

// barChart draws stacked bars, one per label, scaled to the largest stack.
func barChart(id, title string, labels []string, labelEvery int, tip func(i int) string, parts ...series) chart {
	c := chart{ID: id, Title: title, W: chartW, H: chartH, BaseY: chartBottom, Top: chartTop, Left: chartLeft}
	n := len(labels)
	if n == 0 {
		return c
	}
	peak := 0
	for i := range n {
		sum := 0
		for _, p := range parts {
			sum += p.values[i]
		}
		peak = max(peak, sum)
	}
	scale := niceMax(peak)
	slot := (chartW - chartLeft) / float64(n)
	barW := math.Max(slot*0.75, 1)
	for i := range n {
		x := chartLeft + float64(i)*slot + (slot-barW)/2
		y := chartBottom
		for _, p := range parts {
			v := p.values[i]
			if v <= 0 {
				continue
			}
			h := (chartBottom - chartTop) * float64(v) / float64(scale)
			y -= h
			c.Bars = append(c.Bars, chartBar{X: round1(x), Y: round1(y), W: round1(barW), H: round1(h), Class: p.class, Tip: tip(i)})
		}
		if labelEvery > 0 && i%labelEvery == 0 {
			c.XLabels = append(c.XLabels, chartText{X: round1(x + barW/2), Y: chartBottom + 14, Text: labels[i]})
		}
	}
	for _, v := range []int{0, scale / 2, scale} {
		if v == scale/2 && scale%2 != 0 {
			continue
		}
		y := chartBottom - (chartBottom-chartTop)*float64(v)/float64(scale)
		c.YLabels = append(c.YLabels, chartText{X: chartLeft - 4, Y: round1(y + 3), Text: strconv.Itoa(v)})
	}
	return c
}

// niceMax is the top of a chart's scale: at least 1, and a round number at or above peak.
func niceMax(peak int) int {
	if peak <= 4 {
		return max(peak, 1)
	}
	step := 1
	for step*10 < peak {
		step *= 10
	}
	for _, m := range []int{1, 2, 5, 10} {
		if step*m >= peak {
			return step * m
		}
	}
	return step * 10
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

type statsPage struct {
	CSS         string
	Days        int
	Periods     []periodLink
	From, To    string
	Report      store.Report
	Answered    int
	Missed      int
	Voicemail   int
	Callback    int
	AvgWait     string
	AvgTalk     string
	AvgSurvey   string
	Outcomes    []countRow
	Hours       chart
	HourRows    []countRow
	DaysChart   chart
	DayRows     []dayRow
	Scores      chart
	ScoreRows   []countRow
	Menu        []countRow
	HasSurveys  bool
	HasAnyCalls bool
}

type periodLink struct {
	Days    int
	URL     string
	Current bool
}

type countRow struct {
	Label string
	Count int
}

type dayRow struct {
	Date, DateISO                      string
	Total, Answered, Missed, Voicemail int
}

// statsPeriod reads ?days= (one of statsPeriods) and returns the period ending today.
func (s *Server) statsPeriod(r *http.Request) (days int, from, to time.Time) {
	days = statsPeriods[0]
	if n, err := strconv.Atoi(r.URL.Query().Get("days")); err == nil && containsInt(statsPeriods, n) {
		days = n
	}
	to = startOfDay(s.clock(), s.loc).AddDate(0, 0, 1)
	return days, to.AddDate(0, 0, -days), to
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	days, from, to := s.statsPeriod(r)
	rep, err := s.store.CallReport(r.Context(), from, to, s.loc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	v := s.newView(r, "stats_title")
	v.Nav = "stats"
	T := v.T
	p := statsPage{
		CSS: s.assets.url("admin.css"), Days: days, Report: rep,
		From:        formatDate(v.Lang, from),
		To:          formatDate(v.Lang, to.AddDate(0, 0, -1)),
		Answered:    rep.Outcomes[store.OutcomeAnswered],
		Missed:      rep.Outcomes[store.OutcomeMissed] + rep.Outcomes[store.OutcomeAbandoned],
		Voicemail:   rep.Outcomes[store.OutcomeVoicemail],
		Callback:    rep.Outcomes[store.OutcomeCallback],
		HasSurveys:  rep.Surveys > 0,
		HasAnyCalls: rep.Total > 0,
	}
	for _, d := range statsPeriods {
		p.Periods = append(p.Periods, periodLink{Days: d, URL: "/stats?days=" + strconv.Itoa(d), Current: d == days})
	}
	if rep.Waited > 0 {
		p.AvgWait = formatDuration(rep.AvgWait)
	}
	if rep.Talked > 0 {
		p.AvgTalk = formatDuration(rep.AvgTalk)
	}
	if rep.Surveys > 0 {
		p.AvgSurvey = strconv.FormatFloat(rep.AvgSurvey, 'f', 1, 64)
	}
	for _, o := range logOutcomes {
		if o == store.OutcomeInProgress {
			if n := rep.Outcomes[""]; n > 0 {
				p.Outcomes = append(p.Outcomes, countRow{outcomeText(v.Lang, ""), n})
			}
			continue
		}
		if n := rep.Outcomes[o]; n > 0 {
			p.Outcomes = append(p.Outcomes, countRow{outcomeText(v.Lang, o), n})
		}
	}

	hourLabels := make([]string, 24)
	hours := make([]int, 24)
	for h := range 24 {
		hourLabels[h] = fmt.Sprintf("%02d", h)
		hours[h] = rep.ByHour[h]
		p.HourRows = append(p.HourRows, countRow{fmt.Sprintf("%02d:00–%02d:59", h, h), rep.ByHour[h]})
	}
	p.Hours = barChart("chart-hours", T["stats_by_hour"], hourLabels, 3,
		func(i int) string { return fmt.Sprintf("%s: %d", p.HourRows[i].Label, hours[i]) },
		series{"bar", hours})

	n := len(rep.ByDay)
	dayLabels := make([]string, n)
	other, missed, vm := make([]int, n), make([]int, n), make([]int, n)
	for i, d := range rep.ByDay {
		dayLabels[i] = d.Day.Format("02")
		missed[i], vm[i] = d.Missed, d.Voicemail
		other[i] = max(d.Total-d.Missed-d.Voicemail, 0)
		p.DayRows = append(p.DayRows, dayRow{Date: formatDate(v.Lang, d.Day), DateISO: d.Day.Format(time.DateOnly),
			Total: d.Total, Answered: d.Answered, Missed: d.Missed, Voicemail: d.Voicemail})
	}
	every := max(1, n/10)
	p.DaysChart = barChart("chart-days", T["stats_by_day"], dayLabels, every,
		func(i int) string {
			r := p.DayRows[i]
			return fmt.Sprintf("%s: %d (%s %d, %s %d)", r.Date, r.Total, T["dash_missed"], r.Missed, T["dash_voicemail"], r.Voicemail)
		},
		series{"bar-ok", other}, series{"bar-bad", missed}, series{"bar-info", vm})

	scoreLabels := []string{"1", "2", "3", "4", "5"}
	scores := rep.Scores[:]
	for i, c := range scores {
		p.ScoreRows = append(p.ScoreRows, countRow{scoreLabels[i], c})
	}
	p.Scores = barChart("chart-scores", T["stats_scores"], scoreLabels, 1,
		func(i int) string { return fmt.Sprintf("%s: %d", scoreLabels[i], scores[i]) },
		series{"bar", scores})

	for _, m := range rep.Menu {
		p.Menu = append(p.Menu, countRow{menuText(m.Path), m.Count})
	}
	v.Page = p
	s.render(w, r, http.StatusOK, "stats.html", v)
}

// formatDate shows a day the way people of the language write it.
func formatDate(lang string, t time.Time) string {
	if lang == langEN {
		return t.Format("2 Jan 2006")
	}
	return t.Format("02.01.2006")
}

// statsJSON is /api/stats.
type statsJSON struct {
	Days           int            `json:"days"`
	From           time.Time      `json:"from"`
	To             time.Time      `json:"to"`
	Total          int            `json:"total"`
	Outcomes       map[string]int `json:"outcomes"`
	ByHour         [24]int        `json:"by_hour"`
	ByDay          []dayJSON      `json:"by_day"`
	Waited         int            `json:"waited"`
	AvgWaitSeconds float64        `json:"avg_wait_seconds"`
	Talked         int            `json:"talked"`
	AvgTalkSeconds float64        `json:"avg_talk_seconds"`
	Surveys        int            `json:"surveys"`
	AvgSurvey      float64        `json:"avg_survey"`
	Scores         [5]int         `json:"scores"`
	Menu           []menuJSON     `json:"menu"`
}

type dayJSON struct {
	Date      string `json:"date"`
	Total     int    `json:"total"`
	Answered  int    `json:"answered"`
	Missed    int    `json:"missed"`
	Voicemail int    `json:"voicemail"`
}

type menuJSON struct {
	Path  string `json:"path"`
	Count int    `json:"count"`
}

func (s *Server) handleAPIStats(w http.ResponseWriter, r *http.Request) {
	days, from, to := s.statsPeriod(r)
	rep, err := s.store.CallReport(r.Context(), from, to, s.loc)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	out := statsJSON{
		Days: days, From: from, To: to, Total: rep.Total, Outcomes: map[string]int{}, ByHour: rep.ByHour,
		ByDay: []dayJSON{}, Waited: rep.Waited, AvgWaitSeconds: seconds(rep.AvgWait), Talked: rep.Talked,
		AvgTalkSeconds: seconds(rep.AvgTalk), Surveys: rep.Surveys, AvgSurvey: math.Round(rep.AvgSurvey*100) / 100,
		Scores: rep.Scores, Menu: []menuJSON{},
	}
	for k, n := range rep.Outcomes {
		if k == "" {
			k = store.OutcomeInProgress
		}
		out.Outcomes[k] = n
	}
	for _, d := range rep.ByDay {
		out.ByDay = append(out.ByDay, dayJSON{Date: d.Day.Format(time.DateOnly), Total: d.Total, Answered: d.Answered,
			Missed: d.Missed, Voicemail: d.Voicemail})
	}
	for _, m := range rep.Menu {
		out.Menu = append(out.Menu, menuJSON{Path: m.Path, Count: m.Count})
	}
	writeJSON(w, http.StatusOK, out)
}
