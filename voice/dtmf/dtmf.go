// Package dtmf hears telephone keys: a DTMF receiver for 8 kHz audio, built to the ITU-T Q.24
// (AT&T column) figures collected in shared/dsp.md, that reports each key press once, at its
// start, and allocates nothing per 20 ms frame.
//
// # How it listens
//
// A DFT at the eight DTMF frequencies measures each sub-block of 10 samples (1.25 ms). Its complex
// outputs, brought to one phase reference, add up to the spectrum of a 160-sample (20 ms) Hann
// window that slides on by 2.5 ms, across frame boundaries. The Hann window keeps a
// loud tone out of the other filters (its sidelobes are 50 dB down where a plain 100-sample
// block leaks at -20 dB), so twist and neighbour checks measure what they mean. A window holds a
// key (a "valid signal condition") when:
//
//   - each of the strongest row and column tones is above the level floor, about -42 dBm0;
//   - each tone's phase turns, from one window to the next, as little as a tone within 2 % of
//     its nominal frequency does (Q.24: accept +-1.5 %, reject +-3.5 %); knowing the error,
//     the receiver undoes the window's loss for it, so the levels below are the tones' own;
//   - the twist is at most 9 dB with the low tone louder and 5 dB with the high tone louder
//     (Q.24 asks for 8 and 4 dB), 3 dB more for a key already under way, whose tones a codec
//     such as GSM may tilt as it goes;
//   - every other row and column filter is at least 7 dB below the tone of its group;
//   - the two tones carry at least 75 % of the window's energy (70 % for the key under way,
//     which speech or the echo of a prompt may partly cover), which speech, noise, and windows
//     only partly covered by a tone fail.
//
// A key is reported once 10 windows have held it (with gaps of at most 4 windows between them,
// so speech over a key does not break it): tones of 33 ms and longer are always heard, 27 ms
// and shorter never (Q.24: 40 ms must, 23 ms must not). A key ends after 10 windows without it:
// dropouts of up to 15 ms are bridged, a pause of 20 ms or more lets the same key follow
// (Q.24: bridge 10 ms, split at 40 ms).
//
// Talk-off on real speech and music (the Asterisk prompts in English and Russian and its music on
// hold, 68.7 minutes): no false key, plain, 12 dB louder through mu-law, and 24 dB louder hard
// clipped. Talk-down: keys at -10 dBm0 over all of it, its active level 12 dB below: all 10236
// heard.
//
// Talk-off, measured on synthetic speech (espeak-ng, 28 voice variants in English and Russian,
// an hour in all) at -20, -8 and -2 dBm0 (clipped), plain and through mu-law: 12 false keys in
// those six hours, all from two very tonal voices, against the Bellcore bar of 470 false keys in
// 3 hours of real speech. Talk-down: with speech 12 dB below the keys, 99.7 % of 70 ms keys are
// heard (93 % at 6 dB). The tests keep a smaller corpus at zero false keys.
//
// # What it costs
//
// About 45 us of one core per second of audio on amd64 (a 2.8 GHz Xeon; docs/DSP.md has the
// figures). The DFTs, the phase references, the sliding sums and the window's spectrum of each
// hop are in assembly on amd64 (kernel_amd64.s: AVX, four frequencies per instruction, else
// SSE2, two; the same operations in the same order as the Go code, so that every result is the
// same to the bit) and in Go elsewhere (kernel.go; the build tag purego selects it on amd64
// too).
package dtmf

import (
	"math"

	"hotline/voice"
)

