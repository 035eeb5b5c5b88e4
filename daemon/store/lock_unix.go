//go:build unix

package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// dirLock tells whether this Store is the only one using the data directory. The first Open
// takes an exclusive flock, repairs what a crash left behind, and then shares the lock; an Open
// that finds the directory in use (say `hotline passwd` while the daemon runs) only shares it
// and leaves the other process's calls in progress alone.
type dirLock struct {
	f         *os.File
	exclusive bool
}

func lockDir(ctx context.Context, path string) (*dirLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	l := &dirLock{f: f}
	err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		l.exclusive = true
		return l, nil
	}
	if !errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := l.share(ctx); err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// share turns the lock into a shared one, waiting while another Open holds it exclusively
// (which lasts only as long as that Open's crash recovery).
func (l *dirLock) share(ctx context.Context) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		err := flock(l.f, syscall.LOCK_SH|syscall.LOCK_NB)
		if err == nil {
			l.exclusive = false
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("lock %s: %w", l.f.Name(), err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("lock %s: %w", l.f.Name(), ctx.Err())
		case <-t.C:
		}
	}
}

func (l *dirLock) release() {
	if l == nil || l.f == nil {
		return
	}
	flock(l.f, syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
