package web

import (
	"net"
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
	// ThrottleShare: one client address may start at most 1/ThrottleShare of the rate (and
	// of the burst), so a stranger flooding the admin from one device on the office network
	// waits on their own share while the owner's pages start at once.
	ThrottleShare = 4
)

// maxClients bounds the per-address state: beyond it, addresses whose own share is full again
// (quiet ones) are forgotten.
const maxClients = 1024

// Throttle starts at most rate requests a second through h (burst at once after a quiet
// spell), all clients together, and at most a 1/ThrottleShare part of that per client address.
// A request over the rate waits its turn rather than being refused, so pages still answer under
// a flood, only later; a request whose client goes away while it waits is dropped. A client
// first waits on its own share, then takes a turn from the whole: requests of a flooding
// address do not take the turns of others in advance. Long requests (event streams) count
// once, when they start.
func Throttle(h http.Handler, rate, burst int) http.Handler {
	t := &throttle{
		all:     bucket{interval: time.Second / time.Duration(max(rate, 1)), burst: time.Duration(max(burst, 1))},
		client:  bucket{interval: time.Second * ThrottleShare / time.Duration(max(rate, 1)), burst: time.Duration(max(burst/ThrottleShare, 1))},
		clients: map[string]*bucket{},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			addr = r.RemoteAddr
		}
		if !wait(r, t.reserveClient(addr, time.Now())) || !wait(r, t.reserveAll(time.Now())) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// wait sleeps d unless r's client goes away first; it reports whether r is still wanted.
func wait(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

type throttle struct {
	mu      sync.Mutex
	all     bucket
	client  bucket // the template of each address's share
	clients map[string]*bucket
}

// reserveAll takes a turn from the whole rate and returns how long to wait for it.
func (t *throttle) reserveAll(now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.all.reserve(now)
}

// reserveClient takes a turn from addr's own share and returns how long to wait for it.
func (t *throttle) reserveClient(addr string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	b := t.clients[addr]
	if b == nil {
		if len(t.clients) >= maxClients {
			for a, c := range t.clients {
				if !c.full.After(now) {
					delete(t.clients, a)
				}
			}
		}
		b = &bucket{interval: t.client.interval, burst: t.client.burst}
		t.clients[addr] = b
	}
	return b.reserve(now)
}

// bucket is a token bucket kept as the time at which it will be full again (the generic cell
// rate algorithm): each request moves that time one interval on.
type bucket struct {
	interval time.Duration
	burst    time.Duration // in requests
	full     time.Time     // when the bucket is full again
}

// reserve takes a turn for a request that arrives at now and returns how long it must wait.
func (b *bucket) reserve(now time.Time) time.Duration {
	if b.full.Before(now) {
		b.full = now
	}
	b.full = b.full.Add(b.interval)
	return b.full.Sub(now) - b.burst*b.interval
}
