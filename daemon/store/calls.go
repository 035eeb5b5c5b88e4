package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Call outcomes. A call in progress has the outcome "".
const (
	OutcomeAnswered  = "answered"  // a person (operator or forwarded number) talked with the caller
	OutcomeVoicemail = "voicemail" // the caller left a message
	OutcomeCallback  = "callback"  // the caller asked to be called back
	OutcomeAbandoned = "abandoned" // the caller hung up before anything happened
	OutcomeMissed    = "missed"    // never answered, or hung up waiting for a person
	OutcomeCompleted = "completed" // served: heard what they needed
	OutcomeFailed    = "failed"    // the box failed (or lost power) during the call
)

// The owner's handling status of a call.
const (
	StatusNew        = "new"
	StatusInProgress = "in_progress"
	StatusDone       = "done"
)

const (
	maxLineIDRunes   = 64
	maxMenuPathRunes = 256
	maxDigitsRunes   = 64
	maxReasonRunes   = 200
	maxNoteRunes     = 2000
)

// Call is one row of the call log. The row is written on the first ring, before any audio
// flows, and completed when the call ends.
type Call struct {
	ID          int64
	LineID      string
	Number      string    // sanitised caller number: "+" and digits only, at most 20 digits; "" if none/garbage
	RawNumber   string    // as received, valid UTF-8, control bytes removed, at most 64 runes (for display only, always escaped)
	StartedAt   time.Time // first ring
	AnsweredAt  time.Time // zero if never answered
	EndedAt     time.Time // zero while in progress
	VoicemailID int64     // 0 if none
	Status      string    // StatusNew | StatusInProgress | StatusDone (the owner's handling status)
	Summary               // what the flow did, filled when the call ends (Outcome "" while in progress)
	Note        string    // the owner's or an operator's note
}

// Summary is the path of a call through its flow, written when the call ends.
type Summary struct {
	Outcome     string        // one of the Outcome constants
	MenuPath    string        // the keys the caller chose, comma-separated ("1,0")
	Nodes       string        // the flow's nodes the call went through, comma-separated
	FlowVersion int64         // the flow version the call ran
	Digits      string        // keys the caller pressed that the flow read
	Language    string        // the language of the prompts it heard
	QueueWait   time.Duration // waiting for a person
	AnsweredBy  string        // operator name or forwarded number; "" if nobody
	Talk        time.Duration // talking with a person
	Survey      int           // 1..5; 0 if none
	Recording   string        // file name of the conversation's recording, if recorded
	SMSSent     bool          // an SMS went to the caller
	EndReason   string        // why the call ended when it was not a plain hang-up (e.g. "modem lost")
}

// Duration is how long the call was connected: EndedAt-AnsweredAt, or 0 if it was never
// answered or has not ended.
func (c Call) Duration() time.Duration {
	if c.AnsweredAt.IsZero() || c.EndedAt.IsZero() || c.EndedAt.Before(c.AnsweredAt) {
		return 0
	}
	return c.EndedAt.Sub(c.AnsweredAt)
}

// InProgress reports whether the call has not ended yet.
func (c Call) InProgress() bool { return c.Outcome == "" }

// ValidOutcome reports whether o is one of the final outcomes FinishCall accepts.
func ValidOutcome(o string) bool {
	switch o {
	case OutcomeAnswered, OutcomeVoicemail, OutcomeCallback, OutcomeAbandoned, OutcomeMissed, OutcomeCompleted, OutcomeFailed:
		return true
	}
	return false
}

