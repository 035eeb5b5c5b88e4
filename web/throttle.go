package web

import (
	"net/http"
	"sync"
	"time"
)

// Admin request rate: enough for people using the admin (a page is a handful of requests),
// far below what a flood from the network would make the box serve. Served flat out, a flood
// takes every core and the calls' audio misses its 20 ms deadlines (docs/RELIABILITY.md).
const (
	ThrottleRate  = 100 // requests started per second, all clients together
	ThrottleBurst = 100 // requests that may start at once after a quiet spell
)

// Throttle starts at most rate requests a second through h (burst at once after a quiet
// spell), all clients together. A request over the rate waits its turn rather than being
// refused, so pages still answer under a flood, only later; a request whose client goes away
// while it waits is dropped. Long requests (event streams) count once, when they start.
func Throttle(h http.Handler, rate, burst int) http.Handler {
	t := &throttle{interval: time.Second / time.Duration(max(rate, 1)), burst: time.Duration(max(burst, 1))}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wait := t.reserve(time.Now()); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-timer.C:
			case <-r.Context().Done():
				timer.Stop()
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

// throttle is a token bucket kept as the time at which it will be full again (the generic
// cell rate algorithm): each request moves that time one interval on.
type throttle struct {
	mu       sync.Mutex
	interval time.Duration
	burst    time.Duration // in requests
	full     time.Time     // when the bucket is full again
}

// reserve takes a turn for a request that arrives at now and returns how long it must wait.
func (t *throttle) reserve(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.full.Before(now) {
		t.full = now
	}
	t.full = t.full.Add(t.interval)
	return t.full.Sub(now) - t.burst*t.interval
}
