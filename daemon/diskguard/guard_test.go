package diskguard

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// fakeDisk is a file system whose free space the test sets; the ballast file counts against it.
type fakeDisk struct {
	mu       sync.Mutex
	total    uint64
	free     uint64 // without the ballast
	readOnly bool
	err      error
	dir      string
}

func (d *fakeDisk) statfs(dir string) (usage, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.err != nil {
		return usage{}, d.err
	}
	free := d.free
	if fi, err := os.Stat(filepath.Join(d.dir, BallastName)); err == nil {
		free -= min(free, uint64(fi.Size()))
	}
	return usage{Free: free, Total: d.total, ReadOnly: d.readOnly}, nil
}

func (d *fakeDisk) set(free uint64) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.free = free
}

const mb = 1 << 20

func newFake(t *testing.T, cfg Config) (*Guard, *fakeDisk) {
	t.Helper()
	dir := t.TempDir()
	cfg.Dir = dir
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := &fakeDisk{total: 1000 * mb, free: 900 * mb, dir: dir}
	g.statfs = d.statfs
	return g, d
}

func TestFloor(t *testing.T) {
	for _, tc := range []struct {
		minBytes uint64
		pct      float64
		total    uint64
		want     uint64
	}{
		{0, 0, 1000 * mb, 64 * mb},                       // defaults: 64 MB beats 2 % of 1 GB
		{0, 0, 32000 * mb, 640 * mb},                     // 2 % of a 32 GB card
		{mb, 0.5, 100 * mb, mb},                          // the byte floor
		{mb, 10, 100 * mb, 10 * mb},                      // the percentage
		{DefaultMinFreeBytes, 2, 0, DefaultMinFreeBytes}, // unknown size
	} {
		g, err := New(Config{Dir: t.TempDir(), MinFreeBytes: tc.minBytes, MinFreePercent: tc.pct})
		if err != nil {
			t.Fatal(err)
		}
		if got := g.floor(tc.total); got != tc.want {
			t.Errorf("floor(%d) with %d B, %g %% = %d, want %d", tc.total, tc.minBytes, tc.pct, got, tc.want)
		}
	}
	for _, bad := range []Config{{}, {Dir: "x", MinFreePercent: -1}, {Dir: "x", MinFreePercent: 100}} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%+v) accepted", bad)
		}
	}
}

// TestTransitions walks a disk from roomy to full and back, checking recording, ballast and
// alert at each step.
func TestTransitions(t *testing.T) {
	var changes []Status
	g, d := newFake(t, Config{MinFreeBytes: 64 * mb, MinFreePercent: 1, BallastBytes: 4 * mb,
		OnChange: func(s Status) { changes = append(changes, s) }})
	ctx := context.Background()
	for i, step := range []struct {
		free          uint64 // without the ballast
		notify        error
		wantRecording bool
		wantBallast   bool
		wantAlert     string
	}{
		{free: 900 * mb, wantRecording: true, wantBallast: true},
		{free: 100 * mb, wantRecording: true, wantBallast: true},
		{free: 67 * mb, wantRecording: false, wantBallast: true, wantAlert: "Only 66 MB free"}, // 63 MB with the ballast
		{free: 3 * mb, wantRecording: false, wantBallast: false, wantAlert: "emergency reserve has been released"},
		{free: 67 * mb, wantRecording: false, wantBallast: false, wantAlert: "Only 70 MB free on the data disk (at least 71 MB is needed)"}, // above the floor, under the hysteresis
		{free: 72 * mb, wantRecording: true, wantBallast: true},                                                                             // ballast back: 68 MB, resume needs 68 MB
		{free: 72 * mb, notify: fmt.Errorf("write: %w", syscall.ENOSPC), wantRecording: false, wantBallast: false, wantAlert: "The data disk ran full (75 MB free now): voicemail is not being recorded until the next check"},
		{free: 500 * mb, wantRecording: true, wantBallast: true},
	} {
		d.set(step.free)
		if step.notify != nil {
			g.Notify(step.notify)
			if err := g.CanRecord(); !errors.Is(err, ErrDiskLow) {
				t.Errorf("step %d: CanRecord right after Notify = %v, want ErrDiskLow at once", i, err)
			}
		}
		st := g.Check(ctx)
		if st.Recording != step.wantRecording || st.Ballast != step.wantBallast || !strings.Contains(st.Alert, step.wantAlert) ||
			(step.wantAlert == "") != (st.Alert == "") {
			t.Errorf("step %d (free %d MB): %+v; want recording %v, ballast %v, alert %q", i, step.free/mb, st,
				step.wantRecording, step.wantBallast, step.wantAlert)
		}
		err := g.CanRecord()
		if (err == nil) != step.wantRecording || (err != nil && (err.Error() != st.Alert || !errors.Is(err, ErrDiskLow))) {
			t.Errorf("step %d: CanRecord = %v with status %+v", i, err, st)
		}
		if st != g.Status() {
			t.Errorf("step %d: Status() = %+v, Check returned %+v", i, g.Status(), st)
		}
		fi, err := os.Stat(filepath.Join(g.cfg.Dir, BallastName))
		if step.wantBallast && (err != nil || fi.Size() != 4*mb) {
			t.Errorf("step %d: ballast file: %v %v", i, fi, err)
		}
	}
	if len(changes) < 5 {
		t.Errorf("OnChange called %d times: %+v", len(changes), changes)
	}
}

