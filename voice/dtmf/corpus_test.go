package dtmf

import (
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"hotline/voice"
	"hotline/voice/internal/testcorpus"
	"hotline/voice/tone"
)

// Talk-off on real human speech and music: the Debian packages of Asterisk's prompts (a woman's
// voice in English and in Russian) and its music on hold. `make test` installs them; without
// them the tests fail.

// parallel runs f(0..n-1) on every core.
var parallel = testcorpus.Parallel

// gained returns s amplified by factor g, saturating at full scale.
//
//go:norace
func gained(s []int16, g float64) []int16 {
	out := make([]int16, len(s))
	for i, v := range s {
		out[i] = clip(float64(v) * g)
	}
	return out
}

// talkOffConditions are the ways the corpus is played to the receiver.
var talkOffConditions = []struct {
	name string
	f    func([]int16) []int16
}{
	{"plain", func(s []int16) []int16 { return s }},
	// A hot line: 12 dB more gain, saturating where the speech peaks, then mu-law.
	{"+12 dB, mu-law", func(s []int16) []int16 {
		x := gained(s, 4)
		codecRoundTrip(voice.ULawEncode, voice.ULawDecode)(x)
		return x
	}},
	// Hard clipping: 24 dB more gain, so speech is nearly a square wave.
	{"+24 dB, hard clipped", func(s []int16) []int16 { return gained(s, 16) }},
}

// talkOff runs the receiver over files in every condition and reports each false key.
func talkOff(t *testing.T, files []testcorpus.File) {
	var samples int
	for _, f := range files {
		samples += len(f.Samples)
	}
	type hit struct{ cond, path, keys string }
	var mu sync.Mutex
	var hits []hit
	err := parallel(len(files)*len(talkOffConditions), func(i int) error {
		f, c := files[i/len(talkOffConditions)], talkOffConditions[i%len(talkOffConditions)]
		if keys := Decode(c.f(f.Samples)); keys != "" {
			mu.Lock()
			hits = append(hits, hit{c.name, f.Path, keys})
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(hits, func(a, b hit) int { return strings.Compare(a.cond+a.path, b.cond+b.path) })
	var false_ int
	for _, h := range hits {
		false_ += len(h.keys)
		t.Errorf("%s, %s: heard %q", h.cond, h.path, h.keys)
	}
	t.Logf("%d files, %.1f min of audio, %d conditions: %d false keys",
		len(files), float64(samples)/voice.Rate/60, len(talkOffConditions), false_)
}

// TestTalkOffCorpusPresent checks that the corpus is all there: every package, and about an hour
// of audio.
func TestTalkOffCorpusPresent(t *testing.T) {
	files := testcorpus.Load(t)
	per := map[string]float64{}
	for _, f := range files {
		per[f.Package] += float64(len(f.Samples)) / voice.Rate
	}
	for _, pkg := range testcorpus.Packages {
		if per[pkg] < 15*60 {
			t.Errorf("%s: only %.0f s of audio", pkg, per[pkg])
		}
	}
}

func TestTalkOffCorpus(t *testing.T) {
	talkOff(t, testcorpus.Load(t))
}

// TestTalkDownCorpus presses keys over every file of the corpus, the speech or music 12 dB below
// the keys: every key must be heard, and nothing else.
func TestTalkDownCorpus(t *testing.T) {
	files := testcorpus.Load(t)
	var mu sync.Mutex
	var keys, missed int
	err := parallel(len(files), func(i int) error {
		s := files[i].Samples
		if len(s) < voice.Rate/2 {
			return nil
		}
		// The tones are at -10 dBm0 each; the speech's active level (its level while there is
		// sound, as ITU-T P.56 measures speech) is 12 dB below.
		x := gained(s, math.Pow(10, (-22-activeLevelDBm0(s))/20))
		var want strings.Builder
		for j, n := 0, voice.Rate/10; n+voice.Rate/10 < len(x); j, n = j+1, n+2*voice.Rate/5 {
			k := Keys[(i+j)%len(Keys)]
			d, err := tone.DTMF(k, 70*ms, -10)
			if err != nil {
				return err
			}
			for m, v := range d {
				x[n+m] = clip(float64(x[n+m]) + float64(v))
			}
			want.WriteByte(k)
		}
		got := Decode(x)
		mu.Lock()
		defer mu.Unlock()
		keys += want.Len()
		if got != want.String() {
			missed += want.Len() - lcs(got, want.String())
			t.Errorf("%s: heard\n%q, want\n%q", files[i].Path, got, want.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d keys over speech and music 12 dB below them: %d missed", keys, missed)
}

// activeLevelDBm0 returns the active level of s, in the manner of ITU-T P.56: the RMS level over
// the 20 ms frames that are no more than 15.9 dB below that level (found by iteration), so that
// the pauses between words do not count.
//
//go:norace
func activeLevelDBm0(s []int16) float64 {
	frames := make([]float64, len(s)/voice.FrameSamples) // mean squares
	var total float64
	for i := range frames {
		var sum float64
		for _, v := range s[i*voice.FrameSamples : (i+1)*voice.FrameSamples] {
			sum += float64(v) * float64(v)
		}
		frames[i] = sum / voice.FrameSamples
		total += frames[i]
	}
	if total == 0 {
		return voice.SilenceLevel
	}
	ms := total / float64(len(frames))
	for range 10 {
		var sum float64
		var n int
		for _, f := range frames {
			if f >= ms*math.Pow(10, -15.9/10) {
				sum += f
				n++
			}
		}
		ms = sum / float64(n)
	}
	return 10*math.Log10(2*ms) - 20*math.Log10(tone.Amplitude(0))
}

// lcs returns the length of the longest common subsequence of a and b.
func lcs(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range len(a) {
		for j := range len(b) {
			if a[i] == b[j] {
				cur[j+1] = prev[j] + 1
			} else {
				cur[j+1] = max(cur[j], prev[j+1])
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// BenchmarkDecodeCorpus decodes the speech and music of the corpus, the audio that most of a
// call is: it reports the cost per 8 kHz sample where BenchmarkProcess, mostly keys, does not.
func BenchmarkDecodeCorpus(b *testing.B) {
	files := testcorpus.Load(b)
	var samples int
	for _, f := range files {
		samples += len(f.Samples)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, f := range files {
			Decode(f.Samples)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(samples), "ns/sample")
}
