package web

import (
	"context"
	"encoding/binary"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"hotline/daemon/browserline"
	"hotline/hw"
	"hotline/voice/dtmf"
	vtone "hotline/voice/tone"
)

// fakeBox answers the browser line's calls like the switchboard: it plays a tone to the caller
// and listens for keys with the box's DTMF receiver.
type fakeBox struct {
	line *browserline.Line
	ctx  context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu      sync.Mutex
	heard   []int16
	hangups []string
}

func startFakeBox(t *testing.T) *fakeBox {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := &fakeBox{line: browserline.New("browser", nil), ctx: ctx, stop: cancel}
	b.line.RingEvery = 20 * time.Millisecond
	b.wg.Add(1)
	go b.serve()
	t.Cleanup(func() { cancel(); b.wg.Wait() })
	return b
}

func (b *fakeBox) serve() {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case ev := <-b.line.Events():
			switch ev.Kind {
			case hw.Ring:
				if ev.Rings == 2 {
					a, err := b.line.Answer(b.ctx)
					if err == nil {
						b.wg.Add(1)
						go b.talk(a)
					}
				}
			case hw.Hangup:
				b.mu.Lock()
				b.hangups = append(b.hangups, ev.Cause)
				b.mu.Unlock()
			}
		}
	}
}

// talk is the call's audio pump: a frame of a 1 kHz tone out for every frame in.
func (b *fakeBox) talk(a hw.Audio) {
	defer b.wg.Done()
	out := make([]byte, hw.S16LE.FrameBytes())
	for i, s := range vtone.Sine(1000, 20*time.Millisecond, -10) {
		binary.LittleEndian.PutUint16(out[2*i:], uint16(s))
	}
	in := make([]byte, hw.S16LE.FrameBytes())
	for {
		err := a.ReadFrame(in)
		if err != nil && !errors.Is(err, hw.ErrUnderrun) {
			return
		}
		if err == nil {
			b.mu.Lock()
			for i := 0; i < len(in); i += 2 {
				b.heard = append(b.heard, int16(binary.LittleEndian.Uint16(in[i:])))
			}
			b.mu.Unlock()
		}
		if a.WriteFrame(out) != nil {
			return
		}
	}
}

func (b *fakeBox) keys() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return dtmf.Decode(b.heard)
}

