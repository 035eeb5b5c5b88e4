// Command hotline is the telephone hotline box: it answers calls on GSM modems, plays the
// greeting and menu, takes voicemail, keeps the call log and serves the web admin.
//
//	hotline run [--data DIR] [--listen ADDR] [--sim N] [--modem PATH,audio=PATH,kind=KIND]...
//	hotline call --addr URL --from NUMBER [--line ID] [--digits D] [--say WAV] [--record WAV]
//	hotline passwd --data DIR
//	hotline dtmf FILE.wav...
//	hotline doctor [--modem ...]
//	hotline update keygen|sign|verify|apply ...
//	hotline version
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "hotline:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

const usage = `usage: hotline COMMAND [flags]

commands:
  run      run the hotline (add --sim 2 to try it with simulated modems)
  call     place a test call into a running hotline that has simulated lines
  passwd   set the owner's password from standard input
  operator add, change or list the people who answer (operator add|list|remove)
  flow     export the call flow to a JSON file, or import one (flow export|import)
  dtmf     print the keys heard in WAV files
  doctor   check every modem: model, SIM, network, signal
  update   make, check or install a signed update file (update keygen|sign|verify|apply)
  version  print the version

"hotline COMMAND -h" shows the flags of a command.`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{usage}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "run":
		return cmdRun(ctx, rest, stdout, stderr)
	case "call":
		return cmdCall(ctx, rest, stdout, stderr)
	case "sim": // simulated modems for a daemon in another process (tests); not in the usage
		return cmdSim(ctx, rest, stdout, stderr)
	case "stallwatch": // the machine's own pauses, for the real-time tests; not in the usage
		return cmdStallwatch(ctx, rest, stdout, stderr)
	case "passwd":
		return cmdPasswd(ctx, rest, stdin, stdout, stderr)
	case "dtmf":
		return cmdDTMF(rest, stdout, stderr)
	case "operator":
		return cmdOperator(ctx, rest, stdout, stderr)
	case "flow":
		return cmdFlow(ctx, rest, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, rest, stdout, stderr)
	case "update":
		return cmdUpdate(ctx, rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "hotline", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprintln(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("hotline: unknown command %q\n\n%s", cmd, usage)}
}
