package importer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/dtmf"
	"hotline/voice/tone"
	"hotline/voice/wav"
)

// The fixtures are real files made the way owners make them: espeak-ng speaks, sox writes WAV
// and MP3 (MP3 needs sox's MP3 format, Debian libsox-fmt-mp3) at the usual rates, mono and
// stereo, with a second of silence before and after the voice and at different levels.

const speechText = "Hello! You have reached our hotline. Please hold the line, someone will answer you shortly."

var (
	speechOnce sync.Once
	speechWAV  string // espeak-ng output, 22050 Hz mono
	speechErr  error
	speechDir  string
)

// speech returns the path of the espeak-ng recording the fixtures are made from.
func speech(t *testing.T) string {
	t.Helper()
	speechOnce.Do(func() {
		for _, tool := range []string{"espeak-ng", "sox"} {
			if _, err := exec.LookPath(tool); err != nil {
				speechErr = fmt.Errorf("the importer tests need %s (apt-get install espeak-ng sox libsox-fmt-mp3): %w", tool, err)
				return
			}
		}
		speechDir, speechErr = os.MkdirTemp("", "importer-test")
		if speechErr != nil {
			return
		}
		speechWAV = filepath.Join(speechDir, "speech.wav")
		if out, err := exec.Command("espeak-ng", "-v", "en-us", "-w", speechWAV, "--", speechText).CombinedOutput(); err != nil {
			speechErr = fmt.Errorf("espeak-ng: %v: %s", err, out)
		}
	})
	if speechErr != nil {
		t.Fatal(speechErr)
	}
	return speechWAV
}

func TestMain(m *testing.M) {
	code := m.Run()
	if speechDir != "" {
		os.RemoveAll(speechDir)
	}
	os.Exit(code)
}

