package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// cmdStallwatch is `hotline stallwatch [--over D]` (not in the usage text: a tool for tests): on
// each of the machine's processors a thread of its own sleeps 1 ms at a time until ctx ends,
// and it prints, one JSON object a line, each time one woke more than --over late:
// {"cpu": N, "from": RFC 3339 time, "to": ..., "ms": ...}. Run at a real-time priority (chrt
// --fifo) above everything the test runs, nothing on the machine can delay those threads but
// the machine itself (a virtual machine's host taking a processor away, firmware): a stall it
// reports is one no program there could have avoided, and the real-time tests excuse the box's
// late audio frames that fall in one. The threads sleep in the kernel (clock_nanosleep), each
// bound to its processor, so one processor's stall is not seen as another's.
func cmdStallwatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stallwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	over := fs.Duration("over", 2*time.Millisecond, "report wake-ups later than this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var (
		mu   sync.Mutex
		enc  = json.NewEncoder(stdout)
		werr error
		wg   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for cpu := range runtime.NumCPU() {
		wg.Go(func() {
			err := watchCPU(ctx, cpu, *over, func(s stall) error {
				mu.Lock()
				defer mu.Unlock()
				return enc.Encode(s)
			})
			if err != nil {
				mu.Lock()
				werr = err
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return werr
}

// watchCPU sleeps 1 ms at a time on processor cpu until ctx ends and reports each wake-up later
// than over.
func watchCPU(ctx context.Context, cpu int, over time.Duration, report func(stall) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var set unix.CPUSet
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("stallwatch: bind to processor %d: %w", cpu, err)
	}
	nap := unix.NsecToTimespec(time.Millisecond.Nanoseconds())
	for ctx.Err() == nil {
		from := time.Now()
		if err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, 0, &nap, nil); err != nil && err != unix.EINTR {
			return fmt.Errorf("stallwatch: sleep: %w", err)
		}
		to := time.Now()
		if late := to.Sub(from) - time.Millisecond; late > over {
			if err := report(stall{CPU: cpu, From: from, To: to, MS: float64(late.Microseconds()) / 1000}); err != nil {
				return fmt.Errorf("stallwatch: %w", err)
			}
		}
	}
	return nil
}

// stall is one wake-up of the stall watch that came late: its thread on processor CPU meant to
// wake 1 ms after From and woke at To.
type stall struct {
	CPU  int       `json:"cpu"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	MS   float64   `json:"ms"`
}
