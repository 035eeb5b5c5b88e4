package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// amplitudeAt measures the amplitude of freq in x (one channel, rate Hz), skipping the edges.
func amplitudeAt(x []int16, rate int, freq float64) float64 {
	skip := len(x) / 8
	x = x[skip : len(x)-skip]
	var re, im, wsum float64
	for i, s := range x {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(len(x)-1))
		ph := 2 * math.Pi * freq * float64(i) / float64(rate)
		re += w * float64(s) * math.Cos(ph)
		im += w * float64(s) * math.Sin(ph)
		wsum += w
	}
	return 2 * math.Hypot(re, im) / wsum
}

func channel(a *Audio, c int) []int16 {
	out := make([]int16, a.Frames())
	for i := range out {
		out[i] = a.Samples[i*a.Channels+c]
	}
	return out
}

// TestDecodeSoxFiles decodes files written by another program (testdata/make.sh): a 1 kHz sine
// at half full scale, 0.1 s, in every supported encoding.
func TestDecodeSoxFiles(t *testing.T) {
	for _, tc := range []struct {
		file     string
		rate, ch int
		tolDB    float64
	}{
		{"u8-8k-mono.wav", 8000, 1, 0.3},
		{"s16-44k1-stereo.wav", 44100, 2, 0.05},
		{"s24-48k-mono.wav", 48000, 1, 0.05},
		{"s24-8k-wavpcm.wav", 8000, 1, 0.05},
		{"s32-16k-mono.wav", 16000, 1, 0.05},
		{"f32-22k05-stereo.wav", 22050, 2, 0.05},
		{"f64-11k025-mono.wav", 11025, 1, 0.05},
		{"ulaw-8k-mono.wav", 8000, 1, 0.3},
		{"alaw-8k-mono.wav", 8000, 1, 0.3},
		{"s16-8k-3ch.wav", 8000, 3, 0.05},
	} {
		t.Run(tc.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			a, err := Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			if a.Rate != tc.rate || a.Channels != tc.ch {
				t.Fatalf("rate %d channels %d, want %d and %d", a.Rate, a.Channels, tc.rate, tc.ch)
			}
			if want := (tc.rate + 9) / 10; a.Frames() != want {
				t.Errorf("%d frames, want %d", a.Frames(), want)
			}
			for c := range a.Channels {
				amp := amplitudeAt(channel(a, c), a.Rate, 1000)
				if d := 20 * math.Log10(amp/16384); math.Abs(d) > tc.tolDB {
					t.Errorf("channel %d: 1 kHz at %.0f (%.2f dB off)", c, amp, d)
				}
			}

			f.Seek(0, io.SeekStart)
			m, err := ReadMono8k(f)
			if err != nil {
				t.Fatal(err)
			}
			if want := (a.Frames()*8000 + a.Rate - 1) / a.Rate; len(m) != want {
				t.Errorf("ReadMono8k: %d samples, want %d", len(m), want)
			}
			amp := amplitudeAt(m, 8000, 1000)
			if d := 20 * math.Log10(amp/16384); math.Abs(d) > tc.tolDB+0.1 {
				t.Errorf("ReadMono8k: 1 kHz at %.0f (%.2f dB off)", amp, d)
			}
		})
	}
}

