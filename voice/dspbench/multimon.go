//go:build dspbench

package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"hotline/voice"
)

// multimonRate is the only input rate multimon-ng's DTMF demodulator takes.
const multimonRate = 22050

// multimonDecode resamples samples (8 kHz) to 22050 Hz with voice.Resample, feeds them to
// `multimon-ng -a DTMF -t raw -` as s16le on stdin and returns the digits it prints and the
// CPU time the process used.
func multimonDecode(samples []int16) (string, time.Duration, error) {
	up := voice.Resample(samples, voice.Rate, multimonRate)
	raw := make([]byte, 2*len(up))
	voice.EncodeS16LE(raw, up)
	cmd := exec.Command("multimon-ng", "-q", "-a", "DTMF", "-t", "raw", "-")
	var out, errOut bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(raw), &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", 0, fmt.Errorf("multimon-ng (Debian package multimon-ng): %w: %s", err, errOut.Bytes())
	}
	var keys strings.Builder
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if k, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "DTMF: "); ok && len(k) == 1 {
			keys.WriteString(k)
		}
	}
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return keys.String(), cpu, nil
}
