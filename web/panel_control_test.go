package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// fakeControl is the switchboard's call control as the panel sees it: it keeps what it was
// asked and answers with errs[action] (nil: done).
type fakeControl struct {
	mu    sync.Mutex
	calls []switchboard.LiveCall
	errs  map[string]error
	got   []string
}

func (c *fakeControl) LiveCalls() []switchboard.LiveCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

func (c *fakeControl) did(action, line string, op int64, by string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.errs[action]; err != nil {
		return fmt.Errorf("%s on %s: %w", action, line, err)
	}
	c.got = append(c.got, fmt.Sprintf("%s %s %d by %s", action, line, op, by))
	return nil
}

func (c *fakeControl) HangupCall(_ context.Context, line, by string) error {
	return c.did("hangup", line, 0, by)
}

func (c *fakeControl) TransferCall(_ context.Context, line string, op int64, by string) error {
	return c.did("transfer", line, op, by)
}

func (c *fakeControl) TakeCall(_ context.Context, line string, op int64, by string) error {
	return c.did("take", line, op, by)
}

func (c *fakeControl) requests() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

// controlFixture is a box with three lines: a caller waiting while Anna's phone rings (sim1),
// a caller talking with Boris (sim2), an idle line (sim3); operators Anna and Boris on SIP
// phones, Vera on a mobile. The operator session is Anna's.
func controlFixture(t *testing.T) (*fixture, *fakeControl, map[string]int64) {
	t.Helper()
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	ops := map[string]int64{}
	for _, o := range []store.Operator{
		{Name: "Anna", SIPUser: "anna", SIPPassword: "anna-secret-1234", Available: true},
		{Name: "Boris", SIPUser: "boris", SIPPassword: "boris-secret-1234", Available: true},
		{Name: "Vera", Mobile: "+79160000003", Available: true},
	} {
		id, err := f.st.AddOperator(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		ops[o.Name] = id
	}
	f.srv.lines = &fakeLines{lines: []daemon.LineInfo{
		{ID: "sim1", State: "ready", InCall: true, CallNumber: "+79161234567", CallSince: t0},
		{ID: "sim2", State: "ready", InCall: true, CallNumber: "+79167654321", CallSince: t0},
		{ID: "sim3", State: "ready"},
	}}
	fc := &fakeControl{errs: map[string]error{}, calls: []switchboard.LiveCall{
		{LineID: "sim1", CallID: 1, Number: "+79161234567", Since: t0, State: switchboard.StateRinging, With: []string{"Anna"}, Position: 1},
		{LineID: "sim2", CallID: 2, Number: "+79167654321", Since: t0, State: switchboard.StateTalking, With: []string{"Boris"}},
	}}
	f.srv.control = fc
	return f, fc, ops
}

// form returns the HTML of the form that posts to action, or "".
func form(body, action string) string {
	m := regexp.MustCompile(`(?s)<form method="post" action="` + regexp.QuoteMeta(action) + `".*?</form>`).FindString(body)
	return m
}

func TestPanelCallControlPage(t *testing.T) {
	f, fc, ops := controlFixture(t)
	opCookie, opCSRF := operatorSession(t, f)
	en := map[string]string{"Accept-Language": "en"}

	w := f.do(req{path: "/panel", cookies: []*http.Cookie{opCookie}, header: en})
	body := w.Body.String()
	if w.Code != http.StatusOK {
		t.Fatalf("panel: %d %s", w.Code, body)
	}
	for _, want := range []string{"Ringing: Anna", "Talking with Boris", "ring an operator now"} {
		if !strings.Contains(body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	if strings.Contains(body, "on the operator&#39;s phone") {
		t.Error("the panel still says control stays on the phones")
	}
	// The waiting caller: ring someone now (Anna, the operator logged in, is picked), or hang up.
	take := form(body, "/panel/lines/sim1/take")
	if !strings.Contains(take, `<option value="`+strconv.FormatInt(ops["Anna"], 10)+`" selected>Anna (me)</option>`) ||
		!strings.Contains(take, ">Vera</option>") || !strings.Contains(take, `name="csrf" value="`+opCSRF+`"`) {
		t.Errorf("take form: %s", take)
	}
	if form(body, "/panel/lines/sim1/transfer") != "" || form(body, "/panel/lines/sim1/hangup") == "" {
		t.Error("the waiting caller's card: want take and hang up only")
	}
	// The conversation: transfer (to SIP phones only) or hang up.
	xfer := form(body, "/panel/lines/sim2/transfer")
	if !strings.Contains(xfer, ">Boris</option>") || strings.Contains(xfer, "Vera") {
		t.Errorf("transfer form: %s", xfer)
	}
	if form(body, "/panel/lines/sim2/take") != "" || form(body, "/panel/lines/sim2/hangup") == "" {
		t.Error("the conversation's card: want transfer and hang up only")
	}
	if strings.Contains(body, "/panel/lines/sim3/") {
		t.Error("the idle line has call buttons")
	}

	// The operator rings Vera for the waiting caller, transfers Boris's call to Anna, hangs up.
	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/panel/lines/sim1/take", url.Values{"operator": {strconv.FormatInt(ops["Vera"], 10)}}, "take"},
		{"/panel/lines/sim2/transfer", url.Values{"operator": {strconv.FormatInt(ops["Anna"], 10)}}, "transfer"},
		{"/panel/lines/sim2/hangup", url.Values{}, "hangup"},
	} {
		tc.form.Set("csrf", opCSRF)
		w := f.do(req{method: "POST", path: tc.path, form: tc.form, cookies: []*http.Cookie{opCookie}})
		line := strings.Split(tc.path, "/")[3]
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/panel?ok="+tc.want+"#line-"+line {
			t.Errorf("%s: %d %q", tc.path, w.Code, w.Header().Get("Location"))
		}
	}
	want := []string{
		fmt.Sprintf("take sim1 %d by anna", ops["Vera"]),
		fmt.Sprintf("transfer sim2 %d by anna", ops["Anna"]),
		"hangup sim2 0 by anna",
	}
	if got := fc.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}
	audit, err := f.st.ListAudit(context.Background(), 10)
	if err != nil || len(audit) < 3 || audit[0].Action != "call_hangup" || audit[0].User != "anna" {
		t.Errorf("audit log: %+v, %v", audit, err)
	}
	w = f.do(req{path: "/panel?ok=take", cookies: []*http.Cookie{opCookie}, header: en})
	if !strings.Contains(w.Body.String(), "The chosen operator&#39;s phone rings.") {
		t.Error("no notice after the take")
	}

	// Refusals: the switchboard's error becomes the page's words; bad input never reaches it.
	fc.errs["transfer"] = switchboard.ErrNotTalking
	fc.errs["take"] = switchboard.ErrNoPhone
	for _, tc := range []struct {
		path, op, wantErr, words string
	}{
		{"/panel/lines/sim1/transfer", strconv.FormatInt(ops["Boris"], 10), "nottalking", "Nobody is talking with the caller now"},
		{"/panel/lines/sim1/take", strconv.FormatInt(ops["Boris"], 10), "nophone", "no phone the box can ring now"},
		{"/panel/lines/sim1/take", "x", "unknownop", "There is no such operator."},
		{"/panel/lines/sim1/take", "-3", "unknownop", "There is no such operator."},
	} {
		w := f.do(req{method: "POST", path: tc.path, form: url.Values{"csrf": {opCSRF}, "operator": {tc.op}}, cookies: []*http.Cookie{opCookie}})
		loc := w.Header().Get("Location")
		if w.Code != http.StatusSeeOther || loc != "/panel?err="+tc.wantErr+"#line-sim1" {
			t.Errorf("%s %s: %d %q", tc.path, tc.op, w.Code, loc)
			continue
		}
		page := f.do(req{path: strings.Split(loc, "#")[0], cookies: []*http.Cookie{opCookie}, header: en}).Body.String()
		if !strings.Contains(page, `role="alert">`) || !strings.Contains(page, tc.words) {
			t.Errorf("after %s: the page does not say %q", tc.path, tc.words)
		}
	}
	if n := len(fc.requests()); n != 3 {
		t.Errorf("%d requests reached the switchboard, want the 3 above", n)
	}

	// A post without the form token, or without a login, changes nothing.
	if w := f.do(req{method: "POST", path: "/panel/lines/sim2/hangup", form: url.Values{"csrf": {"forged"}}, cookies: []*http.Cookie{opCookie}}); w.Code != http.StatusForbidden {
		t.Errorf("forged form token: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/panel/lines/sim2/hangup", form: url.Values{}}); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/login" {
		t.Errorf("no login: %d %q", w.Code, w.Header().Get("Location"))
	}
	if n := len(fc.requests()); n != 3 {
		t.Errorf("%d requests reached the switchboard, want 3", n)
	}
}

