package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"time"
)

// migration is one step of the schema. SQL runs first, then Func, in the same transaction.
type migration struct {
	Name string
	SQL  string
	Func func(ctx context.Context, tx *sql.Tx) error
	// ForeignKeysOff runs the step with foreign keys off (a table rebuild) and checks them
	// before it commits.
	ForeignKeysOff bool
}

// migrations is the schema, in order. PRAGMA user_version holds how many have been applied.
// Add new steps at the end; never edit or reorder the ones that shipped.
var migrations = []migration{
	{Name: "calls and voicemail", SQL: `
CREATE TABLE calls (
	id          INTEGER PRIMARY KEY,
	line_id     TEXT    NOT NULL,
	number      TEXT    NOT NULL,
	raw_number  TEXT    NOT NULL,
	started_at  INTEGER NOT NULL,
	answered_at INTEGER,
	ended_at    INTEGER,
	menu_path   TEXT    NOT NULL DEFAULT '',
	outcome     TEXT    NOT NULL DEFAULT ''
		CHECK (outcome IN ('', 'voicemail', 'abandoned', 'missed', 'completed', 'failed')),
	status      TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'done'))
);
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_line ON calls (line_id, id);
CREATE INDEX calls_number ON calls (number, id);
CREATE INDEX calls_open ON calls (id) WHERE outcome = '';

CREATE TABLE voicemails (
	id          INTEGER PRIMARY KEY,
	call_id     INTEGER NOT NULL REFERENCES calls (id),
	file        TEXT    NOT NULL UNIQUE,
	created_at  INTEGER NOT NULL,
	duration_ms INTEGER NOT NULL DEFAULT 0,
	complete    INTEGER NOT NULL DEFAULT 0,
	handled_at  INTEGER,
	handled_by  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX voicemails_call ON voicemails (call_id);
CREATE INDEX voicemails_unhandled ON voicemails (id) WHERE handled_at IS NULL;

CREATE TABLE settings (
	key        TEXT PRIMARY KEY,
	value      TEXT    NOT NULL,
	updated_at INTEGER NOT NULL
);
`},
	{Name: "users, sessions, setup code, audit log", SQL: `
CREATE TABLE users (
	name       TEXT PRIMARY KEY,
	role       TEXT    NOT NULL CHECK (role IN ('owner', 'operator')),
	password   TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);

CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,
	user_name  TEXT    NOT NULL REFERENCES users (name) ON DELETE CASCADE ON UPDATE CASCADE,
	csrf       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX sessions_user ON sessions (user_name);

CREATE TABLE setup_code (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	code       TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE audit (
	id     INTEGER PRIMARY KEY,
	at     INTEGER NOT NULL,
	user   TEXT    NOT NULL,
	action TEXT    NOT NULL,
	detail TEXT    NOT NULL
);
`},
	{Name: "sliding session lifetime", SQL: `
ALTER TABLE sessions ADD COLUMN ttl_ms INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET ttl_ms = max(expires_at - created_at, 0);
`},
	{Name: "sms", SQL: `
CREATE TABLE sms (
	id            INTEGER PRIMARY KEY,
	line_id       TEXT    NOT NULL,
	direction     TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
	number        TEXT    NOT NULL,
	raw_number    TEXT    NOT NULL,
	text          TEXT    NOT NULL,
	parts         INTEGER NOT NULL DEFAULT 1,
	missing_parts INTEGER NOT NULL DEFAULT 0,
	sent_at       INTEGER,
	received_at   INTEGER NOT NULL,
	handled_at    INTEGER,
	handled_by    TEXT    NOT NULL DEFAULT '',
	status        TEXT    NOT NULL DEFAULT ''
		CHECK (status IN ('', 'queued', 'sent', 'failed', 'delivered')),
	refs          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX sms_line ON sms (line_id, id);
CREATE INDEX sms_dup ON sms (line_id, raw_number, sent_at) WHERE direction = 'in';
CREATE INDEX sms_unhandled ON sms (id) WHERE handled_at IS NULL AND direction = 'in';
`},
	// SQLite cannot change a CHECK: the calls table is rebuilt (foreign keys off, as the SQLite
	// manual's twelve steps ask), keeping every row and id.
	{Name: "flows, operators, callbacks, alerts, call details", ForeignKeysOff: true, SQL: `
CREATE TABLE calls_new (
	id            INTEGER PRIMARY KEY,
	line_id       TEXT    NOT NULL,
	number        TEXT    NOT NULL,
	raw_number    TEXT    NOT NULL,
	started_at    INTEGER NOT NULL,
	answered_at   INTEGER,
	ended_at      INTEGER,
	menu_path     TEXT    NOT NULL DEFAULT '',
	outcome       TEXT    NOT NULL DEFAULT ''
		CHECK (outcome IN ('', 'answered', 'voicemail', 'callback', 'abandoned', 'missed', 'completed', 'failed')),
	status        TEXT    NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'in_progress', 'done')),
	flow_version  INTEGER NOT NULL DEFAULT 0,
	digits        TEXT    NOT NULL DEFAULT '',
	nodes         TEXT    NOT NULL DEFAULT '',
	language      TEXT    NOT NULL DEFAULT '',
	queue_wait_ms INTEGER NOT NULL DEFAULT 0,
	answered_by   TEXT    NOT NULL DEFAULT '',
	talk_ms       INTEGER NOT NULL DEFAULT 0,
	survey        INTEGER CHECK (survey BETWEEN 1 AND 5),
	recording     TEXT    NOT NULL DEFAULT '',
	sms_sent      INTEGER NOT NULL DEFAULT 0,
	end_reason    TEXT    NOT NULL DEFAULT '',
	note          TEXT    NOT NULL DEFAULT ''
);
INSERT INTO calls_new (id, line_id, number, raw_number, started_at, answered_at, ended_at, menu_path, outcome, status)
	SELECT id, line_id, number, raw_number, started_at, answered_at, ended_at, menu_path, outcome, status FROM calls;
DROP TABLE calls;
ALTER TABLE calls_new RENAME TO calls;
CREATE INDEX calls_started ON calls (started_at);
CREATE INDEX calls_line ON calls (line_id, id);
CREATE INDEX calls_number ON calls (number, id);
CREATE INDEX calls_open ON calls (id) WHERE outcome = '';

CREATE TABLE flows (
	version    INTEGER PRIMARY KEY,
	json       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	created_by TEXT    NOT NULL DEFAULT '',
	comment    TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE operators (
	id             INTEGER PRIMARY KEY,
	name           TEXT    NOT NULL UNIQUE,
	sip_user       TEXT    UNIQUE,
	sip_password   TEXT    NOT NULL DEFAULT '',
	mobile         TEXT    NOT NULL DEFAULT '',
	available      INTEGER NOT NULL DEFAULT 1,
	hours          TEXT    NOT NULL DEFAULT '',
	record         INTEGER NOT NULL DEFAULT 0,
	last_called_at INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL
);

CREATE TABLE callbacks (
	id              INTEGER PRIMARY KEY,
	call_id         INTEGER REFERENCES calls (id),
	number          TEXT    NOT NULL,
	created_at      INTEGER NOT NULL,
	status          TEXT    NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'failed')),
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_attempt_at INTEGER,
	outcome         TEXT    NOT NULL DEFAULT '',
	handled_by      TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX callbacks_open ON callbacks (id) WHERE status = 'open';

CREATE TABLE alerts (
	id         INTEGER PRIMARY KEY,
	channel    TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	body       TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	attempts   INTEGER NOT NULL DEFAULT 0,
	next_at    INTEGER NOT NULL,
	sent_at    INTEGER,
	last_error TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX alerts_due ON alerts (next_at) WHERE sent_at IS NULL;

CREATE TABLE auto_replies (
	number TEXT NOT NULL,
	day    TEXT NOT NULL,
	PRIMARY KEY (number, day)
);
`},
	// The admin pages stay fast with a million calls: indexes for the calls in progress of a
	// line, the log's status and outcome filters, and summaries for the statistics and the
	// number search (see summary.go).
	{Name: "indexes and summaries for the admin pages", SQL: `
CREATE INDEX calls_open_line ON calls (line_id, id) WHERE outcome = '';
CREATE INDEX calls_status ON calls (status, id);
CREATE INDEX calls_outcome ON calls (outcome, id);
` + summarySchema()},
}

