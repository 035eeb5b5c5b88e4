package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"hotline/daemon"
	"hotline/hw/modem"
)

// discoverModems finds Quectel modems by their stable names in /dev/serial/by-id: interface 2
// is the AT port and interface 1 carries the call audio (see docs/INSTALL.md).
func discoverModems(log *slog.Logger) ([]daemon.ModemSpec, error) {
	names, err := filepath.Glob("/dev/serial/by-id/*")
	if err != nil || len(names) == 0 {
		return nil, err
	}
	sort.Strings(names)
	var out []daemon.ModemSpec
	for _, at := range names {
		base := filepath.Base(at)
		if !strings.Contains(strings.ToLower(base), "quectel") || !strings.Contains(base, "-if02-") {
			continue
		}
		audio := strings.Replace(at, "-if02-", "-if01-", 1)
		if _, err := os.Stat(audio); err != nil {
			log.Warn("Quectel modem without its audio port", "at", at)
			continue
		}
		log.Info("found a modem", "at", at, "audio", audio)
		out = append(out, daemon.ModemSpec{AT: at, Audio: audio, Kind: "quectel"})
	}
	return out, nil
}

func cmdDoctor(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var modems modemFlags
	fs.Var(&modems, "modem", "a modem's ports: PATH,audio=PATH[,kind=quectel] (repeatable; default: find them)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if len(modems) == 0 {
		found, err := discoverModems(log)
		if err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		modems = found
	}
	if len(modems) == 0 {
		fmt.Fprintln(stdout, "No modem found in /dev/serial/by-id. Is it plugged in and powered?")
		return nil
	}
	for i, m := range modems {
		fmt.Fprintf(stdout, "modem %d: AT %s, audio %s\n", i+1, m.AT, m.Audio)
		for _, l := range probe(ctx, m.AT, log) {
			fmt.Fprintf(stdout, "  %s\n", l)
		}
	}
	return nil
}

// probe asks a modem who it is and how its SIM and network are.
func probe(ctx context.Context, path string, log *slog.Logger) []string {
	port, err := modem.OpenPort(path)
	if err != nil {
		return []string{"cannot open: " + err.Error()}
	}
	defer port.Close()
	ch := modem.New(port, modem.Options{Logger: log, DefaultTimeout: 3 * time.Second})
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = ch.Run(ctx) })
	defer func() { cancel(); port.Close(); wg.Wait() }()
	var out []string
	for _, q := range []struct{ label, cmd string }{
		{"", "ATE0"},
		{"model", "AT+CGMM"},
		{"firmware", "AT+CGMR"},
		{"IMEI", "AT+GSN"},
		{"SIM", "AT+CPIN?"},
		{"operator", "AT+COPS?"},
		{"registration", "AT+CREG?"},
		{"signal", "AT+CSQ"},
	} {
		resp, err := ch.Command(ctx, q.cmd, 3*time.Second)
		if q.label == "" {
			if err != nil {
				return append(out, "does not answer AT commands: "+err.Error())
			}
			continue
		}
		if err != nil {
			out = append(out, fmt.Sprintf("%-12s error: %v", q.label+":", err))
			continue
		}
		out = append(out, fmt.Sprintf("%-12s %s", q.label+":", strings.Join(resp.Lines, " ")))
	}
	return out
}
