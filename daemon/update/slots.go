package update

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"hotline/internal/atomicfile"
)

// Names inside the data folder.
const (
	Dir         = "update"  // DATA/update: slots, state, the pending update
	BackupDir   = "backups" // DATA/backups: the backup made before each update
	stateName   = "state.json"
	pendingName = "pending.bin" // a verified update waiting for the owner's yes
	BackupsKept = 3             // backups made before updates that are kept
)

// The slots.
const (
	SlotA = "a"
	SlotB = "b"
)

// Outcomes of an update, in [Result].
const (
	OutcomeTrial      = "trial"       // installed; the new version runs on trial
	OutcomeOK         = "ok"          // the new version reported healthy and is the active one
	OutcomeRolledBack = "rolled_back" // the new version did not come up; the box went back
	OutcomeDropped    = "dropped"     // an active slot was left for the built-in binary
)

// ErrTrialRunning refuses an update while the last one has not yet proved itself.
var ErrTrialRunning = errors.New("the last update is still on trial; wait until it has started")

// ErrNoPending means there is no verified update waiting.
var ErrNoPending = errors.New("no verified update is waiting")

// Result is what the last update did, for the admin.
type Result struct {
	Time    time.Time `json:"time"`
	Outcome string    `json:"outcome"`           // Outcome*
	Version string    `json:"version"`           // the update's version
	From    string    `json:"from,omitempty"`    // the version before it
	BackTo  string    `json:"back_to,omitempty"` // the version the box went back to (rolled_back, dropped)
	Reason  string    `json:"reason,omitempty"`
	Backup  string    `json:"backup,omitempty"` // the backup made before it, a file in DATA/backups
	// Restored: after a rollback, the backup was put back because the update had already
	// changed the database beyond what the version the box went back to reads.
	Restored bool `json:"restored,omitempty"`
}

// state is DATA/update/state.json.
type state struct {
	Active      string    `json:"active,omitempty"` // SlotA, SlotB, or "": the built-in binary
	Trial       string    `json:"trial,omitempty"`  // the slot on trial, or ""
	TrialStarts int       `json:"trial_starts,omitempty"`
	TrialSince  time.Time `json:"trial_since,omitzero"`
	TrialFrom   string    `json:"trial_from,omitempty"` // the version that installed it
	Last        *Result   `json:"last,omitempty"`
}

func slotPath(dataDir, slot string) string {
	return filepath.Join(dataDir, Dir, "slot-"+slot)
}

func validSlot(s string) bool { return s == SlotA || s == SlotB }

// readState reads the state; a box that was never updated has the zero state.
func readState(dataDir string) (state, error) {
	var st state
	b, err := os.ReadFile(filepath.Join(dataDir, Dir, stateName))
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("update: %w", err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return state{}, fmt.Errorf("update: %s: %w", stateName, err)
	}
	if st.Active != "" && !validSlot(st.Active) || st.Trial != "" && !validSlot(st.Trial) {
		return state{}, fmt.Errorf("update: %s names an unknown slot", stateName)
	}
	return st, nil
}

func writeState(dataDir string, st state) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return writeFileAtomic(filepath.Join(dataDir, Dir, stateName), append(b, '\n'), 0o640)
}

// writeFileAtomic writes b whole or not at all (see atomicfile.Write).
func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	if err := atomicfile.Write(path, b, mode); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

func syncDir(dir string) error {
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("update: %w", err)
	}
	return nil
}

// readManifest reads the manifest kept beside a slot or the pending update.
func readManifest(binPath string) (Manifest, error) {
	var m Manifest
	b, err := os.ReadFile(binPath + ".json")
	if err != nil {
		return m, fmt.Errorf("update: %w", err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Errorf("update: %s.json: %w", binPath, err)
	}
	return m, nil
}

// checkFile checks that the program at path is the one m describes.
func checkFile(path string, m Manifest) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("update: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return fmt.Errorf("update: read %s: %w", path, err)
	}
	if n != m.Size || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		return fmt.Errorf("%w: %s", ErrHash, filepath.Base(path))
	}
	return nil
}

