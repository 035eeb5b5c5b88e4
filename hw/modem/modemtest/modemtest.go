// Package modemtest is a scripted fake modem for testing code that speaks AT commands: it sits
// on one end of an in-memory pipe, answers commands from a script, pushes unsolicited lines when
// the test says so, and records what it was sent.
package modemtest

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitLimit is how long WaitCommand waits before it fails the test.
const waitLimit = 10 * time.Second

// Modem is a fake modem. Replies are framed as a real modem frames them in verbose mode
// ("\r\n<line>\r\n"). It echoes commands until it receives ATE0 (see Echo). A command with no
// scripted reply is answered with ERROR and recorded as unexpected.
type Modem struct {
	tb   testing.TB
	host net.Conn
	dev  net.Conn
	done chan struct{}

	wmu sync.Mutex // one write to the host at a time

	mu         sync.Mutex
	echo       bool
	standing   map[string][]string
	once       map[string][][]string
	commands   []string
	unexpected []string
	prompts    map[string]bool // commands answered with the "> " data prompt
	inData     bool            // reading data after a prompt, up to Ctrl-Z or ESC
	changed    chan struct{}   // closed and replaced whenever a command arrives
}

// New starts a fake modem with echo on. It is closed when the test ends.
func New(tb testing.TB) *Modem {
	host, dev := net.Pipe()
	m := &Modem{
		tb:       tb,
		host:     host,
		dev:      dev,
		done:     make(chan struct{}),
		echo:     true,
		standing: map[string][]string{},
		prompts:  map[string]bool{},
		once:     map[string][][]string{},
		changed:  make(chan struct{}),
	}
	go m.serve()
	tb.Cleanup(func() {
		m.Close()
		<-m.done
	})
	return m
}

// Port is the host's end: give it to the code under test.
func (m *Modem) Port() net.Conn { return m.host }

// Echo turns command echo on or off (ATE0/ATE1 do the same).
func (m *Modem) Echo(on bool) {
	m.mu.Lock()
	m.echo = on
	m.mu.Unlock()
}

// On sets the reply to cmd for every time it is sent (after any Expect replies for it are used
// up). Lines may include URCs that follow the reply. No lines: the modem stays silent.
func (m *Modem) On(cmd string, reply ...string) {
	m.mu.Lock()
	m.standing[cmd] = reply
	m.mu.Unlock()
}

// Expect queues a reply to be used once, the next time cmd is sent. Several Expect calls for
// one command are used in order. No lines: the modem stays silent that time.
func (m *Modem) Expect(cmd string, reply ...string) {
	m.mu.Lock()
	m.once[cmd] = append(m.once[cmd], reply)
	m.mu.Unlock()
}

// Prompt makes cmd answer with the data prompt ("\r\n> ", no line end), as AT+CMGS=<len>
// does. The modem then reads data up to Ctrl-Z (0x1A), records it as a command (the data
// without the Ctrl-Z) and answers it with the replies set for that text by On or Expect, so a
// test scripts the PDU's reply as m.On("<pdu hex>", "+CMGS: 7", "OK"). ESC (0x1B) instead
// cancels: it is recorded as "<ESC>" and answered with OK (an ESC outside a prompt too).
func (m *Modem) Prompt(cmd string) {
	m.mu.Lock()
	m.prompts[cmd] = true
	m.mu.Unlock()
}

// Push sends lines unsolicited, each framed as "\r\n<line>\r\n".
func (m *Modem) Push(lines ...string) error {
	return m.WriteRaw(frame(lines))
}

// WriteRaw sends bytes exactly as given.
func (m *Modem) WriteRaw(b []byte) error {
	m.wmu.Lock()
	defer m.wmu.Unlock()
	if _, err := m.dev.Write(b); err != nil {
		return fmt.Errorf("modemtest: write: %w", err)
	}
	return nil
}

// Commands returns every command received so far, in order.
func (m *Modem) Commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.commands)
}

// Unexpected returns the commands that had no scripted reply.
func (m *Modem) Unexpected() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.unexpected)
}

