package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/voice/ivr"
)

// TestBrowserFlowEditor edits the call flow in a real headless Chromium, as the owner would on
// a phone: point key 1 of the menu at a new message step, see the linter refuse the dead end,
// fix it, save, and find the new version in the list and in the store.
func TestBrowserFlowEditor(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open

	browser := startChromium(t, chromedp.Flag("lang", "en-US"))
	ctx, cancel := context.WithTimeout(browser, 40*time.Second)
	defer cancel()

	b := newTab(t, ctx)
	step, eval := b.step, b.eval
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// pick chooses the option with value in the select named name.
	pick := func(name, value string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const s = document.querySelector('select[name=%q]'); if (!s) return false;
			s.value = %q; s.dispatchEvent(new Event("change", {bubbles: true})); return s.value === %q })()`, name, value, value)
		if v := eval("pick "+name, js); v != true {
			t.Fatalf("cannot choose %q in %s", value, name)
		}
	}
	fits := func(page string) {
		t.Helper()
		if v := eval("width", `document.documentElement.scrollWidth <= window.innerWidth`); v != true {
			t.Errorf("%s is wider than the 360 px screen", page)
		}
	}

	step("viewport", chromedp.EmulateViewport(360, 800))
	// The session cookie of the owner, set in the browser for the test server's host.
	step("cookie", chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, cookie.Name+"="+cookie.Value+"; path=/")),
		chromedp.Evaluate[chromedp.Void](`document.cookie = "hotline_lang=en; path=/"`))
	step("open /flow", chromedp.Navigate(ts.URL+"/flow"), chromedp.WaitVisible(chromedp.CSS("#flow-form")))
	T := messages[langEN]
	if got := text("h1"); got != T["flow_title"] {
		t.Fatalf("heading %q", got)
	}
	if v := eval("nav", `!!document.querySelector('nav.tabs a[href="/flow"][aria-current="page"]')`); v != true {
		t.Errorf("the owner's nav has no current Menu link")
	}
	fits("/flow")

	// Add a message step; it arrives at the end, unreachable and going nowhere.
	pick("add_kind", "play")
	step("add", chromedp.Click(chromedp.CSS("#flow-add")), chromedp.WaitVisible(chromedp.CSS("#node-play1")))
	// Key 1 of the menu leads to it now, and it says the "about" recording.
	pick("n.2.key.1", "play1")
	pick("n.10.prompt", ivr.PromptAbout)
	step("save with a dead end", chromedp.Click(chromedp.CSS("#flow-save")), chromedp.WaitVisible(chromedp.CSS("#problems")))
	dead := ivr.Problem{Severity: ivr.SeverityError, Code: ivr.CodeDeadEnd, Node: "play1", Kind: ivr.KindPlay,
		Title: T["kind_play"] + " 11", Field: "next"}
	if got := text("#problems"); !strings.Contains(got, dead.Message(langEN)) {
		t.Fatalf("problems %q lack %q", got, dead.Message(langEN))
	}
	if got := text(".error"); got != T["flow_not_saved"] {
		t.Errorf("error %q", got)
	}
	if vs, _ := f.st.FlowVersions(context.Background(), 10); len(vs) != 0 {
		t.Fatalf("a flow with errors was saved")
	}
	fits("/flow with problems")
	keepShot(t, ctx, "flow-problems-360.png")

	// Fix it: back to the menu after the message; the old "about" step, now unreachable, goes.
	pick("n.10.next", "menu")
	aboutRemove := `button[name="action"][value="remove.3"]`
	step("remove about", chromedp.Click(chromedp.CSS(aboutRemove)), chromedp.WaitVisible(chromedp.CSS("#flow-form")))
	if v := eval("about gone", `document.querySelector("#node-about") === null`); v != true {
		t.Fatalf("the about step is still there")
	}
	step("check", chromedp.Click(chromedp.CSS("#flow-check")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if got := text(".notice"); got != T["flow_check_ok"] {
		t.Errorf("check notice %q; problems: %v", got, eval("problems", `(document.querySelector("#problems")||{}).innerText`))
	}
	step("save",
		chromedp.SendKeys(chromedp.CSS("#flow-comment"), "key 1: prices"),
		chromedp.Click(chromedp.CSS("#flow-save")),
		chromedp.WaitVisible(chromedp.CSS("#version-1")))
	if got := text(".notice"); got != fmt.Sprintf(T["flow_saved"], 1) {
		t.Errorf("notice %q", got)
	}
	if got := text("#version-1"); !strings.Contains(got, "key 1: prices") || !strings.Contains(got, T["flow_current"]) {
		t.Errorf("version row %q", got)
	}
	keepShot(t, ctx, "flow-saved-360.png")
	fv, err := f.st.Flow(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := ivr.Parse(fv.JSON)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ivr.Node{}
	for _, n := range saved.Nodes {
		byID[n.ID] = n
	}
	if saved.Nodes[2].Choices["1"] != "play1" || byID["play1"].Next != "menu" || byID["play1"].Prompt != ivr.PromptAbout {
		t.Errorf("stored flow: menu %v, new step %+v", saved.Nodes[2].Choices, byID["play1"])
	}
	if _, ok := byID["about"]; ok || len(saved.Nodes) != 10 {
		t.Errorf("stored flow has %d steps", len(saved.Nodes))
	}
	// Everything else came through the form unchanged: the schedule and the queue.
	def := ivr.Default(langEN)
	if got, want := mustJSONAny(t, saved.Nodes[0]), mustJSONAny(t, def.Nodes[0]); string(got) != string(want) {
		t.Errorf("schedule step changed:\n%s\nwant\n%s", got, want)
	}
	if got, want := mustJSONAny(t, byID["operators"]), mustJSONAny(t, def.Nodes[4]); string(got) != string(want) {
		t.Errorf("queue step changed:\n%s\nwant\n%s", got, want)
	}
}

// TestBrowserFlowPrompt gives two steps new prompts without leaving the flow editor, in a
// real headless Chromium with its fake microphone: one uploaded as a WAV file, one recorded;
// each is saved as the owner's prompt, offered in every list and chosen in its step, and the
// flow saves with them.
func TestBrowserFlowPrompt(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open
	file := filepath.Join(t.TempDir(), "about.wav")
	if err := os.WriteFile(file, sineWAV(t, 1.0, 16000), 0o600); err != nil {
		t.Fatal(err)
	}
	browser := startChromium(t, chromedp.Flag("lang", "en-US"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true))
	ctx, cancel := context.WithTimeout(browser, 40*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step, poll, eval := b.step, b.poll, b.eval
	T := messages[langEN]
	step("open /flow", chromedp.EmulateViewport(360, 800), chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, cookie.Name+"="+cookie.Value+"; path=/")),
		chromedp.Evaluate[chromedp.Void](`document.cookie = "hotline_lang=en; path=/"`),
		chromedp.Navigate(ts.URL+"/flow"), chromedp.WaitVisible(chromedp.CSS("#flow-form")))

	// The "about" message (step 3): a file from the computer.
	step("upload", chromedp.Click(chromedp.CSS(`button[aria-controls="f-3-prompt-new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-3-prompt-new")),
		chromedp.SetValue(chromedp.CSS("#f-3-prompt-name"), "my_about"),
		chromedp.SetUploadFiles(chromedp.CSS("#f-3-prompt-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#f-3-prompt-new [data-ip-save]")))
	poll("the uploaded prompt chosen", `document.getElementById("f-3-prompt").value === "my_about"`)
	if v := eval("width", `document.documentElement.scrollWidth <= window.innerWidth`); v != true {
		t.Errorf("the open recorder makes the editor wider than the 360 px screen")
	}
	if got, want := eval("status", `document.querySelector("#f-3-prompt-new [data-ip-status]").textContent`), fmt.Sprintf(T["flow_ip_saved"], "my_about"); got != want {
		t.Errorf("status %q, want %q", got, want)
	}
	// Every other prompt list offers it now.
	if v := eval("other lists", `Array.from(document.querySelectorAll("select[data-prompt-select]")).every(s => Array.from(s.options).some(o => o.value === "my_about"))`); v != true {
		t.Errorf("not every prompt list offers the new prompt")
	}

	// The menu (step 2): recorded with the microphone, a few seconds of the fake device's beeps.
	step("record", chromedp.Click(chromedp.CSS(`button[aria-controls="f-2-prompt-new"]`)),
		chromedp.WaitVisible(chromedp.CSS("#f-2-prompt-new [data-rec-start]")),
		chromedp.SetValue(chromedp.CSS("#f-2-prompt-name"), "my_menu"),
		chromedp.Click(chromedp.CSS("#f-2-prompt-new [data-rec-start]")))
	poll("two seconds recorded", `(() => { const m = /([0-9.]+)/.exec(document.querySelector("#f-2-prompt-new [data-rec-status]").textContent); return !!m && parseFloat(m[1]) >= 2 })()`)
	step("stop", chromedp.Click(chromedp.CSS("#f-2-prompt-new [data-rec-stop]")))
	poll("the recording in the file field", `document.getElementById("f-2-prompt-file").files.length === 1`)
	step("save recording", chromedp.Click(chromedp.CSS("#f-2-prompt-new [data-ip-save]")))
	poll("the recorded prompt chosen", `document.getElementById("f-2-prompt").value === "my_menu"`)

	for _, name := range []string{"my_about", "my_menu"} {
		for _, lang := range []string{langRU, langEN} {
			if _, err := os.Stat(filepath.Join(promptDir(f), lang, name+".wav")); err != nil {
				t.Errorf("prompt %s not saved in %s: %v", name, lang, err)
			}
		}
	}

	// The flow saves with both (the unsaved draft was kept all along).
	step("save flow", chromedp.Click(chromedp.CSS("#flow-save")), chromedp.WaitVisible(chromedp.CSS("#version-1")))
	fv, err := f.st.Flow(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	saved, err := ivr.Parse(fv.JSON)
	if err != nil {
		t.Fatal(err)
	}
	prompts := map[string]string{}
	for _, n := range saved.Nodes {
		prompts[n.ID] = n.Prompt
	}
	if prompts["about"] != "my_about" || prompts["menu"] != "my_menu" {
		t.Errorf("stored prompts: about %q, menu %q", prompts["about"], prompts["menu"])
	}
}
