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
