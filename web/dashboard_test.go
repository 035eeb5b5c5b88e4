package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
)

// fakeLines is a LineStatus with fixed answers.
type fakeLines struct {
	lines    []daemon.LineInfo
	counters daemon.Counters
}

func (f *fakeLines) LineInfos() []daemon.LineInfo { return f.lines }
func (f *fakeLines) Counters() daemon.Counters    { return f.counters }

const hostileOperator = `<script>alert("op")</script>&Co`

// testLines are four lines in every kind of trouble: one in a call, one down, one without a
// SIM, one analog, one in a state this version does not know.
func testLines(now time.Time) *fakeLines {
	return &fakeLines{
		lines: []daemon.LineInfo{
			{ID: "gsm1", Kind: "quectel", State: "ready", Model: "EC25", SIM: "ready", Operator: hostileOperator,
				Registered: true, SignalBars: 3, SignalDBm: -85, InCall: true, CallNumber: "+79161234567", CallSince: now.Add(-90 * time.Second)},
			{ID: "gsm2", Kind: "simcom", State: "down"},
			{ID: "gsm3", Kind: "huawei", State: "no SIM", SIM: "not inserted"},
			{ID: "fxo1", Kind: "fxo", State: "ready", InCall: true, CallNumber: `<img src=x onerror=alert(1)>`, CallSince: now.Add(-5 * time.Second)},
			{ID: "gsm5", Kind: "quectel", State: "<b>odd</b>", SignalBars: 9, Roaming: true, Registered: true, Operator: "MTS"},
		},
		counters: daemon.Counters{CallsTotal: 12, CallsAnswered: 10, Voicemails: 4, Underruns: 7, RecorderDrops: 2, DeadlineMisses: 3, SlowestFrame: 23500 * time.Microsecond, ActiveCalls: 2},
	}
}

// dashboardFixture is an owned box with lines, a fixed clock and calls today and yesterday:
// today 2 answered (one of them a voicemail) and 1 missed; yesterday 1 missed.
func dashboardFixture(t *testing.T, lines LineStatus) (*fixture, *http.Cookie) {
	t.Helper()
	f := newOwnedFixture(t, nil)
	f.srv.lines = lines
	f.srv.now = f.now
	f.srv.version = `1.2.3-"test"`
	now := f.now()
	f.addCall("+79161234567", now.Add(-2*time.Hour), nil)
	f.addCall("+79161234568", now.Add(-time.Hour), tone(0.2))
	ctx := context.Background()
	for _, at := range []time.Time{now.Add(-30 * time.Minute), now.Add(-13 * time.Hour)} {
		id, err := f.st.StartCall(ctx, "gsm1", "+74950000000", at)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.st.FinishCall(ctx, id, at.Add(20*time.Second), "", store.OutcomeMissed); err != nil {
			t.Fatal(err)
		}
	}
	cookie, _ := f.login()
	return f, cookie
}