const (
	subBlock       = 10                      // samples per sub-block (1.25 ms)
	windowBlocks   = 16                      // sub-blocks per analysis window
	window         = subBlock * windowBlocks // 160 samples, 20 ms: 50 Hz bins
	hopBlocks      = 2                       // sub-blocks per decision: one every 2.5 ms
	blocksPerFrame = voice.FrameSamples / subBlock

	// floorDBm0 is the weakest tone heard.
	floorDBm0 = -42
	// normalTwistDB and reverseTwistDB bound the level difference of the tones: low tone
	// louder (normal) and high tone louder (reverse).
	normalTwistDB  = 9
	reverseTwistDB = 5
	// holdTwistDB is how much more twist either way a key already under way may show: a codec
	// such as GSM 06.10 tilts the tones of a press by several dB as it goes.
	holdTwistDB = 3
	// peakRatioDB is how far the best row (column) must stand above every other row (column).
	peakRatioDB = 7
	// minToneShare is the least share of the window's energy that the two tones must carry;
	// holdToneShare is that share for a window of the key under way, which speech or the
	// echo of a prompt may partly cover.
	minToneShare  = 0.75
	holdToneShare = 0.7
	// maxFreqError is the largest frequency error accepted, as a fraction of the nominal
	// frequency.
	maxFreqError = 0.02
	// lossTableHz is the largest frequency error, in Hz, whose window loss is tabulated.
	lossTableHz = 40

	// beginHops is how many windows must hold the same key before it is reported, with gaps of
	// at most maxGapHops windows between them; endHops is how many windows without it end a key.
	beginHops  = 10
	maxGapHops = 4
	endHops    = 10

	// resumBlocks is how often the sliding window sums are recomputed from the ring, so that
	// rounding cannot pile up over a long call.
	resumBlocks = 1 << 12
	// phasePeriod is how many sub-blocks the phase references take to repeat: one second.
	phasePeriod = voice.Rate / subBlock
)

// Keys is every key the receiver knows, in keypad order.
const Keys = "123A456B789C*0#D"

var (
	freqs = [8]float64{697, 770, 852, 941, 1209, 1336, 1477, 1633}
	// keyAt[row][col] is the key at row frequency row and column frequency col.
	keyAt = [4][4]byte{
		{'1', '2', '3', 'A'},
		{'4', '5', '6', 'B'},
		{'7', '8', '9', 'C'},
		{'*', '0', '#', 'D'},
	}
	// dft is the DFT of a sub-block at the eight frequencies, folded about its middle;
	// dftCos and dftSin are the same, transposed: dftCos[k][n] = dft.c[n][k].
	dft            dftCoef
	dftCos, dftSin [8][subBlock / 2]float64

	// phases[n] puts the spectrum of sub-block n (counted from the start of the call, modulo
	// phasePeriod) on the common phase reference: e^{-i w (subBlock n + (subBlock-1)/2)}, the
	// phase of its middle. Every DTMF frequency is a whole number of Hz, so w subBlock
	// phasePeriod is a whole number of turns and the table repeats exactly: nothing drifts
	// over a long call.
	phases [phasePeriod]phaseRow

	// The window is a Hann window in 16 steps, constant over each sub-block:
	// w_j = 0.5 - 0.5 cos(theta (j + 1/2)), theta = 2 pi / 16, j = 0 for the oldest sub-block.
	// With A = sum Z_n, C = sum cos(theta n) Z_n and S = sum sin(theta n) Z_n over the
	// window's sub-blocks n (counted modulo 16, so that each keeps its factors as the window
	// slides on) and n0 the oldest one, sum w_j Z_j = A/2 - (cos(phi) C - sin(phi) S)/2,
	// phi = theta (1/2 - n0): each sub-block costs four multiplications per frequency. The
	// steps' grating lobes fall on the nulls of the 10-sample sub-blocks, at multiples of 800 Hz.
	theta      = 2 * math.Pi / windowBlocks
	turnRe     [windowBlocks]float64 // e^{i theta n}
	turnIm     [windowBlocks]float64
	turn2Re    [windowBlocks]float64 // e^{2 i theta n}
	turn2Im    [windowBlocks]float64
	uRe, uIm   [windowBlocks]float64              // e^{i phi} for each oldest sub-block n0
	u2Re, u2Im [windowBlocks]float64              // e^{2 i phi}
	turns      [windowBlocks / hopBlocks]hopTurns // for a hop that starts on slot 2i
	weight     [windowBlocks]float64
	// toneScale turns |X|^2 of a window into the energy of the tone that made it, to compare
	// with the window's weighted energy: a sine filling the window gives |X|^2 = A^2 S1^2 / 4
	// and a weighted energy of A^2 S2 / 2, with S1 = sum of w[n], S2 = sum of w[n]^2.
	toneScale float64

	// hzPerRadian turns the phase turn of a window per decision into a frequency error.
	hzPerRadian = voice.Rate / (2 * math.Pi * hopBlocks * subBlock)
	// gainAt[d] is the window's power gain for a tone d Hz off a filter's frequency: the loss
	// that the receiver undoes once it knows the error, so that twist and energy share are
	// measured on the tone's true power. minGain is the least of them: no correction divides
	// by less.
	gainAt  [lossTableHz + 2]float64
	minGain float64
	// maxTurnTan[k] is the tangent of the largest phase turn per decision accepted at frequency k.
	maxTurnTan [8]float64

	// Thresholds on |X|^2 of a window, and their ratios as power factors.
	floorPower   float64
	normalTwist  = math.Pow(10, normalTwistDB/10.0)
	reverseTwist = math.Pow(10, reverseTwistDB/10.0)
	holdTwist    = math.Pow(10, holdTwistDB/10.0)
	peakRatio    = math.Pow(10, peakRatioDB/10.0)
)

