package tone

import (
	"math"
	"time"
)

// The record beep: a clear 1 kHz tone, 300 ms, at -10 dBm0.
const (
	BeepFreq     = 1000
	BeepDuration = 300 * time.Millisecond
	BeepLevel    = -10
	beepRamp     = 5 * time.Millisecond
)

// Beep returns the tone played before recording (voicemail): BeepFreq Hz for BeepDuration at
// BeepLevel dBm0, with 5 ms raised-cosine edges so that it starts and stops without a click.
func Beep() []int16 {
	s := Sine(BeepFreq, BeepDuration, BeepLevel)
	Fade(s, Samples(beepRamp))
	return s
}

// Fade shapes the first and last n samples of s with a raised-cosine ramp, in place.
func Fade(s []int16, n int) {
	n = min(n, len(s)/2)
	for i := range n {
		g := 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(n))
		s[i] = int16(math.Round(float64(s[i]) * g))
		j := len(s) - 1 - i
		s[j] = int16(math.Round(float64(s[j]) * g))
	}
}
