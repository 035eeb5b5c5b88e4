package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/ivr"
)

// flowValues is the editor's form for f, as a browser would send it unchanged.
func flowValues(f *ivr.Flow, csrf, action string) url.Values {
	v := url.Values{"csrf": {csrf}, "action": {action}, "count": {strconv.Itoa(len(f.Nodes))},
		"name": {f.Name}, "start": {f.Start}, "version": {"0"}}
	for i, n := range f.Nodes {
		set := func(field, value string) {
			if value != "" {
				v.Set(nodeField(i, field), value)
			}
		}
		num := func(field string, n int) {
			if n != 0 {
				set(field, strconv.Itoa(n))
			}
		}
		set("id", n.ID)
		set("kind", string(n.Kind))
		set("title", n.Title)
		set("prompt", n.Prompt)
		set("next", n.Next)
		for k, to := range n.Choices {
			set("key."+k, to)
		}
		for k, l := range n.Languages {
			set("lang."+k, l)
		}
		num("timeout_sec", n.TimeoutSec)
		num("retries", n.Retries)
		set("invalid", n.Invalid)
		set("no_input", n.NoInput)
		if n.Schedule != nil {
			b, _ := json.Marshal(n.Schedule)
			set("schedule", string(b))
		}
		set("open", n.Open)
		set("closed", n.Closed)
		set("holiday", n.Holiday)
		for _, op := range n.Operators {
			v.Add(nodeField(i, "operators"), op)
		}
		set("strategy", string(n.Strategy))
		num("ring_sec", n.RingSec)
		set("no_answer", n.NoAnswer)
		if n.Record {
			set("record", "1")
		}
		num("max_wait_sec", n.MaxWaitSec)
		set("music", n.Music)
		num("announce_sec", n.AnnounceSec)
		set("leave_key", n.LeaveKey)
		set("leave", n.Leave)
		set("number", n.Number)
		set("box", n.Box)
		num("max_length_sec", n.MaxLengthSec)
		set("text", n.Text)
	}
	return v
}

func TestFlowFormRoundTrip(t *testing.T) {
	for _, lang := range []string{langRU, langEN} {
		want := ivr.Default(lang)
		got, err := flowFromForm(flowValues(want, "", "check"))
		if err != nil {
			t.Fatalf("%s: %v", lang, err)
		}
		if !reflect.DeepEqual(got, want) {
			a, _ := got.MarshalIndent()
			b, _ := want.MarshalIndent()
			t.Errorf("%s: the form changed the flow:\n%s\nwant\n%s", lang, a, b)
		}
	}
	for _, bad := range []url.Values{{"count": {"x"}}, {"count": {"-1"}}, {"count": {"100000"}},
		{"count": {"1"}, "n.0.kind": {"schedule"}, "n.0.schedule": {"{"}}} {
		if _, err := flowFromForm(bad); err == nil {
			t.Errorf("flowFromForm(%v) took it", bad)
		}
	}
}

func TestAddRemoveNode(t *testing.T) {
	f := ivr.Default(langEN)
	id := addNode(f, ivr.KindPlay, "")
	if id != "play1" || f.Nodes[len(f.Nodes)-1].ID != "play1" {
		t.Fatalf("added %q", id)
	}
	i := len(f.Nodes) - 1
	f.Nodes[0].Open = id
	removeNode(f, i)
	if f.Nodes[0].Open != "" || len(f.Nodes) != 10 {
		t.Errorf("remove left %q, %d nodes", f.Nodes[0].Open, len(f.Nodes))
	}
	removeNode(f, 2) // the menu: the greeting's next is cleared
	if f.Nodes[1].Next != "" {
		t.Errorf("greeting still leads to %q", f.Nodes[1].Next)
	}
}

