// Package wav reads and writes RIFF WAVE files: it decodes what people and programs hand the
// hotline (any common PCM, float, G.711 or IMA ADPCM WAV, torn files included) into 16-bit
// samples, writes the box's own 8 kHz 16-bit mono recordings so that a power cut leaves a
// playable file, and repairs the header of a file torn by one.
package wav

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"hotline/voice"
)

// Audio is decoded sound: Samples holds Channels interleaved channels at Rate Hz.
type Audio struct {
	Rate     int
	Channels int
	Samples  []int16
}

// Frames returns how many sample frames (one sample per channel) Samples holds.
func (a *Audio) Frames() int {
	if a.Channels <= 0 {
		return 0
	}
	return len(a.Samples) / a.Channels
}

// Limits that keep a hostile header from costing much: nothing is allocated from a size field,
// only from bytes actually read, and no more than this many bytes of sound are read.
const (
	// MaxDataBytes is the most sound data Decode reads (about 27 minutes of 44.1 kHz 16-bit
	// stereo, or 4.6 hours of 8 kHz 16-bit mono).
	MaxDataBytes = 256 << 20
	maxChannels  = 32
	minRate      = 1000
	maxRate      = 1_000_000
	maxFmtSize   = 1 << 10
	maxChunks    = 1 << 10
)

// Format tags of the fmt chunk.
const (
	tagPCM        = 0x0001
	tagFloat      = 0x0003
	tagALaw       = 0x0006
	tagULaw       = 0x0007
	tagIMA        = 0x0011
	tagExtensible = 0xFFFE
)

// Errors that Decode wraps; test with errors.Is.
var (
	// ErrNotWAV means the input does not start like a RIFF WAVE file.
	ErrNotWAV = errors.New("not a WAV file")
	// ErrUnsupported means the file is a WAV file in an encoding this package does not decode.
	ErrUnsupported = errors.New("unsupported WAV encoding")
	// ErrMalformed means the header contradicts itself or the WAV format.
	ErrMalformed = errors.New("malformed WAV file")
	// ErrTooLarge means the sound data is longer than MaxDataBytes.
	ErrTooLarge = errors.New("WAV data too large")
)

// format is what the fmt chunk says, reduced to what decoding needs.
type format struct {
	tag        int // tagPCM, tagFloat, tagALaw, tagULaw or tagIMA (extensible resolved)
	channels   int
	rate       int
	bits       int // bits per sample as declared
	container  int // bytes per sample in the data (0 for tagIMA)
	blockAlign int // bytes per sample frame; for tagIMA, per block
	frames     int // for tagIMA, the frame count of the fact chunk, or -1 if none
}