func TestReadFileMono8kDownmix(t *testing.T) {
	// Left and right in opposite phase cancel; the same signal on both keeps its level.
	dir := t.TempDir()
	stereo := func(name string, sign int16) string {
		s := make([]int16, 2*16000)
		for i := range 16000 {
			v := int16(8000 * math.Sin(2*math.Pi*500*float64(i)/16000))
			s[2*i], s[2*i+1] = v, sign*v
		}
		var b bytes.Buffer
		writeWAV(&b, fmtChunk(tagPCM, 2, 16000, 16), sliceBytes(s), -1)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	m, err := ReadFileMono8k(stereo("same.wav", 1))
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 8000 || math.Abs(amplitudeAt(m, 8000, 500)-8000) > 50 {
		t.Errorf("in-phase stereo: %d samples, 500 Hz at %.0f", len(m), amplitudeAt(m, 8000, 500))
	}
	m, err = ReadFileMono8k(stereo("anti.wav", -1))
	if err != nil {
		t.Fatal(err)
	}
	if amp := amplitudeAt(m, 8000, 500); amp > 2 {
		t.Errorf("anti-phase stereo: 500 Hz left at %.1f", amp)
	}
	if _, err := ReadFileMono8k(filepath.Join(dir, "missing.wav")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// fmtChunk returns the content of a plain fmt chunk.
func fmtChunk(tag, channels, rate, bits int) []byte {
	b := make([]byte, 16)
	le := binary.LittleEndian
	le.PutUint16(b[0:], uint16(tag))
	le.PutUint16(b[2:], uint16(channels))
	le.PutUint32(b[4:], uint32(rate))
	ba := channels * ((bits + 7) / 8)
	le.PutUint32(b[8:], uint32(rate*ba))
	le.PutUint16(b[12:], uint16(ba))
	le.PutUint16(b[14:], uint16(bits))
	return b
}

func chunk(id string, body []byte, declared int64) []byte {
	b := []byte(id)
	if declared < 0 {
		declared = int64(len(body))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(declared))
	b = append(b, body...)
	if len(body)%2 == 1 && declared == int64(len(body)) {
		b = append(b, 0)
	}
	return b
}

// writeWAV writes RIFF, fmt and data (whose size field is dataSize, or the real size when -1).
func writeWAV(w io.Writer, fmtBody, data []byte, dataSize int64) {
	body := []byte("WAVE")
	body = append(body, chunk("fmt ", fmtBody, -1)...)
	body = append(body, chunk("data", data, dataSize)...)
	riff := binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body)))
	w.Write(append(riff, body...)) // no pad byte: a torn file ends where it ends

}

func sliceBytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

func ramp(n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(i*37 - 20000)
	}
	return s
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	in := ramp(1001)
	var b bytes.Buffer
	if err := Encode(&b, in, 8000); err != nil {
		t.Fatal(err)
	}
	if b.Len() != headerSize+2*len(in) {
		t.Fatalf("file is %d bytes", b.Len())
	}
	a, err := Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if a.Rate != 8000 || a.Channels != 1 || !equal(a.Samples, in) {
		t.Fatalf("round trip: rate %d, channels %d, %d samples", a.Rate, a.Channels, len(a.Samples))
	}
	if err := Encode(io.Discard, in, 0); err == nil {
		t.Error("Encode with rate 0 succeeded")
	}
	if err := Encode(failWriter{}, in, 8000); err == nil {
		t.Error("Encode hid a write error")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDecodeTorn(t *testing.T) {
	in := ramp(500)
	data := sliceBytes(in)
	for _, tc := range []struct {
		name     string
		file     []byte
		want     int // samples
		channels int
	}{
		{"declared larger than present", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), data, 100000), 500, 1},
		{"declared 0 (streaming)", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), data, 0), 500, 1},
		{"declared 0xFFFFFFFF", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), data, math.MaxUint32), 500, 1},
		{"odd trailing byte", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), append(data[:len(data):len(data)], 7), 100000), 500, 1},
		{"torn stereo frame", wavBytes(fmtChunk(tagPCM, 2, 8000, 16), data[:998], 100000), 498, 2},
		{"cut inside the data", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), data, -1)[:headerSize+300], 150, 1},
		{"only the data header", wavBytes(fmtChunk(tagPCM, 1, 8000, 16), nil, 0), 0, 1},
		{"data then a LIST chunk", append(wavBytes(fmtChunk(tagPCM, 1, 8000, 16), data, -1), chunk("LIST", []byte("INFOabc"), -1)...), 500, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode(bytes.NewReader(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Samples) != tc.want || a.Channels != tc.channels {
				t.Fatalf("%d samples, %d channels; want %d, %d", len(a.Samples), a.Channels, tc.want, tc.channels)
			}
			if !equal(a.Samples, in[:tc.want]) {
				t.Error("samples differ from what was written")
			}
		})
	}
}

func wavBytes(fmtBody, data []byte, dataSize int64) []byte {
	var b bytes.Buffer
	writeWAV(&b, fmtBody, data, dataSize)
	return b.Bytes()
}

