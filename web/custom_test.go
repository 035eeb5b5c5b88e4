package web

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"hotline/daemon/custom"
	"hotline/voice/ivr"
	"hotline/voice/wav"
)

// sineWAV is secs seconds of a 440 Hz sine at rate as a WAV file.
func sineWAV(t testing.TB, secs float64, rate int) []byte {
	t.Helper()
	s := make([]int16, int(secs*float64(rate)))
	for i := range s {
		s[i] = int16(6000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
	}
	var b bytes.Buffer
	if err := wav.Encode(&b, s, rate); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func silentWAV(t testing.TB) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := wav.Encode(&b, make([]int16, 8000), 8000); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// part is one field of a multipart form, in order; file parts have a file name.
type part struct {
	name, file string
	data       []byte
}

// multipartReq builds a streamed upload as a browser sends it.
func multipartReq(path string, c *http.Cookie, parts ...part) req {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		var w io.Writer
		if p.file != "" {
			w, _ = mw.CreateFormFile(p.name, p.file)
		} else {
			w, _ = mw.CreateFormField(p.name)
		}
		_, _ = w.Write(p.data)
	}
	_ = mw.Close()
	r := req{method: http.MethodPost, path: path, body: b.String(), header: map[string]string{"Content-Type": mw.FormDataContentType()}}
	if c != nil {
		r.cookies = []*http.Cookie{c}
	}
	return r
}

func field(name, v string) part { return part{name: name, data: []byte(v)} }

func promptDir(f *fixture) string { return filepath.Join(f.st.Dir(), custom.PromptDir) }

func TestPromptUploadPlayDelete(t *testing.T) {
	f := newOwnedFixture(t, nil)
	c, csrf := f.login()
	w := f.do(multipartReq("/prompts/upload", c, field("csrf", csrf), field("lang", "ru"), field("name", "greeting"),
		field("back", "/prompts"), part{name: "audio", file: "hello.mp3", data: sineWAV(t, 1.2, 44100)}))
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(w.Header().Get("Location"), "/prompts?lang=ru&saved=greeting") {
		t.Fatalf("upload: %d %q %s", w.Code, w.Header().Get("Location"), w.Body.String())
	}
	s, err := wav.ReadFileMono8k(filepath.Join(promptDir(f), "ru", "greeting.wav"))
	if err != nil || len(s) < 8000 || len(s) > 11000 {
		t.Fatalf("stored prompt: %d samples, %v", len(s), err)
	}
	w = f.do(req{path: "/prompts?lang=ru&saved=greeting", cookies: []*http.Cookie{c}})
	body := w.Body.String()
	for _, want := range []string{htmlEscaped(messages[langRU]["prm_own"]), `src="/prompts/ru/greeting/audio"`, `src="/prompts/ru/greeting/audio?default=1"`, "«"} {
		if !strings.Contains(body, want) {
			t.Errorf("prompts page lacks %q", want)
		}
	}
	own := f.do(req{path: "/prompts/ru/greeting/audio", cookies: []*http.Cookie{c}})
	std := f.do(req{path: "/prompts/ru/greeting/audio?default=1", cookies: []*http.Cookie{c}})
	for _, a := range []*struct {
		name string
		code int
		ct   string
		body []byte
	}{{"own", own.Code, own.Header().Get("Content-Type"), own.Body.Bytes()}, {"standard", std.Code, std.Header().Get("Content-Type"), std.Body.Bytes()}} {
		if a.code != http.StatusOK || a.ct != "audio/wav" || !bytes.HasPrefix(a.body, []byte("RIFF")) {
			t.Errorf("%s audio: %d %q", a.name, a.code, a.ct)
		}
	}
	if bytes.Equal(own.Body.Bytes(), std.Body.Bytes()) {
		t.Error("the owner's prompt plays the standard one")
	}
	var list struct {
		Prompts []promptJSON `json:"prompts"`
	}
	w = f.do(req{path: "/api/prompts", cookies: []*http.Cookie{c}})
	if err := json.Unmarshal(w.Body.Bytes(), &list); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, p := range list.Prompts {
		if p.Name == "greeting" && p.Lang == "ru" {
			found++
			if !p.Custom || !p.Standard || p.DurationSeconds < 1 || math.Abs(p.LevelDBm0+20) > 2 {
				t.Errorf("api: %+v", p)
			}
		}
	}
	if found != 1 {
		t.Errorf("api lists ru/greeting %d times", found)
	}

	// A new name, then back to the standard greeting.
	w = f.do(multipartReq("/prompts/upload", c, field("csrf", csrf), field("lang", "en"), field("name", "greeting"),
		field("new_name", "price_list"), part{name: "audio", file: "x.wav", data: sineWAV(t, 0.5, 8000)}))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("new name: %d", w.Code)
	}
	if _, err := os.Stat(filepath.Join(promptDir(f), "en", "price_list.wav")); err != nil {
		t.Error(err)
	}
	w = f.do(req{method: "POST", path: "/prompts/delete", cookies: []*http.Cookie{c},
		form: url.Values{"csrf": {csrf}, "lang": {"ru"}, "name": {"greeting"}}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("delete: %d", w.Code)
	}
	if _, err := os.Stat(filepath.Join(promptDir(f), "ru", "greeting.wav")); !os.IsNotExist(err) {
		t.Errorf("prompt still there after delete: %v", err)
	}
}

func TestPromptUploadRefused(t *testing.T) {
	f := newOwnedFixture(t, nil)
	c, csrf := f.login()
	opCookie, opCSRF := operatorSession(t, f)
	good := sineWAV(t, 0.5, 8000)
	T := messages[langRU]
	upload := func(name string, data []byte) []part {
		return []part{field("csrf", csrf), field("lang", "ru"), field("name", name), part{name: "audio", file: "a.wav", data: data}}
	}
	for _, tc := range []struct {
		name   string
		cookie *http.Cookie
		parts  []part
		code   int
		want   string
	}{
		{"text file", c, upload("greeting", []byte("<html><script>alert(1)</script></html>")), 400, T["prm_err_notaudio"]},
		{"torn wav", c, upload("greeting", good[:40]), 400, T["prm_err_notaudio"]},
		{"mp3 extension, text inside", c, upload("greeting", []byte("ID3 not really")), 400, T["prm_err_notaudio"]},
		{"too big", c, upload("greeting", bytes.Repeat(good, 2+custom.MaxUploadBytes/len(good))), 400, T["prm_err_big"]},
		{"empty file", c, upload("greeting", nil), 400, T["prm_err_silent"]},
		{"silence", c, upload("greeting", silentWAV(t)), 400, T["prm_err_silent"]},
		{"escaping name", c, upload("../../hotline", good), 400, T["prm_err_name"]},
		{"bad language", c, []part{field("csrf", csrf), field("lang", ".."), field("name", "greeting"), {name: "audio", file: "a.wav", data: good}}, 400, T["prm_err_name"]},
		{"no file", c, []part{field("csrf", csrf), field("lang", "ru"), field("name", "greeting")}, 400, T["prm_err_nofile"]},
		{"token after the file", c, []part{field("lang", "ru"), {name: "audio", file: "a.wav", data: good}, field("csrf", csrf)}, 403, ""},
		{"wrong token", c, []part{field("csrf", "forged"), field("lang", "ru"), field("name", "greeting"), {name: "audio", file: "a.wav", data: good}}, 403, ""},
		{"operator", opCookie, []part{field("csrf", opCSRF), field("lang", "ru"), field("name", "greeting"), {name: "audio", file: "a.wav", data: good}}, 403, ""},
		{"no session", nil, upload("greeting", good), 303, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.do(multipartReq("/prompts/upload", tc.cookie, tc.parts...))
			if w.Code != tc.code {
				t.Fatalf("%d, want %d", w.Code, tc.code)
			}
			if tc.want != "" && !strings.Contains(w.Body.String(), htmlEscaped(tc.want)) {
				t.Errorf("answer lacks %q", tc.want)
			}
			entries, _ := os.ReadDir(filepath.Join(promptDir(f), "ru"))
			if len(entries) != 0 {
				t.Errorf("left in the prompt folder: %v", entries)
			}
			if _, err := os.Stat(filepath.Join(f.st.Dir(), "hotline.wav")); err == nil {
				t.Error("a file escaped the prompt folder")
			}
		})
	}
	// An error on the wizard's greeting step shows on the wizard.
	w := f.do(multipartReq("/prompts/upload", c, field("csrf", csrf), field("lang", "ru"), field("back", "/welcome?step=4"),
		field("name", "greeting"), part{name: "audio", file: "a.wav", data: []byte("nope")}))
	if w.Code != 400 || !strings.Contains(w.Body.String(), `id="wizard-progress"`) {
		t.Errorf("wizard upload error: %d", w.Code)
	}
}