// Decode reads a whole WAV file from r. It decodes 8-, 16-, 24- and 32-bit integer PCM, 32- and
// 64-bit IEEE float, mu-law, A-law and IMA ADPCM, in the plain or the WAVE_FORMAT_EXTENSIBLE
// header, to 16-bit samples (wider samples keep their top 16 bits, rounded). A torn file decodes
// as far as its data goes: a data size of 0 or 0xFFFFFFFF (streaming writers), or one larger than
// what follows, means "up to the end", and a trailing partial sample frame is dropped (of IMA
// ADPCM, a trailing partial group of 8 samples).
func Decode(r io.Reader) (*Audio, error) {
	br := bufio.NewReader(r)
	var hdr [12]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return nil, fmt.Errorf("wav: reading RIFF header: %w (%w)", ErrNotWAV, err)
	}
	if id := string(hdr[0:4]); id != "RIFF" && id != "RF64" || string(hdr[8:12]) != "WAVE" {
		return nil, fmt.Errorf("wav: %w: starts with %q", ErrNotWAV, hdr[:4])
	}
	var f *format
	facts := int64(-1) // the fact chunk's frame count
	for range maxChunks {
		var ch [8]byte
		if _, err := io.ReadFull(br, ch[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				if f == nil {
					return nil, fmt.Errorf("wav: %w: no fmt chunk", ErrMalformed)
				}
				return nil, fmt.Errorf("wav: %w: no data chunk", ErrMalformed)
			}
			return nil, fmt.Errorf("wav: reading chunk header: %w", err)
		}
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if f != nil {
				return nil, fmt.Errorf("wav: %w: second fmt chunk", ErrMalformed)
			}
			if size < 16 || size > maxFmtSize {
				return nil, fmt.Errorf("wav: %w: fmt chunk of %d bytes", ErrMalformed, size)
			}
			buf := make([]byte, size+size&1)
			n, err := io.ReadFull(br, buf)
			if err != nil && !(errors.Is(err, io.ErrUnexpectedEOF) && n == int(size)) {
				if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
					return nil, fmt.Errorf("wav: %w: file ends inside the fmt chunk", ErrMalformed)
				}
				return nil, fmt.Errorf("wav: reading fmt chunk: %w", err)
			}
			if f, err = parseFormat(buf[:size]); err != nil {
				return nil, err
			}
		case "fact":
			// The frame count, which only a compressed format needs (IMA ADPCM pads the last
			// block); PCM writers are known to put wrong values here.
			var b [4]byte
			if size < 4 {
				if _, err := io.CopyN(io.Discard, br, int64(size)+int64(size&1)); err != nil {
					return nil, fmt.Errorf("wav: %w: file ends inside the fact chunk", ErrMalformed)
				}
				continue
			}
			if _, err := io.ReadFull(br, b[:]); err != nil {
				return nil, fmt.Errorf("wav: %w: file ends inside the fact chunk", ErrMalformed)
			}
			facts = int64(binary.LittleEndian.Uint32(b[:]))
			if _, err := io.CopyN(io.Discard, br, int64(size)-4+int64(size&1)); err != nil {
				return nil, fmt.Errorf("wav: %w: file ends inside the fact chunk", ErrMalformed)
			}
		case "data":
			if f == nil {
				return nil, fmt.Errorf("wav: %w: data chunk before fmt chunk", ErrMalformed)
			}
			f.frames = int(min(facts, math.MaxInt32))
			return readData(br, f, size)
		default:
			if _, err := io.CopyN(io.Discard, br, int64(size)+int64(size&1)); err != nil {
				if errors.Is(err, io.EOF) {
					return nil, fmt.Errorf("wav: %w: file ends inside chunk %q", ErrMalformed, id)
				}
				return nil, fmt.Errorf("wav: skipping chunk %q: %w", id, err)
			}
		}
	}
	return nil, fmt.Errorf("wav: %w: more than %d chunks before the data", ErrMalformed, maxChunks)
}

