package modem

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"go.bug.st/serial"
)

// pollInterval bounds how long a blocked Port.Read takes to notice a new read deadline.
const pollInterval = 50 * time.Millisecond

// Port is a serial port opened by OpenPort. Besides io.ReadWriteCloser it offers what the AT
// channel and the audio path need from a tty: SetReadDeadline, so a reader can be stopped
// without closing the port, and ResetInputBuffer, to drop stale input.
type Port struct {
	path     string
	sp       serial.Port
	deadline atomic.Int64 // unix nanoseconds; 0 = none
}

// OpenPort opens the tty at path (a USB serial port such as /dev/ttyUSB2, or a pseudo-terminal
// slave such as /dev/pts/5) in raw mode at 115200 8N1. The returned value is a *Port.
func OpenPort(path string) (io.ReadWriteCloser, error) {
	sp, err := serial.Open(path, &serial.Mode{
		BaudRate: 115200,
		DataBits: 8,
		Parity:   serial.NoParity,
		StopBits: serial.OneStopBit,
	})
	if err != nil {
		return nil, fmt.Errorf("modem: open %s: %w", path, err)
	}
	// Reads wake up this often when the line is quiet, so a deadline takes effect promptly.
	if err := sp.SetReadTimeout(pollInterval); err != nil {
		sp.Close()
		return nil, fmt.Errorf("modem: %s: set read timeout: %w", path, err)
	}
	return &Port{path: path, sp: sp}, nil
}

// Path is the device path the port was opened with.
func (p *Port) Path() string { return p.path }

// Read reads what the device sent. It blocks until at least one byte arrives, the read deadline
// passes (os.ErrDeadlineExceeded, noticed within about 50 ms) or the port fails or is closed.
func (p *Port) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for {
		if d := p.deadline.Load(); d != 0 && time.Now().UnixNano() >= d {
			return 0, os.ErrDeadlineExceeded
		}
		n, err := p.sp.Read(b)
		if err != nil {
			return n, fmt.Errorf("%s: %w", p.path, err)
		}
		if n > 0 {
			return n, nil
		}
	}
}

// Write sends all of b to the device.
func (p *Port) Write(b []byte) (int, error) {
	written := 0
	for written < len(b) {
		n, err := p.sp.Write(b[written:])
		written += n
		if err != nil {
			return written, fmt.Errorf("%s: %w", p.path, err)
		}
		if n == 0 {
			return written, fmt.Errorf("%s: %w", p.path, io.ErrShortWrite)
		}
	}
	return written, nil
}

// SetReadDeadline makes pending and future reads fail with os.ErrDeadlineExceeded once t has
// passed. The zero time removes the deadline.
func (p *Port) SetReadDeadline(t time.Time) error {
	if t.IsZero() {
		p.deadline.Store(0)
		return nil
	}
	p.deadline.Store(t.UnixNano())
	return nil
}

// ResetInputBuffer drops whatever the device sent that has not been read yet.
func (p *Port) ResetInputBuffer() error {
	if err := p.sp.ResetInputBuffer(); err != nil {
		return fmt.Errorf("modem: %s: reset input: %w", p.path, err)
	}
	return nil
}

// Close closes the port; a pending Read returns an error. Closing twice is harmless.
func (p *Port) Close() error {
	if err := p.sp.Close(); err != nil {
		return fmt.Errorf("modem: close %s: %w", p.path, err)
	}
	return nil
}
