package web

import (
	"container/list"
	"sync"
	"time"
)

// Login and setup-code guessing limits.
const (
	maxFailures   = 5                // failed attempts allowed per key in a window
	failureWindow = 15 * time.Minute // how long a failure counts
	maxTracked    = 4096             // keys remembered at most; the least recently failed go first
	// fullAt is how many keys with recent failures make every key blocked: that many
	// addresses and names failing within the window is a flood, and letting it go on would
	// push the failures of the account under attack out of memory. Below maxTracked, so that
	// the few attempts already past the check when it fills up evict nothing.
	fullAt = maxTracked - 64
)

// limiter counts recent failures per key (a client address, an account) and says when a key
// has had too many. It keeps at most maxTracked keys, so a flood of addresses cannot grow it
// without bound; once fullAt keys have recent failures, every key is blocked until the oldest
// of them leave the window, so a flood cannot make it forget an account's failures either. The
// clock is a field so tests can move time.
type limiter struct {
	mu    sync.Mutex
	now   func() time.Time
	keys  map[string]*list.Element // of *failures
	order *list.List               // most recently failed first
}

type failures struct {
	key   string
	times []time.Time // oldest first, at most maxFailures, all within the window
}

func newLimiter(now func() time.Time) *limiter {
	return &limiter{now: now, keys: make(map[string]*list.Element), order: list.New()}
}

// blocked reports whether any of the keys has used up its failures, and how long until the
// last of them may try again.
func (l *limiter) blocked(keys ...string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	var wait time.Duration
	// Keys whose failures have all left the window go, least recently failed first.
	for e := l.order.Back(); e != nil; e = l.order.Back() {
		f := e.Value.(*failures)
		if len(f.times) > 0 && now.Before(f.times[len(f.times)-1].Add(failureWindow)) {
			break
		}
		l.remove(e)
	}
	if l.order.Len() >= fullAt {
		f := l.order.Back().Value.(*failures)
		return true, max(f.times[len(f.times)-1].Add(failureWindow).Sub(now), time.Second)
	}
	for _, k := range keys {
		e, ok := l.keys[k]
		if !ok {
			continue
		}
		f := e.Value.(*failures)
		f.prune(now)
		if len(f.times) == 0 {
			l.remove(e)
			continue
		}
		if len(f.times) >= maxFailures {
			wait = max(wait, f.times[0].Add(failureWindow).Sub(now))
		}
	}
	return wait > 0, wait
}

// fail records one failed attempt for each key.
func (l *limiter) fail(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	for _, k := range keys {
		var f *failures
		if e, ok := l.keys[k]; ok {
			f = e.Value.(*failures)
			l.order.MoveToFront(e)
		} else {
			f = &failures{key: k}
			l.keys[k] = l.order.PushFront(f)
		}
		f.prune(now)
		if len(f.times) == maxFailures {
			f.times = append(f.times[:0], f.times[1:]...)
		}
		f.times = append(f.times, now)
	}
	for l.order.Len() > maxTracked {
		l.remove(l.order.Back())
	}
}

// reset forgets the failures of the keys, after a successful attempt.
func (l *limiter) reset(keys ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		if e, ok := l.keys[k]; ok {
			l.remove(e)
		}
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

func (l *limiter) remove(e *list.Element) {
	delete(l.keys, e.Value.(*failures).key)
	l.order.Remove(e)
}

// prune drops failures older than the window.
func (f *failures) prune(now time.Time) {
	i := 0
	for i < len(f.times) && !now.Before(f.times[i].Add(failureWindow)) {
		i++
	}
	f.times = f.times[i:]
}
