package sim

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.bug.st/serial"

	"hotline/voice"
)

// startModem creates a modem and serves it for the duration of the test. Cleanup stops Run,
// checks that it ended cleanly, and closes the modem.
func startModem(t *testing.T, opts Options) *EC25 {
	t.Helper()
	if opts.ID == "" {
		opts.ID = t.Name()
	}
	m, err := NewEC25(opts)
	if err != nil {
		t.Fatalf("NewEC25: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Run did not return after cancel")
		}
		if err := m.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	waitRunning(t, m)
	return m
}

// waitRunning waits until Run serves m.
func waitRunning(t *testing.T, m *EC25) {
	t.Helper()
	for range 500 {
		m.mu.Lock()
		running := m.running
		m.mu.Unlock()
		if running {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("Run did not start")
}

// openSerial opens a port the way the daemon does.
func openSerial(t *testing.T, path string) serial.Port {
	t.Helper()
	p, err := serial.Open(path, &serial.Mode{BaudRate: 115200})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return p
}

// atConn is the box's end of the AT port in tests.
type atConn struct {
	t    *testing.T
	port serial.Port
	data chan []byte
	done chan struct{}
	buf  []byte
}

func dialAT(t *testing.T, m interface{ ATPath() string }) *atConn {
	t.Helper()
	c := &atConn{t: t, port: openSerial(t, m.ATPath()), data: make(chan []byte, 256),
		done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.data)
		for {
			p := make([]byte, 512)
			n, err := c.port.Read(p)
			if n > 0 {
				c.data <- p[:n]
			}
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *atConn) close() {
	c.port.Close()
	go func() {
		for range c.data { // let the reader finish
		}
	}()
	<-c.done
}

func (c *atConn) send(s string) {
	c.t.Helper()
	if _, err := c.port.Write([]byte(s)); err != nil {
		c.t.Fatalf("write %q: %v", s, err)
	}
}

// fill waits for more bytes; false on timeout.
func (c *atConn) fill(deadline time.Time) bool {
	select {
	case p, ok := <-c.data:
		if !ok {
			c.t.Fatal("AT port closed")
		}
		c.buf = append(c.buf, p...)
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}

// isFinal reports whether line is a final result code.
func isFinal(line string) bool {
	return line == "OK" || line == "ERROR" || line == "NO CARRIER" ||
		strings.HasPrefix(line, "+CME ERROR:")
}

// untilFinal returns the raw bytes up to and including the first final result line.
func (c *atConn) untilFinal(timeout time.Duration) []byte {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		start := 0
		for {
			i := bytes.Index(c.buf[start:], []byte("\r\n"))
			if i < 0 {
				break
			}
			line := string(c.buf[start : start+i])
			end := start + i + 2
			if isFinal(line) {
				out := bytes.Clone(c.buf[:end])
				c.buf = c.buf[end:]
				return out
			}
			start = end
		}
		if !c.fill(deadline) {
			c.t.Fatalf("no final result within %v; got %q", timeout, c.buf)
		}
	}
}

// line returns the next non-empty line (without CR LF), or "" and false on timeout.
func (c *atConn) line(timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	for {
		for {
			i := bytes.Index(c.buf, []byte("\r\n"))
			if i < 0 {
				break
			}
			line := string(c.buf[:i])
			c.buf = c.buf[i+2:]
			if line != "" {
				return line, true
			}
		}
		if !c.fill(deadline) {
			return "", false
		}
	}
}

// mustLine returns the next line and fails the test on timeout.
func (c *atConn) mustLine(timeout time.Duration) string {
	c.t.Helper()
	l, ok := c.line(timeout)
	if !ok {
		c.t.Fatalf("no line within %v (pending %q)", timeout, c.buf)
	}
	return l
}

// waitFor reads lines until one equals want and returns the lines before it.
func (c *atConn) waitFor(want string, timeout time.Duration) []string {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	var before []string
	for {
		l, ok := c.line(time.Until(deadline))
		if !ok {
			c.t.Fatalf("no %q within %v; saw %q", want, timeout, before)
		}
		if l == want {
			return before
		}
		before = append(before, l)
	}
}

// cmd sends a command line and returns its response lines; it fails unless the final result is
// want.
func (c *atConn) cmd(line, want string) []string {
	c.t.Helper()
	c.send(line + "\r")
	var lines []string
	for {
		l := c.mustLine(2 * time.Second)
		if isFinal(l) {
			if l != want {
				c.t.Fatalf("%s: final %q, want %q (lines %q)", line, l, want, lines)
			}
			return lines
		}
		lines = append(lines, l)
	}
}

// initBox sends the init sequence of a Quectel driver.
func (c *atConn) initBox(toneDet bool) {
	c.t.Helper()
	c.send("ATE0\r")
	c.untilFinal(2 * time.Second)
	for _, cmd := range []string{"AT+CMEE=1", "AT+CLIP=1", `AT+QINDCFG="ccinfo",1,0`,
		"AT+QPCMV=1,0"} {
		c.cmd(cmd, "OK")
	}
	if toneDet {
		c.cmd("AT+QTONEDET=1", "OK")
	}
}

// audioConn is the box's end of the audio port in tests: it collects what the caller says.
type audioConn struct {
	port serial.Port
	mu   sync.Mutex
	got  []byte
	done chan struct{}
}

func dialAudio(t *testing.T, m interface{ AudioPath() string }) *audioConn {
	t.Helper()
	a := &audioConn{port: openSerial(t, m.AudioPath()), done: make(chan struct{})}
	go func() {
		defer close(a.done)
		p := make([]byte, 1024)
		for {
			n, err := a.port.Read(p)
			a.mu.Lock()
			a.got = append(a.got, p[:n]...)
			a.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		a.port.Close()
		<-a.done
	})
	return a
}

// bytesRead returns how many bytes the caller has sent so far.
func (a *audioConn) bytesRead() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.got)
}

// samples returns what the caller has said so far.
func (a *audioConn) samples() []int16 {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := make([]int16, len(a.got)/2)
	binary.Read(bytes.NewReader(a.got[:2*len(s)]), binary.LittleEndian, s)
	return s
}

// writeFrame plays one 20 ms frame of s (padded with silence) to the caller.
func (a *audioConn) writeFrame(t *testing.T, s []int16) {
	t.Helper()
	var f voice.Frame
	copy(f[:], s)
	var b [320]byte
	encodeFrame(&b, &f)
	if _, err := a.port.Write(b[:]); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("audio write: %v", err)
	}
}