func TestFlowEditor(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	ck := []*http.Cookie{cookie}
	ctx := context.Background()

	// A new box shows the default flow, not saved yet.
	w := f.do(req{path: "/flow", cookies: ck, header: map[string]string{"Accept-Language": "en"}})
	body := w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, htmlEscaped(messages[langEN]["flow_default_notice"])) ||
		!strings.Contains(body, `name="n.2.key.1"`) {
		t.Fatalf("GET /flow: %d\n%s", w.Code, body)
	}

	// Key 1 to a new message step that leads nowhere: a dead end, not saved.
	draft := ivr.Default(langEN)
	id := addNode(draft, ivr.KindPlay, "Prices")
	draft.Nodes[len(draft.Nodes)-1].Prompt = ivr.PromptAbout
	draft.Nodes[2].Choices["1"] = id
	form := flowValues(draft, csrf, "save")
	w = f.do(req{method: "POST", path: "/flow", form: form, cookies: ck, header: map[string]string{"Accept-Language": "en"}})
	dead := ivr.Problem{Severity: ivr.SeverityError, Code: ivr.CodeDeadEnd, Node: id, Kind: ivr.KindPlay, Title: "Prices", Field: "next"}
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), htmlEscaped(dead.Message(langEN))) {
		t.Fatalf("save with a dead end: %d\n%s", w.Code, w.Body.String())
	}
	if vs, _ := f.st.FlowVersions(ctx, 10); len(vs) != 0 {
		t.Fatalf("saved %d versions despite the error", len(vs))
	}

	// Fixed, and the old step removed: saved as version 1.
	draft.Nodes[len(draft.Nodes)-1].Next = "menu"
	removeNode(draft, 3) // "about", now unreachable
	w = f.do(req{method: "POST", path: "/flow", form: flowValues(draft, csrf, "save"), cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/flow?saved=1" {
		t.Fatalf("save: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	fv, err := f.st.Flow(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := ivr.Parse(fv.JSON)
	if err != nil || saved.Nodes[2].Choices["1"] != id || fv.CreatedBy != "owner" {
		t.Fatalf("stored flow: %v %+v by %q", err, saved.Nodes[2].Choices, fv.CreatedBy)
	}

	// A form opened before that save is refused once, then saves over it.
	stale := flowValues(saved, csrf, "save")
	w = f.do(req{method: "POST", path: "/flow", form: stale, cookies: ck, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), `name="version" value="1"`) {
		t.Fatalf("stale save: %d", w.Code)
	}
	stale.Set("version", "1")
	if w := f.do(req{method: "POST", path: "/flow", form: stale, cookies: ck}); w.Code != http.StatusSeeOther {
		t.Fatalf("save again: %d", w.Code)
	}

	// Check and add are no saves.
	w = f.do(req{method: "POST", path: "/flow", form: flowValues(saved, csrf, "check"), cookies: ck, header: map[string]string{"Accept-Language": "en"}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), messages[langEN]["flow_check_ok"]) {
		t.Errorf("check: %d", w.Code)
	}
	form = flowValues(saved, csrf, "add")
	form.Set("add_kind", "sms")
	w = f.do(req{method: "POST", path: "/flow", form: form, cookies: ck})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `id="node-sms1"`) {
		t.Errorf("add: %d", w.Code)
	}
	form.Set("add_kind", "nonsense")
	if w := f.do(req{method: "POST", path: "/flow", form: form, cookies: ck}); w.Code != http.StatusBadRequest {
		t.Errorf("add a kind that does not exist: %d", w.Code)
	}
	for _, a := range []string{"remove.99", "remove.x", "explode"} {
		form.Set("action", a)
		if w := f.do(req{method: "POST", path: "/flow", form: form, cookies: ck}); w.Code != http.StatusBadRequest {
			t.Errorf("action %q: %d", a, w.Code)
		}
	}

	// Revert to version 1 after a second save: version 3 holds version 1's flow.
	if _, _, err := daemon.SaveFlow(ctx, f.st, mustJSON(t, ivr.Default(langEN)), "owner", "default"); err != nil {
		t.Fatal(err)
	}
	w = f.do(req{method: "POST", path: "/flow/revert", form: url.Values{"csrf": {csrf}, "version": {"1"}}, cookies: ck})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/flow?saved=4" {
		t.Fatalf("revert: %d %q", w.Code, w.Header().Get("Location"))
	}
	v3, _ := f.st.Flow(ctx, 4)
	v1, _ := f.st.Flow(ctx, 1)
	if string(v3.JSON) != string(v1.JSON) || !strings.Contains(v3.Comment, "1") {
		t.Errorf("version 4 is not version 1: %q", v3.Comment)
	}
	if w := f.do(req{method: "POST", path: "/flow/revert", form: url.Values{"csrf": {csrf}, "version": {"77"}}, cookies: ck}); w.Code != http.StatusNotFound {
		t.Errorf("revert to a version that does not exist: %d", w.Code)
	}
	w = f.do(req{path: "/flow?saved=4", cookies: ck})
	if !strings.Contains(w.Body.String(), `id="version-4"`) || !strings.Contains(w.Body.String(), `id="version-1"`) {
		t.Errorf("versions not listed")
	}
}

