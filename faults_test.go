package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"hotline/daemon"
	"hotline/voice/wav"
)

// The tests in this file run the real binary as a separate process, because what they test
// (SIGKILL, load from another program) needs one.

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// hotlineBinary builds the hotline once per test run and returns its path.
func hotlineBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "hotline-faults-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "hotline")
		out, err := exec.Command("go", "build", "-o", built.path, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

// daemonProc is `hotline run` in a process of its own.
type daemonProc struct {
	cmd     *exec.Cmd
	url     string
	logPath string
	done    chan error
	// secureURL and fingerprint: the admin over HTTPS and its certificate's SHA-256, when
	// served (--https).
	secureURL, fingerprint string
}

// startDaemon runs `hotline run --sim N --data DIR` on a free loopback port and waits until it
// printed the admin URL.
func startDaemon(t *testing.T, data string, sims int) *daemonProc {
	t.Helper()
	return startHotline(t, data, 0, "Test call:", "--sim", fmt.Sprint(sims))
}

// startHotline runs `hotline run --data DIR --listen 127.0.0.1:0 ARGS...` at the niceness nice
// (where the test may set it) and waits until it printed a line that starts with ready (the
// last line it prints at start).
func startHotline(t *testing.T, data string, nice int, ready string, args ...string) *daemonProc {
	t.Helper()
	bin := hotlineBinary(t)
	logPath := filepath.Join(t.TempDir(), "daemon.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"run", "--data", data, "--listen", "127.0.0.1:0"}, args...)...)
	if nice != 0 {
		cmd = exec.Command("nice", append([]string{"-n", strconv.Itoa(nice), cmd.Path}, cmd.Args[1:]...)...)
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	logf.Close()
	p := &daemonProc{cmd: cmd, logPath: logPath, done: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		re := regexp.MustCompile(`Web admin: (http://\S+)`)
		secure := regexp.MustCompile(`Secure web admin: (https://\S+) \(certificate SHA-256 (\S+)\)`)
		var u string
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				u = m[1]
			}
			if m := secure.FindStringSubmatch(sc.Text()); m != nil {
				p.secureURL, p.fingerprint = m[1], m[2]
			}
			// The last line printed at start: the daemon is up, the setup code written.
			if strings.HasPrefix(sc.Text(), ready) {
				urls <- u
			}
		}
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	select {
	case p.url = <-urls:
	case err := <-p.done:
		t.Fatalf("hotline run exited at start: %v\n%s", err, p.log())
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("hotline run printed no admin URL within 60 s\n%s", p.log())
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("daemon log (%s):\n%s", data, p.log())
		}
	})
	return p
}

func (p *daemonProc) log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *daemonProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

// stop asks the daemon to stop (SIGTERM, as systemd does) and waits for a clean exit.
func (p *daemonProc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("hotline run after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Error("hotline run did not stop within 30 s of SIGTERM")
	}
}

