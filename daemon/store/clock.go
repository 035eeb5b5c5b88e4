package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ShiftTimes moves every time stamp the box wrote while its clock was wrong — from from to to
// inclusive, by the wrong clock — by delta: calls (started, answered, ended), voicemail, SMS,
// callbacks and alerts. A board without a real-time clock starts in 1970 until the network
// tells it the time; this puts what happened meanwhile at the right time. It returns how many
// calls moved.
func (s *Store) ShiftTimes(ctx context.Context, from, to time.Time, delta time.Duration) (int64, error) {
	if !to.After(from) || delta == 0 {
		return 0, nil
	}
	lo, hi, d := from.UnixMilli(), to.UnixMilli(), delta.Milliseconds()
	var calls int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, q := range []struct{ table, col string }{
			{"calls", "started_at"}, {"calls", "answered_at"}, {"calls", "ended_at"},
			{"voicemails", "created_at"}, {"sms", "received_at"}, {"callbacks", "created_at"},
			{"callbacks", "last_attempt_at"}, {"alerts", "created_at"}, {"alerts", "next_at"},
		} {
			// Table and column names are ours, from the list above.
			res, err := tx.ExecContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = %s + ? WHERE %s BETWEEN ? AND ?`,
				q.table, q.col, q.col, q.col), d, lo, hi)
			if err != nil {
				return fmt.Errorf("%s.%s: %w", q.table, q.col, err)
			}
			if q.col == "started_at" {
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
