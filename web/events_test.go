package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/daemon"
	"hotline/daemon/store"
	"hotline/daemon/switchboard"
)

// fakeBoard is a CallEnds that tests publish on, counting its subscribers.
type fakeBoard struct {
	mu   sync.Mutex
	subs map[chan switchboard.CallEnd]bool
}

func newFakeBoard() *fakeBoard { return &fakeBoard{subs: map[chan switchboard.CallEnd]bool{}} }

func (b *fakeBoard) Subscribe() (<-chan switchboard.CallEnd, func()) {
	ch := make(chan switchboard.CallEnd, 16)
	b.mu.Lock()
	b.subs[ch] = true
	b.mu.Unlock()
	return ch, func() {
		b.mu.Lock()
		delete(b.subs, ch)
		b.mu.Unlock()
	}
}

func (b *fakeBoard) publish(e switchboard.CallEnd) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (b *fakeBoard) subscribers() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.subs)
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lockedLines is a LineStatus a test may change while the server reads it.
type lockedLines struct {
	mu    sync.Mutex
	lines []daemon.LineInfo
}

func (l *lockedLines) LineInfos() []daemon.LineInfo {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]daemon.LineInfo(nil), l.lines...)
}

func (l *lockedLines) Counters() daemon.Counters { return daemon.Counters{} }

func (l *lockedLines) setState(i int, state string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines[i].State = state
}

// sseEvent is one event read from a stream ("" event for a comment).
type sseEvent struct {
	event, data, comment string
}

// stream is an open /events connection.
type stream struct {
	events chan sseEvent
	cancel context.CancelFunc
	done   chan struct{}
}

func openStream(t *testing.T, url string, cookie *http.Cookie) *stream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Accept", "text/event-stream")
	r.Header.Set("Accept-Language", "en")
	r.AddCookie(cookie)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		cancel()
		t.Fatalf("GET /events: %v", err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		cancel()
		resp.Body.Close()
		t.Fatalf("GET /events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{events: make(chan sseEvent, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var e sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if e != (sseEvent{}) {
					s.events <- e
				}
				e = sseEvent{}
			case strings.HasPrefix(line, ":"):
				e.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "event: "):
				e.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				e.data = line[len("data: "):]
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-s.done
	})
	return s
}

// next returns the next dashboard event, skipping comments and other fields.
func (s *stream) next(t *testing.T) dashEvent {
	t.Helper()
	for {
		select {
		case e := <-s.events:
			if e.event != "dashboard" {
				continue
			}
			var d dashEvent
			if err := json.Unmarshal([]byte(e.data), &d); err != nil {
				t.Fatalf("event data %q: %v", e.data, err)
			}
			return d
		case <-s.done:
			t.Fatal("the stream ended")
		case <-time.After(20 * time.Second):
			t.Fatal("no event")
		}
	}
}

func eventsFixture(t *testing.T, every, heartbeat time.Duration) (*fixture, *fakeBoard, *lockedLines, *httptest.Server, *http.Cookie) {
	t.Helper()
	f := newOwnedFixture(t, nil)
	board := newFakeBoard()
	lines := &lockedLines{lines: []daemon.LineInfo{
		{ID: "gsm1", Kind: "quectel", State: "ready", SIM: "ready", SignalBars: 4, Operator: `<b>MTS</b>`},
	}}
	f.srv.calls, f.srv.lines, f.srv.now = board, lines, f.now
	f.srv.eventsEvery, f.srv.heartbeatEvery = every, heartbeat
	ts := httptest.NewServer(f.h)
	t.Cleanup(ts.Close)
	cookie, _ := f.login()
	return f, board, lines, ts, cookie
}

// TestEventsCallEnd: a stream gets the state on connecting and again, with the new counts, as
// soon as a call ends; when the client goes, the handler ends and unsubscribes.
func TestEventsCallEnd(t *testing.T) {
	f, board, _, ts, cookie := eventsFixture(t, time.Hour, time.Hour)
	s := openStream(t, ts.URL, cookie)
	first := s.next(t)
	if first.Today.Total != 0 || len(first.Lines) != 1 || first.Lines[0].State != messages[langEN]["line_ready"] ||
		first.Lines[0].Operator != `<b>MTS</b>` || first.Words.Idle != messages[langEN]["call_idle"] {
		t.Fatalf("first event %+v", first)
	}
	waitFor(t, "the subscription", func() bool { return board.subscribers() == 1 })

	id := f.logCall("gsm1", "+79161234567", f.now().Add(-time.Minute), store.Summary{Outcome: store.OutcomeMissed})
	board.publish(switchboard.CallEnd{LineID: "gsm1", CallID: id})
	got := s.next(t)
	if got.Today.Total != 1 || got.Today.Missed != 1 {
		t.Errorf("after the call ended: %+v", got.Today)
	}

	s.cancel()
	waitFor(t, "the handler to end and unsubscribe", func() bool { return board.subscribers() == 0 })
}