// noiseWAV writes secs seconds of steady noise at a speaking level: the box records it as a
// message that never falls silent, holds no tone or DTMF key, and never ends by itself before
// it does.
func noiseWAV(t *testing.T, secs int) string {
	t.Helper()
	s := make([]int16, secs*8000)
	x := uint32(12345)
	for i := range s {
		x = x*1664525 + 1013904223
		s[i] = int16(int32(x>>16)-32768) / 6
	}
	path := filepath.Join(t.TempDir(), "noise.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := wav.Encode(f, s, 8000); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// placeCall runs `hotline call` in the background and returns its error on the channel.
func placeCall(addr string, args ...string) <-chan error {
	errc := make(chan error, 1)
	go func() {
		errc <- run(context.Background(), append([]string{"call", "--addr", addr, "--timeout", "3m"}, args...), nil, io.Discard, io.Discard)
	}()
	return errc
}

// growingVoicemail waits until n voicemail files under data hold at least min bytes of audio
// each, and returns their paths.
func growingVoicemail(t *testing.T, p *daemonProc, data string, n int, min int64) []string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		files, _ := filepath.Glob(filepath.Join(data, "voicemail", "*.wav"))
		ok := 0
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size()-44 >= min {
				ok++
			}
		}
		if ok >= n && len(files) >= n {
			return files
		}
		select {
		case err := <-p.done:
			t.Fatalf("daemon exited: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no %d voicemail recordings of %d bytes within 2 minutes", n, min)
	return nil
}

// checkedDB opens the database read-only (the daemon has stopped) and checks its integrity.
func checkedDB(t *testing.T, data string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(data, "hotline.db"), RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var res string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&res); err != nil {
		t.Fatalf("integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("integrity_check: %q", res)
	}
	return db
}

type vmRow struct {
	id, callID int64
	file       string
	duration   time.Duration
	complete   bool
}

func voicemailRows(t *testing.T, db *sql.DB) []vmRow {
	t.Helper()
	rows, err := db.Query(`SELECT id, call_id, file, duration_ms, complete FROM voicemails ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var list []vmRow
	for rows.Next() {
		var v vmRow
		var ms int64
		if err := rows.Scan(&v.id, &v.callID, &v.file, &ms, &v.complete); err != nil {
			t.Fatal(err)
		}
		v.duration = time.Duration(ms) * time.Millisecond
		list = append(list, v)
	}
	return list
}

// checkKilledVoicemail: the row of a recording cut by the kill is complete, its duration is
// the audio in the file to within a second (what the last header sync declared), and the file
// plays.
func checkKilledVoicemail(t *testing.T, data string, v vmRow, bytesAtKill int64) {
	t.Helper()
	atKill := time.Duration(bytesAtKill-44) * time.Second / 16000
	if !v.complete {
		t.Errorf("voicemail %d is still incomplete after the restart", v.id)
	}
	if v.duration > atKill+20*time.Millisecond || v.duration < atKill-1100*time.Millisecond {
		t.Errorf("voicemail %d: row says %v, the file held %v of audio at the kill", v.id, v.duration, atKill)
	}
	samples, err := wav.ReadFileMono8k(filepath.Join(data, "voicemail", v.file))
	if err != nil {
		t.Fatalf("voicemail %d does not play after the kill: %v", v.id, err)
	}
	plays := time.Duration(len(samples)) * time.Second / 8000
	if plays > atKill || plays < atKill-1100*time.Millisecond || plays < v.duration-20*time.Millisecond {
		t.Errorf("voicemail %d plays %v; %v was written before the kill, the row says %v", v.id, plays, atKill, v.duration)
	}
	// wav.RepairDir at start (the daemon's job) makes it play to the last whole sample.
	b, err := os.ReadFile(filepath.Join(data, "voicemail", v.file))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, v.file), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := wav.RepairDir(dir); err != nil {
		t.Fatalf("repair: %v", err)
	}
	repaired, err := wav.ReadFileMono8k(filepath.Join(dir, v.file))
	if err != nil || int64(len(repaired)) != (bytesAtKill-44)/2 {
		t.Errorf("voicemail %d after repair: %d samples (%v), %d were written", v.id, len(repaired), err, (bytesAtKill-44)/2)
	}
	t.Logf("voicemail %d: %v written before the kill, row %v, plays %v, %v after repair", v.id, atKill, v.duration, plays,
		time.Duration(len(repaired))*time.Second/8000)
}

// TestKill9DuringVoicemail kills the daemon with SIGKILL while a caller is leaving a message:
// after a restart the call has its record, the message plays up to the last second before the
// kill, and the database is whole.
func TestKill9DuringVoicemail(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	messageFlow(t, data) // the same at any hour: a caller's 0 leads to the beep
	p := startDaemon(t, data, 1)
	say := noiseWAV(t, 20)
	callErr := placeCall(p.url, "--from", "+79161234567", "--digits", "0", "--say", say)

	files := growingVoicemail(t, p, data, 1, 3*16000+8000) // mid-second: the header lags
	p.kill(t)
	fi, err := os.Stat(files[0])
	if err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-callErr:
		if err == nil {
			t.Error("the test call ended well although the box was killed in the middle")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hotline call did not notice the box was killed")
	}

	p2 := startDaemon(t, data, 1)
	if !strings.Contains(p2.log(), "repaired records left open") {
		t.Errorf("the restart did not report the repair; log:\n%s", p2.log())
	}
	p2.stop(t)

	db := checkedDB(t, data)
	var n, open int
	var outcome string
	if err := db.QueryRow(`SELECT count(*), sum(outcome = ''), max(outcome) FROM calls`).Scan(&n, &open, &outcome); err != nil {
		t.Fatal(err)
	}
	if n != 1 || open != 0 || outcome != "failed" {
		t.Errorf("calls after the kill: %d, %d open, outcome %q; want one call closed as failed", n, open, outcome)
	}
	vms := voicemailRows(t, db)
	if len(vms) != 1 {
		t.Fatalf("%d voicemail rows, want 1", len(vms))
	}
	checkKilledVoicemail(t, data, vms[0], fi.Size())
}

// TestKill9BusyHour kills the daemon while both lines carry a message being recorded, after
// other calls have ended: every call that rang has exactly one record with an outcome.
func TestKill9BusyHour(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	messageFlow(t, data)
	p := startDaemon(t, data, 2)
	// Calls that end before the kill: a caller who hangs up in the greeting, on each line.
	var wg sync.WaitGroup
	for _, line := range []string{"gsm1", "gsm2"} {
		wg.Go(func() {
			if err := <-placeCall(p.url, "--line", line, "--from", "+74951234567", "--hangup-after", "1s"); err != nil {
				t.Errorf("short call on %s: %v", line, err)
			}
		})
	}
	wg.Wait()
	say := noiseWAV(t, 30)
	var inFlight []<-chan error
	for _, line := range []string{"gsm1", "gsm2"} {
		inFlight = append(inFlight, placeCall(p.url, "--line", line, "--from", "+79161234567", "--digits", "0", "--say", say))
	}
	files := growingVoicemail(t, p, data, 2, 2*16000)
	p.kill(t)
	sizes := map[string]int64{}
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		sizes[filepath.Base(f)] = fi.Size()
	}
	for _, errc := range inFlight {
		select {
		case err := <-errc:
			if err == nil {
				t.Error("a test call ended well although the box was killed in the middle")
			}
		case <-time.After(30 * time.Second):
			t.Fatal("hotline call did not notice the box was killed")
		}
	}

	p2 := startDaemon(t, data, 2)
	p2.stop(t)
	db := checkedDB(t, data)
	rows, err := db.Query(`SELECT id, line_id, outcome FROM calls ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]int{}
	for rows.Next() {
		var id int64
		var line, outcome string
		if err := rows.Scan(&id, &line, &outcome); err != nil {
			t.Fatal(err)
		}
		outcomes[outcome]++
	}
	rows.Close()
	if outcomes["abandoned"] != 2 || outcomes["failed"] != 2 || len(outcomes) != 2 {
		t.Errorf("outcomes after the kill: %v; want 2 abandoned before it and 2 failed by it", outcomes)
	}
	vms := voicemailRows(t, db)
	if len(vms) != 2 {
		t.Fatalf("%d voicemail rows, want 2", len(vms))
	}
	for _, v := range vms {
		size, ok := sizes[v.file]
		if !ok {
			t.Errorf("voicemail %d names %q, not one of the files recording at the kill", v.id, v.file)
			continue
		}
		checkKilledVoicemail(t, data, v, size)
	}
}

// simProc is `hotline sim`: simulated modems in a process of their own.
type simProc struct {
	modems []string // --modem arguments for the daemon, gsm1 first
	url    string   // its call API, for `hotline call --addr`
}

// startSim runs `hotline sim --kinds KINDS [more flags]` and reads the modems' ports and its
// call API.
func startSim(t *testing.T, kinds string, more ...string) *simProc {
	t.Helper()
	bin := hotlineBinary(t)
	logPath := filepath.Join(t.TempDir(), "sim.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	// The modems are hardware with a clock of their own that the box's load cannot slow: the
	// simulator (a light process) runs at a real-time priority, above the daemon and anything
	// else on the machine (chrt, util-linux; the test runs as root, as `make test` does).
	cmd := exec.Command("chrt", append([]string{"--fifo", "10", bin, "sim", "--kinds", kinds}, more...)...)
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan *simProc, 1)
	go func() {
		sc := bufio.NewScanner(out)
		p := &simProc{}
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 3 && f[0] == "--modem":
				p.modems = append(p.modems, f[1])
			case len(f) == 3 && f[0] == "Sim" && f[1] == "calls:":
				p.url = f[2]
				started <- p
			}
		}
		io.Copy(io.Discard, out)
		done <- cmd.Wait()
	}()
	var p *simProc
	select {
	case p = <-started:
	case err := <-done:
		b, _ := os.ReadFile(logPath)
		t.Fatalf("hotline sim exited at start: %v\n%s", err, b)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("hotline sim printed no call API within 30 s")
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("hotline sim after SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Error("hotline sim did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("sim log:\n%s", b)
		}
	})
	return p
}

