package store

import (
	"context"
	"fmt"
)

// CloseCallback ends an open callback request without an attempt: somebody called the caller
// some other way, or no call is needed. status is CallbackDone or CallbackFailed; note says
// why. A request that is not open is left as it is and ErrNotFound is returned, as for one
// that does not exist.
func (s *Store) CloseCallback(ctx context.Context, id int64, status, note, by string) error {
	if status != CallbackDone && status != CallbackFailed {
		return fmt.Errorf("store: close callback %d: status %q", id, status)
	}
	res, err := s.exec(ctx, `UPDATE callbacks SET status = ?, outcome = ?, handled_by = ? WHERE id = ? AND status = 'open'`,
		status, cleanText(note, 200), cleanText(by, 64), id)
	if err != nil {
		return fmt.Errorf("store: close callback %d: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: close callback %d: not open: %w", id, ErrNotFound)
	}
	return nil
}
