package daemon

import (
	"os"
	"strings"
	"time"
)

// savedTimeFiles are where systems keep the time they set the clock to at boot when the board
// has no battery clock, each with how to read it: fake-hwclock (Raspberry Pi OS) writes the
// time as text, systemd-timesyncd touches its file.
var savedTimeFiles = []struct {
	path string
	read func(path string) (time.Time, error)
}{
	{"/etc/fake-hwclock.data", readFakeHwclock},
	{"/var/lib/systemd/timesync/clock", fileTime},
}

// readFakeHwclock reads fake-hwclock's saved time: "2006-01-02 15:04:05" in UTC.
func readFakeHwclock(path string) (time.Time, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}, err
	}
	return time.Parse(time.DateTime, strings.TrimSpace(string(b)))
}

func fileTime(path string) (time.Time, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime(), nil
}

// startedFromSaved reports whether a clock that read bootWall at boot was set from a saved
// time rather than a clock that ran while the box was off: it was no later than the latest
// saved time (plus clockJump). A battery clock would be ahead of the saved time by as long as
// the box was off.
func startedFromSaved(bootWall time.Time, files []struct {
	path string
	read func(string) (time.Time, error)
}) bool {
	for _, f := range files {
		saved, err := f.read(f.path)
		if err != nil {
			continue
		}
		if !bootWall.After(saved.Add(clockJump)) {
			return true
		}
	}
	return false
}
