// Package importer turns a sound file that the owner uploads (a WAV or an MP3 from a phone, a
// laptop or a studio) into a prompt the box can play: 8 kHz mono samples at one loudness, with
// the silence around the voice cut short.
//
// # Concepts
//
// The format is sniffed from the content, never taken from a file name: RIFF/RF64 WAVE is a WAV
// file (any encoding package wav decodes), an ID3v2 tag or an MPEG audio frame header is an MP3
// (MPEG-1/2/2.5 Layer III, decoded with github.com/hajimehoshi/go-mp3). Channels are averaged and
// the sound is resampled to 8 kHz with voice.Resample.
//
// Import then cuts the silence before and after the voice to at most LeadSilence and
// TailSilence, and sets the level: the RMS of the voiced part (the 10 ms windows no more than
// 30 dB below the loudest one, which also mark where the voice starts and ends) becomes TargetDBm0, unless that would lift a peak above PeakLimitDBFS, in
// which case the gain stops there and the prompt stays a little quieter. Nothing clips.
//
// Hostile input costs little: at most maxBytes are read, the memory used grows only with what
// was actually read (never with a size field in a header), and decoding stops at MaxDuration.
package importer

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/hajimehoshi/go-mp3"

	"hotline/voice"
	"hotline/voice/wav"
)

const (
	// DefaultMaxBytes is the input limit used when Import is given maxBytes <= 0: a 5-minute
	// 48 kHz 16-bit stereo WAV file fits.
	DefaultMaxBytes = 64 << 20
	// MaxDuration is the longest sound Import takes (measured before trimming).
	MaxDuration = 5 * 60 // seconds
	// TargetDBm0 is the RMS level of the voiced part of every imported prompt, a usual telephone
	// speech level (the default prompts are made to the same level).
	TargetDBm0 = -20.0
	// PeakLimitDBFS is the highest peak an imported prompt may have, in dB below full scale: room
	// for the resampling and codec filters of the line so that nothing clips.
	PeakLimitDBFS = -1.0
	// MaxGainDB bounds the gain: a recording that needs more is mostly noise.
	MaxGainDB = 40.0
	// SilentDBm0 is the level below which a whole recording counts as silent.
	SilentDBm0 = -60.0
	// LeadSilence and TailSilence are the most silence kept before and after the voice, in
	// samples at 8 kHz (50 and 100 ms): the caller hears the greeting at once.
	LeadSilence = voice.Rate / 20
	TailSilence = voice.Rate / 10
)

// Errors that Import and Decode wrap; test with errors.Is.
var (
	// ErrNotAudio means the input is neither a WAV nor an MP3 file, or is too damaged to decode.
	ErrNotAudio = errors.New("not a WAV or MP3 file")
	// ErrUnsupported means a WAV or MPEG file in an encoding that is not decoded (e.g. ADPCM
	// WAV, MPEG Layer I or II).
	ErrUnsupported = errors.New("unsupported audio encoding")
	// ErrTooLarge means the file is larger than the byte limit.
	ErrTooLarge = errors.New("file too large")
	// ErrTooLong means the sound lasts longer than MaxDuration.
	ErrTooLong = errors.New("sound too long")
	// ErrSilent means the file holds no sound, or only silence.
	ErrSilent = errors.New("no sound in the file")
)

// Import reads a WAV or MP3 file from r (at most maxBytes; DefaultMaxBytes when maxBytes <= 0)
// and returns it as a prompt: 8 kHz mono, silence around the voice trimmed, the voiced part at
// TargetDBm0 (or as close as PeakLimitDBFS allows). The errors wrap ErrNotAudio, ErrUnsupported,
// ErrTooLarge, ErrTooLong or ErrSilent, or the reader's own error.
func Import(r io.Reader, maxBytes int64) ([]int16, error) {
	s, err := Decode(r, maxBytes)
	if err != nil {
		return nil, err
	}
	out, err := Normalize(s)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	return out, nil
}