func TestPromptAudioNotFound(t *testing.T) {
	f := newOwnedFixture(t, nil)
	c, _ := f.login()
	for _, p := range []string{"/prompts/xx/greeting/audio", "/prompts/ru/nope/audio", "/prompts/ru/..%2f..%2fhotline.db/audio", "/prompts/ru/GREETING/audio"} {
		if w := f.do(req{path: p, cookies: []*http.Cookie{c}}); w.Code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, w.Code)
		}
	}
}

// foreignTarGz is a tar.gz of something else than this box.
func foreignTarGz(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	gz := gzip.NewWriter(&b)
	tw := tar.NewWriter(gz)
	if err := tw.WriteHeader(&tar.Header{Name: "photos/cat.jpg", Typeflag: tar.TypeReg, Size: 3, Mode: 0o644}); err != nil {
		t.Fatal(err)
	}
	_, _ = tw.Write([]byte("cat"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestBackupRestorePage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	var restarts atomic.Int32
	f.srv.own.restart = func() { restarts.Add(1) }
	f.addCall("+79161234567", t0, tone(0.5))
	c, csrf := f.login()
	if w := f.do(req{path: "/backup", cookies: []*http.Cookie{c}}); w.Code != 200 || !strings.Contains(w.Body.String(), `id="restore-form"`) {
		t.Fatalf("backup page: %d", w.Code)
	}
	w := f.do(req{method: "POST", path: "/backup/download", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/gzip" ||
		!strings.HasPrefix(w.Header().Get("Content-Disposition"), `attachment; filename="hotline-backup-`) {
		t.Fatalf("download: %d %v", w.Code, w.Header())
	}
	backup := w.Body.Bytes()
	T := messages[langRU]
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"torn", backup[:len(backup)/2], T["bak_err_torn"]},
		{"broken gzip", []byte("\x1f\x8b\x08\x00garbage"), T["bak_err_torn"]},
		{"foreign tar.gz", foreignTarGz(t), T["bak_err_foreign"]},
		{"not gzip", []byte("PK\x03\x04 a zip file"), T["bak_err_foreign"]},
	} {
		w := f.do(multipartReq("/backup/restore", c, field("csrf", csrf), part{name: "backup", file: "b.tar.gz", data: tc.data}))
		if w.Code != 400 || !strings.Contains(w.Body.String(), htmlEscaped(tc.want)) {
			t.Errorf("%s: %d, want 400 with %q", tc.name, w.Code, tc.want)
		}
		if custom.Pending(f.st.Dir()) || restarts.Load() != 0 {
			t.Errorf("%s: a refused backup is pending", tc.name)
		}
	}
	w = f.do(multipartReq("/backup/restore", c, field("csrf", csrf), part{name: "backup", file: "b.tar.gz", data: backup}))
	if w.Code != 200 || !strings.Contains(w.Body.String(), `id="restore-restarting"`) {
		t.Fatalf("restore: %d", w.Code)
	}
	if !custom.Pending(f.st.Dir()) || restarts.Load() != 1 {
		t.Fatalf("pending %v, restarts %d", custom.Pending(f.st.Dir()), restarts.Load())
	}
	var st backupStatusJSON
	if err := json.Unmarshal(f.do(req{path: "/api/backup/status", cookies: []*http.Cookie{c}}).Body.Bytes(), &st); err != nil || st.State != "pending" {
		t.Errorf("status %+v %v", st, err)
	}
	if w := f.do(req{path: "/backup", cookies: []*http.Cookie{c}}); !strings.Contains(w.Body.String(), `id="restore-pending"`) {
		t.Error("the page does not say a restore waits")
	}
	w = f.do(req{method: "POST", path: "/backup/cancel", cookies: []*http.Cookie{c}, form: url.Values{"csrf": {csrf}}})
	if w.Code != http.StatusSeeOther || custom.Pending(f.st.Dir()) {
		t.Errorf("cancel: %d, pending %v", w.Code, custom.Pending(f.st.Dir()))
	}
	// The operator may neither download nor restore.
	op, opCSRF := operatorSession(t, f)
	if w := f.do(req{method: "POST", path: "/backup/download", cookies: []*http.Cookie{op}, form: url.Values{"csrf": {opCSRF}}}); w.Code != 403 {
		t.Errorf("operator download: %d", w.Code)
	}
	if w := f.do(multipartReq("/backup/restore", op, field("csrf", opCSRF), part{name: "backup", file: "b", data: backup})); w.Code != 403 || custom.Pending(f.st.Dir()) {
		t.Errorf("operator restore: %d", w.Code)
	}
}

func TestWelcomeSteps(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	code, err := f.st.SetupCode(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w := f.do(req{method: "POST", path: "/setup", form: url.Values{"code": {code}, "password": {testPassword}, "password2": {testPassword}}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/welcome" {
		t.Fatalf("after claiming: %d %q, want the wizard", w.Code, w.Header().Get("Location"))
	}
	c, csrf := f.login()
	post := func(v url.Values) *httptest.ResponseRecorder {
		v.Set("csrf", csrf)
		return f.do(req{method: "POST", path: "/welcome", cookies: []*http.Cookie{c}, form: v})
	}
	for step := 1; step <= welcomeSteps; step++ {
		w := f.do(req{path: welcomeURL(step), cookies: []*http.Cookie{c}})
		want := htmlEscaped(strings.Replace(messages[langRU]["wz_step_of"], "%d из %d", "", 1))
		if w.Code != 200 || !strings.Contains(w.Body.String(), want) {
			t.Errorf("step %d: %d", step, w.Code)
		}
	}
	if w := post(url.Values{"step": {"1"}, "business_name": {"  Рога <и>  копыта\x00 "}}); w.Header().Get("Location") != "/welcome?step=2" {
		t.Fatalf("step 1: %d %q", w.Code, w.Header().Get("Location"))
	}
	if v, _ := f.st.Setting(ctx, "business_name", ""); v != "Рога <и> копыта" {
		t.Errorf("business name %q", v)
	}
	if w := post(url.Values{"step": {"2"}, "language": {"en"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("step 2: %d", w.Code)
	}
	if w := post(url.Values{"step": {"2"}, "language": {"de"}}); w.Code != 400 {
		t.Errorf("unknown language: %d", w.Code)
	}
	for _, bad := range []url.Values{
		{"tz": {"Mars/Olympus"}, "open": {"09:00"}, "close": {"18:00"}, "day": {"mon"}},
		{"tz": {"Europe/Moscow"}, "open": {"18:00"}, "close": {"09:00"}, "day": {"mon"}},
		{"tz": {"Europe/Moscow"}, "open": {"9"}, "close": {"18:00"}, "day": {"mon"}},
		{"tz": {"Europe/Moscow"}, "open": {"09:00"}, "close": {"18:00"}},
		{"tz": {"Europe/Moscow"}, "open": {"09:00"}, "close": {"18:00"}, "day": {"funday"}},
	} {
		bad.Set("step", "3")
		if w := post(bad); w.Code != 400 {
			t.Errorf("hours %v: %d, want 400", bad, w.Code)
		}
	}
	if _, err := f.st.Flow(ctx, 0); err == nil {
		t.Fatal("a refused form saved a flow")
	}
	w = post(url.Values{"step": {"3"}, "tz": {"Asia/Novosibirsk"}, "open": {"10:00"}, "close": {"19:30"}, "day": {"mon", "tue", "sat"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("step 3: %d %s", w.Code, w.Body.String())
	}
	fv, err := f.st.Flow(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	fl, err := ivr.Parse(fv.JSON)
	if err != nil {
		t.Fatal(err)
	}
	sch := fl.Nodes[0].Schedule
	if fl.Nodes[0].ID != fl.Start || sch == nil || sch.TimeZone != "Asia/Novosibirsk" || len(sch.Week) != 3 || sch.Week["sat"][0] != "10:00-19:30" {
		t.Errorf("saved schedule %+v", sch)
	}
	if w := f.do(req{path: "/welcome?step=3", cookies: []*http.Cookie{c}}); !strings.Contains(w.Body.String(), `value="19:30"`) {
		t.Error("the hours step does not show the saved hours")
	}
	if w := post(url.Values{"step": {"4"}, "choice": {"standard"}}); w.Code != http.StatusSeeOther {
		t.Errorf("step 4: %d", w.Code)
	}
	w = post(url.Values{"step": {"5"}})
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/dashboard" {
		t.Errorf("done: %d %q", w.Code, w.Header().Get("Location"))
	}
	if v, _ := f.st.Setting(ctx, settingWizardDone, ""); v == "" {
		t.Error("wizard_done not set")
	}
}
