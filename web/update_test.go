package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"hotline/daemon/update"
)

// elfFor returns a minimal ELF executable header for this machine's processor, followed by
// some bytes, as the payload of a test update.
func elfFor(t *testing.T, goarch string) []byte {
	t.Helper()
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM, "386": elf.EM_386, "riscv64": elf.EM_RISCV}
	m, ok := machines[goarch]
	if !ok {
		t.Fatalf("no test program for %s", goarch)
	}
	class64 := goarch == "amd64" || goarch == "arm64" || goarch == "riscv64"
	var b bytes.Buffer
	cls := elf.ELFCLASS32
	if class64 {
		cls = elf.ELFCLASS64
	}
	b.Write([]byte{0x7f, 'E', 'L', 'F', byte(cls), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT), 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	b.Write(le.AppendUint16(nil, uint16(elf.ET_EXEC)))
	b.Write(le.AppendUint16(nil, uint16(m)))
	b.Write(le.AppendUint32(nil, uint32(elf.EV_CURRENT)))
	if class64 {
		b.Write(make([]byte, 24+4))
		for _, v := range []uint16{64, 56, 0, 64, 0, 0} {
			b.Write(le.AppendUint16(nil, v))
		}
	} else {
		b.Write(make([]byte, 12+4))
		for _, v := range []uint16{52, 32, 0, 40, 0, 0} {
			b.Write(le.AppendUint16(nil, v))
		}
	}
	b.Write(bytes.Repeat([]byte("hotline "), 1000))
	return b.Bytes()
}

