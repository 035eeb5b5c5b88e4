//go:build boottest

package boottest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"hotline/hw/sim"
)

// Deadlines, generous for a loaded two-core machine running the guest under TCG.
const (
	bootDeadline  = 8 * time.Minute // qemu start to the admin page answering
	readyDeadline = 4 * time.Minute // admin page to the line being ready
	callDeadline  = 4 * time.Minute // the whole test call, rings to the log entry
	gokPassword   = "boot-test"     // Update.HTTPPassword in gokrazy/hotline-vm/config.json
	ownerPassword = "boot test: correct horse battery staple 42"
	caller        = "+79161234567"
)

// Clocks of the two boots (the guest has no network time): a Monday at 11:00 and 12:00 in
// Moscow, when the default flow is open and the menu's 0 leads to voicemail.
var rtcBase = []string{"2026-11-23T08:00:00", "2026-11-23T09:00:00"}

func TestBootCallPowerCut(t *testing.T) {
	for _, tool := range []string{"qemu-system-x86_64", "mkfs.ext4"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing (apt-get install qemu-system-x86 e2fsprogs): %v", tool, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()

	start := time.Now()
	disk := buildImage(t, dir)
	buildTime := time.Since(start)
	var st syscall.Stat_t
	if err := syscall.Stat(disk, &st); err != nil {
		t.Fatal(err)
	}
	t.Logf("image: built in %.0f s, %d MiB allocated (%d MiB apparent)",
		buildTime.Seconds(), st.Blocks*512>>20, st.Size>>20)

	modem := startModem(t, ctx)
	accel := os.Getenv("HOTLINE_BOOTTEST_ACCEL")
	if accel == "" {
		accel = "auto"
	}

	// First boot: claim the box, take a call that leaves a voicemail.
	guest, accel := boot(t, ctx, dir, disk, accel, 0, modem)
	box := &admin{v: guest, base: guest.adminURL}
	code := guest.setupCode(ctx)
	box.claim(ctx, code)
	guest.waitLineReady(ctx, box, "boot 1")

	say := make([]int16, 2*8000) // 2 s of a 300 Hz "voice" after the beep
	for i := range say {
		say[i] = int16(8000 * math.Sin(2*math.Pi*300*float64(i)/8000))
	}
	callCtx, cancelCall := context.WithTimeout(ctx, callDeadline)
	res, err := modem.Call(callCtx, sim.Caller{From: caller, Digits: "0", Say: say, MaxDuration: 2 * time.Minute})
	cancelCall()
	if err != nil {
		guest.fatalf("test call: %v (result %+v)", err, res)
	}
	if !res.Answered || res.DigitsSent != "0" || res.HungUpBy != "box" {
		guest.fatalf("test call: want answered, 0 pressed and the box hanging up after the voicemail, got %+v", res)
	}
	t.Logf("call: answered after %d ring(s), greeting after %v, %d prompt(s) heard, %v long",
		res.Rings, res.FirstSoundAfter.Round(time.Millisecond), res.PromptsHeard, res.Duration.Round(time.Millisecond))
	call, msg := guest.loggedCall(ctx, box)
	audio := box.get(ctx, msg.AudioURL)
	if len(audio) < 44+2*8000 {
		guest.fatalf("voicemail %d audio: %d bytes, want at least 1 s of 8 kHz 16-bit audio", msg.ID, len(audio))
	}
	t.Logf("logged: call %d (%s, menu %q), voicemail %d of %.1f s, %d bytes",
		call.ID, call.Outcome, call.MenuPath, msg.ID, msg.DurationSeconds, len(audio))

	// Power cut: no shutdown, no sync; what the guest had not written is lost.
	guest.powerCut()

	// Second boot from the same disk: the log and the message must be as they were.
	guest, _ = boot(t, ctx, dir, disk, accel, 1, modem)
	box = &admin{v: guest, base: guest.adminURL}
	box.login(ctx)
	guest.waitLineReady(ctx, box, "boot 2")
	var calls callList
	box.getJSON(ctx, "/api/calls", &calls)
	var vms voicemailList
	box.getJSON(ctx, "/api/voicemail", &vms)
	if c, ok := findCall(calls, call.ID); !ok || c != call {
		guest.fatalf("after the power cut, call %d is %+v (found %v), was %+v", call.ID, c, ok, call)
	}
	if m, ok := findVoicemail(vms, msg.ID); !ok || m != msg {
		guest.fatalf("after the power cut, voicemail %d is %+v (found %v), was %+v", msg.ID, m, ok, msg)
	}
	if again := box.get(ctx, msg.AudioURL); sha256.Sum256(again) != sha256.Sum256(audio) {
		guest.fatalf("after the power cut, voicemail %d audio differs: %d bytes, were %d", msg.ID, len(again), len(audio))
	}
	guest.powerCut()
}

// buildImage builds the hotline-vm instance with build-image.sh into dir and returns the
// image's path. Go's build cache makes a rebuild quick; the image is never reused between
// runs, so it always holds the code under test.
func buildImage(t *testing.T, dir string) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "hotline-vm.img")
	cmd := exec.Command(filepath.Join(root, "image/build-image.sh"), "boottest", out)
	cmd.Env = append(os.Environ(), "HOTLINE_INSTANCE=hotline-vm")
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("build-image.sh: %v\n%s", err, tail(log.Bytes(), 40))
	}
	return out
}

