package diskguard

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hotline/daemon/store"
	"hotline/voice"
	"hotline/voice/wav"
)

const tmpfsEnv = "DISKGUARD_TEST_TMPFS"

// inTmpfs runs the calling test again in a new user and mount namespace (no root needed) with a
// tmpfs of size mounted on a fresh folder, and reports the child's result. In the child it
// returns the folder.
func inTmpfs(t *testing.T, size string) (dir string, child bool) {
	t.Helper()
	if d := os.Getenv(tmpfsEnv); d != "" {
		return d, true
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Fatalf("unshare (util-linux) is needed for the disk-full tests: %v", err)
	}
	dir = t.TempDir()
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
		`mount -t tmpfs -o size=`+size+` tmpfs "$1" && exec "$2" -test.run="^$3\$" -test.v`,
		"sh", dir, os.Args[0], t.Name())
	cmd.Env = append(os.Environ(), tmpfsEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("in a %s tmpfs:\n%s", size, out)
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Fatalf("the test in the tmpfs failed: %v", err)
	}
	return "", false
}

// TestDiskFullTmpfs fills a real (small) file system: the recording fails with a clear error and
// stays playable, the guard releases its ballast, and the call log goes on being written. Then
// the file system turns read-only: clear errors, no crash.
func TestDiskFullTmpfs(t *testing.T) {
	dir, child := inTmpfs(t, "16m")
	if !child {
		return
	}
	ctx := context.Background()
	st, err := store.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Config{Dir: dir, MinFreeBytes: 1 << 20, MinFreePercent: 1, BallastBytes: 6 << 20})
	if err != nil {
		t.Fatal(err)
	}
	s := g.Check(ctx)
	if !s.Recording || !s.Ballast || s.Total < 15<<20 || s.Free > s.Total {
		t.Fatalf("empty 16 MB disk: %+v", s)
	}
	t.Logf("before: %+v", s)

	// A recording that runs into the full disk (the switchboard would have stopped at the
	// floor; this one ignores the guard to reach ENOSPC for real).
	path := filepath.Join(dir, store.VoicemailDir, "fill.wav")
	w, err := wav.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	second := make([]int16, voice.Rate)
	var werr error
	for n := 0; n < 10_000 && werr == nil; n++ {
		for i := range second {
			second[i] = int16(n*voice.Rate + i)
		}
		werr = w.Write(second)
	}
	if !errors.Is(werr, wav.ErrDiskFull) || !errors.Is(werr, syscall.ENOSPC) || !strings.Contains(werr.Error(), "disk is full") {
		t.Fatalf("writing to a full disk: %v; want a clear disk-full error", werr)
	}
	written := w.Len()
	if err := w.Close(); !errors.Is(err, wav.ErrDiskFull) {
		t.Errorf("Close after the disk filled: %v", err)
	}
	samples, err := wav.ReadFileMono8k(path)
	if err != nil {
		t.Fatalf("recording cut by the full disk does not play: %v", err)
	}
	if len(samples) != written || written < voice.Rate/2 {
		t.Fatalf("recording plays %d samples, %d were written", len(samples), written)
	}
	for i, v := range samples {
		if v != int16(i) {
			t.Fatalf("sample %d is %d: audio before the failure was damaged", i, v)
		}
	}

	// The guard hears of it, releases the ballast and stops recording.
	g.Notify(werr)
	if !errors.Is(g.CanRecord(), ErrDiskLow) {
		t.Errorf("CanRecord after the failure: %v", g.CanRecord())
	}
	s = g.Check(ctx)
	if s.Recording || s.Ballast || s.Free < 6<<20 || !strings.Contains(s.Alert, "emergency reserve") {
		t.Fatalf("after the disk filled: %+v", s)
	}
	t.Logf("after: %+v", s)

	// The call log goes on: calls ring, are answered and logged in the room the ballast left,
	// more of them than it takes SQLite to fill its write-ahead log and wrap around (a
	// checkpoint every 1000 pages, 4 MB: why the ballast is larger than that).
	for i := range 600 {
		at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Minute)
		id, err := st.StartCall(ctx, "gsm1", "+79161234567", at)
		if err != nil {
			t.Fatalf("call %d on a full disk: %v", i, err)
		}
		if err := st.AnswerCall(ctx, id, at.Add(time.Second)); err != nil {
			t.Fatalf("answer call %d: %v", i, err)
		}
		if err := st.FinishCall(ctx, id, at.Add(30*time.Second), "", "completed"); err != nil {
			t.Fatalf("finish call %d: %v", i, err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// The card turns read-only (what Linux does after an I/O error).
	if out, err := exec.Command("mount", "-o", "remount,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	s = g.Check(ctx)
	if s.Recording || !s.ReadOnly || !strings.Contains(s.Alert, "read-only") || !errors.Is(g.CanRecord(), ErrReadOnly) {
		t.Errorf("read-only disk: %+v", s)
	}
	if _, err := wav.Create(filepath.Join(dir, store.VoicemailDir, "new.wav")); !errors.Is(err, wav.ErrReadOnly) ||
		!strings.Contains(err.Error(), "read-only") {
		t.Errorf("recording on a read-only disk: %v; want a clear read-only error", err)
	}
	if st, err := store.Open(ctx, dir); err == nil {
		// SQLite may open a database read-only; a write must then fail plainly.
		_, werr := st.StartCall(ctx, "gsm1", "+79161234567", time.Now())
		st.Close()
		if werr == nil || !strings.Contains(strings.ToLower(werr.Error()), "readonly") && !strings.Contains(werr.Error(), "read-only") {
			t.Errorf("writing a call on a read-only disk: %v", werr)
		}
	} else if !strings.Contains(err.Error(), "read-only") && !strings.Contains(strings.ToLower(err.Error()), "readonly") {
		t.Errorf("opening the store on a read-only disk: %v; want it to say read-only", err)
	}
	// What was written before is intact.
	if got, err := wav.ReadFileMono8k(path); err != nil || len(got) != written {
		t.Errorf("recording after the remount: %d samples, %v", len(got), err)
	}
}