// Receive reads and checks the update file r (see [Verify]) and keeps it in DATA/update as the
// pending update, replacing any other, until [Install] or [CancelPending]. Nothing the box
// runs changes.
func Receive(ctx context.Context, dataDir string, r io.Reader, opts Options) (Manifest, error) {
	dir := filepath.Join(dataDir, Dir)
	removeStale(dir)
	m, tmp, err := receive(ctx, dir, r, opts)
	if err != nil {
		if tmp != "" {
			os.Remove(tmp)
		}
		return m, err
	}
	if err := CancelPending(dataDir); err != nil {
		os.Remove(tmp)
		return m, err
	}
	b, err := json.Marshal(m)
	if err == nil {
		err = writeFileAtomic(filepath.Join(dir, pendingName+".json"), b, 0o640)
	}
	if err == nil {
		err = os.Chmod(tmp, 0o750)
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, pendingName))
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		os.Remove(tmp)
		_ = CancelPending(dataDir)
		return m, fmt.Errorf("update: keep the update: %w", err)
	}
	return m, nil
}

// removeStale deletes temporary files that an upload cut short left behind an hour ago.
func removeStale(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".tmp") || !strings.HasPrefix(e.Name(), "incoming-") {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > time.Hour {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// Pending returns the manifest of the verified update waiting for the owner's yes.
func Pending(dataDir string) (Manifest, bool) {
	p := filepath.Join(dataDir, Dir, pendingName)
	if _, err := os.Stat(p); err != nil {
		return Manifest{}, false
	}
	m, err := readManifest(p)
	return m, err == nil
}

// CancelPending drops the pending update, if any.
func CancelPending(dataDir string) error {
	p := filepath.Join(dataDir, Dir, pendingName)
	for _, name := range []string{p, p + ".json"} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("update: %w", err)
		}
	}
	return nil
}

// Install puts the pending update into the free slot and sets it on trial: the next start
// of `hotline run` runs it (see [Launch]). running is the version that runs now, for the
// record; backup names the backup made before (see [SaveBackup]), or "".
func Install(dataDir, running, backup string) (Manifest, error) {
	st, err := readState(dataDir)
	if err != nil {
		return Manifest{}, err
	}
	if st.Trial != "" {
		return Manifest{}, ErrTrialRunning
	}
	pending := filepath.Join(dataDir, Dir, pendingName)
	m, err := readManifest(pending)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrNoPending, err)
	}
	if err := checkFile(pending, m); err != nil {
		_ = CancelPending(dataDir)
		return m, err
	}
	slot := SlotA
	if st.Active == SlotA {
		slot = SlotB
	}
	dst := slotPath(dataDir, slot)
	if err := os.Rename(pending+".json", dst+".json"); err != nil {
		return m, fmt.Errorf("update: %w", err)
	}
	if err := os.Rename(pending, dst); err != nil {
		return m, fmt.Errorf("update: %w", err)
	}
	if err := syncDir(filepath.Dir(dst)); err != nil {
		return m, err
	}
	st.Trial, st.TrialStarts, st.TrialSince, st.TrialFrom = slot, 0, time.Now().UTC(), running
	st.Last = &Result{Time: st.TrialSince, Outcome: OutcomeTrial, Version: m.Version, From: running, Backup: backup}
	if err := writeState(dataDir, st); err != nil {
		return m, err
	}
	return m, nil
}

// Status is what the admin shows about updates.
type Status struct {
	Running       string    // the slot this process runs from, or "": the built-in binary
	Active        string    // the slot the box starts, or "": the built-in binary
	ActiveVersion string    // the version in the active slot
	Trial         string    // the slot on trial, or ""
	TrialVersion  string    // its version
	TrialSince    time.Time // when it was installed
	Last          *Result   // the last update, nil if none
	Pending       *Manifest // a verified update waiting for the owner's yes
}

// ReadStatus returns the update status of the box in dataDir as seen from this process.
func ReadStatus(dataDir string) (Status, error) {
	s := Status{Running: RunningSlot()}
	if m, ok := Pending(dataDir); ok {
		s.Pending = &m
	}
	st, err := readState(dataDir)
	if err != nil {
		return s, err
	}
	s.Active, s.Trial, s.TrialSince, s.Last = st.Active, st.Trial, st.TrialSince, st.Last
	if st.Active != "" {
		if m, err := readManifest(slotPath(dataDir, st.Active)); err == nil {
			s.ActiveVersion = m.Version
		}
	}
	if st.Trial != "" {
		if m, err := readManifest(slotPath(dataDir, st.Trial)); err == nil {
			s.TrialVersion = m.Version
		}
	}
	return s, nil
}

