package voice

import "math"

// Resampling design. The filter is a Kaiser-windowed sinc evaluated on a polyphase grid: the
// output rate is fromRate*L/M with L/M in lowest terms, so output sample n sits at input time
// n*M/L, whose fractional part is one of L phases. The cut-off is placed just below the lower
// Nyquist frequency, so that going down to 8 kHz keeps the telephone band (300-3400 Hz and a
// little more) flat and stops everything that would fold back into it.
const (
	// resampleCutoff is the -6 dB point as a fraction of the lower of the two rates.
	resampleCutoff = 0.4875 // 3900 Hz at 8 kHz
	// resampleTransition is the full transition width as a fraction of the lower rate: the
	// passband is flat to cutoff-transition/2 (3500 Hz at 8 kHz) and the stopband starts at
	// cutoff+transition/2 (4300 Hz).
	resampleTransition = 0.1
	// resampleAttenuation is the stopband attenuation the Kaiser window is designed for, in dB.
	resampleAttenuation = 80
	// maxPhases and maxTable bound the polyphase table for awkward rate pairs (e.g. 44099 ->
	// 8000); beyond them, the output time is rounded to the nearest of fewer phases. Even 64
	// phases keep the timing error below 1/128 of an input sample, whose effect on a
	// telephone-band signal is near the 16-bit noise floor.
	maxPhases = 1024
	maxTable  = 1 << 18
)

// Resample converts in from fromRate to toRate Hz with a windowed-sinc low-pass that removes what
// the lower rate cannot carry, and returns a new slice of ceil(len(in)*toRate/fromRate) samples.
// Levels are kept (unity gain in the passband). Equal rates return a copy; a rate <= 0 returns
// nil. It allocates, and is meant for files and prompts, not the 20 ms path.
func Resample(in []int16, fromRate, toRate int) []int16 {
	if fromRate <= 0 || toRate <= 0 {
		return nil
	}
	if fromRate == toRate {
		return append([]int16(nil), in...)
	}
	g := gcd(fromRate, toRate)
	up, down := toRate/g, fromRate/g // output n is at input time n*down/up
	nOut := int((int64(len(in))*int64(up) + int64(down) - 1) / int64(down))
	out := make([]int16, nOut)
	if nOut == 0 {
		return out
	}

	lower := float64(min(fromRate, toRate))
	fc := resampleCutoff * lower / float64(fromRate)                   // cut-off, cycles per input sample
	dw := 2 * math.Pi * resampleTransition * lower / float64(fromRate) // transition, rad per input sample
	// Kaiser's estimates for the window length and shape.
	a := float64(resampleAttenuation)
	taps := int(math.Ceil((a-7.95)/(2.285*dw))) + 1
	half := (taps + 1) / 2 // taps on each side of the output instant
	beta := 0.1102 * (a - 8.7)
	i0beta := besselI0(beta)
	width := 2 * half
	phases := min(up, maxPhases, max(64, maxTable/width))

	// table[p*width+j] weighs input sample i-half+1+j for output time i + p/phases.
	table := make([]float64, phases*width)
	for p := range phases {
		frac := float64(p) / float64(phases)
		row := table[p*width : (p+1)*width]
		var sum float64
		for j := range row {
			t := frac + float64(half-1-j) // distance from the output instant, in input samples
			x := t / float64(half)
			if x <= -1 || x >= 1 {
				continue
			}
			w := besselI0(beta*math.Sqrt(1-x*x)) / i0beta
			row[j] = 2 * fc * sinc(2*fc*t) * w
			sum += row[j]
		}
		// Each phase sums to exactly one, so a constant comes out unchanged at every phase.
		for j := range row {
			row[j] /= sum
		}
	}

	for n := range out {
		pos := int64(n) * int64(down)
		i := int(pos / int64(up))
		rem := pos % int64(up)
		p := int(rem)
		if up != phases {
			p = int((rem*int64(phases) + int64(up)/2) / int64(up))
			if p == phases { // rounds up to the next input sample
				p = 0
				i++
			}
		}
		row := table[p*width : (p+1)*width]
		start := i - half + 1
		j0, j1 := 0, width
		if start < 0 {
			j0 = -start
		}
		if start+width > len(in) {
			j1 = len(in) - start
		}
		var acc float64
		for j := j0; j < j1; j++ {
			acc += row[j] * float64(in[start+j])
		}
		out[n] = clip16(acc)
	}
	return out
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

// besselI0 is the modified Bessel function of the first kind, order zero, by its power series.
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	q := x * x / 4
	for k := 1; k < 100; k++ {
		term *= q / float64(k*k)
		sum += term
		if term < sum*1e-16 {
			break
		}
	}
	return sum
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func clip16(v float64) int16 {
	v = math.Round(v)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}
