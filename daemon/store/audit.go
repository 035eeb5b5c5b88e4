package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

const (
	maxActionRunes = 64
	maxDetailRunes = 1024
)

// AuditEntry is one line of the audit log: who did what, when.
type AuditEntry struct {
	At                   time.Time
	User, Action, Detail string
}

// Audit appends an entry to the audit log, stamped now. The strings are stored cleaned (valid
// UTF-8, no control characters) and cut to a sane length.
func (s *Store) Audit(ctx context.Context, user, action, detail string) error {
	return audit(ctx, writer{s}, s.now(), user, action, detail)
}

// dbExec is what *sql.DB and *sql.Tx share for writing.
type dbExec interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func audit(ctx context.Context, db dbExec, at time.Time, user, action, detail string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO audit (at, user, action, detail) VALUES (?, ?, ?, ?)`,
		at.UnixMilli(), cleanText(user, maxNameRunes), cleanText(action, maxActionRunes),
		cleanText(detail, maxDetailRunes))
	if err != nil {
		return fmt.Errorf("store: audit %q: %w", action, err)
	}
	return nil
}

// ListAudit returns the newest entries first; limit defaults to 100 and is at most 1000.
func (s *Store) ListAudit(ctx context.Context, limit int) ([]AuditEntry, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT at, user, action, detail FROM audit ORDER BY id DESC LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	defer rows.Close()
	list := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var at int64
		if err := rows.Scan(&at, &e.User, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("store: list audit: %w", err)
		}
		e.At = time.UnixMilli(at).UTC()
		list = append(list, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list audit: %w", err)
	}
	return list, nil
}
