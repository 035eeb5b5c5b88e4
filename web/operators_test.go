package web

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/voice/ivr"
	"hotline/voice/sip"
)

type fakeSIP struct {
	addr string
	regs []sip.Registration
}

func (f fakeSIP) SIPAddr() string                      { return f.addr }
func (f fakeSIP) SIPRegistrations() []sip.Registration { return f.regs }

func TestSIPAccountText(t *testing.T) {
	for _, tt := range []struct{ user, pw, host, want string }{
		{"anna", "ABCDEF234567QRST", "192.168.1.5:5060", "sip:anna:ABCDEF234567QRST@192.168.1.5:5060"},
		{"a.b", "p@ss:w/rd 1", "[fe80::1]:5060", "sip:a.b:p%40ss%3Aw%2Frd%201@[fe80::1]:5060"},
	} {
		if got := sipAccountText(tt.user, tt.pw, tt.host); got != tt.want {
			t.Errorf("sipAccountText(%q, %q) = %q, want %q", tt.user, tt.pw, got, tt.want)
		}
	}
	if p, q := newSIPPassword(), newSIPPassword(); len(p) != 16 || p == q {
		t.Errorf("passwords %q %q", p, q)
	}
}

func TestOperatorsPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.srv.sip = fakeSIP{addr: "0.0.0.0:5060", regs: []sip.Registration{{User: "anna", Expires: t0.Add(time.Hour), UserAgent: "<b>Phone</b>"}}}
	cookie, csrf := f.login()
	ck := []*http.Cookie{cookie}
	ctx := context.Background()
	post := func(path string, v url.Values) *http.Response {
		v.Set("csrf", csrf)
		return f.do(req{method: "POST", path: path, form: v, cookies: ck, host: "box.local:8080"}).Result()
	}
	if r := post("/operators", url.Values{"name": {"Anna"}, "sip_user": {"anna"}, "mobile": {"+7 916 123-45-67"}}); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/operators?ok=added" {
		t.Fatalf("add: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	for _, bad := range []url.Values{{"name": {""}, "mobile": {"+79160000000"}}, {"name": {"Bob"}}, {"name": {"Anna"}, "mobile": {"+79160000000"}}, {"name": {"Eve"}, "sip_user": {"no spaces"}}} {
		if r := post("/operators", bad); !strings.Contains(r.Header.Get("Location"), "err=") {
			t.Errorf("add %v: %q", bad, r.Header.Get("Location"))
		}
	}
	ops, _ := f.st.Operators(ctx)
	if len(ops) != 1 || len(ops[0].SIPPassword) != 16 || ops[0].Mobile != "+79161234567" || !ops[0].Available {
		t.Fatalf("stored %+v", ops)
	}
	anna := ops[0]
	id := strconv.FormatInt(anna.ID, 10)

	w := f.do(req{path: "/operators", cookies: ck, host: "box.local:8080", header: map[string]string{"Accept-Language": "en"}})
	body := w.Body.String()
	for _, want := range []string{"box.local:5060", anna.SIPPassword, "/operators/" + id + "/qr.png", "Connected until", "&lt;b&gt;Phone"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The QR code is a PNG of the account.
	w = f.do(req{path: "/operators/" + id + "/qr.png", cookies: ck, host: "box.local:8080"})
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "image/png" || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("QR: %d %v", w.Code, w.Header())
	}
	if img, err := png.Decode(bytes.NewReader(w.Body.Bytes())); err != nil || img.Bounds().Dx() < 100 {
		t.Errorf("QR PNG: %v", err)
	}

	// Away and back, a new password, then removed.
	post("/operators/"+id+"/available", url.Values{"available": {"0"}})
	if ops, _ := f.st.Operators(ctx); ops[0].Available {
		t.Errorf("still available")
	}
	post("/operators/"+id, url.Values{"name": {"Anna K"}, "sip_user": {"anna"}, "new_password": {"1"}, "record": {"1"}})
	ops, _ = f.st.Operators(ctx)
	if ops[0].Name != "Anna K" || ops[0].SIPPassword == anna.SIPPassword || !ops[0].Record {
		t.Errorf("edit: %+v", ops[0])
	}
	// The flow rings her by name: she cannot go.
	fl := ivr.Default(langEN)
	fl.Nodes[4].Operators = []string{"Anna K"}
	if _, err := f.st.SaveFlow(ctx, mustJSON(t, fl), "owner", ""); err != nil {
		t.Fatal(err)
	}
	if r := post("/operators/"+id+"/delete", url.Values{}); r.Header.Get("Location") != "/operators?err=in_flow" {
		t.Errorf("delete while in the flow: %q", r.Header.Get("Location"))
	}
	if _, err := f.st.SaveFlow(ctx, mustJSON(t, ivr.Default(langEN)), "owner", ""); err != nil {
		t.Fatal(err)
	}
	if r := post("/operators/"+id+"/delete", url.Values{}); r.Header.Get("Location") != "/operators?ok=deleted" {
		t.Errorf("delete: %q", r.Header.Get("Location"))
	}
	if r := post("/operators/"+id+"/delete", url.Values{}); r.StatusCode != http.StatusNotFound {
		t.Errorf("delete again: %d", r.StatusCode)
	}
}

