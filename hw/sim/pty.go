package sim

import (
	"fmt"
	"os"
	"slices"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// port is one pseudo-terminal: the simulator talks on the master side, the daemon opens the
// slave path as if it were /dev/ttyUSBn.
type port struct {
	// master is the simulator's end. It is non-blocking and registered with the runtime poller,
	// so deadlines work and Close unblocks a pending Read.
	master *os.File
	// slave stays open for the life of the port: the tty keeps its raw settings and never hangs
	// up while the daemon closes and reopens the path. The simulator never reads it.
	slave *os.File
	path  string
}

// openPort creates a pseudo-terminal with its slave side in raw mode.
func openPort() (*port, error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	p := &port{slave: s, path: s.Name()}
	if err := makeRaw(int(s.Fd())); err != nil {
		m.Close()
		s.Close()
		return nil, fmt.Errorf("pty %s: set raw mode: %w", p.path, err)
	}
	// pty.Open hands back a master in blocking mode; a blocked Read on it could never be
	// interrupted. Take a non-blocking duplicate that the poller manages instead.
	fd, err := unix.FcntlInt(m.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	m.Close()
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("pty %s: dup master: %w", p.path, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		s.Close()
		return nil, fmt.Errorf("pty %s: non-blocking master: %w", p.path, err)
	}
	p.master = os.NewFile(uintptr(fd), "/dev/ptmx")
	return p, nil
}

// makeRaw puts the terminal fd into raw mode, as cfmakeraw(3) does: no echo, no line editing,
// no signals, no CR/LF translation on input or output, 8-bit characters.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR |
		unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, t)
}

// flush discards what is under way in both directions: what the simulator wrote that the
// daemon has not read, and what the daemon wrote that the simulator has not read.
func (p *port) flush() error {
	if err := unix.IoctlSetInt(int(p.slave.Fd()), unix.TCFLSH, unix.TCIFLUSH); err != nil {
		return fmt.Errorf("pty %s: flush towards the daemon: %w", p.path, err)
	}
	// Not master.Fd(): that would put the master back into blocking mode.
	rc, err := p.master.SyscallConn()
	if err != nil {
		return fmt.Errorf("pty %s: %w", p.path, err)
	}
	var ioErr error
	if err := rc.Control(func(fd uintptr) {
		ioErr = unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH)
	}); err != nil {
		return fmt.Errorf("pty %s: %w", p.path, err)
	}
	if ioErr != nil {
		return fmt.Errorf("pty %s: flush from the daemon: %w", p.path, ioErr)
	}
	return nil
}

func (p *port) close() error {
	err1 := p.master.Close()
	err2 := p.slave.Close()
	if err1 != nil {
		return fmt.Errorf("pty %s: close master: %w", p.path, err1)
	}
	if err2 != nil {
		return fmt.Errorf("pty %s: close slave: %w", p.path, err2)
	}
	return nil
}

// openNewPort opens a port at a path not in avoid, as a re-enumerated USB device gets new
// ttyUSB numbers: the pty numbers the kernel hands out first are held until one is new.
func openNewPort(avoid []string) (*port, error) {
	var held []*port
	defer func() {
		for _, p := range held {
			p.close()
		}
	}()
	for range 16 {
		p, err := openPort()
		if err != nil {
			return nil, err
		}
		if !slices.Contains(avoid, p.path) {
			return p, nil
		}
		held = append(held, p)
	}
	return nil, fmt.Errorf("no new pty path after %d tries", len(held))
}
