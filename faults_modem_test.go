package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"hotline/daemon/store"
	"hotline/hw/sim"
	"hotline/voice/ivr"
)

// TestModemFaultsLeaveTheRestAlone runs the real daemon (`hotline run`, its own process) on
// five simulated EC25 modems and, while a caller leaves a message on each of the first four,
// breaks each of those modems in its own way at the same moment:
//
//   - gsm1 is unplugged and plugged back a second later at new ports (the symlinks the daemon
//     was given point at the new ones, as /dev/serial/by-id does);
//   - gsm2 stops answering AT (it still takes AT+CFUN=1,1, as a hung EC25 does);
//   - gsm3 spews garbage on its AT port for 25 s: binary junk, invalid UTF-8 and overlong
//     lines, between its real replies, through the box's hang-up and the driver's checks;
//   - gsm4's audio stops coming (the box gets no frame from the modem) until the call is over.
//
// Meanwhile a call on gsm5 goes through to a whole message, and the admin pages answer. In
// the end every call has exactly one record, closed with an outcome; the call cut by the
// unplug, the one cut by the stall and the one that lost its audio say why in their record;
// the garbage changed nothing in its call nor took its line down; each broken line came back
// by itself and takes a
// call with a whole message; and the database passes PRAGMA integrity_check.
func TestModemFaultsLeaveTheRestAlone(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	var wg, calls sync.WaitGroup // the modems and relays; the callers
	defer wg.Wait()
	defer calls.Wait()
	defer cancel()

	dir := t.TempDir()
	modems := make([]*sim.EC25, 5)
	for i := range modems {
		m, err := sim.NewEC25(sim.Options{ID: fmt.Sprintf("sim%d", i+1), ToneReports: true, BootTime: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		modems[i] = m
		t.Cleanup(func() { m.Close() })
		wg.Go(func() {
			if err := m.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("simulated modem %d: %v", i+1, err)
			}
		})
	}
	// gsm1 through symlinks that follow the re-plug; gsm3's AT port and gsm4's audio port
	// through relays that can spew garbage or drop the audio.
	link := func(name, target string) string {
		path := filepath.Join(dir, name)
		tmp := path + ".new"
		os.Remove(tmp)
		if err := os.Symlink(target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	plugged := func() (at, audio string) {
		return link("gsm1-at", modems[0].ATPath()), link("gsm1-audio", modems[0].AudioPath())
	}
	at1, audio1 := plugged()
	garbage := newRelay(t, ctx, &wg, modems[2].ATPath())
	mute := newRelay(t, ctx, &wg, modems[3].AudioPath())
	specs := [][2]string{
		{at1, audio1},
		{modems[1].ATPath(), modems[1].AudioPath()},
		{garbage.path, modems[2].AudioPath()},
		{modems[3].ATPath(), mute.path},
		{modems[4].ATPath(), modems[4].AudioPath()},
	}
	args := []string{"--sip", "off"}
	for _, s := range specs {
		args = append(args, "--modem", s[0]+",audio="+s[1]+",kind=quectel")
	}
	data := t.TempDir()
	messageFlow(t, data)
	p := startHotline(t, data, 0, "or set the owner password", args...)
	admin := ownerSession(t, p, data)
	waitLinesUp(t, p.url, 5, time.Minute)

	type placed struct {
		line string
		res  sim.Result
		err  error
	}
	results := make(chan placed, 16)
	call := func(i int, say time.Duration) {
		calls.Go(func() {
			cctx, ccancel := context.WithTimeout(ctx, 3*time.Minute)
			defer ccancel()
			res, err := modems[i].Call(cctx, sim.Caller{From: fmt.Sprintf("+7916123456%d", i), Digits: "0",
				Say: noiseSamples(say), MaxDuration: 150 * time.Second})
			results <- placed{fmt.Sprintf("gsm%d", i+1), res, err}
		})
	}
	// The callers on the lines about to break talk longer than the box takes to notice (the
	// stall: two missed watchdog checks, 20 s apart); the one on gsm3 for 12 s.
	for i, say := range []time.Duration{60 * time.Second, 60 * time.Second, 12 * time.Second, 60 * time.Second} {
		call(i, say)
	}
	growingVoicemail(t, p, data, 4, 2*16000)

	// The faults, all at once.
	faultAt := time.Now()
	modems[0].Unplug()
	modems[1].Stall(true)
	garbage.spew(25 * time.Second) // longer than the driver's 20 s between checks
	mute.mute(true)
	time.Sleep(time.Second)
	if err := modems[0].Plug(); err != nil {
		t.Fatal(err)
	}
	plugged()

	// The admin answers throughout; the other line takes a call.
	pagesDone := make(chan struct{})
	var pages pageLog
	var pw sync.WaitGroup
	pw.Go(func() { pages.poll(admin, p.url, pagesDone) })
	call(4, 3*time.Second)

	// Every call ends; gsm4's audio comes back once its call is over.
	byLine := map[string]placed{}
	for range 5 {
		select {
		case r := <-results:
			byLine[r.line] = r
			if r.line == "gsm4" {
				mute.mute(false)
			}
		case <-time.After(4 * time.Minute):
			t.Fatalf("calls still up 4 minutes after the faults; ended: %v", byLine)
		}
	}
	calls.Wait()
	if r := byLine["gsm5"]; r.err != nil || !r.res.Answered || r.res.HungUpBy != "box" {
		t.Errorf("the call on the healthy line during the faults: %+v, %v", r.res, r.err)
	}
	if r := byLine["gsm3"]; r.err != nil || r.res.HungUpBy != "box" {
		t.Errorf("the call on the line that spewed garbage: %+v, %v", r.res, r.err)
	}
	waitLinesUp(t, p.url, 5, 3*time.Minute)
	recovered := time.Since(faultAt)
	close(pagesDone)
	pw.Wait()
	pages.check(t)
	t.Logf("all lines ready again %v after the faults; %s", recovered.Round(time.Second), pages.summary())

	// Each broken line takes a call again, with a whole message.
	for i := range 4 {
		call(i, 3*time.Second)
	}
	for range 4 {
		r := <-results
		if r.err != nil || !r.res.Answered || r.res.HungUpBy != "box" {
			t.Errorf("call on %s after it came back: %+v, %v", r.line, r.res, r.err)
		}
	}
	calls.Wait()
	// The owner sees why each cut call ended on its page in the call log.
	for line, want := range map[string]string{"gsm1": "unplugged", "gsm2": "stopped answering", "gsm4": "audio stopped"} {
		id := oldestCall(t, admin, p.url, line)
		body := getPage(t, admin, fmt.Sprintf("%s/calls/%d", p.url, id))
		if !strings.Contains(body, want) {
			t.Errorf("/calls/%d (%s) does not show the reason %q", id, line, want)
		}
	}
	p.stop(t)
	states := regexp.MustCompile(`msg="line state" subsys=switchboard line=gsm3 state=("[^"]*"|\S+)`).FindAllStringSubmatch(p.log(), -1)
	for _, m := range states {
		if m[1] != "ready" {
			t.Errorf("the garbage took gsm3 to state %s", m[1])
		}
	}
	if len(states) == 0 {
		t.Error("the daemon's log shows no state of gsm3")
	}
	if !regexp.MustCompile(`msg="modem: dropped unreadable lines".* line=gsm3`).MatchString(p.log()) {
		t.Errorf("the daemon never noticed gsm3's garbage (%d bytes sent)", garbage.junkSent.Load())
	}
	t.Logf("gsm3 spewed %d bytes of garbage", garbage.junkSent.Load())

	db := checkedDB(t, data)
	rows, err := db.Query(`SELECT c.id, c.line_id, c.outcome, c.end_reason, COALESCE(v.duration_ms, -1), COALESCE(v.complete, 0)
		FROM calls c LEFT JOIN voicemails v ON v.call_id = c.id ORDER BY c.id`)
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		id                int64
		outcome, reason   string
		message           time.Duration // -1: none
		messageIsComplete bool
	}
	records := map[string][]record{}
	for rows.Next() {
		var line string
		var r record
		var ms int64
		if err := rows.Scan(&r.id, &line, &r.outcome, &r.reason, &ms, &r.messageIsComplete); err != nil {
			t.Fatal(err)
		}
		r.message = time.Duration(ms) * time.Millisecond
		records[line] = append(records[line], r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for line, recs := range records {
		for _, r := range recs {
			t.Logf("%s: call %d: outcome %q, reason %q, message %v", line, r.id, r.outcome, r.reason, r.message)
		}
		want := 2
		if line == "gsm5" {
			want = 1
		}
		if len(recs) != want {
			t.Errorf("%s has %d call records, want %d: %+v", line, len(recs), want, recs)
		}
	}
	reasons := map[string]*regexp.Regexp{
		"gsm1": regexp.MustCompile(`unplugged`),
		"gsm2": regexp.MustCompile(`stopped answering`),
		"gsm3": regexp.MustCompile(`^$`),
		"gsm4": regexp.MustCompile(`audio`),
	}
	for i := range 5 {
		line := fmt.Sprintf("gsm%d", i+1)
		recs := records[line]
		if len(recs) == 0 {
			t.Errorf("%s: no call record", line)
			continue
		}
		for _, r := range recs {
			if r.outcome == "" || r.outcome == "in_progress" {
				t.Errorf("%s: call %d left open: %+v", line, r.id, r)
			}
		}
		first, last := recs[0], recs[len(recs)-1]
		if re := reasons[line]; re != nil && !re.MatchString(first.reason) {
			t.Errorf("%s: the call during the fault ended with reason %q, want one matching %q", line, first.reason, re)
		}
		// A message is whole: the row complete, and as long as the caller spoke (the 3 s
		// callers), or the 12 s the garbage must not have cut.
		wantMsg := 3 * time.Second
		if line == "gsm3" {
			wantMsg = 12 * time.Second
			last = first
		}
		if last.outcome != "voicemail" || !last.messageIsComplete || last.message < wantMsg-300*time.Millisecond {
			t.Errorf("%s: call %d: outcome %q, message %v (complete %v); want a whole message of %v", line, last.id, last.outcome,
				last.message, last.messageIsComplete, wantMsg)
		}
	}
	// The call cut by the stall and the unplug have messages up to the fault, complete.
	for _, line := range []string{"gsm1", "gsm2", "gsm4"} {
		if recs := records[line]; len(recs) > 0 && (recs[0].message < 2*time.Second || !recs[0].messageIsComplete) {
			t.Errorf("%s: the message cut by the fault: %v, complete %v; want the 2 s and more spoken before it", line,
				recs[0].message, recs[0].messageIsComplete)
		}
	}
}

// messageFlow makes the box's call flow, at any hour: the greeting, where 0 (or nothing)
// leads to the voicemail prompt, the beep, the message, goodbye.
func messageFlow(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := &ivr.Flow{Name: "Messages", Start: "menu", Nodes: []ivr.Node{
		{ID: "menu", Kind: ivr.KindMenu, Prompt: ivr.PromptGreeting, Choices: map[string]string{"0": "voicemail"},
			TimeoutSec: 5, Retries: 2, Invalid: ivr.PromptInvalid, NoInput: "voicemail"},
		{ID: "voicemail", Kind: ivr.KindVoicemail, Prompt: ivr.PromptVoicemail, Next: "bye"},
		{ID: "bye", Kind: ivr.KindHangup, Prompt: ivr.PromptGoodbye},
	}}
	b, err := f.MarshalIndent()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveFlow(ctx, b, "test", "messages only"); err != nil {
		t.Fatal(err)
	}
}

// noiseSamples is d of steady noise at a speaking level: a message that never falls silent.
func noiseSamples(d time.Duration) []int16 {
	s := make([]int16, int(d/(time.Second/8000)))
	x := uint32(24680)
	for i := range s {
		x = x*1664525 + 1013904223
		s[i] = int16(int32(x>>16)-32768) / 6
	}
	return s
}

// oldestCall is the first call on line in the call log (the admin's JSON API).
func oldestCall(t *testing.T, cl *http.Client, base, line string) int64 {
	t.Helper()
	var log struct {
		Calls []struct {
			ID int64 `json:"id"`
		} `json:"calls"`
	}
	if err := json.Unmarshal([]byte(getPage(t, cl, base+"/api/calls?line="+line)), &log); err != nil {
		t.Fatalf("/api/calls: %v", err)
	}
	if len(log.Calls) == 0 {
		t.Fatalf("/api/calls lists no call on %s", line)
	}
	return log.Calls[len(log.Calls)-1].ID
}

// getPage GETs url and returns the body of a 200 answer.
func getPage(t *testing.T, cl *http.Client, url string) string {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(b)
}

// ownerSession sets the owner's password and returns a client logged in as the owner.
func ownerSession(t *testing.T, p *daemonProc, data string) *http.Client {
	t.Helper()
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
	for _, c := range jar.Cookies(base) {
		if c.Name == "hotline_session" && resp.StatusCode == http.StatusOK {
			return cl
		}
	}
	t.Fatalf("login: %s, no session", resp.Status)
	return nil
}

// waitLinesUp waits until /metrics reports n lines ready.
func waitLinesUp(t *testing.T, base string, n int, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); linesUp(t, base) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d lines ready after %v", linesUp(t, base), n, within)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// pageLog polls the admin's pages and remembers what went wrong.
type pageLog struct {
	mu      sync.Mutex
	n       int
	slowest time.Duration
	fails   []string
}

// adminPages are pages the owner looks at during a fault: the dashboard and its data, the
// call log, the health check, the lines' metrics.
var adminPages = []string{"/dashboard", "/api/panel", "/calls", "/api/calls", "/healthz", "/metrics", "/sms", "/voicemail"}

func (l *pageLog) poll(cl *http.Client, base string, done <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		case <-time.After(300 * time.Millisecond):
		}
		path := adminPages[i%len(adminPages)]
		start := time.Now()
		resp, err := cl.Get(base + path)
		took := time.Since(start)
		fail := ""
		switch {
		case err != nil:
			fail = fmt.Sprintf("GET %s: %v", path, err)
		case resp.StatusCode != http.StatusOK:
			fail = fmt.Sprintf("GET %s: %s", path, resp.Status)
		}
		if resp != nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		l.mu.Lock()
		l.n++
		l.slowest = max(l.slowest, took)
		if fail != "" {
			l.fails = append(l.fails, fail)
		}
		l.mu.Unlock()
	}
}

func (l *pageLog) check(t *testing.T) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n < 2*len(adminPages) {
		t.Errorf("only %d admin requests during the faults", l.n)
	}
	for _, f := range l.fails {
		t.Errorf("admin during the faults: %s", f)
	}
}

func (l *pageLog) summary() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d admin pages answered meanwhile, the slowest in %v", l.n, l.slowest.Round(time.Millisecond))
}

