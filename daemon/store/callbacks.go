package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Callback statuses.
const (
	CallbackOpen   = "open"
	CallbackDone   = "done"
	CallbackFailed = "failed"
)

// Callback is a caller's request to be called back.
type Callback struct {
	ID          int64
	CallID      int64
	Number      string
	CreatedAt   time.Time
	Status      string
	Attempts    int
	LastAttempt time.Time
	Outcome     string
	HandledBy   string
}

// AddCallback records a callback request for the caller of callID. A number that already has
// an open request gets no second one: the existing id is returned.
func (s *Store) AddCallback(ctx context.Context, callID int64, rawNumber string) (int64, error) {
	number, _ := SanitizeNumber(rawNumber)
	if number == "" {
		return 0, fmt.Errorf("store: add callback for call %d: the caller's number is unknown", callID)
	}
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT id FROM callbacks WHERE number = ? AND status = 'open'`, number).Scan(&id)
	if err == nil {
		return id, nil
	}
	var call any
	if callID != 0 {
		call = callID
	}
	res, err := s.exec(ctx, `INSERT INTO callbacks (call_id, number, created_at) VALUES (?, ?, ?)`,
		call, number, s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: add callback for %s: %w", number, err)
	}
	return res.LastInsertId()
}

// CallbackAttempt records one attempt to call back: status stays open unless done or failed.
func (s *Store) CallbackAttempt(ctx context.Context, id int64, status, outcome, by string) error {
	switch status {
	case CallbackOpen, CallbackDone, CallbackFailed:
	default:
		return fmt.Errorf("store: callback %d: unknown status %q", id, status)
	}
	res, err := s.exec(ctx, `
UPDATE callbacks SET attempts = attempts + 1, last_attempt_at = ?, status = ?, outcome = ?, handled_by = ? WHERE id = ?`,
		s.now().UnixMilli(), status, cleanText(outcome, 200), cleanText(by, 64), id)
	if err != nil {
		return fmt.Errorf("store: callback %d attempt: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: callback %d attempt: %w", id, ErrNotFound)
	}
	return nil
}

// Callbacks lists callback requests, newest first; openOnly keeps the open ones.
func (s *Store) Callbacks(ctx context.Context, openOnly bool, limit int) ([]Callback, error) {
	q := `SELECT id, COALESCE(call_id, 0), number, created_at, status, attempts, COALESCE(last_attempt_at, 0), outcome, handled_by FROM callbacks`
	if openOnly {
		q += ` WHERE status = 'open'`
	}
	q += ` ORDER BY id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list callbacks: %w", err)
	}
	defer rows.Close()
	out := []Callback{}
	for rows.Next() {
		var c Callback
		var created, last int64
		if err := rows.Scan(&c.ID, &c.CallID, &c.Number, &created, &c.Status, &c.Attempts, &last, &c.Outcome, &c.HandledBy); err != nil {
			return nil, fmt.Errorf("store: list callbacks: %w", err)
		}
		c.CreatedAt = time.UnixMilli(created).UTC()
		if last > 0 {
			c.LastAttempt = time.UnixMilli(last).UTC()
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list callbacks: %w", err)
	}
	return out, nil
}

// ClaimAutoReply reports whether an automatic SMS may go to number on day ("2006-01-02" in the
// business's time zone), and takes the day's one reply if so: at most one per number per day.
func (s *Store) ClaimAutoReply(ctx context.Context, number, day string) (bool, error) {
	res, err := s.exec(ctx, `INSERT OR IGNORE INTO auto_replies (number, day) VALUES (?, ?)`, number, day)
	if err != nil {
		return false, fmt.Errorf("store: auto reply to %s: %w", number, err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// Callback returns one callback request, or ErrNotFound.
func (s *Store) Callback(ctx context.Context, id int64) (Callback, error) {
	var c Callback
	var created, last int64
	err := s.db.QueryRowContext(ctx, `SELECT id, COALESCE(call_id, 0), number, created_at, status, attempts,
		COALESCE(last_attempt_at, 0), outcome, handled_by FROM callbacks WHERE id = ?`, id).
		Scan(&c.ID, &c.CallID, &c.Number, &created, &c.Status, &c.Attempts, &last, &c.Outcome, &c.HandledBy)
	if errors.Is(err, sql.ErrNoRows) {
		return Callback{}, fmt.Errorf("store: callback %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Callback{}, fmt.Errorf("store: callback %d: %w", id, err)
	}
	c.CreatedAt = time.UnixMilli(created).UTC()
	if last > 0 {
		c.LastAttempt = time.UnixMilli(last).UTC()
	}
	return c, nil
}
