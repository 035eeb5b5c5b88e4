package daemon

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline/daemon/custom"
	"hotline/daemon/store"
	"hotline/voice"
	"hotline/voice/ivr"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// TestReadOnlyDataDiskAtStart starts the daemon on a data disk that is read-only from the
// start (a memory card that failed while the box was off): the box answers from a working
// copy in memory, stays claimed by its owner (no setup code), greets with the owner's own
// prompt, plays the messages kept on the card, takes new messages and logs the calls, tells
// the owner, and its backup holds old and new messages alike. The card is not written. A
// second start on the same boot goes on with the same copy: the call taken before is still
// there and the owner is not told twice.
func TestReadOnlyDataDiskAtStart(t *testing.T) {
	t.Parallel()
	dir, child := inSmallDisk(t, "32m")
	if !child {
		return
	}
	ctx := context.Background()

	// The box as it was before the card failed: claimed, with its flow, a message, the
	// owner's own greeting and an alert channel.
	quickFlow(t, dir)
	oldID := seedMessage(t, dir, time.Now().Add(-time.Hour), 2*time.Second)
	claimWithAlerts(t, dir)
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	oldMsg, err := st.Voicemail(ctx, oldID)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	var greeting bytes.Buffer
	if err := wav.Encode(&greeting, tone.Sine(440, time.Second, -12), voice.Rate); err != nil {
		t.Fatal(err)
	}
	own := custom.Prompts{Dir: filepath.Join(dir, custom.PromptDir)}
	if _, err := own.Save("ru", ivr.PromptGreeting, &greeting, 1<<20); err != nil {
		t.Fatal(err)
	}
	before := sumDir(t, dir)

	// The card turns read-only.
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("writing on the read-only disk: %v, want EROFS", err)
	}
	places := []string{filepath.Join(t.TempDir(), "missing-and-unmakeable\x00"), t.TempDir()}
	cfg := Config{DataDir: dir, Sims: 1, SimToneReports: true, Now: workingHours, WorkingCopyPlaces: places}
	h, stop, daemonLog := startDaemon(t, cfg)

	if got := h.WorkingCopyOf(); got != dir {
		t.Errorf("WorkingCopyOf = %q, want %q", got, dir)
	}
	if d := h.Store.Dir(); !strings.HasPrefix(d, places[1]) {
		t.Errorf("the store runs in %s, want a copy under %s", d, places[1])
	}
	if s := h.Disk(); !s.WorkingCopy || !strings.Contains(s.Alert, "read-only") {
		t.Errorf("disk status %+v: want the working copy said", s)
	}
	if !strings.Contains(daemonLog(), "answering from a working copy") {
		t.Errorf("the log does not say the box runs from a copy")
	}
	if code, err := h.Store.SetupCode(ctx); err != nil || code != "" {
		t.Errorf("setup code %q, %v: a box that was claimed must not become claimable", code, err)
	}
	if _, err := h.Store.CheckPassword(ctx, "owner", "correct horse battery"); err != nil {
		t.Errorf("the owner's password: %v", err)
	}
	copied := custom.Prompts{Dir: filepath.Join(h.Store.Dir(), custom.PromptDir)}
	if !copied.Has("ru", ivr.PromptGreeting) {
		t.Errorf("the owner's greeting is not in the copy")
	}
	if p, err := h.Store.VoicemailPath(oldMsg); err != nil {
		t.Error(err)
	} else if samples, err := wav.ReadFileMono8k(p); err != nil || len(samples) < 2*voice.Rate {
		t.Errorf("the message kept on the card plays %d samples, %v", len(samples), err)
	}

	res, err := h.TestCall(ctx, TestCall{From: "+79167654321", Digits: "0", Say: speech(2)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != "voicemail" || res.VoicemailSeconds < 2 {
		t.Errorf("a call on the working copy: %+v, want a message of 2 s", res)
	}
	msg, err := h.Store.Voicemail(ctx, res.VoicemailID)
	if err != nil {
		t.Fatal(err)
	}
	alerts := diskAlerts(t, h)
	if alerts != 1 {
		t.Errorf("%d disk alerts queued for the owner, want 1", alerts)
	}

	// The backup the owner is told to download holds the messages of both.
	var b bytes.Buffer
	if err := custom.WriteBackup(ctx, &b, h.Store); err != nil {
		t.Fatal(err)
	}
	names := tarNames(t, b.Bytes())
	for _, want := range []string{store.DBName, store.VoicemailDir + "/" + oldMsg.File, store.VoicemailDir + "/" + msg.File,
		custom.PromptDir + "/ru/" + ivr.PromptGreeting + ".wav"} {
		if names[want] == 0 {
			t.Errorf("the backup lacks %s (it has %v)", want, names)
		}
	}
	if n := names[store.VoicemailDir+"/"+oldMsg.File]; n < 2*2*voice.Rate {
		t.Errorf("the old message in the backup is %d bytes", n)
	}
	stop()

	// The daemon starts again on the same boot: same copy, the call is there, no second alert.
	h2, stop2, _ := startDaemon(t, cfg)
	if h2.Store.Dir() != h.Store.Dir() {
		t.Errorf("the second start runs in %s, the first ran in %s", h2.Store.Dir(), h.Store.Dir())
	}
	if c, err := h2.Store.Call(ctx, res.CallID); err != nil || c.Outcome != "voicemail" {
		t.Errorf("the call taken before the restart: %+v, %v", c, err)
	}
	if n := diskAlerts(t, h2); n != 1 {
		t.Errorf("%d disk alerts after the second start, want still 1", n)
	}
	copyDir := h2.Store.Dir()
	stop2()
	openWhole(t, copyDir)

	if after := sumDir(t, dir); after != before {
		t.Errorf("the read-only card changed")
	}
}

// TestWorkingCopyRefusedWhenNoRoom: without room for a copy the box does not start (it
// never starts empty, which would offer the setup code to anyone), and says why.
func TestWorkingCopyRefusedWhenNoRoom(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, store.DBName), make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	// /proc is no place to write.
	_, _, err := makeWorkingCopy(src, []string{"/proc/hotline-test"})
	if err == nil || !strings.Contains(err.Error(), "no place for a working copy") {
		t.Errorf("makeWorkingCopy into /proc: %v", err)
	}
}

// claimWithAlerts gives the box in dir its owner (password "correct horse battery") and an
// alert channel (a webhook nobody answers).
func claimWithAlerts(t *testing.T, dir string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.SetPassword(ctx, "owner", "correct horse battery", "owner"); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, SettingAlertWebhook, "http://127.0.0.1:9/hook"); err != nil {
		t.Fatal(err)
	}
}

// diskAlerts counts the alerts queued for the owner about a read-only card.
func diskAlerts(t *testing.T, h *Hotline) int {
	t.Helper()
	all, err := h.Store.Alerts(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range all {
		if a.Kind == AlertDisk && (strings.Contains(a.Body, `"disk":"`+diskWorkingCopy+`"`) || strings.Contains(a.Body, `"disk":"`+diskReadOnly+`"`)) {
			n++
		}
	}
	return n
}

// tarNames lists a backup's files with their sizes.
func tarNames(t *testing.T, b []byte) map[string]int64 {
	t.Helper()
	gz, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = h.Size
	}
}

// sumDir is a digest of every file under dir, names and contents.
func sumDir(t *testing.T, dir string) [32]byte {
	t.Helper()
	h := sha256.New()
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		io.WriteString(h, p+"\n")
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}
