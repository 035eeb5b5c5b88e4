// Package sdnotify tells systemd how the daemon is doing, with the sd_notify protocol: that it is
// ready, what it is doing, that it is stopping, and the watchdog's heartbeat. Outside systemd
// (no NOTIFY_SOCKET) every call does nothing.
package sdnotify

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// Notify sends state (for example "READY=1" or "STOPPING=1", several separated by newlines) to
// systemd. It reports false when the process is not run by systemd with a notify socket.
func Notify(state string) (bool, error) {
	name := os.Getenv("NOTIFY_SOCKET")
	if name == "" {
		return false, nil
	}
	if name[0] == '@' {
		name = "\x00" + name[1:] // abstract socket
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return false, fmt.Errorf("sdnotify: %w", err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return false, fmt.Errorf("sdnotify: %w", err)
	}
	return true, nil
}

// WatchdogInterval returns how often systemd expects a heartbeat (WatchdogSec=), and false when
// the watchdog is off or meant for another process.
func WatchdogInterval() (time.Duration, bool) {
	usec, err := strconv.ParseInt(os.Getenv("WATCHDOG_USEC"), 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	if pid := os.Getenv("WATCHDOG_PID"); pid != "" && pid != strconv.Itoa(os.Getpid()) {
		return 0, false
	}
	return time.Duration(usec) * time.Microsecond, true
}

// Watchdog sends the heartbeat at half the interval systemd asked for, as long as healthy says
// so, until ctx ends. When healthy returns false the heartbeat stops and systemd restarts the
// daemon. Without a watchdog it returns at once.
func Watchdog(ctx context.Context, healthy func() bool) error {
	every, ok := WatchdogInterval()
	if !ok {
		return nil
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if !healthy() {
				continue
			}
			if _, err := Notify("WATCHDOG=1"); err != nil {
				return err
			}
		}
	}
}
