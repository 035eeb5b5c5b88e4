package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"hotline/daemon"
	"hotline/hw/discover"
	"hotline/hw/modem"
)

// discoverModems finds the modems the daemon can drive: hw/discover walks sysfs from each USB
// serial port to its device, and the USB IDs and interface numbers name the kind and the AT and
// audio ports (Quectel, SIMCom, Huawei). A CDC-ACM modem of another vendor is used as an
// analog voice modem only when it answers as one. What is skipped is logged, with the reason.
func discoverModems(log *slog.Logger) ([]daemon.ModemSpec, error) {
	found, err := discover.Find("/")
	if err != nil {
		return nil, err
	}
	use, skipped := discover.Select(context.Background(), found, discover.Probe)
	for _, s := range skipped {
		log.Warn("not using a USB device", "name", s.Modem.Name, "id", s.Modem.ID(), "usb", s.Modem.USBPath, "why", s.Reason)
	}
	var out []daemon.ModemSpec
	for _, m := range use {
		log.Info("found a modem", "kind", m.Kind, "name", m.Name, "usb", m.USBPath, "at", m.AT, "audio", m.Audio)
		out = append(out, specOf(m))
	}
	return out, nil
}

// specOf is the daemon's view of a found modem.
func specOf(m discover.Modem) daemon.ModemSpec {
	return daemon.ModemSpec{AT: m.AT, Audio: m.Audio, Kind: m.Kind}
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
	if len(modems) > 0 {
		for i, m := range modems {
			fmt.Fprintf(stdout, "modem %d: %s (given with --modem)\n", i+1, m.Kind)
			printPorts(stdout, m)
			printProbe(ctx, stdout, m.AT, log)
		}
		return nil
	}
	found, err := discover.Find("/")
	if err != nil {
		return fmt.Errorf("doctor: %w", err)
	}
	if len(found) == 0 {
		fmt.Fprintln(stdout, "No modem found on USB (/sys/bus/usb-serial, /sys/class/tty/ttyACM*). Is it plugged in and powered?")
		return nil
	}
	use, skipped := discover.Select(ctx, found, discover.Probe)
	n := 0
	for _, m := range use {
		n++
		fmt.Fprintf(stdout, "modem %d: %s, %s\n", n, m.Kind, usbName(m))
		printPorts(stdout, specOf(m))
		printProbe(ctx, stdout, m.AT, log)
	}
	for _, s := range skipped {
		m := s.Modem
		fmt.Fprintf(stdout, "not used: %s\n", usbName(m))
		fmt.Fprintf(stdout, "  %-12s %s\n", "why:", s.Reason)
		for _, p := range m.Ports {
			fmt.Fprintf(stdout, "  %-12s %s\n", fmt.Sprintf("port if%02d:", p.Interface), p.Path)
		}
		if m.Kind == "" && m.AT != "" {
			// The IDs say nothing: ask the device itself, which is what an installer wants to
			// know before writing --modem by hand.
			kind, err := discover.Probe(ctx, m.AT)
			switch {
			case err != nil:
				fmt.Fprintf(stdout, "  %-12s %v\n", "probe:", err)
			default:
				fmt.Fprintf(stdout, "  %-12s answers as %s\n", "probe:", kind)
			}
		}
	}
	if n == 0 {
		fmt.Fprintln(stdout, "No modem the hotline can drive was found; --modem PATH,audio=PATH,kind=KIND names one by hand.")
	}
	return nil
}

// usbName describes a USB device: "Quectel EC25 (2c7c:0125, USB 1-1.3, serial 0123)".
func usbName(m discover.Modem) string {
	name := m.Name
	if name == "" {
		name = "unnamed device"
	}
	details := []string{m.ID(), "USB " + m.USBPath}
	if m.Serial != "" {
		details = append(details, "serial "+m.Serial)
	}
	return name + " (" + strings.Join(details, ", ") + ")"
}

func printPorts(w io.Writer, m daemon.ModemSpec) {
	audio := m.Audio
	if audio == "" {
		audio = "the AT port"
	}
	fmt.Fprintf(w, "  %-12s %s\n", "AT port:", m.AT)
	fmt.Fprintf(w, "  %-12s %s\n", "audio port:", audio)
}

func printProbe(ctx context.Context, w io.Writer, at string, log *slog.Logger) {
	for _, l := range probe(ctx, at, log) {
		fmt.Fprintf(w, "  %s\n", l)
	}
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
