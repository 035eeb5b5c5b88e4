package update

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// buildFakebox builds testdata/fakebox as version with behavior into dir.
func buildFakebox(t *testing.T, dir, version, behavior string) string {
	t.Helper()
	out := filepath.Join(dir, "fakebox-"+version)
	cmd := exec.Command("go", "build", "-trimpath", "-o", out,
		"-ldflags", "-X main.version="+version+" -X main.behavior="+behavior, "./testdata/fakebox")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build fakebox %s: %v\n%s", version, err, b)
	}
	return out
}

// box is a data folder with the built-in binary that starts it.
type box struct {
	t       *testing.T
	data    string
	builtin string
}

// start runs the built-in binary as a supervisor would and returns its first line of output
// and exit code; a binary built to hang is killed once it has printed its line.
func (b box) start() (string, int) {
	b.t.Helper()
	cmd := exec.Command(b.builtin, "run", "--data", b.data)
	cmd.Env = os.Environ() // never EnvSlot: the test process has none
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	line = strings.TrimSpace(line)
	if l, ok := strings.CutSuffix(line, " hang"); ok {
		line = l
		_ = cmd.Process.Kill() // the watchdog's SIGKILL
	}
	err = cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatalf("run: %v", err)
	}
	b.t.Logf("start: %q exit %d %s", line, code, strings.TrimSpace(stderr.String()))
	return line, code
}

// install receives and installs bin as version, as the admin does.
func (b box) install(bin, version, running string) {
	b.t.Helper()
	var f bytes.Buffer
	if _, err := Sign(&f, bin, version, time.Now(), trustedKey); err != nil {
		b.t.Fatal(err)
	}
	o := Options{TrustedKeys: []ed25519.PublicKey{trustedPub}, Version: running}
	if _, err := Receive(context.Background(), b.data, &f, o); err != nil {
		b.t.Fatal(err)
	}
	if _, err := Install(b.data, running, ""); err != nil {
		b.t.Fatal(err)
	}
}

func (b box) status() Status {
	b.t.Helper()
	st, err := ReadStatus(b.data)
	if err != nil {
		b.t.Fatal(err)
	}
	return st
}

