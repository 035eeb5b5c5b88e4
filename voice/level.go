package voice

import (
	"math"
	"time"
)

// fullScaleDBm0 is the level of a full-scale sine in 16-bit linear PCM: G.711 puts 0 dBm0 at
// 3.17 dB below the codec's overload point (the same scale as voice/tone).
const fullScaleDBm0 = 3.17

// zeroDBm0Power is the mean square of a sine at 0 dBm0.
var zeroDBm0Power = func() float64 {
	a := 32767 * math.Pow(10, -fullScaleDBm0/20)
	return a * a / 2
}()

// SilenceLevel is what FrameLevelDBm0 returns for digital silence.
const SilenceLevel = -100.0

// FrameLevelDBm0 returns the RMS level of f in dBm0: a sine at 0 dBm0 measures 0, digital
// silence SilenceLevel. It allocates nothing.
func FrameLevelDBm0(f *Frame) float64 {
	var sum int64
	for _, s := range f {
		sum += int64(s) * int64(s)
	}
	if sum == 0 {
		return SilenceLevel
	}
	return max(10*math.Log10(float64(sum)/FrameSamples/zeroDBm0Power), SilenceLevel)
}

// FrameLevels returns the RMS and the peak level of f in dBm0, for a level meter. The peak is
// the level of the sine whose crest equals the largest sample: a sine at 0 dBm0 measures 0 for
// both, a square wave 3 dB more RMS than a sine of the same peak, and full scale peaks at
// +3.17 dBm0. Digital silence returns SilenceLevel for both. It allocates nothing.
func FrameLevels(f *Frame) (rmsDBm0, peakDBm0 float64) {
	var sum int64
	peak := 0
	for _, s := range f {
		v := int(s)
		sum += int64(v * v)
		peak = max(peak, v, -v)
	}
	if sum == 0 {
		return SilenceLevel, SilenceLevel
	}
	rmsDBm0 = max(10*math.Log10(float64(sum)/FrameSamples/zeroDBm0Power), SilenceLevel)
	peakDBm0 = max(20*math.Log10(float64(peak)/zeroDBm0Crest), SilenceLevel)
	return rmsDBm0, peakDBm0
}

// zeroDBm0Crest is the amplitude of a sine at 0 dBm0.
var zeroDBm0Crest = math.Sqrt(2 * zeroDBm0Power)

// DefaultSilenceDBm0 is a threshold that separates a caller's speech (active speech is around
// -20 dBm0) from line and comfort noise (below -50 dBm0) with room on both sides.
const DefaultSilenceDBm0 = -40

const (
	// silenceHangover is how long the level must stay below the threshold before the detector
	// calls it silence: the pauses between words and sentences are shorter.
	silenceHangover = 800 * time.Millisecond
	// voiceAttack is how many loud frames in a row make voice: one click does not.
	voiceAttack = 2
)

// SilenceDetector tells speech from silence frame by frame, to end a voicemail when the caller
// stops talking. A frame is loud when its level reaches the threshold; two loud frames in a row
// are voice; silence starts once no voice has been heard for 800 ms, so the pauses of speech,
// between sentences too, are not silence. It is not safe for concurrent use and allocates
// nothing.
type SilenceDetector struct {
	threshold float64
	loud      int           // loud frames in a row
	quiet     time.Duration // time since the last voice
	heard     bool          // voice heard since Reset
}

// NewSilenceDetector returns a detector that counts frames below thresholdDBm0 as quiet (see
// DefaultSilenceDBm0). It starts in silence.
func NewSilenceDetector(thresholdDBm0 float64) *SilenceDetector {
	d := &SilenceDetector{threshold: thresholdDBm0}
	d.Reset()
	return d
}

// Reset forgets what was heard: the detector is in silence again, as if no voice had come yet.
func (d *SilenceDetector) Reset() {
	d.loud, d.heard = 0, false
	d.quiet = silenceHangover
}

// Process takes the next frame and reports whether the line is silent now.
func (d *SilenceDetector) Process(f *Frame) (silent bool) {
	if FrameLevelDBm0(f) >= d.threshold {
		d.loud++
	} else {
		d.loud = 0
	}
	if d.loud >= voiceAttack {
		d.quiet = 0
		d.heard = true
	} else {
		d.quiet += FrameDuration
	}
	return d.quiet >= silenceHangover
}

// SilentFor returns how long it has been since the last voice (or since Reset, plus the
// hangover, when there was none).
func (d *SilenceDetector) SilentFor() time.Duration { return d.quiet }

// Heard reports whether any voice has been heard since Reset.
func (d *SilenceDetector) Heard() bool { return d.heard }