// goertzel returns the power of freq in s.
func goertzel(s []int16, freq float64) float64 {
	w := 2 * math.Pi * freq / voice.Rate
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range s {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
	dtmfKeys = [4]string{"123A", "456B", "789C", "*0#D"}
)

// detectKey finds the DTMF key in one frame: the strongest row and column must stand well
// above the other tones of their group. 0 means none.
func detectKey(s []int16) byte {
	best := func(freqs [4]float64) (int, bool) {
		var p [4]float64
		bi := 0
		for i, f := range freqs {
			p[i] = goertzel(s, f)
			if p[i] > p[bi] {
				bi = i
			}
		}
		for i := range p {
			if i != bi && p[i]*10 > p[bi] {
				return 0, false
			}
		}
		return bi, p[bi] > 1e9
	}
	r, okR := best(dtmfRows)
	c, okC := best(dtmfCols)
	if !okR || !okC {
		return 0
	}
	return dtmfKeys[r][c]
}

// detectKeys returns the keys present in s, frame by frame, each counted once per tone.
func detectKeys(s []int16) string {
	var keys []byte
	var last byte
	for i := 0; i+voice.FrameSamples <= len(s); i += voice.FrameSamples {
		k := detectKey(s[i : i+voice.FrameSamples])
		if k != 0 && k != last {
			keys = append(keys, k)
		}
		last = k
	}
	return string(keys)
}

// framesWithTone counts the frames of s in which freq carries most of the energy.
func framesWithTone(s []int16, freq float64) int {
	n := 0
	for i := 0; i+voice.FrameSamples <= len(s); i += voice.FrameSamples {
		f := s[i : i+voice.FrameSamples]
		var energy float64
		for _, x := range f {
			energy += float64(x) * float64(x)
		}
		// Goertzel power of a pure sine is about (N/2)·energy over the frame.
		if energy > 1e6 && goertzel(f, freq) > 0.5*float64(len(f))/2*energy {
			n++
		}
	}
	return n
}

func countGoroutines() int { return runtime.NumGoroutine() }
