package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/websocket"

	"hotline/daemon/browserline"
)

// TestLine places a call from the owner's browser into the box ((*browserline.Line)).
type TestLine interface {
	// Call rings the box and carries the call over t until it ends; it closes t.
	Call(ctx context.Context, t browserline.Transport) error
	// Busy reports whether a test call is on the line now.
	Busy() bool
}

const (
	// testCallIdle is how long the browser may stay silent before its call is dropped (it
	// sends a frame every 20 ms while the call is up).
	testCallIdle = 10 * time.Second
	// testCallWrite bounds sending one frame to a slow browser.
	testCallWrite = 2 * time.Second
	// testCallMaxMessage bounds a message from the browser (a frame is 320 bytes).
	testCallMaxMessage = 1024
	// testCallRate bounds the browser's messages a second (it sends 50).
	testCallRate = 150
)

// testCallPage is the test-call page's own data.
type testCallPage struct {
	Available bool
	Script    string
	Worklet   string
	CSS       string
	Keys      []string
}

func (s *Server) handleTestCall(w http.ResponseWriter, r *http.Request) {
	v := s.newView(r, "tc_title")
	v.Page = testCallPage{
		Available: s.testLine != nil,
		Script:    s.assets.url("testcall.js"),
		Worklet:   s.assets.url("testcall-worklet.js"),
		CSS:       s.assets.url("testcall.css"),
		Keys:      []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"},
	}
	s.render(w, r, http.StatusOK, "testcall.html", v)
}

// handleTestCallWS carries a test call's audio: 320-byte binary messages (20 ms of 8 kHz s16le)
// both ways; the text message "hangup" ends the call. Only a WebSocket handshake from the
// box's own pages is accepted.
func (s *Server) handleTestCallWS(w http.ResponseWriter, r *http.Request) {
	if s.testLine == nil {
		s.handleNotFound(w, r)
		return
	}
	if !sameOrigin(r) {
		s.log.Warn("test call from another origin refused", "origin", r.Header.Get("Origin"), "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if _, ok := w.(http.Hijacker); !ok || !isWebSocketHandshake(r) {
		http.Error(w, "a WebSocket handshake is expected here", http.StatusBadRequest)
		return
	}
	ws := websocket.Server{
		Handshake: func(*websocket.Config, *http.Request) error { return nil }, // checked above
		Handler: func(conn *websocket.Conn) {
			s.serveTestCall(conn)
		},
	}
	ws.ServeHTTP(w, r)
}

func (s *Server) serveTestCall(conn *websocket.Conn) {
	conn.MaxPayloadBytes = testCallMaxMessage
	if s.testLine.Busy() {
		_ = conn.SetWriteDeadline(time.Now().Add(testCallWrite))
		_ = websocket.Message.Send(conn, "busy")
		_ = conn.Close()
		return
	}
	ctx, cancel := context.WithCancel(conn.Request().Context())
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends the call when the admin shuts down
		defer wg.Done()
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	defer wg.Wait()
	t := &wsTransport{conn: conn}
	if err := s.testLine.Call(ctx, t); err != nil {
		s.log.Info("test call ended", "error", err)
	}
}

// sameOrigin reports whether the request's Origin header names the host it was sent to.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return false
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func isWebSocketHandshake(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket") &&
		strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") &&
		r.Header.Get("Sec-Websocket-Key") != "" &&
		r.Header.Get("Sec-Websocket-Version") == "13"
}

// errTooFast ends a call whose browser sends far more than one message every 20 ms.
var errTooFast = errors.New("web: the browser sends too many messages")

// wsTransport carries a test call over a WebSocket.
type wsTransport struct {
	conn *websocket.Conn

	// Used by the reading goroutine only.
	window time.Time // start of the current second
	count  int       // messages in it
}

// frameCodec receives a message with its type: binary frames into *[]byte (reusing its
// storage), text into *string.
var frameCodec = websocket.Codec{
	Marshal: func(v any) ([]byte, byte, error) {
		b, _ := v.([]byte)
		return b, websocket.BinaryFrame, nil
	},
	Unmarshal: func(data []byte, payloadType byte, v any) error {
		m := v.(*wsMessage)
		m.text = payloadType == websocket.TextFrame
		m.data = data
		return nil
	},
}

type wsMessage struct {
	text bool
	data []byte
}

func (t *wsTransport) ReadFrame(p []byte) error {
	for {
		if err := t.conn.SetReadDeadline(time.Now().Add(testCallIdle)); err != nil {
			return fmt.Errorf("web: test call: %w", err)
		}
		var m wsMessage
		if err := frameCodec.Receive(t.conn, &m); err != nil {
			return fmt.Errorf("web: test call: %w", err)
		}
		now := time.Now()
		if now.Sub(t.window) >= time.Second {
			t.window, t.count = now, 0
		}
		if t.count++; t.count > testCallRate {
			return errTooFast
		}
		switch {
		case m.text && string(m.data) == "hangup":
			return browserline.ErrHangup
		case m.text:
			continue // unknown words are ignored
		case len(m.data) != len(p):
			return fmt.Errorf("web: test call: a frame of %d bytes (want %d)", len(m.data), len(p))
		}
		copy(p, m.data)
		return nil
	}
}

func (t *wsTransport) WriteFrame(p []byte) error {
	if err := t.conn.SetWriteDeadline(time.Now().Add(testCallWrite)); err != nil {
		return fmt.Errorf("web: test call: %w", err)
	}
	if err := frameCodec.Send(t.conn, p); err != nil {
		return fmt.Errorf("web: test call: send audio: %w", err)
	}
	return nil
}

func (t *wsTransport) Close() error { return t.conn.Close() }

func init() { pageFiles = append(pageFiles, "testcall.html") }
