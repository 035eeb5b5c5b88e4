package daemon

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"hotline/daemon/store"
	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/wav"
)

const diskFaultEnv = "HOTLINE_DAEMON_TEST_TMPFS"

// inSmallDisk runs the calling test again in a user and mount namespace of its own (no root
// needed) with a tmpfs of size mounted on a fresh folder, and reports the child's result. In
// the child it returns the folder.
func inSmallDisk(t *testing.T, size string) (dir string, child bool) {
	t.Helper()
	if d := os.Getenv(diskFaultEnv); d != "" {
		return d, true
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed for the disk tests: %v", err)
	}
	dir = t.TempDir()
	rerunIn(t, "in a "+size+" tmpfs", dir, []string{"--user", "--map-root-user", "--mount"},
		`mount -t tmpfs -o size="$1" tmpfs "$2"`, size, dir)
	return "", false
}

// rerunIn runs the calling test again in a process of its own under unshare with flags, once
// the shell commands setup (given args as $1, $2, ...) have made dir; that run finds dir in
// diskFaultEnv. The test fails when that run does not pass.
func rerunIn(t *testing.T, where, dir string, flags []string, setup string, args ...string) {
	t.Helper()
	script := setup + `; exec "$HOTLINE_RERUN_BINARY" -test.run="^$HOTLINE_RERUN_TEST\$" -test.v`
	cmd := exec.Command("unshare", append(append(flags, "sh", "-ec", script, "sh"), args...)...)
	cmd.Env = append(os.Environ(), diskFaultEnv+"="+dir, "HOTLINE_RERUN_BINARY="+os.Args[0], "HOTLINE_RERUN_TEST="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("%s:\n%s", where, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test %s failed: %v", where, err)
	}
}

// freeBytes is the space left for the box on the file system of dir.
func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var s unix.Statfs_t
	if err := unix.Statfs(dir, &s); err != nil {
		t.Fatal(err)
	}
	return int64(s.Bavail) * s.Bsize
}

