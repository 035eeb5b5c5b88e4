package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTestCall places a test call from a real headless Chromium (with its fake
// microphone): the call comes up, the box's audio arrives, a key pressed on the page's keypad
// reaches the box as a DTMF tone its receiver hears, and "Hang up" ends the call.
func TestBrowserTestCall(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	box := startFakeBox(t)
	f.srv.testLine = box.line
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open

	browser := startChromium(t, chromedp.Flag("lang", "en-US"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
		chromedp.Flag("use-fake-device-for-media-stream", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step := b.step
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	heard := func() int {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('testcall').dataset.heardFrames`))
		if err != nil {
			t.Fatalf("heard frames: %v", err)
		}
		n, _ := strconv.Atoi(s)
		return n
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited in vain for %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	T := messages[langEN]

	step("viewport", chromedp.EmulateViewport(360, 800))
	step("cookie", chromedp.Navigate(ts.URL+"/healthz"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, cookie.Name+"="+cookie.Value+"; path=/")),
		chromedp.Evaluate[chromedp.Void](`document.cookie = "hotline_lang=en; path=/"`))
	step("page", chromedp.Navigate(ts.URL+"/testcall"), chromedp.WaitVisible(chromedp.CSS("#tc-call")))
	if fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`)); err != nil || !fits {
		t.Errorf("the test-call page is wider than 360 px (%v)", err)
	}
	step("call", chromedp.Click(chromedp.CSS("#tc-call")))
	waitFor("the box's audio in the page", func() bool { return heard() >= 25 })
	if got := text("#tc-status"); got != T["tc_up"] {
		t.Errorf("status %q, want %q", got, T["tc_up"])
	}
	step("key 5", chromedp.Click(chromedp.CSS(`.tc-key[data-key="5"]`)))
	waitFor("the key at the box", func() bool { return strings.Contains(box.keys(), "5") })
	step("hang up", chromedp.Click(chromedp.CSS("#tc-hangup")))
	if c := box.waitHangup(t); c != "remote hang-up" {
		t.Errorf("hang-up cause %q", c)
	}
	if got := text("#tc-status"); got != T["tc_ended"] {
		t.Errorf("status after hang-up %q, want %q", got, T["tc_ended"])
	}
	if k := box.keys(); k != "5" {
		t.Errorf("the box heard keys %q, want just 5", k)
	}
}
