package voice_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/prompts"
	"hotline/voice/tone"
)

func frameOf(s []int16) *voice.Frame {
	var f voice.Frame
	copy(f[:], s)
	return &f
}

func TestFrameLevelDBm0(t *testing.T) {
	for _, db := range []float64{0, -10, -25, -40, -60} {
		s := tone.Sine(1000, voice.FrameDuration, db)
		got := voice.FrameLevelDBm0(frameOf(s))
		if math.Abs(got-db) > 0.05 {
			t.Errorf("1 kHz at %v dBm0 measures %.2f", db, got)
		}
		if want := tone.LevelDBm0(s); math.Abs(got-want) > 1e-9 {
			t.Errorf("FrameLevelDBm0 %.4f and tone.LevelDBm0 %.4f disagree", got, want)
		}
	}
	if got := voice.FrameLevelDBm0(&voice.Frame{}); got != voice.SilenceLevel {
		t.Errorf("silence measures %v", got)
	}
	var one voice.Frame
	one[0] = 1 // the quietest sound there is: about -96 dBm0, still above SilenceLevel
	if got := voice.FrameLevelDBm0(&one); got < -100 || got > -90 {
		t.Errorf("one LSB measures %v", got)
	}
	var full voice.Frame
	for i := range full {
		full[i] = math.MinInt16
	}
	if got := voice.FrameLevelDBm0(&full); math.Abs(got-6.18) > 0.05 { // square wave: 3 dB over a sine
		t.Errorf("full-scale square measures %v", got)
	}
}

func TestFrameLevels(t *testing.T) {
	for _, db := range []float64{3, 0, -10, -25, -40, -60} {
		s := tone.Sine(1000, voice.FrameDuration, db)
		rms, peak := voice.FrameLevels(frameOf(s))
		if math.Abs(rms-db) > 0.05 || math.Abs(rms-voice.FrameLevelDBm0(frameOf(s))) > 1e-9 {
			t.Errorf("1 kHz at %v dBm0: RMS %.2f", db, rms)
		}
		// 1 kHz at 8 kHz hits its crest exactly (a sample every 45 degrees); quiet sines lose
		// a little to rounding.
		if tol := 0.05 + 20*math.Log10(1+1/tone.Amplitude(db)); math.Abs(peak-db) > tol {
			t.Errorf("1 kHz at %v dBm0: peak %.2f", db, peak)
		}
	}
	var square voice.Frame
	for i := range square {
		square[i] = 10000
		if i%8 >= 4 {
			square[i] = -10000
		}
	}
	rms, peak := voice.FrameLevels(&square)
	if math.Abs(rms-peak-3.01) > 0.05 {
		t.Errorf("square wave: RMS %.2f, peak %.2f, want RMS 3 dB above the peak's sine", rms, peak)
	}
	var full voice.Frame
	full[17] = math.MinInt16
	if _, peak := voice.FrameLevels(&full); math.Abs(peak-3.17) > 0.01 {
		t.Errorf("full-scale click peaks at %.2f dBm0, want +3.17", peak)
	}
	if rms, peak := voice.FrameLevels(&voice.Frame{}); rms != voice.SilenceLevel || peak != voice.SilenceLevel {
		t.Errorf("silence: %v, %v", rms, peak)
	}
	f := frameOf(tone.Sine(440, voice.FrameDuration, -20))
	if n := testing.AllocsPerRun(100, func() { voice.FrameLevels(f) }); n != 0 {
		t.Errorf("FrameLevels allocates %v times", n)
	}
}

func BenchmarkFrameLevels(b *testing.B) {
	f := frameOf(tone.Sine(440, voice.FrameDuration, -20))
	b.ReportAllocs()
	for b.Loop() {
		voice.FrameLevels(f)
	}
}

// run feeds s frame by frame and returns what Process said for each frame.
func run(d *voice.SilenceDetector, s []int16) []bool {
	var out []bool
	for i := 0; i+voice.FrameSamples <= len(s); i += voice.FrameSamples {
		out = append(out, d.Process(frameOf(s[i:])))
	}
	return out
}