func parseFormat(b []byte) (*format, error) {
	le := binary.LittleEndian
	f := &format{
		tag:        int(le.Uint16(b[0:])),
		channels:   int(le.Uint16(b[2:])),
		rate:       int(le.Uint32(b[4:])),
		blockAlign: int(le.Uint16(b[12:])),
		bits:       int(le.Uint16(b[14:])),
	}
	extensible := f.tag == tagExtensible
	if extensible {
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16), whose first two bytes are the
		// format tag.
		if len(b) < 40 {
			return nil, fmt.Errorf("wav: %w: extensible fmt chunk of %d bytes, want 40", ErrMalformed, len(b))
		}
		f.tag = int(le.Uint16(b[24:]))
		if !bytes.Equal(b[26:40], []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71}) {
			return nil, fmt.Errorf("wav: %w: extensible sub-format % x", ErrUnsupported, b[24:40])
		}
	}
	if f.channels < 1 || f.channels > maxChannels {
		return nil, fmt.Errorf("wav: %w: %d channels", ErrMalformed, f.channels)
	}
	if f.rate < minRate || f.rate > maxRate {
		return nil, fmt.Errorf("wav: %w: sample rate %d", ErrMalformed, f.rate)
	}
	switch f.tag {
	case tagPCM:
		if f.bits < 1 || f.bits > 32 {
			return nil, fmt.Errorf("wav: %w: %d-bit PCM", ErrUnsupported, f.bits)
		}
	case tagFloat:
		if f.bits != 32 && f.bits != 64 {
			return nil, fmt.Errorf("wav: %w: %d-bit float", ErrUnsupported, f.bits)
		}
	case tagALaw, tagULaw:
		if f.bits != 8 {
			return nil, fmt.Errorf("wav: %w: %d-bit G.711", ErrMalformed, f.bits)
		}
	case tagIMA:
		if f.bits != 4 {
			return nil, fmt.Errorf("wav: %w: %d-bit IMA ADPCM", ErrUnsupported, f.bits)
		}
		spb, err := imaSamplesPerBlock(f.blockAlign, f.channels)
		if err != nil {
			return nil, err
		}
		// cbSize(2) samplesPerBlock(2), when the writer gave them, must agree with the block size.
		if !extensible && len(b) >= 20 && le.Uint16(b[16:]) >= 2 && int(le.Uint16(b[18:])) != spb {
			return nil, fmt.Errorf("wav: %w: IMA ADPCM block of %d bytes cannot hold %d samples", ErrMalformed, f.blockAlign, le.Uint16(b[18:]))
		}
		return f, nil
	default:
		return nil, fmt.Errorf("wav: %w: format tag %#04x", ErrUnsupported, f.tag)
	}
	f.container = (f.bits + 7) / 8
	// Some writers get blockAlign wrong; trust it only when it names a sensible container.
	if f.blockAlign%f.channels == 0 {
		if c := f.blockAlign / f.channels; c > f.container && c <= 4 && f.tag == tagPCM {
			f.container = c
		}
	}
	f.blockAlign = f.container * f.channels
	return f, nil
}

func readData(r io.Reader, f *format, size uint32) (*Audio, error) {
	limit := int64(size)
	if size == 0 || size == math.MaxUint32 {
		limit = MaxDataBytes + 1 // unknown: up to the end of the input
	} else if limit > MaxDataBytes {
		return nil, fmt.Errorf("wav: %w: data chunk of %d bytes (limit %d)", ErrTooLarge, size, MaxDataBytes)
	}
	// ReadAll grows with what is read, so a size field that lies costs nothing.
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, fmt.Errorf("wav: reading data: %w", err)
	}
	if len(data) > MaxDataBytes {
		return nil, fmt.Errorf("wav: %w: more than %d bytes of data", ErrTooLarge, MaxDataBytes)
	}
	if f.tag == tagIMA {
		return readIMA(data, f)
	}
	frames := len(data) / f.blockAlign
	data = data[:frames*f.blockAlign]
	n := frames * f.channels
	out := make([]int16, n)
	c := f.container
	switch {
	case f.tag == tagULaw:
		voice.ULawDecode(out, data)
	case f.tag == tagALaw:
		voice.ALawDecode(out, data)
	case f.tag == tagPCM && c == 1:
		voice.DecodeU8(out, data)
	case f.tag == tagPCM && c == 2:
		voice.DecodeS16LE(out, data)
	case f.tag == tagPCM:
		// Left-justified in c bytes: the top 16 bits, rounded.
		shift := uint(8*c - 16)
		for i := range out {
			b := data[i*c : i*c+c]
			var v int64
			for k := c - 1; k >= 0; k-- {
				v = v<<8 | int64(b[k])
			}
			v = v << (64 - 8*c) >> (64 - 8*c) // sign-extend
			v = (v + 1<<(shift-1)) >> shift
			out[i] = int16(min(v, math.MaxInt16))
		}
	case f.tag == tagFloat && c == 4:
		for i := range out {
			out[i] = floatSample(float64(math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))))
		}
	case f.tag == tagFloat && c == 8:
		for i := range out {
			out[i] = floatSample(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	default:
		return nil, fmt.Errorf("wav: %w: format %#04x with %d-byte samples", ErrUnsupported, f.tag, c)
	}
	return &Audio{Rate: f.rate, Channels: f.channels, Samples: out}, nil
}