// StartCall writes a new call row when the line first rings and returns its id. rawNumber is
// whatever the line reported; it is sanitised here (see SanitizeNumber). A zero startedAt
// means now.
func (s *Store) StartCall(ctx context.Context, lineID, rawNumber string, startedAt time.Time) (int64, error) {
	if startedAt.IsZero() {
		startedAt = s.now()
	}
	number, display := SanitizeNumber(rawNumber)
	res, err := s.exec(ctx,
		`INSERT INTO calls (line_id, number, raw_number, started_at) VALUES (?, ?, ?, ?)`,
		cleanText(lineID, maxLineIDRunes), number, display, startedAt.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("store: start call on line %q: %w", lineID, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("store: start call on line %q: %w", lineID, err)
	}
	return id, nil
}

// SetCallNumber records the caller's number when the line learned it only after the call's
// row was written. A call that already has a number keeps it.
func (s *Store) SetCallNumber(ctx context.Context, id int64, rawNumber string) error {
	number, display := SanitizeNumber(rawNumber)
	if number == "" && display == "" {
		return nil
	}
	_, err := s.exec(ctx,
		`UPDATE calls SET number = ?, raw_number = ? WHERE id = ? AND number = '' AND raw_number = ''`,
		number, display, id)
	if err != nil {
		return fmt.Errorf("store: set number of call %d: %w", id, err)
	}
	return nil
}

// AnswerCall records when the box answered. Answering twice keeps the first time; answering
// a call that has ended is ErrCallFinished. A zero at means now.
func (s *Store) AnswerCall(ctx context.Context, id int64, at time.Time) error {
	if at.IsZero() {
		at = s.now()
	}
	res, err := s.exec(ctx,
		`UPDATE calls SET answered_at = ? WHERE id = ? AND outcome = '' AND answered_at IS NULL`,
		at.UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("store: answer call %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	c, err := s.Call(ctx, id)
	if err != nil {
		return fmt.Errorf("store: answer call %d: %w", id, err)
	}
	if !c.InProgress() {
		return fmt.Errorf("store: answer call %d: %w", id, ErrCallFinished)
	}
	return nil // already answered
}

// FinishCall completes the call row with only an outcome and a menu path; see FinishCallSummary.
func (s *Store) FinishCall(ctx context.Context, id int64, endedAt time.Time, menuPath, outcome string) error {
	return s.FinishCallSummary(ctx, id, endedAt, Summary{Outcome: outcome, MenuPath: menuPath})
}

// FinishCallSummary completes the call row. sum.Outcome must be one of the Outcome constants;
// texts are stored cleaned (valid UTF-8, no control characters, capped). A zero endedAt means
// now. Finishing a call twice is ErrCallFinished.
func (s *Store) FinishCallSummary(ctx context.Context, id int64, endedAt time.Time, sum Summary) error {
	if !ValidOutcome(sum.Outcome) {
		return fmt.Errorf("store: finish call %d: unknown outcome %q", id, sum.Outcome)
	}
	if sum.Survey < 0 || sum.Survey > 5 {
		return fmt.Errorf("store: finish call %d: survey score %d is not 1 to 5", id, sum.Survey)
	}
	if endedAt.IsZero() {
		endedAt = s.now()
	}
	var survey any
	if sum.Survey > 0 {
		survey = sum.Survey
	}
	res, err := s.exec(ctx, `
UPDATE calls SET ended_at = ?, menu_path = ?, outcome = ?, flow_version = ?, digits = ?, nodes = ?, language = ?,
	queue_wait_ms = ?, answered_by = ?, talk_ms = ?, survey = ?, recording = ?, sms_sent = ?, end_reason = ?
WHERE id = ? AND outcome = ''`,
		endedAt.UnixMilli(), cleanText(sum.MenuPath, maxMenuPathRunes), sum.Outcome, sum.FlowVersion,
		cleanText(sum.Digits, maxDigitsRunes), cleanText(sum.Nodes, 1000), cleanText(sum.Language, 8),
		sum.QueueWait.Milliseconds(), cleanText(sum.AnsweredBy, 64), sum.Talk.Milliseconds(), survey,
		cleanText(sum.Recording, 128), sum.SMSSent, cleanText(sum.EndReason, maxReasonRunes), id)
	if err != nil {
		return fmt.Errorf("store: finish call %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Call(ctx, id); err != nil {
		return fmt.Errorf("store: finish call %d: %w", id, err)
	}
	return fmt.Errorf("store: finish call %d: %w", id, ErrCallFinished)
}

// SetCallNote stores the note of a call (cleaned, at most 2000 characters).
func (s *Store) SetCallNote(ctx context.Context, id int64, note string) error {
	res, err := s.exec(ctx, `UPDATE calls SET note = ? WHERE id = ?`, cleanMultiline(note, maxNoteRunes), id)
	if err != nil {
		return fmt.Errorf("store: set call %d note: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set call %d note: %w", id, ErrNotFound)
	}
	return nil
}

// SetCallStatus sets the owner's handling status of a call (StatusNew or StatusDone).
func (s *Store) SetCallStatus(ctx context.Context, id int64, status string) error {
	if status != StatusNew && status != StatusInProgress && status != StatusDone {
		return fmt.Errorf("store: set call %d status: unknown status %q", id, status)
	}
	res, err := s.exec(ctx, `UPDATE calls SET status = ? WHERE id = ?`, status, id)
	if err != nil {
		return fmt.Errorf("store: set call %d status: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set call %d status: %w", id, ErrNotFound)
	}
	return nil
}

const callColumns = `c.id, c.line_id, c.number, c.raw_number, c.started_at, c.answered_at, c.ended_at,
	c.menu_path, c.outcome, c.status,
	COALESCE((SELECT MAX(v.id) FROM voicemails v WHERE v.call_id = c.id), 0),
	c.flow_version, c.digits, c.nodes, c.language, c.queue_wait_ms, c.answered_by, c.talk_ms,
	COALESCE(c.survey, 0), c.recording, c.sms_sent, c.end_reason, c.note`

type rowScanner interface{ Scan(dest ...any) error }

func scanCall(r rowScanner) (Call, error) {
	var c Call
	var started int64
	var answered, ended sql.NullInt64
	var wait, talk int64
	err := r.Scan(&c.ID, &c.LineID, &c.Number, &c.RawNumber, &started, &answered, &ended,
		&c.MenuPath, &c.Outcome, &c.Status, &c.VoicemailID,
		&c.FlowVersion, &c.Digits, &c.Nodes, &c.Language, &wait, &c.AnsweredBy, &talk,
		&c.Survey, &c.Recording, &c.SMSSent, &c.EndReason, &c.Note)
	if err != nil {
		return Call{}, err
	}
	c.QueueWait = time.Duration(wait) * time.Millisecond
	c.Talk = time.Duration(talk) * time.Millisecond
	c.StartedAt = time.UnixMilli(started).UTC()
	c.AnsweredAt = fromMS(answered)
	c.EndedAt = fromMS(ended)
	return c, nil
}

// Call returns one call, or ErrNotFound.
func (s *Store) Call(ctx context.Context, id int64) (Call, error) {
	c, err := scanCall(s.db.QueryRowContext(ctx, `SELECT `+callColumns+` FROM calls c WHERE c.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Call{}, fmt.Errorf("store: call %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Call{}, fmt.Errorf("store: call %d: %w", id, err)
	}
	return c, nil
}

// CallFilter selects calls for ListCalls. The zero value lists the newest 100.
type CallFilter struct {
	Limit    int       // default 100, max 1000
	BeforeID int64     // paging: only calls with a smaller id; 0 = from the newest
	LineID   string    // only this line ("" = all)
	Since    time.Time // only calls that started at or after this (zero = all)
	Number   string    // only calls from this sanitised number ("" = all)
}

// ListCalls returns calls, newest first.
func (s *Store) ListCalls(ctx context.Context, f CallFilter) ([]Call, error) {
	var where []string
	var args []any
	if f.BeforeID > 0 {
		where = append(where, "c.id < ?")
		args = append(args, f.BeforeID)
	}
	if f.LineID != "" {
		where = append(where, "c.line_id = ?")
		args = append(args, f.LineID)
	}
	if !f.Since.IsZero() {
		where = append(where, "c.started_at >= ?")
		args = append(args, f.Since.UnixMilli())
	}
	if f.Number != "" {
		where = append(where, "c.number = ?")
		args = append(args, f.Number)
	}
	q := `SELECT ` + callColumns + ` FROM calls c`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY c.id DESC LIMIT ?"
	args = append(args, clampLimit(f.Limit))
	rows, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	defer rows.Close()
	calls := []Call{}
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list calls: %w", err)
		}
		calls = append(calls, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list calls: %w", err)
	}
	return calls, nil
}
