package store

import (
	"context"
	"fmt"
	"time"
)

// Alert is a message to the owner waiting to go out (or gone): by SMS, e-mail or webhook.
type Alert struct {
	ID        int64
	Channel   string // "sms", "email", "webhook"
	Kind      string // "voicemail", "missed", "line_down", ...
	Body      string // JSON the sender understands
	CreatedAt time.Time
	Attempts  int
	NextAt    time.Time
	SentAt    time.Time
	LastError string
}

// AddAlert queues an alert to be sent from at on (zero: now).
func (s *Store) AddAlert(ctx context.Context, channel, kind, body string, at time.Time) (int64, error) {
	if at.IsZero() {
		at = s.now()
	}
	now := at.UnixMilli()
	res, err := s.exec(ctx, `INSERT INTO alerts (channel, kind, body, created_at, next_at) VALUES (?, ?, ?, ?, ?)`,
		channel, kind, body, now, now)
	if err != nil {
		return 0, fmt.Errorf("store: add alert: %w", err)
	}
	return res.LastInsertId()
}

// DueAlerts returns unsent alerts whose time has come, oldest first.
func (s *Store) DueAlerts(ctx context.Context, now time.Time, limit int) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT id, channel, kind, body, created_at, attempts, next_at, last_error FROM alerts
WHERE sent_at IS NULL AND next_at <= ? ORDER BY next_at, id LIMIT ?`, now.UnixMilli(), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: due alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var created, next int64
		if err := rows.Scan(&a.ID, &a.Channel, &a.Kind, &a.Body, &created, &a.Attempts, &next, &a.LastError); err != nil {
			return nil, fmt.Errorf("store: due alerts: %w", err)
		}
		a.CreatedAt, a.NextAt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}

// AlertSent marks an alert delivered.
func (s *Store) AlertSent(ctx context.Context, id int64) error {
	_, err := s.exec(ctx, `UPDATE alerts SET attempts = attempts + 1, sent_at = ?, last_error = '' WHERE id = ?`, s.now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: alert %d sent: %w", id, err)
	}
	return nil
}

// AlertFailed records a failed attempt; the alert is tried again at next (a zero next gives up:
// the alert stays unsent with its error, for the owner to see).
func (s *Store) AlertFailed(ctx context.Context, id int64, cause string, next time.Time) error {
	n := int64(1<<62 - 1)
	if !next.IsZero() {
		n = next.UnixMilli()
	}
	_, err := s.exec(ctx, `UPDATE alerts SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`,
		n, cleanText(cause, 300), id)
	if err != nil {
		return fmt.Errorf("store: alert %d failed: %w", id, err)
	}
	return nil
}

// Alerts lists the newest alerts, sent or not, for the settings page.
func (s *Store) Alerts(ctx context.Context, limit int) ([]Alert, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT id, channel, kind, body, created_at, attempts, next_at, COALESCE(sent_at, 0), last_error FROM alerts
ORDER BY id DESC LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		var a Alert
		var created, next, sent int64
		if err := rows.Scan(&a.ID, &a.Channel, &a.Kind, &a.Body, &created, &a.Attempts, &next, &sent, &a.LastError); err != nil {
			return nil, fmt.Errorf("store: alerts: %w", err)
		}
		a.CreatedAt, a.NextAt = time.UnixMilli(created).UTC(), time.UnixMilli(next).UTC()
		if sent > 0 {
			a.SentAt = time.UnixMilli(sent).UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// MarkCallSMS notes that an SMS went to the caller of a finished call.
func (s *Store) MarkCallSMS(ctx context.Context, id int64) error {
	if _, err := s.exec(ctx, `UPDATE calls SET sms_sent = 1 WHERE id = ?`, id); err != nil {
		return fmt.Errorf("store: call %d SMS: %w", id, err)
	}
	return nil
}
