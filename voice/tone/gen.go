// Package tone makes and measures the simple tones of telephony: DTMF digits, beeps, silence, and
// the level of a stretch of audio. Generators allocate (they run outside the 20 ms path);
// measuring functions do not.
package tone

import (
	"fmt"
	"math"
	"time"

	"hotline/voice"
)

// FullScaleDBm0 is the level, in dBm0, of a full-scale sine wave in 16-bit linear PCM
// (G.711: a sine at 0 dBm0 peaks at about 3.17 dB below the codec's overload point).
const FullScaleDBm0 = 3.17

// Amplitude returns the peak amplitude of a sine wave at level dBm0.
func Amplitude(dBm0 float64) float64 {
	return 32767 * math.Pow(10, (dBm0-FullScaleDBm0)/20)
}

// dtmfFreqs maps each key to its low (row) and high (column) frequency in Hz.
var dtmfFreqs = map[byte][2]float64{
	'1': {697, 1209}, '2': {697, 1336}, '3': {697, 1477}, 'A': {697, 1633},
	'4': {770, 1209}, '5': {770, 1336}, '6': {770, 1477}, 'B': {770, 1633},
	'7': {852, 1209}, '8': {852, 1336}, '9': {852, 1477}, 'C': {852, 1633},
	'*': {941, 1209}, '0': {941, 1336}, '#': {941, 1477}, 'D': {941, 1633},
}

// DTMFFreqs returns the row and column frequencies of key, and false when key is not a DTMF key.
func DTMFFreqs(key byte) (low, high float64, ok bool) {
	f, ok := dtmfFreqs[key]
	return f[0], f[1], ok
}

// Samples returns how many 8 kHz samples last d.
func Samples(d time.Duration) int {
	return int(d * voice.Rate / time.Second)
}

// DTMF returns the tone pair of key lasting d, each tone at level dBm0 (the usual sending level
// is -10 dBm0 per tone).
func DTMF(key byte, d time.Duration, dBm0 float64) ([]int16, error) {
	low, high, ok := DTMFFreqs(key)
	if !ok {
		return nil, fmt.Errorf("tone: %q is not a DTMF key", key)
	}
	return Dual(low, high, d, dBm0, dBm0), nil
}

// Sine returns a sine wave of freq Hz lasting d at level dBm0.
func Sine(freq float64, d time.Duration, dBm0 float64) []int16 {
	return Dual(freq, 0, d, dBm0, math.Inf(-1))
}

// Dual returns the sum of two sine waves (f2 may be 0 for none) at their own levels, lasting d.
// Samples are clipped to the 16-bit range.
func Dual(f1, f2 float64, d time.Duration, dBm1, dBm2 float64) []int16 {
	n := Samples(d)
	out := make([]int16, n)
	a1, a2 := Amplitude(dBm1), Amplitude(dBm2)
	w1 := 2 * math.Pi * f1 / voice.Rate
	w2 := 2 * math.Pi * f2 / voice.Rate
	for i := range out {
		v := a1 * math.Sin(w1*float64(i))
		if f2 > 0 {
			v += a2 * math.Sin(w2*float64(i))
		}
		out[i] = clip(v)
	}
	return out
}

// Silence returns d of digital silence.
func Silence(d time.Duration) []int16 { return make([]int16, Samples(d)) }

func clip(v float64) int16 {
	v = math.Round(v)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// LevelDBm0 returns the RMS level of samples in dBm0 (a sine at 0 dBm0 measures 0); silence
// returns -100. It does not allocate.
func LevelDBm0(samples []int16) float64 {
	if len(samples) == 0 {
		return -100
	}
	var sum float64
	for _, s := range samples {
		v := float64(s)
		sum += v * v
	}
	rms := math.Sqrt(sum / float64(len(samples)))
	if rms < 1e-3 {
		return -100
	}
	// A sine of amplitude A has RMS A/sqrt2; 0 dBm0 has amplitude Amplitude(0).
	return 20 * math.Log10(rms*math.Sqrt2/Amplitude(0))
}
