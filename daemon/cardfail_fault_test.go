package daemon

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/wav"
)

// onExt4Card runs the calling test again in a process of its own, in a mount namespace of its
// own, with dir an ext4 file system of size on a loop device, mounted errors=remount-ro as a
// box's memory card is: the kernel turns it read-only by itself after an I/O error, under the
// files the box has open. In that process it returns (dir, true); in the test's own it waits
// for the other and returns ("", false). It needs root (a loop device and a mount), util-linux
// and e2fsprogs.
func onExt4Card(t *testing.T, size string) (dir string, child bool) {
	t.Helper()
	if d := os.Getenv(diskFaultEnv); d != "" {
		return d, true
	}
	for _, tool := range []string{"unshare", "mount", "mkfs.ext4", "truncate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed for the memory card tests: %v", tool, err)
		}
	}
	if os.Geteuid() != 0 {
		t.Fatal("the memory card tests need root: they mount an ext4 file system on a loop device")
	}
	img, dir := filepath.Join(t.TempDir(), "card.img"), t.TempDir()
	rerunIn(t, "on a "+size+" ext4 card", dir, []string{"--mount", "--propagation", "private"},
		`truncate -s "$1" "$2"; mkfs.ext4 -q -F "$2"; mount -o loop,errors=remount-ro "$2" "$3"`, size, img, dir)
	return "", false
}

// failCard makes the kernel see an error on the ext4 file system mounted at dir, as a failing
// memory card's I/O error does: with errors=remount-ro it refuses every write from then on.
func failCard(t *testing.T, dir string) {
	t.Helper()
	mounts, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	dev := ""
	for line := range strings.Lines(string(mounts)) {
		if f := strings.Fields(line); len(f) > 2 && f[1] == dir && f[2] == "ext4" {
			dev = filepath.Base(f[0])
		}
	}
	if dev == "" {
		t.Fatalf("no ext4 file system mounted at %s", dir)
	}
	if err := os.WriteFile("/sys/fs/ext4/"+dev+"/trigger_fs_error", []byte("hotline test: the card fails\n"), 0); err != nil {
		t.Fatalf("make the card fail: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), nil, 0o600); err == nil {
		t.Fatal("the failed card still takes writes")
	}
}

// TestCardTurnsReadOnlyWhileRunning: the memory card fails under the running box (ext4 turns
// itself read-only after an I/O error) while a caller is leaving a message. The call goes on
// to its end, the box then stops by itself (ErrCardReadOnly; its supervisor starts it again),
// and the new start works from a copy in memory: the messages left before are there and play,
// the owner is told, new calls are answered and logged, and the database is whole.
func TestCardTurnsReadOnlyWhileRunning(t *testing.T) {
	t.Parallel()
	dir, child := onExt4Card(t, "48M")
	if !child {
		return
	}
	ctx := context.Background()
	quickFlow(t, dir)
	claimWithAlerts(t, dir)
	cfg := Config{DataDir: dir, Sims: 1, SimToneReports: true, Now: workingHours, WorkingCopyPlaces: []string{t.TempDir()},
		DiskFloor: 4 << 20}
	h, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- h.Run(runCtx) }()

	before, err := h.TestCall(ctx, TestCall{From: "+79161110001", Digits: "0", Say: speech(2)})
	if err != nil || before.Outcome != "voicemail" {
		t.Fatalf("a call before the card fails: %+v, %v", before, err)
	}

	// A caller leaves a long message; a second into it the card fails.
	type result struct {
		res TestCallResult
		err error
	}
	during := make(chan result, 1)
	go func() {
		r, err := h.TestCall(ctx, TestCall{From: "+79161110002", Digits: "0", Say: speech(8)})
		during <- result{r, err}
	}()
	time.Sleep(3 * time.Second)
	failCard(t, dir)
	var r result
	select {
	case err := <-runErr:
		t.Fatalf("the box stopped during a call: %v", err)
	case r = <-during:
	case <-time.After(time.Minute):
		t.Fatal("the call during the failure did not end")
	}
	t.Logf("the call during the failure: %+v, %v", r.res, r.err)
	if r.res.PromptsHeard == 0 {
		t.Errorf("the caller during the failure was not answered: %+v, %v", r.res, r.err)
	}
	select {
	case err := <-runErr:
		if !errors.Is(err, ErrCardReadOnly) {
			t.Fatalf("Run = %v, want ErrCardReadOnly", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the box did not stop after its card turned read-only")
	}
	h.Close()

	// Started again, as systemd or gokrazy do.
	h2, stop2, _ := startDaemon(t, cfg)
	if got := h2.WorkingCopyOf(); got != dir {
		t.Fatalf("WorkingCopyOf = %q, want %q", got, dir)
	}
	msg, err := h2.Store.Voicemail(ctx, before.VoicemailID)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := h2.Store.VoicemailPath(msg); err != nil {
		t.Error(err)
	} else if samples, err := wav.ReadFileMono8k(p); err != nil || len(samples) < 2*voice.Rate {
		t.Errorf("the message left before the failure plays %d samples, %v", len(samples), err)
	}
	if n := diskAlerts(t, h2); n != 1 {
		t.Errorf("%d disk alerts queued for the owner, want 1", n)
	}
	after, err := h2.TestCall(ctx, TestCall{From: "+79161110003", Digits: "0", Say: speech(2)})
	if err != nil || after.Outcome != "voicemail" || after.VoicemailSeconds < 2 {
		t.Fatalf("a call after the restart: %+v, %v", after, err)
	}
	if c, err := h2.Store.Call(ctx, after.CallID); err != nil || c.EndedAt.IsZero() {
		t.Errorf("the call after the restart is not logged: %+v, %v", c, err)
	}
	copyDir := h2.Store.Dir()
	stop2()
	openWhole(t, copyDir)
	openWhole(t, dir)
}
