//go:build !unix

package store

import "context"

// dirLock is a no-op where flock is not available: every Open counts as the only one.
type dirLock struct{ exclusive bool }

func lockDir(context.Context, string) (*dirLock, error) { return &dirLock{exclusive: true}, nil }
func (l *dirLock) share(context.Context) error          { l.exclusive = false; return nil }
func (l *dirLock) release()                             {}