// TestEventsRefreshAndHeartbeat: the periodic look sends only changes; comments keep the line up.
func TestEventsRefreshAndHeartbeat(t *testing.T) {
	_, board, lines, ts, cookie := eventsFixture(t, 10*time.Millisecond, 10*time.Millisecond)
	s := openStream(t, ts.URL, cookie)
	s.next(t)
	lines.setState(0, "down")
	got := s.next(t)
	if got.Lines[0].State != messages[langEN]["line_down"] || got.Lines[0].StateClass != "bad" || len(got.Alerts) != 1 {
		t.Errorf("after the line went down: %+v", got)
	}
	// No change: only comments until the next change.
	pings := 0
	for pings < 3 {
		select {
		case e := <-s.events:
			if e.event != "" {
				t.Fatalf("event %q without a change", e.event)
			}
			if e.comment == "ping" {
				pings++
			}
		case <-time.After(20 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
	s.cancel()
	waitFor(t, "unsubscribe", func() bool { return board.subscribers() == 0 })
}

// TestEventsServerClose: Close ends open streams (so the http.Server can shut down) and
// refuses new ones.
func TestEventsServerClose(t *testing.T) {
	f, board, _, ts, cookie := eventsFixture(t, time.Hour, time.Hour)
	s := openStream(t, ts.URL, cookie)
	s.next(t)
	f.srv.Close()
	f.srv.Close() // twice is fine
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the stream stayed open after Close")
	}
	waitFor(t, "unsubscribe", func() bool { return board.subscribers() == 0 })
	w := f.do(req{path: "/events", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept": "text/event-stream"}})
	if w.Code != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d", w.Code)
	}
}

// TestEventsAccess: a stream needs a viewing session and must be asked for as one.
func TestEventsAccess(t *testing.T) {
	f, _, _, _, cookie := eventsFixture(t, time.Hour, time.Hour)
	sse := map[string]string{"Accept": "text/event-stream"}
	if w := f.do(req{path: "/events", header: sse}); w.Code != http.StatusUnauthorized {
		t.Errorf("no session: %d", w.Code)
	}
	if w := f.do(req{path: "/events", cookies: []*http.Cookie{cookie}}); w.Code != http.StatusNotAcceptable {
		t.Errorf("not asked as a stream: %d", w.Code)
	}
	for in, want := range map[string]bool{
		"text/event-stream": true, "text/html, text/event-stream;q=0.9": true, "TEXT/EVENT-STREAM": true,
		"": false, "*/*": false, "text/event-streamx": false,
	} {
		r := httptest.NewRequest("GET", "/events", nil)
		r.Header.Set("Accept", in)
		if got := acceptsEventStream(r); got != want {
			t.Errorf("Accept %q: %v", in, got)
		}
	}
}

// TestEventsOutliveWriteTimeout: the admin's http.Server has a short WriteTimeout; a stream
// moves its write deadline on with each write, so it keeps going well past it.
func TestEventsOutliveWriteTimeout(t *testing.T) {
	f := newOwnedFixture(t, nil)
	f.srv.now = f.now
	f.srv.eventsEvery, f.srv.heartbeatEvery = time.Hour, 20*time.Millisecond
	ts := httptest.NewUnstartedServer(f.h)
	ts.Config.WriteTimeout = 100 * time.Millisecond
	ts.Start()
	t.Cleanup(ts.Close) // after the stream's own cleanup has closed it
	cookie, _ := f.login()
	s := openStream(t, ts.URL, cookie)
	s.next(t)
	deadline := time.Now().Add(5 * ts.Config.WriteTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.events:
		case <-s.done:
			t.Fatal("the stream was cut by the server's WriteTimeout")
		case <-time.After(20 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
}