// spectrum is a window's spectrum at the eight frequencies, and its power |X|^2.
type spectrum struct {
	re, im, power [8]float64
}

// phaseRow is one sub-block's phase reference, per frequency.
type phaseRow struct {
	re, im [8]float64
}

func init() {
	for k, f := range freqs {
		w := 2 * math.Pi * f / voice.Rate
		maxTurnTan[k] = math.Tan(maxFreqError * f / hzPerRadian)
		for n := range subBlock / 2 {
			dft.s[n][k], dft.c[n][k] = math.Sincos(w * float64(subBlock-1-2*n) / 2)
			dftCos[k][n], dftSin[k][n] = dft.c[n][k], dft.s[n][k]
		}
		for n := range phasePeriod {
			// The angle in whole turns of 1/(2 Rate), exact in integers:
			// w (subBlock n + (subBlock-1)/2) = 2 pi (f (2 subBlock n + subBlock - 1) mod 2 Rate) / (2 Rate).
			m := int(f) * (2*subBlock*n + subBlock - 1) % (2 * voice.Rate)
			s, c := math.Sincos(math.Pi * float64(m) / voice.Rate)
			phases[n].re[k], phases[n].im[k] = c, -s
		}
	}
	dft.half = [4]float64{0.5, 0.5, 0.5, 0.5}
	var s1, s2 float64
	for j := range weight {
		weight[j] = 0.5 - 0.5*math.Cos(theta*(float64(j)+0.5))
		s1 += subBlock * weight[j]
		s2 += subBlock * weight[j] * weight[j]
		turnIm[j], turnRe[j] = math.Sincos(theta * float64(j))
		turn2Im[j], turn2Re[j] = math.Sincos(2 * theta * float64(j))
		uIm[j], uRe[j] = math.Sincos(theta * (0.5 - float64(j)))
		u2Im[j], u2Re[j] = math.Sincos(2 * theta * (0.5 - float64(j)))
	}
	toneScale = 2 * s2 / (s1 * s1)
	for i := range turns {
		n, m, n0 := 2*i, 2*i+1, (2*i+2)%windowBlocks
		turns[i] = hopTurns{turnRe[n], turnIm[n], turnRe[m], turnIm[m], uRe[n0], uIm[n0]}
	}
	minGain = 1
	for d := range gainAt {
		var re, im float64
		for n := range window {
			ph := 2 * math.Pi * float64(d) * float64(n) / voice.Rate
			re += weight[n/subBlock] * math.Cos(ph)
			im += weight[n/subBlock] * math.Sin(ph)
		}
		gainAt[d] = (re*re + im*im) / (s1 * s1)
		minGain = min(minGain, gainAt[d])
	}
	// The floor is in the dBm0 scale of voice/tone: 0 dBm0 peaks 3.17 dB below full scale.
	a := 32767 * math.Pow(10, (floorDBm0-3.17)/20)
	floorPower = a * a * s1 * s1 / 4
}

