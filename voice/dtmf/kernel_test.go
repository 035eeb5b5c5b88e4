package dtmf

import (
	"math"
	"math/rand/v2"
	"testing"
)

// kernelState is what hopKernel changes.
type kernelState struct {
	zr, zi [windowBlocks][8]float64
	s      sums
}

// TestHopKernel checks each version of hopKernel (in assembly where there is some) over random
// sub-blocks, up to the loudest that int16 allows, and over every slot and phase: the ring must
// hold the DFT of each sub-block and the window's spectrum must be the Hann-weighted sum of the
// ring, with its power, all computed here the plain way; and everything must agree with
// hopKernelGo, run side by side, to the bit, or within 1e-12 of the window's scale where Go
// fuses multiply-adds (GOAMD64=v3).
func TestHopKernel(t *testing.T) {
	for name, f := range kernels() {
		t.Run(name, func(t *testing.T) { testKernel(t, f) })
	}
}

// kernelFunc is hopKernel's signature.
type kernelFunc func(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, co *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum)

func testKernel(t *testing.T, kernel kernelFunc) {
	rng := rand.New(rand.NewPCG(1, 2))
	var a, b kernelState
	var worst float64
	// Without fused multiply-adds the kernels must agree to the bit.
	tolerance := 0.0
	if goFuses {
		tolerance = 1e-12
	}
	for i := range 20000 {
		amp := []int{1, 100, 32767}[i%3]
		var x [hopBlocks * subBlock]int16
		for j := range x {
			x[j] = int16(rng.IntN(2*amp+1) - amp)
		}
		if i%5 == 0 {
			for j := range x {
				x[j] = -32768 // the largest folded values and energy
			}
		}
		n := (2 * i) % windowBlocks
		m, n0 := n+1, (n+2)%windowBlocks
		ph := (2 * i * 7) % phasePeriod
		var in, in2 hopOut
		tw := &turns[n/2]
		var xa, xb spectrum
		kernel(&x, &in, tw, &dft, &phases[ph], &phases[ph+1], &a.zr[n], &a.zi[n], &a.zr[m], &a.zi[m], &a.s, &xa)
		hopKernelGo(&x, &in2, tw, &dft, &phases[ph], &phases[ph+1], &b.zr[n], &b.zi[n], &b.zr[m], &b.zi[m], &b.s, &xb)
		ar, ai, br, bi := &xa.re, &xa.im, &xb.re, &xb.im
		scale := 1.0
		for k := range 8 {
			scale = max(scale, math.Abs(br[k]), math.Abs(bi[k]), math.Abs(b.s.aRe[k]), math.Abs(b.s.aIm[k]))
		}
		diff := func(x, y *[8]float64) {
			for k := range 8 {
				d := math.Abs(x[k]-y[k]) / scale
				worst = max(worst, d)
				if d > tolerance || math.IsNaN(x[k]) {
					t.Fatalf("hop %d, frequency %d: %v, want %v", i, k, x[k], y[k])
				}
			}
		}
		// The ring holds each sub-block's DFT on the common phase reference.
		for b, z := range [][2]*[8]float64{{&a.zr[n], &a.zi[n]}, {&a.zr[m], &a.zi[m]}} {
			var e int64
			var l1 float64
			for j := range subBlock {
				v := int64(x[b*subBlock+j])
				e += 2 * v * v
				l1 += math.Abs(float64(v))
			}
			if in.energy[b] != float64(e) {
				t.Fatalf("hop %d, sub-block %d: energy %v, want %d", i, b, in.energy[b], e)
			}
			for k, f := range freqs {
				var re, im float64
				for j := range subBlock {
					sin, cos := math.Sincos(-2 * math.Pi * f * float64(subBlock*(ph+b)+j) / 8000)
					re += float64(x[b*subBlock+j]) * cos
					im += float64(x[b*subBlock+j]) * sin
				}
				if math.Abs(z[0][k]-re) > 1e-9*(l1+1) || math.Abs(z[1][k]-im) > 1e-9*(l1+1) {
					t.Fatalf("hop %d, sub-block %d, %g Hz: %v%+vi, want %v%+vi", i, b, f, z[0][k], z[1][k], re, im)
				}
			}
		}
		// The window's spectrum is the Hann-weighted sum of the ring, oldest sub-block n0 first.
		// The sliding sums keep rounding errors of the loudest sub-blocks seen, a little.
		for k := range 8 {
			var re, im float64
			for j := range windowBlocks {
				re += weight[j] * a.zr[(n0+j)%windowBlocks][k]
				im += weight[j] * a.zi[(n0+j)%windowBlocks][k]
			}
			if math.Abs(ar[k]-re) > 1e-6 || math.Abs(ai[k]-im) > 1e-6 || math.Abs(xa.power[k]-(ar[k]*ar[k]+ai[k]*ai[k])) > 1e-12*xa.power[k] {
				t.Fatalf("hop %d, %g Hz: window %v%+vi (power %v), want %v%+vi", i, freqs[k], ar[k], ai[k], xa.power[k], re, im)
			}
		}
		if in.energy != in2.energy {
			t.Fatalf("hop %d: energies %v, want %v", i, in.energy, in2.energy)
		}
		diff(ar, br)
		diff(ai, bi)
		for k := range 8 {
			d := math.Abs(xa.power[k]-xb.power[k]) / (scale * scale)
			worst = max(worst, d)
			if d > tolerance || math.IsNaN(d) {
				t.Fatalf("hop %d, frequency %d: power %v, want %v", i, k, xa.power[k], xb.power[k])
			}
		}
		diff(&a.zr[n], &b.zr[n])
		diff(&a.zi[n], &b.zi[n])
		diff(&a.zr[m], &b.zr[m])
		diff(&a.zi[m], &b.zi[m])
		diff(&a.s.aRe, &b.s.aRe)
		diff(&a.s.aIm, &b.s.aIm)
		diff(&a.s.cRe, &b.s.cRe)
		diff(&a.s.cIm, &b.s.cIm)
		diff(&a.s.sRe, &b.s.sRe)
		diff(&a.s.sIm, &b.s.sIm)
	}
	t.Logf("largest difference: %g of the window's scale", worst)
}
