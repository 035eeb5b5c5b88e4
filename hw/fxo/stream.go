package fxo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// streamMode is what the bytes from the modem are at the moment.
type streamMode int

const (
	lineMode  streamMode = iota // AT replies and URCs: handed to the AT channel
	dataMode                    // DLE-shielded voice data after CONNECT
	drainMode                   // data mode ended on <DLE><ETX> at the host's request: the OK that follows is ours
)

const (
	// readChunk is the size of one read from the port.
	readChunk = 1024
	// eventBuffer is how many DLE events wait for the line's loop before new ones are dropped.
	dleEventBuffer = 64
)

// stream owns the modem's one port. Its reader (run) splits what arrives between the AT
// channel (in line mode, through a pipe) and the call's audio and DLE events (in data mode);
// it switches to data mode right after the CONNECT line it was armed for and back on
// <DLE><ETX> (or the OK of a modem that leaves data mode without it). Writes from the AT
// channel and the audio path are serialised.
type stream struct {
	port io.ReadWriter
	log  *slog.Logger
	pr   *io.PipeReader // the AT channel reads line-mode bytes here
	pw   *io.PipeWriter

	wmu sync.Mutex // serialises writes to the port

	events chan byte // DLE events of the call (the code after DLE; ETX at the end of data)

	mu       sync.Mutex
	mode     streamMode
	armed    bool       // enter data mode after the next CONNECT line
	stopping bool       // the host sent <DLE>^ or <DLE>!: look for the modem's way out
	audio    *callAudio // where data-mode audio goes
	exited   chan struct{}
	skipLF   bool // drop the LF of "CONNECT\r\n"
	okMatch  int  // bytes of "\nOK\r" matched in data while stopping

	// Used by run only.
	u      unshielder
	line   [64]byte
	lineN  int
	data   [readChunk]byte
	evbuf  [readChunk/2 + 1]byte
	rdbuf  [readChunk]byte
	dropEv int
}

func newStream(port io.ReadWriter, log *slog.Logger) *stream {
	pr, pw := io.Pipe()
	return &stream{port: port, log: log, pr: pr, pw: pw, events: make(chan byte, dleEventBuffer)}
}

// atPort is the port as the AT channel sees it: line-mode bytes in, serialised writes out.
type atPort struct{ s *stream }

func (p atPort) Read(b []byte) (int, error)  { return p.s.pr.Read(b) }
func (p atPort) Write(b []byte) (int, error) { return p.s.write(b) }

func (s *stream) write(b []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.port.Write(b)
}

type readDeadliner interface {
	SetReadDeadline(t time.Time) error
}

