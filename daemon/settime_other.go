//go:build !linux

package daemon

import (
	"errors"
	"time"
)

// setSystemClock is only done on Linux, where the box runs.
func setSystemClock(time.Time) error { return errors.New("setting the clock is not supported here") }

// clockSynced is only known on Linux.
func clockSynced() bool { return false }

// clockFromSavedTime is only known on Linux.
func clockFromSavedTime() bool { return false }