func TestLaunchTrialRollbackCommit(t *testing.T) {
	bins := t.TempDir()
	builds := []struct{ version, behavior string }{
		{"1.0.0", "healthy"}, {"1.1.0", "exit"}, {"1.2.0", "hang"}, {"1.3.0", "healthy"}, {"1.4.0", "healthy"},
	}
	paths := make([]string, len(builds))
	var wg sync.WaitGroup
	for i, bd := range builds {
		wg.Go(func() { paths[i] = buildFakebox(t, bins, bd.version, bd.behavior) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	b := box{t: t, data: t.TempDir(), builtin: paths[0]}
	// The owner's data, which no update may touch.
	keep := map[string]string{"hotline.db": "calls", "voicemail/1.wav": "RIFF", "prompts/ru/greeting.wav": "hello"}
	for name, body := range keep {
		p := filepath.Join(b.data, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	if line, code := b.start(); line != "version=1.0.0 slot=" || code != 0 {
		t.Fatalf("a box never updated: %q %d", line, code)
	}

	// 1.1.0 exits at once: started MaxTrialStarts times, then the box goes back to 1.0.0.
	b.install(paths[1], "1.1.0", "1.0.0")
	for range MaxTrialStarts {
		if line, code := b.start(); line != "version=1.1.0 slot=a" || code != 3 {
			t.Fatalf("trial of 1.1.0: %q %d", line, code)
		}
	}
	if line, _ := b.start(); line != "version=1.0.0 slot=" {
		t.Fatalf("after a failed trial: %q", line)
	}
	st := b.status()
	if st.Trial != "" || st.Active != "" || st.Last.Outcome != OutcomeRolledBack || st.Last.Version != "1.1.0" ||
		st.Last.BackTo != "1.0.0" || st.Last.From != "1.0.0" || st.Last.Reason == "" {
		t.Fatalf("after a failed trial: %+v %+v", st, st.Last)
	}

	// 1.2.0 hangs and is killed by the watchdog, never reporting healthy: the same.
	b.install(paths[2], "1.2.0", "1.0.0")
	for range MaxTrialStarts {
		if line, _ := b.start(); line != "version=1.2.0 slot=a" {
			t.Fatalf("trial of 1.2.0: %q", line)
		}
	}
	if line, _ := b.start(); line != "version=1.0.0 slot=" {
		t.Fatalf("after a hung trial: %q", line)
	}
	if st := b.status(); st.Last.Outcome != OutcomeRolledBack || st.Last.Version != "1.2.0" {
		t.Fatalf("after a hung trial: %+v", st.Last)
	}

	// 1.3.0 reports healthy: it becomes the active slot and survives restarts.
	b.install(paths[3], "1.3.0", "1.0.0")
	if line, code := b.start(); line != "version=1.3.0 slot=a" || code != 0 {
		t.Fatalf("trial of 1.3.0: %q %d", line, code)
	}
	for range 3 {
		if line, _ := b.start(); line != "version=1.3.0 slot=a" {
			t.Fatalf("restart after 1.3.0 was kept: %q", line)
		}
	}
	if st := b.status(); st.Active != SlotA || st.Trial != "" || st.Last.Outcome != OutcomeOK || st.Last.Version != "1.3.0" {
		t.Fatalf("after a good update: %+v %+v", st, st.Last)
	}

	// The next update goes into slot b; when it fails, the box goes back to 1.3.0 in slot a.
	b.install(paths[1], "1.3.5", "1.3.0")
	for range MaxTrialStarts {
		if line, _ := b.start(); line != "version=1.1.0 slot=b" {
			t.Fatalf("trial in slot b: %q", line)
		}
	}
	if line, _ := b.start(); line != "version=1.3.0 slot=a" {
		t.Fatalf("back to slot a: %q", line)
	}
	if st := b.status(); st.Last.Outcome != OutcomeRolledBack || st.Last.BackTo != "1.3.0" || st.Active != SlotA {
		t.Fatalf("after a failed trial in slot b: %+v %+v", st, st.Last)
	}

	// A damaged active slot: the built-in binary runs.
	slot := slotPath(b.data, SlotA)
	bin, _ := os.ReadFile(slot)
	bin[len(bin)/2] ^= 1
	if err := os.WriteFile(slot, bin, 0o750); err != nil {
		t.Fatal(err)
	}
	if line, _ := b.start(); line != "version=1.0.0 slot=" {
		t.Fatalf("a damaged slot: %q", line)
	}
	if st := b.status(); st.Active != "" || st.Last.Outcome != OutcomeRolledBack {
		t.Fatalf("after a damaged slot: %+v %+v", st, st.Last)
	}

	// A newer package installed over an active slot wins.
	b.install(paths[3], "1.3.0", "1.0.0")
	if line, _ := b.start(); line != "version=1.3.0 slot=a" {
		t.Fatalf("reinstall 1.3.0: %q", line)
	}
	b.builtin = paths[4]
	if line, _ := b.start(); line != "version=1.4.0 slot=" {
		t.Fatalf("a newer built-in binary: %q", line)
	}
	if st := b.status(); st.Active != "" || st.Last.Outcome != OutcomeDropped {
		t.Fatalf("after a newer package: %+v %+v", st, st.Last)
	}

	for name, body := range keep {
		if got, err := os.ReadFile(filepath.Join(b.data, name)); err != nil || string(got) != body {
			t.Errorf("%s changed: %q %v", name, got, err)
		}
	}
}

func TestWatchTrial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		data := t.TempDir()
		o := testOptions()
		if _, err := Receive(context.Background(), data, bytes.NewReader(updateFile(t, manifestFor(amd64ELF, "1.1.0"), amd64ELF, trustedKey)), o); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(data, "1.0.0", ""); err != nil {
			t.Fatal(err)
		}
		// The built-in binary is not on trial: WatchTrial returns at once.
		if err := WatchTrial(t.Context(), data, time.Hour, TrialGiveUp, func() bool { t.Error("asked"); return true }); err != nil {
			t.Fatal(err)
		}
		t.Setenv(EnvSlot, SlotA)
		start := time.Now()
		asked := 0
		err := WatchTrial(t.Context(), data, TrialPeriod, TrialGiveUp, func() bool {
			asked++
			return asked == 3 // the admin answers on the third try
		})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < TrialPeriod || asked != 3 {
			t.Fatalf("kept after %v and %d questions", took, asked)
		}
		if st, _ := ReadStatus(data); st.Active != SlotA || st.Last.Outcome != OutcomeOK {
			t.Fatalf("not kept: %+v", st)
		}
		// Cancelled while waiting: nothing is kept.
		if _, err := Receive(context.Background(), data, bytes.NewReader(updateFile(t, manifestFor(amd64ELF, "1.2.0"), amd64ELF, trustedKey)), o); err != nil {
			t.Fatal(err)
		}
		if _, err := Install(data, "1.1.0", ""); err != nil {
			t.Fatal(err)
		}
		t.Setenv(EnvSlot, SlotB)
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		if err := WatchTrial(ctx, data, TrialPeriod, TrialGiveUp, func() bool { return true }); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("cancelled: %v", err)
		}
		if st, _ := ReadStatus(data); st.Trial != SlotB {
			t.Fatalf("kept though cancelled: %+v", st)
		}
		// Never healthy: it gives up after TrialGiveUp, and the trial stays for the launcher.
		start = time.Now()
		if err := WatchTrial(t.Context(), data, TrialPeriod, TrialGiveUp, func() bool { return false }); !errors.Is(err, ErrNotHealthy) {
			t.Fatalf("never healthy: %v", err)
		}
		if took := time.Since(start); took < TrialGiveUp || took > TrialGiveUp+10*time.Second {
			t.Fatalf("gave up after %v", took)
		}
		if st, _ := ReadStatus(data); st.Trial != SlotB || st.Active != SlotA {
			t.Fatalf("after giving up: %+v", st)
		}
	})
}