func TestPanelCallControlAPI(t *testing.T) {
	f, fc, ops := controlFixture(t)
	opCookie, _ := operatorSession(t, f)
	post := func(path, body string, header map[string]string) (int, string) {
		w := f.do(req{method: "POST", path: path, body: body, cookies: []*http.Cookie{opCookie}, header: header})
		return w.Code, strings.TrimSpace(w.Body.String())
	}
	vera := strconv.FormatInt(ops["Vera"], 10)
	for _, tc := range []struct {
		path, body string
		err        error
		wantCode   int
		wantBody   string
	}{
		{"/api/panel/lines/sim1/take", `{"operator_id": ` + vera + `}`, nil, 200, `{"line":"sim1","done":"take","operator_id":` + vera + `}`},
		{"/api/panel/lines/sim2/transfer", `{"operator_id": ` + vera + `}`, switchboard.ErrNoPhone, 409, `{"error":"the operator has no phone the box can ring now"}`},
		{"/api/panel/lines/sim2/hangup", ``, nil, 200, `{"line":"sim2","done":"hangup"}`},
		{"/api/panel/lines/sim3/hangup", ``, switchboard.ErrNoCall, 404, `{"error":"no call on this line"}`},
		{"/api/panel/lines/sim2/take", `{"operator_id": 1}`, switchboard.ErrNotWaiting, 409, `{"error":"the caller does not wait for a person"}`},
		{"/api/panel/lines/sim1/take", `{"operator_id": 999}`, switchboard.ErrUnknownOperator, 400, `{"error":"unknown operator"}`},
		{"/api/panel/lines/sim1/take", `{}`, nil, 400, `{"error":"operator_id is missing"}`},
		{"/api/panel/lines/sim1/take", `{"operator": 1}`, nil, 400, ``},
	} {
		action := strings.Split(tc.path, "/")[5]
		fc.errs = map[string]error{action: tc.err}
		code, body := post(tc.path, tc.body, nil)
		if code != tc.wantCode || (tc.wantBody != "" && body != tc.wantBody) || !json.Valid([]byte(body)) {
			t.Errorf("POST %s %s: %d %s, want %d %s", tc.path, tc.body, code, body, tc.wantCode, tc.wantBody)
		}
	}
	want := []string{"take sim1 " + vera + " by anna", "hangup sim2 0 by anna"}
	if got := fc.requests(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("requests %q, want %q", got, want)
	}
	fc.errs = map[string]error{}
	// A browser on another site cannot post (CrossOriginProtection); nor can a stranger.
	if code, _ := post("/api/panel/lines/sim2/hangup", "", map[string]string{"Sec-Fetch-Site": "cross-site"}); code != http.StatusForbidden {
		t.Errorf("cross-site: %d", code)
	}
	if w := f.do(req{method: "POST", path: "/api/panel/lines/sim2/hangup"}); w.Code != http.StatusUnauthorized {
		t.Errorf("no login: %d", w.Code)
	}
	if n := len(fc.requests()); n != 2 {
		t.Errorf("%d requests reached the switchboard, want 2", n)
	}

	// GET /api/panel says what each call does.
	var out struct {
		Control   bool `json:"control"`
		Operators []struct {
			ID   int64  `json:"id"`
			Name string `json:"name"`
			SIP  bool   `json:"sip"`
		} `json:"operators"`
		Lines []struct {
			ID        string   `json:"id"`
			CallState string   `json:"call_state"`
			With      []string `json:"with"`
			Position  int      `json:"queue_position"`
		} `json:"lines"`
	}
	raw := getJSON(t, f, "/api/panel", opCookie, &out)
	if !out.Control || len(out.Lines) != 3 || out.Lines[0].CallState != "ringing" || out.Lines[0].Position != 1 ||
		out.Lines[1].CallState != "talking" || strings.Join(out.Lines[1].With, ",") != "Boris" || out.Lines[2].CallState != "" ||
		len(out.Operators) != 3 || out.Operators[2].ID != ops["Vera"] || out.Operators[2].Name != "Vera" || out.Operators[2].SIP || !out.Operators[0].SIP {
		t.Errorf("api panel: %s", raw)
	}
}

