package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// clockColumns are the time stamps the box writes from its wall clock: when the clock turns
// out to have been wrong, these move.
var clockColumns = []struct{ table, col string }{
	{"calls", "started_at"}, {"calls", "answered_at"}, {"calls", "ended_at"},
	{"voicemails", "created_at"}, {"sms", "received_at"}, {"callbacks", "created_at"},
	{"callbacks", "last_attempt_at"}, {"alerts", "created_at"}, {"alerts", "next_at"},
}

// ShiftTimes moves every time stamp the box wrote while its clock was wrong — from from to to
// inclusive, by the wrong clock — by delta: calls (started, answered, ended), voicemail, SMS,
// callbacks and alerts. A board without a real-time clock starts in 1970 until the network
// tells it the time; this puts what happened meanwhile at the right time. It returns how many
// calls moved.
func (s *Store) ShiftTimes(ctx context.Context, from, to time.Time, delta time.Duration) (int64, error) {
	return s.shiftTimes(ctx, from, to, delta, nil)
}

// Written is where the tables of clockColumns ended at one moment: the largest row id of each
// and the latest time stamp any of them held. What the box writes after it has larger ids, or
// (an older row it updates) a later time.
type Written struct {
	IDs    map[string]int64
	Newest time.Time
}

// WrittenNow returns where the tables of clockColumns end now.
func (s *Store) WrittenNow(ctx context.Context) (Written, error) {
	w := Written{IDs: map[string]int64{}}
	var newest int64
	for _, q := range clockColumns {
		if _, ok := w.IDs[q.table]; !ok {
			var id sql.NullInt64
			// Table names are ours, from clockColumns.
			if err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT max(rowid) FROM %s`, q.table)).Scan(&id); err != nil {
				return Written{}, fmt.Errorf("store: where %s ends: %w", q.table, err)
			}
			w.IDs[q.table] = id.Int64
		}
		var t sql.NullInt64
		if err := s.db.QueryRowContext(ctx, fmt.Sprintf(`SELECT max(%s) FROM %s`, q.col, q.table)).Scan(&t); err != nil {
			return Written{}, fmt.Errorf("store: latest %s.%s: %w", q.table, q.col, err)
		}
		newest = max(newest, t.Int64)
	}
	w.Newest = time.UnixMilli(newest)
	return w, nil
}

// ShiftTimesSince moves, by delta, the time stamps between from and to (inclusive) that were
// written after since: those of rows added after it, and those of older rows that are later
// than any time stamp there was then. A board that restores at start the time it saved before
// it went off (fake-hwclock) runs behind until NTP corrects it, and its new records' times then
// fall among the last old ones; the old ones stay where they are. A time stamp an older row got
// meanwhile that is not later than since.Newest cannot be told from the old ones and stays too.
// It returns how many calls moved.
func (s *Store) ShiftTimesSince(ctx context.Context, since Written, from, to time.Time, delta time.Duration) (int64, error) {
	return s.shiftTimes(ctx, from, to, delta, &since)
}

func (s *Store) shiftTimes(ctx context.Context, from, to time.Time, delta time.Duration, since *Written) (int64, error) {
	if !to.After(from) || delta == 0 {
		return 0, nil
	}
	lo, hi, d := from.UnixMilli(), to.UnixMilli(), delta.Milliseconds()
	var calls int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range clockColumns {
			// Table and column names are ours, from clockColumns.
			query := fmt.Sprintf(`UPDATE %s SET %s = %s + ? WHERE %s BETWEEN ? AND ?`, q.table, q.col, q.col, q.col)
			args := []any{d, lo, hi}
			if since != nil {
				query += fmt.Sprintf(` AND (rowid > ? OR %s > ?)`, q.col)
				args = append(args, since.IDs[q.table], since.Newest.UnixMilli())
			}
			res, err := tx.ExecContext(ctx, query, args...)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", q.table, q.col, err)
			}
			if q.table == "calls" && q.col == "started_at" {
				calls, _ = res.RowsAffected()
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: shift times: %w", err)
	}
	return calls, nil
}