func TestReadOnlyAndUnknown(t *testing.T) {
	g, d := newFake(t, Config{})
	ctx := context.Background()
	d.readOnly = true
	st := g.Check(ctx)
	if st.Recording || !st.ReadOnly || !strings.Contains(st.Alert, "read-only") || !errors.Is(g.CanRecord(), ErrReadOnly) {
		t.Errorf("read-only: %+v, CanRecord %v", st, g.CanRecord())
	}
	if st.Ballast {
		t.Error("wrote a ballast on a read-only disk")
	}
	d.readOnly = false
	if st := g.Check(ctx); !st.Recording || st.Alert != "" {
		t.Errorf("writable again: %+v", st)
	}
	d.err = errors.New("statfs: no such device")
	if st := g.Check(ctx); !st.Recording || !strings.Contains(st.Alert, "Cannot measure") {
		t.Errorf("statfs fails: %+v; want recording kept and an alert", st)
	}
	g.Notify(fmt.Errorf("wrap: %w", syscall.EROFS))
	if !errors.Is(g.CanRecord(), ErrReadOnly) {
		t.Errorf("Notify(EROFS): CanRecord = %v", g.CanRecord())
	}
	g.Notify(errors.New("some other error"))
	if !errors.Is(g.CanRecord(), ErrReadOnly) {
		t.Errorf("an unrelated error changed CanRecord to %v", g.CanRecord())
	}
}

// TestRefusedWritesAreReadOnly: a file system mounted writable that refuses a write with EROFS
// (ext4's "emergency_ro" after an I/O error) counts as read-only; other write errors do not.
func TestRefusedWritesAreReadOnly(t *testing.T) {
	g, _ := newFake(t, Config{})
	ctx := context.Background()
	var probeErr error
	g.probe = func(string) error { return probeErr }
	probeErr = &os.PathError{Op: "open", Path: "diskguard.probe", Err: syscall.EROFS}
	if st := g.Check(ctx); st.Recording || !st.ReadOnly || !errors.Is(g.CanRecord(), ErrReadOnly) {
		t.Errorf("writes refused: %+v", st)
	}
	probeErr = &os.PathError{Op: "open", Path: "diskguard.probe", Err: syscall.EACCES}
	if st := g.Check(ctx); !st.Recording || st.ReadOnly {
		t.Errorf("a write refused for another reason: %+v", st)
	}
	probeErr = nil
	if st := g.Check(ctx); !st.Recording || st.ReadOnly {
		t.Errorf("writes taken: %+v", st)
	}
	// The real probe leaves nothing behind.
	if err := probeWrite(g.cfg.Dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(g.cfg.Dir, probeName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the probe file is left: %v", err)
	}
}

// TestReclaim: under the floor the guard asks retention for space before it stops recording.
func TestReclaim(t *testing.T) {
	var asked []int64
	var d *fakeDisk
	g, d0 := newFake(t, Config{MinFreeBytes: 64 * mb, MinFreePercent: 1, BallastBytes: -1,
		Reclaim: func(ctx context.Context, need int64) (int64, error) {
			asked = append(asked, need)
			d.free += uint64(need)
			return need, nil
		}})
	d = d0
	d.set(60 * mb)
	st := g.Check(context.Background())
	if len(asked) != 1 || asked[0] != 4*mb {
		t.Errorf("Reclaim asked for %v, want 4 MB once", asked)
	}
	if !st.Recording || st.Free != 64*mb || st.Ballast {
		t.Errorf("after reclaim: %+v", st)
	}
}

func TestRunStops(t *testing.T) {
	g, d := newFake(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- g.Run(ctx) }()
	d.set(10 * mb)
	g.Notify(syscall.ENOSPC) // wakes Run
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if st := g.Check(context.Background()); st.Recording {
		t.Errorf("10 MB free: %+v", st)
	}
}

func TestCanRecordAllocatesNothing(t *testing.T) {
	g, d := newFake(t, Config{})
	for _, free := range []uint64{900 * mb, 10 * mb} {
		d.set(free)
		g.Check(context.Background())
		if n := testing.AllocsPerRun(100, func() { _ = g.CanRecord() }); n != 0 {
			t.Errorf("CanRecord with %d MB free: %v allocs", free/mb, n)
		}
	}
}

func TestHuman(t *testing.T) {
	for n, want := range map[uint64]string{12: "12 bytes", 12_345: "12 kB", 64 << 20: "67 MB", 1_500_000_000: "1.5 GB"} {
		if got := human(n); got != want {
			t.Errorf("human(%d) = %q, want %q", n, got, want)
		}
	}
}

func BenchmarkCanRecord(b *testing.B) {
	g, err := New(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = g.CanRecord()
	}
}
