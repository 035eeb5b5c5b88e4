package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/diskguard"
	"hotline/daemon/store"
)

// logCall stores a finished call with a summary; outcome "" leaves it in progress.
func (f *fixture) logCall(line, raw string, at time.Time, sum store.Summary) int64 {
	f.t.Helper()
	ctx := context.Background()
	id, err := f.st.StartCall(ctx, line, raw, at)
	if err != nil {
		f.t.Fatal(err)
	}
	if sum.Outcome == "" {
		return id
	}
	if sum.Outcome != store.OutcomeMissed {
		if err := f.st.AnswerCall(ctx, id, at.Add(2*time.Second)); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.st.FinishCallSummary(ctx, id, at.Add(62*time.Second), sum); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// callIDs are the ids of the rows of the call log in a page, in order.
func callIDs(body string) []string {
	var ids []string
	for _, part := range strings.Split(body, `<tr id="call-`)[1:] {
		ids = append(ids, part[:strings.IndexByte(part, '"')])
	}
	return ids
}

func TestCallLogFilters(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	day := time.Date(2026, 2, 20, 10, 0, 0, 0, time.UTC)
	a := f.logCall("gsm1", "+79161234567", day, store.Summary{Outcome: store.OutcomeAnswered, MenuPath: "1", AnsweredBy: "anna"})
	b := f.logCall("gsm2", "+74951112233", day.Add(24*time.Hour), store.Summary{Outcome: store.OutcomeCallback, MenuPath: "2"})
	c := f.logCall("gsm2", "+79161234567", day.Add(48*time.Hour), store.Summary{Outcome: store.OutcomeMissed})
	d := f.logCall("gsm1", "", day.Add(72*time.Hour), store.Summary{})
	if err := f.st.SetCallStatus(context.Background(), b, store.StatusInProgress); err != nil {
		t.Fatal(err)
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{id(d), id(c), id(b), id(a)}},
		{"?line=gsm2", []string{id(c), id(b)}},
		{"?outcome=answered", []string{id(a)}},
		{"?outcome=callback", []string{id(b)}},
		{"?outcome=in_progress", []string{id(d)}},
		{"?status=in_progress", []string{id(b)}},
		{"?number=916+123", []string{id(c), id(a)}},
		{"?number=8+(495)+111-22-33", []string{id(b)}}, // a whole national number
		{"?number=%2B7495", []string{id(b)}},           // the start of an international one
		{"?number=495", []string{id(b)}},
		{"?from=2026-02-21&to=2026-02-22", []string{id(c), id(b)}},
		{"?from=2026-02-22", []string{id(d), id(c)}},
		{"?to=2026-02-20", []string{id(a)}},
		{"?line=gsm1&number=7916", []string{id(a)}},
		{"?line=nope", nil},
	}
	for _, tt := range tests {
		w := f.do(req{path: "/calls" + tt.query, cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
		if w.Code != http.StatusOK {
			t.Fatalf("GET /calls%s: %d", tt.query, w.Code)
		}
		if got := callIDs(w.Body.String()); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("/calls%s: calls %v, want %v", tt.query, got, tt.want)
		}
	}
	// The form keeps the filter, the CSV link carries it, and the new outcomes have words.
	body := f.do(req{path: "/calls?line=gsm2&outcome=callback", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}}).Body.String()
	for _, want := range []string{
		`<option value="gsm2" selected>gsm2</option>`,
		`<option value="callback" selected>` + htmlEscaped(messages[langEN]["out_callback"]) + `</option>`,
		`href="/calls.csv?line=gsm2&amp;outcome=callback"`,
		htmlEscaped(messages[langEN]["status_in_progress"]),
		`href="/calls/` + id(b) + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("filtered page lacks %s", want)
		}
	}
	// Values the form never sends are refused, not passed to the database.
	for _, q := range []string{"?outcome=bogus", "?status=closed", "?from=yesterday", "?to=2026-13-01"} {
		if w := f.do(req{path: "/calls" + q, cookies: []*http.Cookie{cookie}}); w.Code != http.StatusBadRequest {
			t.Errorf("/calls%s: %d, want 400", q, w.Code)
		}
		if w := f.do(req{path: "/api/calls" + q, cookies: []*http.Cookie{cookie}}); w.Code != http.StatusBadRequest {
			t.Errorf("/api/calls%s: %d, want 400", q, w.Code)
		}
	}
	var api callsJSON
	getJSON(t, f, "/api/calls?outcome=answered", cookie, &api)
	if len(api.Calls) != 1 || api.Calls[0].ID != a || api.Calls[0].AnsweredBy != "anna" {
		t.Errorf("API with filter: %+v", api.Calls)
	}
}