func TestDecodeSkipsChunks(t *testing.T) {
	body := []byte("WAVE")
	body = append(body, chunk("JUNK", []byte("odd"), -1)...) // padded odd chunk before fmt
	ext := make([]byte, 40)
	copy(ext, fmtChunk(tagExtensible, 1, 8000, 16))
	binary.LittleEndian.PutUint16(ext[16:], 22)
	binary.LittleEndian.PutUint16(ext[18:], 16)
	binary.LittleEndian.PutUint16(ext[24:], tagPCM)
	copy(ext[26:], []byte{0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71})
	body = append(body, chunk("fmt ", ext, -1)...)
	body = append(body, chunk("fact", []byte{1, 0, 0, 0}, -1)...)
	body = append(body, chunk("data", sliceBytes([]int16{1, -2, 3}), -1)...)
	a, err := Decode(bytes.NewReader(chunk("RIFF", body, 0)))
	if err != nil {
		t.Fatal(err)
	}
	if !equal(a.Samples, []int16{1, -2, 3}) {
		t.Errorf("samples %v", a.Samples)
	}
}

func TestDecodeWideSamples(t *testing.T) {
	// 24-bit and 32-bit keep the top 16 bits, rounded; float clips.
	s24 := []byte{0x80, 0x34, 0x12, 0x7F, 0x00, 0x80, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF}
	a, err := Decode(bytes.NewReader(wavBytes(fmtChunk(tagPCM, 1, 8000, 24), s24, -1)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{0x1235, -32768, 32767, 0}; !equal(a.Samples, want) {
		t.Errorf("24-bit: %v, want %v", a.Samples, want)
	}
	var f32 []byte
	for _, v := range []float32{0.5, -1, 2, -3, float32(math.NaN()), 1.0 / 32768} {
		f32 = binary.LittleEndian.AppendUint32(f32, math.Float32bits(v))
	}
	a, err = Decode(bytes.NewReader(wavBytes(fmtChunk(tagFloat, 1, 8000, 32), f32, -1)))
	if err != nil {
		t.Fatal(err)
	}
	if want := []int16{16384, -32768, 32767, -32768, 0, 1}; !equal(a.Samples, want) {
		t.Errorf("float: %v, want %v", a.Samples, want)
	}
}

func TestDecodeHostile(t *testing.T) {
	pcm := fmtChunk(tagPCM, 1, 8000, 16)
	with := func(mod func(b []byte)) []byte {
		b := append([]byte(nil), pcm...)
		mod(b)
		return b
	}
	le := binary.LittleEndian
	badGUID := make([]byte, 40)
	copy(badGUID, fmtChunk(tagExtensible, 1, 8000, 16))
	le.PutUint16(badGUID[24:], tagPCM)
	for _, tc := range []struct {
		name string
		file []byte
		want error
	}{
		{"empty", nil, ErrNotWAV},
		{"text", []byte("hello, this is not a sound file at all"), ErrNotWAV},
		{"RIFF but not WAVE", chunk("RIFF", []byte("AVI LIST"), -1), ErrNotWAV},
		{"no chunks", chunk("RIFF", []byte("WAVE"), -1), ErrMalformed},
		{"no data", chunk("RIFF", append([]byte("WAVE"), chunk("fmt ", pcm, -1)...), -1), ErrMalformed},
		{"data before fmt", chunk("RIFF", append([]byte("WAVE"), chunk("data", []byte{1, 2}, -1)...), -1), ErrMalformed},
		{"short fmt", wavBytes(pcm[:10], []byte{1, 2}, -1), ErrMalformed},
		{"huge fmt", chunk("RIFF", append([]byte("WAVEfmt "), 0xFF, 0xFF, 0xFF, 0x7F), -1), ErrMalformed},
		{"fmt cut short", chunk("RIFF", append([]byte("WAVEfmt "), 16, 0, 0, 0, 1, 0), -1), ErrMalformed},
		{"two fmt chunks", chunk("RIFF", append(append([]byte("WAVE"), chunk("fmt ", pcm, -1)...), chunk("fmt ", pcm, -1)...), -1), ErrMalformed},
		{"0 channels", wavBytes(with(func(b []byte) { le.PutUint16(b[2:], 0) }), nil, -1), ErrMalformed},
		{"65535 channels", wavBytes(with(func(b []byte) { le.PutUint16(b[2:], 65535) }), nil, -1), ErrMalformed},
		{"rate 0", wavBytes(with(func(b []byte) { le.PutUint32(b[4:], 0) }), nil, -1), ErrMalformed},
		{"rate 1", wavBytes(with(func(b []byte) { le.PutUint32(b[4:], 1) }), nil, -1), ErrMalformed},
		{"rate 4G", wavBytes(with(func(b []byte) { le.PutUint32(b[4:], math.MaxUint32) }), nil, -1), ErrMalformed},
		{"0-bit PCM", wavBytes(with(func(b []byte) { le.PutUint16(b[14:], 0) }), nil, -1), ErrUnsupported},
		{"64-bit PCM", wavBytes(with(func(b []byte) { le.PutUint16(b[14:], 64) }), nil, -1), ErrUnsupported},
		{"16-bit float", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], tagFloat) }), nil, -1), ErrUnsupported},
		{"16-bit mu-law", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], tagULaw) }), nil, -1), ErrMalformed},
		{"MP3 in WAV", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], 0x55) }), nil, -1), ErrUnsupported},
		{"16-bit IMA ADPCM", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], tagIMA) }), nil, -1), ErrUnsupported},
		{"MS ADPCM", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], 0x02) }), nil, -1), ErrUnsupported},
		{"short extensible", wavBytes(with(func(b []byte) { le.PutUint16(b[0:], tagExtensible) }), nil, -1), ErrMalformed},
		{"extensible, foreign GUID", wavBytes(badGUID, nil, -1), ErrUnsupported},
		{"skipped chunk runs past the end", chunk("RIFF", append([]byte("WAVELIST"), 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3), -1), ErrMalformed},
		{"data over the limit", wavBytes(pcm, []byte{1, 2}, MaxDataBytes+2), ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Decode(bytes.NewReader(tc.file))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, %v; want error %v", a, err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "wav: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
}

