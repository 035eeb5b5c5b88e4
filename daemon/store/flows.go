package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// maxFlowBytes caps one flow's JSON: a hotline's graph is a few kilobytes.
const maxFlowBytes = 256 << 10

// FlowVersion is one saved version of the call flow.
type FlowVersion struct {
	Version   int64
	JSON      []byte
	CreatedAt time.Time
	CreatedBy string
	Comment   string
}

// SaveFlow stores data (a flow as JSON, already checked by the caller) as the newest version
// and returns its number. Versions are never changed or deleted: a call keeps the version it
// started with, and a revert is a save of an old version's JSON.
func (s *Store) SaveFlow(ctx context.Context, data []byte, by, comment string) (int64, error) {
	if len(data) == 0 || len(data) > maxFlowBytes {
		return 0, fmt.Errorf("store: save flow: %d bytes (want 1 to %d)", len(data), maxFlowBytes)
	}
	res, err := s.exec(ctx, `INSERT INTO flows (json, created_at, created_by, comment) VALUES (?, ?, ?, ?)`,
		string(data), s.now().UnixMilli(), cleanText(by, 64), cleanText(comment, 200))
	if err != nil {
		return 0, fmt.Errorf("store: save flow: %w", err)
	}
	v, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: save flow: %w", err)
	}
	return v, nil
}

// Flow returns one version; version 0 means the newest. With no flow saved yet it returns
// ErrNotFound (the daemon then saves the default flow).
func (s *Store) Flow(ctx context.Context, version int64) (FlowVersion, error) {
	q := `SELECT version, json, created_at, created_by, comment FROM flows WHERE version = ?`
	args := []any{version}
	if version == 0 {
		q = `SELECT version, json, created_at, created_by, comment FROM flows ORDER BY version DESC LIMIT 1`
		args = nil
	}
	var f FlowVersion
	var data string
	var at int64
	err := s.db.QueryRowContext(ctx, q, args...).Scan(&f.Version, &data, &at, &f.CreatedBy, &f.Comment)
	if errors.Is(err, sql.ErrNoRows) {
		return FlowVersion{}, fmt.Errorf("store: flow version %d: %w", version, ErrNotFound)
	}
	if err != nil {
		return FlowVersion{}, fmt.Errorf("store: flow version %d: %w", version, err)
	}
	f.JSON = []byte(data)
	f.CreatedAt = time.UnixMilli(at).UTC()
	return f, nil
}

// FlowVersions lists the saved versions, newest first, without their JSON.
func (s *Store) FlowVersions(ctx context.Context, limit int) ([]FlowVersion, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT version, created_at, created_by, comment FROM flows ORDER BY version DESC LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list flow versions: %w", err)
	}
	defer rows.Close()
	out := []FlowVersion{}
	for rows.Next() {
		var f FlowVersion
		var at int64
		if err := rows.Scan(&f.Version, &at, &f.CreatedBy, &f.Comment); err != nil {
			return nil, fmt.Errorf("store: list flow versions: %w", err)
		}
		f.CreatedAt = time.UnixMilli(at).UTC()
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list flow versions: %w", err)
	}
	return out, nil
}