func count(b []bool, v bool) int {
	n := 0
	for _, x := range b {
		if x == v {
			n++
		}
	}
	return n
}

func TestSilenceDetector(t *testing.T) {
	d := voice.NewSilenceDetector(voice.DefaultSilenceDBm0)
	if !d.Process(&voice.Frame{}) || d.Heard() {
		t.Fatal("a new detector is not in silence")
	}

	// Noise below the threshold is silence.
	noise := make([]int16, 2*voice.Rate)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range noise {
		noise[i] = int16(rng.NormFloat64() * tone.Amplitude(-55) / math.Sqrt2)
	}
	if n := count(run(d, noise), false); n != 0 {
		t.Errorf("noise at -55 dBm0: %d frames not silent", n)
	}

	// A click (one loud frame) does not break the silence.
	click := append(tone.Sine(1000, voice.FrameDuration, -5), tone.Silence(time.Second)...)
	if n := count(run(d, click), false); n != 0 || d.Heard() {
		t.Errorf("a click broke the silence for %d frames", n)
	}

	// Talk with pauses of up to 600 ms: voice throughout, silence 800 ms after the end.
	var talk []int16
	for _, pause := range []time.Duration{100 * time.Millisecond, 600 * time.Millisecond, 300 * time.Millisecond, 0} {
		talk = append(talk, tone.Sine(440, 500*time.Millisecond, -25)...)
		talk = append(talk, tone.Silence(pause)...)
	}
	got := run(d, append(talk, tone.Silence(2*time.Second)...))
	talkFrames := len(talk) / voice.FrameSamples
	if n := count(got[2:talkFrames], true); n != 0 {
		t.Errorf("%d frames of the talk were silent", n)
	}
	hang := int(800 * time.Millisecond / voice.FrameDuration)
	for i, s := range got[talkFrames:] {
		if want := i+1 >= hang; s != want {
			t.Fatalf("frame %d after the talk: silent=%v, want %v", i, s, want)
		}
	}
	if !d.Heard() || d.SilentFor() != 2*time.Second {
		t.Errorf("Heard %v, SilentFor %v", d.Heard(), d.SilentFor())
	}
	d.Reset()
	if d.Heard() || !d.Process(&voice.Frame{}) {
		t.Error("Reset did not return to silence")
	}
}

// TestSilenceDetectorOnSpeech runs the detector over the real prompts: speech is not silence,
// the second after it is.
func TestSilenceDetectorOnSpeech(t *testing.T) {
	for _, lang := range prompts.Languages() {
		for _, name := range prompts.Names() {
			s, err := prompts.Load(lang, name)
			if err != nil {
				t.Fatal(err)
			}
			d := voice.NewSilenceDetector(voice.DefaultSilenceDBm0)
			got := run(d, append(s, tone.Silence(time.Second)...))
			speech := len(s) / voice.FrameSamples
			// The prompts begin and end with a little silence; inside, no pause is 800 ms.
			first, last := -1, -1
			for i, silent := range got[:speech] {
				if !silent {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			if first < 0 || first > 10 {
				t.Errorf("%s/%s: speech heard first at frame %d", lang, name, first)
				continue
			}
			if n := count(got[first:last], true); n != 0 {
				t.Errorf("%s/%s: %d silent frames inside the speech", lang, name, n)
			}
			if !got[len(got)-1] {
				t.Errorf("%s/%s: not silent a second after the end", lang, name)
			}
		}
	}
}

func TestSilenceDetectorAllocatesNothing(t *testing.T) {
	d := voice.NewSilenceDetector(-40)
	f := frameOf(tone.Sine(1000, voice.FrameDuration, -20))
	if n := testing.AllocsPerRun(100, func() {
		d.Process(f)
		voice.FrameLevelDBm0(f)
	}); n != 0 {
		t.Errorf("%v allocations per frame", n)
	}
}

func BenchmarkSilenceDetector(b *testing.B) {
	d := voice.NewSilenceDetector(-40)
	f := frameOf(tone.Sine(1000, voice.FrameDuration, -20))
	b.ReportAllocs()
	for b.Loop() {
		d.Process(f)
	}
}
