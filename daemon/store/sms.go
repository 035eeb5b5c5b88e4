package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// SMS directions.
const (
	SMSIn  = "in"
	SMSOut = "out"
)

// Statuses of an outgoing SMS.
const (
	SMSQueued    = "queued"    // stored, not handed to the modem yet
	SMSSent      = "sent"      // the modem took every part (+CMGS)
	SMSFailed    = "failed"    // the modem or the network refused it
	SMSDelivered = "delivered" // the network reported it delivered
)

// MaxSMSRunes bounds a stored SMS text; longer ones are cut with "…". 255 parts of 153
// GSM 7-bit characters are under 40 000, but no one sends a business that much.
const MaxSMSRunes = 10000

// SMS is one message, received or sent.
type SMS struct {
	ID           int64
	LineID       string
	Direction    string    // SMSIn | SMSOut
	Number       string    // sanitised: "+" and digits, "" for a name such as "MegaFon"
	RawNumber    string    // as received or typed, cleaned (for display only, always escaped)
	Text         string    // valid UTF-8, no control characters but "\n", at most MaxSMSRunes
	Parts        int       // parts of a concatenated message
	MissingParts int       // parts that never came (the text is incomplete)
	SentAt       time.Time // the service centre's timestamp (incoming); zero if unknown
	ReceivedAt   time.Time // when the box stored it (incoming) or was asked to send it
	HandledAt    time.Time // zero while not handled
	HandledBy    string
	Status       string // outgoing: one of the SMS status constants; "" for incoming
	Refs         []int  // outgoing: the message references the modem gave, one per part
}

// Handled reports whether someone marked the message as dealt with.
func (m SMS) Handled() bool { return !m.HandledAt.IsZero() }

// CleanSMSText makes an SMS text safe to store and show: valid UTF-8 (invalid bytes become
// U+FFFD), line ends as "\n", no other control or invisible format characters (bidi
// overrides, zero-width), and at most MaxSMSRunes runes ending in "…" when cut.
func CleanSMSText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(min(len(s), 4*MaxSMSRunes))
	n := 0
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '\r' || r == '\n' || r == '\u2028' || r == '\u2029':
			r = '\n'
		case r == '\t':
			r = ' '
		case !keepRune(r):
			continue
		}
		if n == MaxSMSRunes-1 {
			b.WriteRune('…')
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimRightFunc(b.String(), unicode.IsSpace)
}

// AddIncomingSMS stores a received message and returns its id. from is the sender as the
// line gave it (a number, preferably E.164, or a name); sentAt is the service centre's
// timestamp and receivedAt when the box read it (zero means now). A message already stored
// for the same line, sender, sentAt and text is not stored again: it returns that row's id and
// dup = true, since a line delivers at least once (again after a crash before its Ack). The
// row is committed when AddIncomingSMS returns without error.
func (s *Store) AddIncomingSMS(ctx context.Context, lineID, from, text string, parts, missing int, sentAt, receivedAt time.Time) (id int64, dup bool, err error) {
	if receivedAt.IsZero() {
		receivedAt = s.now()
	}
	number, display := SanitizeNumber(from)
	line := cleanText(lineID, maxLineIDRunes)
	text = CleanSMSText(text)
	parts, missing = max(parts, 1), max(missing, 0)
	var sent any
	if !sentAt.IsZero() {
		sent = sentAt.UnixMilli()
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT id FROM sms WHERE direction = 'in' AND line_id = ?
			AND raw_number = ? AND sent_at IS ? AND text = ? ORDER BY id LIMIT 1`,
			line, display, sent, text).Scan(&id)
		switch {
		case err == nil:
			dup = true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO sms (line_id, direction, number, raw_number,
			text, parts, missing_parts, sent_at, received_at) VALUES (?, 'in', ?, ?, ?, ?, ?, ?, ?)`,
			line, number, display, text, parts, missing, sent, receivedAt.UnixMilli())
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("store: add SMS from %q on line %q: %w", display, lineID, err)
	}
	return id, dup, nil
}

// AddOutgoingSMS stores a message the box is about to send, with the status SMSQueued, and
// returns its id. to is the recipient as typed or normalised; it is sanitised here.
func (s *Store) AddOutgoingSMS(ctx context.Context, lineID, to, text string) (int64, error) {
	number, display := SanitizeNumber(to)
	res, err := s.exec(ctx, `INSERT INTO sms (line_id, direction, number, raw_number, text, parts,
		received_at, status, handled_at) VALUES (?, 'out', ?, ?, ?, 1, ?, 'queued', ?)`,
		cleanText(lineID, maxLineIDRunes), number, display, CleanSMSText(text),
		s.now().UnixMilli(), s.now().UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: add SMS to %q: %w", display, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: add SMS to %q: %w", display, err)
	}
	return id, nil
}

