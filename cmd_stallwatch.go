package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"time"
)

// cmdStallwatch is `hotline stallwatch [--over D]` (not in the usage text: a tool for tests):
// it sleeps 1 ms at a time until ctx ends and prints, one JSON object a line, each time it woke
// more than --over late: {"from": RFC 3339 time, "to": ..., "ms": ...}. Run alone on its
// processor at a real-time priority (chrt --fifo, GOMAXPROCS=1), nothing on the machine can
// delay it but the machine itself (a virtual machine's host taking the CPU away, firmware):
// a stall it reports is one no program there could have avoided, and the real-time tests
// excuse the box's late audio frames that fall in one.
func cmdStallwatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("stallwatch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	over := fs.Duration("over", 2*time.Millisecond, "report wake-ups later than this")
	if err := fs.Parse(args); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	t := time.NewTimer(time.Millisecond)
	defer t.Stop()
	for {
		from := time.Now()
		t.Reset(time.Millisecond)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		to := time.Now()
		if late := to.Sub(from) - time.Millisecond; late > *over {
			err := enc.Encode(stall{From: from, To: to, MS: float64(late.Microseconds()) / 1000})
			if err != nil {
				return fmt.Errorf("stallwatch: %w", err)
			}
		}
	}
}

// stall is one wake-up of the stall watch that came late: it meant to wake 1 ms after From and
// woke at To.
type stall struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	MS   float64   `json:"ms"`
}