// leaveMessage puts in st a finished call from number, age ago, that left a complete message
// of size bytes of silence in the file name, which nobody has dealt with. It returns the
// message's id.
func leaveMessage(t *testing.T, st *store.Store, number, name string, age time.Duration, size int) int64 {
	t.Helper()
	ctx := context.Background()
	at := time.Now().Add(-age)
	call, err := st.StartCall(ctx, "gsm1", number, at)
	if err != nil {
		t.Fatal(err)
	}
	vm, err := st.StartVoicemail(ctx, call, name, at.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(st.Dir(), store.VoicemailDir), 0o750); err != nil {
		t.Fatal(err)
	}
	w, err := wav.Create(filepath.Join(st.Dir(), store.VoicemailDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(make([]int16, size/2)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishVoicemail(ctx, vm, time.Duration(size/2)*time.Second/voice.Rate); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishCall(ctx, call, at.Add(5*time.Minute), "0", store.OutcomeVoicemail); err != nil {
		t.Fatal(err)
	}
	return vm
}

// fillTo grows (or shrinks) the file filler until the file system of dir has about free bytes
// left.
func fillTo(t *testing.T, dir string, free int64) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	size := max(0, fi.Size()+freeBytes(t, dir)-free)
	if err := f.Truncate(min(size, fi.Size())); err != nil {
		t.Fatal(err)
	}
	// Real blocks, not a hole: write the zeros.
	zeros := make([]byte, 1<<16)
	for at := fi.Size(); at < size; at += int64(len(zeros)) {
		n := min(int64(len(zeros)), size-at)
		if _, err := f.WriteAt(zeros[:n], at); err != nil {
			t.Fatalf("fill the disk: %v", err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFillsUnderTheDaemon runs the whole daemon (store, disk guard, switchboard, a
// simulated EC25) on a real 64 MB file system, under a free-space floor of 10 MB:
//
//  1. It starts with the disk under the floor and six old messages: the guard has retention
//     remove the oldest messages' audio, oldest first, only as much as needed (the rows stay),
//     and recording goes on.
//  2. A caller leaves a message and the disk fills up meanwhile: the recording stops, the
//     message is complete and plays what was recorded, its call says why it was cut, and the
//     owner gets the alert; the guard gave up its ballast so the call log goes on, and had
//     retention take the other old messages' audio too.
//  3. The next caller is answered and logged: missed, because no message can be taken, with
//     the reason.
//
// Then, with the daemon stopped, the database passes PRAGMA integrity_check and every message
// kept plays.
func TestDiskFillsUnderTheDaemon(t *testing.T) {
	t.Parallel()
	dir, child := inSmallDisk(t, "64m")
	if !child {
		return
	}
	ctx := context.Background()
	const floor = 10 << 20  // above the guard's 8 MB ballast, as the default 64 MB is
	const oldSize = 4 << 20 // bytes of audio in each old message

	// Six old messages nobody has dealt with, a day apart, oldest first, older than the month
	// that keeps such a message from a full disk; and one left two days ago.
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	var oldIDs []int64
	for i := range 6 {
		oldIDs = append(oldIDs, leaveMessage(t, st, "+7916123450"+fmt.Sprint(i), fmt.Sprintf("old-%d.wav", i),
			store.KeepWaiting+time.Duration(10-i)*24*time.Hour, oldSize))
	}
	recentID := leaveMessage(t, st, "+79161234506", "recent.wav", 48*time.Hour, 1<<20)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	fillTo(t, dir, floor-(1<<20)) // 1 MB under the floor

	h, stop, daemonLog := runDaemon(t, dir, floor)

	// 1. Retention made room, the oldest first; recording is on.
	for deadline := time.Now().Add(30 * time.Second); !h.Disk().Recording || !h.Disk().Ballast; {
		if time.Now().After(deadline) {
			t.Fatalf("recording not back on after retention: %+v", h.Disk())
		}
		time.Sleep(50 * time.Millisecond)
	}
	for i, id := range oldIDs {
		v, err := h.Store.Voicemail(ctx, id)
		if err != nil {
			t.Fatalf("old message %d: its row is gone: %v", i, err)
		}
		_, statErr := os.Stat(filepath.Join(dir, store.VoicemailDir, v.File))
		// 1 MB under the floor and the 8 MB ballast to write back: three of 4 MB go.
		gone := i < 3
		if h.Store.VoicemailAudioRemoved(v) != gone || os.IsNotExist(statErr) != gone {
			t.Errorf("old message %d (a day newer than the one before): audio removed %v, file %v; want removed %v",
				i, h.Store.VoicemailAudioRemoved(v), statErr, gone)
		}
	}

	if v, err := h.Store.Voicemail(ctx, recentID); err != nil || h.Store.VoicemailAudioRemoved(v) {
		t.Errorf("the message left two days ago: removed %v (%v)", h.Store.VoicemailAudioRemoved(v), err)
	}

	// 2. The disk fills while a caller leaves a message.
	say := speech(30)
	type done struct {
		res TestCallResult
		err error
	}
	first := make(chan done, 1)
	go func() {
		res, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", Say: say})
		first <- done{res, err}
	}()
	var growing string
	for deadline := time.Now().Add(90 * time.Second); growing == ""; {
		files, _ := filepath.Glob(filepath.Join(dir, store.VoicemailDir, "2*.wav"))
		for _, f := range files {
			if fi, err := os.Stat(f); err == nil && fi.Size() > 44+2*16000 {
				growing = f
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the message was never recorded")
		}
		time.Sleep(50 * time.Millisecond)
	}
	fillTo(t, dir, 64<<10) // room for 4 s more
	var d done
	select {
	case d = <-first:
	case <-time.After(2 * time.Minute):
		t.Fatal("the call did not end")
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
	c, err := h.Store.Call(ctx, d.res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	v, err := h.Store.Voicemail(ctx, c.VoicemailID)
	if err != nil {
		t.Fatalf("the cut message has no row: %v", err)
	}
	if c.Outcome != store.OutcomeVoicemail || !strings.Contains(c.EndReason, "cut short") || !strings.Contains(c.EndReason, "disk") {
		t.Errorf("the call whose message the full disk cut: outcome %q, reason %q", c.Outcome, c.EndReason)
	}
	samples, err := wav.ReadFileMono8k(filepath.Join(dir, store.VoicemailDir, v.File))
	plays := time.Duration(len(samples)) * time.Second / voice.Rate
	if err != nil || plays < time.Second || plays > 20*time.Second || !v.Complete ||
		(v.Duration-plays).Abs() > 20*time.Millisecond {
		t.Errorf("the message cut by the full disk: plays %v (%v), row %v complete %v", plays, err, v.Duration, v.Complete)
	}
	if s := h.Disk(); s.Recording || !strings.Contains(s.Alert, "not being recorded") {
		t.Errorf("the guard after the disk filled: %+v", s)
	}
	if !strings.Contains(daemonLog(), "released the ballast") {
		t.Error("the guard never released its ballast")
	}
	t.Logf("message cut after %v; alert: %s", plays, h.Disk().Alert)

	// 3. The next caller is answered and logged.
	res, err := h.TestCall(ctx, TestCall{From: "+79167654321", Digits: "0", Say: say[:2*2*voice.Rate]})
	if err != nil {
		t.Fatal(err)
	}
	c2, err := h.Store.Call(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if c2.AnsweredAt.IsZero() || c2.Outcome != "missed" || c2.VoicemailID != 0 || !strings.Contains(c2.EndReason, "no message could be recorded") {
		t.Errorf("a call on the full disk: answered %v, outcome %q, voicemail %d, reason %q", c2.AnsweredAt, c2.Outcome, c2.VoicemailID, c2.EndReason)
	}
	if s := h.Disk(); !strings.Contains(s.Alert, "not being recorded") {
		t.Errorf("the owner's alert (the dashboard shows it): %q", s.Alert)
	}

	// Nothing is damaged.
	stop()
	db := openWhole(t, dir)
	var calls, open int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE outcome = '') FROM calls`).Scan(&calls, &open); err != nil {
		t.Fatal(err)
	}
	if calls != 9 || open != 0 {
		t.Errorf("%d calls, %d open; want the 7 earlier and the 2 new, closed", calls, open)
	}
	files, _ := filepath.Glob(filepath.Join(dir, store.VoicemailDir, "*.wav"))
	for _, f := range files {
		if _, err := wav.ReadFileMono8k(f); err != nil {
			t.Errorf("%s does not play: %v", filepath.Base(f), err)
		}
	}
	// The full disk had retention take the audio of the other old messages as well (room for
	// the floor and the ballast again), but not the one left two days ago, nor the one the
	// disk cut, though that leaves the disk full; the rows all stay.
	if len(files) != 2 || !slices.Contains(files, filepath.Join(dir, store.VoicemailDir, "recent.wav")) ||
		!slices.Contains(files, filepath.Join(dir, store.VoicemailDir, v.File)) {
		t.Errorf("messages kept: %v; want the recent one and the cut one (%s)", files, v.File)
	}
	if n := len(voicemailIDs(t, db)); n != 8 {
		t.Errorf("%d voicemail rows, want 8", n)
	}
}

func voicemailIDs(t *testing.T, db *sql.DB) []int64 {
	t.Helper()
	rows, err := db.Query(`SELECT id FROM voicemails`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// quickFlow saves a short flow in the store in dir: the greeting, where 0 leads to the
// voicemail prompt, the beep, the message, goodbye.
func quickFlow(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
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

// seedMessage stores a call with a message of d (a steady tone), made at, as the daemon
// would have, and returns the message's id.
func seedMessage(t *testing.T, dir string, at time.Time, d time.Duration) int64 {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	call, err := st.StartCall(ctx, "gsm1", "+79161234567", at)
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("seed-%d.wav", call)
	vm, err := st.StartVoicemail(ctx, call, name, at.Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, store.VoicemailDir), 0o750); err != nil {
		t.Fatal(err)
	}
	w, err := wav.Create(filepath.Join(dir, store.VoicemailDir, name))
	if err != nil {
		t.Fatal(err)
	}
	b := speech(int(d / time.Second))
	samples := make([]int16, len(b)/2)
	for i := range samples {
		samples[i] = int16(uint16(b[2*i]) | uint16(b[2*i+1])<<8)
	}
	if err := w.Write(samples); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishVoicemail(ctx, vm, d); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishCall(ctx, call, at.Add(time.Minute), "0", store.OutcomeVoicemail); err != nil {
		t.Fatal(err)
	}
	return vm
}

// runDaemon opens the daemon on dir with one simulated EC25, recording down to floor bytes
// free, and runs it; stop ends it (more calls do nothing), daemonLog is its log so far. On
// failure the test shows the log.
func runDaemon(t *testing.T, dir string, floor uint64) (h *Hotline, stop func(), daemonLog func() string) {
	t.Helper()
	quickFlow(t, dir)
	return startDaemon(t, Config{DataDir: dir, Sims: 1, SimToneReports: true, Now: workingHours, DiskFloor: floor})
}

// startDaemon opens and runs the daemon as cfg says, with its log kept for the test.
func startDaemon(t *testing.T, cfg Config) (h *Hotline, stop func(), daemonLog func() string) {
	t.Helper()
	var logbuf strings.Builder
	var logMu sync.Mutex
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Logger = slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logbuf}, nil))
	h, err := Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("daemon log:\n%s", logbuf.String())
			logMu.Unlock()
		}
	})
	var wg sync.WaitGroup
	wg.Go(func() { _ = h.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait(); h.Close() }) }
	t.Cleanup(stop)
	daemonLog = func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return logbuf.String()
	}
	return h, stop, daemonLog
}

// speech is secs seconds of a 300 Hz "voice" as s16le.
func speech(secs int) []byte {
	b := make([]byte, 2*secs*voice.Rate)
	for i := range len(b) / 2 {
		v := int16(8000 * math.Sin(2*math.Pi*300*float64(i)/voice.Rate))
		b[2*i], b[2*i+1] = byte(v), byte(uint16(v)>>8)
	}
	return b
}

// TestRecordingsReadOnlyUnderTheDaemon turns the voicemail folder read-only under the running
// daemon (a read-only bind mount over it: Linux refuses to make a whole file system read-only
// while files on it are open for writing, which the kernel itself does after an I/O error):
// the caller who wants to leave a message is still answered and logged, as missed, with the
// reason; no row points at a file that was never made; a message recorded before still
// plays; once the folder is writable again, messages are taken again.
func TestRecordingsReadOnlyUnderTheDaemon(t *testing.T) {
	t.Parallel()
	dir, child := inSmallDisk(t, "32m")
	if !child {
		return
	}
	ctx := context.Background()
	vmDir := filepath.Join(dir, store.VoicemailDir)
	oldID := seedMessage(t, dir, time.Now().Add(-time.Hour), 2*time.Second)
	h, stop, _ := runDaemon(t, dir, 1<<20)
	for _, args := range [][]string{{"--bind", vmDir, vmDir}, {"-o", "remount,bind,ro", vmDir}} {
		if out, err := exec.Command("mount", args...).CombinedOutput(); err != nil {
			t.Fatalf("mount %v: %v %s", args, err, out)
		}
	}
	res, err := h.TestCall(ctx, TestCall{From: "+79167654321", Digits: "0", Say: speech(2)})
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Store.Call(ctx, res.CallID)
	if err != nil {
		t.Fatal(err)
	}
	if c.AnsweredAt.IsZero() || c.Outcome != "missed" || c.VoicemailID != 0 || !strings.Contains(c.EndReason, "read-only") {
		t.Errorf("a call while the recordings are read-only: answered %v, outcome %q, voicemail %d, reason %q",
			c.AnsweredAt, c.Outcome, c.VoicemailID, c.EndReason)
	}
	old, err := h.Store.Voicemail(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	if samples, err := wav.ReadFileMono8k(filepath.Join(vmDir, old.File)); err != nil || len(samples) < 2*voice.Rate {
		t.Errorf("the message recorded before plays %d samples, %v", len(samples), err)
	}
	if out, err := exec.Command("umount", vmDir).CombinedOutput(); err != nil {
		t.Fatalf("umount: %v %s", err, out)
	}
	// The guard let the failure stop recording until it looks again (every 10 s).
	for fixed := time.Now(); !h.Disk().Checked.After(fixed); time.Sleep(100 * time.Millisecond) {
	}
	after, err := h.TestCall(ctx, TestCall{From: "+79161234567", Digits: "0", Say: speech(2)})
	if err != nil || after.Outcome != "voicemail" || after.VoicemailSeconds < 2 {
		t.Errorf("a message once the folder is writable again: %+v, %v", after, err)
	}
	stop()

	db := openWhole(t, dir)
	var rows, incomplete int
	if err := db.QueryRow(`SELECT count(*), count(*) FILTER (WHERE complete = 0) FROM voicemails`).Scan(&rows, &incomplete); err != nil {
		t.Fatal(err)
	}
	if rows != 2 || incomplete != 0 {
		t.Errorf("%d voicemail rows, %d incomplete; want the 2 messages taken, complete", rows, incomplete)
	}
}

// openWhole opens the stopped daemon's database in dir read-only and checks that it passes
// PRAGMA integrity_check; the test closes it.
func openWhole(t *testing.T, dir string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.Join(dir, "hotline.db"), RawQuery: "mode=ro"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var ok string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		t.Errorf("integrity_check: %q, %v", ok, err)
	}
	return db
}