// startModem serves a simulated EC25 on host pseudo-terminals until the test ends.
func startModem(t *testing.T, ctx context.Context) *sim.EC25 {
	t.Helper()
	m, err := sim.NewEC25(sim.Options{ID: "sim1", ToneReports: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := m.Run(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("simulated modem: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if err := m.Close(); err != nil {
			t.Errorf("simulated modem: %v", err)
		}
	})
	return m
}

// vm is one boot of the image under qemu.
type vm struct {
	t        *testing.T
	name     string
	accel    string // kvm or tcg
	cmd      *exec.Cmd
	exited   chan struct{} // closed when qemu has exited; then waitErr is set
	waitErr  error
	stderr   syncBuffer // qemu's own messages
	console  string     // the guest's serial console (ttyS0), a file
	adminURL string     // the web admin, forwarded from the guest's port 80
	gokURL   string     // gokrazy's page, forwarded from the guest's port 8080
	started  time.Time
}

// boot starts qemu on disk and waits for the admin page. accel is kvm, tcg or auto; boot
// returns the accelerator that worked, for the next boot.
func boot(t *testing.T, ctx context.Context, dir, disk, accel string, n int, modem *sim.EC25) (*vm, string) {
	t.Helper()
	name := fmt.Sprintf("boot %d", n+1)
	tryKVM := accel == "kvm" || accel == "auto"
	if accel == "auto" {
		if f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0); err != nil {
			t.Logf("%s: KVM is not available (%v): running the guest under TCG, which is slower", name, err)
			tryKVM = false
		} else {
			f.Close()
		}
	}
	if tryKVM {
		v := start(t, dir, disk, "kvm", n, modem)
		err := v.waitAdmin(ctx)
		if err == nil {
			return v, "kvm"
		}
		if accel == "kvm" || !v.kvmFailed() {
			v.fatalf("%s (kvm): %v", name, err)
		}
		t.Logf("%s: KVM cannot run this guest here (%s): running it under TCG, which is slower",
			name, firstLine(v.stderr.String()))
	} else if accel != "tcg" && accel != "auto" {
		t.Fatalf("HOTLINE_BOOTTEST_ACCEL=%q: want kvm, tcg or auto", accel)
	}
	v := start(t, dir, disk, "tcg", n, modem)
	err := v.waitAdmin(ctx)
	if err != nil && v.panicked() {
		// Under TCG the emulated guest kernel has been seen to panic early in boot, once in
		// many runs, before any of hotline runs ("Fatal exception in interrupt" 1.3 s in). The
		// emulator is at fault, not the image: say so with the trace and power on once more,
		// from the same disk. A second panic fails the test.
		console, _ := os.ReadFile(v.console)
		t.Logf("%s (tcg): the emulated guest kernel panicked before the admin page answered; powering on again. Its console:\n%s",
			name, tail(console, 60))
		v.powerCut()
		v = start(t, dir, disk, "tcg", n, modem)
		v.name += " (second power-on)"
		err = v.waitAdmin(ctx)
	}
	if err != nil {
		v.fatalf("%s (tcg): %v", name, err)
	}
	return v, "tcg"
}