// run reads the port until ctx ends (nil) or a read fails (the error). Either way the AT
// channel's pipe is closed, so its Run returns too.
func (s *stream) run(ctx context.Context) (err error) {
	defer func() {
		cause := err
		if cause == nil {
			cause = io.EOF
		}
		s.pw.CloseWithError(cause)
		s.mu.Lock()
		s.leaveDataLocked()
		s.mu.Unlock()
	}()
	if d, ok := s.port.(readDeadliner); ok && d.SetReadDeadline(time.Time{}) == nil {
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Now()) })
		defer stop()
	}
	for {
		n, rerr := s.port.Read(s.rdbuf[:])
		if n > 0 {
			if ferr := s.feed(s.rdbuf[:n]); ferr != nil {
				return ferr
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if rerr != nil {
			if errors.Is(rerr, os.ErrDeadlineExceeded) {
				if d, ok := s.port.(readDeadliner); ok {
					_ = d.SetReadDeadline(time.Time{})
				}
				continue
			}
			return fmt.Errorf("fxo: read: %w", rerr)
		}
	}
}

// feed routes one read. It returns an error only when the AT channel is gone.
func (s *stream) feed(p []byte) error {
	for len(p) > 0 {
		s.mu.Lock()
		mode := s.mode
		s.mu.Unlock()
		var err error
		switch mode {
		case lineMode:
			p, err = s.feedLines(p)
		case dataMode:
			p = s.feedData(p)
		case drainMode:
			p, err = s.feedDrain(p)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// scanLine adds b to the current line and returns the finished line (trimmed) at CR or LF.
func (s *stream) scanLine(b byte) (string, bool) {
	if b == '\r' || b == '\n' {
		line := strings.TrimSpace(string(s.line[:s.lineN]))
		s.lineN = 0
		return line, line != ""
	}
	if s.lineN < len(s.line) {
		s.line[s.lineN] = b
		s.lineN++
	}
	return "", false
}

// feedLines passes line-mode bytes to the AT channel, up to and including a CONNECT line that
// the stream was armed for; the rest is returned.
func (s *stream) feedLines(p []byte) ([]byte, error) {
	s.mu.Lock()
	armed := s.armed
	s.mu.Unlock()
	cut := len(p)
	if armed {
		for i, b := range p {
			if line, ok := s.scanLine(b); ok && (line == "CONNECT" || strings.HasPrefix(line, "CONNECT ")) {
				cut = i + 1
				s.mu.Lock()
				s.armed = false
				s.enterDataLocked()
				s.skipLF = b == '\r'
				s.mu.Unlock()
				break
			}
		}
	} else {
		s.lineN = 0
	}
	if _, err := s.pw.Write(p[:cut]); err != nil {
		return nil, fmt.Errorf("fxo: AT channel gone: %w", err)
	}
	return p[cut:], nil
}

// feedData un-shields voice data into the call's audio and its events; at <DLE><ETX> (or, while
// stopping, the modem's OK) it goes back to line mode and returns the rest.
func (s *stream) feedData(p []byte) []byte {
	s.mu.Lock()
	if s.skipLF {
		s.skipLF = false
		if p[0] == '\n' {
			p = p[1:]
		}
	}
	stopping, a := s.stopping, s.audio
	s.mu.Unlock()
	chunk := p[:min(len(p), len(s.data))]
	data, events, used := s.u.decode(s.data[:0], s.evbuf[:0], chunk)
	if stopping && s.matchOK(data) {
		s.mu.Lock()
		s.leaveDataLocked()
		s.mu.Unlock()
		return p[used:]
	}
	if a != nil {
		a.put(data)
	}
	for _, ev := range events {
		if ev == etx {
			s.mu.Lock()
			if s.stopping {
				s.mode = drainMode
				s.lineN = 0
			} else {
				s.leaveDataLocked()
			}
			s.mu.Unlock()
		}
		select {
		case s.events <- ev:
		default:
			s.dropEv++
			if s.dropEv == 1 || s.dropEv%100 == 0 {
				s.log.Warn("DLE events dropped: the line's loop lags", "dropped", s.dropEv)
			}
		}
	}
	return p[used:]
}

// matchOK looks for "\nOK\r" in data, the reply of a modem that leaves data mode without
// <DLE><ETX>. It keeps its progress across reads.
func (s *stream) matchOK(data []byte) bool {
	const want = "\nOK\r"
	for _, b := range data {
		switch {
		case b == want[s.okMatch]:
			s.okMatch++
		case b == want[0]:
			s.okMatch = 1
		default:
			s.okMatch = 0
		}
		if s.okMatch == len(want) {
			s.okMatch = 0
			return true
		}
	}
	return false
}

// feedDrain swallows the OK that ends a data session the host stopped; other lines go on to
// the AT channel.
func (s *stream) feedDrain(p []byte) ([]byte, error) {
	for i, b := range p {
		line, ok := s.scanLine(b)
		if !ok {
			continue
		}
		if line == "OK" {
			s.mu.Lock()
			s.leaveDataLocked()
			s.mu.Unlock()
			return p[i+1:], nil
		}
		if _, err := s.pw.Write([]byte("\r\n" + line + "\r\n")); err != nil {
			return nil, fmt.Errorf("fxo: AT channel gone: %w", err)
		}
	}
	return nil, nil
}

// arm makes the stream enter data mode after the next CONNECT, with audio a. It returns the
// channel closed when that data session ends.
func (s *stream) arm(a *callAudio) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = true
	s.audio = a
	s.exited = make(chan struct{})
	return s.exited
}

// disarm cancels arm when the CONNECT never came.
func (s *stream) disarm() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.armed = false
	if s.mode == lineMode {
		s.audio = nil
	}
}

func (s *stream) enterDataLocked() {
	s.mode = dataMode
	s.stopping = false
	s.okMatch = 0
	s.u.reset()
}

// leaveDataLocked returns to line mode and signals the end of the data session.
func (s *stream) leaveDataLocked() {
	s.mode = lineMode
	s.armed, s.stopping, s.skipLF = false, false, false
	s.audio = nil
	s.lineN = 0
	if s.exited != nil {
		close(s.exited)
		s.exited = nil
	}
}

// inData reports whether the stream is in a data session (or draining its end).
func (s *stream) inData() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mode != lineMode
}

// stop asks the modem to leave data mode with <DLE>code and returns the channel closed once
// it has (nil when not in data mode).
func (s *stream) stop(code byte) (<-chan struct{}, error) {
	s.mu.Lock()
	if s.mode == lineMode {
		s.mu.Unlock()
		return nil, nil
	}
	s.stopping = true
	exited := s.exited
	s.mu.Unlock()
	_, err := s.write([]byte{dle, code})
	return exited, err
}

// forceLine gives up on a modem that did not confirm the end of data mode.
func (s *stream) forceLine() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.leaveDataLocked()
}

// writeAudio sends shielded audio if the stream is in a data session the host has not stopped.
func (s *stream) writeAudio(p []byte) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.mu.Lock()
	live := s.mode == dataMode && !s.stopping
	s.mu.Unlock()
	if !live {
		return false, nil
	}
	_, err := s.port.Write(p)
	return true, err
}