// simCall places a call through `hotline sim`'s call API and returns what the caller
// experienced, with the underruns the simulator itself may have caused.
func simCall(ctx context.Context, base string, tc daemon.TestCall) (daemon.TestCallResult, error) {
	var res daemon.TestCallResult
	err := postJSON(ctx, base+"/api/sim/call", tc, &res)
	return res, err
}

// postJSON posts in as JSON to url and decodes the answer into out (nil: no body wanted); an
// answer other than 200 or 204 is an error with its text.
func postJSON(ctx context.Context, url string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("POST %s: %s: %s", url, resp.Status, b)
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// linesUp counts the lines /metrics reports ready.
func linesUp(t *testing.T, base string) int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return len(regexp.MustCompile(`(?m)^hotline_line_up\{[^}]*\} 1$`).FindAll(b, -1))
}

// TestLoadWhileCallsUp hammers the admin with wrk (the login page, the health check and the
// call log of a logged-in owner) while eight calls are up on lines of every dialect: the pages
// keep answering and no line misses an audio deadline. As on a box, the daemon is a binary
// built without the race detector and the modems are not part of it: the simulated modems run
// in a process of their own (`hotline sim`) and keep their own 20 ms clock, so a frame the
// daemon does not take in time is the daemon's, not the simulator's.
func TestLoadWhileCallsUp(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Fatalf("wrk (Debian package wrk; make test installs it): %v", err)
	}
	const kinds = "quectel,simcom,huawei,fxo,quectel,simcom,huawei,fxo"
	modems := startSim(t, kinds)
	if len(modems.modems) != 8 {
		t.Fatalf("hotline sim made %d modems: %q", len(modems.modems), modems.modems)
	}
	data := t.TempDir()
	args := []string{"--sip", "off"}
	for _, m := range modems.modems {
		args = append(args, "--modem", m)
	}
	// The box runs nothing but the daemon: here it runs above the other jobs of a shared test
	// machine (but below its modems), and wrk below everything.
	p := startHotline(t, data, -5, "or set the owner password", args...)
	if err := run(context.Background(), []string{"passwd", "--data", data}, strings.NewReader("correct horse battery\n"), io.Discard, io.Discard); err != nil {
		t.Fatalf("passwd: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	cl := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := cl.PostForm(p.url+"/login", url.Values{"username": {"owner"}, "password": {"correct horse battery"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	base, _ := url.Parse(p.url)
	var cookie string
	for _, c := range jar.Cookies(base) {
		if c.Name == "hotline_session" {
			cookie = c.Name + "=" + c.Value
		}
	}
	if resp.StatusCode != http.StatusOK || cookie == "" {
		t.Fatalf("login: %s, cookie %q", resp.Status, cookie)
	}
	deadline := time.Now().Add(time.Minute)
	for linesUp(t, p.url) < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of 8 lines ready after a minute", linesUp(t, p.url))
		}
		time.Sleep(100 * time.Millisecond)
	}
	watch := startStallWatch(t)

	// Eight callers who talk without a pause and hang up 22 s after the answer, whatever the
	// flow does meanwhile.
	say := noisePCM(40 * time.Second)
	var wg sync.WaitGroup
	var simLate sync.Map
	for i := range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := simCall(ctx, modems.url, daemon.TestCall{Line: fmt.Sprintf("gsm%d", i+1),
				From: fmt.Sprintf("+7916123450%d", i), Digits: "0", Say: say, HangupAfterMS: 22000})
			if err != nil {
				t.Errorf("call %d: %v", i+1, err)
				return
			}
			simLate.Store(i, res.SimLateFrames)
		})
	}
	deadline = time.Now().Add(time.Minute)
	for metric(t, p.url, "hotline_active_calls") < 8 {
		if time.Now().After(deadline) {
			t.Fatalf("8 calls were not up within a minute")
		}
		time.Sleep(100 * time.Millisecond)
	}

	type target struct{ path, header string }
	targets := []target{{"/login", ""}, {"/healthz", ""}, {"/calls", "Cookie: " + cookie}}
	outs := make([]string, len(targets))
	var lw sync.WaitGroup
	for i, tg := range targets {
		lw.Go(func() {
			args := []string{"-t", "1", "-c", "2", "-d", "10s", "--timeout", "5s", "--latency"}
			if tg.header != "" {
				args = append(args, "-H", tg.header)
			}
			// At the lowest priority: on the real box the load comes from other machines, so
			// wrk's own work must not take the CPU from the box.
			out, err := exec.Command("nice", append([]string{"-n", "19", "wrk"}, append(args, p.url+tg.path)...)...).CombinedOutput()
			if err != nil {
				t.Errorf("wrk %s: %v\n%s", tg.path, err, out)
			}
			outs[i] = string(out)
		})
	}
	lw.Wait()
	active := metric(t, p.url, "hotline_active_calls")
	wg.Wait()
	// The counters are added as each call ends: wait for the eighth.
	deadline = time.Now().Add(30 * time.Second)
	for metric(t, p.url, "hotline_active_calls") > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}

	reqs := regexp.MustCompile(`(\d+) requests in`)
	for i, tg := range targets {
		out := outs[i]
		if m := regexp.MustCompile(`Latency\s+.*`).FindString(out); m != "" {
			t.Logf("GET %s under load: %s; %s", tg.path, m, reqs.FindString(out))
		}
		if m := regexp.MustCompile(`Socket errors:.*`).FindString(out); m != "" {
			t.Logf("GET %s under load: %s", tg.path, m)
		}
		if m := reqs.FindStringSubmatch(out); m == nil || m[1] == "0" {
			t.Errorf("wrk %s answered nothing:\n%s", tg.path, out)
		}
		if strings.Contains(out, "Non-2xx or 3xx responses") {
			t.Errorf("wrk %s got error answers:\n%s", tg.path, out)
		}
	}
	if active != 8 {
		t.Errorf("%v calls were up at the end of the load, want 8", active)
	}
	if v := metric(t, p.url, "hotline_calls_answered_total"); v != 8 {
		t.Errorf("hotline_calls_answered_total = %v, want 8", v)
	}
	if v := metric(t, p.url, "hotline_recorder_drops_total"); v != 0 {
		t.Errorf("hotline_recorder_drops_total = %v after the load, want 0", v)
	}
	// The daemon misses no deadline: on every line, each underrun it counted is one the
	// simulator caused by pausing itself (its process starved on a shared machine, which a
	// modem's clock never is); with a simulator on time, none.
	perLine := map[string]int{}
	for _, m := range regexp.MustCompile(`msg="audio underruns(?: on the placed call)?" subsys=switchboard line=(gsm\d+)(?: call=\d+)? frames=(\d+)`).FindAllStringSubmatch(p.log(), -1) {
		n, _ := strconv.Atoi(m[2])
		perLine[m[1]] += n
	}
	total, late := 0, 0
	for i := range 8 {
		line := fmt.Sprintf("gsm%d", i+1)
		l := 0
		if v, ok := simLate.Load(i); ok {
			l = v.(int)
		}
		total, late = total+perLine[line], late+l
		if perLine[line] > l {
			t.Errorf("%s: the daemon counted %d underruns, the simulator's pauses explain %d: the daemon missed deadlines", line, perLine[line], l)
		}
	}
	t.Logf("audio underruns under load: %d of about %d frames; the simulator's own pauses could cause %d", total, 8*22*50, late)
	if v := metric(t, p.url, "hotline_audio_underruns_total"); v != float64(total) {
		t.Errorf("hotline_audio_underruns_total = %v, the log says %d", v, total)
	}
	// The box's own deadline: every frame answered within 20 ms from the moment the line's
	// driver had it, but where the machine itself stood still.
	stalls := watch.stalls(t)
	misses, slowest := metric(t, p.url, "hotline_audio_deadline_misses_total"), metric(t, p.url, "hotline_audio_frame_slowest_microseconds")
	t.Logf("slowest frame answered in %.1f ms", slowest/1000)
	checkDeadlines(t, p.log(), int64(misses), stalls, true)
}

// metric reads one unlabelled value from /metrics (the test runs on the box: loopback).
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("/metrics has no %s:\n%s", name, b)
	}
	var v float64
	if _, err := fmt.Sscan(string(m[1]), &v); err != nil {
		t.Fatal(err)
	}
	return v
}
