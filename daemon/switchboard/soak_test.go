package switchboard

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"hotline/hw"
	"hotline/voice/tone"
)

// soakCalls is how many calls TestSoakSwitchboard places: a few hundred in `make test`, 10,000
// under `make soak` (HOTLINE_SOAK=1), or HOTLINE_SOAK_CALLS.
func soakCalls() int {
	if n, err := strconv.Atoi(os.Getenv("HOTLINE_SOAK_CALLS")); err == nil && n > 0 {
		return n
	}
	if os.Getenv("HOTLINE_SOAK") != "" {
		return 10000
	}
	return 240
}

// TestSoakSwitchboard runs many calls over eight lines at once on the virtual clock, with
// mixed outcomes (voicemail, information and hang-up, hang-up in the greeting, an operator who
// answers, a caller who gives up ringing): every call gets exactly one complete record, no
// audio frame is late, and no goroutine is left behind.
func TestSoakSwitchboard(t *testing.T) {
	calls := soakCalls()
	const lines = 8
	synctest.Test(t, func(t *testing.T) {
		st := newFakeStore()
		people := &fakePeople{persons: []Person{{Name: "Anna", SIPUser: "anna"}, {Name: "Boris", SIPUser: "boris"}},
			answerAfter: 2 * time.Second, talk: 4 * time.Second}
		b := New(Options{Store: st, Prompts: testPrompts, VoicemailDir: t.TempDir(), Now: openHours, People: people})
		ctx, cancel := context.WithCancel(context.Background())
		ends, cancelSub := b.Subscribe()
		defer cancelSub()

		var serve sync.WaitGroup
		var placed sync.WaitGroup
		perLine := (calls + lines - 1) / lines
		total := 0
		counts := make(map[string]int)
		var mu sync.Mutex
		for i := range lines {
			n := min(perLine, calls-i*perLine)
			if n <= 0 {
				break
			}
			total += n
			l := &fakeLine{id: fmt.Sprintf("gsm%d", i+1), ev: make(chan hw.Event, 16), hungUp: make(chan struct{})}
			rnd := rand.New(rand.NewPCG(uint64(i), 7))
			serve.Go(func() { _ = b.Serve(ctx, l) })
			placed.Go(func() {
				for range n {
					kind := rnd.IntN(5)
					mu.Lock()
					counts[[]string{"voicemail", "info", "greeting hang-up", "operator", "gave up"}[kind]]++
					mu.Unlock()
					soakCall(t, l, kind)
				}
			})
		}
		// Every call ends with exactly one record.
		got := 0
		done := make(chan struct{})
		go func() { placed.Wait(); close(done) }()
	wait:
		for {
			select {
			case <-ends:
				got++
			case <-done:
				break wait
			}
		}
		time.Sleep(time.Minute) // the last records
		for {
			select {
			case <-ends:
				got++
				continue
			default:
			}
			break
		}
		st.mu.Lock()
		records, finished := len(st.calls), 0
		outcomes := map[string]int{}
		for _, c := range st.calls {
			if c.ended && c.outcome != "" {
				finished++
			}
			outcomes[c.outcome]++
		}
		st.mu.Unlock()
		mu.Lock()
		if outcomes["answered"] != counts["operator"] || outcomes["voicemail"] != counts["voicemail"] || outcomes["completed"] != counts["info"] {
			t.Errorf("outcomes %v for callers %v", outcomes, counts)
		}
		mu.Unlock()
		if records != total || finished != total || got != total {
			t.Errorf("%d calls placed: %d records, %d finished, %d ends published", total, records, finished, got)
		}
		if c := b.Counters(); c.Underruns != 0 || c.RecorderDrops != 0 || c.ActiveCalls != 0 {
			t.Errorf("counters after the soak: %+v", c)
		}
		t.Logf("%d calls on %d lines: %v", total, lines, counts)
		cancel()
		serve.Wait()
		cancelSub()
		// A goroutine of the bubble left running or blocked makes synctest.Test fail: the
		// bubble must be empty when the test function returns.
	})
}

// soakCall places one call of the given kind on l and waits until the line is idle again.
func soakCall(t *testing.T, l *fakeLine, kind int) {
	var caller script
	hangup := time.Duration(0)
	switch kind {
	case 0: // presses nothing, leaves a message after the menu timed out twice
		caller = script(nil).at(16*time.Second, tone.Sine(300, 2*time.Second, -12))
	case 1: // information, then hang up
		caller = script(nil).at(2500*time.Millisecond, key(t, '1'))
		hangup = 4 * time.Second
	case 2: // hangs up in the greeting
		hangup = 500 * time.Millisecond
	case 3: // an operator answers and talks, the caller rates
		caller = script(nil).at(2500*time.Millisecond, key(t, '0')).at(12*time.Second, key(t, '5'))
	case 4: // gives up before the answer
		hangup = -1
	}
	audio := &fakeAudio{caller: caller, closed: make(chan struct{})}
	l.next(audio)
	l.ev <- hw.Event{Kind: hw.Ring, Rings: 1, Number: "+79161234567", Time: time.Now()}
	switch {
	case hangup < 0:
		// The box answers on the first ring in this test; a caller who gives up does so
		// between the ring event and the answer: send both at once.
		close(audio.closed)
		l.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller gave up"}
	case hangup > 0:
		time.Sleep(hangup)
		close(audio.closed)
		l.ev <- hw.Event{Kind: hw.Hangup, Cause: "caller hung up"}
	default:
		<-l.hungUpChan()
		close(audio.closed)
		l.ev <- hw.Event{Kind: hw.Hangup, Cause: "box hung up"}
	}
	time.Sleep(2 * time.Second) // the line rests between calls
}