// consoleFile names a new file for the serial console of boot n under accel.
func consoleFile(dir string, n int, accel string) string {
	for i := 1; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("console-%d-%s-%d.log", n+1, accel, i))
		if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
			return p
		}
	}
}

// panicked reports whether the guest kernel panicked: its console says so.
func (v *vm) panicked() bool {
	console, _ := os.ReadFile(v.console)
	return bytes.Contains(console, []byte("Kernel panic - not syncing"))
}

// start runs qemu-system-x86_64 with the two ports of modem as USB serial adapters.
func start(t *testing.T, dir, disk, accel string, n int, modem *sim.EC25) *vm {
	t.Helper()
	admin, gok := freePort(t), freePort(t)
	v := &vm{
		t:        t,
		name:     fmt.Sprintf("boot %d", n+1),
		accel:    accel,
		exited:   make(chan struct{}),
		console:  consoleFile(dir, n, accel),
		adminURL: fmt.Sprintf("http://127.0.0.1:%d", admin),
		gokURL:   fmt.Sprintf("http://127.0.0.1:%d", gok),
	}
	args := []string{
		"-accel", accel,
		"-m", "1024", "-smp", "2",
		"-nographic", "-no-reboot", "-monitor", "none",
		"-serial", "file:" + v.console,
		"-drive", "file=" + disk + ",format=raw",
		"-rtc", "base=" + rtcBase[n],
		// User networking, closed to the outside (no NTP, no updates), with the two web pages
		// forwarded to loopback.
		"-netdev", fmt.Sprintf("user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:%d-:80,hostfwd=tcp:127.0.0.1:%d-:8080", admin, gok),
		"-device", "e1000,netdev=net0,romfile=", // no iPXE: the disk boots
		// The modem: AT port on the first USB port (/dev/ttyUSB0), audio on the second.
		"-chardev", "serial,id=at,path=" + modem.ATPath(),
		"-chardev", "serial,id=pcm,path=" + modem.AudioPath(),
		"-device", "qemu-xhci,id=xhci",
		"-device", "usb-serial,bus=xhci.0,port=1,chardev=at",
		"-device", "usb-serial,bus=xhci.0,port=2,chardev=pcm",
	}
	if accel == "kvm" {
		args = append(args, "-cpu", "host")
	}
	v.cmd = exec.Command("qemu-system-x86_64", args...)
	v.cmd.Stdout, v.cmd.Stderr = &v.stderr, &v.stderr
	v.started = time.Now()
	if err := v.cmd.Start(); err != nil {
		t.Fatalf("qemu: %v", err)
	}
	go func() {
		v.waitErr = v.cmd.Wait()
		close(v.exited)
	}()
	t.Cleanup(v.powerCut)
	return v
}

// powerCut kills qemu at once, as pulling the plug would, and waits for it.
func (v *vm) powerCut() {
	select {
	case <-v.exited:
		return
	default:
	}
	_ = v.cmd.Process.Kill()
	<-v.exited
}

// kvmFailed reports whether KVM could not run the guest: qemu did not start, or it stopped the
// guest on an internal error (it stays running, paused, after that).
func (v *vm) kvmFailed() bool {
	s := v.stderr.String()
	return strings.Contains(s, "KVM internal error") || strings.Contains(s, "failed to initialize kvm") ||
		strings.Contains(s, "Could not access KVM")
}

