package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"hotline/daemon/switchboard"
)

// a11yAuditJS looks at the page in the browser and lists what keeps a keyboard or screen
// reader user out, one line per problem:
//   - the page: a lang on <html>, exactly one <main> and one <h1>;
//   - every a[href], button, input, select, textarea and summary: reachable by Tab (no
//     negative tabindex; not hidden by CSS alone — the hidden attribute, aria-hidden, inert,
//     a closed <details> or <dialog> and the fallback inside <audio> hide on purpose), an
//     accessible name (its text, a label, aria-label or aria-labelledby, an image's alt),
//     and for form fields a label (aria-label or aria-labelledby will do; a placeholder or
//     title will not);
//   - every element that takes focus shows it: its outline, box shadow, border or
//     background differ once it is focused.
//
// It must run after one real Tab key press, so that the browser draws focus as for a
// keyboard user (:focus-visible) when the script moves it. Disabled controls are left out.
const a11yAuditJS = `(() => {
  const out = [];
  const desc = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) return s + "#" + el.id;
    if (el.getAttribute("name")) return s + "[name=" + el.getAttribute("name") + "]";
    if (el.getAttribute("href")) s += "[href=" + el.getAttribute("href") + "]";
    const t = (el.textContent || "").trim().replace(/\s+/g, " ").slice(0, 40);
    const f = el.closest("form[action]");
    return s + (t ? ' "' + t + '"' : "") + (f ? " in form " + f.getAttribute("action") : "");
  };
  const html = document.documentElement;
  if (!html.getAttribute("lang")) out.push("page: no lang on <html>");
  const mains = document.querySelectorAll("main").length;
  if (mains !== 1) out.push("page: " + mains + " <main> landmarks, want 1");
  const h1s = document.querySelectorAll("h1").length;
  if (h1s !== 1) out.push("page: " + h1s + " <h1>, want 1");

  const hiddenOnPurpose = el => {
    for (let e = el; e; e = e.parentElement) {
      if (e.hidden || e.getAttribute("aria-hidden") === "true" || e.inert) return true;
      if (e.tagName === "DIALOG" && !e.open) return true;
      // Fallback content of a media element shows only where the element cannot play.
      if (e !== el && ["AUDIO", "VIDEO", "CANVAS", "OBJECT"].includes(e.tagName)) return true;
      if (e.tagName === "DETAILS" && !e.open && e !== el) {
        const sum = e.querySelector(":scope > summary");
        if (!sum || !sum.contains(el)) return true;
      }
    }
    return false;
  };
  const rendered = el => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  const textOf = el => {
    const c = el.cloneNode(true);
    c.querySelectorAll("select, textarea, input, script, style, [aria-hidden=true]").forEach(n => n.remove());
    let s = c.textContent || "";
    el.querySelectorAll("img[alt]").forEach(i => { s += " " + i.getAttribute("alt"); });
    return s.trim();
  };
  const isField = el => el.matches("select, textarea, input:not([type=submit]):not([type=button]):not([type=reset]):not([type=image])");
  const labelled = el => {
    if ((el.getAttribute("aria-label") || "").trim()) return true;
    const by = el.getAttribute("aria-labelledby");
    if (by && by.split(/\s+/).some(id => { const n = document.getElementById(id); return n && n.textContent.trim(); })) return true;
    return Array.from(el.labels || []).some(l => textOf(l) !== "");
  };
  const name = el => {
    if (labelled(el)) return true;
    if (isField(el)) return false;
    if (el.matches("input")) return (el.value || el.getAttribute("alt") || "").trim() !== "";
    return textOf(el) !== "" || (el.getAttribute("title") || "").trim() !== "";
  };
  const look = el => {
    const s = getComputedStyle(el);
    const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0 ? s.outlineStyle + s.outlineWidth + s.outlineColor : "none";
    return [outline, s.boxShadow, s.borderTopColor + s.borderBottomColor + s.borderTopWidth, s.backgroundColor, s.textDecorationLine].join("|");
  };

  const els = document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, summary");
  for (const el of els) {
    if (el.disabled) continue;
    const d = desc(el);
    if (!name(el)) out.push(d + ": no accessible name");
    if (isField(el) && !labelled(el)) out.push(d + ": form field without a label");
    if (el.tabIndex < 0) { out.push(d + ": not reachable by Tab (tabindex " + el.tabIndex + ")"); continue; }
    if (hiddenOnPurpose(el)) continue;
    if (!rendered(el)) {
      const r = el.getClientRects().length;
      // A radio or checkbox drawn by its label (the input itself made invisible) still
      // takes focus; one not rendered at all cannot.
      out.push(d + ": hidden by CSS only (" + (r ? "visibility" : "display") + "), neither reachable nor hidden on purpose");
      continue;
    }
    if (document.activeElement) document.activeElement.blur();
    const before = look(el);
    el.focus();
    if (document.activeElement !== el) { out.push(d + ": does not take focus"); continue; }
    const after = look(el);
    el.blur();
    if (before === after) out.push(d + ": no visible focus style");
  }
  return out;
})()`