// Receiver is a DTMF receiver for one direction of one call. It is not safe for concurrent use;
// its zero value is not ready, use NewReceiver.
type Receiver struct {
	// The ring of the last windowBlocks sub-blocks, sub-block n at slot n mod windowBlocks
	// (the oldest at slot): per frequency the complex spectrum on the common phase reference,
	// and the energy. It starts as silence.
	zr, zi [windowBlocks][8]float64
	energy [windowBlocks]float64
	slot   int
	phase  int // sub-block count modulo phasePeriod
	blocks uint32

	// Sliding sums over the ring (see theta): A, C and S per frequency; for the energy, its
	// sum and its sums weighted by e^{i theta n} and e^{2 i theta n}.
	sums
	e0, q1Re, q1Im, q2Re, q2Im float64

	in hopOut // the energies of the hop's sub-blocks

	// spec holds the window's spectrum at this decision and at the last one, which take turns
	// with each hop (blocks/hopBlocks even: spec[0] is this one).
	spec [2]spectrum

	cand byte // key of the last windows (0: none)
	run  int  // windows holding cand, with gaps of at most maxGapHops
	gap  int  // windows without a key since cand was last seen
	cur  byte // key being pressed, already reported (0: none)
	miss int  // consecutive windows without cur
}

// NewReceiver returns a receiver ready for the first frame of a call.
func NewReceiver() *Receiver {
	r := new(Receiver)
	r.Reset()
	return r
}

// Reset forgets all audio heard, as at the start of a call.
func (r *Receiver) Reset() {
	*r = Receiver{}
}

// Process takes the next 20 ms frame and returns a key when a press starts in it. A key held down
// is reported once; at most one key is reported per frame.
func (r *Receiver) Process(f *voice.Frame) (key byte, ok bool) {
	for b := 0; b < blocksPerFrame; b += hopBlocks {
		if k := r.decide(r.hop((*[hopBlocks * subBlock]int16)(f[b*subBlock:]))); k != 0 && !ok {
			key, ok = k, true
		}
	}
	return key, ok
}