// TestDecodeLyingSizesAllocateLittle: size fields that promise gigabytes cost only what is there.
func TestDecodeLyingSizesAllocateLittle(t *testing.T) {
	file := wavBytes(fmtChunk(tagPCM, 1, 8000, 16), []byte{1, 2, 3, 4}, MaxDataBytes)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := Decode(bytes.NewReader(file)); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("10 decodes of a 48-byte file allocated %d bytes", n)
	}
}

// TestDecodeLimitOnUnknownSize: a stream with an unknown data size stops at MaxDataBytes.
func TestDecodeLimitOnUnknownSize(t *testing.T) {
	hdr := wavBytes(fmtChunk(tagPCM, 1, 8000, 16), nil, math.MaxUint32)
	r := io.MultiReader(bytes.NewReader(hdr), io.LimitReader(zeros{}, MaxDataBytes+10))
	if _, err := Decode(r); !errors.Is(err, ErrTooLarge) {
		t.Errorf("endless data: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.wav")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 200)])
	}
	f.Add(wavBytes(fmtChunk(tagPCM, 2, 8000, 24), []byte{1, 2, 3, 4, 5, 6, 7}, 0))
	f.Add(wavBytes(fmtChunk(tagFloat, 1, 44100, 64), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, -1))
	f.Add(wavBytes(fmtChunk(tagALaw, 3, 8000, 8), []byte{1, 2, 3, 4, 5}, 99))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := Decode(bytes.NewReader(b))
		if err != nil {
			if a != nil {
				t.Fatal("error with audio")
			}
			return
		}
		if a.Rate < 1 || a.Channels < 1 || len(a.Samples)%a.Channels != 0 {
			t.Fatalf("inconsistent audio: rate %d channels %d samples %d", a.Rate, a.Channels, len(a.Samples))
		}
		if len(a.Samples) > 2*len(b) { // 4-bit IMA ADPCM: 2 samples a byte at most
			t.Fatalf("%d samples from %d bytes", len(a.Samples), len(b))
		}
		if a.Frames() < 2000 {
			m, err := ReadMono8k(bytes.NewReader(b))
			if err != nil || len(m) > 16*a.Frames()+1 {
				t.Fatalf("ReadMono8k: %d samples from %d frames, %v", len(m), a.Frames(), err)
			}
		}
	})
}