// soxMake converts the speech to a file of the given type, rate and channels, with a second of
// silence before and 1.5 s after it and the gain applied.
func soxMake(t *testing.T, ext string, rate, channels int, gainDB float64) []byte {
	t.Helper()
	src := speech(t)
	out := filepath.Join(t.TempDir(), fmt.Sprintf("fixture.%s", ext))
	args := []string{"-D", "-V1", src, "-r", fmt.Sprint(rate), "-c", fmt.Sprint(channels)}
	if ext == "wav" {
		args = append(args, "-b", "16", "-e", "signed-integer")
	}
	args = append(args, out, "gain", fmt.Sprint(gainDB), "pad", "1", "1.5")
	if b, err := exec.Command("sox", args...).CombinedOutput(); err != nil {
		if ext == "mp3" || ext == "mp2" {
			t.Fatalf("sox cannot write %s: %v: %s\nThe importer tests need sox's MP3 support: add libsox-fmt-mp3 to the Debian packages of make test (TEST_DEBS).", ext, err, b)
		}
		t.Fatalf("sox: %v: %s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// analysis is what a test measures of an imported prompt.
type analysis struct {
	lead, tail time.Duration // silence before and after the voice (10 ms windows above -45 dBm0)
	length     time.Duration
	levelDBm0  float64 // RMS of the windows within 30 dB of the loudest
	peak       int
}

func analyse(s []int16) analysis {
	a := analysis{length: time.Duration(len(s)) * time.Second / voice.Rate}
	const w = voice.Rate / 100
	var levels []float64
	loudest := -200.0
	for i := 0; i+w <= len(s); i += w {
		l := tone.LevelDBm0(s[i : i+w])
		levels = append(levels, l)
		loudest = max(loudest, l)
	}
	first, last := -1, -1
	var p float64
	var n int
	for i, l := range levels {
		if l > -45 {
			if first < 0 {
				first = i
			}
			last = i
		}
		if l >= loudest-30 {
			p += math.Pow(10, l/10)
			n++
		}
	}
	a.lead = time.Duration(first) * 10 * time.Millisecond
	a.tail = a.length - time.Duration(last+1)*10*time.Millisecond
	a.levelDBm0 = 10 * math.Log10(p/float64(n))
	for _, v := range s {
		a.peak = max(a.peak, int(v), -int(v))
	}
	return a
}

// peakLimit is PeakLimitDBFS as a sample value.
var peakLimit = int(math.Ceil(32768 * math.Pow(10, PeakLimitDBFS/20)))

func TestImportRealFiles(t *testing.T) {
	ref8k := soxMake(t, "wav", 8000, 1, 0)
	refOut, err := Import(bytes.NewReader(ref8k), 0)
	if err != nil {
		t.Fatal(err)
	}
	ref := analyse(refOut)
	t.Logf("reference (8 kHz mono WAV): %+v", ref)
	srcLen := time.Duration(len(ref8k)-44) * time.Second / 2 / voice.Rate
	if ref.length > srcLen-2*time.Second {
		t.Errorf("reference is %v long from %v with 2.5 s of padding: silence not trimmed", ref.length, srcLen)
	}

	for _, tc := range []struct {
		ext      string
		rate, ch int
		gain     float64
	}{
		{"mp3", 44100, 1, -3},
		{"mp3", 44100, 2, -15},
		{"mp3", 48000, 1, -25},
		{"mp3", 48000, 2, -1},
		{"mp3", 16000, 1, -10},
		{"wav", 16000, 2, -6},
		{"wav", 44100, 2, -20},
		{"wav", 48000, 2, 0},
		{"wav", 48000, 1, -30},
	} {
		name := fmt.Sprintf("%s_%dHz_%dch_%gdB", tc.ext, tc.rate, tc.ch, tc.gain)
		t.Run(name, func(t *testing.T) {
			in := soxMake(t, tc.ext, tc.rate, tc.ch, tc.gain)
			out, err := Import(bytes.NewReader(in), 0)
			if err != nil {
				t.Fatal(err)
			}
			a := analyse(out)
			t.Logf("%+v", a)
			if a.lead > 100*time.Millisecond || a.lead < 20*time.Millisecond {
				t.Errorf("%v of silence before the voice, want 20-100 ms", a.lead)
			}
			if a.tail > 160*time.Millisecond {
				t.Errorf("%v of silence after the voice, want at most ~150 ms", a.tail)
			}
			// The same speech whatever the file: MP3 adds its encoder delay and padding.
			if d := a.length - ref.length; d < -40*time.Millisecond || d > 80*time.Millisecond {
				t.Errorf("length %v, the 8 kHz WAV gives %v", a.length, ref.length)
			}
			peakLimited := a.peak >= peakLimit*9/10
			if math.Abs(a.levelDBm0-TargetDBm0) > 0.5 && !(peakLimited && a.levelDBm0 < TargetDBm0) {
				t.Errorf("voiced level %.2f dBm0, want %.0f (peak %d)", a.levelDBm0, TargetDBm0, a.peak)
			}
			if a.levelDBm0 < TargetDBm0-4 {
				t.Errorf("voiced level %.2f dBm0: far too quiet", a.levelDBm0)
			}
			if a.peak > peakLimit {
				t.Errorf("peak %d above the limit %d", a.peak, peakLimit)
			}
			if keys := dtmf.Decode(out); keys != "" {
				t.Errorf("the DTMF receiver hears %q in the prompt", keys)
			}
			// Decode gives the sound as it is: untrimmed, at its own level.
			raw, err := Decode(bytes.NewReader(in), 0)
			if err != nil {
				t.Fatal(err)
			}
			if d := time.Duration(len(raw)) * time.Second / voice.Rate; d < ref.length+2*time.Second {
				t.Errorf("Decode returned %v, want the padding kept", d)
			}
		})
	}
}

// id3 returns an ID3v2.4 tag with a text frame of n bytes.
func id3(n int) []byte {
	frame := append([]byte("TIT2"), 0, 0, 0, 0, 0, 0, 3)
	frame = append(frame, bytes.Repeat([]byte("x"), n)...)
	binary.BigEndian.PutUint32(frame[4:], uint32(n+1)) // syncsafe for n < 128
	size := len(frame)
	return append([]byte{'I', 'D', '3', 4, 0, 0,
		byte(size >> 21 & 0x7F), byte(size >> 14 & 0x7F), byte(size >> 7 & 0x7F), byte(size & 0x7F)}, frame...)
}

func TestMP3Variants(t *testing.T) {
	in := soxMake(t, "mp3", 44100, 2, -6)
	plain, err := Import(bytes.NewReader(in), 0)
	if err != nil {
		t.Fatal(err)
	}
	// An ID3v2 tag (two, even, and padding after them) changes nothing.
	tagged := append(append(append(id3(100), id3(20)...), make([]byte, 300)...), in...)
	got, err := Import(bytes.NewReader(tagged), 0)
	if err != nil {
		t.Fatalf("with ID3 tags: %v", err)
	}
	if len(got) != len(plain) {
		t.Errorf("with ID3 tags: %d samples, without %d", len(got), len(plain))
	}
	// A file cut in the middle plays as far as it goes.
	cut, err := Decode(bytes.NewReader(in[:len(in)/2]), 0)
	if err != nil {
		t.Fatalf("torn MP3: %v", err)
	}
	full, _ := Decode(bytes.NewReader(in), 0)
	if len(cut) < len(full)*4/10 || len(cut) > len(full)*6/10 {
		t.Errorf("torn MP3 gave %d samples of %d", len(cut), len(full))
	}
	// Small committed files: MPEG-2 (16 kHz) and MPEG-1 (44.1 kHz stereo).
	for _, f := range []struct {
		name string
		dur  time.Duration
	}{{"tone16k.mp3", 300 * time.Millisecond}, {"tone44k.mp3", 200 * time.Millisecond}} {
		b, err := os.ReadFile(filepath.Join("testdata", f.name))
		if err != nil {
			t.Fatal(err)
		}
		s, err := Decode(bytes.NewReader(b), 0)
		if err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		d := time.Duration(len(s)) * time.Second / voice.Rate
		if d < f.dur || d > f.dur+150*time.Millisecond {
			t.Errorf("%s: %v long, want %v and the codec's padding", f.name, d, f.dur)
		}
	}
}

func wavBytes(t testing.TB, s []int16, rate int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := wav.Encode(&b, s, rate); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noise := make([]byte, 4096)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	quiet := make([]int16, 2*voice.Rate)
	for i := range quiet {
		quiet[i] = int16(rng.IntN(7) - 3) // about -75 dBm0
	}
	long := tone.Sine(400, (MaxDuration+1)*time.Second, -20)
	adpcm := wavBytes(t, tone.Sine(400, time.Second, -20), 8000)
	binary.LittleEndian.PutUint16(adpcm[20:], 2) // format tag: MS ADPCM
	hostileID3 := append([]byte{'I', 'D', '3', 3, 0, 0, 0x7F, 0x7F, 0x7F, 0x7F}, make([]byte, 100)...)
	mp2 := soxMake(t, "mp2", 44100, 1, 0)

	for _, tc := range []struct {
		name     string
		in       []byte
		maxBytes int64
		want     error
	}{
		{"empty", nil, 0, ErrSilent},
		{"text", []byte("Hello, this is not a sound file at all.\n"), 0, ErrNotAudio},
		{"noise", noise, 0, ErrNotAudio},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), 0, ErrNotAudio},
		{"riff but not wave", []byte("RIFF\x10\x00\x00\x00AVI LIST"), 0, ErrNotAudio},
		{"wav without data", wavBytes(t, nil, 8000)[:36], 0, ErrNotAudio},
		{"digital silence", wavBytes(t, make([]int16, 16000), 8000), 0, ErrSilent},
		{"line noise only", wavBytes(t, quiet, 8000), 0, ErrSilent},
		{"empty wav", wavBytes(t, nil, 44100), 0, ErrSilent},
		{"too long", wavBytes(t, long, 8000), 0, ErrTooLong},
		{"too large", wavBytes(t, tone.Sine(400, time.Second, -20), 8000), 1000, ErrTooLarge},
		{"adpcm wav", adpcm, 0, ErrUnsupported},
		{"mp2", mp2, 0, ErrUnsupported},
		{"id3 larger than the file", hostileID3, 0, ErrNotAudio},
		{"id3 then garbage", append(id3(10), noise...), 0, ErrNotAudio},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Import(bytes.NewReader(tc.in), tc.maxBytes)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Import: %v (%d samples), want %v", err, len(s), tc.want)
			}
			if !strings.HasPrefix(err.Error(), "importer: ") {
				t.Errorf("error %q does not say where it comes from", err)
			}
		})
	}
}