// hop takes the next two sub-blocks: it measures them, puts them on the common phase reference,
// slides the window on by both, and returns the key the new window holds, or 0.
//
// Each sub-block is measured by a DFT at the eight frequencies, folded about its middle: with
// p_n = x_n + x_{9-n} and m_n = x_n - x_{9-n}, e^{i w 4.5} sum x_n e^{-i w n} =
// sum p_n cos(w (4.5-n)) + i sum m_n sin(w (4.5-n)): fewer operations than eight Goertzel
// filters, and no chain from one sample to the next. hopKernel does that, with the energy, and
// the sliding sums of the spectrum.
//
// hop and classify, the arithmetic of the receiver, are not instrumented by the race detector,
// which would make them 20 times slower and the talk-off tests too slow to run under -race. They
// touch only the receiver's own state, which one goroutine owns; decide, called on every window,
// stays instrumented, so a receiver shared by two goroutines is still reported.
//
//go:norace
func (r *Receiver) hop(x *[hopBlocks * subBlock]int16) byte {
	// Sub-blocks n and n+1 of the ring; a hop starts on an even slot and an even phase.
	n := r.slot & (windowBlocks - 2)
	m := n + 1
	tw := &turns[n/2]
	ta, sa, tb, sb := tw[0], tw[1], tw[2], tw[3]
	// The oldest sub-block of the new window, n0, and the window's spectrum:
	// X = A/2 - (cos(phi) C - sin(phi) S)/2.
	n0 := (n + 2) & (windowBlocks - 1)
	ur, ui := tw[4], tw[5]
	in := &r.in
	cur, prev := &r.spec[r.blocks/hopBlocks%2], &r.spec[(r.blocks/hopBlocks+1)%2]
	hopKernel(x, in, tw, &dft, &phases[r.phase&^1], &phases[r.phase|1], &r.zr[n], &r.zi[n], &r.zr[m], &r.zi[m], &r.sums, cur)

	ea, eb := 0.5*in.energy[0], 0.5*in.energy[1]
	da, db := ea-r.energy[n], eb-r.energy[m]
	r.energy[n], r.energy[m] = ea, eb
	r.e0 += da + db
	r.q1Re += da*ta + db*tb
	r.q1Im += da*sa + db*sb
	r.q2Re += da*turn2Re[n] + db*turn2Re[m]
	r.q2Im += da*turn2Im[n] + db*turn2Im[m]

	// Weighted energy: w_j^2 = 3/8 - cos(a)/2 + cos(2 a)/8, a = theta (j + 1/2); the sums of
	// e^{i theta n} and e^{2 i theta n} times the energy, turned by phi and 2 phi.
	energy := 0.375*r.e0 - 0.5*(ur*r.q1Re-ui*r.q1Im) + 0.125*(u2Re[n0]*r.q2Re-u2Im[n0]*r.q2Im)

	r.slot = n0
	r.phase += hopBlocks
	if r.phase == phasePeriod {
		r.phase = 0
	}
	r.blocks += hopBlocks
	if r.blocks%resumBlocks == 0 {
		r.resum()
	}
	return r.classify(cur, prev, energy)
}

// resum recomputes the sliding sums from the ring, so that rounding cannot pile up over a long
// call.
func (r *Receiver) resum() {
	r.aRe, r.aIm, r.cRe, r.cIm, r.sRe, r.sIm = [8]float64{}, [8]float64{}, [8]float64{}, [8]float64{}, [8]float64{}, [8]float64{}
	r.e0, r.q1Re, r.q1Im, r.q2Re, r.q2Im = 0, 0, 0, 0, 0
	for n := range windowBlocks {
		c, s := turnRe[n], turnIm[n]
		e := r.energy[n]
		r.e0 += e
		r.q1Re, r.q1Im = r.q1Re+c*e, r.q1Im+s*e
		r.q2Re, r.q2Im = r.q2Re+turn2Re[n]*e, r.q2Im+turn2Im[n]*e
		for k := range 8 {
			zr, zi := r.zr[n][k], r.zi[n][k]
			r.aRe[k] += zr
			r.aIm[k] += zi
			r.cRe[k] += c * zr
			r.cIm[k] += c * zi
			r.sRe[k] += s * zr
			r.sIm[k] += s * zi
		}
	}
}

