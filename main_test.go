package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// box is a hotline started in-process with `hotline run --sim 2`, as `make run` starts it.
type box struct {
	url  string
	sip  string // where SIP phones register
	data string
	stop func()
}

func startBox(t *testing.T) *box {
	t.Helper()
	data := t.TempDir()
	// The default flow follows working hours; these calls come during them, whatever the
	// time the test runs at (the owner's "open now" switch).
	st, err := store.Open(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(context.Background(), "closed_override", "open"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	logf, err := os.Create(filepath.Join(data, "..", "hotline.log"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"run", "--sim", "2", "--data", data, "--listen", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--sip-ip", "127.0.0.1"}, nil, pw, logf)
		pw.Close()
	}()
	b := &box{data: data}
	sc := bufio.NewScanner(pr)
	re := regexp.MustCompile(`Web admin: (http://\S+)`)
	var printed []string
	for sc.Scan() {
		printed = append(printed, sc.Text())
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			b.url = m[1]
		}
		if a, ok := strings.CutPrefix(sc.Text(), "SIP phones register at: "); ok {
			b.sip = a
		}
		if strings.HasPrefix(sc.Text(), "Test call:") {
			break
		}
	}
	if b.url == "" {
		cancel()
		t.Fatalf("hotline run printed no admin URL: %q (err %v)", printed, <-done)
	}
	if !strings.Contains(strings.Join(printed, "\n"), "setup code") {
		t.Errorf("first start printed no setup code: %q", printed)
	}
	go io.Copy(io.Discard, pr)
	b.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hotline run: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("hotline run did not stop within 15 s")
		}
		logf.Close()
		if t.Failed() {
			log, _ := os.ReadFile(logf.Name())
			t.Logf("daemon log:\n%s", log)
		}
	}
	t.Cleanup(b.stop)
	return b
}

// call runs `hotline call` against the box and returns the summary it printed last. It may
// run in a goroutine of the test: it reports with t.Errorf.
func (b *box) call(t *testing.T, args ...string) daemon.TestCallResult {
	t.Helper()
	var out, errb strings.Builder
	var res daemon.TestCallResult
	err := run(context.Background(), append([]string{"call", "--addr", b.url}, args...), nil, &out, &errb)
	if err != nil {
		t.Errorf("hotline call %q: %v\n%s%s", args, err, out.String(), errb.String())
		return res
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Errorf("last line of hotline call is not JSON: %q", lines[len(lines)-1])
	}
	return res
}

// speech makes a WAV of a sentence with espeak-ng, as a caller's message.
func speech(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "say.wav")
	cmd := exec.Command("espeak-ng", "-v", "ru", "-w", path, text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng (make test installs it): %v %s", err, out)
	}
	return path
}

