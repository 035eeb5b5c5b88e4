package sdnotify

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// listen makes a notify socket as systemd does and points NOTIFY_SOCKET at it.
func listen(t *testing.T) *net.UnixConn {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	t.Setenv("NOTIFY_SOCKET", path)
	return conn
}

func read(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	buf := make([]byte, 256)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("nothing reached systemd: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	conn := listen(t)
	ok, err := Notify("READY=1\nSTATUS=answering")
	if !ok || err != nil {
		t.Fatalf("Notify = %v, %v", ok, err)
	}
	if got := read(t, conn); got != "READY=1\nSTATUS=answering" {
		t.Errorf("systemd got %q", got)
	}
}

func TestNotifyOutsideSystemd(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if ok, err := Notify("READY=1"); ok || err != nil {
		t.Errorf("Notify without systemd = %v, %v; want false, nil", ok, err)
	}
	t.Setenv("NOTIFY_SOCKET", filepath.Join(t.TempDir(), "gone"))
	if _, err := Notify("READY=1"); err == nil {
		t.Error("a notify socket that is not there must be an error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	for _, tc := range []struct {
		usec, pid string
		want      time.Duration
		ok        bool
	}{
		{"30000000", "", 30 * time.Second, true},
		{"30000000", "1", 0, false}, // meant for another process
		{"", "", 0, false},
		{"0", "", 0, false},
		{"x", "", 0, false},
	} {
		t.Setenv("WATCHDOG_USEC", tc.usec)
		t.Setenv("WATCHDOG_PID", tc.pid)
		if got, ok := WatchdogInterval(); got != tc.want || ok != tc.ok {
			t.Errorf("WATCHDOG_USEC=%q PID=%q: %v %v, want %v %v", tc.usec, tc.pid, got, ok, tc.want, tc.ok)
		}
	}
}

// The heartbeat goes while the daemon is healthy and stops when it is not.
func TestWatchdog(t *testing.T) {
	conn := listen(t)
	t.Setenv("WATCHDOG_USEC", "40000")
	t.Setenv("WATCHDOG_PID", strconv.Itoa(getpid()))
	var healthy atomic.Bool
	healthy.Store(true)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := Watchdog(ctx, healthy.Load); err != nil {
			t.Error(err)
		}
	})
	for range 3 {
		if got := read(t, conn); got != "WATCHDOG=1" {
			t.Errorf("heartbeat %q", got)
		}
	}
	healthy.Store(false)
	time.Sleep(60 * time.Millisecond)
	// Drain what was sent before the change, then expect silence: heartbeats come every 20 ms
	// while healthy, so a 100 ms gap shows they stopped.
	buf := make([]byte, 64)
	stopped := false
	for range 5 {
		conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := conn.Read(buf); err != nil {
			stopped = true
			break
		}
	}
	if !stopped {
		t.Error("the heartbeat went on while the daemon was unhealthy")
	}
	cancel()
	wg.Wait()
}

func getpid() int { return os.Getpid() }