// RunningSlot returns the slot this process was started from by [Launch], or "" for the
// built-in binary.
func RunningSlot() string {
	if s := os.Getenv(EnvSlot); validSlot(s) {
		return s
	}
	return ""
}

// OnTrial reports whether this process is an update on trial.
func OnTrial(dataDir string) bool {
	slot := RunningSlot()
	if slot == "" {
		return false
	}
	st, err := readState(dataDir)
	return err == nil && st.Trial == slot
}

// MarkHealthy makes the slot this process runs from the active one when it is on trial; it
// does nothing otherwise.
func MarkHealthy(dataDir string) error {
	slot := RunningSlot()
	if slot == "" {
		return nil
	}
	st, err := readState(dataDir)
	if err != nil || st.Trial != slot {
		return err
	}
	m, err := readManifest(slotPath(dataDir, slot))
	if err != nil {
		return err
	}
	st.Active, st.Trial, st.TrialStarts, st.TrialSince = slot, "", 0, time.Time{}
	res := Result{Time: time.Now().UTC(), Outcome: OutcomeOK, Version: m.Version, From: st.TrialFrom}
	if st.Last != nil && st.Last.Version == m.Version {
		res.Backup = st.Last.Backup
	}
	st.TrialFrom, st.Last = "", &res
	return writeState(dataDir, st)
}

// MarkRestored notes in the last result that its backup was put back (see Result.Restored).
func MarkRestored(dataDir string) error {
	st, err := readState(dataDir)
	if err != nil || st.Last == nil {
		return err
	}
	st.Last.Restored = true
	return writeState(dataDir, st)
}

// TrialPeriod is how long an update on trial must run, its admin answering, before it is
// kept.
const TrialPeriod = 2 * time.Minute

// TrialGiveUp is how long an update on trial may take to answer before it gives up: the
// process then ends (see [ErrNotHealthy]), so that its supervisor starts it again and the
// launcher counts the start. On gokrazy nothing else stops a process that hangs.
const TrialGiveUp = 10 * time.Minute

// ErrNotHealthy is returned by [WatchTrial] when the update on trial did not answer in time.
var ErrNotHealthy = errors.New("update: the new version did not come up healthy in time")

// WatchTrial waits, when this process is an update on trial, until it has run for period and
// healthy then reports true (asked every few seconds), and marks it healthy. It returns at
// once when the process is not on trial, with ctx's error when ctx ends first, and with
// [ErrNotHealthy] when healthy has not said true by giveUp: the caller should then end the
// process with an error.
func WatchTrial(ctx context.Context, dataDir string, period, giveUp time.Duration, healthy func() bool) error {
	if !OnTrial(dataDir) {
		return nil
	}
	deadline := time.Now().Add(max(giveUp, period))
	t := time.NewTimer(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		if healthy() {
			return MarkHealthy(dataDir)
		}
		if !time.Now().Before(deadline) {
			return ErrNotHealthy
		}
		t.Reset(5 * time.Second)
	}
}

// backupPrefix names the backups made before updates in DATA/backups.
const backupPrefix = "hotline-before-update-"

// SaveBackup writes a backup of the box (write is custom.WriteBackup over the store) to
// DATA/backups/hotline-before-update-YYYYMMDD-HHMMSS.tar.gz, keeps the newest [BackupsKept] of
// them, and returns the new file's name.
func SaveBackup(ctx context.Context, dataDir string, write func(context.Context, io.Writer) error) (string, error) {
	dir := filepath.Join(dataDir, BackupDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("update: backup: %w", err)
	}
	name := backupPrefix + time.Now().UTC().Format("20060102-150405") + ".tar.gz"
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return "", fmt.Errorf("update: backup: %w", err)
	}
	err = write(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("update: backup: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return name, fmt.Errorf("update: backup: %w", err)
	}
	var old []string
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasPrefix(e.Name(), backupPrefix) && strings.HasSuffix(e.Name(), ".tar.gz") {
			old = append(old, e.Name())
		}
	}
	slices.Sort(old)
	for len(old) > BackupsKept {
		if err := os.Remove(filepath.Join(dir, old[0])); err != nil {
			return name, fmt.Errorf("update: rotate backups: %w", err)
		}
		old = old[1:]
	}
	return name, nil
}
