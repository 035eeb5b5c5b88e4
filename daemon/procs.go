package daemon

import (
	"log/slog"
	"os"
	"runtime"
)

// procsPerCPU is how many Go processors the box runs per CPU core.
//
// Go's scheduler knows no priorities: a call's audio goroutine woken by its frame waits for a
// free processor behind whatever holds them all (a database write with its triggers, a page
// being rendered), up to Go's 10 ms time slice and more, while a frame has 20 ms. With more
// processors than cores there is nearly always an idle one: the woken goroutine runs at once
// on a thread of its own, and the kernel's scheduler, which favours the threads that mostly
// sleep (these), shares the cores. Measured on a 2-core machine, the soak's 8 lines in real
// time: frames waiting more than 10 ms for the pump 18-243 per run with 2 processors, 2-4 with
// 6 (docs/RELIABILITY.md).
const procsPerCPU = 3

// audioProcs raises GOMAXPROCS to procsPerCPU per core, unless the GOMAXPROCS environment
// variable sets it (an operator's choice stands) or it is higher already.
func audioProcs(log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	want := procsPerCPU * runtime.NumCPU()
	if was := runtime.GOMAXPROCS(0); was < want {
		runtime.GOMAXPROCS(want)
		log.Debug("Go processors raised for the audio", "from", was, "to", want)
	}
}