func TestOperatorsAPI(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.srv.sip = fakeSIP{addr: "192.0.2.7:5060"}
	cookie, _ := f.login()
	ck := []*http.Cookie{cookie}
	w := f.do(req{method: "POST", path: "/api/operators", body: `{"name":"Anna","sip_user":"anna"}`, cookies: ck})
	var o operatorJSON
	if w.Code != http.StatusCreated || json.Unmarshal(w.Body.Bytes(), &o) != nil || len(o.SIPPassword) != 16 ||
		o.SIPAccount != "sip:anna:"+o.SIPPassword+"@192.0.2.7:5060" {
		t.Fatalf("POST: %d %s", w.Code, w.Body.String())
	}
	if w := f.do(req{method: "POST", path: "/api/operators", body: `{"name":"Anna","sip_user":"anna2"}`, cookies: ck}); w.Code != http.StatusConflict {
		t.Errorf("same name: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/api/operators", body: `{"name":"Bob"}`, cookies: ck}); w.Code != http.StatusBadRequest {
		t.Errorf("no phone: %d %s", w.Code, w.Body.String())
	}
	id := strconv.FormatInt(o.ID, 10)
	w = f.do(req{method: "PUT", path: "/api/operators/" + id, body: `{"available":false,"mobile":"+79161234567"}`, cookies: ck})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &o) != nil || o.Available || o.Mobile != "+79161234567" || o.Name != "Anna" {
		t.Fatalf("PUT: %d %s", w.Code, w.Body.String())
	}
	var list struct {
		SIPServer string         `json:"sip_server"`
		Operators []operatorJSON `json:"operators"`
	}
	w = f.do(req{path: "/api/operators", cookies: ck})
	if json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Operators) != 1 || list.SIPServer != "192.0.2.7:5060" {
		t.Fatalf("GET: %s", w.Body.String())
	}
	if w := f.do(req{method: "DELETE", path: "/api/operators/" + id, cookies: ck}); w.Code != http.StatusNoContent {
		t.Errorf("DELETE: %d", w.Code)
	}
	if w := f.do(req{method: "DELETE", path: "/api/operators/" + id, cookies: ck}); w.Code != http.StatusNotFound {
		t.Errorf("DELETE again: %d", w.Code)
	}
}

// blockingPlacer is a CallbackPlacer whose calls last until release is closed.
type blockingPlacer struct {
	mu      sync.Mutex
	calls   []int64
	started chan int64
	release chan struct{}
	err     error
}