// TestVoicemailEndToEnd is the first whole path: a caller on a simulated GSM line presses 0,
// leaves a message, and the owner finds the call and the message in the admin.
func TestVoicemailEndToEnd(t *testing.T) {
	t.Parallel()
	b := startBox(t)
	say := speech(t, "Здравствуйте, перезвоните мне пожалуйста, это Иван.")
	heard := filepath.Join(t.TempDir(), "heard.wav")

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"modem reports the key", nil},
		{"in-band tone only", []string{"--inband"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := b.call(t, append([]string{"--from", "+79161234567", "--digits", "0", "--say", say, "--record", heard}, tc.args...)...)
			if res.Outcome != "voicemail" || res.MenuPath != "0" || res.DigitsSent != "0" {
				t.Fatalf("outcome %q, menu %q, digits %q; want voicemail after 0: %+v", res.Outcome, res.MenuPath, res.DigitsSent, res)
			}
			if res.VoicemailID == 0 || res.VoicemailSeconds < 2 {
				t.Errorf("voicemail %d of %.1f s; want a message of the spoken length", res.VoicemailID, res.VoicemailSeconds)
			}
			if res.Rings != 1 {
				t.Errorf("answered after %d rings, want 1 (the default)", res.Rings)
			}
			if res.PromptsHeard < 3 || res.SecondsHeard < 4 {
				t.Errorf("caller heard %d prompts, %.1f s; want greeting, menu, voicemail prompt and beep", res.PromptsHeard, res.SecondsHeard)
			}
			if res.HungUpBy != "box" {
				t.Errorf("hung up by %q, want the box (end of message by silence)", res.HungUpBy)
			}
			h, err := wav.ReadFileMono8k(heard)
			if err != nil {
				t.Fatalf("--record file: %v", err)
			}
			if got := float64(len(h)) / 8000; got < res.SecondsHeard {
				t.Errorf("recording of %.1f s is shorter than the %.1f s heard", got, res.SecondsHeard)
			}
			if keys := dtmf.Decode(h); keys != "" {
				t.Errorf("the box's own prompts contain keys %q", keys)
			}
		})
	}

	// The owner: set the password, log in, find the call and play the message.
	var out strings.Builder
	if err := run(context.Background(), []string{"passwd", "--data", b.data}, strings.NewReader("correct horse battery\n"), &out, io.Discard); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := cl.PostForm(b.url+"/login", url.Values{"username": {"owner"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	var page struct {
		Calls []struct {
			ID          int64  `json:"id"`
			Number      string `json:"number"`
			Outcome     string `json:"outcome"`
			MenuPath    string `json:"menu_path"`
			VoicemailID int64  `json:"voicemail_id"`
		} `json:"calls"`
	}
	getJSON(t, cl, b.url+"/api/calls", &page)
	calls := page.Calls
	if len(calls) != 2 {
		t.Fatalf("call log has %d calls, want 2: %+v", len(calls), calls)
	}
	for _, c := range calls {
		if c.Number != "+79161234567" || c.Outcome != "voicemail" || c.MenuPath != "0" || c.VoicemailID == 0 {
			t.Errorf("call in the log: %+v", c)
		}
	}
	var vmPage struct {
		Voicemail []struct {
			ID       int64   `json:"id"`
			AudioURL string  `json:"audio_url"`
			Duration float64 `json:"duration_seconds"`
		} `json:"voicemail"`
	}
	getJSON(t, cl, b.url+"/api/voicemail", &vmPage)
	vms := vmPage.Voicemail
	if len(vms) != 2 {
		t.Fatalf("%d voicemails, want 2", len(vms))
	}
	resp, err = cl.Get(b.url + vms[0].AudioURL)
	if err != nil {
		t.Fatal(err)
	}
	audio, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "audio/") {
		t.Fatalf("voicemail audio: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	samples, err := wav.ReadMono8k(strings.NewReader(string(audio)))
	if err != nil {
		t.Fatalf("voicemail is not a playable WAV: %v", err)
	}
	if lvl := tone.LevelDBm0(samples); lvl < -40 {
		t.Errorf("voicemail level %.1f dBm0: the caller's words are not in it", lvl)
	}
}

func getJSON(t *testing.T, cl *http.Client, u string, v any) {
	t.Helper()
	resp, err := cl.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// TestBadCallers: callers who do the unexpected still get a sane outcome and a clean log.
func TestBadCallers(t *testing.T) {
	t.Parallel()
	b := startBox(t)
	hostile := `<script>alert("x")</script>` + "\x00\x07"
	long := strings.Repeat("9", 200)

	var wg sync.WaitGroup
	results := make([]daemon.TestCallResult, 2)
	// Two calls at once, one on each line: a caller who never presses anything, with markup for
	// a caller ID, and a caller with 200 digits who hangs up during the greeting.
	wg.Go(func() { results[0] = b.call(t, "--line", "gsm1", "--from", hostile) })
	wg.Go(func() { results[1] = b.call(t, "--line", "gsm2", "--from", long, "--hangup-after", "1500ms") })
	wg.Wait()

	if r := results[0]; r.Outcome != "voicemail" || r.HungUpBy != "box" || r.MenuPath != "" {
		t.Errorf("silent caller: %+v; want the menu to time out into voicemail", r)
	}
	if r := results[1]; r.Outcome != "abandoned" || r.HungUpBy != "caller" {
		t.Errorf("caller who hung up in the greeting: %+v; want abandoned", r)
	}
	if results[0].Line == results[1].Line {
		t.Errorf("both calls on %s", results[0].Line)
	}
	// A key that is not in the menu, then 0.
	r := b.call(t, "--from", "+74951234567", "--digits", "7", "--hangup-after", "20s")
	if r.DigitsSent != "7" || !strings.HasPrefix(r.MenuPath, "7") {
		t.Errorf("invalid key: %+v", r)
	}
}

// TestDTMFCommand: `hotline dtmf` prints the keys of a WAV file.
func TestDTMFCommand(t *testing.T) {
	var s []int16
	for _, k := range []byte("0123456789*#") {
		d, err := tone.DTMF(k, 80*time.Millisecond, -10)
		if err != nil {
			t.Fatal(err)
		}
		s = append(append(s, d...), tone.Silence(80*time.Millisecond)...)
	}
	path := filepath.Join(t.TempDir(), "keys.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := wav.Encode(f, s, 8000); err != nil {
		t.Fatal(err)
	}
	f.Close()
	var out strings.Builder
	if err := run(context.Background(), []string{"dtmf", path}, nil, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if want := path + "\t0123456789*#\n"; out.String() != want {
		t.Errorf("hotline dtmf printed %q, want %q", out.String(), want)
	}
}

// TestCommandLine: usage errors are plain and exit with a usage error; version prints.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		stdin     string
		wantUsage bool
		wantErr   bool
		wantOut   string
	}{
		{args: nil, wantUsage: true},
		{args: []string{"fly"}, wantUsage: true},
		{args: []string{"version"}, wantOut: "hotline "},
		{args: []string{"run", "--sim", "9"}, wantUsage: true},
		{args: []string{"run", "--sim", "quectel,gsm"}, wantUsage: true},
		{args: []string{"run", "--sim", "quectel,simcom,huawei,fxo,quectel,simcom,huawei,fxo,fxo"}, wantUsage: true},
		{args: []string{"run", "--modem", "/dev/ttyUSB2"}, wantUsage: true}, // no audio port
		{args: []string{"call", "--digits", "0x"}, wantUsage: true},         // x is not a key
		{args: []string{"dtmf"}, wantUsage: true},
		{args: []string{"dtmf", "/nonexistent.wav"}, wantErr: true},
		{args: []string{"passwd", "--data", t.TempDir()}, stdin: "short\n", wantErr: true},
		{args: []string{"passwd", "--data", t.TempDir()}, stdin: "", wantErr: true},
		{args: []string{"passwd", "--data", t.TempDir()}, stdin: "long enough password\n", wantOut: "password is set"},
	} {
		var out strings.Builder
		err := run(context.Background(), tc.args, strings.NewReader(tc.stdin), &out, io.Discard)
		var u usageError
		switch {
		case tc.wantUsage && !errors.As(err, &u):
			t.Errorf("hotline %q: error %v, want a usage error", tc.args, err)
		case tc.wantErr && (err == nil || errors.As(err, &u)):
			t.Errorf("hotline %q: error %v, want a plain error", tc.args, err)
		case !tc.wantUsage && !tc.wantErr && err != nil:
			t.Errorf("hotline %q: %v", tc.args, err)
		}
		if !strings.Contains(out.String(), tc.wantOut) {
			t.Errorf("hotline %q printed %q, want %q in it", tc.args, out.String(), tc.wantOut)
		}
	}
}
