package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"

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