func TestCallLogPagingKeepsFilter(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	for i := range callsPerPage + 5 {
		f.logCall("gsm1", "+79161234567", t0.Add(time.Duration(i)*time.Minute), store.Summary{Outcome: store.OutcomeMissed})
		f.logCall("gsm2", "+79161234567", t0.Add(time.Duration(i)*time.Minute), store.Summary{Outcome: store.OutcomeMissed})
	}
	body := f.do(req{path: "/calls?line=gsm1", cookies: []*http.Cookie{cookie}}).Body.String()
	i := strings.Index(body, `rel="next"`)
	if i < 0 {
		t.Fatal("no link to older calls")
	}
	start := strings.LastIndex(body[:i], `href="`) + len(`href="`)
	next := strings.ReplaceAll(body[start:strings.IndexByte(body[start:], '"')+start], "&amp;", "&")
	if !strings.Contains(next, "line=gsm1") || !strings.Contains(next, "before=") {
		t.Fatalf("older link %q loses the filter", next)
	}
	page2 := f.do(req{path: next, cookies: []*http.Cookie{cookie}}).Body.String()
	if n := len(callIDs(page2)); n != 5 {
		t.Errorf("second page: %d calls, want 5", n)
	}
	if strings.Contains(page2, ">gsm2<") && strings.Count(page2, ">gsm2<") > 1 {
		t.Errorf("second page shows calls of the other line")
	}
}

func TestCallPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	first := f.logCall("gsm1", "+79161234567", t0, store.Summary{Outcome: store.OutcomeMissed})
	id := f.logCall("gsm1", "+79161234567", t0.Add(time.Hour), store.Summary{
		Outcome: store.OutcomeAnswered, MenuPath: "1,0", Nodes: "greeting,menu,queue", AnsweredBy: `<b>Анна</b>`,
		QueueWait: 12 * time.Second, Talk: 95 * time.Second, Survey: 4, Recording: "rec-1.wav",
	})
	writeWAV(t, filepath.Join(f.st.Dir(), "recordings", "rec-1.wav"), tone(1))
	path := fmt.Sprintf("/calls/%d", id)
	w := f.do(req{path: path, cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s: %d", path, w.Code)
	}
	body := w.Body.String()
	T := messages[langEN]
	for _, want := range []string{
		"1 → 0", "greeting → menu → queue", htmlEscaped(`<b>Анна</b>`), "0:12", "1:35", "4 / 5",
		`<audio controls preload="metadata" src="` + path + `/recording" id="recording">`,
		fmt.Sprintf(`id="hist-%d"`, first),
		`href="/calls?number=%2B79161234567"`,
		`<option value="new" selected>` + T["status_new"],
	} {
		if !strings.Contains(body, want) {
			t.Errorf("call page lacks %s", want)
		}
	}
	if strings.Contains(body, "<b>Анна") {
		t.Error("answered-by is not escaped")
	}

	// The recording plays with Range, like voicemail.
	w = f.do(req{path: path + "/recording", cookies: []*http.Cookie{cookie}, header: map[string]string{"Range": "bytes=0-43"}})
	if w.Code != http.StatusPartialContent || w.Body.Len() != 44 || w.Header().Get("Content-Type") != "audio/wav" ||
		!bytes.HasPrefix(w.Body.Bytes(), []byte("RIFF")) {
		t.Errorf("recording range: %d, %d bytes, %s", w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
	}
	if w := f.do(req{path: fmt.Sprintf("/calls/%d/recording", first), cookies: []*http.Cookie{cookie}}); w.Code != http.StatusNotFound {
		t.Errorf("call without a recording: %d", w.Code)
	}
	for _, p := range []string{"/calls/999", "/calls/x", "/calls/-1"} {
		if w := f.do(req{path: p, cookies: []*http.Cookie{cookie}}); w.Code != http.StatusNotFound {
			t.Errorf("%s: %d, want 404", p, w.Code)
		}
	}

	// A note and a status, by form; a stranger's form token is refused.
	note := "перезвонить после обеда\n<script>x</script>"
	w = f.do(req{method: "POST", path: path + "/note", cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {csrf}, "note": {note}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != path+"?saved=note" {
		t.Fatalf("note: %d %s", w.Code, w.Header().Get("Location"))
	}
	w = f.do(req{method: "POST", path: path + "/status", cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {csrf}, "status": {store.StatusInProgress}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status: %d", w.Code)
	}
	for _, bad := range []url.Values{{"csrf": {csrf}, "status": {"closed"}}, {"csrf": {csrf}}} {
		if w := f.do(req{method: "POST", path: path + "/status", cookies: []*http.Cookie{cookie}, form: bad}); w.Code != http.StatusBadRequest {
			t.Errorf("status %v: %d, want 400", bad, w.Code)
		}
	}
	if w := f.do(req{method: "POST", path: path + "/note", cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {"forged"}, "note": {"x"}}}); w.Code != http.StatusForbidden {
		t.Errorf("forged note: %d", w.Code)
	}
	c, err := f.st.Call(context.Background(), id)
	if err != nil || c.Note != note || c.Status != store.StatusInProgress {
		t.Fatalf("stored note %q status %q (%v)", c.Note, c.Status, err)
	}
	// Who set them is in the audit log, on one line (the note's line break gone).
	entries, _ := f.st.ListAudit(context.Background(), 5)
	var audited []string
	for _, e := range entries {
		audited = append(audited, e.User+" "+e.Action+": "+e.Detail)
	}
	for _, want := range []string{fmt.Sprintf("owner call_status: call %d: in_progress", id), fmt.Sprintf("owner call_note: call %d: перезвонить после обеда", id)} {
		if !slices.ContainsFunc(audited, func(a string) bool { return strings.HasPrefix(a, want) }) {
			t.Errorf("audit log %q lacks %q", audited, want)
		}
	}
	for _, a := range audited {
		if strings.Contains(a, "call_note") && strings.Contains(a, "\n") {
			t.Errorf("audited note not on one line: %q", a)
		}
	}
	body = f.do(req{path: path + "?saved=note", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}}).Body.String()
	for _, want := range []string{htmlEscaped(T["call_note_saved"]), htmlEscaped(note), `<option value="in_progress" selected>`} {
		if !strings.Contains(body, want) {
			t.Errorf("after saving, page lacks %s", want)
		}
	}
}

// flushRecorder is a ResponseRecorder that notes how much of the body was written at each flush.
type flushRecorder struct {
	*httptest.ResponseRecorder
	flushedAt []int
}

func (r *flushRecorder) Flush() {
	r.flushedAt = append(r.flushedAt, r.Body.Len())
	r.ResponseRecorder.Flush()
}

func TestCallsCSV(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	id := f.logCall("gsm1", "+79161234567", t0, store.Summary{Outcome: store.OutcomeAnswered, MenuPath: "1", AnsweredBy: "=HYPERLINK(\"http://evil\")",
		Talk: 30 * time.Second, Survey: 5})
	for _, note := range []string{"=1+2", "@SUM(A1)", "-2+3", "+1 (916)", "Позвонить, \"срочно\"\nвторая строка"} {
		nid := f.logCall("gsm1", "+74951112233", t0.Add(time.Minute), store.Summary{Outcome: store.OutcomeMissed})
		f.do(req{method: "POST", path: fmt.Sprintf("/calls/%d/note", nid), cookies: []*http.Cookie{cookie}, form: url.Values{"csrf": {csrf}, "note": {note}}})
	}
	f.logCall("gsm2", "+79160000000", t0.Add(2*time.Minute), store.Summary{Outcome: store.OutcomeVoicemail})

	w := f.do(req{path: "/calls.csv?line=gsm1", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "ru"}})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/csv; charset=utf-8" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), `attachment; filename="calls-`) {
		t.Fatalf("CSV: %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Content-Disposition"))
	}
	raw := w.Body.Bytes()
	if !bytes.HasPrefix(raw, []byte("\xef\xbb\xbf")) {
		t.Fatalf("no UTF-8 byte order mark: % x", raw[:min(3, len(raw))])
	}
	rows, err := csv.NewReader(bytes.NewReader(raw[3:])).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v\n%s", err, raw)
	}
	if len(rows) != 7 || rows[0][0] != messages[langRU]["csv_id"] || rows[0][3] != messages[langRU]["csv_number"] {
		t.Fatalf("%d rows, header %v", len(rows), rows[0])
	}
	last := rows[len(rows)-1]
	if last[0] != strconv.FormatInt(id, 10) || last[3] != "'+79161234567" || last[6] != `'=HYPERLINK("http://evil")` ||
		last[8] != "30" || last[12] != "5" || last[4] != messages[langRU]["out_answered"] {
		t.Errorf("first call's row %q", last)
	}
	for _, r := range rows[1:] {
		for i, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %d cell %q could run as a formula", i, cell)
			}
		}
	}
	notes := map[string]bool{}
	for _, r := range rows[1:6] {
		notes[r[15]] = true
	}
	for _, want := range []string{"'=1+2", "'@SUM(A1)", "'-2+3", "'+1 (916)", "Позвонить, \"срочно\"\nвторая строка"} {
		if !notes[want] {
			t.Errorf("no note %q in %v", want, notes)
		}
	}
	if w := f.do(req{path: "/calls.csv?outcome=x", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusBadRequest {
		t.Errorf("bad filter: %d", w.Code)
	}
}

func TestCSVSafe(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "=1": "'=1", "+7916": "'+7916", "-1": "'-1", "@x": "'@x", "\tx": "'\tx", "\rx": "'\rx",
		"ok": "ok", " =1": " =1", "Иван": "Иван", "1=1": "1=1",
	} {
		if got := csvSafe(in); got != want {
			t.Errorf("csvSafe(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCallsCSVStreams: a large export reaches the client in pieces while it is read, not
// after the whole file was built.
func TestCallsCSVStreams(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ctx := context.Background()
	const n = 2*csvFlushRows + 50
	for i := range n {
		if _, err := f.st.StartCall(ctx, "gsm1", "+79161234567", t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	r := httptest.NewRequest("GET", "/calls.csv", nil)
	r.AddCookie(cookie)
	w := &flushRecorder{ResponseRecorder: httptest.NewRecorder()}
	f.h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("%d", w.Code)
	}
	if len(w.flushedAt) < 2 || w.flushedAt[0] == 0 || w.flushedAt[0] >= w.Body.Len() {
		t.Errorf("flushed at %v of %d bytes: not streamed", w.flushedAt, w.Body.Len())
	}
	if lines := strings.Count(w.Body.String(), "\r\n"); lines != n+1 {
		t.Errorf("%d lines, want %d", lines, n+1)
	}
}

func TestStatsPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.srv.now = f.now // 2026-03-01 12:00 UTC
	cookie, _ := f.login()
	f.logCall("gsm1", "+79161234567", t0, store.Summary{Outcome: store.OutcomeAnswered, MenuPath: "1", QueueWait: 10 * time.Second, Talk: time.Minute, Survey: 5})
	f.logCall("gsm1", "+79161234567", t0.Add(-24*time.Hour), store.Summary{Outcome: store.OutcomeAnswered, MenuPath: "1", QueueWait: 20 * time.Second, Talk: 3 * time.Minute, Survey: 2})
	f.logCall("gsm1", "+79161234568", t0.Add(time.Hour), store.Summary{Outcome: store.OutcomeMissed})
	f.logCall("gsm1", `<svg/onload=alert(1)>`, t0.Add(-2*time.Hour), store.Summary{Outcome: store.OutcomeVoicemail, MenuPath: "2,<b>"})
	f.logCall("gsm1", "+79161234569", t0.AddDate(0, 0, -40), store.Summary{Outcome: store.OutcomeMissed}) // outside 30 days

	for _, lang := range []string{langRU, langEN} {
		T := messages[lang]
		w := f.do(req{path: "/stats", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": lang}})
		if w.Code != http.StatusOK {
			t.Fatalf("GET /stats: %d", w.Code)
		}
		body := w.Body.String()
		for _, want := range []string{
			`id="st-total">4<`, `id="st-answered">2<`, `id="st-missed">1<`, `id="st-voicemail">1<`,
			`id="st-wait">0:15<`, `id="st-talk">2:00<`, `id="st-survey">3.5 / 5<`,
			// Charts are SVG with a title, and each has a table.
			`<svg class="chart" id="chart-days"`, `<title id="chart-days-t">` + htmlEscaped(T["stats_by_day"]) + `</title>`,
			`<svg class="chart" id="chart-hours"`, `<svg class="chart" id="chart-scores"`,
			`id="days-table"`, `id="hours-table"`, `id="scores-table"`,
			`<th scope="row">09:00–09:59</th><td class="n">2</td>`,
			`<th scope="row">1</th><td class="n">2</td>`,
			htmlEscaped("2 → <b>"),
			`href="/stats?days=7"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: stats page lacks %s", lang, want)
			}
		}
		if strings.Contains(body, "<svg/onload") || strings.Contains(body, "<b>") {
			t.Errorf("%s: unescaped input on the stats page", lang)
		}
		if n := strings.Count(body, "<rect "); n < 5 {
			t.Errorf("%s: %d bars drawn", lang, n)
		}
	}
	var js statsJSON
	getJSON(t, f, "/api/stats?days=7", cookie, &js)
	if js.Days != 7 || js.Total != 4 || js.Outcomes["answered"] != 2 || js.ByHour[9] != 2 || len(js.ByDay) != 7 ||
		js.AvgWaitSeconds != 15 || js.AvgSurvey != 3.5 || js.Scores != [5]int{0, 1, 0, 0, 1} || len(js.Menu) != 2 || js.Menu[0].Path != "1" {
		t.Errorf("API stats %+v", js)
	}
	getJSON(t, f, "/api/stats?days=1000", cookie, &js)
	if js.Days != 30 {
		t.Errorf("unknown period gave %d days, want the default", js.Days)
	}
}

func TestNiceMax(t *testing.T) {
	for _, tt := range []struct{ in, want int }{{0, 1}, {1, 1}, {4, 4}, {5, 5}, {7, 10}, {11, 20}, {23, 50}, {99, 100}, {101, 200}, {999, 1000}} {
		if got := niceMax(tt.in); got != tt.want {
			t.Errorf("niceMax(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
	c := barChart("c", "t", []string{"a", "b"}, 1, func(int) string { return "" }, series{"bar", []int{3, 0}})
	if len(c.Bars) != 1 || c.Bars[0].H != chartBottom-chartTop || c.Bars[0].Y != chartTop {
		t.Errorf("tallest bar %+v", c.Bars)
	}
}

func TestSettings(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	ctx := context.Background()
	if err := f.st.SetSetting(ctx, daemon.SettingSMTPPassword, "old-secret-pw"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.AddAlert(ctx, "sms", daemon.AlertMissed, `{"x":1}`, time.Time{}); err != nil {
		t.Fatal(err)
	}
	failed, _ := f.st.AddAlert(ctx, "email", daemon.AlertVoicemail, `{}`, time.Time{})
	if err := f.st.AlertFailed(ctx, failed, "dial tcp: <refused>", time.Time{}); err != nil {
		t.Fatal(err)
	}
	en := map[string]string{"Accept-Language": "en"}
	T := messages[langEN]
	body := f.do(req{path: "/settings", cookies: []*http.Cookie{cookie}, header: en}).Body.String()
	for _, want := range []string{
		htmlEscaped(T["set_pw_saved"]), `<option value="RU" selected>`, `<option value="1" selected>1</option>`,
		htmlEscaped(T["alert_kind_missed"]), htmlEscaped(T["alert_gave_up"]), htmlEscaped("dial tcp: <refused>"),
	} {
		if !strings.Contains(body, want) {
			t.Errorf("settings page lacks %s", want)
		}
	}
	if strings.Contains(body, "old-secret-pw") {
		t.Fatal("the SMTP password is in the page")
	}

	good := url.Values{
		"csrf": {csrf}, "alert_sms": {"8 916 123-45-67"}, "alert_email": {"owner@example.ru"},
		"alert_webhook": {"https://api.telegram.org/bot1:x/sendMessage?chat_id=5"}, "smtp_host": {"smtp.example.ru:587"},
		"smtp_user": {"owner"}, "smtp_password": {""}, "smtp_from": {"box@example.ru"}, "missed_sms_text": {"Мы перезвоним!\r\nСпасибо."},
		"language": {"en"}, "answer_rings": {"3"}, "region": {"RU"}, "retention_days": {"090"}, "retention_mb": {" 500 "},
	}
	w := f.do(req{method: "POST", path: "/settings", cookies: []*http.Cookie{cookie}, form: good})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", w.Code, w.Body)
	}
	for k, want := range map[string]string{
		daemon.SettingAlertSMS: "+79161234567", daemon.SettingAlertEmail: "owner@example.ru", daemon.SettingSMTPHost: "smtp.example.ru:587",
		daemon.SettingMissedSMS: "Мы перезвоним!\nСпасибо.", "language": "en", "answer_rings": "3",
		daemon.SettingSMTPPassword:  "old-secret-pw", // an empty field keeps it
		daemon.SettingRetentionDays: "90", daemon.SettingRetentionMB: "500",
	} {
		if got, _ := f.st.Setting(ctx, k, ""); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// An empty retention field is no limit.
	good.Set("retention_days", "")
	f.do(req{method: "POST", path: "/settings", cookies: []*http.Cookie{cookie}, form: good})
	if got, _ := f.st.Setting(ctx, daemon.SettingRetentionDays, ""); got != "0" {
		t.Errorf("retention days after emptying: %q", got)
	}
	// A new password is stored and never shown; clearing removes it.
	good.Set("smtp_password", "new-secret-pw")
	f.do(req{method: "POST", path: "/settings", cookies: []*http.Cookie{cookie}, form: good})
	if got, _ := f.st.Setting(ctx, daemon.SettingSMTPPassword, ""); got != "new-secret-pw" {
		t.Errorf("password %q", got)
	}
	if strings.Contains(f.do(req{path: "/settings", cookies: []*http.Cookie{cookie}}).Body.String(), "new-secret-pw") {
		t.Error("the new SMTP password is in the page")
	}
	good.Set("smtp_password", "")
	good.Set("smtp_password_clear", "1")
	f.do(req{method: "POST", path: "/settings", cookies: []*http.Cookie{cookie}, form: good})
	if got, _ := f.st.Setting(ctx, daemon.SettingSMTPPassword, "none"); got != "" {
		t.Errorf("password after clearing %q", got)
	}

	// Wrong fields: nothing is saved and each gets its word.
	for field, bad := range map[string]string{
		"alert_sms": "12", "alert_email": "Boss <boss@example.ru>", "alert_webhook": "javascript:alert(1)",
		"smtp_host": "smtp.example.ru", "smtp_from": "not an address", "language": "de", "answer_rings": "11",
		"region": "XX", "missed_sms_text": strings.Repeat("я", 671), "smtp_password": "a\nb",
		"retention_days": "-1", "retention_mb": "1e3",
	} {
		form := url.Values{}
		for k, v := range good {
			form[k] = v
		}
		form.Del("smtp_password_clear")
		form.Set(field, bad)
		before, _ := f.st.Setting(ctx, "answer_rings", "")
		w := f.do(req{method: "POST", path: "/settings", cookies: []*http.Cookie{cookie}, form: form, header: en})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), htmlEscaped(T["settings_fix"])) {
			t.Errorf("%s=%q: %d", field, bad, w.Code)
		}
		if after, _ := f.st.Setting(ctx, "answer_rings", ""); after != before {
			t.Errorf("%s=%q: settings saved anyway", field, bad)
		}
	}
	audit, err := f.st.ListAudit(ctx, 10)
	if err != nil || len(audit) == 0 || audit[0].Action != "settings changed" || strings.Contains(audit[0].Detail, "secret") {
		t.Errorf("audit %+v (%v)", audit, err)
	}
}

func TestUsers(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	ctx := context.Background()
	post := func(path string, form url.Values) *httptest.ResponseRecorder {
		form.Set("csrf", csrf)
		return f.do(req{method: "POST", path: path, cookies: []*http.Cookie{cookie}, form: form, header: map[string]string{"Accept-Language": "en"}})
	}
	if w := post("/users", url.Values{"name": {"anna"}, "password": {"operator pw 1"}, "password2": {"operator pw 1"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("add: %d\n%s", w.Code, w.Body)
	}
	if u, err := f.st.CheckPassword(ctx, "anna", "operator pw 1"); err != nil || u.Role != store.RoleOperator {
		t.Fatalf("anna: %+v %v", u, err)
	}
	T := messages[langEN]
	for _, tt := range []struct {
		form url.Values
		key  string
	}{
		{url.Values{"name": {"owner"}, "password": {"takeover pw"}, "password2": {"takeover pw"}}, "err_user_exists"},
		{url.Values{"name": {"anna"}, "password": {"another pw 2"}, "password2": {"another pw 2"}}, "err_user_exists"},
		{url.Values{"name": {" bob"}, "password": {"long enough"}, "password2": {"long enough"}}, "err_user_name"},
		{url.Values{"name": {"bob"}, "password": {"short"}, "password2": {"short"}}, "err_weak"},
		{url.Values{"name": {"bob"}, "password": {"long enough"}, "password2": {"long enougH"}}, "err_mismatch"},
	} {
		w := post("/users", tt.form)
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), htmlEscaped(T[tt.key])) {
			t.Errorf("%v: %d, want 400 with %s", tt.form, w.Code, tt.key)
		}
	}
	if u, err := f.st.User(ctx, "owner"); err != nil || u.Role != store.RoleOwner {
		t.Fatalf("the owner was changed: %+v %v", u, err)
	}
	if _, err := f.st.Session(ctx, cookie.Value); err != nil {
		t.Fatalf("the owner's session ended: %v", err) // SetPassword on the owner would end it
	}
	body := f.do(req{path: "/users", cookies: []*http.Cookie{cookie}}).Body.String()
	if !strings.Contains(body, `action="/users/anna/password"`) || strings.Contains(body, `action="/users/owner/delete"`) {
		t.Errorf("users page actions wrong:\n%s", body)
	}

	// Reset anna's password: her sessions end.
	annaToken, _ := f.st.CreateSession(ctx, "anna", time.Hour)
	if w := post("/users/anna/password", url.Values{"password": {"fresh password"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("reset: %d", w.Code)
	}
	if _, err := f.st.CheckPassword(ctx, "anna", "fresh password"); err != nil {
		t.Errorf("new password: %v", err)
	}
	if _, err := f.st.Session(ctx, annaToken); err == nil {
		t.Error("anna's session survived the reset")
	}
	if w := post("/users/anna/password", url.Values{"password": {"short"}}); w.Code != http.StatusBadRequest {
		t.Errorf("weak reset: %d", w.Code)
	}
	// The owner is not changed from here; unknown users are 404.
	if w := post("/users/owner/password", url.Values{"password": {"hijacked password"}}); w.Code != http.StatusForbidden {
		t.Errorf("owner reset: %d", w.Code)
	}
	if w := post("/users/owner/delete", url.Values{}); w.Code != http.StatusForbidden {
		t.Errorf("owner delete: %d", w.Code)
	}
	if w := post("/users/nobody/delete", url.Values{}); w.Code != http.StatusNotFound {
		t.Errorf("unknown delete: %d", w.Code)
	}
	if w := post("/users/anna/delete", url.Values{}); w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := f.st.User(ctx, "anna"); err == nil {
		t.Error("anna is still there")
	}
	audit, _ := f.st.ListAudit(ctx, 10)
	var actions []string
	for _, e := range audit {
		if e.User == "owner" {
			actions = append(actions, e.Action)
		}
	}
	if got := strings.Join(actions[:min(3, len(actions))], ","); got != "user removed,password reset,user added" {
		t.Errorf("audit actions %q", got)
	}
}

func TestDiskAlert(t *testing.T) {
	T := messages[langEN]
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name string
		st   diskguard.Status
		want string
	}{
		{"not measured", diskguard.Status{}, ""},
		{"fine", diskguard.Status{Checked: now, Recording: true}, ""},
		{"read-only", diskguard.Status{Checked: now, ReadOnly: true}, T["disk_readonly"]},
		{"working copy", diskguard.Status{WorkingCopy: true, Checked: now, Recording: true, Free: 1 << 30}, T["disk_copy"]},
		{"working copy, not measured yet", diskguard.Status{WorkingCopy: true}, T["disk_copy"]},
		{"full", diskguard.Status{Checked: now, Free: 50 << 20}, fmt.Sprintf(T["disk_full"], "50.0 MB")},
		{"other", diskguard.Status{Checked: now, Recording: true, Alert: "x"}, T["disk_problem"]},
	} {
		if got := diskAlert(T, tt.st); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
	if got := humanBytes(3 << 30); got != "3.0 GB" {
		t.Errorf("humanBytes: %s", got)
	}
}

// TestAdminPagesFitAndSpeak: every new page answers in both languages for the owner, and the
// pages an operator may see answer for them too; and nothing leaves the data folder.
func TestAdminPagesAnswer(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	opCookie, _ := operatorSession(t, f)
	f.logCall("gsm1", "+79161234567", t0, store.Summary{Outcome: store.OutcomeAnswered, Recording: "../hotline.db"})
	for _, p := range []string{"/calls", "/calls/1", "/stats", "/settings", "/users", "/calls.csv"} {
		for _, lang := range []string{langRU, langEN} {
			w := f.do(req{path: p, cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": lang}})
			if w.Code != http.StatusOK {
				t.Errorf("%s %s: %d", lang, p, w.Code)
			}
		}
	}
	for _, p := range []string{"/calls/1", "/stats", "/calls.csv"} {
		if w := f.do(req{path: p, cookies: []*http.Cookie{opCookie}}); w.Code != http.StatusOK {
			t.Errorf("operator %s: %d", p, w.Code)
		}
	}
	if w := f.do(req{path: "/calls/1/recording", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusNotFound {
		t.Errorf("recording outside the folder: %d", w.Code)
	}
	if _, err := os.Stat(filepath.Join(f.st.Dir(), "hotline.db")); err != nil {
		t.Fatal(err)
	}
	// The owner sees the settings tabs, the operator does not.
	if body := f.do(req{path: "/calls", cookies: []*http.Cookie{opCookie}}).Body.String(); strings.Contains(body, `href="/settings"`) || !strings.Contains(body, `href="/stats"`) {
		t.Error("operator's menu is wrong")
	}
	if body := f.do(req{path: "/calls", cookies: []*http.Cookie{cookie}}).Body.String(); !strings.Contains(body, `href="/settings"`) || !strings.Contains(body, `href="/users"`) {
		t.Error("owner's menu lacks settings or users")
	}
}

// FuzzLogQuery: whatever the query string, parsing does not panic; a query it accepts has only
// known outcomes, no negative paging, and survives the round trip through the links the page
// makes.
func FuzzLogQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-03-01&to=2026-03-02", "outcome=answered&line=gsm1", "number=%2B7+916",
		"status=in_progress&before=12", "outcome=bogus", "from=2026-02-30", "line=%00%ff&number=<script>", "before=-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		r := httptest.NewRequest("GET", "/calls", nil)
		r.URL.RawQuery = raw
		q, ok := parseLogQuery(r, time.UTC)
		if !ok {
			return
		}
		if q.Outcome != "" && !containsString(logOutcomes, q.Outcome) {
			t.Fatalf("outcome %q accepted", q.Outcome)
		}
		if q.Before < 0 {
			t.Fatalf("before %d", q.Before)
		}
		back := httptest.NewRequest("GET", q.url("/calls", q.Before), nil)
		q2, ok := parseLogQuery(back, time.UTC)
		if !ok || q2 != q {
			t.Fatalf("round trip of %q: %+v, %v, want %+v", raw, q2, ok, q)
		}
		lf := q.filter(time.UTC, 10)
		if !lf.To.IsZero() && !lf.From.IsZero() && q.From == q.To && lf.To.Sub(lf.From) != 24*time.Hour {
			t.Fatalf("one day is %v", lf.To.Sub(lf.From))
		}
	})
}

// FuzzCSVSafe: no cell a spreadsheet could run as a formula leaves csvSafe, and nothing else
// changes.
func FuzzCSVSafe(f *testing.F) {
	for _, s := range []string{"", "=1+1", "+7916", "-", "@", "\t", "\r", "ok", "Иван"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := csvSafe(s)
		if got != "" && strings.ContainsRune("=+-@\t\r", rune(got[0])) {
			t.Fatalf("csvSafe(%q) = %q", s, got)
		}
		if got != s && got != "'"+s {
			t.Fatalf("csvSafe(%q) = %q changes more than the start", s, got)
		}
	})
}
