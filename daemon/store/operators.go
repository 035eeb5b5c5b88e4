package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Operator is a person who answers: on a SIP phone registered to the box, on a mobile the
// box calls, or both.
type Operator struct {
	ID          int64
	Name        string // shown to the owner and in the call log; unique
	SIPUser     string // "" if no SIP phone
	SIPPassword string // the phone's digest password (shown to the owner to set the phone up)
	Mobile      string // E.164 or ""
	Available   bool   // logged in: rung by the flow
	Hours       string // working hours as a schedule JSON; "" = whenever the flow rings
	Record      bool   // record this operator's calls
	LastCalled  time.Time
}

var sipUserRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,32}$`)

// ErrExists is returned when a name or SIP user is taken.
var ErrExists = errors.New("store: already exists")

func (o *Operator) check() error {
	o.Name = cleanText(o.Name, 64)
	if o.Name == "" {
		return errors.New("the name is empty")
	}
	if o.SIPUser != "" && !sipUserRE.MatchString(o.SIPUser) {
		return fmt.Errorf("SIP user %q: use 1 to 32 letters, digits, dots, dashes or underscores", o.SIPUser)
	}
	if o.SIPUser != "" && len(o.SIPPassword) < 8 {
		return errors.New("the SIP password must be at least 8 characters")
	}
	if len(o.SIPPassword) > 64 || strings.ContainsAny(o.SIPPassword, "\x00\r\n\"") {
		return errors.New("the SIP password may not be longer than 64 characters or hold quotes or line breaks")
	}
	if o.Mobile != "" {
		n, _ := SanitizeNumber(o.Mobile)
		if n == "" {
			return fmt.Errorf("mobile number %q is not a phone number", o.Mobile)
		}
		o.Mobile = n
	}
	if o.SIPUser == "" && o.Mobile == "" {
		return errors.New("an operator needs a SIP phone or a mobile number")
	}
	return nil
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// AddOperator stores a new operator and returns its id.
func (s *Store) AddOperator(ctx context.Context, o Operator) (int64, error) {
	if err := o.check(); err != nil {
		return 0, fmt.Errorf("store: add operator: %w", err)
	}
	now := s.now().UnixMilli()
	res, err := s.exec(ctx, `
INSERT INTO operators (name, sip_user, sip_password, mobile, available, hours, record, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		o.Name, nullable(o.SIPUser), o.SIPPassword, o.Mobile, o.Available, o.Hours, o.Record, now, now)
	if isUnique(err) {
		return 0, fmt.Errorf("store: add operator %q: %w", o.Name, ErrExists)
	}
	if err != nil {
		return 0, fmt.Errorf("store: add operator %q: %w", o.Name, err)
	}
	return res.LastInsertId()
}

// UpdateOperator changes an operator (by ID).
func (s *Store) UpdateOperator(ctx context.Context, o Operator) error {
	if err := o.check(); err != nil {
		return fmt.Errorf("store: update operator: %w", err)
	}
	res, err := s.exec(ctx, `
UPDATE operators SET name = ?, sip_user = ?, sip_password = ?, mobile = ?, available = ?, hours = ?, record = ?, updated_at = ?
WHERE id = ?`,
		o.Name, nullable(o.SIPUser), o.SIPPassword, o.Mobile, o.Available, o.Hours, o.Record, s.now().UnixMilli(), o.ID)
	if isUnique(err) {
		return fmt.Errorf("store: update operator %q: %w", o.Name, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("store: update operator %q: %w", o.Name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: update operator %d: %w", o.ID, ErrNotFound)
	}
	return nil
}

// DeleteOperator removes an operator by name.
func (s *Store) DeleteOperator(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM operators WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("store: delete operator %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: delete operator %q: %w", name, ErrNotFound)
	}
	return nil
}

// SetOperatorAvailable logs an operator in (true) or out.
func (s *Store) SetOperatorAvailable(ctx context.Context, name string, available bool) error {
	res, err := s.exec(ctx, `UPDATE operators SET available = ?, updated_at = ? WHERE name = ?`,
		available, s.now().UnixMilli(), name)
	if err != nil {
		return fmt.Errorf("store: set operator %q available: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set operator %q available: %w", name, ErrNotFound)
	}
	return nil
}

// MarkOperatorCalled records when an operator was last rung (for the least-recent strategy).
func (s *Store) MarkOperatorCalled(ctx context.Context, name string, at time.Time) error {
	if _, err := s.exec(ctx, `UPDATE operators SET last_called_at = ? WHERE name = ?`, at.UnixMilli(), name); err != nil {
		return fmt.Errorf("store: mark operator %q called: %w", name, err)
	}
	return nil
}

const operatorColumns = `id, name, COALESCE(sip_user, ''), sip_password, mobile, available, hours, record, last_called_at`

func scanOperator(r rowScanner) (Operator, error) {
	var o Operator
	var last int64
	if err := r.Scan(&o.ID, &o.Name, &o.SIPUser, &o.SIPPassword, &o.Mobile, &o.Available, &o.Hours, &o.Record, &last); err != nil {
		return Operator{}, err
	}
	if last > 0 {
		o.LastCalled = time.UnixMilli(last).UTC()
	}
	return o, nil
}

// Operators lists every operator by name.
func (s *Store) Operators(ctx context.Context) ([]Operator, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+operatorColumns+` FROM operators ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	defer rows.Close()
	out := []Operator{}
	for rows.Next() {
		o, err := scanOperator(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list operators: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list operators: %w", err)
	}
	return out, nil
}

// OperatorBySIPUser finds the operator of a SIP account, or ErrNotFound.
func (s *Store) OperatorBySIPUser(ctx context.Context, user string) (Operator, error) {
	o, err := scanOperator(s.db.QueryRowContext(ctx, `SELECT `+operatorColumns+` FROM operators WHERE sip_user = ?`, user))
	if errors.Is(err, sql.ErrNoRows) {
		return Operator{}, fmt.Errorf("store: SIP user %q: %w", user, ErrNotFound)
	}
	if err != nil {
		return Operator{}, fmt.Errorf("store: SIP user %q: %w", user, err)
	}
	return o, nil
}