// Decode reads a WAV or MP3 file from r like Import and returns it as 8 kHz mono, as it is: no
// trimming, no change of level (what a DTMF receiver should hear). Its errors are those of
// Import except ErrSilent, which only an empty file gives.
func Decode(r io.Reader, maxBytes int64) ([]int16, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("importer: reading: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, fmt.Errorf("importer: %w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("importer: %w: empty file", ErrSilent)
	}
	var (
		mono []int16
		rate int
	)
	switch {
	case isWAV(data):
		mono, rate, err = decodeWAV(data)
	default:
		mp3Start, ok, e := findMP3(data)
		if e != nil {
			return nil, e
		}
		if !ok {
			return nil, fmt.Errorf("importer: %w (starts with % x)", ErrNotAudio, data[:min(len(data), 8)])
		}
		mono, rate, err = decodeMP3(data[mp3Start:])
	}
	if err != nil {
		return nil, err
	}
	if len(mono) == 0 {
		return nil, fmt.Errorf("importer: %w: no samples", ErrSilent)
	}
	if rate != voice.Rate {
		mono = voice.Resample(mono, rate, voice.Rate)
	}
	return mono, nil
}

func isWAV(b []byte) bool {
	return len(b) >= 12 && (string(b[:4]) == "RIFF" || string(b[:4]) == "RF64") && string(b[8:12]) == "WAVE"
}

// tooLong reports whether frames at rate Hz last longer than MaxDuration.
func tooLong(frames int64, rate int) bool {
	return rate > 0 && frames > int64(MaxDuration)*int64(rate)
}

func decodeWAV(data []byte) ([]int16, int, error) {
	a, err := wav.Decode(bytes.NewReader(data))
	switch {
	case errors.Is(err, wav.ErrUnsupported):
		return nil, 0, fmt.Errorf("importer: %w: %w", ErrUnsupported, err)
	case errors.Is(err, wav.ErrTooLarge):
		return nil, 0, fmt.Errorf("importer: %w: %w", ErrTooLarge, err)
	case err != nil:
		return nil, 0, fmt.Errorf("importer: %w: %w", ErrNotAudio, err)
	}
	if tooLong(int64(a.Frames()), a.Rate) {
		return nil, 0, fmt.Errorf("importer: %w: %.0f s (limit %d s)", ErrTooLong,
			float64(a.Frames())/float64(a.Rate), MaxDuration)
	}
	if a.Channels == 1 {
		return a.Samples, a.Rate, nil
	}
	mono := make([]int16, a.Frames())
	for i := range mono {
		var sum int
		for _, s := range a.Samples[i*a.Channels : (i+1)*a.Channels] {
			sum += int(s)
		}
		mono[i] = int16(sum / a.Channels)
	}
	return mono, a.Rate, nil
}

// maxMP3Skip is how far past its ID3 tags an MP3 file may start its first frame (padding).
const maxMP3Skip = 64 << 10

// findMP3 finds the first MPEG audio frame of data, past any ID3v2 tags, and reports whether
// data is an MP3 file at all. An MPEG file of another layer is ErrUnsupported.
func findMP3(data []byte) (start int, ok bool, err error) {
	tagged := false
	// ID3v2: "ID3", version (2), flags (1), size as four 7-bit bytes; a footer adds 10 bytes.
	for len(data)-start >= 10 && string(data[start:start+3]) == "ID3" {
		h := data[start : start+10]
		if h[3] == 0xFF || h[4] == 0xFF || h[6]|h[7]|h[8]|h[9] >= 0x80 {
			return 0, false, fmt.Errorf("importer: %w: bad ID3 tag header", ErrNotAudio)
		}
		size := int(h[6])<<21 | int(h[7])<<14 | int(h[8])<<7 | int(h[9])
		size += 10
		if h[5]&0x10 != 0 {
			size += 10
		}
		if size > len(data)-start {
			return 0, false, fmt.Errorf("importer: %w: ID3 tag of %d bytes in a file of %d", ErrNotAudio, size, len(data))
		}
		start += size
		tagged = true
	}
	end := start + 1 // without a tag the frame must start the file
	if tagged {
		end = min(len(data), start+maxMP3Skip)
	}
	for i := start; i < end && i+4 <= len(data); i++ {
		h, valid := parseMPEGHeader(data[i : i+4])
		if !valid {
			continue
		}
		// Without a tag, one header could be chance: the next frame must follow where this
		// one says it ends (or the file end there).
		if !tagged {
			n := h.frameBytes()
			if n > 0 && i+n+4 <= len(data) {
				if _, next := parseMPEGHeader(data[i+n : i+n+4]); !next {
					continue
				}
			}
		}
		if h.layer != 3 {
			return 0, false, fmt.Errorf("importer: %w: MPEG audio layer %d (only layer III, MP3, is decoded)", ErrUnsupported, h.layer)
		}
		if h.bitrate == 0 {
			return 0, false, fmt.Errorf("importer: %w: free-format MP3", ErrUnsupported)
		}
		return i, true, nil
	}
	if tagged {
		return 0, false, fmt.Errorf("importer: %w: ID3 tag but no MPEG audio after it", ErrNotAudio)
	}
	return 0, false, nil
}