// auditA11y runs a11yAuditJS on the page the browser shows.
func auditA11y(ctx context.Context) ([]string, error) {
	// One real key press first: focus moved by the script then shows as for the keyboard.
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
		return nil, err
	}
	return chromedp.Run(ctx, chromedp.Evaluate[[]string](a11yAuditJS))
}

// a11yBadPage breaks every rule the audit checks once, next to controls that are fine.
const a11yBadPage = `<!doctype html>
<html><head><title>bad</title><style>
:focus-visible { outline: 3px solid orange; }
.plain:focus-visible { outline: none; }
.gone { display: none; }
</style></head><body>
<h1>One</h1><h1>Two</h1>
<form action="/x">
  <input type="text" name="nolabel">
  <input type="email" name="placeholder-only" placeholder="E-mail" title="E-mail">
  <label for="ok-field">Name</label><input type="text" id="ok-field" name="ok">
  <label>Phone <input type="tel" name="wrapped"></label>
  <select name="pick"><option>one</option></select>
  <button type="submit" id="empty-button"></button>
  <button type="submit" class="plain" id="no-focus-style">Save</button>
  <button type="submit" id="icon-button" aria-label="Delete"></button>
  <button type="submit" class="gone" id="css-hidden">Hidden by CSS</button>
  <button type="submit" disabled id="disabled">Disabled</button>
</form>
<a href="/away" tabindex="-1" id="skipped">Skipped link</a>
<a href="/ok" id="ok-link">Fine link</a>
<audio controls src="/none.wav"><a href="/none.wav" id="fallback">Download</a></audio>
<div hidden><button id="hidden-on-purpose">Later</button></div>
<details><summary>More</summary><input type="text" id="in-details" aria-label="Inside"></details>
</body></html>`

