package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/voice/ivr"
	"hotline/voice/prompts"
	"hotline/voice/wav"
)

// TestBrowserWelcome walks the first-run wizard in a real headless Chromium: claim the box,
// name the business, pick English for the callers, set the hours, upload a generated WAV as
// the greeting (sent by upload.js with progress) and hear it in the page, skip to the last
// step and finish on the dashboard.
func TestBrowserWelcome(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newFixture(t, nil)
	code, err := f.st.SetupCode(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	greeting := filepath.Join(t.TempDir(), "greeting.wav")
	if err := os.WriteFile(greeting, sineWAV(t, 2, 16000), 0o600); err != nil {
		t.Fatal(err)
	}
	// How the greeting was sent: "navigate" for a plain form post, "cors" by upload.js.
	var uploadMode atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/prompts/upload" {
			uploadMode.Store(r.Header.Get("Sec-Fetch-Mode"))
		}
		f.h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close) // after the browser has stopped (cleanups run last first): no connection stays open

	browser := startChromium(t, chromedp.Flag("lang", "ru"))
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step := b.step
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
	fits := func(page string) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil || !v {
			t.Errorf("%s is wider than the 360 px screen (%v)", page, err)
		}
	}
	step("viewport", chromedp.EmulateViewport(360, 800))
	step("claim",
		chromedp.Navigate(ts.URL+"/setup"),
		chromedp.SendKeys(chromedp.CSS("#code"), code),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#password2"), testPassword),
		chromedp.Click(chromedp.CSS("#setup-submit")),
		chromedp.WaitVisible(chromedp.CSS("#business_name")),
	)
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	if err != nil || messages[lang] == nil {
		t.Fatalf("page language %q: %v", lang, err)
	}
	T := messages[lang]
	if loc := location(); loc != "/welcome" {
		t.Fatalf("after claiming at %q, want /welcome", loc)
	}
	if got, want := text("#wizard-progress"), strings.Replace(strings.Replace(T["wz_step_of"], "%d", "1", 1), "%d", "5", 1); got != want {
		t.Errorf("progress %q, want %q", got, want)
	}
	fits("step 1")
	keepShot(t, ctx, "welcome-1-360.png")

	step("name",
		chromedp.SendKeys(chromedp.CSS("#business_name"), "Roga & Kopyta"),
		chromedp.Click(chromedp.CSS("#wizard-next")),
		chromedp.WaitVisible(chromedp.CSS("#lang-en")),
	)
	step("language", chromedp.Click(chromedp.CSS("#lang-en")), chromedp.Click(chromedp.CSS("#wizard-next")),
		chromedp.WaitVisible(chromedp.CSS("#tz")))
	fits("step 3")
	step("hours",
		chromedp.SetValue(chromedp.CSS("#tz"), "Asia/Yekaterinburg"),
		chromedp.SetValue(chromedp.CSS("#open"), "08:30"),
		chromedp.SetValue(chromedp.CSS("#close"), "17:00"),
		chromedp.Click(chromedp.CSS("#day-sat")),
		chromedp.Click(chromedp.CSS("#wizard-next")),
		chromedp.WaitVisible(chromedp.CSS("#prompt-file")),
	)
	if loc := location(); loc != "/welcome?step=4" {
		t.Fatalf("after the hours at %q", loc)
	}
	fits("step 4")
	keepShot(t, ctx, "welcome-4-360.png")

	// The greeting: a generated WAV goes up through upload.js; the step shows it saved.
	step("upload greeting",
		chromedp.SetUploadFiles(chromedp.CSS("#prompt-file"), []string{greeting}),
		chromedp.Click(chromedp.CSS("#prompt-submit")),
		chromedp.WaitVisible(chromedp.CSS(".notice")),
	)
	if got := text(".notice"); got != T["wz_greeting_saved"] {
		t.Errorf("notice %q, want %q", got, T["wz_greeting_saved"])
	}
	if m, _ := uploadMode.Load().(string); m != "cors" {
		t.Errorf("the greeting was sent with Sec-Fetch-Mode %q, want cors (by upload.js, with progress)", m)
	}
	if loc := location(); loc != "/welcome?step=4&saved=1" {
		t.Errorf("after the upload at %q", loc)
	}
	dur, err := chromedp.Run(ctx, chromedp.Poll[float64](
		`(() => { const a = document.querySelector("#greeting-audio"); return a.readyState >= 1 && a.duration > 0 ? a.duration : 0 })()`,
		chromedp.WithPollingTimeout(15*time.Second)))
	if err != nil {
		t.Fatalf("greeting audio: %v", err)
	}
	// The importer trims the silence around the sound; a steady tone keeps its length.
	if dur < 1.8 || dur > 2.2 {
		t.Errorf("greeting plays %.2f s, want about 2", dur)
	}
	if got := text("#greeting-now h2"); got != T["wz_greeting_own"] {
		t.Errorf("greeting state %q", got)
	}

	step("skip to the last step", chromedp.Click(chromedp.CSS("#wizard-skip")), chromedp.WaitVisible(chromedp.CSS("#wizard-done")))
	if v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#wizard-operators"), "href")); err != nil || v.Value != "/operators" {
		t.Errorf("operators link %q %v", v.Value, err)
	}
	fits("step 5")
	step("done", chromedp.Click(chromedp.CSS("#wizard-done")), chromedp.WaitVisible(chromedp.CSS("#today")))
	if loc := location(); loc != "/dashboard" {
		t.Errorf("after the wizard at %q, want /dashboard", loc)
	}

	// The prompts page lists the new greeting as the owner's; it and the backup page fit the phone.
	step("prompts", chromedp.Navigate(ts.URL+"/prompts?lang=en"), chromedp.WaitVisible(chromedp.CSS("#p-en-greeting")))
	if got := text("#p-en-greeting h3"); !strings.Contains(got, T["prm_own"]) {
		t.Errorf("prompts page shows the greeting as %q", got)
	}
	fits("/prompts")
	keepShot(t, ctx, "prompts-360.png")
	step("backup", chromedp.Navigate(ts.URL+"/backup"), chromedp.WaitVisible(chromedp.CSS("#restore-form")))
	fits("/backup")
	keepShot(t, ctx, "backup-360.png")

	// What the box now holds.
	bg := context.Background()
	for key, want := range map[string]string{"business_name": "Roga & Kopyta", "language": "en"} {
		if v, _ := f.st.Setting(bg, key, ""); v != want {
			t.Errorf("setting %s = %q, want %q", key, v, want)
		}
	}
	if v, _ := f.st.Setting(bg, settingWizardDone, ""); v == "" {
		t.Error("wizard_done not set")
	}
	fv, err := f.st.Flow(bg, 0)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := ivr.Parse(fv.JSON)
	if err != nil {
		t.Fatal(err)
	}
	sch := fl.Nodes[0].Schedule
	if sch == nil || sch.TimeZone != "Asia/Yekaterinburg" || len(sch.Week) != 6 || sch.Week["sat"][0] != "08:30-17:00" {
		t.Errorf("schedule %+v", sch)
	}
	s, err := wav.ReadFileMono8k(filepath.Join(f.st.Dir(), "prompts", "en", prompts.Greeting+".wav"))
	if err != nil || len(s) < 14000 {
		t.Errorf("greeting stored: %d samples, %v", len(s), err)
	}
}