// classify returns the key that a window of spectrum x and weighted energy energy holds, or 0;
// prev is the window of the last decision. A window that holds the key under way (the
// candidate or the key pressed) may show holdTwistDB more twist. The checks that need no frequency error come first, on bounds of the
// corrected powers, so that most windows are turned down before any arctangent.
//
//go:norace
func (r *Receiver) classify(x, prev *spectrum, energy float64) byte {
	sr, si := &x.re, &x.im
	// Two tones at the floor carry at least this much energy.
	if energy < 2*floorPower*toneScale {
		return 0
	}
	p := &x.power
	row, col := 0, 4
	for k := 1; k < 4; k++ {
		if p[k] > p[row] {
			row = k
		}
		if p[k+4] > p[col] {
			col = k + 4
		}
	}
	pr, pc := p[row], p[col]
	if pr < floorPower || pc < floorPower {
		return 0
	}
	nt, rt, share := normalTwist, reverseTwist, minToneShare
	key := keyAt[row][col-4]
	if key == r.cand || key == r.cur {
		nt, rt, share = nt*holdTwist, rt*holdTwist, holdToneShare
	}
	// The corrected powers lie between pr and pr/minGain (pc and pc/minGain).
	if (pr+pc)*toneScale < minGain*share*energy || pr*minGain > pc*nt || pc*minGain > pr*rt {
		return 0
	}
	for k := range 4 {
		if k != row && p[k]*peakRatio*minGain > pr {
			return 0
		}
		if k+4 != col && p[k+4]*peakRatio*minGain > pc {
			return 0
		}
	}
	// Frequency: each tone's phase turn since the last decision, X * conj(Xprev); then undo the
	// window's loss for that error.
	pr, ok := trueTonePower(pr, sr[row]*prev.re[row]+si[row]*prev.im[row], si[row]*prev.re[row]-sr[row]*prev.im[row], row)
	if !ok {
		return 0
	}
	pc, ok = trueTonePower(pc, sr[col]*prev.re[col]+si[col]*prev.im[col], si[col]*prev.re[col]-sr[col]*prev.im[col], col)
	if !ok {
		return 0
	}
	if pr > pc*nt || pc > pr*rt {
		return 0
	}
	for k := range 4 {
		if k != row && p[k]*peakRatio > pr {
			return 0
		}
		if k+4 != col && p[k+4]*peakRatio > pc {
			return 0
		}
	}
	if (pr+pc)*toneScale < share*energy {
		return 0
	}
	return key
}

// trueTonePower checks the frequency error of a tone measured as power p at frequency k,
// whose phase turned by the angle of (tr, ti) since the last decision, and returns its power
// corrected for the window's loss at that error.
func trueTonePower(p, tr, ti float64, k int) (float64, bool) {
	if tr <= 0 {
		return 0, false // more than a quarter turn: far off, or not the tone seen before
	}
	// The turn is at most a quarter: its tangent tells whether the error is too large, before
	// any arctangent.
	t := math.Abs(ti) / tr
	if t > maxTurnTan[k&7] {
		return 0, false
	}
	df := math.Atan(t) * hzPerRadian
	d := int(df)
	g := gainAt[d] + (df-float64(d))*(gainAt[d+1]-gainAt[d])
	return p / g, true
}

// decide moves the press state on by one window whose key is k (0: none) and returns a key whose
// press starts now.
func (r *Receiver) decide(k byte) byte {
	switch {
	case k != 0 && k == r.cand:
		r.run++
		r.gap = 0
	case k != 0:
		r.cand, r.run, r.gap = k, 1, 0
	case r.cand != 0:
		// A window without any key: a short dropout (speech over the tone, a lost packet)
		// pauses the count, a longer one ends it.
		r.gap++
		if r.gap > maxGapHops {
			r.cand, r.run, r.gap = 0, 0, 0
		}
	}
	if r.cur != 0 {
		if k == r.cur {
			r.miss = 0
			return 0
		}
		r.miss++
		if r.miss < endHops {
			return 0
		}
		r.cur, r.miss = 0, 0
	}
	if r.cand != 0 && r.run >= beginHops {
		r.cur, r.miss = r.cand, 0
		return r.cur
	}
	return 0
}

// Decode runs a receiver over 8 kHz audio and returns the keys it hears, in order.
func Decode(samples []int16) string {
	r := NewReceiver()
	var keys []byte
	for i := 0; i < len(samples); i += voice.FrameSamples {
		var f *voice.Frame
		if len(samples)-i >= voice.FrameSamples {
			f = (*voice.Frame)(samples[i:])
		} else {
			f = new(voice.Frame) // the last, partial frame, padded with silence
			copy(f[:], samples[i:])
		}
		if k, ok := r.Process(f); ok {
			keys = append(keys, k)
		}
	}
	return string(keys)
}
