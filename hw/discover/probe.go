package discover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"hotline/hw/modem"
)

// ErrUnknownDialect is wrapped by Probe's error when the port answers AT commands but in no
// dialect the hotline speaks.
var ErrUnknownDialect = errors.New("answers AT commands, but in no dialect the hotline knows")

// probeTimeout bounds each command of a probe.
const probeTimeout = 2 * time.Second

// Probe opens the port at path and asks the device who it is (ATE0, ATI, AT+CGMM, and
// AT+FCLASS=? when those say nothing): Quectel, SIMCom, Huawei, or FXO for a modem whose
// AT+FCLASS=? lists class 8 (voice).
func Probe(ctx context.Context, path string) (string, error) {
	port, err := modem.OpenPort(path)
	if err != nil {
		return "", fmt.Errorf("probe: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	ch := modem.New(port, modem.Options{Logger: slog.New(slog.DiscardHandler), DefaultTimeout: probeTimeout})
	var wg sync.WaitGroup
	wg.Go(func() { _ = ch.Run(ctx) })
	defer func() { cancel(); port.Close(); wg.Wait() }()

	if _, err := ch.Command(ctx, "ATE0", probeTimeout); err != nil {
		return "", fmt.Errorf("probe %s: does not answer AT commands: %w", path, err)
	}
	var said []string
	for _, cmd := range []string{"ATI", "AT+CGMM"} {
		// Either may fail on some modems; what the others say is enough.
		if r, err := ch.Command(ctx, cmd, probeTimeout); err == nil {
			said = append(said, r.Lines...)
		}
	}
	if kind := GuessDialect(said); kind != "" {
		return kind, nil
	}
	if r, err := ch.Command(ctx, "AT+FCLASS=?", probeTimeout); err == nil && ListsVoiceClass(r.Lines) {
		return FXO, nil
	}
	return "", fmt.Errorf("probe %s (%s): %w", path, strings.Join(said, " / "), ErrUnknownDialect)
}

// GuessDialect names the GSM dialect from a modem's answers to ATI and AT+CGMM (maker and
// model names), or returns "".
func GuessDialect(lines []string) string {
	text := strings.ToLower(strings.Join(lines, "\n"))
	has := func(words ...string) bool {
		for _, w := range words {
			if strings.Contains(text, w) {
				return true
			}
		}
		return false
	}
	switch {
	case has("quectel", "ec25", "ec21", "ec20", "eg25", "eg91", "eg95", "eg21"):
		return Quectel
	case has("simcom", "sim7600", "sim7500", "sim7100"):
		return SIMCom
	case has("huawei", "e1550", "e173", "e169", "k3765", "e1750", "e160"):
		return Huawei
	}
	return ""
}

// ListsVoiceClass tells whether an AT+FCLASS=? answer ("0,1,1.0,2,8", "(0-2,8)") lists
// class 8, voice.
func ListsVoiceClass(lines []string) bool {
	for _, l := range lines {
		l = strings.TrimPrefix(strings.TrimSpace(l), "+FCLASS:")
		for item := range strings.FieldsFuncSeq(l, func(r rune) bool {
			return r == ',' || r == '(' || r == ')' || r == ' '
		}) {
			if item == "8" {
				return true
			}
			lo, hi, ok := strings.Cut(item, "-")
			if ok && isClass(lo) && isClass(hi) && lo <= "8" && "8" <= hi {
				return true
			}
		}
	}
	return false
}

func isClass(s string) bool { return len(s) == 1 && s[0] >= '0' && s[0] <= '9' }

// Skipped is a device Select does not use, and why.
type Skipped struct {
	Modem  Modem
	Reason string
}

// Select picks from found the modems the daemon can drive: Quectel, SIMCom and Huawei with
// both their ports, and FXO candidates that probe confirms (probe is Probe; tests pass
// another). Unknown devices are not probed, since they may be anything on a serial port;
// they are skipped with the reason, as are modems missing a port.
func Select(ctx context.Context, found []Modem, probe func(ctx context.Context, path string) (string, error)) ([]Modem, []Skipped) {
	var use []Modem
	var skip []Skipped
	for _, m := range found {
		switch m.Kind {
		case Quectel, SIMCom, Huawei:
			switch {
			case m.AT == "":
				skip = append(skip, Skipped{m, "its AT port is missing (unplugged, or still starting?)"})
			case m.Audio == "":
				skip = append(skip, Skipped{m, "its audio port is missing (unplugged, or still starting?)"})
			default:
				use = append(use, m)
			}
		case FXO:
			kind, err := probe(ctx, m.AT)
			switch {
			case err != nil:
				skip = append(skip, Skipped{m, "not confirmed as a voice modem: " + err.Error()})
			case kind != FXO:
				skip = append(skip, Skipped{m, "answers as " + kind + ", but its audio port is unknown: use --modem"})
			default:
				use = append(use, m)
			}
		default:
			skip = append(skip, Skipped{m, "unknown USB device " + m.ID() + ": use --modem PATH,audio=PATH,kind=KIND if it is a modem"})
		}
	}
	return use, skip
}