// SetSMSStatus records what became of an outgoing message: status is one of SMSQueued,
// SMSSent, SMSFailed, SMSDelivered; refs, when not nil, are the message references of its
// parts (to match delivery reports) and set its part count.
func (s *Store) SetSMSStatus(ctx context.Context, id int64, status string, refs []int) error {
	switch status {
	case SMSQueued, SMSSent, SMSFailed, SMSDelivered:
	default:
		return fmt.Errorf("store: set SMS %d status: unknown status %q", id, status)
	}
	q := `UPDATE sms SET status = ? WHERE id = ? AND direction = 'out'`
	args := []any{status, id}
	if refs != nil {
		q = `UPDATE sms SET status = ?, refs = ?, parts = ? WHERE id = ? AND direction = 'out'`
		args = []any{status, joinRefs(refs), max(len(refs), 1), id}
	}
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("store: set SMS %d status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set SMS %d status: %w", id, ErrNotFound)
	}
	return nil
}

// SMSByRef finds the newest outgoing message on the line that has the message reference ref
// among its parts, for a delivery report; ErrNotFound when none has.
func (s *Store) SMSByRef(ctx context.Context, lineID string, ref int) (SMS, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+smsColumns+` FROM sms WHERE direction = 'out'
		AND line_id = ? AND (',' || refs || ',') LIKE ? ORDER BY id DESC LIMIT 1`,
		lineID, "%,"+strconv.Itoa(ref)+",%")
	if err != nil {
		return SMS{}, fmt.Errorf("store: SMS with ref %d: %w", ref, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return SMS{}, fmt.Errorf("store: SMS with ref %d: %w", ref, err)
		}
		return SMS{}, fmt.Errorf("store: SMS with ref %d on line %q: %w", ref, lineID, ErrNotFound)
	}
	m, err := scanSMS(rows)
	if err != nil {
		return SMS{}, fmt.Errorf("store: SMS with ref %d: %w", ref, err)
	}
	return m, nil
}

// SetSMSHandled marks a message as dealt with by the user by, or as new again.
func (s *Store) SetSMSHandled(ctx context.Context, id int64, handled bool, by string) error {
	var at any
	if handled {
		at = s.now().UnixMilli()
		by = cleanText(by, maxNameRunes)
	} else {
		by = ""
	}
	res, err := s.exec(ctx, `UPDATE sms SET handled_at = ?, handled_by = ? WHERE id = ?`, at, by, id)
	if err != nil {
		return fmt.Errorf("store: set SMS %d handled: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set SMS %d handled: %w", id, ErrNotFound)
	}
	return nil
}

// GetSMS returns one message, or ErrNotFound.
func (s *Store) GetSMS(ctx context.Context, id int64) (SMS, error) {
	m, err := scanSMS(s.db.QueryRowContext(ctx, `SELECT `+smsColumns+` FROM sms WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return SMS{}, fmt.Errorf("store: SMS %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return SMS{}, fmt.Errorf("store: SMS %d: %w", id, err)
	}
	return m, nil
}

// ListSMS returns messages, both directions, newest first; limit defaults to 100, at most 1000.
func (s *Store) ListSMS(ctx context.Context, limit int) ([]SMS, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+smsColumns+` FROM sms ORDER BY id DESC LIMIT ?`, clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: list SMS: %w", err)
	}
	defer rows.Close()
	out := []SMS{}
	for rows.Next() {
		m, err := scanSMS(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list SMS: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list SMS: %w", err)
	}
	return out, nil
}

const smsColumns = `id, line_id, direction, number, raw_number, text, parts, missing_parts, sent_at,
	received_at, handled_at, handled_by, status, refs`

func scanSMS(r rowScanner) (SMS, error) {
	var m SMS
	var sent, handled sql.NullInt64
	var received int64
	var refs string
	err := r.Scan(&m.ID, &m.LineID, &m.Direction, &m.Number, &m.RawNumber, &m.Text, &m.Parts,
		&m.MissingParts, &sent, &received, &handled, &m.HandledBy, &m.Status, &refs)
	if err != nil {
		return SMS{}, err
	}
	m.SentAt, m.HandledAt = fromMS(sent), fromMS(handled)
	m.ReceivedAt = time.UnixMilli(received).UTC()
	for f := range strings.SplitSeq(refs, ",") {
		if n, err := strconv.Atoi(f); err == nil {
			m.Refs = append(m.Refs, n)
		}
	}
	return m, nil
}

func joinRefs(refs []int) string {
	s := make([]string, len(refs))
	for i, r := range refs {
		s[i] = strconv.Itoa(r)
	}
	return strings.Join(s, ",")
}
