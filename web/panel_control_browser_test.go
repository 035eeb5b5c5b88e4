package web

import (
	"context"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"hotline/daemon"
	"hotline/daemon/switchboard"
)

// TestBrowserPanelCallControl: in a real headless Chromium at phone width and with the
// keyboard only, an operator rings herself for a caller whose call rings others, sees the
// panel follow the call as she talks (panel.js reloads it when the state changes), and hangs
// the call up.
func TestBrowserPanelCallControl(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f, fc, ops := controlFixture(t)
	f.srv.lines = &lockedLines{lines: []daemon.LineInfo{{ID: "gsm1", State: "ready", InCall: true, CallNumber: "+79161234567", CallSince: time.Now()}}}
	setCall := func(lc switchboard.LiveCall) {
		fc.mu.Lock()
		fc.calls = []switchboard.LiveCall{lc}
		fc.mu.Unlock()
	}
	setCall(switchboard.LiveCall{LineID: "gsm1", CallID: 1, Number: "+79161234567", Since: time.Now(), State: switchboard.StateRinging, With: []string{"Boris"}})
	opCookie, _ := operatorSession(t, f)
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first)
	defer f.srv.Close()

	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 45*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step, eval, await := b.step, b.eval, b.await
	focused := func(name, selector string) {
		t.Helper()
		if v := eval(name, `document.activeElement === document.querySelector(`+strconv.Quote(selector)+`)`); v != true {
			t.Fatalf("%s: focus is on %v", name, eval("focus", `document.activeElement.outerHTML.slice(0, 120)`))
		}
	}

	step("panel",
		chromedp.EmulateViewport(360, 800),
		useSession(ts.URL, opCookie, "en"),
		chromedp.Navigate(ts.URL+"/panel"),
		chromedp.WaitVisible(chromedp.CSS("#take-gsm1")),
	)
	if v := eval("state", `document.querySelector("#line-gsm1 .call-state").textContent.trim()`); v != "Ringing: Boris" {
		t.Errorf("the card says %q", v)
	}
	anna := strconv.FormatInt(ops["Anna"], 10)
	if v := eval("me picked", `document.querySelector("#take-gsm1").value`); v != anna {
		t.Errorf("picked operator %v, want Anna (%s), the one logged in", v, anna)
	}
	if v := eval("fits", `document.documentElement.scrollWidth <= 360`); v != true {
		t.Errorf("the panel with call buttons is wider than a phone")
	}
	// Keyboard only: from the list, Tab to its button and press Enter.
	step("take", chromedp.Focus(chromedp.CSS("#take-gsm1")), chromedp.KeyEvent(kb.Tab))
	focused("the take button after Tab", `form.call-take button`)
	step("take", chromedp.KeyEvent(kb.Enter))
	await("rung", `location.search === "?ok=take" && document.readyState === "complete" && document.querySelector("main .notice") !== null`)
	if got := fc.requests(); len(got) != 1 || got[0] != "take gsm1 "+anna+" by anna" {
		t.Fatalf("requests %q", got)
	}

	// Anna answers: the panel follows (panel.js reloads when the call's state changes).
	setCall(switchboard.LiveCall{LineID: "gsm1", CallID: 1, Number: "+79161234567", Since: time.Now(), State: switchboard.StateTalking, With: []string{"Anna"}})
	await("talking", `document.readyState === "complete" && document.querySelector("#transfer-gsm1") !== null`)
	if v := eval("state", `document.querySelector("#line-gsm1 .call-state").textContent.trim()`); v != "Talking with Anna" {
		t.Errorf("the card says %q", v)
	}
	if v := eval("fits", `document.documentElement.scrollWidth <= 360`); v != true {
		t.Errorf("the panel with call buttons is wider than a phone")
	}
	step("hang up", chromedp.Focus(chromedp.CSS("#transfer-gsm1")), chromedp.KeyEvent(kb.Tab), chromedp.KeyEvent(kb.Tab))
	focused("the hang-up button after two Tabs", `form.call-hangup button`)
	step("hang up", chromedp.KeyEvent(kb.Enter))
	await("hung up", `location.search === "?ok=hangup" && document.readyState === "complete"`)
	if got := fc.requests(); len(got) != 2 || !strings.HasPrefix(got[1], "hangup gsm1 0 by anna") {
		t.Errorf("requests %q", got)
	}
}
