package dtmf

import (
	"bytes"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/wav"
)

// GSM 06.10 full rate, the codec of many mobile calls, through sox (which `make test` installs):
// it keeps the spectral envelope of speech, not the exact tones, so short keys suffer. Keys of
// 70 ms and more must survive it.

// gsmRoundTrip encodes s with the GSM 06.10 full-rate codec and decodes it again, with sox.
func gsmRoundTrip(t *testing.T, s []int16) []int16 {
	t.Helper()
	if _, err := exec.LookPath("sox"); err != nil {
		t.Fatalf("the GSM tests need sox (apt-get install sox): %v", err)
	}
	var in bytes.Buffer
	if err := wav.Encode(&in, s, voice.Rate); err != nil {
		t.Fatal(err)
	}
	var gsm, errOut bytes.Buffer
	enc := exec.Command("sox", "-t", "wav", "-", "-t", "gsm", "-")
	enc.Stdin, enc.Stdout, enc.Stderr = &in, &gsm, &errOut
	if err := enc.Run(); err != nil {
		t.Fatalf("sox to GSM: %v: %s", err, errOut.Bytes())
	}
	if gsm.Len() == 0 || gsm.Len()%33 != 0 {
		t.Fatalf("sox wrote %d bytes of GSM, not whole 33-byte frames", gsm.Len())
	}
	var out bytes.Buffer
	dec := exec.Command("sox", "-t", "gsm", "-r", "8000", "-c", "1", "-", "-t", "raw", "-e", "signed", "-b", "16", "-L", "-")
	dec.Stdin, dec.Stdout, dec.Stderr = &gsm, &out, &errOut
	if err := dec.Run(); err != nil {
		t.Fatalf("sox from GSM: %v: %s", err, errOut.Bytes())
	}
	x := make([]int16, out.Len()/2)
	voice.DecodeS16LE(x, out.Bytes())
	if len(x) < len(s)-160 {
		t.Fatalf("GSM round trip returned %d samples for %d", len(x), len(s))
	}
	return x
}

func TestThroughGSM(t *testing.T) {
	for _, tc := range []struct {
		on, off time.Duration
		low, hi float64
	}{
		{70 * ms, 70 * ms, -10, -10},
		{70 * ms, 70 * ms, -3, -3},
		{70 * ms, 70 * ms, -20, -20},
		{70 * ms, 70 * ms, -25, -25},
		{70 * ms, 70 * ms, -10, -14}, // normal twist
		{70 * ms, 70 * ms, -12, -9},  // reverse twist
		{100 * ms, 100 * ms, -10, -10},
		{300 * ms, 100 * ms, -15, -15},
	} {
		t.Run(fmt.Sprintf("%v on %v off %v/%v dBm0", tc.on, tc.off, tc.low, tc.hi), func(t *testing.T) {
			b := burst{on: tc.on, off: tc.off, lowDB: tc.low, highDB: tc.hi}
			keys := Keys + "0123456789*#0000"
			for _, lead := range []int{0, 37, 80} {
				x := gsmRoundTrip(t, signal(t, lead, presses(keys, b)...))
				if got := Decode(x); got != keys {
					t.Errorf("lead %d: heard %q, want %q", lead, got, keys)
				}
			}
		})
	}
}
