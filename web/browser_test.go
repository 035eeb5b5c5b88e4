package web

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium; the browser test fails without it.
const chromiumPath = "/usr/bin/chromium"

// TestBrowser walks the owner's first visit in a real headless Chromium: claim the box with
// the setup code, read the call log, play a voicemail, mark it handled, log out and in again,
// change the password.
// It also checks the pages fit a 360 px phone screen and keeps a screenshot of one.
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newFixture(t, nil)
	const wavSeconds = 3.0
	const caller = "+79161234567"
	callID, vmID := f.addCall(caller, time.Now().Add(-time.Hour), tone(wavSeconds))
	code, err := f.st.SetupCode(context.Background())
	if err != nil || code == "" {
		t.Fatalf("setup code %q: %v", code, err)
	}
	f.srv.lines = testLines(time.Now())
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open

	browser := startChromium(t, chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	ctx, cancel := context.WithTimeout(browser, 40*time.Second)
	defer cancel()

	b := newTab(t, ctx)
	step, eval := b.step, b.eval
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("location: %v", err)
		}
		return strings.TrimPrefix(loc, ts.URL)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// fits checks the page needs no sideways scrolling on the phone.
	fits := func(page string) {
		t.Helper()
		if v := eval("width", `document.documentElement.scrollWidth <= window.innerWidth`); v != true {
			w := eval("widths", `document.documentElement.scrollWidth + " > " + window.innerWidth`)
			t.Errorf("%s is wider than the 360 px screen: %v", page, w)
		}
	}

	step("viewport", chromedp.EmulateViewport(360, 800))

	// A new box sends the visitor to the setup form.
	step("open /", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#code")))
	if loc := location(); loc != "/setup" {
		t.Fatalf("new box opened %q, want /setup", loc)
	}
	lang := eval("lang", `document.documentElement.lang`).(string)
	T := messages[lang]
	if T == nil {
		t.Fatalf("page language %q", lang)
	}
	// The stylesheet loaded under the CSP.
	if v := eval("css", `getComputedStyle(document.querySelector("form")).display`); v != "flex" {
		t.Errorf("stylesheet not applied: form display %v", v)
	}
	fits("/setup")
	keepShot(t, ctx, "setup-360.png")

	step("claim",
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), testPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")),
		chromedp.WaitVisible(chromedp.CSS("#wizard-progress")),
	)
	if loc := location(); loc != "/welcome" {
		t.Errorf("after setup at %q, want the first-run wizard /welcome", loc)
	}
	// The wizard has its own test (TestBrowserWelcome); go on to the call log.
	step("calls", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/calls"]`)), chromedp.WaitVisible(chromedp.CSS("#calls")))
	row := text(fmt.Sprintf("#call-%d", callID))
	for _, want := range []string{caller, T["out_voicemail"], "1 → 0"} {
		if !strings.Contains(row, want) {
			t.Errorf("call row %q lacks %q", row, want)
		}
	}
	fits("/calls")

	// The voicemail: the player loads the WAV and knows its length.
	step("voicemail", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/voicemail"]`)), chromedp.WaitVisible(chromedp.CSS("audio")))
	dur, err := chromedp.Run(ctx, chromedp.Poll[float64](
		`(() => { const a = document.querySelector("audio"); return a.readyState >= 1 && a.duration > 0 ? a.duration : 0 })()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("audio metadata: %v", err)
	}
	t.Logf("page language %s, audio duration %.3f s", lang, dur)
	if math.Abs(dur-wavSeconds) > 0.05 {
		t.Errorf("audio duration %.3f s, want %.1f", dur, wavSeconds)
	}
	if v := eval("audio error", `document.querySelector("audio").error === null`); v != true {
		t.Errorf("audio element reports an error")
	}
	fits("/voicemail")

	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	shotPath := filepath.Join(t.TempDir(), "voicemail-360.png")
	if err := os.WriteFile(shotPath, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if w := img.Bounds().Dx(); w != 360 {
		t.Errorf("screenshot %d px wide, want 360", w)
	}

	// Mark it handled: it leaves the new list and shows as handled in all.
	article := fmt.Sprintf("#vm-%d", vmID)
	step("mark handled",
		chromedp.Click(chromedp.CSS(article+" form button")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); got != T["vm_marked"] {
		t.Errorf("notice %q, want %q", got, T["vm_marked"])
	}
	if v := eval("gone", fmt.Sprintf(`document.querySelector(%q) === null`, article)); v != true {
		t.Errorf("handled message still in the new list")
	}
	step("show all", chromedp.Click(chromedp.CSS("#show-all")), chromedp.WaitVisible(chromedp.CSS(article)))
	if got := text(article + " .state"); !strings.Contains(got, T["vm_handled"]) {
		t.Errorf("message state %q lacks %q", got, T["vm_handled"])
	}
	if v, _ := f.st.Voicemail(context.Background(), vmID); !v.Handled || v.HandledBy != "owner" {
		t.Errorf("store: handled=%v by %q", v.Handled, v.HandledBy)
	}

	// Log out, then in again with the form.
	step("logout", chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#username")))
	if loc := location(); loc != "/login" {
		t.Errorf("after logout at %q, want /login", loc)
	}
	if v, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#username"))); err != nil || v != "owner" {
		t.Errorf("user name field %q (%v), want owner", v, err)
	}
	step("login",
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#calls")),
	)
	if got := text(fmt.Sprintf("#call-%d", callID)); !strings.Contains(got, caller) {
		t.Errorf("call log after login lacks the caller: %q", got)
	}

	// The language switch keeps the page and changes the words.
	other := langRU
	if lang == langRU {
		other = langEN
	}
	step("switch language",
		chromedp.Click(chromedp.CSS(`.langs a[lang="`+other+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`html[lang="`+other+`"] #calls`)),
	)
	if loc := location(); loc != "/calls" {
		t.Errorf("language switch went to %q, want /calls", loc)
	}
	if got := text("h1"); got != messages[other]["calls_title"] {
		t.Errorf("heading %q after switching to %s", got, other)
	}
	fits("/calls in " + other)
	keepShot(t, ctx, "calls-360-"+other+".png")

	// Change the password: this browser stays logged in, with a new session.
	const newPassword = "another long password"
	step("password form", chromedp.Click(chromedp.CSS("#password-link")), chromedp.WaitVisible(chromedp.CSS("#current")))
	fits("/password")
	step("change password",
		chromedp.SendKeys(chromedp.CSS("#current"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#password"), newPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), newPassword),
		chromedp.Click(chromedp.CSS("#password-submit")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); got != messages[other]["pw_changed"] {
		t.Errorf("notice %q, want %q", got, messages[other]["pw_changed"])
	}
	step("calls after the change", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/calls"]`)), chromedp.WaitVisible(chromedp.CSS("#calls")))
	if _, err := f.st.CheckPassword(context.Background(), "owner", newPassword); err != nil {
		t.Errorf("new password not stored: %v", err)
	}

	// The dashboard: its own stylesheet loads under the CSP and draws the signal bars.
	step("dashboard", chromedp.Click(chromedp.CSS(`nav.tabs a[href="/dashboard"]`)), chromedp.WaitVisible(chromedp.CSS("#lines")))
	if v := eval("bars", `getComputedStyle(document.querySelector("#line-gsm1 .bars i:nth-child(5)")).height`); v == "0px" || v == "auto" {
		t.Errorf("signal bars not drawn: height %v", v)
	}
	if v := eval("lit bar", `getComputedStyle(document.querySelector("#line-gsm1 .bars i:nth-child(3)")).backgroundColor !== getComputedStyle(document.querySelector("#line-gsm1 .bars i:nth-child(4)")).backgroundColor`); v != true {
		t.Errorf("three of five bars are not lit apart from the rest")
	}
	fits("/dashboard")
}