func (p *blockingPlacer) PlaceCallback(ctx context.Context, id int64, by string) (string, error) {
	p.mu.Lock()
	p.calls = append(p.calls, id)
	p.mu.Unlock()
	p.started <- id
	select {
	case <-p.release:
		return "anna", p.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

func TestCallbacks(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	placer := &blockingPlacer{started: make(chan int64, 1), release: make(chan struct{})}
	f.srv.callbacks = placer
	cb1, err := f.st.AddCallback(ctx, 0, "+79161234567")
	if err != nil {
		t.Fatal(err)
	}
	cb2, _ := f.st.AddCallback(ctx, 0, "+79161110000")
	// Operators use the page too.
	cookie, csrf := operatorSession(t, f)
	ck := []*http.Cookie{cookie}
	en := map[string]string{"Accept-Language": "en"}
	id1, id2 := strconv.FormatInt(cb1, 10), strconv.FormatInt(cb2, 10)

	w := f.do(req{path: "/callbacks", cookies: ck, header: en})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "tel:"+htmlEscaped("+79161234567")) || !strings.Contains(w.Body.String(), "/callbacks/"+id1+"/call") {
		t.Fatalf("page: %d %s", w.Code, w.Body.String())
	}
	w = f.do(req{method: "POST", path: "/callbacks/" + id1 + "/call", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/callbacks?ok=calling") {
		t.Fatalf("call: %d %q", w.Code, w.Header().Get("Location"))
	}
	if got := <-placer.started; got != cb1 {
		t.Fatalf("placed %d", got)
	}
	// While it runs: the page says so and loads its reloading script; a second press is refused.
	w = f.do(req{path: "/callbacks", cookies: ck, header: en})
	if !strings.Contains(w.Body.String(), "data-calling") || !strings.Contains(w.Body.String(), "/static/callbacks.js") {
		t.Errorf("running call not shown")
	}
	w = f.do(req{method: "POST", path: "/api/callbacks/" + id1 + "/call", cookies: ck})
	if w.Code != http.StatusConflict {
		t.Errorf("second call: %d", w.Code)
	}
	var list struct {
		Callbacks []callbackJSON `json:"callbacks"`
	}
	w = f.do(req{path: "/api/callbacks", cookies: ck})
	if json.Unmarshal(w.Body.Bytes(), &list) != nil || len(list.Callbacks) != 2 || !list.Callbacks[1].Calling {
		t.Errorf("API list: %s", w.Body.String())
	}
	if w := f.do(req{method: "POST", path: "/api/callbacks/" + id1 + "/done", cookies: ck}); w.Code != http.StatusConflict {
		t.Errorf("done while calling: %d", w.Code)
	}
	close(placer.release)
	f.srv.WaitCallbacks()
	if w := f.do(req{path: "/callbacks", cookies: ck}); strings.Contains(w.Body.String(), "data-calling") {
		t.Errorf("call still shown as running")
	}

	// Mark the other done: it leaves the open list.
	w = f.do(req{method: "POST", path: "/callbacks/" + id2 + "/done", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("done: %d", w.Code)
	}
	if cb, _ := f.st.Callback(ctx, cb2); cb.Status != store.CallbackDone || cb.HandledBy != "anna" || cb.Attempts != 0 {
		t.Errorf("stored %+v", cb)
	}
	if w := f.do(req{method: "POST", path: "/api/callbacks/" + id2 + "/done", cookies: ck}); w.Code != http.StatusConflict {
		t.Errorf("done twice: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/api/callbacks/999/done", cookies: ck}); w.Code != http.StatusNotFound {
		t.Errorf("done for a missing request: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/api/callbacks/" + id2 + "/call", cookies: ck}); w.Code != http.StatusConflict {
		t.Errorf("call a done request: %d", w.Code)
	}
	if w := f.do(req{method: "POST", path: "/api/callbacks/999/call", cookies: ck}); w.Code != http.StatusNotFound {
		t.Errorf("call a missing request: %d", w.Code)
	}
	f.srv.callbacks = nil
	if w := f.do(req{method: "POST", path: "/api/callbacks/" + id1 + "/call", cookies: ck}); w.Code != http.StatusServiceUnavailable {
		t.Errorf("no placer: %d", w.Code)
	}
}

// TestCallbackStopsOnClose: closing the server hangs up a callback under way.
func TestCallbackStopsOnClose(t *testing.T) {
	f := newOwnedFixture(t, nil)
	placer := &blockingPlacer{started: make(chan int64, 1), release: make(chan struct{})}
	f.srv.callbacks = placer
	id, _ := f.st.AddCallback(context.Background(), 0, "+79161234567")
	cookie, _ := f.login()
	if w := f.do(req{method: "POST", path: "/api/callbacks/" + strconv.FormatInt(id, 10) + "/call", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusAccepted {
		t.Fatalf("call: %d", w.Code)
	}
	<-placer.started
	f.srv.Close()
	f.srv.WaitCallbacks()
	if _, _, lastErr, _ := f.srv.cbRuns.state(id); !strings.Contains(lastErr, "context canceled") {
		t.Errorf("last error %q", lastErr)
	}
}

func TestHours(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	ck := []*http.Cookie{cookie}
	ctx := context.Background()
	w := f.do(req{path: "/hours", cookies: ck})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `name="mon.from1" value="09:00"`) {
		t.Fatalf("hours: %d", w.Code)
	}
	form := url.Values{"csrf": {csrf}, "node": {"hours"}, "tz": {"Asia/Yekaterinburg"},
		"mon.open": {"1"}, "mon.from1": {"08:00"}, "mon.to1": {"13:00"}, "mon.from2": {"14:00"}, "mon.to2": {"00:00"},
		"sat.open": {"1"}, "sat.from1": {"10:00"}, "sat.to1": {"14:00"}, "tue.from1": {"09:00"}, "tue.to1": {"18:00"},
		"holidays": {"01-01\r\n2027-01-07\n"}, "exceptions": {"2026-12-31 10:00-15:00\n2026-12-30 closed"}}
	w = f.do(req{method: "POST", path: "/hours", form: form, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/hours?saved=1" {
		t.Fatalf("save: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	fv, _ := f.st.Flow(ctx, 0)
	fl, _ := ivr.Parse(fv.JSON)
	want := &ivr.Schedule{TimeZone: "Asia/Yekaterinburg",
		Week:       map[string][]string{"mon": {"08:00-13:00", "14:00-24:00"}, "sat": {"10:00-14:00"}},
		Holidays:   []string{"01-01", "2027-01-07"},
		Exceptions: []ivr.Exception{{Date: "2026-12-31", Hours: []string{"10:00-15:00"}}, {Date: "2026-12-30"}}}
	if got, _ := json.Marshal(fl.Nodes[0].Schedule); string(got) != string(mustJSONAny(t, want)) {
		t.Errorf("schedule %s, want %s", got, mustJSONAny(t, want))
	}
	// A wrong time zone is refused with the linter's words.
	form.Set("tz", "Mars/Olympus")
	w = f.do(req{method: "POST", path: "/hours", form: form, cookies: ck, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "Mars/Olympus") {
		t.Errorf("bad zone: %d", w.Code)
	}
	form.Set("node", "menu")
	if w := f.do(req{method: "POST", path: "/hours", form: form, cookies: ck}); w.Code != http.StatusNotFound {
		t.Errorf("not a schedule: %d", w.Code)
	}
	for _, v := range []string{"closed", "open", ""} {
		w = f.do(req{method: "POST", path: "/hours/override", form: url.Values{"csrf": {csrf}, "override": {v}}, cookies: ck})
		if got, _ := f.st.Setting(ctx, overrideSetting, "x"); w.Code != http.StatusSeeOther || got != v {
			t.Errorf("override %q: %d, stored %q", v, w.Code, got)
		}
	}
	if w := f.do(req{method: "POST", path: "/hours/override", form: url.Values{"csrf": {csrf}, "override": {"maybe"}}, cookies: ck}); w.Code != http.StatusBadRequest {
		t.Errorf("override maybe: %d", w.Code)
	}
}

func mustJSONAny(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOwnerNav: the links to the owner's pages show for the owner only; both see Call back.
func TestOwnerNav(t *testing.T) {
	f := newOwnedFixture(t, nil)
	opCookie, _ := operatorSession(t, f)
	ownCookie, _ := f.login()
	for _, tt := range []struct {
		name   string
		cookie *http.Cookie
		owner  bool
	}{{"owner", ownCookie, true}, {"operator", opCookie, false}} {
		body := f.do(req{path: "/callbacks", cookies: []*http.Cookie{tt.cookie}}).Body.String()
		if !strings.Contains(body, `<a href="/callbacks" aria-current="page">`) {
			t.Errorf("%s: no current Call back link", tt.name)
		}
		for _, link := range []string{`href="/flow"`, `href="/hours"`, `href="/operators"`} {
			if strings.Contains(body, link) != tt.owner {
				t.Errorf("%s: link %s shown: %v", tt.name, link, !tt.owner)
			}
		}
	}
}
