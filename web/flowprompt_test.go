package web

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hotline/voice/ivr"
	"hotline/voice/prompts"
)

// TestFlowPromptSaved records a prompt from the flow editor: it is saved in the box's
// language and, a new name, in the others too; the editor then offers it in every prompt list
// and the flow may use it.
func TestFlowPromptSaved(t *testing.T) {
	f := newOwnedFixture(t, nil)
	c, csrf := f.login()
	w := f.do(multipartReq("/flow/prompt", c, field("csrf", csrf), field("lang", "ru"), field("name", "My_Prices"),
		part{name: "audio", file: "recording.wav", data: sineWAV(t, 1.0, 48000)}))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("upload: %d %q %s", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	var got flowPromptJSON
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	wantLabel := ownPromptLabel(messages[langRU]["flow_own_prompt"], "my_prices")
	if got.Name != "my_prices" || got.Lang != "ru" || got.Label != wantLabel || got.DurationSeconds < 0.9 || len(got.Langs) != len(prompts.Languages()) {
		t.Errorf("answer %+v", got)
	}
	for _, lang := range prompts.Languages() {
		if _, err := os.Stat(filepath.Join(promptDir(f), lang, "my_prices.wav")); err != nil {
			t.Errorf("not saved in %s: %v", lang, err)
		}
	}

	// The editor lists it; a flow that plays it saves without a missing-prompt problem.
	page := f.do(req{path: "/flow", cookies: []*http.Cookie{c}}).Body.String()
	for _, want := range []string{
		`<option value="my_prices">` + htmlEscaped(wantLabel) + `</option>`,
		`data-prompt-url="/flow/prompt"`, `data-prompt-lang="ru"`, `data-inline-prompt`, `data-recorder`,
		`/static/flows.js?v=`, `/static/record.js?v=`, `data-ip-open`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the editor lacks %q", want)
		}
	}
	flow := ivr.Default(langRU)
	for i := range flow.Nodes {
		if flow.Nodes[i].ID == "about" {
			flow.Nodes[i].Prompt = "my_prices"
		}
	}
	body, err := json.Marshal(flow)
	if err != nil {
		t.Fatal(err)
	}
	w = f.do(req{method: http.MethodPut, path: "/api/flow", body: string(body), cookies: []*http.Cookie{c},
		header: map[string]string{"Content-Type": "application/json", "X-CSRF-Token": csrf}})
	if w.Code != http.StatusOK {
		t.Fatalf("save a flow playing it: %d %s", w.Code, w.Body.String())
	}
	page = f.do(req{path: "/flow", cookies: []*http.Cookie{c}}).Body.String()
	if !strings.Contains(page, `<option value="my_prices" selected>`) {
		t.Errorf("the saved flow's step does not show its prompt chosen")
	}

	// A standard name replaces that prompt in one language only.
	w = f.do(multipartReq("/flow/prompt", c, field("csrf", csrf), field("lang", "en"), field("name", ivr.PromptGreeting),
		part{name: "audio", file: "hello.wav", data: sineWAV(t, 0.5, 8000)}))
	if w.Code != http.StatusOK {
		t.Fatalf("standard name: %d %s", w.Code, w.Body.String())
	}
	got = flowPromptJSON{}
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got.Langs) != 1 || got.Label == "" {
		t.Errorf("standard name answer %+v, %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(promptDir(f), "ru", ivr.PromptGreeting+".wav")); !os.IsNotExist(err) {
		t.Errorf("the Russian greeting was replaced too: %v", err)
	}
}

// TestFlowPromptRefused answers every refusal in JSON with the owner's words, and saves
// nothing.
func TestFlowPromptRefused(t *testing.T) {
	f := newOwnedFixture(t, nil)
	c, csrf := f.login()
	T := messages[langRU]
	wavData := sineWAV(t, 0.5, 8000)
	cases := []struct {
		name  string
		parts []part
		key   string
	}{
		{"no file", []part{field("csrf", csrf), field("lang", "ru"), field("name", "my_x")}, "prm_err_nofile"},
		{"bad name", []part{field("csrf", csrf), field("lang", "ru"), field("name", "../x"), {name: "audio", file: "a.wav", data: wavData}}, "prm_err_name"},
		{"empty name", []part{field("csrf", csrf), field("lang", "ru"), field("name", ""), {name: "audio", file: "a.wav", data: wavData}}, "prm_err_name"},
		{"bad language", []part{field("csrf", csrf), field("lang", "xx"), field("name", "my_x"), {name: "audio", file: "a.wav", data: wavData}}, "prm_err_name"},
		{"not audio", []part{field("csrf", csrf), field("lang", "ru"), field("name", "my_x"), {name: "audio", file: "a.wav", data: []byte("<html>hello</html>")}}, "prm_err_notaudio"},
		{"silence", []part{field("csrf", csrf), field("lang", "ru"), field("name", "my_x"), {name: "audio", file: "a.wav", data: silentWAV(t)}}, "prm_err_silent"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(multipartReq("/flow/prompt", c, tc.parts...))
			var got apiError
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusBadRequest || got.Error != T[tc.key] {
				t.Errorf("%d %s (%v), want 400 %q", w.Code, w.Body.String(), err, T[tc.key])
			}
		})
	}
	// Without the form token first, nothing is read.
	w := f.do(multipartReq("/flow/prompt", c, field("lang", "ru"), field("csrf", csrf), field("name", "my_x"),
		part{name: "audio", file: "a.wav", data: wavData}))
	if w.Code != http.StatusForbidden {
		t.Errorf("token not first: %d", w.Code)
	}
	// An operator may not change prompts.
	opCookie, opCSRF := operatorSession(t, f)
	w = f.do(multipartReq("/flow/prompt", opCookie, field("csrf", opCSRF), field("lang", "ru"), field("name", "my_x"),
		part{name: "audio", file: "a.wav", data: wavData}))
	if w.Code != http.StatusForbidden {
		t.Errorf("operator: %d", w.Code)
	}
	if entries, _ := os.ReadDir(filepath.Join(promptDir(f), "ru")); len(entries) != 0 {
		t.Errorf("refused uploads left %d files", len(entries))
	}
}

func TestSuggestPromptName(t *testing.T) {
	for _, tc := range []struct{ id, want string }{
		{"play1", "my_play1"},
		{"Menu-2", "my_menu_2"},
		{"", "my_prompt"},
		{"шаг", "my_prompt"},
		{strings.Repeat("a", 60), "my_" + strings.Repeat("a", 37)},
	} {
		if got := suggestPromptName(tc.id); got != tc.want {
			t.Errorf("suggestPromptName(%q) = %q, want %q", tc.id, got, tc.want)
		}
	}
}
