package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"
)

// Voicemail is a message left by a caller. File is a name relative to DIR/voicemail; the
// switchboard writes the audio, the store only names and measures it.
type Voicemail struct {
	ID        int64
	CallID    int64
	LineID    string // from the call
	Number    string // from the call
	RawNumber string // from the call
	File      string
	CreatedAt time.Time
	Duration  time.Duration
	Complete  bool // false while still recording
	Handled   bool
	HandledAt time.Time
	HandledBy string
}

// ValidVoicemailFile reports whether name can be a voicemail file: a plain file name (no
// directory, not "." or "..", no separators, no NUL or control bytes, valid UTF-8, at most
// 255 bytes).
func ValidVoicemailFile(name string) bool {
	if name == "" || name == "." || name == ".." || len(name) > 255 || !utf8.ValidString(name) {
		return false
	}
	if strings.ContainsAny(name, `/\:`) || filepath.IsAbs(name) || !filepath.IsLocal(name) {
		return false
	}
	for _, r := range name {
		if !keepRune(r) {
			return false
		}
	}
	return true
}

// StartVoicemail records that the switchboard begins recording a message for call callID
// into DIR/voicemail/file, and returns the voicemail id. The message is incomplete until
// FinishVoicemail. A zero at means now.
func (s *Store) StartVoicemail(ctx context.Context, callID int64, file string, at time.Time) (int64, error) {
	if !ValidVoicemailFile(file) {
		return 0, fmt.Errorf("store: start voicemail for call %d: bad file name %q", callID, file)
	}
	if at.IsZero() {
		at = s.now()
	}
	var id int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM calls WHERE id = ?`, callID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx,
			`INSERT INTO voicemails (call_id, file, created_at) VALUES (?, ?, ?)`,
			callID, file, at.UnixMilli())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: start voicemail for call %d: %w", callID, err)
	}
	return id, nil
}

// FinishVoicemail marks the message complete with its length.
func (s *Store) FinishVoicemail(ctx context.Context, id int64, d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("store: finish voicemail %d: negative duration %v", id, d)
	}
	res, err := s.exec(ctx,
		`UPDATE voicemails SET duration_ms = ?, complete = 1 WHERE id = ?`, d.Milliseconds(), id)
	if err != nil {
		return fmt.Errorf("store: finish voicemail %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: finish voicemail %d: %w", id, ErrNotFound)
	}
	return nil
}

const voicemailColumns = `v.id, v.call_id, c.line_id, c.number, c.raw_number, v.file, v.created_at,
	v.duration_ms, v.complete, v.handled_at, v.handled_by`

func scanVoicemail(r rowScanner) (Voicemail, error) {
	var v Voicemail
	var created, durMS int64
	var handled sql.NullInt64
	err := r.Scan(&v.ID, &v.CallID, &v.LineID, &v.Number, &v.RawNumber, &v.File, &created,
		&durMS, &v.Complete, &handled, &v.HandledBy)
	if err != nil {
		return Voicemail{}, err
	}
	v.CreatedAt = time.UnixMilli(created).UTC()
	v.Duration = time.Duration(durMS) * time.Millisecond
	v.HandledAt = fromMS(handled)
	v.Handled = handled.Valid
	return v, nil
}

// Voicemail returns one message, or ErrNotFound.
func (s *Store) Voicemail(ctx context.Context, id int64) (Voicemail, error) {
	v, err := scanVoicemail(s.db.QueryRowContext(ctx,
		`SELECT `+voicemailColumns+` FROM voicemails v JOIN calls c ON c.id = v.call_id WHERE v.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Voicemail{}, fmt.Errorf("store: voicemail %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Voicemail{}, fmt.Errorf("store: voicemail %d: %w", id, err)
	}
	return v, nil
}

// ListVoicemail returns messages newest first, only the unhandled ones if onlyUnhandled.
// limit defaults to 100 and is at most 1000.
func (s *Store) ListVoicemail(ctx context.Context, onlyUnhandled bool, limit int) ([]Voicemail, error) {
	q := `SELECT ` + voicemailColumns + ` FROM voicemails v JOIN calls c ON c.id = v.call_id`
	if onlyUnhandled {
		q += ` WHERE v.handled_at IS NULL`
	}
	q += ` ORDER BY v.id DESC LIMIT ?`
	rows, err := s.db.QueryContext(ctx, q, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list voicemail: %w", err)
	}
	defer rows.Close()
	list := []Voicemail{}
	for rows.Next() {
		v, err := scanVoicemail(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list voicemail: %w", err)
		}
		list = append(list, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list voicemail: %w", err)
	}
	return list, nil
}

// SetVoicemailHandled marks a message handled by user by (now), or unhandled again.
func (s *Store) SetVoicemailHandled(ctx context.Context, id int64, handled bool, by string) error {
	var at any
	if handled {
		at = s.now().UnixMilli()
		by = cleanText(by, maxNameRunes)
	} else {
		by = ""
	}
	res, err := s.exec(ctx,
		`UPDATE voicemails SET handled_at = ?, handled_by = ? WHERE id = ?`, at, by, id)
	if err != nil {
		return fmt.Errorf("store: set voicemail %d handled: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set voicemail %d handled: %w", id, ErrNotFound)
	}
	return nil
}

// VoicemailPath is the absolute path of the message's file inside DIR/voicemail. It refuses
// names that are absolute, contain separators or "..", or otherwise would leave that folder.
func (s *Store) VoicemailPath(v Voicemail) (string, error) {
	return s.voicemailPath(v.File)
}

func (s *Store) voicemailPath(file string) (string, error) {
	if !ValidVoicemailFile(file) {
		return "", fmt.Errorf("store: voicemail file name %q refused", file)
	}
	base := filepath.Join(s.dir, VoicemailDir)
	p := filepath.Join(base, file)
	if filepath.Dir(p) != base {
		return "", fmt.Errorf("store: voicemail file name %q refused", file)
	}
	return p, nil
}
