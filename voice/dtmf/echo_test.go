package dtmf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/prompts"
	"hotline/voice/tone"
)

// The box listens for keys while it plays a prompt, and the line sends part of the prompt back:
// the echo of a 2-to-4-wire hybrid or of the far phone, 6 to 20 dB down and up to 64 ms late.
// The echo must never make a key, and a caller's key over it must be heard (barge-in).

// promptAudio returns every default prompt, played one after the other with 300 ms between.
func promptAudio(t *testing.T) []int16 {
	t.Helper()
	var all []int16
	for _, lang := range prompts.Languages() {
		for _, name := range prompts.Names() {
			s, err := prompts.Load(lang, name)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, s...)
			all = append(all, tone.Silence(300*ms)...)
		}
	}
	if len(all) < 30*voice.Rate {
		t.Fatalf("only %d samples of prompts", len(all))
	}
	return all
}

// echoOf returns what comes back of played: the main reflection lossDB down and delay late, a
// second one 6 dB weaker 12 ms after it, and line noise at -65 dBm0.
//
// It and the other helpers that make test signals sample by sample are not instrumented by the
// race detector, which made them most of the time that go test -race spends in this package:
// each works on its own slices (played is only read).
//
//go:norace
func echoOf(played []int16, lossDB float64, delay time.Duration, seed uint64) []float64 {
	g := math.Pow(10, -lossDB/20)
	d1 := tone.Samples(delay)
	d2 := d1 + tone.Samples(12*ms)
	rng := rand.New(rand.NewPCG(seed, 2))
	noise := tone.Amplitude(-65) / math.Sqrt2
	out := make([]float64, len(played)+d2)
	for i, v := range played {
		out[i+d1] += g * float64(v)
		out[i+d2] += g / 2 * float64(v)
	}
	for i := range out {
		out[i] += rng.NormFloat64() * noise
	}
	return out
}

// toLine rounds x to 16 bits and passes it through mu-law, as a line would deliver it.
//
//go:norace
func toLine(x []float64) []int16 {
	s := make([]int16, len(x))
	for i, v := range x {
		s[i] = clip(v)
	}
	codecRoundTrip(voice.ULawEncode, voice.ULawDecode)(s)
	return s
}

var (
	echoLosses = []float64{0, 6, 10, 14, 20} // 0: the prompt itself, the worst case
	echoDelays = []time.Duration{0, 5 * ms, 16 * ms, 32 * ms, 48 * ms, 64 * ms}
)

func TestPromptEchoMakesNoKey(t *testing.T) {
	played := promptAudio(t)
	type job struct {
		loss  float64
		delay time.Duration
	}
	var jobs []job
	for _, loss := range echoLosses {
		for _, delay := range echoDelays {
			jobs = append(jobs, job{loss, delay})
		}
	}
	err := parallel(len(jobs), func(i int) error {
		j := jobs[i]
		if got := Decode(toLine(echoOf(played, j.loss, j.delay, uint64(i)))); got != "" {
			t.Errorf("echo %v dB down, %v late: heard %q", j.loss, j.delay, got)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBargeIn(t *testing.T) {
	played := promptAudio(t)
	type job struct {
		loss, keyDB float64
		delay       time.Duration
		on          time.Duration
	}
	var jobs []job
	// Keys at the usual sending level over any echo, and weaker or shorter keys with the margin
	// that talk-down asks for (speech 12 dB below the keys): the prompts' active level is about
	// -18 dBm0, so their echo is -24 dBm0 or less.
	for _, loss := range echoLosses[1:] {
		for _, delay := range echoDelays {
			jobs = append(jobs, job{loss, -10, delay, 70 * ms}, job{loss, -10, delay, 45 * ms})
			if loss >= 10 {
				jobs = append(jobs, job{loss, -16, delay, 50 * ms})
			}
			if loss >= 20 {
				jobs = append(jobs, job{loss, -25, delay, 70 * ms})
			}
		}
	}
	// Every key of every kind of press, made once.
	type press struct {
		key   byte
		on    time.Duration
		keyDB float64
	}
	tones := map[press][]int16{}
	for _, j := range jobs {
		for _, k := range []byte(Keys) {
			p := press{k, j.on, j.keyDB}
			if tones[p] == nil {
				d, err := tone.DTMF(k, j.on, j.keyDB)
				if err != nil {
					t.Fatal(err)
				}
				tones[p] = d
			}
		}
	}
	err := parallel(len(jobs), func(i int) error {
		j := jobs[i]
		x := echoOf(played, j.loss, j.delay, uint64(i))
		// A key every 330 ms, all through the prompts, at a different phase for each job.
		var want strings.Builder
		for n, m := voice.Rate/10+17*i, 0; n+voice.Rate/5 < len(x); n, m = n+voice.Rate/3, m+1 {
			k := Keys[(i+m)%len(Keys)]
			addInto(x[n:], tones[press{k, j.on, j.keyDB}])
			want.WriteByte(k)
		}
		if got := Decode(toLine(x)); got != want.String() {
			t.Errorf("%v keys at %v dBm0 over an echo %v dB down, %v late: heard\n%q, want\n%q",
				j.on, j.keyDB, j.loss, j.delay, got, want.String())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addInto adds d to the start of x.
//
//go:norace
func addInto(x []float64, d []int16) {
	x = x[:len(d)]
	for i, v := range d {
		x[i] += float64(v)
	}
}
