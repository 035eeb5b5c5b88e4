package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
)

func TestInboxCallBack(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	placer := &blockingPlacer{started: make(chan int64, 2), release: make(chan struct{})}
	f.srv.callbacks = placer
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	missed := f.logCall("sim1", "+79160000001", t0.Add(time.Hour), store.Summary{Outcome: store.OutcomeMissed})
	hiddenVM := func() int64 {
		_, id := f.addCall("", t0.Add(2*time.Hour), tone(0.2))
		return id
	}()
	// An operator may call back.
	cookie, csrf := operatorSession(t, f)
	ck := []*http.Cookie{cookie}
	en := map[string]string{"Accept-Language": "en"}

	w := f.do(req{path: "/voicemail", cookies: ck, header: en})
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, "/voicemail/"+strconv.FormatInt(vm, 10)+"/callback") ||
		!strings.Contains(body, "/missed/"+strconv.FormatInt(missed, 10)+"/callback") || !strings.Contains(body, "Missed calls to call back") {
		t.Fatalf("inbox: %d %s", w.Code, body)
	}
	if strings.Contains(body, "/voicemail/"+strconv.FormatInt(hiddenVM, 10)+"/callback") {
		t.Error("a hidden number offers a call back")
	}
	if strings.Contains(body, "/delete") {
		t.Error("an operator is offered delete")
	}

	w = f.do(req{method: "POST", path: "/voicemail/" + strconv.FormatInt(vm, 10) + "/callback", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=calling" {
		t.Fatalf("call back: %d %q", w.Code, w.Header().Get("Location"))
	}
	cbID := <-placer.started
	cb, err := f.st.Callback(ctx, cbID)
	if err != nil || cb.Number != "+79161234567" || cb.Status != store.CallbackOpen {
		t.Fatalf("callback request = %+v, %v", cb, err)
	}
	// Again while it runs: busy.
	w = f.do(req{method: "POST", path: "/voicemail/" + strconv.FormatInt(vm, 10) + "/callback", form: url.Values{"csrf": {csrf}, "show": {"all"}}, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?err=busy&show=all" {
		t.Fatalf("second call back: %d %q", w.Code, w.Header().Get("Location"))
	}
	// The missed call, through the API.
	w = f.do(req{method: "POST", path: "/missed/" + strconv.FormatInt(missed, 10) + "/callback", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=calling" {
		t.Fatalf("missed call back: %d %q", w.Code, w.Header().Get("Location"))
	}
	if got := <-placer.started; got == cbID {
		t.Fatalf("missed call back reused request %d", got)
	}
	// A hidden number cannot be called back.
	w = f.do(req{method: "POST", path: "/api/voicemail/" + strconv.FormatInt(hiddenVM, 10) + "/callback", header: map[string]string{"X-CSRF-Token": csrf}, cookies: ck})
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), "hidden") {
		t.Fatalf("api hidden call back: %d %s", w.Code, w.Body.String())
	}
	w = f.do(req{method: "POST", path: "/voicemail/999/callback", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusNotFound {
		t.Errorf("unknown message: %d", w.Code)
	}
	// Handled: the missed call leaves the list.
	w = f.do(req{method: "POST", path: "/missed/" + strconv.FormatInt(missed, 10) + "/handled", form: url.Values{"csrf": {csrf}}, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=missed" {
		t.Fatalf("missed handled: %d %q", w.Code, w.Header().Get("Location"))
	}
	if c, _ := f.st.Call(ctx, missed); c.Status != store.StatusDone {
		t.Errorf("missed call status %q", c.Status)
	}
	w = f.do(req{path: "/voicemail", cookies: ck, header: en})
	if strings.Contains(w.Body.String(), "/missed/"+strconv.FormatInt(missed, 10)) {
		t.Error("a handled missed call is still listed")
	}
	close(placer.release)
	f.srv.WaitCallbacks()
}

// TestInboxCallBackQueued: without a placer the request is saved for the callbacks page.
func TestInboxCallBackQueued(t *testing.T) {
	f := newOwnedFixture(t, nil)
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	cookie, csrf := f.login()
	w := f.do(req{method: "POST", path: "/voicemail/" + strconv.FormatInt(vm, 10) + "/callback", form: url.Values{"csrf": {csrf}}, cookies: []*http.Cookie{cookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=queued" {
		t.Fatalf("call back: %d %q", w.Code, w.Header().Get("Location"))
	}
	list, err := f.st.Callbacks(context.Background(), true, 10)
	if err != nil || len(list) != 1 || list[0].Number != "+79161234567" {
		t.Fatalf("callbacks = %+v, %v", list, err)
	}
}

func TestInboxDeleteRestore(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	id := strconv.FormatInt(vm, 10)
	m, _ := f.st.Voicemail(ctx, vm)
	path, _ := f.st.VoicemailPath(m)
	opCookie, opCSRF := operatorSession(t, f)
	ownCookie, ownCSRF := f.login()
	en := map[string]string{"Accept-Language": "en"}

	// Only the owner deletes.
	w := f.do(req{method: "POST", path: "/voicemail/" + id + "/delete", form: url.Values{"csrf": {opCSRF}}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("operator delete: %d", w.Code)
	}
	w = f.do(req{method: "DELETE", path: "/api/voicemail/" + id, header: map[string]string{"X-CSRF-Token": opCSRF}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("operator api delete: %d", w.Code)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("audio gone after refused delete: %v", err)
	}

	w = f.do(req{method: "POST", path: "/voicemail/" + id + "/delete", form: url.Values{"csrf": {ownCSRF}}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=deleted" {
		t.Fatalf("delete: %d %q", w.Code, w.Header().Get("Location"))
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("audio still in place: %v", err)
	}
	w = f.do(req{path: "/voicemail?show=all", cookies: []*http.Cookie{ownCookie}, header: en})
	body := w.Body.String()
	if !strings.Contains(body, "/voicemail/"+id+"/restore") || strings.Contains(body, "/voicemail/"+id+"/handled") {
		t.Fatalf("owner's page after delete: %s", body)
	}
	var list voicemailListJSON
	getJSON(t, f, "/api/voicemail?show=all", opCookie, &list)
	if len(list.Voicemail) != 0 {
		t.Errorf("api lists a deleted message: %+v", list)
	}
	// The operator sees neither the message nor the trash.
	w = f.do(req{path: "/voicemail?show=all", cookies: []*http.Cookie{opCookie}, header: en})
	if strings.Contains(w.Body.String(), "/voicemail/"+id) {
		t.Error("operator sees a deleted message")
	}
	w = f.do(req{method: "POST", path: "/voicemail/" + id + "/restore", form: url.Values{"csrf": {opCSRF}}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("operator restore: %d", w.Code)
	}
	w = f.do(req{method: "POST", path: "/voicemail/" + id + "/restore", form: url.Values{"csrf": {ownCSRF}}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/voicemail?ok=restored" {
		t.Fatalf("restore: %d %q", w.Code, w.Header().Get("Location"))
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("audio not back: %v", err)
	}
	// Through the API.
	w = f.do(req{method: "DELETE", path: "/api/voicemail/" + id, header: map[string]string{"X-CSRF-Token": ownCSRF}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"deleted":true`) {
		t.Fatalf("api delete: %d %s", w.Code, w.Body.String())
	}
	w = f.do(req{method: "POST", path: "/api/voicemail/" + id + "/restore", header: map[string]string{"X-CSRF-Token": ownCSRF}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusOK {
		t.Fatalf("api restore: %d %s", w.Code, w.Body.String())
	}
	w = f.do(req{method: "POST", path: "/api/voicemail/" + id + "/restore", header: map[string]string{"X-CSRF-Token": ownCSRF}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusNotFound {
		t.Fatalf("api restore twice: %d %s", w.Code, w.Body.String())
	}
}

func TestVoicemailDownloadName(t *testing.T) {
	f := newOwnedFixture(t, nil)
	_, vm := f.addCall("+79161234567", t0, tone(0.2))
	cookie, _ := f.login()
	w := f.do(req{path: "/voicemail/" + strconv.FormatInt(vm, 10) + "/audio?download=1", cookies: []*http.Cookie{cookie}})
	want := `attachment; filename="voicemail-20260301-0930-79161234567.wav"`
	if w.Code != http.StatusOK || w.Header().Get("Content-Disposition") != want {
		t.Fatalf("download: %d %q, want %q", w.Code, w.Header().Get("Content-Disposition"), want)
	}
}

func TestPanel(t *testing.T) {
	f := newOwnedFixture(t, nil)
	ctx := context.Background()
	// An earlier call with a note, and the call ringing now on sim1.
	old := f.logCall("sim1", "+79161234567", t0.Add(-24*time.Hour), store.Summary{Outcome: store.OutcomeAnswered})
	if err := f.st.SetCallNote(ctx, old, "wants <b>delivery</b> on Friday"); err != nil {
		t.Fatal(err)
	}
	now := f.logCall("sim1", "+79161234567", t0, store.Summary{})
	f.srv.lines = &fakeLines{lines: []daemon.LineInfo{
		{ID: "sim1", State: "ready", InCall: true, CallNumber: "+79161234567", CallSince: t0},
		{ID: "sim2", State: "ready"},
	}}
	opCookie, opCSRF := operatorSession(t, f)
	ownCookie, ownCSRF := f.login()
	en := map[string]string{"Accept-Language": "en"}

	w := f.do(req{path: "/panel", cookies: []*http.Cookie{opCookie}, header: en})
	body := w.Body.String()
	for _, want := range []string{
		"tel:" + htmlEscaped("+79161234567"), htmlEscaped("wants <b>delivery</b> on Friday"),
		"/panel/calls/" + strconv.FormatInt(now, 10) + "/note", "on the operator&#39;s phone", "No call",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("panel lacks %q", want)
		}
	}
	if w.Code != http.StatusOK || t.Failed() {
		t.Fatalf("panel: %d %s", w.Code, body)
	}

	// An operator takes a note on the call.
	w = f.do(req{method: "POST", path: "/panel/calls/" + strconv.FormatInt(now, 10) + "/note", form: url.Values{"csrf": {opCSRF}, "note": {"asked for a price"}}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/panel?ok=note" {
		t.Fatalf("note: %d %q", w.Code, w.Header().Get("Location"))
	}
	if c, _ := f.st.Call(ctx, now); c.Note != "asked for a price" {
		t.Errorf("note = %q", c.Note)
	}

	// Scripts: the default flow's ring/queue nodes; only the owner writes them.
	nodes, err := f.srv.scriptNodes(ctx, "en")
	if err != nil || len(nodes) == 0 {
		t.Fatalf("script nodes = %v, %v", nodes, err)
	}
	node := nodes[0].ID
	w = f.do(req{method: "POST", path: "/panel/script", form: url.Values{"csrf": {opCSRF}, "node": {node}, "text": {"x"}}, cookies: []*http.Cookie{opCookie}})
	if w.Code != http.StatusForbidden {
		t.Fatalf("operator script: %d", w.Code)
	}
	w = f.do(req{method: "POST", path: "/panel/script", form: url.Values{"csrf": {ownCSRF}, "node": {"no-such-node"}, "text": {"x"}}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusBadRequest {
		t.Fatalf("script of unknown node: %d", w.Code)
	}
	w = f.do(req{method: "POST", path: "/panel/script", form: url.Values{"csrf": {ownCSRF}, "node": {node}, "text": {"Hello!\nPrices: <see list>"}}, cookies: []*http.Cookie{ownCookie}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/panel?ok=script" {
		t.Fatalf("script: %d %q", w.Code, w.Header().Get("Location"))
	}
	if got, _ := f.st.Setting(ctx, "script_"+node, ""); got != "Hello!\nPrices: <see list>" {
		t.Errorf("script stored %q", got)
	}
	w = f.do(req{path: "/panel", cookies: []*http.Cookie{opCookie}, header: en})
	if !strings.Contains(w.Body.String(), "<p>Prices: &lt;see list&gt;</p>") || strings.Contains(w.Body.String(), `action="/panel/script"`) {
		t.Errorf("operator's panel script: %s", w.Body.String())
	}

	// The JSON twin.
	var out struct {
		Lines []struct {
			ID      string `json:"id"`
			InCall  bool   `json:"in_call"`
			CallID  int64  `json:"call_id"`
			History []struct {
				ID      int64  `json:"id"`
				Outcome string `json:"outcome"`
				Note    string `json:"note"`
			} `json:"history"`
		} `json:"lines"`
		Scripts []panelScript `json:"scripts"`
	}
	raw := getJSON(t, f, "/api/panel", opCookie, &out)
	if len(out.Lines) != 2 || !out.Lines[0].InCall || out.Lines[0].CallID != now || len(out.Lines[0].History) != 1 ||
		out.Lines[0].History[0].ID != old || out.Lines[0].History[0].Outcome != store.OutcomeAnswered || out.Lines[1].InCall {
		t.Errorf("api panel: %s", raw)
	}
	if !json.Valid(raw) || len(out.Scripts) != len(nodes) {
		t.Errorf("api scripts: %s", raw)
	}
}