// testUpdate returns an update file of version for this machine signed with key.
func testUpdate(t *testing.T, key ed25519.PrivateKey, version string, edit func(*update.Manifest)) []byte {
	t.Helper()
	payload := elfFor(t, runtime.GOARCH)
	sum := sha256.Sum256(payload)
	m := update.Manifest{Product: update.Product, Version: version, GOOS: runtime.GOOS, GOARCH: runtime.GOARCH,
		Size: int64(len(payload)), SHA256: hex.EncodeToString(sum[:]), Created: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)}
	if m.GOARCH == "arm" {
		m.GOARM = "5"
	}
	if edit != nil {
		edit(&m)
	}
	var b bytes.Buffer
	if err := update.Write(&b, m, bytes.NewReader(payload), key); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUpdatePage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	var restarts atomic.Int32
	f.srv.own.restart = func() { restarts.Add(1) }
	vendor := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	stranger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{8}, 32))
	f.srv.upd.keys = []ed25519.PublicKey{vendor.Public().(ed25519.PublicKey)}
	f.srv.version = "1.0.0"
	dir := f.st.Dir()
	c, csrf := f.login()

	w := f.do(req{path: "/update", cookies: []*http.Cookie{c}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="update-form"`) || !strings.Contains(w.Body.String(), "1.0.0") {
		t.Fatalf("update page: %d", w.Code)
	}
	if w := f.do(req{path: "/settings", cookies: []*http.Cookie{c}}); !strings.Contains(w.Body.String(), `href="/update"`) {
		t.Error("the settings page has no link to the update page")
	}

	upload := func(c *http.Cookie, csrf string, data []byte, lang string) *httptest.ResponseRecorder {
		r := multipartReq("/update/upload", c, field("csrf", csrf), part{name: "update", file: "x" + update.FileExt, data: data})
		if lang != "" {
			r.cookies = append(r.cookies, &http.Cookie{Name: langCookie, Value: lang})
		}
		return f.do(r)
	}
	good := testUpdate(t, vendor, "1.1.0", nil)
	for _, tc := range []struct {
		name, lang, key string
		data            []byte
	}{
		{"unsigned", langRU, "upd_err_unsigned", testUpdate(t, nil, "1.1.0", nil)},
		{"unsigned, English", langEN, "upd_err_unsigned", testUpdate(t, nil, "1.1.0", nil)},
		{"foreign key", langRU, "upd_err_foreign", testUpdate(t, stranger, "1.1.0", nil)},
		{"foreign key, English", langEN, "upd_err_foreign", testUpdate(t, stranger, "1.1.0", nil)},
		{"a bare program", langRU, "upd_err_notupdate", elfFor(t, runtime.GOARCH)},
		{"a backup file", langEN, "upd_err_notupdate", []byte("\x1f\x8b\x08\x00 backup")},
		{"cut short", langRU, "upd_err_torn", good[:len(good)-10]},
		{"another processor", langRU, "upd_err_arch", testUpdate(t, vendor, "1.1.0", func(m *update.Manifest) {
			m.GOARCH = map[string]string{"amd64": "arm64"}[runtime.GOARCH]
			if m.GOARCH == "" {
				m.GOARCH = "amd64"
			}
		})},
		{"another product", langEN, "upd_err_product", testUpdate(t, vendor, "1.1.0", func(m *update.Manifest) { m.Product = "kettle" })},
		{"older", langRU, "upd_err_older", testUpdate(t, vendor, "0.9.0", nil)},
		{"the same", langEN, "upd_err_older", testUpdate(t, vendor, "1.0.0", nil)},
		{"no file", langRU, "upd_err_nofile", nil},
	} {
		var w *httptest.ResponseRecorder
		if tc.data == nil {
			w = f.do(multipartReq("/update/upload", c, field("csrf", csrf)))
		} else {
			w = upload(c, csrf, tc.data, tc.lang)
		}
		want := messages[tc.lang][tc.key]
		if w.Code != 400 || !strings.Contains(w.Body.String(), htmlEscaped(want)) {
			t.Errorf("%s: %d, want 400 with %q", tc.name, w.Code, want)
		}
		if _, ok := update.Pending(dir); ok {
			t.Errorf("%s: a refused file is pending", tc.name)
		}
	}
	// Without the form token the file is not even read.
	if w := upload(c, "wrong", good, ""); w.Code != 403 {
		t.Errorf("upload with a wrong token: %d", w.Code)
	}

	// Nor from another site, even with the right token.
	evil := map[string]string{"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
	r := multipartReq("/update/upload", c, field("csrf", csrf), part{name: "update", file: "x" + update.FileExt, data: good})
	r.header["Origin"], r.header["Sec-Fetch-Site"] = evil["Origin"], evil["Sec-Fetch-Site"]
	if w := f.do(r); w.Code != 403 {
		t.Errorf("cross-site upload: %d", w.Code)
	}
	if _, ok := update.Pending(dir); ok {
		t.Fatal("a cross-site upload is pending")
	}
	if w := f.do(req{method: "POST", path: "/update/apply", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}, header: evil}); w.Code != 403 {
		t.Errorf("cross-site apply: %d", w.Code)
	}

	// The operator may not see the page nor upload.
	op, opCSRF := operatorSession(t, f)
	for _, r := range []req{
		{path: "/update", cookies: []*http.Cookie{op}},
		{path: "/api/update/status", cookies: []*http.Cookie{op}},
		{method: "POST", path: "/update/apply", cookies: []*http.Cookie{op}, form: url.Values{"csrf": {opCSRF}}},
		{method: "POST", path: "/update/cancel", cookies: []*http.Cookie{op}, form: url.Values{"csrf": {opCSRF}}},
	} {
		if w := f.do(r); w.Code != 403 {
			t.Errorf("operator %s %s: %d", r.method, r.path, w.Code)
		}
	}
	if w := upload(op, opCSRF, good, ""); w.Code != 403 {
		t.Errorf("operator upload: %d", w.Code)
	}
	if _, ok := update.Pending(dir); ok {
		t.Fatal("the operator's upload is pending")
	}

	// A good file: the page says what it is and asks.
	w = upload(c, csrf, good, langEN)
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="update-pending"`) || !strings.Contains(w.Body.String(), `<dd id="pending-version">1.1.0</dd>`) {
		t.Fatalf("good file: %d\n%s", w.Code, w.Body.String())
	}
	if strings.Contains(w.Body.String(), `id="update-busy"`) {
		t.Error("the answer to the upload says an update is still being received")
	}
	if restarts.Load() != 0 {
		t.Fatal("restarted before the owner said yes")
	}
	// Cancel, then again and yes.
	w = f.do(req{method: "POST", path: "/update/cancel", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if _, ok := update.Pending(dir); w.Code != http.StatusSeeOther || ok {
		t.Fatalf("cancel: %d, pending %v", w.Code, ok)
	}
	if w := f.do(req{method: "POST", path: "/update/apply", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}}); w.Code != 400 ||
		!strings.Contains(w.Body.String(), htmlEscaped(messages[langRU]["upd_err_nopending"])) {
		t.Fatalf("apply with nothing pending: %d", w.Code)
	}
	if w := upload(c, csrf, good, ""); w.Code != 200 {
		t.Fatalf("upload again: %d", w.Code)
	}
	w = f.do(req{method: "POST", path: "/update/apply", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="update-restarting"`) || restarts.Load() != 1 {
		t.Fatalf("apply: %d, restarts %d", w.Code, restarts.Load())
	}
	st, err := update.ReadStatus(dir)
	if err != nil || st.Trial != update.SlotA || st.TrialVersion != "1.1.0" || st.Last == nil || st.Last.Backup == "" {
		t.Fatalf("after apply: %+v %v", st, err)
	}
	// The backup before it is a whole-box backup the owner could restore.
	if fi, err := os.Stat(filepath.Join(dir, update.BackupDir, st.Last.Backup)); err != nil || fi.Size() == 0 {
		t.Fatalf("backup %s: %v", st.Last.Backup, err)
	}

	var js updateStatusJSON
	if err := json.Unmarshal(f.do(req{path: "/api/update/status", cookies: []*http.Cookie{c}}).Body.Bytes(), &js); err != nil ||
		js.Version != "1.0.0" || js.Trial != update.SlotA || js.TrialVersion != "1.1.0" || js.Last.Outcome != update.OutcomeTrial {
		t.Errorf("status %+v %v", js, err)
	}
	// While it is on trial, no other update goes in.
	if w := upload(c, csrf, testUpdate(t, vendor, "1.2.0", nil), ""); w.Code != 200 {
		t.Fatalf("upload during the trial: %d", w.Code)
	}
	w = f.do(req{method: "POST", path: "/update/apply", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if w.Code != 409 || !strings.Contains(w.Body.String(), htmlEscaped(messages[langRU]["upd_err_trial"])) || restarts.Load() != 1 {
		t.Fatalf("apply during the trial: %d", w.Code)
	}
	if w := f.do(req{path: "/update", cookies: []*http.Cookie{c}}); !strings.Contains(w.Body.String(), `id="update-trial"`) {
		t.Error("the page does not say an update is on trial")
	}
}

// TestUpdatePageRolledBack shows the owner what the launcher recorded after a failed update.
func TestUpdatePageRolledBack(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.srv.version = "1.0.0"
	state := `{"last":{"time":"2026-11-20T10:00:00Z","outcome":"rolled_back","version":"1.1.0","from":"1.0.0","back_to":"1.0.0","reason":"it was started 2 times and did not report healthy"}}`
	if err := os.MkdirAll(filepath.Join(f.st.Dir(), update.Dir), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.st.Dir(), update.Dir, "state.json"), []byte(state), 0o640); err != nil {
		t.Fatal(err)
	}
	c, _ := f.login()
	for _, lang := range []string{langRU, langEN} {
		r := req{path: "/update", cookies: []*http.Cookie{c, {Name: langCookie, Value: lang}}}
		w := f.do(r)
		head, _, _ := strings.Cut(messages[lang]["upd_last_rolled_back"], "%s")
		want := htmlEscaped(head)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `class="update-last failed"`) || !strings.Contains(w.Body.String(), want) ||
			!strings.Contains(w.Body.String(), "1.1.0") {
			t.Errorf("%s: %d, no rollback shown", lang, w.Code)
		}
	}
}

// TestBrowserUpdate walks the update page in Chromium at 360 px: choose the file, watch it go
// up through upload.js, read what it holds, say yes, and see the box restart.
func TestBrowserUpdate(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("the browser test needs Chromium at %s (apt-get install chromium): %v", chromiumPath, err)
	}
	f := newOwnedFixture(t, nil)
	var restarts atomic.Int32
	f.srv.own.restart = func() { restarts.Add(1) }
	vendor := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	f.srv.upd.keys = []ed25519.PublicKey{vendor.Public().(ed25519.PublicKey)}
	f.srv.version = "1.0.0"
	file := filepath.Join(t.TempDir(), "hotline-1.1.0"+update.FileExt)
	if err := os.WriteFile(file, testUpdate(t, vendor, "1.1.0", nil), 0o600); err != nil {
		t.Fatal(err)
	}
	var uploadMode atomic.Value
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/update/upload" {
			uploadMode.Store(r.Header.Get("Sec-Fetch-Mode"))
		}
		f.h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	cookie, _ := f.login()

	browser := startChromium(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	b := newTab(t, ctx)
	step := b.step
	fits := func(page string) {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil || !v {
			t.Errorf("%s is wider than the 360 px screen (%v)", page, err)
		}
	}
	T := messages[langEN]
	step("open", chromedp.EmulateViewport(360, 800), useSession(ts.URL, cookie, langEN),
		chromedp.Navigate(ts.URL+"/settings"), chromedp.Click(chromedp.CSS("#settings-update-link")),
		chromedp.WaitVisible(chromedp.CSS("#update-form")))
	fits("the update page")
	keepShot(t, ctx, "update-360.png")
	step("upload", chromedp.SetUploadFiles(chromedp.CSS("#update-file"), []string{file}),
		chromedp.Click(chromedp.CSS("#update-submit")), chromedp.WaitVisible(chromedp.CSS("#update-pending")))
	if m, _ := uploadMode.Load().(string); m != "cors" {
		t.Errorf("the file was sent with Sec-Fetch-Mode %q, want cors (by upload.js, with progress)", m)
	}
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#pending-version")))
	if err != nil || v != "1.1.0" {
		t.Fatalf("pending version %q %v", v, err)
	}
	fits("the question")
	if restarts.Load() != 0 {
		t.Fatal("restarted before the owner said yes")
	}
	step("install", chromedp.Click(chromedp.CSS("#update-apply")), chromedp.WaitVisible(chromedp.CSS("#update-restarting")))
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#update-restarting p")))
	if err != nil || got != T["upd_restarting"] {
		t.Errorf("restarting says %q (%v)", got, err)
	}
	if restarts.Load() != 1 {
		t.Errorf("restarts %d", restarts.Load())
	}
	if st, err := update.ReadStatus(f.st.Dir()); err != nil || st.Trial != update.SlotA {
		t.Errorf("after install: %+v %v", st, err)
	}
	// update.js polls the box until it restarts; leave the page so that the server can close.
	step("leave", chromedp.Navigate("about:blank"))
}
