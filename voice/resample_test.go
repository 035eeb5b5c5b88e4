package voice

import (
	"fmt"
	"math"
	"testing"
)

func sineAt(rate int, freq, amp float64, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(amp * math.Sin(2*math.Pi*freq*float64(i)/float64(rate))))
	}
	return out
}

// amplitudeAt returns the amplitude of the freq component of x (rate Hz), measured over the
// middle of x (edges skipped) by correlation with a Hann-windowed complex exponential.
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

// rmsMiddle is the RMS of x without its first and last eighth.
func rmsMiddle(x []int16) float64 {
	skip := len(x) / 8
	x = x[skip : len(x)-skip]
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func db(ratio float64) float64 { return 20 * math.Log10(ratio) }

func TestResampleTelephoneBand(t *testing.T) {
	const amp = 10000.0
	for _, from := range []int{48000, 44100, 22050, 16000, 11025} {
		t.Run(fmt.Sprint(from), func(t *testing.T) {
			n := from // one second
			for _, f := range []float64{300, 1000, 2000, 3000, 3500} {
				out := Resample(sineAt(from, f, amp, n), from, Rate)
				if want := (n*Rate + from - 1) / from; len(out) != want {
					t.Fatalf("len = %d, want %d", len(out), want)
				}
				got := amplitudeAt(out, Rate, f)
				if d := db(got / amp); math.Abs(d) > 0.2 {
					t.Errorf("%.0f Hz: level changed by %.2f dB", f, d)
				}
			}
			// Everything from 4.4 kHz up to the source Nyquist frequency must not fold back.
			for f := 4400.0; f < float64(from)/2-200; f += 700 {
				out := Resample(sineAt(from, f, amp, n), from, Rate)
				if d := db(rmsMiddle(out) / (amp / math.Sqrt2)); d > -40 {
					t.Errorf("%.0f Hz comes through at %.1f dB, want <= -40 dB", f, d)
				}
			}
		})
	}
}

// TestResampleBrief is the check named in the design: a 3.5 kHz tone at 48 kHz survives at 8 kHz,
// a 5 kHz tone (which would fold to 3 kHz) is attenuated by at least 40 dB.
func TestResampleBrief(t *testing.T) {
	in := sineAt(48000, 3500, 8000, 48000)
	out := Resample(in, 48000, 8000)
	if d := db(amplitudeAt(out, 8000, 3500) / 8000); math.Abs(d) > 0.5 {
		t.Errorf("3.5 kHz: %.2f dB", d)
	}
	in = sineAt(48000, 5000, 8000, 48000)
	out = Resample(in, 48000, 8000)
	if d := db(rmsMiddle(out) / (8000 / math.Sqrt2)); d > -40 {
		t.Errorf("5 kHz: %.1f dB, want <= -40", d)
	}
	if d := db(amplitudeAt(out, 8000, 3000) / 8000); d > -40 {
		t.Errorf("5 kHz folded to 3 kHz at %.1f dB", d)
	}
}

func TestResampleUp(t *testing.T) {
	const amp = 10000.0
	for _, to := range []int{11025, 16000, 22050, 44100, 48000} {
		in := sineAt(Rate, 1000, amp, Rate)
		out := Resample(in, Rate, to)
		if d := db(amplitudeAt(out, to, 1000) / amp); math.Abs(d) > 0.2 {
			t.Errorf("8000->%d: 1 kHz level changed by %.2f dB", to, d)
		}
		// The image at 7 kHz (8000-1000) must be gone where the new rate can carry it.
		if float64(to)/2 > 7000 {
			if d := db(amplitudeAt(out, to, 7000) / amp); d > -60 {
				t.Errorf("8000->%d: image at 7 kHz is %.1f dB", to, d)
			}
		}
		// Round trip back to 8 kHz keeps the tone sample for sample, apart from the edges.
		back := Resample(out, to, Rate)
		if len(back) != len(in) {
			t.Fatalf("8000->%d->8000: %d samples, want %d", to, len(back), len(in))
		}
		var maxErr float64
		for i := 200; i < len(in)-200; i++ {
			maxErr = math.Max(maxErr, math.Abs(float64(back[i])-float64(in[i])))
		}
		if maxErr > amp*0.01 {
			t.Errorf("8000->%d->8000: max error %.0f", to, maxErr)
		}
	}
}

func TestResampleEdges(t *testing.T) {
	if Resample([]int16{1, 2}, 0, 8000) != nil || Resample([]int16{1}, 8000, -1) != nil {
		t.Error("a non-positive rate must give nil")
	}
	in := []int16{1, 2, 3}
	out := Resample(in, 8000, 8000)
	out[0] = 9
	if in[0] != 1 || len(out) != 3 {
		t.Error("equal rates must return a copy")
	}
	if got := Resample(nil, 48000, 8000); len(got) != 0 {
		t.Errorf("empty input gave %d samples", len(got))
	}
	if got := Resample([]int16{1000}, 48000, 8000); len(got) != 1 {
		t.Errorf("one sample gave %d samples", len(got))
	}
	// A constant stays constant away from the edges, at any rate pair (including awkward ones).
	for _, rates := range [][2]int{{44100, 8000}, {44099, 8000}, {8000, 44100}, {12345, 8000}} {
		in := make([]int16, rates[0])
		for i := range in {
			in[i] = 12000
		}
		out := Resample(in, rates[0], rates[1])
		for i := len(out) / 4; i < 3*len(out)/4; i++ {
			if d := out[i] - 12000; d > 1 || d < -1 {
				t.Fatalf("%v: sample %d = %d", rates, i, out[i])
			}
		}
	}
	// Overshoot clips instead of wrapping.
	for _, tc := range []struct {
		in   float64
		want int16
	}{{40000, 32767}, {-40000, -32768}, {32767.4, 32767}, {-2.5, -3}, {2.4, 2}} {
		if got := clip16(tc.in); got != tc.want {
			t.Errorf("clip16(%v) = %d, want %d", tc.in, got, tc.want)
		}
	}
}

func BenchmarkResample48kTo8k(b *testing.B) {
	in := sineAt(48000, 1000, 10000, 48000)
	b.ReportAllocs()
	for b.Loop() {
		Resample(in, 48000, 8000)
	}
}

func BenchmarkResample44k1To8k(b *testing.B) {
	in := sineAt(44100, 1000, 10000, 44100)
	b.ReportAllocs()
	for b.Loop() {
		Resample(in, 44100, 8000)
	}
}
