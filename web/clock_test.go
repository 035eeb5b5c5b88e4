package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a BoxClock that records what it was set to.
type fakeClock struct {
	mu     sync.Mutex
	source string
	set    []time.Time
	err    error
}

func (c *fakeClock) ClockSource() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.source
}

func (c *fakeClock) SetClock(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	c.set = append(c.set, t)
	c.source = ClockManual
	return nil
}

func (c *fakeClock) sets() []time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Time(nil), c.set...)
}

func TestZoneList(t *testing.T) {
	seen := map[string]bool{}
	for _, list := range [][]string{commonZones, otherZones} {
		for _, z := range list {
			if !validZone(z) {
				t.Errorf("%q is not a zone", z)
			}
			if seen[z] {
				t.Errorf("%q twice", z)
			}
			seen[z] = true
		}
	}
	opts := zoneOptions("Europe/Moscow")
	if opts[0].Value != "Europe/Kaliningrad" || !opts[1].Selected || opts[1].Label != "Europe/Moscow (UTC+03:00)" {
		t.Errorf("first options %+v", opts[:2])
	}
	// A zone set through the API that is not in the list is offered, chosen, first.
	if opts := zoneOptions("America/Anchorage"); opts[0].Value != "America/Anchorage" || !opts[0].Selected {
		t.Errorf("unlisted zone: %+v", opts[0])
	}
	for _, bad := range []string{"", "Local", "local", "Mars/Olympus", "../../etc/passwd", strings.Repeat("A", 100)} {
		if validZone(bad) {
			t.Errorf("validZone(%q)", bad)
		}
	}
	if got := zoneLabel("Asia/Kamchatka"); got != "Asia/Kamchatka (UTC+12:00)" {
		t.Errorf("label %q", got)
	}
	if got := zoneLabel("America/Argentina/Buenos_Aires"); got != "America/Argentina/Buenos Aires (UTC-03:00)" {
		t.Errorf("label %q", got)
	}
}

func TestParseManualTime(t *testing.T) {
	msk := time.FixedZone("MSK", 3*3600)
	for _, tt := range []struct {
		date, clock string
		want        time.Time
		err         clockErr
	}{
		{"2026-03-01", "14:30", time.Date(2026, 3, 1, 11, 30, 0, 0, time.UTC), ""},
		{"2026-03-01", "14:30:15", time.Date(2026, 3, 1, 11, 30, 15, 0, time.UTC), ""},
		{"2026-02-30", "14:30", time.Time{}, "datetime"},
		{"2026-03-01", "25:00", time.Time{}, "datetime"},
		{"", "", time.Time{}, "datetime"},
		{"01.03.2026", "14:30", time.Time{}, "datetime"},
		{"1970-01-01", "00:00", time.Time{}, "range"},
		{"2100-01-01", "03:00", time.Time{}, "range"},
	} {
		got, err := parseManualTime(tt.date, tt.clock, msk)
		if err != tt.err || !got.Equal(tt.want) {
			t.Errorf("parseManualTime(%q, %q) = %v %q, want %v %q", tt.date, tt.clock, got, err, tt.want, tt.err)
		}
	}
}