func mustJSON(t *testing.T, f *ivr.Flow) []byte {
	t.Helper()
	b, err := f.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestFlowAPI(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ck := []*http.Cookie{cookie}
	en := map[string]string{"Accept-Language": "en"}

	var got flowJSON
	w := f.do(req{path: "/api/flow", cookies: ck})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &got) != nil || got.Version != 0 {
		t.Fatalf("GET /api/flow: %d %s", w.Code, w.Body.String())
	}
	if _, err := ivr.Parse(got.Flow); err != nil {
		t.Fatalf("flow in the answer: %v", err)
	}

	// A dead end is refused with the linter's words.
	bad := ivr.Default(langEN)
	bad.Nodes[1].Next = ""
	w = f.do(req{method: "PUT", path: "/api/flow", body: string(mustJSON(t, bad)), cookies: ck, header: en})
	var res saveJSON
	if w.Code != http.StatusUnprocessableEntity || json.Unmarshal(w.Body.Bytes(), &res) != nil || len(res.Problems) == 0 ||
		res.Problems[0].Code != ivr.CodeDeadEnd || res.Problems[0].Message == "" {
		t.Fatalf("PUT a dead end: %d %s", w.Code, w.Body.String())
	}
	for _, body := range []string{"", "{", `{"start":"a","nodes":[],"x":1}`} {
		if w := f.do(req{method: "PUT", path: "/api/flow", body: body, cookies: ck}); w.Code != http.StatusBadRequest {
			t.Errorf("PUT %q: %d %s", body, w.Code, w.Body.String())
		}
	}
	if w := f.do(req{method: "PUT", path: "/api/flow", body: strings.Repeat(" ", ivr.MaxFlowBytes+1), cookies: ck}); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("PUT too big: %d", w.Code)
	}

	for i := 1; i <= 2; i++ {
		w = f.do(req{method: "PUT", path: "/api/flow?comment=v" + strconv.Itoa(i), body: string(mustJSON(t, ivr.Default(langEN))), cookies: ck})
		if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil || res.Version != int64(i) {
			t.Fatalf("PUT: %d %s", w.Code, w.Body.String())
		}
	}
	var vs struct {
		Versions []struct {
			Version int64  `json:"version"`
			Comment string `json:"comment"`
		} `json:"versions"`
	}
	w = f.do(req{path: "/api/flow/versions", cookies: ck})
	if json.Unmarshal(w.Body.Bytes(), &vs) != nil || len(vs.Versions) != 2 || vs.Versions[0].Version != 2 || vs.Versions[1].Comment != "v1" {
		t.Fatalf("versions: %s", w.Body.String())
	}
	w = f.do(req{method: "POST", path: "/api/flow/revert", body: `{"version":1}`, cookies: ck})
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &res) != nil || res.Version != 3 {
		t.Fatalf("revert: %d %s", w.Code, w.Body.String())
	}
	for body, code := range map[string]int{`{"version":9}`: 404, `{"version":0}`: 400, `{}`: 400, `x`: 400} {
		if w := f.do(req{method: "POST", path: "/api/flow/revert", body: body, cookies: ck}); w.Code != code {
			t.Errorf("revert %s: %d, want %d", body, w.Code, code)
		}
	}
}

// TestFlowRevertRefused: an old version that names an operator who is gone cannot come back as
// it is; the editor shows it with the linter's words instead.
func TestFlowRevertRefused(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, csrf := f.login()
	ctx := context.Background()
	if _, err := f.st.AddOperator(ctx, store.Operator{Name: "Anna", Mobile: "+79161234567"}); err != nil {
		t.Fatal(err)
	}
	fl := ivr.Default(langEN)
	fl.Nodes[4].Operators = []string{"Anna"}
	if _, _, err := daemon.SaveFlow(ctx, f.st, mustJSON(t, fl), "owner", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.st.DeleteOperator(ctx, "Anna"); err != nil {
		t.Fatal(err)
	}
	w := f.do(req{method: "POST", path: "/flow/revert", form: url.Values{"csrf": {csrf}, "version": {"1"}},
		cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	want := ivr.Problem{Severity: ivr.SeverityError, Code: ivr.CodeUnknownOperator, Node: "operators", Kind: ivr.KindQueue,
		Title: "Operators", Field: "operators", Args: []string{"Anna"}}
	if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), htmlEscaped(want.Message(langEN))) ||
		!strings.Contains(w.Body.String(), htmlEscaped(fmt.Sprintf(messages[langEN]["flow_revert_refused"], 1))) ||
		!strings.Contains(w.Body.String(), `name="version" value="1"`) {
		t.Fatalf("revert: %d\n%s", w.Code, w.Body.String())
	}
	if vs, _ := f.st.FlowVersions(ctx, 10); len(vs) != 1 {
		t.Errorf("%d versions", len(vs))
	}
}

// FuzzFlowFromForm: whatever a form holds, reading it does not panic, keeps to maxFormNodes, and
// gives a flow that marshals and that Parse reads back the same.
func FuzzFlowFromForm(f *testing.F) {
	f.Add(flowValues(ivr.Default(langEN), "", "check").Encode())
	f.Add("count=2&n.0.kind=menu&n.0.key.1=x&n.0.key.%2A=y&n.0.timeout_sec=abc&n.1.kind=queue&n.1.leave_key=0&n.1.leave=z")
	f.Add("count=1&n.0.kind=schedule&n.0.schedule=%7B%22tz%22%3A1%7D")
	f.Fuzz(func(t *testing.T, raw string) {
		form, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := flowFromForm(form)
		if err != nil {
			return
		}
		if len(fl.Nodes) > maxFormNodes {
			t.Fatalf("%d nodes", len(fl.Nodes))
		}
		data, err := fl.MarshalIndent()
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		if len(data) > ivr.MaxFlowBytes {
			return
		}
		back, err := ivr.Parse(data)
		if err != nil {
			t.Fatalf("parse what the form gave: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(back, fl) {
			t.Fatalf("round trip changed the flow:\n%s", data)
		}
	})
}
