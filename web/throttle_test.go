package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// A flood is served at the throttle's rate, every request answered; a quiet spell refills the
// burst; a client that leaves while waiting is not served.
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
		get := func(ctx context.Context) int {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil))
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
