package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"hotline/daemon/store"
	"hotline/voice/ivr"
)

// An operator's own working hours (store.Operator.Hours) are an ivr.Schedule as JSON, which
// the daemon reads on every call (daemon/people.go): outside them the operator is not rung.
// "" means always: whenever the flow rings them. The operators page edits them with the same
// day rows as the flow's working hours (hours.go), without holidays and exceptions.

// opHoursForm is an operator's hours as the form shows them.
type opHoursForm struct {
	Always   bool
	Summary  string // in words, for the row
	Zones    []option
	Days     []dayForm
	Problems []string
	Open     bool // the details are open: the form came back with problems
}

// opHoursToForm lays stored hours out for the form; tz is the zone new hours start in.
func opHoursToForm(T map[string]string, hours, tz string) opHoursForm {
	sch, err := parseOpHours(hours)
	if err != nil || sch == nil {
		// Always (or unreadable, which the daemon treats as always): offer a working week.
		f := opHoursForm{Always: true, Summary: T["oh_always"], Zones: zoneOptions(tz)}
		for _, d := range weekdays {
			df := dayForm{Key: d, Name: T["day_"+d], From1: "09:00", To1: "18:00"}
			df.Open = d != "sat" && d != "sun"
			f.Days = append(f.Days, df)
		}
		return f
	}
	sf := scheduleToForm(T, &ivr.Node{Schedule: sch})
	return opHoursForm{Summary: scheduleSummary(T, sch), Zones: zoneOptions(sch.TimeZone), Days: sf.Days}
}

// parseOpHours reads stored hours; nil means always.
func parseOpHours(hours string) (*ivr.Schedule, error) {
	if strings.TrimSpace(hours) == "" {
		return nil, nil
	}
	sch := new(ivr.Schedule)
	if err := json.Unmarshal([]byte(hours), sch); err != nil {
		return nil, fmt.Errorf("operator hours: %w", err)
	}
	return sch, nil
}

// opHoursFromForm reads the hours form: the JSON to store ("" for always), the form to show
// again, and what is wrong in plain words (nothing is stored then).
func opHoursFromForm(T map[string]string, r *http.Request) (string, opHoursForm, []string) {
	sch, sf := scheduleFromForm(T, r)
	f := opHoursForm{Always: r.PostFormValue("mode") != "week", Zones: zoneOptions(sch.TimeZone), Days: sf.Days}
	if f.Always {
		return "", f, nil
	}
	sch.Holidays, sch.Exceptions = nil, nil
	var problems []string
	for _, d := range sf.Days {
		if !d.Open {
			continue
		}
		if d.From1 == "" || d.To1 == "" || (d.From2 == "") != (d.To2 == "") {
			problems = append(problems, fmt.Sprintf(T["oh_err_times"], d.Name))
		}
	}
	switch {
	case len(problems) > 0: // the spans are incomplete: say that, not what ivr makes of them
	case len(sch.Week) == 0:
		problems = append(problems, T["oh_err_no_day"])
	default:
		problems = opHoursIssues(T, sch)
	}
	if len(problems) > 0 {
		return "", f, problems
	}
	b, err := json.Marshal(sch)
	if err != nil {
		return "", f, []string{err.Error()}
	}
	return string(b), f, nil
}

// opHoursIssues words what ivr finds wrong with a schedule.
func opHoursIssues(T map[string]string, sch *ivr.Schedule) []string {
	var out []string
	for _, is := range sch.Issues() {
		day, isDay := strings.CutPrefix(is.Field, "week.")
		switch {
		case is.Field == "tz":
			out = append(out, T["oh_err_tz"])
		case isDay:
			out = append(out, fmt.Sprintf(T["oh_err_span"], wordOr(T, "day_"+day, day), cleanDisplay(is.Value)))
		default:
			out = append(out, cleanDisplay(is.Err.Error()))
		}
	}
	return out
}

// opHoursJSON checks hours given to the API: null (always) or a schedule without problems.
// It returns what to store.
func opHoursJSON(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return "", nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	sch := new(ivr.Schedule)
	if err := dec.Decode(sch); err != nil {
		return "", fmt.Errorf("hours: %w", err)
	}
	if issues := sch.Issues(); len(issues) > 0 {
		return "", fmt.Errorf("hours: %s: %w", issues[0].Field, issues[0].Err)
	}
	if len(sch.Week) == 0 && len(sch.Exceptions) == 0 {
		return "", errors.New("hours: no working day; use null for always")
	}
	b, err := json.Marshal(sch)
	if err != nil {
		return "", fmt.Errorf("hours: %w", err)
	}
	return string(b), nil
}

// opHoursOut is the stored hours for the API: nil for always (or unreadable).
func opHoursOut(hours string) *ivr.Schedule {
	sch, err := parseOpHours(hours)
	if err != nil {
		return nil
	}
	return sch
}

// handleOperatorHours saves an operator's own working hours from the operators page.
func (s *Server) handleOperatorHours(w http.ResponseWriter, r *http.Request) {
	s.withOperator(w, r, func(o store.Operator) {
		ctx := r.Context()
		v := s.newView(r, "ops_title")
		hours, form, problems := opHoursFromForm(v.T, r)
		if len(problems) > 0 {
			form.Problems, form.Open = problems, true
			v.Error = v.T["oh_not_saved"]
			s.renderOperators(w, r, v, http.StatusUnprocessableEntity, o.ID, &form)
			return
		}
		if hours == o.Hours {
			http.Redirect(w, r, "/operators?ok=updated#op-"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
			return
		}
		o.Hours = hours
		if err := s.store.UpdateOperator(ctx, o); err != nil {
			s.serverError(w, r, err)
			return
		}
		what := "always"
		if sch := opHoursOut(hours); sch != nil {
			what = scheduleSummary(messages[langEN], sch)
		}
		s.audit(ctx, sessionFrom(ctx).User.Name, "operator_hours", cleanDisplay(o.Name)+": "+what)
		http.Redirect(w, r, "/operators?ok=updated#op-"+strconv.FormatInt(o.ID, 10), http.StatusSeeOther)
	})
}
