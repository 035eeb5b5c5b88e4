package diskguard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults of [Config].
const (
	DefaultMinFreeBytes   = 64 << 20
	DefaultMinFreePercent = 2.0
	// DefaultBallastBytes is more than SQLite's write-ahead log grows to between two automatic
	// checkpoints (1000 pages of 4 kB), so that the call log can go on after the disk filled.
	DefaultBallastBytes = 8 << 20
	DefaultInterval     = 10 * time.Second
	// BallastName is the ballast file inside the data folder.
	BallastName = "diskguard.ballast"
)

// Errors [Guard.CanRecord] returns; test with errors.Is.
var (
	// ErrDiskLow means free space is under the floor: recording is off until space returns.
	ErrDiskLow = errors.New("diskguard: too little free space to record")
	// ErrReadOnly means the data folder's file system is mounted read-only.
	ErrReadOnly = errors.New("diskguard: the data disk is read-only")
)

// Config configures a [Guard]. Zero fields take the defaults.
type Config struct {
	Dir string // the data folder (required)

	// The floor is the larger of MinFreeBytes and MinFreePercent of the file system.
	MinFreeBytes   uint64
	MinFreePercent float64
	// BallastBytes is the size of the ballast file; negative means no ballast.
	BallastBytes int64
	// Interval is how often Run measures.
	Interval time.Duration

	// Reclaim, if set, is asked to free at least need bytes (retention: the oldest recordings
	// first) when free space falls under the floor, before recording is turned off. It returns
	// how much it freed.
	Reclaim func(ctx context.Context, need int64) (freed int64, err error)
	// OnChange, if set, is called after a check that changed Recording or Alert, with the new
	// status (on the goroutine that checked, never with a lock held).
	OnChange func(Status)

	Logger *slog.Logger // nil discards
}

// Status is what the guard last saw.
type Status struct {
	Free, Total uint64 // bytes free for the box and size of the file system
	Floor       uint64 // free space under which recording stops
	Recording   bool   // whether a recording may start or go on
	ReadOnly    bool   // the file system is mounted read-only
	// WorkingCopy: the data disk turned read-only and the box runs from a copy in memory (set
	// by the daemon; the guard watches the copy's file system).
	WorkingCopy bool
	Ballast     bool   // the ballast file is in place
	Alert       string // for the owner, in plain words; "" when all is well
	Checked     time.Time
}

// usage is one measurement of the file system.
type usage struct {
	Free, Total uint64
	ReadOnly    bool
}

// blocked is the error CanRecord returns while recording is off; a pointer, so returning it
// allocates nothing.
type blocked struct {
	msg  string
	kind error
}

func (b *blocked) Error() string { return b.msg }
func (b *blocked) Unwrap() error { return b.kind }

// Guard watches the free space of one data folder. Its methods are safe for concurrent use.
type Guard struct {
	cfg     Config
	ballast string
	log     *slog.Logger
	statfs  func(dir string) (usage, error)
	probe   func(dir string) error // tries a write in dir (tests replace it)

	block atomic.Pointer[blocked] // nil: recording allowed
	kick  chan struct{}           // Notify wakes Run
	full  atomic.Bool             // a write failed with ENOSPC since the last check
	freed atomic.Bool             // Notify deleted the ballast since the last check

	mu       sync.Mutex // serialises checks
	st       Status
	released bool // the ballast was deleted because the disk was full
}

