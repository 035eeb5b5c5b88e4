package dtmf

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"hotline/voice"
	"hotline/voice/tone"
)

const ms = time.Millisecond

// burst describes one key press in a test signal.
type burst struct {
	key             byte
	on, off         time.Duration
	lowDB, highDB   float64 // level of each tone, dBm0
	lowDev, highDev float64 // relative frequency error, e.g. +0.015
}

// signal renders presses after lead samples of silence, and 100 ms of silence at the end.
func signal(t testing.TB, lead int, presses ...burst) []int16 {
	t.Helper()
	s := make([]int16, lead)
	for _, p := range presses {
		low, high, ok := tone.DTMFFreqs(p.key)
		if !ok {
			t.Fatalf("bad key %q", p.key)
		}
		s = append(s, tone.Dual(low*(1+p.lowDev), high*(1+p.highDev), p.on, p.lowDB, p.highDB)...)
		s = append(s, tone.Silence(p.off)...)
	}
	return append(s, tone.Silence(100*ms)...)
}

// presses makes one burst per key of keys with the same shape.
func presses(keys string, b burst) []burst {
	out := make([]burst, len(keys))
	for i := range keys {
		out[i] = b
		out[i].key = keys[i]
	}
	return out
}

// leads are the start offsets tried: every alignment class of sub-block and frame matters.
var leads = []int{0, 7, 13, 33, 80, 111, 151}

// expect decodes presses at every lead and checks the keys heard.
func expect(t *testing.T, want string, ps []burst, mangle func([]int16)) {
	t.Helper()
	for _, lead := range leads {
		s := signal(t, lead, ps...)
		if mangle != nil {
			mangle(s)
		}
		if got := Decode(s); got != want {
			t.Errorf("lead %d: heard %q, want %q", lead, got, want)
		}
	}
}

func std(on, off time.Duration, db float64) burst {
	return burst{on: on, off: off, lowDB: db, highDB: db}
}

func TestEveryKey(t *testing.T) {
	expect(t, Keys, presses(Keys, std(50*ms, 50*ms, -10)), nil)
	// Long presses are still one key each.
	expect(t, "159D", presses("159D", std(2*time.Second, 200*ms, -10)), nil)
}

func TestLevels(t *testing.T) {
	for _, db := range []float64{0, -3, -5, -10, -15, -20, -25, -30, -35} {
		t.Run(fmt.Sprint(db), func(t *testing.T) {
			expect(t, Keys, presses(Keys, std(50*ms, 50*ms, db)), nil)
		})
	}
	for _, db := range []float64{-45, -50, -55, -70} {
		t.Run(fmt.Sprint(db), func(t *testing.T) {
			expect(t, "", presses(Keys, std(50*ms, 50*ms, db)), nil)
		})
	}
}

func TestTwist(t *testing.T) {
	for _, tc := range []struct {
		name      string
		low, high float64
		want      string
	}{
		{"normal 4 dB", -8, -12, Keys},
		{"normal 8 dB", -6, -14, Keys},
		{"normal 8 dB quiet", -17, -25, Keys},
		{"reverse 2 dB", -11, -9, Keys},
		{"reverse 4 dB", -12, -8, Keys},
		{"reverse 4 dB quiet", -25, -21, Keys},
		{"normal 11 dB", -5, -16, ""},
		{"normal 14 dB", -4, -18, ""},
		{"reverse 7 dB", -13, -6, ""},
		{"reverse 10 dB", -16, -6, ""},
		{"low tone only", -10, -100, ""},
		{"high tone only", -100, -10, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := burst{on: 50 * ms, off: 50 * ms, lowDB: tc.low, highDB: tc.high}
			expect(t, tc.want, presses(Keys, b), nil)
		})
	}
}

func TestFrequencyTolerance(t *testing.T) {
	for _, tc := range []struct {
		low, high float64
		want      string
	}{
		{+0.015, +0.015, Keys},
		{-0.015, -0.015, Keys},
		{+0.015, -0.015, Keys},
		{-0.015, +0.015, Keys},
		{+0.025, +0.025, ""},
		{-0.025, -0.025, ""},
		{+0.035, +0.035, ""},
		{-0.035, -0.035, ""},
		{+0.035, -0.035, ""},
		{-0.035, +0.035, ""},
	} {
		t.Run(fmt.Sprintf("%+.1f%%,%+.1f%%", 100*tc.low, 100*tc.high), func(t *testing.T) {
			for _, db := range []float64{-5, -20} {
				b := std(50*ms, 50*ms, db)
				b.lowDev, b.highDev = tc.low, tc.high
				expect(t, tc.want, presses(Keys, b), nil)
			}
		})
	}
}

