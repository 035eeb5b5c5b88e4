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

	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// TestBrowserDashboardLive: in a real headless Chromium, the dashboard takes a call's end from
// /events and updates its numbers in place, without reloading, under the strict CSP; text
// from the lines stays text.
func TestBrowserDashboardLive(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	board := newFakeBoard()
	f.srv.calls, f.srv.lines, f.srv.now = board, testLines(f.now()), f.now
	f.logCall("gsm1", "+79161234567", f.now().Add(-time.Hour), store.Summary{Outcome: store.OutcomeAnswered})
	ts := httptest.NewServer(f.h)
	defer ts.Close()
	defer f.srv.Close()

	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 45*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step, eval, poll := b.step, b.eval, b.poll

	step("login",
		chromedp.EmulateViewport(360, 800),
		chromedp.Navigate(ts.URL+"/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#calls")),
	)
	step("dashboard", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/dashboard"]`)), chromedp.WaitVisible(chromedp.CSS("#lines")))
	// The script ran (the CSP lets the box's own file run) and the first event arrived.
	poll("the first event", `document.body.dataset.live === "1"`)
	if v := eval("live note", `document.getElementById("live-note").hidden`); v != false {
		t.Errorf("the live note is still hidden")
	}
	if v := eval("total", `document.getElementById("today-total").textContent`); v != "1" {
		t.Fatalf("today's total %v before the call, want 1", v)
	}
	eval("mark the page", `window.notReloaded = true`)

	// A call ends: the numbers change in place.
	id := f.logCall("gsm1", "+74951112233", f.now().Add(-time.Minute), store.Summary{Outcome: store.OutcomeMissed})
	waitFor(t, "the page's subscription", func() bool { return board.subscribers() > 0 })
	board.publish(switchboard.CallEnd{LineID: "gsm1", CallID: id})
	poll("the new numbers", `document.getElementById("today-total").textContent === "2" && document.getElementById("today-missed").textContent === "1"`)
	if v := eval("not reloaded", `window.notReloaded === true`); v != true {
		t.Errorf("the page reloaded instead of updating in place")
	}
	// Text from the network went in as text: the operator's name shows as written and made no
	// element; the only script is the page's own.
	if v := eval("operator", `document.querySelector("#line-gsm1 .operator").firstChild.textContent`); v != hostileOperator {
		t.Errorf("operator shows %q, want %q", v, hostileOperator)
	}
	if v := eval("scripts", `Array.from(document.scripts).map(s => new URL(s.src).pathname).join(",")`); v != "/static/dashboard.js" {
		t.Errorf("scripts on the page: %v", v)
	}
	if v := eval("number link", `document.querySelector("#line-gsm1 .call a.number").getAttribute("href")`); !strings.HasPrefix(v.(string), "tel:") {
		t.Errorf("call number link %v", v)
	}
	// The other new pages fit a phone too, the statistics with their charts drawn.
	for _, p := range []struct{ path, sel string }{
		{"/dashboard", "#lines"}, {"/calls?line=gsm1", "#calls"}, {"/calls/" + strconv.FormatInt(id, 10), "#call-facts"},
		{"/stats", "#chart-days"}, {"/settings", "#settings"}, {"/users", "#users"},
	} {
		step(p.path, chromedp.Navigate(ts.URL+p.path), chromedp.WaitVisible(chromedp.CSS(p.sel)))
		if v := eval("width", `document.documentElement.scrollWidth <= window.innerWidth`); v != true {
			w := eval("widths", `document.documentElement.scrollWidth + " > " + window.innerWidth`)
			t.Errorf("%s is wider than the 360 px screen: %v", p.path, w)
		}
		if p.path == "/stats" {
			js := `(() => { const r = document.querySelector("#chart-days rect"); return r ? getComputedStyle(r).fill : "no bar" })()`
			if v := eval("bars", js); v == "no bar" || v == "rgb(0, 0, 0)" {
				t.Errorf("the day chart's bars: %v, want them drawn in the stylesheet's colours", v)
			}
		}
	}
}