// New returns a guard for cfg.Dir. It measures nothing yet: call Check or Run.
func New(cfg Config) (*Guard, error) {
	if cfg.Dir == "" {
		return nil, errors.New("diskguard: no data folder")
	}
	if cfg.MinFreeBytes == 0 {
		cfg.MinFreeBytes = DefaultMinFreeBytes
	}
	if cfg.MinFreePercent == 0 {
		cfg.MinFreePercent = DefaultMinFreePercent
	}
	if cfg.MinFreePercent < 0 || cfg.MinFreePercent >= 100 {
		return nil, fmt.Errorf("diskguard: free space floor of %g %% makes no sense", cfg.MinFreePercent)
	}
	if cfg.BallastBytes == 0 {
		cfg.BallastBytes = DefaultBallastBytes
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	g := &Guard{
		cfg:     cfg,
		ballast: filepath.Join(cfg.Dir, BallastName),
		log:     cfg.Logger,
		statfs:  statfs,
		probe:   probeWrite,
		kick:    make(chan struct{}, 1),
		st:      Status{Recording: true},
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	return g, nil
}

// CanRecord reports whether a recording may start or go on: nil, or an error wrapping
// ErrDiskLow or ErrReadOnly whose message is the alert. It is cheap and allocates nothing, so
// the switchboard may ask it for every 20 ms frame.
func (g *Guard) CanRecord() error {
	if b := g.block.Load(); b != nil {
		return b
	}
	return nil
}

// Status returns what the last check saw.
func (g *Guard) Status() Status {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.st
}

// Notify tells the guard about a failed write (of a recording, the database, anything in the
// data folder). A full or read-only disk stops recording at once and wakes Run to measure; a
// full one also has its ballast deleted at once, so that the write that follows (the call
// log's) finds room. Other errors are ignored. It never waits for Run.
func (g *Guard) Notify(err error) {
	switch {
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EDQUOT):
		g.full.Store(true)
		g.block.Store(&blocked{msg: "The data disk is full: voicemail is not being recorded.", kind: ErrDiskLow})
		if err := os.Remove(g.ballast); err == nil {
			g.freed.Store(true)
			g.log.Warn("data disk full: released the ballast so the call log keeps working", "bytes", g.cfg.BallastBytes)
		}
	case errors.Is(err, syscall.EROFS):
		g.block.Store(&blocked{msg: alertReadOnly, kind: ErrReadOnly})
	default:
		return
	}
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// Run checks at once, then every Interval and whenever Notify reports a full disk, until ctx
// ends. It returns nil when ctx ends.
func (g *Guard) Run(ctx context.Context) error {
	t := time.NewTicker(g.cfg.Interval)
	defer t.Stop()
	for {
		g.Check(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-g.kick:
		}
	}
}

const alertReadOnly = "The data disk has become read-only (the SD card may be failing): " +
	"calls are still answered, but nothing is recorded or logged. The box starts again by itself to work from a copy in memory; replace the card."

// Check measures the disk now, releases or restores the ballast, asks Reclaim for space when
// under the floor, and decides whether recording may go on. It returns the new status.
func (g *Guard) Check(ctx context.Context) Status {
	g.mu.Lock()
	old := g.st
	st := g.check(ctx)
	g.st = st
	g.mu.Unlock()
	if st.Recording != old.Recording || st.Alert != old.Alert {
		if st.Alert != "" {
			g.log.Warn("data disk", "alert", st.Alert, "free", st.Free, "floor", st.Floor, "read_only", st.ReadOnly)
		} else {
			g.log.Info("data disk has room again", "free", st.Free, "floor", st.Floor)
		}
		if g.cfg.OnChange != nil {
			g.cfg.OnChange(st)
		}
	}
	return st
}

func (g *Guard) check(ctx context.Context) Status {
	st := Status{Checked: time.Now(), Recording: g.st.Recording}
	u, err := g.statfs(g.cfg.Dir)
	if err != nil {
		// Unknown: keep the last decision rather than guess, and say so.
		st.Alert = fmt.Sprintf("Cannot measure the free space of the data disk (%v).", err)
		st.Ballast = g.hasBallast()
		return st
	}
	if !u.ReadOnly && errors.Is(g.probe(g.cfg.Dir), syscall.EROFS) {
		// Mounted writable, but writes are refused: ext4 after an I/O error (errors=remount-ro)
		// may say so only by refusing them (newer kernels: "emergency_ro").
		u.ReadOnly = true
	}
	floor := g.floor(u.Total)
	ballast := max(g.cfg.BallastBytes, 0)
	full := g.full.Swap(false)
	if g.freed.Swap(false) {
		g.released = true
	}

	if !u.ReadOnly && u.Free < floor && g.cfg.Reclaim != nil {
		need := int64(floor-u.Free) + ballast
		freed, err := g.cfg.Reclaim(ctx, need)
		if err != nil {
			g.log.Error("freeing space: removing old recordings", "err", err)
		}
		if freed > 0 {
			g.log.Warn("removed old recordings to free space", "bytes", freed)
			if nu, err := g.statfs(g.cfg.Dir); err == nil {
				u = nu
			}
		}
	}

	has := g.hasBallast()
	switch {
	case u.ReadOnly:
	case has && (full || u.Free < uint64(ballast)):
		if err := os.Remove(g.ballast); err != nil && !errors.Is(err, os.ErrNotExist) {
			g.log.Error("cannot release the disk ballast", "err", err)
			break
		}
		g.log.Warn("data disk full: released the ballast so the call log keeps working", "bytes", ballast)
		has, g.released = false, true
		if nu, err := g.statfs(g.cfg.Dir); err == nil {
			u = nu
		}
	case !has && ballast > 0 && !full && u.Free >= max(floor, uint64(ballast))+uint64(ballast):
		// Room for the floor and the ballast, and after writing it more free than the ballast:
		// else (a floor under the ballast's size) the next check would delete it again. Not
		// right after a write failed for want of space (Notify deleted it then).
		if err := writeBallast(g.ballast, ballast); err != nil {
			g.log.Warn("cannot write the disk ballast", "err", err)
			break
		}
		has, g.released = true, false
		if nu, err := g.statfs(g.cfg.Dir); err == nil {
			u = nu
		}
	}

	st.Free, st.Total, st.Floor, st.ReadOnly, st.Ballast = u.Free, u.Total, floor, u.ReadOnly, has
	// Hysteresis: once off, recording comes back only with some room above the floor, so that
	// the ballast coming back or one more message does not switch it off again at once.
	resume := floor + max(uint64(ballast), floor/16)
	switch {
	case u.ReadOnly:
		st.Recording = false
		st.Alert = alertReadOnly
		g.block.Store(&blocked{msg: st.Alert, kind: ErrReadOnly})
		return st
	case full || u.Free < floor || (!g.st.Recording && u.Free < resume):
		st.Recording = false
		need := resume // what it takes to come back on
		if u.Free >= need {
			// Room again, just after a write failed for want of it (retention freed some, or
			// whatever filled the disk let go): the next check turns recording back on.
			st.Alert = fmt.Sprintf("The data disk ran full (%s free now): voicemail is not being recorded until the next check, in a few seconds.", human(u.Free))
		} else {
			st.Alert = fmt.Sprintf("Only %s free on the data disk (at least %s is needed): voicemail is not being recorded. "+
				"Delete old voicemail, shorten how long recordings are kept, or fit a bigger card.", human(u.Free), human(need))
		}
		if g.released {
			st.Alert += " The emergency reserve has been released so that calls are still logged."
		}
		g.block.Store(&blocked{msg: st.Alert, kind: ErrDiskLow})
		return st
	}
	st.Recording = true
	g.block.Store(nil)
	return st
}

// floor is the free space under which recording stops, for a file system of total bytes.
func (g *Guard) floor(total uint64) uint64 {
	return max(g.cfg.MinFreeBytes, uint64(float64(total)*g.cfg.MinFreePercent/100))
}

// probeName is the file probeWrite makes and removes in the data folder.
const probeName = "diskguard.probe"

// probeWrite makes and removes an empty file in dir: it fails with EROFS on a file system that
// refuses writes. What it costs the card is a few metadata blocks in the journal's next commit.
func probeWrite(dir string) error {
	p := filepath.Join(dir, probeName)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(p)
}

func (g *Guard) hasBallast() bool {
	fi, err := os.Stat(g.ballast)
	return err == nil && fi.Mode().IsRegular()
}

// writeBallast writes n bytes of zeros (real blocks, not a sparse file) to path and syncs it.
// A ballast that does not fit is removed again.
func writeBallast(path string, n int64) (err error) {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("diskguard: ballast: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	buf := make([]byte, 64<<10)
	if _, err := io.CopyBuffer(f, io.LimitReader(zeros{}, n), buf); err != nil {
		return fmt.Errorf("diskguard: ballast: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("diskguard: ballast: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("diskguard: ballast: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("diskguard: ballast: %w", err)
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// human writes a byte count the way people read it on a phone: "12 MB", "1.5 GB".
func human(n uint64) string {
	const k = 1000
	switch {
	case n >= k*k*k:
		return fmt.Sprintf("%.1f GB", float64(n)/(k*k*k))
	case n >= k*k:
		return fmt.Sprintf("%d MB", n/(k*k))
	case n >= k:
		return fmt.Sprintf("%d kB", n/k)
	}
	return fmt.Sprintf("%d bytes", n)
}