// TestA11yAuditFindsProblems holds the audit itself to account: on a page made to break
// every rule once it finds each problem, and nothing on the controls that are fine.
func TestA11yAuditFindsProblems(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(a11yBadPage))
	}))
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open
	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL), chromedp.WaitVisible(chromedp.CSS("#ok-link"))); err != nil {
		t.Fatal(err)
	}
	got, err := auditA11y(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"page: no lang on <html>",
		"page: 0 <main> landmarks, want 1",
		"page: 2 <h1>, want 1",
		"input[name=nolabel]: no accessible name",
		"input[name=nolabel]: form field without a label",
		"input[name=placeholder-only]: no accessible name",
		"input[name=placeholder-only]: form field without a label",
		"button#empty-button: no accessible name",
		"button#no-focus-style: no visible focus style",
		"button#css-hidden: hidden by CSS only (display), neither reachable nor hidden on purpose",
		"a#skipped: not reachable by Tab (tabindex -1)",
		"select[name=pick]: no accessible name",
		"select[name=pick]: form field without a label",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the audit found\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestA11yAdminPages runs the audit on the login form and every page of the admin, as the
// owner of a small flower shop's box after a week of calls, at phone width (360 px, where no page may need
// sideways scrolling) and the main pages at desktop width too. With HOTLINE_SCREENSHOTS set it
// keeps a screenshot of each: the illustrated tour in docs/OWNER.md shows them.
func TestA11yAdminPages(t *testing.T) {
	_, err := os.Stat(chromiumPath)
	if err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	now := time.Now()
	callID, lines := smallBusiness(t, f, now)
	f.srv.lines = lines
	f.srv.testLine = idleTestLine{}
	// The call ringing on gsm1 as the switchboard sees it: the panel offers to take it.
	f.srv.control = &fakeControl{calls: []switchboard.LiveCall{{LineID: "gsm1", Number: "+79161234567",
		Since: now.Add(-40 * time.Second), State: switchboard.StateRinging, With: []string{"Марина", "Олег"}}}}
	f.srv.boxClock = &fakeClock{source: ClockGSM}
	f.srv.https = HTTPS{Port: 443, Fingerprint: fingerprint([]byte("the box's certificate"))} // its long line fits a phone
	if f.srv.loc, err = time.LoadLocation("Europe/Moscow"); err != nil {                      // as the admin starts with the shop's zone
		t.Fatal(err)
	}
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open
	t.Cleanup(func() { f.srv.Close() })

	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 50*time.Second)
	defer cancel()
	call := "/calls/" + strconv.FormatInt(callID, 10)
	pages := []struct {
		path, shot string
		desktop    bool
	}{
		{"/dashboard", "dashboard", true}, {"/calls", "calls", true}, {call, "call", false}, {"/stats", "stats", true},
		{"/voicemail", "voicemail", false}, {"/sms", "sms", false}, {"/callbacks", "callbacks", false},
		{"/panel", "panel", true}, {"/settings", "settings", false}, {"/users", "", false}, {"/flow", "flow", true},
		{"/hours", "hours", false}, {"/operators", "operators", false}, {"/prompts", "", false}, {"/backup", "", false},
		{"/welcome", "welcome", false}, {"/welcome?step=3", "welcome-hours", false}, {"/testcall", "testcall", false},
		{"/password", "", false},
	}
	visit := func(path string, width int64) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 800), chromedp.Navigate(ts.URL+path),
			chromedp.WaitReady(chromedp.CSS("footer"))); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != ts.URL+path {
			t.Fatalf("%s: the browser is at %q (%v)", path, loc, err)
		}
		problems, err := auditA11y(ctx)
		if err != nil {
			t.Fatalf("%s: audit: %v", path, err)
		}
		for _, pr := range problems {
			t.Errorf("%s at %d px: %s", path, width, pr)
		}
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil || !fits {
			t.Errorf("%s is wider than %d px (%v)", path, width, err)
		}
		// The shot shows the page as it opens, without the focus ring the audit left.
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)`)); err != nil {
			t.Fatal(err)
		}
	}
	// show scrolls the element of sel to the top (on a phone the menu fills the first screen),
	// opening the <details> it is in.
	show := func(sel string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false;
			for (let d = e.closest("details"); d; d = d.parentElement.closest("details")) d.open = true;
			if (e.tagName === "DETAILS") e.open = true;
			e.scrollIntoView(); return true })()`, sel)
		if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js)); err != nil || !ok {
			t.Fatalf("show %s: %v", sel, err)
		}
	}
	// The login form first, before the session is in the browser.
	if err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/healthz"), chromedp.Evaluate[chromedp.Void](`document.cookie = "`+sessionCookie+`=; max-age=0; path=/"`)); err != nil {
		t.Fatal(err)
	}
	visit("/login", 360)
	if err := chromedp.Do(ctx, useSession(ts.URL, cookie, langRU)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		visit(p.path, 360)
		if p.shot == "" {
			continue
		}
		if p.shot != "dashboard" {
			show("main")
		}
		keepShot(t, ctx, "tour-"+p.shot+"-360.png")
		switch p.path {
		case "/operators": // an operator's own working hours
			show("details.op-hours")
			keepShot(t, ctx, "tour-operator-hours-360.png")
		case "/settings": // the box's clock and time zone
			show("#clock")
			keepShot(t, ctx, "tour-clock-360.png")
		}
	}
	for _, p := range pages {
		if p.desktop {
			visit(p.path, 1280)
			keepShot(t, ctx, "tour-"+p.shot+"-1280.png")
		}
	}
}
