package modem

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// ptyPair opens a pseudo-terminal and returns its master, made non-blocking so that closing it
// interrupts a pending read, and the slave, which the test keeps open for queue inspection.
func ptyPair(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Fatalf("open pty: %v", err)
	}
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	m.Close()
	if err != nil {
		t.Fatalf("dup master: %v", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		t.Fatalf("non-blocking master: %v", err)
	}
	master = os.NewFile(uintptr(fd), "/dev/ptmx")
	t.Cleanup(func() {
		master.Close()
		s.Close()
	})
	return master, s
}

// waitQueued waits until the slave's input queue holds n bytes (the kernel moves bytes from the
// master to the slave asynchronously).
func waitQueued(t *testing.T, slave *os.File, n int) {
	t.Helper()
	for range 5000 {
		q, err := unix.IoctlGetInt(int(slave.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatalf("TIOCINQ: %v", err)
		}
		if q >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("%d bytes never reached the slave", n)
}

func openTestPort(t *testing.T, path string) *Port {
	t.Helper()
	rwc, err := OpenPort(path)
	if err != nil {
		t.Fatalf("OpenPort(%s): %v", path, err)
	}
	t.Cleanup(func() { rwc.Close() })
	p, ok := rwc.(*Port)
	if !ok {
		t.Fatalf("OpenPort returned %T, want *Port", rwc)
	}
	return p
}

func TestOpenPortMissing(t *testing.T) {
	if _, err := OpenPort("/dev/does-not-exist-hotline"); err == nil {
		t.Fatal("OpenPort on a missing device succeeded")
	}
}

// TestPortOnPty drives the Port on a pseudo-terminal slave, as the simulator presents modems.
func TestPortOnPty(t *testing.T) {
	master, slave := ptyPair(t)
	p := openTestPort(t, slave.Name())
	if p.Path() != slave.Name() {
		t.Errorf("Path() = %q", p.Path())
	}

	// Raw 8-bit: control characters and CR pass untouched in both directions.
	raw := []byte{0x03, 0x04, '\r', 0x1a, 0xff, 0x00, '\n'}
	if _, err := master.Write(raw); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(raw))
	if _, err := io.ReadFull(p, got); err != nil {
		t.Fatalf("read: %v", err)
	}
	if !bytes.Equal(got, raw) {
		t.Errorf("port read %q, want %q", got, raw)
	}
	if _, err := p.Write(raw); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(raw))
	if _, err := io.ReadFull(master, back); err != nil {
		t.Fatalf("master read: %v", err)
	}
	if !bytes.Equal(back, raw) {
		t.Errorf("master read %q, want %q", back, raw)
	}

	// A deadline stops a read on a quiet line; clearing it lets reads wait again.
	if err := p.SetReadDeadline(time.Now().Add(10 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Read(make([]byte, 8)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read past deadline: err = %v, want os.ErrDeadlineExceeded", err)
	}
	if err := p.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}

	// Stale input is dropped by ResetInputBuffer.
	if _, err := master.Write([]byte("stale")); err != nil {
		t.Fatal(err)
	}
	waitQueued(t, slave, 5)
	if err := p.ResetInputBuffer(); err != nil {
		t.Fatal(err)
	}
	if _, err := master.Write([]byte("X")); err != nil {
		t.Fatal(err)
	}
	one := make([]byte, 8)
	n, err := p.Read(one)
	if err != nil || string(one[:n]) != "X" {
		t.Errorf("after reset read %q, %v; want \"X\"", one[:n], err)
	}
}

// TestChannelOnPty runs the AT channel over a real tty: a command and its reply, a stop by
// context, then a modem that vanishes (the master side closes).
func TestChannelOnPty(t *testing.T) {
	master, slave := ptyPair(t)
	p := openTestPort(t, slave.Name())

	// The fake modem: echo, then answer every command with OK, except AT+NEVER.
	modemDone := make(chan struct{})
	never := make(chan struct{})
	go func() {
		defer close(modemDone)
		buf := make([]byte, 64)
		var line []byte
		for {
			n, err := master.Read(buf)
			for _, b := range buf[:n] {
				if b != '\r' {
					line = append(line, b)
					continue
				}
				if string(line) == "AT+NEVER" {
					close(never)
					line = line[:0]
					continue
				}
				master.Write(append(append([]byte{}, line...), "\r\r\nOK\r\n"...))
				line = line[:0]
			}
			if err != nil {
				return
			}
		}
	}()

	ch := New(p, Options{Logger: testLogger(t)})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- ch.Run(ctx) }()
	resp, err := ch.Command(context.Background(), "AT+CGMM", 5*time.Second)
	if err != nil || resp.Final != "OK" || len(resp.Lines) != 0 {
		t.Fatalf("AT+CGMM: %+v, %v", resp, err)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run after cancel = %v, want nil", err)
	}

	// A second channel on the same port; then the device disappears.
	ch2 := New(p, Options{Logger: testLogger(t)})
	errc2 := make(chan error, 1)
	go func() { errc2 <- ch2.Run(context.Background()) }()
	if _, err := ch2.Command(context.Background(), "AT", 5*time.Second); err != nil {
		t.Fatalf("AT on second channel: %v", err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := ch2.Command(context.Background(), "AT+NEVER", time.Hour)
		pending <- err
	}()
	<-never
	master.Close()
	slave.Close()
	<-modemDone
	if err := <-errc2; err == nil {
		t.Error("Run returned nil after the device vanished")
	}
	if err := <-pending; !errors.Is(err, ErrClosed) {
		t.Errorf("pending command: err = %v, want ErrClosed", err)
	}
}