// syncBuffer is a bytes.Buffer that qemu's output goroutine and the test may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// waitAdmin waits until GET /healthz answers 200.
func (v *vm) waitAdmin(ctx context.Context) error {
	deadline := time.Now().Add(bootDeadline)
	for {
		select {
		case <-v.exited:
			return fmt.Errorf("qemu exited (%v) before the admin page answered", v.waitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
		if v.accel == "kvm" && v.kvmFailed() {
			v.powerCut()
			return errors.New("KVM stopped the guest: " + firstLine(v.stderr.String()))
		}
		// A short timeout per try: until the guest listens, qemu's forwarding accepts the
		// connection and then leaves it unanswered.
		try, cancel := context.WithTimeout(ctx, 2*time.Second)
		status, _, err := v.request(try, http.MethodGet, v.adminURL+"/healthz", nil, nil)
		cancel()
		if err == nil && status == http.StatusOK {
			v.t.Logf("%s: admin page answers %.1f s after qemu started", v.name, time.Since(v.started).Seconds())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the admin page did not answer within %v", bootDeadline)
		}
	}
}

// waitLineReady waits until the box's metrics say that its line is ready for calls.
func (v *vm) waitLineReady(ctx context.Context, box *admin, what string) {
	deadline := time.Now().Add(readyDeadline)
	up := regexp.MustCompile(`(?m)^hotline_line_up\{[^}]*\} 1$`)
	for {
		_, body, err := v.request(ctx, http.MethodGet, box.base+"/metrics", box.cookies, nil)
		if err == nil && up.Match(body) {
			v.t.Logf("%s: line ready %.1f s after qemu started", what, time.Since(v.started).Seconds())
			return
		}
		if time.Now().After(deadline) {
			v.fatalf("%s: the line was not ready within %v; metrics: %v\n%s", what, readyDeadline, err, tail(body, 30))
		}
		select {
		case <-v.exited:
			v.fatalf("%s: qemu exited (%v) before the line was ready", what, v.waitErr)
		case <-ctx.Done():
			v.fatalf("%s: %v", what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

var setupCodeRE = regexp.MustCompile(`setup code (\S+)`)

// setupCode reads the one-time setup code that hotline prints on its first start from its
// stdout, which gokrazy keeps and serves on its own page.
func (v *vm) setupCode(ctx context.Context) string {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		for _, line := range v.gokrazyLog(ctx, "stdout", 5*time.Second) {
			if m := setupCodeRE.FindStringSubmatch(line); m != nil {
				return m[1]
			}
		}
	}
	v.fatalf("hotline printed no setup code within a minute")
	return ""
}

// gokrazyLog returns the lines of hotline's stdout or stderr that gokrazy holds (the last
// 100), reading its log stream for at most wait.
func (v *vm) gokrazyLog(ctx context.Context, stream string, wait time.Duration) []string {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.gokURL+"/log?path=/user/hotline&stream="+stream, nil)
	if err != nil {
		return nil
	}
	req.SetBasicAuth("gokrazy", gokPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var lines []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// loggedCall waits until the call log holds the test call, ended, with its voicemail, and
// returns both entries.
func (v *vm) loggedCall(ctx context.Context, box *admin) (callJSON, voicemailJSON) {
	deadline := time.Now().Add(time.Minute)
	var calls callList
	for {
		box.getJSON(ctx, "/api/calls", &calls)
		if len(calls.Calls) > 0 && calls.Calls[0].EndedAt != "" && calls.Calls[0].VoicemailID != 0 {
			break
		}
		if time.Now().After(deadline) {
			v.fatalf("the call log shows no ended call with a voicemail: %+v", calls)
		}
		time.Sleep(500 * time.Millisecond)
	}
	c := calls.Calls[0]
	if len(calls.Calls) != 1 || c.Number != caller || c.AnsweredAt == "" || c.Outcome != "voicemail" || c.MenuPath != "0" {
		v.fatalf("call log: want one answered call from %s that left a voicemail through 0, got %+v", caller, calls.Calls)
	}
	var vms voicemailList
	box.getJSON(ctx, "/api/voicemail", &vms)
	m, ok := findVoicemail(vms, c.VoicemailID)
	if !ok || m.CallID != c.ID || !m.Complete || m.DurationSeconds < 1.5 || m.AudioURL == "" {
		v.fatalf("voicemail %d: want a complete message of about 2 s for call %d, got %+v", c.VoicemailID, c.ID, vms.Voicemail)
	}
	return c, m
}

// fatalf fails the test with the tail of the guest's serial console and of hotline's own log.
func (v *vm) fatalf(format string, args ...any) {
	v.t.Helper()
	msg := fmt.Sprintf(format, args...)
	console, _ := os.ReadFile(v.console)
	msg += fmt.Sprintf("\n--- %s: serial console (last lines) ---\n%s", v.name, tail(console, 40))
	select {
	case <-v.exited:
		msg += fmt.Sprintf("\n--- qemu (exited: %v) ---\n%s", v.waitErr, tail([]byte(v.stderr.String()), 40))
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, s := range []string{"stderr", "stdout"} {
			lines := v.gokrazyLog(ctx, s, 3*time.Second)
			msg += fmt.Sprintf("\n--- hotline %s (from gokrazy) ---\n%s", s, tail([]byte(strings.Join(lines, "\n")), 30))
		}
	}
	v.t.Fatal(msg)
}

// request does one HTTP request without following redirects and returns the status and body.
func (v *vm) request(ctx context.Context, method, u string, cookies []*http.Cookie, form url.Values) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return 0, nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// admin is a logged-in client of the web admin. The session cookie is Secure (the host is
// loopback), which net/http/cookiejar would keep from plain http, so it is kept here.
type admin struct {
	v       *vm // its failures end with the guest's console
	base    string
	cookies []*http.Cookie
}

func (a *admin) claim(ctx context.Context, code string) {
	a.post(ctx, "/setup", url.Values{"code": {code}, "password": {ownerPassword}, "password2": {ownerPassword}})
}

func (a *admin) login(ctx context.Context) {
	a.post(ctx, "/login", url.Values{"username": {"owner"}, "password": {ownerPassword}})
}

// post sends a form that must answer with a redirect and a session cookie.
func (a *admin) post(ctx context.Context, path string, form url.Values) {
	a.v.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.v.fatalf("%v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := noRedirect.Do(req)
	if err != nil {
		a.v.fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) == 0 {
		a.v.fatalf("POST %s: %s with cookies %v, want 303 and a session\n%s", path, resp.Status, resp.Cookies(), tail(body, 20))
	}
	a.cookies = resp.Cookies()
}

func (a *admin) get(ctx context.Context, path string) []byte {
	a.v.t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		a.v.fatalf("%v", err)
	}
	for _, c := range a.cookies {
		req.AddCookie(c)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		a.v.fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		a.v.fatalf("GET %s: %s, %v\n%s", path, resp.Status, err, tail(body, 20))
	}
	return body
}

func (a *admin) getJSON(ctx context.Context, path string, v any) {
	a.v.t.Helper()
	if err := json.Unmarshal(a.get(ctx, path), v); err != nil {
		a.v.fatalf("GET %s: %v", path, err)
	}
}

// The parts of /api/calls and /api/voicemail that the test compares across the power cut.
type (
	callJSON struct {
		ID          int64   `json:"id"`
		Line        string  `json:"line"`
		Number      string  `json:"number"`
		StartedAt   string  `json:"started_at"`
		AnsweredAt  string  `json:"answered_at"` // "" while null
		EndedAt     string  `json:"ended_at"`
		Duration    float64 `json:"duration_seconds"`
		MenuPath    string  `json:"menu_path"`
		Outcome     string  `json:"outcome"`
		VoicemailID int64   `json:"voicemail_id"`
	}
	callList struct {
		Calls []callJSON `json:"calls"`
	}
	voicemailJSON struct {
		ID              int64   `json:"id"`
		CallID          int64   `json:"call_id"`
		Number          string  `json:"number"`
		CreatedAt       string  `json:"created_at"`
		DurationSeconds float64 `json:"duration_seconds"`
		Complete        bool    `json:"complete"`
		AudioURL        string  `json:"audio_url"`
	}
	voicemailList struct {
		Voicemail []voicemailJSON `json:"voicemail"`
	}
)

// findCall and findVoicemail pick an entry by its id.
func findCall(l callList, id int64) (callJSON, bool) {
	for _, c := range l.Calls {
		if c.ID == id {
			return c, true
		}
	}
	return callJSON{}, false
}

func findVoicemail(l voicemailList, id int64) (voicemailJSON, bool) {
	for _, m := range l.Voicemail {
		if m.ID == id {
			return m, true
		}
	}
	return voicemailJSON{}, false
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// tail returns the last n lines of b.
func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
