// Command fakebox stands in for hotline in the launcher test: `fakebox run --data DIR` goes
// through update.Launch like `hotline run`, prints its version and slot, and then does what it
// was built to do (-X main.behavior=): "healthy" reports healthy and exits, "exit" fails at
// once, "hang" never reports healthy and waits to be killed.
package main

import (
	"fmt"
	"os"
	"time"

	"hotline/daemon/update"
)

var (
	version  = "dev"
	behavior = "healthy"
)

func main() {
	if len(os.Args) != 4 || os.Args[1] != "run" || os.Args[2] != "--data" {
		fmt.Fprintln(os.Stderr, "usage: fakebox run --data DIR")
		os.Exit(2)
	}
	data := os.Args[3]
	if err := update.Launch(data, version, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "launch:", err)
	}
	switch behavior {
	case "exit":
		fmt.Printf("version=%s slot=%s\n", version, update.RunningSlot())
		os.Exit(3)
	case "hang":
		fmt.Printf("version=%s slot=%s hang\n", version, update.RunningSlot())
		for {
			time.Sleep(time.Hour)
		}
	}
	fmt.Printf("version=%s slot=%s\n", version, update.RunningSlot())
	if err := update.MarkHealthy(data); err != nil {
		fmt.Fprintln(os.Stderr, "healthy:", err)
		os.Exit(1)
	}
}