// Count returns how many times cmd was received.
func (m *Modem) Count(cmd string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, c := range m.commands {
		if c == cmd {
			n++
		}
	}
	return n
}

// WaitCommand blocks until cmd has been received at least n times, and fails the test if that
// takes longer than 10 s. Call it from the test's goroutine.
func (m *Modem) WaitCommand(cmd string, n int) {
	m.tb.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		m.mu.Lock()
		got := 0
		for _, c := range m.commands {
			if c == cmd {
				got++
			}
		}
		changed := m.changed
		m.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-changed:
		case <-m.done:
			m.tb.Fatalf("modemtest: modem closed while waiting for %q (x%d); got %q", cmd, n, m.Commands())
		case <-limit.C:
			m.tb.Fatalf("modemtest: %q (x%d) not received within %v; got %q", cmd, n, waitLimit, m.Commands())
		}
	}
}

// Close makes the modem vanish: the host's reads fail and its writes are refused.
func (m *Modem) Close() error {
	err := m.dev.Close()
	if err != nil {
		return fmt.Errorf("modemtest: close: %w", err)
	}
	return nil
}

// serve reads commands (terminated by CR; LF is ignored) until the pipe closes.
func (m *Modem) serve() {
	defer close(m.done)
	var line []byte
	buf := make([]byte, 256)
	for {
		n, err := m.dev.Read(buf)
		for _, b := range buf[:n] {
			m.mu.Lock()
			inData := m.inData
			m.mu.Unlock()
			if inData {
				switch b {
				case 0x1a:
					m.endData()
					m.handle(string(line))
					line = line[:0]
				case 0x1b:
					m.endData()
					m.handle("<ESC>")
					line = line[:0]
				default:
					line = append(line, b)
				}
				continue
			}
			switch b {
			case '\r':
				m.handle(string(line))
				line = line[:0]
			case 0x1b: // ESC leaves a prompt the modem may be in
				m.handle("<ESC>")
				line = line[:0]
			case '\n':
			default:
				line = append(line, b)
			}
		}
		if err != nil {
			return
		}
	}
}

func (m *Modem) endData() {
	m.mu.Lock()
	m.inData = false
	m.mu.Unlock()
}

// handle answers one command.
func (m *Modem) handle(cmd string) {
	m.mu.Lock()
	if m.prompts[cmd] {
		m.commands = append(m.commands, cmd)
		close(m.changed)
		m.changed = make(chan struct{})
		m.inData = true
		echo := m.echo
		m.mu.Unlock()
		out := "\r\n> "
		if echo {
			out = cmd + "\r" + out
		}
		if err := m.WriteRaw([]byte(out)); err != nil {
			m.tb.Logf("modemtest: prompt for %q: %v", cmd, err)
		}
		return
	}
	if cmd == "<ESC>" {
		if _, ok := m.standing[cmd]; !ok && len(m.once[cmd]) == 0 {
			m.standing[cmd] = []string{"OK"}
		}
	}
	m.commands = append(m.commands, cmd)
	close(m.changed)
	m.changed = make(chan struct{})
	echo := m.echo
	var reply []string
	if q := m.once[cmd]; len(q) > 0 {
		reply = q[0]
		m.once[cmd] = q[1:]
	} else if r, ok := m.standing[cmd]; ok {
		reply = r
	} else if strings.TrimSpace(cmd) == "" {
		reply = nil // a bare CR gets no answer, as on a real modem with nothing to do
	} else {
		reply = []string{"ERROR"}
		m.unexpected = append(m.unexpected, cmd)
	}
	switch strings.ToUpper(cmd) {
	case "ATE0":
		m.echo = false
	case "ATE1":
		m.echo = true
	}
	m.mu.Unlock()

	var out bytes.Buffer
	if echo {
		out.WriteString(cmd)
		out.WriteString("\r")
	}
	out.Write(frame(reply))
	if out.Len() > 0 {
		if err := m.WriteRaw(out.Bytes()); err != nil {
			m.tb.Logf("modemtest: reply to %q: %v", cmd, err)
		}
	}
}

func frame(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString("\r\n")
		b.WriteString(l)
		b.WriteString("\r\n")
	}
	return b.Bytes()
}
