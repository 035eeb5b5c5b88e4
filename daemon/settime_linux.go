package daemon

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// setSystemClock sets the wall clock (needs CAP_SYS_TIME: root on the image).
func setSystemClock(t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.ClockSettime(unix.CLOCK_REALTIME, &ts); err != nil {
		return fmt.Errorf("set the clock: %w", err)
	}
	return nil
}

// clockSynced reports whether the kernel says the clock is kept by NTP (adjtimex: the
// "unsynchronised" status bit is clear).
func clockSynced() bool {
	var tx unix.Timex
	state, err := unix.Adjtimex(&tx)
	return err == nil && state != unix.TIME_ERROR && tx.Status&unix.STA_UNSYNC == 0
}

// clockFromSavedTime reports whether the clock started at a time saved before the box went off
// (fake-hwclock, systemd-timesyncd) rather than from a battery clock: the wall time at boot
// (now less the time since boot) is no later than the saved time.
func clockFromSavedTime() bool {
	var up unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &up); err != nil {
		return false
	}
	boot := time.Now().Add(-time.Duration(up.Nano()))
	return startedFromSaved(boot, savedTimeFiles)
}