func TestSettingsClock(t *testing.T) {
	f := newOwnedFixture(t, nil)
	clk := &fakeClock{source: ClockUnset}
	f.srv.boxClock = clk
	f.srv.now = func() time.Time { return t0 }
	cookie, csrf := f.login()
	ck := []*http.Cookie{cookie}
	en := map[string]string{"Accept-Language": "en"}
	ctx := context.Background()
	post := func(path string, v url.Values) *http.Response {
		v.Set("csrf", csrf)
		return f.do(req{method: "POST", path: path, form: v, cookies: ck, header: en}).Result()
	}
	page := func(query string) string {
		w := f.do(req{path: "/settings" + query, cookies: ck, header: en})
		if w.Code != http.StatusOK {
			t.Fatalf("settings: %d", w.Code)
		}
		return w.Body.String()
	}

	body := page("")
	// No zone chosen yet: the system's (UTC here) is shown and used; the list offers the flow's.
	for _, want := range []string{`id="clock-source">not set`, `id="clock-zone">not chosen; the system&#39;s is used now (UTC UTC&#43;00:00)`,
		`datetime="2026-03-01T09:30:00Z"`, `<option value="Europe/Moscow" selected>`, `action="/settings/clock"`,
		`name="date" value="2026-03-01"`, `name="time" value="09:30"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	// The zone: saved, audited, and the page says when the pages follow it.
	if r := post("/settings/timezone", url.Values{"time_zone": {"Asia/Novosibirsk"}}); r.Header.Get("Location") != "/settings?clock=zone#clock" {
		t.Fatalf("zone: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if z, _ := f.st.Setting(ctx, settingTimeZone, ""); z != "Asia/Novosibirsk" {
		t.Errorf("stored zone %q", z)
	}
	body = page("?clock=zone")
	for _, want := range []string{"Time zone saved.", `id="clock-zone">Asia/Novosibirsk`, `datetime="2026-03-01T16:30:00&#43;07:00"`, `id="clock-pending"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"Mars/Olympus", "Local", ""} {
		if r := post("/settings/timezone", url.Values{"time_zone": {bad}}); r.Header.Get("Location") != "/settings?clock_err=zone#clock" {
			t.Errorf("zone %q: %q", bad, r.Header.Get("Location"))
		}
	}
	if z, _ := f.st.Setting(ctx, settingTimeZone, ""); z != "Asia/Novosibirsk" {
		t.Errorf("a bad zone changed it: %q", z)
	}
	// A new admin starts in the stored zone.
	srv, err := New(Options{Store: f.st})
	if err != nil || srv.loc.String() != "Asia/Novosibirsk" {
		t.Errorf("zone at start: %v %v", srv.loc, err)
	}

	// The time by hand, read in the box's zone.
	if r := post("/settings/clock", url.Values{"date": {"2026-03-02"}, "time": {"08:15"}}); r.Header.Get("Location") != "/settings?clock=set#clock" {
		t.Fatalf("set: %q", r.Header.Get("Location"))
	}
	if got := clk.sets(); len(got) != 1 || !got[0].Equal(time.Date(2026, 3, 2, 1, 15, 0, 0, time.UTC)) {
		t.Errorf("set to %v", got)
	}
	if !strings.Contains(page("?clock=set"), "The time is set.") {
		t.Errorf("no notice")
	}
	for _, tt := range []struct{ date, clock, err string }{{"2026-03-02", "", "datetime"}, {"1999-12-31", "23:59", "range"}} {
		if r := post("/settings/clock", url.Values{"date": {tt.date}, "time": {tt.clock}}); r.Header.Get("Location") != "/settings?clock_err="+tt.err+"#clock" {
			t.Errorf("set %v: %q", tt, r.Header.Get("Location"))
		}
	}
	clk.mu.Lock()
	clk.err = errors.New("operation not permitted")
	clk.mu.Unlock()
	if r := post("/settings/clock", url.Values{"date": {"2026-03-02"}, "time": {"08:15"}}); r.Header.Get("Location") != "/settings?clock_err=set#clock" {
		t.Errorf("failing set: %q", r.Header.Get("Location"))
	}
	if !strings.Contains(page("?clock_err=set"), "could not be set") {
		t.Errorf("no error on the page")
	}
	entries, _ := f.st.ListAudit(ctx, 10)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+": "+e.Detail)
	}
	if !strings.Contains(strings.Join(actions, "\n"), "clock_set: 2026-03-01T09:30:00Z -> 2026-03-02T01:15:00Z") ||
		!strings.Contains(strings.Join(actions, "\n"), "time_zone: -> Asia/Novosibirsk") {
		t.Errorf("audit: %q", actions)
	}

	// With a network giving the time, the page does not offer to set it and a POST is refused.
	clk.mu.Lock()
	clk.source, clk.err = ClockNTP, nil
	clk.mu.Unlock()
	body = page("")
	if strings.Contains(body, `action="/settings/clock"`) || !strings.Contains(body, "The time comes by itself (from the internet (NTP))") {
		t.Errorf("synced page offers the form")
	}
	if r := post("/settings/clock", url.Values{"date": {"2026-03-02"}, "time": {"08:15"}}); r.Header.Get("Location") != "/settings?clock_err=not_needed#clock" {
		t.Errorf("set while synced: %q", r.Header.Get("Location"))
	}
	if n := len(clk.sets()); n != 1 {
		t.Errorf("clock set %d times", n)
	}

	// A clock restored from the time saved at shutdown: the page says it may be behind and
	// offers to set it.
	clk.mu.Lock()
	clk.source = ClockSaved
	clk.mu.Unlock()
	body = page("")
	if !strings.Contains(body, `id="clock-source">saved when the box was switched off, not yet checked with the network`) ||
		!strings.Contains(body, `action="/settings/clock"`) {
		t.Errorf("saved clock: page")
	}
	if ru := f.do(req{path: "/settings", cookies: ck, header: map[string]string{"Accept-Language": "ru"}}).Body.String(); !strings.Contains(ru, "сохранено при выключении коробки") {
		t.Errorf("saved clock: no Russian words")
	}

	// Without a clock from the daemon: the source is unknown and nothing can be set.
	f.srv.boxClock = nil
	body = page("")
	if !strings.Contains(body, `id="clock-source">unknown`) || !strings.Contains(body, "does not let the page change its time") {
		t.Errorf("no clock: page")
	}
	if r := post("/settings/clock", url.Values{"date": {"2026-03-02"}, "time": {"08:15"}}); r.Header.Get("Location") != "/settings?clock_err=not_needed#clock" {
		t.Errorf("set without a clock: %q", r.Header.Get("Location"))
	}
}

