package web

import (
	"context"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/wav"
)

const testPassword = "correct horse battery"

// fixture is a Server over a real store in a temp dir, with a fake clock for the rate limiter.
type fixture struct {
	t     *testing.T
	st    *store.Store
	srv   *Server
	h     http.Handler
	mu    sync.Mutex
	clock time.Time
}

// newFixture returns a fixture over a new, unclaimed box.
func newFixture(t *testing.T, sim SimCaller) *fixture {
	t.Helper()
	return openFixture(t, t.TempDir(), sim)
}

// newOwnedFixture returns a fixture over a box whose owner has testPassword. The database is
// copied from one claimed once per test run: hashing a password is slow on purpose.
func newOwnedFixture(t *testing.T, sim SimCaller) *fixture {
	t.Helper()
	src, err := ownedTemplate()
	if err != nil {
		t.Fatalf("owned template: %v", err)
	}
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(src, "hotline.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hotline.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return openFixture(t, dir, sim)
}

var owned struct {
	once sync.Once
	dir  string
	err  error
}

func ownedTemplate() (string, error) {
	owned.once.Do(func() {
		owned.dir, owned.err = os.MkdirTemp("", "hotline-web-test-")
		if owned.err != nil {
			return
		}
		ctx := context.Background()
		st, err := store.Open(ctx, owned.dir)
		if err != nil {
			owned.err = err
			return
		}
		defer st.Close()
		code, err := st.SetupCode(ctx)
		if err == nil {
			err = st.ClaimOwner(ctx, code, testPassword)
		}
		if err == nil {
			err = st.Close()
		}
		owned.err = err
	})
	return owned.dir, owned.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if owned.dir != "" {
		os.RemoveAll(owned.dir)
	}
	os.Exit(code)
}

func openFixture(t *testing.T, dir string, sim SimCaller) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := New(Options{Store: st, Sim: sim, Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f := &fixture{t: t, st: st, srv: srv, h: srv.Handler(), clock: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	srv.limiter.now = f.now
	srv.loc = time.UTC
	return f
}

func (f *fixture) now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.clock = f.clock.Add(d)
}

// claim makes the box owned with testPassword.
func (f *fixture) claim() {
	f.t.Helper()
	ctx := context.Background()
	code, err := f.st.SetupCode(ctx)
	if err != nil {
		f.t.Fatalf("setup code: %v", err)
	}
	if err := f.st.ClaimOwner(ctx, code, testPassword); err != nil {
		f.t.Fatalf("claim: %v", err)
	}
}

// login claims the box if needed and returns a session cookie and its form token.
func (f *fixture) login() (*http.Cookie, string) {
	f.t.Helper()
	ctx := context.Background()
	if has, _ := f.st.HasOwner(ctx); !has {
		f.claim()
	}
	token, err := f.st.CreateSession(ctx, store.OwnerName, time.Hour)
	if err != nil {
		f.t.Fatalf("create session: %v", err)
	}
	sess, err := f.st.Session(ctx, token)
	if err != nil {
		f.t.Fatalf("session: %v", err)
	}
	return &http.Cookie{Name: sessionCookie, Value: token}, sess.CSRF
}

// req describes one request to the handler.
type req struct {
	method, path string
	form         url.Values
	body         string
	cookies      []*http.Cookie
	header       map[string]string
	remote       string // RemoteAddr; default 192.0.2.1:1234
	host         string
}

func (f *fixture) do(r req) *httptest.ResponseRecorder {
	f.t.Helper()
	if r.method == "" {
		r.method = http.MethodGet
	}
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.body != "":
		body = strings.NewReader(r.body)
	}
	hr := httptest.NewRequest(r.method, r.path, body)
	if r.form != nil {
		hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	for _, c := range r.cookies {
		hr.AddCookie(c)
	}
	if r.remote != "" {
		hr.RemoteAddr = r.remote
	}
	if r.host != "" {
		hr.Host = r.host
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, hr)
	return w
}

// addCall stores a finished call from raw, with a voicemail of the given samples if any.
// It returns the call and voicemail ids.
func (f *fixture) addCall(raw string, at time.Time, samples []int16) (int64, int64) {
	f.t.Helper()
	ctx := context.Background()
	id, err := f.st.StartCall(ctx, "sim1", raw, at)
	if err != nil {
		f.t.Fatalf("start call: %v", err)
	}
	if err := f.st.AnswerCall(ctx, id, at.Add(3*time.Second)); err != nil {
		f.t.Fatalf("answer call: %v", err)
	}
	var vmID int64
	outcome := "completed"
	if samples != nil {
		outcome = "voicemail"
		vmID = f.addVoicemail(id, at.Add(10*time.Second), samples)
	}
	if err := f.st.FinishCall(ctx, id, at.Add(75*time.Second), "1,0", outcome); err != nil {
		f.t.Fatalf("finish call: %v", err)
	}
	return id, vmID
}

func (f *fixture) addVoicemail(callID int64, at time.Time, samples []int16) int64 {
	f.t.Helper()
	ctx := context.Background()
	name := at.UTC().Format("20060102-150405") + "-" + strconv.FormatInt(callID, 10) + ".wav"
	vmID, err := f.st.StartVoicemail(ctx, callID, name, at)
	if err != nil {
		f.t.Fatalf("start voicemail: %v", err)
	}
	vm, err := f.st.Voicemail(ctx, vmID)
	if err != nil {
		f.t.Fatalf("voicemail: %v", err)
	}
	path, err := f.st.VoicemailPath(vm)
	if err != nil {
		f.t.Fatalf("voicemail path: %v", err)
	}
	writeWAV(f.t, path, samples)
	d := time.Duration(len(samples)) * time.Second / 8000
	if err := f.st.FinishVoicemail(ctx, vmID, d); err != nil {
		f.t.Fatalf("finish voicemail: %v", err)
	}
	return vmID
}

func writeWAV(t *testing.T, path string, samples []int16) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := wav.Encode(out, samples, 8000); err != nil {
		t.Fatalf("encode wav: %v", err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// tone returns secs seconds of a 440 Hz tone at 8 kHz.
func tone(secs float64) []int16 {
	n := int(secs * 8000)
	s := make([]int16, n)
	// A triangle wave is enough for a player; no need for math.Sin.
	for i := range s {
		p := i % 18
		if p < 9 {
			s[i] = int16(-8000 + p*1777)
		} else {
			s[i] = int16(8000 - (p-9)*1777)
		}
	}
	return s
}

// fakeSim is a SimCaller that records what it was asked.
type fakeSim struct {
	mu    sync.Mutex
	calls []daemon.TestCall
}

func (s *fakeSim) TestCall(ctx context.Context, c daemon.TestCall) (daemon.TestCallResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, c)
	return daemon.TestCallResult{Line: "sim1", CallID: 7, Rings: 1, Outcome: "voicemail", DigitsSent: c.Digits, VoicemailID: 3}, nil
}

var textTemplate = template.Must(template.New("text").Parse("{{.}}"))

// htmlEscaped is s as html/template writes it in text.
func htmlEscaped(s string) string {
	var b strings.Builder
	if err := textTemplate.Execute(&b, s); err != nil {
		panic(err)
	}
	return b.String()
}