// Without call control the panel shows the calls and says the phones do the rest; the API
// says control is off.
func TestPanelWithoutCallControl(t *testing.T) {
	f, fc, _ := controlFixture(t)
	f.srv.control = nil
	opCookie, opCSRF := operatorSession(t, f)
	body := f.do(req{path: "/panel", cookies: []*http.Cookie{opCookie}, header: map[string]string{"Accept-Language": "en"}}).Body.String()
	if !strings.Contains(body, "on the operator&#39;s phone") || strings.Contains(body, "/panel/lines/") || strings.Contains(body, "Talking with") {
		t.Errorf("panel without control: %s", body)
	}
	w := f.do(req{method: "POST", path: "/panel/lines/sim2/hangup", form: url.Values{"csrf": {opCSRF}}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/panel?err=off#line-sim2" {
		t.Errorf("hang-up without control: %d %q", w.Code, w.Header().Get("Location"))
	}
	w = f.do(req{method: "POST", path: "/api/panel/lines/sim2/hangup", cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("API hang-up without control: %d", w.Code)
	}
	if n := len(fc.requests()); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// Each state of a call reads as words in both languages and gets the buttons that fit it.
func TestDescribeCall(t *testing.T) {
	s := &Server{}
	for _, tc := range []struct {
		lc                     switchboard.LiveCall
		en                     string
		hangup, transfer, take bool
	}{
		{switchboard.LiveCall{State: switchboard.StateIncoming}, "Ringing; the box has not answered yet", false, false, false},
		{switchboard.LiveCall{State: switchboard.StateMenu}, "Listening to the greeting and menu", true, false, false},
		{switchboard.LiveCall{State: switchboard.StateVoicemail}, "Leaving a message", true, false, false},
		{switchboard.LiveCall{State: switchboard.StateQueue, Position: 2}, "Waiting in the queue, number 2", true, false, true},
		{switchboard.LiveCall{State: switchboard.StateRinging}, "Ringing the operators", true, false, true},
		{switchboard.LiveCall{State: switchboard.StateRinging, With: []string{"Anna", "Bo\u202eris"}}, "Ringing: Anna, Boris", true, false, true},
		{switchboard.LiveCall{State: switchboard.StateTalking, With: []string{"Anna"}}, "Talking with Anna", true, true, false},
	} {
		for _, lang := range []string{langEN, "ru"} {
			var l panelLine
			s.describeCall(&view{T: messages[lang]}, &l, tc.lc)
			if l.StateText == "" || strings.Contains(l.StateText, "%") || (lang == langEN && l.StateText != tc.en) {
				t.Errorf("%s %s: %q, want %q", lang, tc.lc.State, l.StateText, tc.en)
			}
			if l.CanHangup != tc.hangup || l.CanTransfer != tc.transfer || l.CanTake != tc.take {
				t.Errorf("%s: buttons hang up %v transfer %v take %v", tc.lc.State, l.CanHangup, l.CanTransfer, l.CanTake)
			}
		}
	}
}