// SchemaVersion is the user_version of a database after Open.
func SchemaVersion() int { return len(migrations) }

// migrate brings the schema up to date, backing up an existing database first.
func (s *Store) migrate(ctx context.Context) error {
	var version int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("store: read schema version: %w", err)
	}
	latest := len(s.opts.migrations)
	switch {
	case version > latest:
		return fmt.Errorf("store: database schema v%d is newer than this program (v%d); install the newer hotline or restore a backup", version, latest)
	case version > 0 && version < latest:
		if _, err := s.Backup(ctx); err != nil {
			return fmt.Errorf("store: backup before migrating v%d to v%d: %w", version, latest, err)
		}
	case version > 0:
		if _, err := s.BackupIfDue(ctx); err != nil {
			// A missing daily backup is no reason to stop answering the phone.
			s.log.Warn("daily backup failed", "err", err)
		}
	}
	for i := version; i < latest; i++ {
		m := s.opts.migrations[i]
		run := s.inTx
		if m.ForeignKeysOff {
			run = s.inTxNoForeignKeys
		}
		err := run(ctx, func(tx *sql.Tx) error {
			if m.SQL != "" {
				if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
					return err
				}
			}
			if m.Func != nil {
				if err := m.Func(ctx, tx); err != nil {
					return err
				}
			}
			if m.ForeignKeysOff {
				var table string
				err := tx.QueryRowContext(ctx, "PRAGMA foreign_key_check").Scan(&table)
				if err == nil {
					return fmt.Errorf("a row of %s points at a row that is gone", table)
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return err
				}
			}
			// PRAGMA takes no parameters; i+1 is our own integer.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return fmt.Errorf("store: migration %d (%s): %w", i+1, m.Name, err)
		}
		s.log.Info("schema migrated", "version", i+1, "step", m.Name)
	}
	return nil
}

