package store

import (
	"context"
	"fmt"
	"time"
)

// Stats counts calls over a period, for the dashboard.
type Stats struct {
	Total     int // every call that started in the period, those still in progress included
	Answered  int // calls the box took off hook (whatever happened next)
	Missed    int // calls that rang and were never answered (OutcomeMissed)
	Voicemail int // calls that left a message (OutcomeVoicemail)
	Abandoned int // callers who hung up before choosing anything (OutcomeAbandoned)
}

// CallStats counts the calls that started at or after since. One indexed pass over the
// period's rows (calls_started).
func (s *Store) CallStats(ctx context.Context, since time.Time) (Stats, error) {
	var st Stats
	err := s.db.QueryRowContext(ctx, `
		SELECT count(*),
			coalesce(sum(answered_at IS NOT NULL), 0),
			coalesce(sum(outcome = ?), 0),
			coalesce(sum(outcome = ?), 0),
			coalesce(sum(outcome = ?), 0)
		FROM calls WHERE started_at >= ?`,
		OutcomeMissed, OutcomeVoicemail, OutcomeAbandoned, since.UnixMilli(),
	).Scan(&st.Total, &st.Answered, &st.Missed, &st.Voicemail, &st.Abandoned)
	if err != nil {
		return Stats{}, fmt.Errorf("store: call stats since %s: %w", since.Format(time.RFC3339), err)
	}
	return st, nil
}