func TestLimitsAreExact(t *testing.T) {
	in := wavBytes(t, tone.Sine(400, time.Second, -20), 8000)
	if _, err := Import(bytes.NewReader(in), int64(len(in))); err != nil {
		t.Errorf("a file of exactly maxBytes: %v", err)
	}
	if _, err := Import(bytes.NewReader(in), int64(len(in)-1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("a file one byte over maxBytes: %v", err)
	}
	justFits := wavBytes(t, tone.Sine(400, MaxDuration*time.Second, -20), 8000)
	if _, err := Import(bytes.NewReader(justFits), 0); err != nil {
		t.Errorf("exactly MaxDuration: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	// A tone burst with a DC offset and long silences around it.
	s := make([]int16, 3*voice.Rate)
	burst := tone.Sine(700, time.Second, -35)
	for i := range s {
		s[i] = 500
	}
	for i, v := range burst {
		s[voice.Rate+i] += v
	}
	out, err := Normalize(s)
	if err != nil {
		t.Fatal(err)
	}
	a := analyse(out)
	if math.Abs(a.levelDBm0-TargetDBm0) > 0.3 {
		t.Errorf("level %.2f dBm0", a.levelDBm0)
	}
	if d := a.length - time.Second; d < 0 || d > 160*time.Millisecond {
		t.Errorf("a 1 s burst became %v", a.length)
	}
	// A quiet sound with loud clicks is held at the peak limit instead of clipping.
	clicks := tone.Sine(1000, time.Second, -35)
	for i := 0; i < len(clicks); i += 1000 {
		clicks[i] = 8000
	}
	out, err = Normalize(clicks)
	if err != nil {
		t.Fatal(err)
	}
	if a := analyse(out); a.peak > peakLimit || a.peak < peakLimit-200 {
		t.Errorf("clicks: peak %d, want just under %d", a.peak, peakLimit)
	}
	if s[0] != 500 {
		t.Error("Normalize changed its input")
	}
}

// TestHostileHeadersCostLittle checks that size fields in headers never decide how much memory
// is allocated: small files that claim to be huge cost about what they are.
func TestHostileHeadersCostLittle(t *testing.T) {
	riff := wavBytes(t, tone.Sine(400, 100*time.Millisecond, -20), 8000)
	binary.LittleEndian.PutUint32(riff[40:], 0xFFFFFFF0) // data chunk size
	binary.LittleEndian.PutUint32(riff[4:], 0xFFFFFFF0)
	fmtHuge := wavBytes(t, tone.Sine(400, 100*time.Millisecond, -20), 8000)
	binary.LittleEndian.PutUint32(fmtHuge[16:], 0x7FFFFFFF) // fmt chunk size
	mp3, err := os.ReadFile(filepath.Join("testdata", "tone16k.mp3"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []byte
	}{
		{"riff data size", riff},
		{"fmt size", fmtHuge},
		{"id3 size", append([]byte{'I', 'D', '3', 4, 0, 0, 0x7F, 0x7F, 0x7F, 0x7F}, mp3...)},
		{"id3 size fits", append([]byte{'I', 'D', '3', 4, 0, 0, 0, 0, 0x10, 0}, mp3...)},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := Import(bytes.NewReader(tc.in), 1<<20)
		runtime.ReadMemStats(&after)
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
			t.Errorf("%s: %d bytes allocated for a %d-byte file (%v)", tc.name, alloc, len(tc.in), err)
		}
	}
}

func FuzzImport(f *testing.F) {
	f.Add(wavBytes(f, tone.Sine(400, 50*time.Millisecond, -20), 8000))
	f.Add(wavBytes(f, tone.Sine(400, 30*time.Millisecond, -20), 44100))
	for _, name := range []string{"tone16k.mp3", "tone44k.mp3"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/3])
		f.Add(append(id3(5), b...))
	}
	f.Add([]byte("ID3\x04\x00\x00\x7f\x7f\x7f\x7f"))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x40\x1f\x00\x00\x80\x3e\x00\x00\x02\x00\x10\x00data\xff\xff\xff\xff\x01\x02"))
	f.Add([]byte{0xFF, 0xFB, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Import(bytes.NewReader(b), 1<<20)
		if err != nil {
			for _, e := range []error{ErrNotAudio, ErrUnsupported, ErrTooLarge, ErrTooLong, ErrSilent} {
				if errors.Is(err, e) {
					return
				}
			}
			t.Fatalf("error %v wraps none of the documented errors", err)
		}
		if len(s) == 0 {
			t.Fatal("no error and no sound")
		}
		for _, v := range s {
			if int(v) > peakLimit || -int(v) > peakLimit {
				t.Fatalf("sample %d above the peak limit", v)
			}
		}
	})
}

func BenchmarkImportMP3(b *testing.B) {
	in, err := os.ReadFile(filepath.Join("testdata", "tone44k.mp3"))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Import(bytes.NewReader(in), 0); err != nil {
			b.Fatal(err)
		}
	}
}