// relay stands between a simulated modem's port and the daemon: the daemon opens path (a
// pseudo-terminal of the relay's), the relay passes bytes both ways and, on demand, spews
// garbage towards the daemon or drops what the modem sends.
type relay struct {
	path    string
	garbage atomic.Int64 // spew until this Unix nanosecond
	muted   atomic.Bool

	junkSent atomic.Int64 // bytes of garbage sent
}

// newRelay opens the modem's port and a pseudo-terminal for the daemon, and passes bytes
// until ctx ends.
func newRelay(t *testing.T, ctx context.Context, wg *sync.WaitGroup, modemPath string) *relay {
	t.Helper()
	dev, err := openNonblock(modemPath)
	if err != nil {
		t.Fatal(err)
	}
	master, slave, err := pty.Open()
	if err != nil {
		dev.Close()
		t.Fatal(err)
	}
	r := &relay{path: slave.Name()}
	if err := rawTTY(int(slave.Fd())); err != nil {
		t.Fatal(err)
	}
	mfd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	master.Close()
	if err == nil {
		err = unix.SetNonblock(mfd, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	box := os.NewFile(uintptr(mfd), "/dev/ptmx")
	t.Cleanup(func() {
		dev.Close()
		box.Close()
		slave.Close() // held open so the daemon may reopen the path
	})
	// Closing the files ends the copies when ctx ends.
	wg.Go(func() {
		<-ctx.Done()
		dev.SetDeadline(time.Now())
		box.SetDeadline(time.Now())
	})
	wg.Go(func() { // daemon -> modem
		buf := make([]byte, 4096)
		for ctx.Err() == nil {
			n, err := box.Read(buf)
			if n > 0 {
				if _, err := dev.Write(buf[:n]); err != nil && ctx.Err() == nil {
					t.Errorf("relay %s: to the modem: %v", r.path, err)
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	wg.Go(func() { // modem -> daemon
		buf := make([]byte, 4096)
		rng := rand.New(rand.NewPCG(1, 2))
		atLineStart := true
		for ctx.Err() == nil {
			dev.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			n, err := dev.Read(buf)
			if n > 0 && !r.muted.Load() {
				if _, err := box.Write(buf[:n]); err != nil && ctx.Err() == nil {
					t.Errorf("relay %s: to the daemon: %v", r.path, err)
					return
				}
				atLineStart = buf[n-1] == '\n'
			}
			if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
				return
			}
			// Garbage goes between the modem's lines, so its own replies stay whole.
			if atLineStart && time.Now().UnixNano() < r.garbage.Load() {
				b := junk(rng)
				if _, err := box.Write(b); err != nil && ctx.Err() == nil {
					t.Errorf("relay %s: garbage: %v", r.path, err)
					return
				}
				r.junkSent.Add(int64(len(b)))
			}
		}
	})
	return r
}

// spew sends garbage to the daemon for d.
func (r *relay) spew(d time.Duration) { r.garbage.Store(time.Now().Add(d).UnixNano()) }

// mute drops (or passes again) everything the modem sends.
func (r *relay) mute(on bool) { r.muted.Store(on) }

// junk is a burst of what a sick modem prints: binary bytes, invalid UTF-8, an overlong line,
// and bytes that end no line; each piece ends with CR LF, so the modem's next line stays whole.
func junk(rng *rand.Rand) []byte {
	var b []byte
	for range 1 + rng.IntN(4) {
		var piece []byte
		switch rng.IntN(3) {
		case 0: // binary, no line ends inside
			piece = make([]byte, 1+rng.IntN(200))
			for i := range piece {
				piece[i] = byte(rng.IntN(256))
				if piece[i] == '\r' || piece[i] == '\n' {
					piece[i] = 0xff
				}
			}
		case 1: // invalid UTF-8 in text that looks like a reply
			piece = []byte("+QIND: \xc3\x28\xa0\xa1 \xf0\x28\x8c\xbc")
		default: // longer than any line a modem sends
			piece = make([]byte, 1500+rng.IntN(3000))
			for i := range piece {
				piece[i] = 'A' + byte(rng.IntN(26))
			}
		}
		b = append(append(b, piece...), '\r', '\n')
	}
	return b
}

// openNonblock opens a tty path for reading and writing through the runtime poller.
func openNonblock(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return os.NewFile(uintptr(fd), path), nil
}

// rawTTY switches a terminal to raw mode (cfmakeraw(3)).
func rawTTY(fd int) error {
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}