// mpegHeader is what a 4-byte MPEG audio frame header says.
type mpegHeader struct {
	version int // 1 (MPEG-1), 2 (MPEG-2) or 25 (MPEG-2.5)
	layer   int // 1, 2 or 3
	bitrate int // bits per second; 0 is free format
	rate    int // Hz
	padding int
}

var (
	mpegBitrates = map[[2]int][16]int{ // [version==1, layer] -> kbit/s by index
		{1, 1}: {0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{1, 2}: {0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{1, 3}: {0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		{0, 1}: {0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{0, 2}: {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		{0, 3}: {0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	}
	mpegRates = map[int][3]int{1: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 25: {11025, 12000, 8000}}
)

func parseMPEGHeader(b []byte) (mpegHeader, bool) {
	if b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return mpegHeader{}, false
	}
	var h mpegHeader
	switch (b[1] >> 3) & 3 {
	case 0:
		h.version = 25
	case 2:
		h.version = 2
	case 3:
		h.version = 1
	default:
		return h, false
	}
	h.layer = 4 - int((b[1]>>1)&3)
	bi, ri := int(b[2]>>4), int((b[2]>>2)&3)
	if h.layer == 4 || bi == 15 || ri == 3 {
		return h, false
	}
	v1 := 0
	if h.version == 1 {
		v1 = 1
	}
	h.bitrate = mpegBitrates[[2]int{v1, h.layer}][bi] * 1000
	h.rate = mpegRates[h.version][ri]
	h.padding = int(b[2]>>1) & 1
	return h, true
}

// frameBytes is the length of the frame this header starts, or 0 for free format.
func (h mpegHeader) frameBytes() int {
	switch {
	case h.bitrate == 0:
		return 0
	case h.layer == 1:
		return (12*h.bitrate/h.rate + h.padding) * 4
	case h.layer == 3 && h.version != 1:
		return 72*h.bitrate/h.rate + h.padding
	default:
		return 144*h.bitrate/h.rate + h.padding
	}
}

// onlyReader hides every method but Read, so that go-mp3 does not scan the whole file for its
// length before decoding.
type onlyReader struct{ io.Reader }

func decodeMP3(data []byte) (mono []int16, rate int, err error) {
	// The decoder is a third-party parser of untrusted bytes: a panic in it is a bad file, not
	// a crash of the box.
	defer func() {
		if p := recover(); p != nil {
			mono, rate, err = nil, 0, fmt.Errorf("importer: %w: MP3 decoder failed: %v", ErrNotAudio, p)
		}
	}()
	d, err := mp3.NewDecoder(onlyReader{bytes.NewReader(data)})
	if err != nil {
		return nil, 0, fmt.Errorf("importer: %w: mp3: %w", ErrNotAudio, err)
	}
	rate = d.SampleRate()
	if rate < 8000 || rate > 48000 {
		return nil, 0, fmt.Errorf("importer: %w: MP3 at %d Hz", ErrUnsupported, rate)
	}
	// go-mp3 always gives 16-bit little-endian stereo: 4 bytes per sample frame.
	buf := make([]byte, 4*1152*4)
	var carry []byte // a partial sample frame left over from the last read
	for {
		copy(buf, carry)
		n, rerr := d.Read(buf[len(carry):])
		got := buf[:len(carry)+n]
		whole := len(got) / 4 * 4
		for i := 0; i < whole; i += 4 {
			l := int(int16(uint16(got[i]) | uint16(got[i+1])<<8))
			r := int(int16(uint16(got[i+2]) | uint16(got[i+3])<<8))
			mono = append(mono, int16((l+r)>>1))
		}
		carry = append(carry[:0], got[whole:]...)
		if tooLong(int64(len(mono)), rate) {
			return nil, 0, fmt.Errorf("importer: %w: more than %d s", ErrTooLong, MaxDuration)
		}
		if rerr != nil {
			if rerr == io.EOF || len(mono) > 0 {
				// A torn or damaged tail: keep what decoded, like a WAV file cut short.
				return mono, rate, nil
			}
			return nil, 0, fmt.Errorf("importer: %w: mp3: %w", ErrNotAudio, rerr)
		}
		if n == 0 && len(carry) == len(got) {
			return mono, rate, nil // no progress: stop rather than spin
		}
	}
}

// window is the analysis window for trimming and level: 10 ms at 8 kHz.
const window = voice.Rate / 100

// voicedBelowPeak is how far below the loudest window a window still counts as voice.
const voicedBelowPeak = 30.0

// Normalize trims the silence around the voice of s (8 kHz mono) to at most LeadSilence and
// TailSilence and scales it so that the voiced part has an RMS of TargetDBm0, as far as
// PeakLimitDBFS and MaxGainDB allow. It returns a new slice; s is not changed. A sound whose
// loudest 10 ms stay below SilentDBm0 is ErrSilent.
func Normalize(s []int16) ([]int16, error) {
	if len(s) == 0 {
		return nil, fmt.Errorf("%w: no samples", ErrSilent)
	}
	// Remove any DC offset, and slow drift with a first-order high-pass at about 6 Hz: it would
	// count as loudness.
	var mean float64
	for _, v := range s {
		mean += float64(v)
	}
	mean /= float64(len(s))
	x := make([]float64, len(s))
	var prevIn, prevOut float64
	for i, v := range s {
		in := float64(v) - mean
		out := in - prevIn + 0.995*prevOut
		prevIn, prevOut = in, out
		x[i] = out
	}
	// Levels of 10 ms windows, in dBm0.
	nw := (len(x) + window - 1) / window
	power := make([]float64, nw)
	loudest := math.Inf(-1)
	for w := range nw {
		seg := x[w*window : min(len(x), (w+1)*window)]
		var sum float64
		for _, v := range seg {
			sum += v * v
		}
		power[w] = sum / float64(len(seg))
		loudest = max(loudest, dB(power[w]))
	}
	if loudest < SilentDBm0 {
		return nil, fmt.Errorf("%w: loudest 10 ms at %.0f dBm0", ErrSilent, max(loudest, voice.SilenceLevel))
	}
	floor := loudest - voicedBelowPeak
	first, last := -1, -1
	var voicedPower float64
	var voiced int
	for w, p := range power {
		if dB(p) >= floor {
			if first < 0 {
				first = w
			}
			last = w
			voicedPower += p
			voiced++
		}
	}
	start := max(0, first*window-LeadSilence)
	end := min(len(x), (last+1)*window+TailSilence)
	x = x[start:end]

	gain := TargetDBm0 - dB(voicedPower/float64(voiced))
	var peak float64
	for _, v := range x {
		peak = max(peak, math.Abs(v))
	}
	if peak > 0 {
		gain = min(gain, PeakLimitDBFS-20*math.Log10(peak/32768))
	}
	gain = min(gain, MaxGainDB)
	g := math.Pow(10, gain/20)
	out := make([]int16, len(x))
	for i, v := range x {
		out[i] = int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v*g))))
	}
	// Fade the first and last 5 ms so that a cut never clicks.
	const fade = voice.Rate / 200
	for i := 0; i < fade && i < len(out); i++ {
		k := float64(i) / fade
		out[i] = int16(float64(out[i]) * k)
		out[len(out)-1-i] = int16(float64(out[len(out)-1-i]) * k)
	}
	return out, nil
}

// zeroDBm0Power is the mean square of a sine at 0 dBm0 (0 dBm0 is 3.17 dB below full scale).
var zeroDBm0Power = func() float64 {
	a := 32767 * math.Pow(10, -3.17/20)
	return a * a / 2
}()

// dB returns a mean square as a level in dBm0.
func dB(meanSquare float64) float64 {
	if meanSquare <= 0 {
		return math.Inf(-1)
	}
	return 10 * math.Log10(meanSquare/zeroDBm0Power)
}