var backupName = regexp.MustCompile(`^hotline-(\d{8}-\d{6})\.db$`)

const backupTimeLayout = "20060102-150405"

// Backup writes a consistent copy of the database to DIR/backups/hotline-YYYYMMDD-HHMMSS.db
// (UTC) with VACUUM INTO, removes all but the newest backups, and returns the new file's path.
func (s *Store) Backup(ctx context.Context) (string, error) {
	dir := filepath.Join(s.dir, BackupDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return "", fmt.Errorf("store: backup: %w", err)
	}
	name := "hotline-" + s.now().Format(backupTimeLayout) + ".db"
	final := filepath.Join(dir, name)
	tmp := final + ".tmp"
	os.Remove(tmp) // a leftover from a backup cut short
	if _, err := s.db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("store: backup to %s: %w", tmp, err)
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("store: backup: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("store: backup: %w", err)
	}
	if err := s.rotateBackups(); err != nil {
		return final, err
	}
	s.log.Info("database backed up", "file", final)
	return final, nil
}

// BackupIfDue makes a backup when the newest one is a day old or older (or there is none), and
// returns its path, or "" when none was due. The daemon may call it from a daily timer.
func (s *Store) BackupIfDue(ctx context.Context) (string, error) {
	names, err := s.backups()
	if err != nil {
		return "", err
	}
	if len(names) > 0 {
		m := backupName.FindStringSubmatch(names[len(names)-1])
		last, err := time.Parse(backupTimeLayout, m[1])
		if err == nil && s.now().Sub(last) < 24*time.Hour {
			return "", nil
		}
	}
	return s.Backup(ctx)
}

// backups lists the backup file names, oldest first.
func (s *Store) backups() ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(s.dir, BackupDir))
	if err != nil {
		return nil, fmt.Errorf("store: list backups: %w", err)
	}
	var names []string
	for _, e := range entries {
		// Links: a working copy's links to the backups on a read-only card (WorkingCopyMark).
		if (e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0) && backupName.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names) // the time stamp sorts as text
	return names, nil
}

func (s *Store) rotateBackups() error {
	names, err := s.backups()
	if err != nil {
		return err
	}
	keep := max(s.opts.keepBackups, 1)
	for len(names) > keep {
		if err := os.Remove(filepath.Join(s.dir, BackupDir, names[0])); err != nil {
			return fmt.Errorf("store: rotate backups: %w", err)
		}
		names = names[1:]
	}
	return nil
}