func TestDashboard(t *testing.T) {
	f, cookie := dashboardFixture(t, nil)
	f.srv.lines = testLines(f.now())
	for _, lang := range []string{langRU, langEN} {
		t.Run(lang, func(t *testing.T) {
			T := messages[lang]
			w := f.do(req{path: "/dashboard", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": lang}})
			if w.Code != http.StatusOK {
				t.Fatalf("GET /dashboard: %d\n%s", w.Code, w.Body)
			}
			body := withoutOwnScript(t, f, w.Body.String())
			for _, want := range []string{
				// Without script the page reloads itself; with script /events updates it.
				`<noscript><meta http-equiv="refresh" content="15"></noscript>`,
				`<a href="/dashboard" aria-current="page">` + htmlEscaped(T["nav_dashboard"]),
				// Alerts for the line that is down and the one without a SIM, in plain words.
				`role="alert">` + htmlEscaped(fmt.Sprintf(T["alert_down"], "gsm2")) + `<`,
				`role="alert">` + htmlEscaped(fmt.Sprintf(T["alert_no_sim"], "gsm3")) + `<`,
				// Today's numbers.
				`id="today-answered">2<`, `id="today-missed">1<`, `id="today-voicemail">1<`, `id="today-total">3<`, `id="active-calls">2<`,
				// The operator's name from the network, escaped.
				`class="operator">` + htmlEscaped(hostileOperator) + `<`,
				// Bars drawn by CSS, with words for screen readers.
				`class="bars bars-3" role="img" aria-label="` + htmlEscaped(fmt.Sprintf(T["signal_of"], 3, 5)) + `"><i></i><i></i><i></i><i></i><i></i></span>`,
				`class="bars bars-5"`, // 9 bars from a confused modem are five
				"-85 dBm",
				// States and SIM in plain words.
				`state-ok">` + htmlEscaped(T["line_ready"]) + `<`,
				`state-bad">` + htmlEscaped(T["line_down"]) + `<`,
				`state-bad">` + htmlEscaped(T["line_no_sim"]) + `<`,
				`state-warn">` + htmlEscaped("<b>odd</b>") + `<`,
				`class="sim">` + htmlEscaped(T["sim_ready"]) + `<`,
				`class="sim">` + htmlEscaped(T["sim_absent"]) + `<`,
				htmlEscaped(T["roaming"]),
				// The current calls: a clean number links to tel:, hostile text is escaped.
				`<a href="tel:&#43;79161234567" class="number">` + htmlEscaped("+79161234567") + `</a>`,
				`<time datetime="2026-03-01T11:58:30Z">11:58:30</time> · 1:30`,
				`<span class="number">` + htmlEscaped(`<img src=x onerror=alert(1)>`) + `</span>`,
				`id="line-fxo1"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			for _, bad := range []string{hostileOperator, "<b>odd</b>", "<img src=x", "<script"} {
				if strings.Contains(body, bad) {
					t.Errorf("page carries %q unescaped", bad)
				}
			}
			// Only the two lines that cannot take calls raise an alert; an analog line has no SIM or signal.
			if n := strings.Count(body, `role="alert"`); n != 2 {
				t.Errorf("%d alerts, want 2", n)
			}
			fxo := body[strings.Index(body, `id="line-fxo1"`):]
			fxo = fxo[:strings.Index(fxo, "</li>")]
			if strings.Contains(fxo, "bars") || strings.Contains(fxo, `class="sim"`) {
				t.Errorf("analog line shows GSM facts: %s", fxo)
			}
		})
	}
}

func TestDashboardWithoutLines(t *testing.T) {
	f, cookie := dashboardFixture(t, nil)
	w := f.do(req{path: "/dashboard", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusOK {
		t.Fatalf("GET /dashboard: %d", w.Code)
	}
	body := w.Body.String()
	if !strings.Contains(body, htmlEscaped(messages[langEN]["dash_no_lines"])) || !strings.Contains(body, `id="today-missed">1<`) {
		t.Errorf("no lines: page lacks the note or today's calls\n%s", body)
	}
	if strings.Contains(body, `role="alert"`) || strings.Contains(body, `id="active-calls"`) {
		t.Errorf("no lines: alert or active calls shown")
	}
}

// Everything the lines report reaches the page escaped and the page stays within the CSP.
func TestDashboardNoInlineCode(t *testing.T) {
	f, cookie := dashboardFixture(t, nil)
	lines := testLines(f.now())
	lines.lines[3].CallNumber = `<script>x</script>` // markup the pattern below would see even escaped is left out
	f.srv.lines = lines
	body := withoutOwnScript(t, f, f.do(req{path: "/dashboard", cookies: []*http.Cookie{cookie}}).Body.String())
	bad := regexp.MustCompile(`(?i)<script|\son[a-z]+=|\sstyle=|<style|(src|href)="(https?:)?//`)
	if m := bad.FindString(body); m != "" {
		t.Errorf("dashboard has %q", m)
	}
	css := f.srv.assets.files["dashboard.css"]
	if css.hash == "" || !strings.Contains(body, `<link rel="stylesheet" href="/static/dashboard.css?v=`+css.hash+`">`) {
		t.Errorf("dashboard does not link its versioned stylesheet")
	}
}

// withoutOwnScript checks the dashboard loads its own versioned script file, deferred, and
// returns the page without that tag, for the checks that no other script is in it.
func withoutOwnScript(t *testing.T, f *fixture, body string) string {
	t.Helper()
	js := f.srv.assets.files["dashboard.js"]
	tag := `<script src="/static/dashboard.js?v=` + js.hash + `" defer></script>`
	if js.hash == "" || strings.Count(body, tag) != 1 {
		t.Errorf("dashboard does not load its script once as %s", tag)
	}
	return strings.Replace(body, tag, "", 1)
}

func TestStartOfDay(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	for _, tt := range []struct {
		t    time.Time
		loc  *time.Location
		want time.Time
	}{
		{time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), time.UTC, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC), msk, time.Date(2026, 3, 2, 0, 0, 0, 0, msk)},
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), time.UTC, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)},
	} {
		if got := startOfDay(tt.t, tt.loc); !got.Equal(tt.want) {
			t.Errorf("startOfDay(%v, %v) = %v, want %v", tt.t, tt.loc, got, tt.want)
		}
	}
}

// wantMetrics is /metrics for testLines plus a line whose ID needs every escape.
const wantMetrics = `# HELP hotline_build_info The running version of hotline.
# TYPE hotline_build_info gauge
hotline_build_info{version="1.2.3-\"test\""} 1
# HELP hotline_line_up 1 when the line is ready to take calls, else 0.
# TYPE hotline_line_up gauge
hotline_line_up{line="gsm1",kind="quectel"} 1
hotline_line_up{line="gsm2",kind="simcom"} 0
hotline_line_up{line="gsm3",kind="huawei"} 0
hotline_line_up{line="fxo1",kind="fxo"} 1
hotline_line_up{line="gsm5",kind="quectel"} 0
hotline_line_up{line="a\"b\\c\nd",kind="quectel"} 0
# HELP hotline_line_registered 1 when the GSM line is registered on a network (home or roaming).
# TYPE hotline_line_registered gauge
hotline_line_registered{line="gsm1",kind="quectel"} 1
hotline_line_registered{line="gsm2",kind="simcom"} 0
hotline_line_registered{line="gsm3",kind="huawei"} 0
hotline_line_registered{line="gsm5",kind="quectel"} 1
hotline_line_registered{line="a\"b\\c\nd",kind="quectel"} 0
# HELP hotline_line_signal_bars Signal strength of the GSM line, 0 to 5 bars.
# TYPE hotline_line_signal_bars gauge
hotline_line_signal_bars{line="gsm1",kind="quectel"} 3
hotline_line_signal_bars{line="gsm2",kind="simcom"} 0
hotline_line_signal_bars{line="gsm3",kind="huawei"} 0
hotline_line_signal_bars{line="gsm5",kind="quectel"} 9
hotline_line_signal_bars{line="a\"b\\c\nd",kind="quectel"} 0
# HELP hotline_calls_total Calls that rang, since start.
# TYPE hotline_calls_total counter
hotline_calls_total 12
# HELP hotline_calls_answered_total Calls the box answered, since start.
# TYPE hotline_calls_answered_total counter
hotline_calls_answered_total 10
# HELP hotline_voicemails_total Calls that ended with a message recorded, since start.
# TYPE hotline_voicemails_total counter
hotline_voicemails_total 4
# HELP hotline_active_calls Calls ringing or up now.
# TYPE hotline_active_calls gauge
hotline_active_calls 2
# HELP hotline_audio_underruns_total 20 ms audio frames a line did not deliver in time (counted as each call ends).
# TYPE hotline_audio_underruns_total counter
hotline_audio_underruns_total 7
# HELP hotline_recorder_drops_total Audio frames lost because the recorder fell behind (counted as each call ends).
# TYPE hotline_recorder_drops_total counter
hotline_recorder_drops_total 2
# HELP hotline_audio_deadline_misses_total 20 ms audio frames the box itself answered late: from the line's driver having the frame to the reply written (counted as each call ends).
# TYPE hotline_audio_deadline_misses_total counter
hotline_audio_deadline_misses_total 3
# HELP hotline_audio_frame_slowest_microseconds The longest time the box took to answer one audio frame since start (counted as each call ends).
# TYPE hotline_audio_frame_slowest_microseconds gauge
hotline_audio_frame_slowest_microseconds 23500
`

func TestMetrics(t *testing.T) {
	f, _ := dashboardFixture(t, nil)
	lines := testLines(f.now())
	lines.lines = append(lines.lines, daemon.LineInfo{ID: "a\"b\\c\nd", Kind: "quectel", State: "down"})
	f.srv.lines = lines
	w := f.do(req{path: "/metrics", remote: "127.0.0.1:40000"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "text/plain; version=0.0.4; charset=utf-8" {
		t.Fatalf("GET /metrics: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	got, want := strings.Split(w.Body.String(), "\n"), strings.Split(wantMetrics, "\n")
	for i := range max(len(got), len(want)) {
		var g, wl string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			wl = want[i]
		}
		if g != wl {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, g, wl)
		}
	}
	checkExposition(t, w.Body.String())

	// Without lines, only the build info.
	f.srv.lines = nil
	w = f.do(req{path: "/metrics", remote: "127.0.0.1:40000"})
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "hotline_line_up") || !strings.Contains(w.Body.String(), "hotline_build_info{") {
		t.Errorf("without lines: %d\n%s", w.Code, w.Body)
	}
	checkExposition(t, w.Body.String())
}

// checkExposition checks the text format's grammar: every sample belongs to a family whose
// HELP and TYPE came first, once, and sample lines are name{labels} value.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	if !strings.HasSuffix(text, "\n") {
		t.Error("exposition does not end with a line feed")
	}
	sampleRE := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? -?[0-9]+$`)
	help, typ := map[string]bool{}, map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "# HELP "):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if help[name] {
				t.Errorf("HELP of %s twice", name)
			}
			help[name] = true
		case strings.HasPrefix(line, "# TYPE "):
			name, kind, _ := strings.Cut(strings.TrimPrefix(line, "# TYPE "), " ")
			if _, dup := typ[name]; dup || (kind != "gauge" && kind != "counter") {
				t.Errorf("TYPE line %q", line)
			}
			typ[name] = kind
		default:
			m := sampleRE.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("not a sample line: %q", line)
				continue
			}
			if !help[m[1]] || typ[m[1]] == "" {
				t.Errorf("sample %s before its HELP and TYPE", m[1])
			}
			if typ[m[1]] == "counter" && !strings.HasSuffix(m[1], "_total") {
				t.Errorf("counter %s does not end in _total", m[1])
			}
		}
	}
}

func TestMetricsAccess(t *testing.T) {
	f, cookie := dashboardFixture(t, nil)
	f.srv.lines = testLines(f.now())
	tests := []struct {
		name    string
		remote  string
		cookies []*http.Cookie
		header  map[string]string
		want    int
	}{
		{"loopback v4", "127.0.0.1:5000", nil, nil, http.StatusOK},
		{"loopback v6", "[::1]:5000", nil, nil, http.StatusOK},
		{"network without a session", "192.0.2.10:5000", nil, nil, http.StatusUnauthorized},
		{"network with a bogus session", "192.0.2.10:5000", []*http.Cookie{{Name: sessionCookie, Value: "bogus"}}, nil, http.StatusUnauthorized},
		{"network with a session", "192.0.2.10:5000", []*http.Cookie{cookie}, nil, http.StatusOK},
		{"through a proxy on the box", "127.0.0.1:5000", nil, map[string]string{"X-Forwarded-For": "198.51.100.7"}, http.StatusUnauthorized},
		{"through a proxy saying Forwarded", "[::1]:5000", nil, map[string]string{"Forwarded": "for=198.51.100.7"}, http.StatusUnauthorized},
		{"through a proxy, with a session", "127.0.0.1:5000", []*http.Cookie{cookie}, map[string]string{"X-Forwarded-For": "198.51.100.7"}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do(req{path: "/metrics", remote: tt.remote, cookies: tt.cookies, header: tt.header})
			if w.Code != tt.want {
				t.Fatalf("got %d, want %d\n%s", w.Code, tt.want, w.Body)
			}
			if tt.want == http.StatusOK && !strings.Contains(w.Body.String(), "hotline_calls_total 12\n") {
				t.Errorf("metrics body: %s", w.Body)
			}
			if tt.want != http.StatusOK && strings.Contains(w.Body.String(), "hotline_") {
				t.Errorf("refused request still got metrics: %s", w.Body)
			}
		})
	}
}
