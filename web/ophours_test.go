package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/voice/ivr"
)

// hoursForm is a filled operator-hours form: mode, zone, and open days with one span each.
func hoursForm(mode, tz string, days map[string][2]string) url.Values {
	v := url.Values{"mode": {mode}, "tz": {tz}}
	for d, span := range days {
		v.Set(d+".open", "1")
		v.Set(d+".from1", span[0])
		v.Set(d+".to1", span[1])
	}
	return v
}

func TestOperatorHoursForm(t *testing.T) {
	T := messages[langEN]
	workWeek := map[string][2]string{"mon": {"09:00", "18:00"}, "tue": {"09:00", "18:00"}, "sat": {"22:00", "00:00"}}
	for _, tt := range []struct {
		name     string
		form     url.Values
		want     string // the stored JSON; "" for always
		problems []string
	}{
		{"always", hoursForm("always", "Europe/Moscow", workWeek), "", nil},
		{"no mode is always", url.Values{"tz": {"Europe/Moscow"}}, "", nil},
		{"week", hoursForm("week", "Europe/Moscow", workWeek),
			`{"tz":"Europe/Moscow","week":{"mon":["09:00-18:00"],"sat":["22:00-24:00"],"tue":["09:00-18:00"]}}`, nil},
		{"no day", hoursForm("week", "Europe/Moscow", nil), "", []string{"Tick at least one working day"}},
		{"missing end", hoursForm("week", "Europe/Moscow", map[string][2]string{"wed": {"09:00", ""}}), "", []string{"Wednesday: enter from"}},
		{"same start and end", hoursForm("week", "Europe/Moscow", map[string][2]string{"thu": {"10:00", "10:00"}}), "", []string{"Thursday: the time 10:00-10:00"}},
		{"bad time", hoursForm("week", "Europe/Moscow", map[string][2]string{"fri": {"25:00", "26:00"}}), "", []string{"Friday: the time 25:00-26:00"}},
		{"bad zone", hoursForm("week", "Mars/Olympus", workWeek), "", []string{"Choose a time zone"}},
		{"local zone", hoursForm("week", "Local", workWeek), "", []string{"Choose a time zone"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/operators/1/hours", strings.NewReader(tt.form.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			got, f, problems := opHoursFromForm(T, r)
			if len(problems) != len(tt.problems) {
				t.Fatalf("problems %q, want %q", problems, tt.problems)
			}
			for i, p := range tt.problems {
				if !strings.HasPrefix(problems[i], p) {
					t.Errorf("problem %q, want it to start with %q", problems[i], p)
				}
			}
			if got != tt.want {
				t.Errorf("stored %s\nwant %s", got, tt.want)
			}
			if len(f.Days) != 7 {
				t.Errorf("the form shows %d days", len(f.Days))
			}
			if tt.want != "" {
				// What is stored reads back into the same form, and the daemon's reader agrees.
				back := opHoursToForm(T, got, "UTC")
				if back.Always || len(back.Days) != 7 || !back.Days[0].Open || back.Days[0].From1 != "09:00" || back.Days[2].Open {
					t.Errorf("read back: %+v", back)
				}
				var sch ivr.Schedule
				if err := json.Unmarshal([]byte(got), &sch); err != nil || len(sch.Issues()) > 0 {
					t.Errorf("stored hours do not parse: %v %v", err, sch.Issues())
				}
			}
		})
	}
}

func TestOperatorHoursToForm(t *testing.T) {
	T := messages[langRU]
	f := opHoursToForm(T, "", "Asia/Omsk")
	if !f.Always || f.Summary != T["oh_always"] || !f.Days[0].Open || f.Days[6].Open || f.Days[0].From1 != "09:00" {
		t.Errorf("always: %+v", f)
	}
	sel := ""
	for _, o := range f.Zones {
		if o.Selected {
			sel = o.Value
		}
	}
	if sel != "Asia/Omsk" {
		t.Errorf("new hours start in %q, want the box's zone", sel)
	}
	// Unreadable hours are always, as the daemon rings them.
	if f := opHoursToForm(T, "{not json", "UTC"); !f.Always {
		t.Errorf("unreadable: %+v", f)
	}
	// Two spans a day (from the API) keep both.
	f = opHoursToForm(T, `{"tz":"Europe/Moscow","week":{"mon":["09:00-13:00","14:00-18:00"]}}`, "UTC")
	if f.Always || f.Days[0].From2 != "14:00" || !strings.Contains(f.Summary, "Пн 09:00-13:00, 14:00-18:00") {
		t.Errorf("two spans: %+v", f)
	}
}

func TestOperatorHoursPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	id, err := f.st.AddOperator(ctx, store.Operator{Name: "Anna", Mobile: "+79161234567", Available: true})
	if err != nil {
		t.Fatal(err)
	}
	sid := strconv.FormatInt(id, 10)
	cookie, csrf := f.login()
	ck := []*http.Cookie{cookie}
	en := map[string]string{"Accept-Language": "en"}
	post := func(v url.Values) *http.Response {
		v.Set("csrf", csrf)
		return f.do(req{method: "POST", path: "/operators/" + sid + "/hours", form: v, cookies: ck, header: en}).Result()
	}
	stored := func() string {
		ops, err := f.st.Operators(ctx)
		if err != nil || len(ops) != 1 {
			t.Fatalf("operators: %v %v", ops, err)
		}
		return ops[0].Hours
	}

	w := f.do(req{path: "/operators", cookies: ck, header: en})
	for _, want := range []string{`action="/operators/` + sid + `/hours"`, "Operator&#39;s working hours: <span class=\"oh-summary\">always</span>",
		`id="oh-` + sid + `-always" checked`, `name="mon.from1" value="09:00"`} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("page lacks %q", want)
		}
	}

	r := post(hoursForm("week", "Europe/Moscow", map[string][2]string{"mon": {"09:00", "18:00"}, "fri": {"09:00", "17:00"}}))
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/operators?ok=updated#op-"+sid {
		t.Fatalf("save: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	var sch ivr.Schedule
	if err := json.Unmarshal([]byte(stored()), &sch); err != nil || sch.TimeZone != "Europe/Moscow" || len(sch.Week) != 2 {
		t.Fatalf("stored %q: %v", stored(), err)
	}
	// Monday 10:00 in Moscow she is rung, Monday 20:00 not: the daemon reads the same JSON.
	mon := time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("MSK", 3*3600))
	if open, _, _ := sch.Open(mon); !open {
		t.Errorf("not on duty Monday 10:00")
	}
	if open, _, _ := sch.Open(mon.Add(10 * time.Hour)); open {
		t.Errorf("on duty Monday 20:00")
	}
	w = f.do(req{path: "/operators", cookies: ck, header: en})
	if !strings.Contains(w.Body.String(), "Mon 09:00-18:00; Fri 09:00-17:00 (Europe/Moscow)") {
		t.Errorf("page lacks the summary")
	}
	entries, err := f.st.ListAudit(ctx, 10)
	if err != nil || len(entries) == 0 || entries[0].Action != "operator_hours" || !strings.Contains(entries[0].Detail, "Anna: Mon 09:00-18:00") {
		t.Errorf("audit: %+v %v", entries, err)
	}

	// A wrong form comes back with the owner's input and the problem; nothing changes.
	before := stored()
	w = f.do(req{method: "POST", path: "/operators/" + sid + "/hours", cookies: ck, header: en,
		form: url.Values{"csrf": {csrf}, "mode": {"week"}, "tz": {"Europe/Moscow"}, "tue.open": {"1"}, "tue.from1": {"11:00"}}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Tuesday: enter from") ||
		!strings.Contains(w.Body.String(), `name="tue.from1" value="11:00"`) || !strings.Contains(w.Body.String(), `class="op-hours" open`) {
		t.Errorf("refused save: %d", w.Code)
	}
	if stored() != before {
		t.Errorf("a refused save changed the hours")
	}

	// Back to always.
	if r := post(url.Values{"mode": {"always"}}); r.StatusCode != http.StatusSeeOther || stored() != "" {
		t.Errorf("always: %d %q", r.StatusCode, stored())
	}
	// Other fields are kept by an hours save, and the hours by an edit.
	post(hoursForm("week", "UTC", map[string][2]string{"sun": {"10:00", "12:00"}}))
	f.do(req{method: "POST", path: "/operators/" + sid, cookies: ck,
		form: url.Values{"csrf": {csrf}, "name": {"Anna"}, "mobile": {"+79161234567"}}})
	ops, _ := f.st.Operators(ctx)
	if !strings.Contains(ops[0].Hours, `"sun":["10:00-12:00"]`) || ops[0].Mobile != "+79161234567" || !ops[0].Available {
		t.Errorf("after edit: %+v", ops[0])
	}
	// No such operator.
	if w := f.do(req{method: "POST", path: "/operators/999/hours", cookies: ck, form: url.Values{"csrf": {csrf}, "mode": {"always"}}}); w.Code != http.StatusNotFound {
		t.Errorf("unknown operator: %d", w.Code)
	}
}

func TestOperatorHoursAPI(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ck := []*http.Cookie{cookie}
	w := f.do(req{method: "POST", path: "/api/operators", cookies: ck,
		body: `{"name":"Anna","mobile":"+79161234567","hours":{"tz":"Europe/Moscow","week":{"mon":["09:00-18:00"]}}}`})
	var o struct {
		ID    int64         `json:"id"`
		Hours *ivr.Schedule `json:"hours"`
	}
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &o) != nil || o.Hours == nil || o.Hours.Week["mon"][0] != "09:00-18:00" {
		t.Fatalf("POST: %d %s", w.Code, w.Body.String())
	}
	path := "/api/operators/" + strconv.FormatInt(o.ID, 10)
	for _, bad := range []string{
		`{"hours":{"tz":"Nowhere/City","week":{"mon":["09:00-18:00"]}}}`,
		`{"hours":{"tz":"UTC","week":{"mon":["18:00-18:00"]}}}`,
		`{"hours":{"tz":"UTC","week":{}}}`,
		`{"hours":{"tz":"UTC","week":{"monday":["09:00-18:00"]}}}`,
		`{"hours":{"tz":"UTC","weak":{}}}`,
		`{"hours":"always"}`,
	} {
		if w := f.do(req{method: "PUT", path: path, body: bad, cookies: ck}); w.Code != http.StatusBadRequest {
			t.Errorf("PUT %s: %d %s", bad, w.Code, w.Body.String())
		}
	}
	// Left out keeps them; null is always.
	w = f.do(req{method: "PUT", path: path, body: `{"available":false}`, cookies: ck})
	if json.Unmarshal(w.Body.Bytes(), &o) != nil || o.Hours == nil {
		t.Errorf("left out: %s", w.Body.String())
	}
	w = f.do(req{method: "PUT", path: path, body: `{"hours":null}`, cookies: ck})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"hours":null`) {
		t.Errorf("null: %d %s", w.Code, w.Body.String())
	}
}
