package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"hotline/daemon"
	"hotline/voice/ivr"
)

// overrideSetting is the store setting of the owner's switch: "closed", "open", or "" to follow
// the working hours (the switchboard reads it on every call).
const overrideSetting = "closed_override"

type hoursPage struct {
	CSS       string
	Override  []option
	Schedules []scheduleForm
}

type scheduleForm struct {
	NodeID     string
	Title      string
	TZ         string
	Days       []dayForm
	Holidays   string
	Exceptions string
	Problems   []problemView
}

type dayForm struct {
	Key, Name              string
	Open                   bool
	From1, To1, From2, To2 string
}

func (s *Server) handleHours(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "hours_title")
	if n, err := strconv.ParseInt(r.URL.Query().Get("saved"), 10, 64); err == nil && n > 0 {
		v.Notice = fmt.Sprintf(v.T["hours_saved"], n)
	}
	if r.URL.Query().Get("ok") == "override" {
		v.Notice = v.T["hours_override_saved"]
	}
	s.renderHours(w, r, v, http.StatusOK, nil, "")
}

// renderHours shows the schedules of the current flow; draft replaces the one of node draftID
// (after a refused save) with its problems.
func (s *Server) renderHours(w http.ResponseWriter, r *http.Request, v *view, status int, draft *scheduleForm, draftID string) {
	v.Nav = "hours"
	f, _, err := s.currentFlow(r.Context(), v.Lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	cur, err := s.store.Setting(r.Context(), overrideSetting, "")
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := hoursPage{CSS: s.assets.url("flows.css"), Override: selectOptions([]option{
		{Value: "", Label: v.T["hours_follow"]},
		{Value: "open", Label: v.T["hours_force_open"]},
		{Value: "closed", Label: v.T["hours_force_closed"]},
	}, cur)}
	for _, n := range f.Nodes {
		if n.Kind != ivr.KindSchedule {
			continue
		}
		if draft != nil && n.ID == draftID {
			p.Schedules = append(p.Schedules, *draft)
			continue
		}
		p.Schedules = append(p.Schedules, scheduleToForm(v.T, &n))
	}
	v.Page = p
	s.render(w, r, status, "hours.html", v)
}

// scheduleToForm lays a schedule node out for the form.
func scheduleToForm(T map[string]string, n *ivr.Node) scheduleForm {
	sf := scheduleForm{NodeID: n.ID, Title: cleanDisplay(n.Title)}
	if sf.Title == "" {
		sf.Title = cleanDisplay(n.ID)
	}
	sch := n.Schedule
	if sch == nil {
		sch = &ivr.Schedule{}
	}
	sf.TZ = sch.TimeZone
	for _, d := range weekdays {
		df := dayForm{Key: d, Name: T["day_"+d]}
		spans := sch.Week[d]
		df.Open = len(spans) > 0
		if len(spans) > 0 {
			df.From1, df.To1 = splitSpan(spans[0])
		}
		if len(spans) > 1 {
			df.From2, df.To2 = splitSpan(spans[1])
		}
		sf.Days = append(sf.Days, df)
	}
	sf.Holidays = strings.Join(sch.Holidays, "\n")
	var ex []string
	for _, e := range sch.Exceptions {
		if len(e.Hours) == 0 {
			ex = append(ex, e.Date+" "+T["hours_closed_word"])
		} else {
			ex = append(ex, e.Date+" "+strings.Join(e.Hours, " "))
		}
	}
	sf.Exceptions = strings.Join(ex, "\n")
	return sf
}

// splitSpan turns "09:00-24:00" into the values of two time inputs; 24:00 shows as 00:00.
func splitSpan(s string) (string, string) {
	from, to, _ := strings.Cut(s, "-")
	if to == "24:00" {
		to = "00:00"
	}
	return from, to
}

// joinSpan is splitSpan backwards: an end of 00:00 is midnight, "24:00".
func joinSpan(from, to string) string {
	if to == "00:00" {
		to = "24:00"
	}
	return from + "-" + to
}

// scheduleFromForm reads the hours form.
func scheduleFromForm(T map[string]string, r *http.Request) (*ivr.Schedule, scheduleForm) {
	get := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	sch := &ivr.Schedule{TimeZone: get("tz"), Week: map[string][]string{}}
	sf := scheduleForm{NodeID: get("node"), TZ: sch.TimeZone, Holidays: get("holidays"), Exceptions: get("exceptions")}
	for _, d := range weekdays {
		df := dayForm{Key: d, Name: T["day_"+d], Open: get(d+".open") == "1",
			From1: get(d + ".from1"), To1: get(d + ".to1"), From2: get(d + ".from2"), To2: get(d + ".to2")}
		sf.Days = append(sf.Days, df)
		if !df.Open {
			continue
		}
		if df.From1 != "" || df.To1 != "" {
			sch.Week[d] = append(sch.Week[d], joinSpan(df.From1, df.To1))
		}
		if df.From2 != "" || df.To2 != "" {
			sch.Week[d] = append(sch.Week[d], joinSpan(df.From2, df.To2))
		}
	}
	for line := range strings.Lines(sf.Holidays) {
		if line = strings.TrimSpace(line); line != "" {
			sch.Holidays = append(sch.Holidays, line)
		}
	}
	for line := range strings.Lines(sf.Exceptions) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		e := ivr.Exception{Date: fields[0]}
		for _, h := range fields[1:] {
			if !strings.EqualFold(h, T["hours_closed_word"]) && !strings.EqualFold(h, "closed") && !strings.EqualFold(h, "закрыто") {
				e.Hours = append(e.Hours, strings.Trim(h, ","))
			}
		}
		sch.Exceptions = append(sch.Exceptions, e)
	}
	return sch, sf
}

func (s *Server) handleHoursPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	v := s.newView(r, "hours_title")
	sch, sf := scheduleFromForm(v.T, r)
	f, _, err := s.currentFlow(ctx, v.Lang)
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	found := false
	for i := range f.Nodes {
		if f.Nodes[i].ID == sf.NodeID && f.Nodes[i].Kind == ivr.KindSchedule {
			f.Nodes[i].Schedule = sch
			sf.Title = cleanDisplay(f.Nodes[i].Title)
			found = true
		}
	}
	if !found {
		s.handleNotFound(w, r)
		return
	}
	data, err := f.MarshalIndent()
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	version, _, err := daemon.SaveFlow(ctx, s.store, data, sessionFrom(ctx).User.Name, "working hours")
	var fp *daemon.FlowProblems
	switch {
	case errors.As(err, &fp):
		for _, p := range fp.Problems {
			if p.Severity == ivr.SeverityError {
				sf.Problems = append(sf.Problems, problemView{Error: true, Message: p.Message(v.Lang)})
			}
		}
		v.Error = v.T["hours_not_saved"]
		s.renderHours(w, r, v, http.StatusUnprocessableEntity, &sf, sf.NodeID)
		return
	case err != nil:
		s.serverError(w, r, err)
		return
	}
	http.Redirect(w, r, "/hours?saved="+strconv.FormatInt(version, 10), http.StatusSeeOther)
}

func (s *Server) handleHoursOverride(w http.ResponseWriter, r *http.Request) {
	val := r.PostFormValue("override")
	if val != "" && val != "open" && val != "closed" {
		s.renderError(w, r, http.StatusBadRequest, "err_bad_request")
		return
	}
	if err := s.store.SetSetting(r.Context(), overrideSetting, val); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.audit(r.Context(), sessionFrom(r.Context()).User.Name, "closed_override", val)
	http.Redirect(w, r, "/hours?ok=override", http.StatusSeeOther)
}
