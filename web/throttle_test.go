package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A flood from many addresses is served at the throttle's rate, every request answered; a quiet
// spell refills the burst; a client that leaves while waiting is not served.
func TestThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var started []time.Duration
		start := time.Now()
		h := Throttle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			started = append(started, time.Since(start))
			mu.Unlock()
		}), 10, 3)
		var n atomic.Int64
		get := func(ctx context.Context) int {
			rec := httptest.NewRecorder()
			req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
			req.RemoteAddr = fmt.Sprintf("192.0.2.%d:1234", n.Add(1)) // each its own client
			h.ServeHTTP(rec, req)
			return rec.Code
		}
		var wg sync.WaitGroup
		for range 13 {
			wg.Go(func() {
				if code := get(context.Background()); code != http.StatusOK {
					t.Errorf("status %d", code)
				}
			})
		}
		wg.Wait()
		if len(started) != 13 {
			t.Fatalf("%d of 13 requests served", len(started))
		}
		// 3 at once, then one every 100 ms: the last starts after a second.
		if last := started[12]; last != time.Second {
			t.Errorf("13 requests at 10/s with a burst of 3: the last started after %v, want 1s", last)
		}
		if n := count(started, 0); n != 3 {
			t.Errorf("%d requests started at once, want the burst of 3", n)
		}

		time.Sleep(time.Second) // the burst is back
		started, start = nil, time.Now()
		for range 3 {
			get(context.Background())
		}
		if n := count(started, 0); n != 3 {
			t.Errorf("after a quiet second %d requests started at once, want 3", n)
		}

		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int)
		go func() { done <- get(ctx) }()
		synctest.Wait()
		cancel()
		<-done
		if len(started) != 3 {
			t.Errorf("a request whose client left while waiting was served")
		}
	})
}

func count(ds []time.Duration, d time.Duration) int {
	n := 0
	for _, x := range ds {
		if x == d {
			n++
		}
	}
	return n
}

// One address flooding the admin waits on its own share of the rate: another client's request
// starts at once, and every request of the flood is still answered.
func TestThrottleShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		started := map[string][]time.Duration{}
		start := time.Now()
		h := Throttle(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			started[r.RemoteAddr] = append(started[r.RemoteAddr], time.Since(start))
			mu.Unlock()
		}), 100, 20)
		get := func(addr string) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = addr
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				t.Errorf("%s: status %d", addr, rec.Code)
			}
		}
		const flood = "192.0.2.66:4000"
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() { get(flood) })
		}
		time.Sleep(time.Second)
		synctest.Wait()
		owner := time.Now()
		get("192.0.2.10:5000")
		if waited := time.Since(owner); waited != 0 {
			t.Errorf("the owner's request waited %v behind another address's flood", waited)
		}
		wg.Wait()
		got := started[flood]
		if len(got) != 200 {
			t.Fatalf("%d of the flood's 200 requests served", len(got))
		}
		// Its share: 25 a second after a burst of 5.
		if last, want := got[199], 195*40*time.Millisecond; last != want {
			t.Errorf("the flood's last request started after %v, want %v", last, want)
		}
	})
}
