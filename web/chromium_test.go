package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// startChromium starts a headless Chromium with a phone-sized window (360 px) for a browser
// test, with extra options; it stops when the test ends. The browser is started without a
// deadline (a deadline on the first run stops the browser); bound the walk on the context.
// Start the test server before and close it with t.Cleanup, not defer: the browser must go
// first, or a connection it keeps open (an event stream) holds the server's Close forever.
func startChromium(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(360, 800),
	}, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browser
}

// keepShot saves what the browser shows now as name (a PNG the size of the window, not of the
// whole page) in the folder HOTLINE_SCREENSHOTS names; without it, it does nothing. The
// screenshots in docs/ are made this way (see docs/DEVELOPING.md).
func keepShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HOTLINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), shot, 0o644)
	}
	if err != nil {
		t.Errorf("keep screenshot %s: %v", name, err)
	}
}

// useSession puts a session cookie (from fixture.login) and the language in the browser for
// the test server at base, without going through the login form.
func useSession(base string, cookie *http.Cookie, lang string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(base+"/healthz"),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, cookie.Name+"="+cookie.Value+"; path=/")),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.cookie = %q`, langCookie+"="+lang+"; path=/")))
}

// tab drives the browser for one test: each step that fails ends the test with its name.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// newTab wraps a browser context (from startChromium, bound by a deadline) for t.
func newTab(t *testing.T, ctx context.Context) *tab { return &tab{t: t, ctx: ctx} }

// step runs browser actions.
func (b *tab) step(name string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// eval returns the value of a script in the page.
func (b *tab) eval(name, js string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](js))
	if err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
	return v
}

// poll waits up to 20 s for a script to be true in the page.
func (b *tab) poll(name, js string) {
	b.t.Helper()
	if _, err := chromedp.Run(b.ctx, chromedp.Poll[bool](js, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		b.t.Fatalf("waiting for %s: %v", name, err)
	}
}

// await is poll across reloads (the page's own script or a form navigates), asking every
// 100 ms for up to 20 s.
func (b *tab) await(name, js string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		v, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](js))
		if err == nil && v {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %v", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