// readIMA decodes IMA ADPCM data, up to the frame count of the fact chunk if there is one.
func readIMA(data []byte, f *format) (*Audio, error) {
	n := imaSamples(len(data), f)
	if 2*int64(n) > MaxDataBytes {
		return nil, fmt.Errorf("wav: %w: %d IMA ADPCM samples", ErrTooLarge, n)
	}
	out := make([]int16, n)
	decodeIMA(out, data, f)
	if f.frames >= 0 && int64(f.frames)*int64(f.channels) < int64(n) {
		n = f.frames * f.channels
	}
	return &Audio{Rate: f.rate, Channels: f.channels, Samples: out[:n:n]}, nil
}

// floatSample maps a float sample (full scale +-1) to 16 bits; NaN is silence.
func floatSample(v float64) int16 {
	if math.IsNaN(v) {
		return 0
	}
	v = math.Round(v * 32768)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// Mono8k returns a's sound as 8 kHz mono: channels are averaged, then resampled.
func (a *Audio) Mono8k() []int16 {
	mono := a.Samples
	if a.Channels > 1 {
		mono = make([]int16, a.Frames())
		for i := range mono {
			var sum int
			for _, s := range a.Samples[i*a.Channels : (i+1)*a.Channels] {
				sum += int(s)
			}
			mono[i] = int16(sum / a.Channels)
		}
	}
	if a.Rate == voice.Rate {
		if a.Channels > 1 {
			return mono
		}
		return append([]int16(nil), mono...)
	}
	return voice.Resample(mono, a.Rate, voice.Rate)
}

// ReadMono8k decodes a WAV file of any supported encoding, rate and channel count from r and
// returns it as 8 kHz mono (channels averaged, resampled with an anti-alias filter).
func ReadMono8k(r io.Reader) ([]int16, error) {
	a, err := Decode(r)
	if err != nil {
		return nil, err
	}
	if int64(a.Frames())*voice.Rate/int64(a.Rate) > MaxDataBytes/2 {
		return nil, fmt.Errorf("wav: %w: %d frames at %d Hz", ErrTooLarge, a.Frames(), a.Rate)
	}
	return a.Mono8k(), nil
}

// ReadFileMono8k is ReadMono8k on the file at path.
func ReadFileMono8k(path string) ([]int16, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	defer f.Close()
	s, err := ReadMono8k(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// headerSize is the size of the canonical header written by Encode and Writer: RIFF, a 16-byte
// fmt chunk, and the data chunk header.
const headerSize = 44

// maxData16 is the most data a canonical 16-bit file can declare.
const maxData16 = math.MaxUint32 - headerSize + 8 - 1

// header returns the canonical header of a 16-bit mono PCM file with dataBytes of data.
func header(rate int, dataBytes uint32) [headerSize]byte {
	var h [headerSize]byte
	le := binary.LittleEndian
	copy(h[0:], "RIFF")
	le.PutUint32(h[4:], dataBytes+headerSize-8)
	copy(h[8:], "WAVEfmt ")
	le.PutUint32(h[16:], 16)
	le.PutUint16(h[20:], tagPCM)
	le.PutUint16(h[22:], 1)
	le.PutUint32(h[24:], uint32(rate))
	le.PutUint32(h[28:], uint32(rate*2))
	le.PutUint16(h[32:], 2)
	le.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	le.PutUint32(h[40:], dataBytes)
	return h
}

// Encode writes samples as a 16-bit mono PCM WAV file at rate Hz.
func Encode(w io.Writer, samples []int16, rate int) error {
	if rate < 1 || rate > maxRate {
		return fmt.Errorf("wav: encode: sample rate %d out of range", rate)
	}
	if int64(len(samples))*2 > maxData16 {
		return fmt.Errorf("wav: encode: %d samples do not fit in a WAV file", len(samples))
	}
	h := header(rate, uint32(2*len(samples)))
	buf := make([]byte, headerSize+2*len(samples))
	copy(buf, h[:])
	voice.EncodeS16LE(buf[headerSize:], samples)
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("wav: encode: %w", err)
	}
	return nil
}