func TestTiming(t *testing.T) {
	// Q.24: tones of 40 ms with pauses of 40 ms are all heard, also the same key repeated.
	expect(t, Keys, presses(Keys, std(40*ms, 40*ms, -10)), nil)
	expect(t, "11115555####", presses("11115555####", std(40*ms, 40*ms, -10)), nil)
	expect(t, "00000000", presses("00000000", std(40*ms, 40*ms, -25)), nil)
	// With margin: 35 ms tones are heard.
	expect(t, Keys, presses(Keys, std(35*ms, 40*ms, -10)), nil)
	// Tones of 23 ms or less are not, nor (with margin) of 27 ms.
	for _, on := range []time.Duration{10 * ms, 15 * ms, 20 * ms, 23 * ms, 27 * ms} {
		expect(t, "", presses(Keys, std(on, 60*ms, -10)), nil)
	}
	// Dropouts of up to 10 ms inside a tone are bridged.
	for _, gap := range []time.Duration{2 * ms, 5 * ms, 8 * ms, 10 * ms} {
		ps := []burst{std(60*ms, gap, -10), std(60*ms, 100*ms, -10), std(45*ms, gap, -10), std(45*ms, 100*ms, -10)}
		ps[0].key, ps[1].key, ps[2].key, ps[3].key = '7', '7', '#', '#'
		expect(t, "7#", ps, nil)
	}
	// A key straight after another with no pause is heard too.
	expect(t, "12", []burst{{key: '1', on: 60 * ms, lowDB: -10, highDB: -10}, {key: '2', on: 60 * ms, off: 50 * ms, lowDB: -10, highDB: -10}}, nil)
}

// whiteNoise adds Gaussian white noise at level dBm0 (RMS) to s.
func whiteNoise(seed uint64, db float64) func([]int16) {
	return func(s []int16) {
		rng := rand.New(rand.NewPCG(seed, 1))
		sigma := tone.Amplitude(db) / math.Sqrt2
		for i := range s {
			s[i] = clip(float64(s[i]) + rng.NormFloat64()*sigma)
		}
	}
}

func clip(v float64) int16 {
	return int16(max(-32768, min(32767, math.Round(v))))
}

func TestNoise(t *testing.T) {
	// S/N 15 dB: each tone's RMS over the white noise's RMS in 0-4 kHz.
	for _, db := range []float64{-5, -15, -20} {
		for seed := range uint64(3) {
			expect(t, Keys, presses(Keys, std(50*ms, 50*ms, db)), whiteNoise(seed, db-15))
			expect(t, Keys, presses(Keys, std(40*ms, 40*ms, db)), whiteNoise(seed+10, db-15))
		}
	}
	// Noise alone, loud or quiet, is not a key.
	for _, db := range []float64{-5, -20, -40} {
		s := make([]int16, 10*voice.Rate)
		whiteNoise(uint64(-db), db)(s)
		if got := Decode(s); got != "" {
			t.Errorf("10 s of noise at %v dBm0: heard %q", db, got)
		}
	}
}

// codecRoundTrip passes s through a G.711 encoder and decoder in place.
func codecRoundTrip(enc func([]byte, []int16), dec func([]int16, []byte)) func([]int16) {
	return func(s []int16) {
		b := make([]byte, len(s))
		enc(b, s)
		dec(s, b)
	}
}

func TestThroughG711(t *testing.T) {
	for _, c := range []struct {
		name string
		f    func([]int16)
	}{
		{"mu-law", codecRoundTrip(voice.ULawEncode, voice.ULawDecode)},
		{"A-law", codecRoundTrip(voice.ALawEncode, voice.ALawDecode)},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, db := range []float64{0, -10, -25} {
				expect(t, Keys, presses(Keys, std(40*ms, 40*ms, db)), c.f)
			}
			b := burst{on: 50 * ms, off: 50 * ms, lowDB: -6, highDB: -14, lowDev: 0.015, highDev: -0.015}
			expect(t, Keys, presses(Keys, b), c.f)
			expect(t, "", presses(Keys, std(20*ms, 50*ms, -10)), c.f)
		})
	}
}

func TestReceiverReset(t *testing.T) {
	r := NewReceiver()
	s := signal(t, 0, burst{key: '9', on: 200 * ms, lowDB: -10, highDB: -10})
	var f voice.Frame
	var heard []byte
	for i := 0; i+voice.FrameSamples <= len(s); i += voice.FrameSamples {
		copy(f[:], s[i:])
		if k, ok := r.Process(&f); ok {
			heard = append(heard, k)
		}
		if i == 4*voice.FrameSamples { // mid-press: after Reset the same press counts as new
			r.Reset()
		}
	}
	if string(heard) != "99" {
		t.Errorf("heard %q, want %q", heard, "99")
	}
}

func TestProcessAllocatesNothing(t *testing.T) {
	s := signal(t, 0, presses(Keys, std(50*ms, 50*ms, -10))...)
	r := NewReceiver()
	var f voice.Frame
	i := 0
	n := testing.AllocsPerRun(200, func() {
		copy(f[:], s[i%(len(s)-voice.FrameSamples):])
		i += voice.FrameSamples
		r.Process(&f)
	})
	if n != 0 {
		t.Errorf("Process allocates %v times per frame", n)
	}
}

func BenchmarkProcess(b *testing.B) {
	s := signal(b, 0, presses(Keys, std(50*ms, 50*ms, -10))...)
	whiteNoise(1, -30)(s)
	frames := len(s) / voice.FrameSamples
	r := NewReceiver()
	var f voice.Frame
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		copy(f[:], s[(i%frames)*voice.FrameSamples:])
		i++
		r.Process(&f)
	}
}

func TestDecodeShortInput(t *testing.T) {
	for _, n := range []int{0, 1, 159, 161} {
		if got := Decode(make([]int16, n)); got != "" {
			t.Errorf("%d samples of silence: %q", n, got)
		}
	}
	// A press at the very end of the audio, ending in a partial frame, is still heard.
	d, _ := tone.DTMF('4', 60*ms, -10)
	if got := Decode(append(make([]int16, 37), d...)); got != "4" {
		t.Errorf("press at the end: %q", got)
	}
}
