package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Errors callers can match with errors.Is.
var (
	// ErrNotFound means the call, voicemail, user or session does not exist (or the session
	// has expired).
	ErrNotFound = errors.New("store: not found")
	// ErrBadLogin means the user name is unknown or the password is wrong; the two are not told
	// apart.
	ErrBadLogin = errors.New("store: wrong user name or password")
	// ErrWeakPassword means the password is shorter than MinPasswordLen characters.
	ErrWeakPassword = errors.New("store: password too short")
	// ErrBadSetupCode means the setup code given does not match the one the box shows.
	ErrBadSetupCode = errors.New("store: wrong setup code")
	// ErrAlreadyClaimed means the box already has an owner, so there is no setup code any more.
	ErrAlreadyClaimed = errors.New("store: the box already has an owner")
	// ErrCallFinished means the call has already ended and cannot be answered or finished again.
	ErrCallFinished = errors.New("store: call already finished")
)

// File and directory names inside the data directory.
const (
	DBName        = "hotline.db"
	VoicemailDir  = "voicemail"
	RecordingDir  = "recordings" // recorded conversations
	BackupDir     = "backups"
	SetupCodeFile = "setup-code.txt"
	lockName      = "hotline.lock"
)

const (
	// KeepBackups is how many backups Open and Backup keep in DIR/backups.
	KeepBackups = 5
	busyTimeout = 10 * time.Second
	// cacheKiB bounds each connection's page cache (PRAGMA cache_size). SQLite's default is
	// 2000 KiB; it also sizes the sorter that VACUUM INTO (the daily backup) and big ORDER BY
	// and GROUP BY queries use before they spill to a temporary file. The allocator under the
	// pure-Go SQLite keeps most of what it once held, so this is the memory a busy day leaves
	// behind: 512 KiB halved it for a year of calls (docs/BENCHMARKS.md), with the admin pages
	// as fast, as the kernel's file cache still holds the database.
	cacheKiB = 512
	// connMaxIdle is how long a connection may stay unused in the pool before it is closed,
	// with its caches (3 MB given back after the busy day above). The next query opens a new
	// one, which costs about 15 ms (BenchmarkQueryOnNewConnection): rare enough after a quiet
	// five minutes.
	connMaxIdle = 5 * time.Minute
)

// Store is the hotline's database. Its methods are safe for concurrent use.
type Store struct {
	db   *sql.DB
	dir  string
	opts options
	log  *slog.Logger
	lock *dirLock

	// wsem lets one writer of this process at a time at the database, in turn. SQLite allows a
	// single writer anyway, and its busy handler polls and can starve a waiting writer while
	// others keep taking the lock; queueing here is fair and cheap. The busy timeout still
	// covers writers in other processes (`hotline passwd`).
	wsem    chan struct{}
	setupMu sync.Mutex // keeps the setup code row and its file in step; taken before wsem

	recoveredCalls, recoveredVoicemail int

	closeOnce sync.Once
	closeErr  error
}

// options are the knobs tests turn; Open uses the defaults.
type options struct {
	argon       argonParams      // cost of new password hashes
	now         func() time.Time // clock for sessions, audit, backups
	keepBackups int
	migrations  []migration
	logger      *slog.Logger
}

func defaultOptions() options {
	return options{
		argon:       defaultArgon(),
		now:         time.Now,
		keepBackups: KeepBackups,
		migrations:  migrations,
	}
}

// Open opens (creating if needed) the database in dir, migrates it to the latest schema,
// backs it up when due, and repairs what a crash left behind. dir is created if it does not
// exist.
func Open(ctx context.Context, dir string) (*Store, error) {
	return openWith(ctx, dir, defaultOptions())
}

func openWith(ctx context.Context, dir string, o options) (_ *Store, err error) {
	if dir == "" {
		return nil, errors.New("store: open: empty data directory")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dir, err)
	}
	if o.logger == nil {
		o.logger = slog.Default().With("subsys", "store")
	}
	if o.now == nil {
		o.now = time.Now
	}
	for _, d := range []string{abs, filepath.Join(abs, VoicemailDir), filepath.Join(abs, BackupDir)} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("store: open: %w", err)
		}
	}

	lock, err := lockDir(ctx, filepath.Join(abs, lockName))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	defer func() {
		if err != nil {
			lock.release()
		}
	}()

	path := filepath.Join(abs, DBName)
	// Create the file ourselves so that it (and the -wal/-shm files SQLite derives from it)
	// is readable by the owner only: it holds password hashes.
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("store: open: %w", err)
	}

	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.SetConnMaxIdleTime(connMaxIdle)
	s := &Store{db: db, dir: abs, opts: o, log: o.logger, lock: lock, wsem: make(chan struct{}, 1)}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	if err := db.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	if lock.exclusive {
		if err := s.recover(ctx); err != nil {
			return nil, err
		}
	}
	if err := lock.share(ctx); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", abs, err)
	}
	return s, nil
}

// dsn builds the driver's data source name for the database file at path.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// FULL: a call record that was committed survives a power cut.
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheKiB))
	// Transactions take the write lock at BEGIN, so two writers never deadlock on an upgrade
	// from a read lock; the busy timeout makes the second one wait instead.
	q.Set("_txlock", "immediate")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// Close closes the database. It is safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closeErr = s.db.Close()
		s.lock.release()
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("store: close: %w", s.closeErr)
		}
	})
	return s.closeErr
}

// Dir is the absolute data directory.
func (s *Store) Dir() string { return s.dir }

// WorkingCopyMark is the file that makes a data folder a working copy of another, read-only
// one (the daemon runs from such a copy when its data disk turns read-only); it holds the
// other folder's absolute path. The copy's voicemail and recordings folders link to the
// files there.
const WorkingCopyMark = ".working-copy-of"

// CopyOf is the read-only data folder this store's folder is a working copy of, or "".
func (s *Store) CopyOf() string {
	b, err := os.ReadFile(filepath.Join(s.dir, WorkingCopyMark))
	if err != nil || !filepath.IsAbs(string(b)) {
		return ""
	}
	return filepath.Clean(string(b))
}

// Recovered reports what Open repaired: calls left in progress that were closed as "failed",
// and voicemail left incomplete that was marked complete.
func (s *Store) Recovered() (calls, voicemail int) {
	return s.recoveredCalls, s.recoveredVoicemail
}

// now is the store's clock, in UTC.
func (s *Store) now() time.Time { return s.opts.now().UTC() }

// fromMS turns a stored Unix-millisecond value back into a UTC time (zero for NULL).
func fromMS(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// clampLimit applies the default and maximum of list limits.
func clampLimit(n int) int {
	switch {
	case n <= 0:
		return 100
	case n > 1000:
		return 1000
	}
	return n
}

// lockWrite waits for this process's turn to write.
func (s *Store) lockWrite(ctx context.Context) error {
	select {
	case s.wsem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) unlockWrite() { <-s.wsem }

// exec runs one writing statement in this process's turn.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if err := s.lockWrite(ctx); err != nil {
		return nil, err
	}
	defer s.unlockWrite()
	return s.db.ExecContext(ctx, query, args...)
}

// writer is the Store's exec as a dbExec.
type writer struct{ s *Store }

func (w writer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return w.s.exec(ctx, query, args...)
}

// inTx runs fn in a transaction that takes the write lock at once, in this process's turn.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// inTxNoForeignKeys is inTx on a connection of its own with foreign keys off, for migrations
// that rebuild a table. PRAGMA foreign_keys does nothing inside a transaction, so it is set
// before BEGIN and set back after, on the same connection.
func (s *Store) inTxNoForeignKeys(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer s.unlockWrite()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