func TestClockAPI(t *testing.T) {
	f := newOwnedFixture(t, nil)
	clk := &fakeClock{source: ClockGSM}
	f.srv.boxClock = clk
	f.srv.now = func() time.Time { return t0 }
	cookie, _ := f.login()
	ck := []*http.Cookie{cookie}
	var got clockJSON
	w := f.do(req{path: "/api/clock", cookies: ck})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Source != "gsm" || got.CanSetClock ||
		got.TimeZone != "" || got.ZoneInUse != "UTC" || !got.Now.Equal(t0) {
		t.Fatalf("GET: %d %s", w.Code, w.Body.String())
	}
	for _, tt := range []struct {
		body string
		code int
	}{
		{`{"time_zone":"Mars/Olympus"}`, http.StatusBadRequest},
		{`{"time":"2026-03-02T08:15:00+03:00"}`, http.StatusConflict}, // the network gives the time
		{`{"time":"1980-01-01T00:00:00Z"}`, http.StatusBadRequest},
		{`{"time":"yesterday"}`, http.StatusBadRequest},
		{`{"zone":"UTC"}`, http.StatusBadRequest},
		{`{"time_zone":"Asia/Yakutsk"}`, http.StatusOK},
	} {
		if w := f.do(req{method: "PUT", path: "/api/clock", body: tt.body, cookies: ck}); w.Code != tt.code {
			t.Errorf("PUT %s: %d %s, want %d", tt.body, w.Code, w.Body.String(), tt.code)
		}
	}
	if len(clk.sets()) != 0 {
		t.Errorf("set while the network gives the time")
	}
	clk.mu.Lock()
	clk.source = ClockRTC
	clk.mu.Unlock()
	w = f.do(req{method: "PUT", path: "/api/clock", body: `{"time":"2026-03-02T08:15:00+03:00"}`, cookies: ck})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Source != "manual" || got.TimeZone != "Asia/Yakutsk" {
		t.Errorf("PUT time: %d %s", w.Code, w.Body.String())
	}
	if s := clk.sets(); len(s) != 1 || !s[0].Equal(time.Date(2026, 3, 2, 5, 15, 0, 0, time.UTC)) {
		t.Errorf("set %v", s)
	}
}
