package web

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/daemon"
	"hotline/daemon/store"
)

// TestBrowserInboxAndPanel: in a real headless Chromium at phone width, the owner deletes a
// voicemail and brings it back from the trash, then watches the operator panel show a call
// that starts ringing (panel.js reloads it under the strict CSP), with the caller's earlier
// note, and saves a note on the call.
func TestBrowserInboxAndPanel(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	_, vm := f.addCall("+79161234567", time.Now().Add(-time.Hour), tone(0.5))
	if err := f.st.SetCallNote(context.Background(), mustFirstCall(t, f.st), "<i>regular</i> client"); err != nil {
		t.Fatal(err)
	}
	lines := &lockedLines{lines: []daemon.LineInfo{{ID: "gsm1", State: "ready"}}}
	f.srv.lines = lines
	ts := httptest.NewServer(f.h)
	defer ts.Close()
	defer f.srv.Close()

	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 45*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step, eval, poll, await := b.step, b.eval, b.poll, b.await
	id := strconv.FormatInt(vm, 10)

	step("login",
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#calls")),
	)
	step("inbox", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/voicemail"]`)), chromedp.WaitVisible(chromedp.CSS("#vm-"+id)))
	step("delete", chromedp.Click(chromedp.CSS(`form[action="/voicemail/`+id+`/delete"] button`)), chromedp.WaitVisible(chromedp.CSS("#trash-"+id)))
	if v := eval("message gone", `document.getElementById("vm-`+id+`") === null`); v != true {
		t.Errorf("the deleted message is still listed")
	}
	step("restore", chromedp.Click(chromedp.CSS(`#trash-`+id+` button`)), chromedp.WaitVisible(chromedp.CSS("#vm-"+id)))
	if v := eval("fits", `document.documentElement.scrollWidth <= 360`); v != true {
		t.Errorf("the inbox is wider than a phone")
	}

	step("panel", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/panel"]`)), chromedp.WaitVisible(chromedp.CSS("#line-gsm1")))
	poll("panel.js polling", `performance.getEntriesByType("resource").some(e => e.name.endsWith("/api/panel"))`)
	// A call rings: the panel reloads itself and shows the caller's card.
	callID := f.logCall("gsm1", "+79161234567", time.Now(), store.Summary{})
	lines.mu.Lock()
	lines.lines[0].InCall, lines.lines[0].CallNumber, lines.lines[0].CallSince = true, "+79161234567", time.Now()
	lines.mu.Unlock()
	note := "#note-" + strconv.FormatInt(callID, 10)
	await("the call's card", `document.readyState === "complete" && document.querySelector("`+note+`") !== null`)
	if v := eval("earlier note", `document.querySelector("#line-gsm1").textContent.includes("<i>regular</i> client")`); v != true {
		t.Errorf("the earlier note is missing or not text")
	}
	if v := eval("no injected element", `document.querySelector("#line-gsm1 i") === null`); v != true {
		t.Errorf("a note from the log made an element")
	}
	step("note",
		chromedp.SendKeys(chromedp.CSS(note), "asks about prices"),
		chromedp.Click(chromedp.CSS(`form[action="/panel/calls/`+strconv.FormatInt(callID, 10)+`/note"] button`)),
	)
	await("the note saved", `location.search === "?ok=note" && document.readyState === "complete" && document.querySelector("`+note+`") !== null`)
	c, err := f.st.Call(context.Background(), callID)
	if err != nil || c.Note != "asks about prices" {
		t.Errorf("note = %q, %v", c.Note, err)
	}
	if v := eval("panel fits", `document.documentElement.scrollWidth <= 360`); v != true {
		t.Errorf("the panel is wider than a phone")
	}
}

// mustFirstCall is the id of the oldest call in the log.
func mustFirstCall(t *testing.T, st *store.Store) int64 {
	t.Helper()
	calls, err := st.SearchCalls(context.Background(), store.LogFilter{Limit: 1000})
	if err != nil || len(calls) == 0 {
		t.Fatalf("calls: %v, %v", calls, err)
	}
	return calls[len(calls)-1].ID
}