func (b *fakeBox) waitHangup(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b.mu.Lock()
		n := len(b.hangups)
		var c string
		if n > 0 {
			c = b.hangups[n-1]
		}
		b.mu.Unlock()
		if n > 0 && !b.line.Busy() {
			return c
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the call did not end")
	return ""
}

func dialTestCall(t *testing.T, ts *httptest.Server, cookie *http.Cookie, origin string) (*websocket.Conn, error) {
	t.Helper()
	cfg, err := websocket.NewConfig("ws"+strings.TrimPrefix(ts.URL, "http")+"/testcall/ws", origin)
	if err != nil {
		t.Fatal(err)
	}
	if cookie != nil {
		cfg.Header.Add("Cookie", cookie.String())
	}
	return websocket.DialConfig(cfg)
}

func pcmFrames(samples []int16) [][]byte {
	var out [][]byte
	for len(samples) >= 160 {
		b := make([]byte, 320)
		for i, s := range samples[:160] {
			binary.LittleEndian.PutUint16(b[2*i:], uint16(s))
		}
		out = append(out, b)
		samples = samples[160:]
	}
	return out
}

// TestTestCallWebSocket calls the box from a fake browser: its key, sent as a DTMF tone, is heard
// by the box; the box's frames reach it; its "hangup" ends the call.
func TestTestCallWebSocket(t *testing.T) {
	f := newOwnedFixture(t, nil)
	box := startFakeBox(t)
	f.srv.testLine = box.line
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	defer ts.Close()

	ws, err := dialTestCall(t, ts, cookie, ts.URL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer ws.Close()

	key, err := vtone.DTMF('7', 100*time.Millisecond, -10)
	if err != nil {
		t.Fatal(err)
	}
	pcm := append(append(vtone.Silence(400*time.Millisecond), key...), vtone.Silence(200*time.Millisecond)...)
	sendErr := make(chan error, 1)
	go func() {
		for _, fr := range pcmFrames(pcm) {
			if err := websocket.Message.Send(ws, fr); err != nil {
				sendErr <- err
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		sendErr <- nil
	}()
	got := 0
	for got < 10 {
		var msg []byte
		_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			t.Fatalf("frame %d from the box: %v", got, err)
		}
		if len(msg) != 320 {
			t.Fatalf("a frame of %d bytes", len(msg))
		}
		got++
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("send: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for box.keys() != "7" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if k := box.keys(); k != "7" {
		t.Fatalf("the box heard keys %q, want 7", k)
	}
	if err := websocket.Message.Send(ws, "hangup"); err != nil {
		t.Fatal(err)
	}
	if c := box.waitHangup(t); c != "remote hang-up" {
		t.Fatalf("hang-up cause %q", c)
	}
	// The box closed the connection.
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var msg []byte
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			break
		}
	}
}

// TestTestCallRefused checks who may open the call's WebSocket.
func TestTestCallRefused(t *testing.T) {
	f := newOwnedFixture(t, nil)
	box := startFakeBox(t)
	cookie, _ := f.login()
	ws := map[string]string{
		"Upgrade": "websocket", "Connection": "Upgrade",
		"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
	}
	with := func(extra map[string]string) map[string]string {
		h := map[string]string{}
		for k, v := range ws {
			h[k] = v
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name    string
		line    bool
		cookies []*http.Cookie
		header  map[string]string
		want    int
	}{
		{"no line", false, []*http.Cookie{cookie}, with(map[string]string{"Origin": "http://example.com"}), http.StatusNotFound},
		{"no session", true, nil, with(map[string]string{"Origin": "http://example.com"}), http.StatusSeeOther},
		{"no origin", true, []*http.Cookie{cookie}, ws, http.StatusForbidden},
		{"other origin", true, []*http.Cookie{cookie}, with(map[string]string{"Origin": "http://evil.example"}), http.StatusForbidden},
		{"origin not http", true, []*http.Cookie{cookie}, with(map[string]string{"Origin": "null"}), http.StatusForbidden},
		{"not a handshake", true, []*http.Cookie{cookie}, map[string]string{"Origin": "http://example.com"}, http.StatusBadRequest},
		{"recorder cannot upgrade", true, []*http.Cookie{cookie}, with(map[string]string{"Origin": "http://example.com"}), http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.srv.testLine = nil
			if tt.line {
				f.srv.testLine = box.line
			}
			w := f.do(req{path: "/testcall/ws", cookies: tt.cookies, header: tt.header, host: "example.com"})
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
		})
	}
	if box.line.Busy() {
		t.Fatal("a refused request started a call")
	}
}

// TestTestCallEndsBadClients: a frame of the wrong size or an oversized message ends the call,
// and a second browser is told the line is busy.
func TestTestCallEndsBadClients(t *testing.T) {
	f := newOwnedFixture(t, nil)
	box := startFakeBox(t)
	f.srv.testLine = box.line
	cookie, _ := f.login()
	ts := httptest.NewServer(f.h)
	defer ts.Close()

	for _, bad := range [][]byte{make([]byte, 100), make([]byte, 4000)} {
		ws, err := dialTestCall(t, ts, cookie, ts.URL)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for !box.line.Busy() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		second, err := dialTestCall(t, ts, cookie, ts.URL)
		if err != nil {
			t.Fatalf("dial a second call: %v", err)
		}
		var word string
		_ = second.SetReadDeadline(time.Now().Add(10 * time.Second))
		if err := websocket.Message.Receive(second, &word); err != nil || word != "busy" {
			t.Fatalf("second call got %q, %v; want busy", word, err)
		}
		second.Close()
		if err := websocket.Message.Send(ws, bad); err != nil {
			t.Fatal(err)
		}
		box.waitHangup(t)
		ws.Close()
	}
}

func TestTestCallPage(t *testing.T) {
	f := newOwnedFixture(t, nil)
	cookie, _ := f.login()
	w := f.do(req{path: "/testcall", cookies: []*http.Cookie{cookie}})
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), htmlEscaped(messages[langRU]["tc_off"])) {
		t.Fatalf("page without a line: %d %s", w.Code, w.Body)
	}
	box := startFakeBox(t)
	f.srv.testLine = box.line
	w = f.do(req{path: "/testcall", cookies: []*http.Cookie{cookie}, header: map[string]string{"Accept-Language": "en"}})
	body := w.Body.String()
	for _, want := range []string{`id="tc-call"`, `data-key="#"`, `data-heard-frames="0"`, "/static/testcall.js?v=", "/static/testcall-worklet.js?v="} {
		if !strings.Contains(body, want) {
			t.Fatalf("page lacks %s:\n%s", want, body)
		}
	}
}
