package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// referenceClassify is classify written the plain way, with no early checks on bounds and
// math.Atan2 for the frequency error: what the receiver decided before it was made faster.
func referenceClassify(r *Receiver, x, prev *spectrum, energy float64) byte {
	sr, si := &x.re, &x.im
	if energy < 2*floorPower*toneScale {
		return 0
	}
	var p [8]float64
	for k := range 8 {
		p[k] = sr[k]*sr[k] + si[k]*si[k]
	}
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
	corrected := func(p float64, k int) (float64, bool) {
		tr := sr[k]*prev.re[k] + si[k]*prev.im[k]
		ti := si[k]*prev.re[k] - sr[k]*prev.im[k]
		if tr <= 0 {
			return 0, false
		}
		df := math.Abs(math.Atan2(ti, tr)) * hzPerRadian
		if df > maxFreqError*freqs[k] {
			return 0, false
		}
		d := int(df)
		return p / (gainAt[d] + (df-float64(d))*(gainAt[d+1]-gainAt[d])), true
	}
	pr, ok := corrected(pr, row)
	if !ok {
		return 0
	}
	pc, ok = corrected(pc, col)
	if !ok {
		return 0
	}
	key := keyAt[row][col-4]
	nt, rt, share := normalTwist, reverseTwist, minToneShare
	if key == r.cand || key == r.cur {
		nt, rt, share = nt*holdTwist, rt*holdTwist, holdToneShare
	}
	if pr > pc*nt || pc > pr*rt {
		return 0
	}
	for k := range 4 {
		if k != row && p[k]*peakRatio > pr || k+4 != col && p[k+4]*peakRatio > pc {
			return 0
		}
	}
	if (pr+pc)*toneScale < share*energy {
		return 0
	}
	return key
}

// TestClassifyEarlyChecks holds the early checks of classify to deciding exactly what the plain
// checks decide, over random windows made to lie near every threshold.
func TestClassifyEarlyChecks(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	amp := math.Sqrt(floorPower)
	keys, rejected := 0, 0
	for i := range 200000 {
		r := NewReceiver()
		var x, prev spectrum
		sr, si := &x.re, &x.im
		row, col := rng.IntN(4), 4+rng.IntN(4)
		for k := range 8 {
			// The two tones 0-10 dB above the floor, the other filters 4-24 dB below the floor.
			a := amp * math.Pow(10, 0.5*rng.Float64())
			if k != row && k != col {
				a = amp * math.Pow(10, -(0.2+rng.Float64()))
			}
			ph := 2 * math.Pi * rng.Float64()
			sr[k], si[k] = a*math.Cos(ph), a*math.Sin(ph)
			x.power[k] = sr[k]*sr[k] + si[k]*si[k]
			// The last window: the same, turned back by up to 0.6 radians (38 Hz), a little
			// weaker or stronger.
			turn := (rng.Float64()*2 - 1) * 0.6
			g := 0.8 + 0.4*rng.Float64()
			prev.re[k], prev.im[k] = g*a*math.Cos(ph-turn), g*a*math.Sin(ph-turn)
		}
		if i%3 == 0 {
			r.cand = keyAt[row][col-4]
		}
		p := sr[row]*sr[row] + si[row]*si[row] + sr[col]*sr[col] + si[col]*si[col]
		energy := p * toneScale / (0.6 + 0.5*rng.Float64())
		want := referenceClassify(r, &x, &prev, energy)
		if got := r.classify(&x, &prev, energy); got != want {
			t.Fatalf("window %d: classify %q, the plain checks %q", i, got, want)
		}
		if want != 0 {
			keys++
		} else {
			rejected++
		}
	}
	// The windows must test both outcomes.
	if keys < 10000 || rejected < 10000 {
		t.Fatalf("%d windows with a key, %d without: not near the thresholds", keys, rejected)
	}
}
