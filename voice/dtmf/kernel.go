package dtmf

// The arithmetic of a hop: the folding and the energy of two sub-blocks, their DFT at the eight
// frequencies, their phase references, the ring and the sliding sums, and the window's
// spectrum. hopKernel is written in assembly where the machine has vector instructions that Go
// does not use (amd64: AVX, four frequencies per instruction, or SSE2, two; the operations of
// hopKernelGo in the same order and without fused multiply-adds, so that every result is the
// same to the bit) and is hopKernelGo elsewhere.

// dftCoef holds the folded DFT of a sub-block: c[n][k] and s[n][k] are cos and sin of
// w_k (subBlock-1-2n)/2, for the first half of the sub-block; half is 0.5 four times, for the
// assembly.
type dftCoef struct {
	c, s [subBlock / 2][8]float64
	half [4]float64
}

// hopTurns are e^{i theta n} of the two sub-blocks of a hop (re, im, re, im), then e^{i phi}
// of the window that ends with them (re, im).
type hopTurns [6]float64

// hopOut is what a hop yields besides the ring, the sums and the spectrum.
type hopOut struct {
	// energy is twice the energy of each sub-block, the sum of the squares of x_n + x_{9-n}
	// and x_n - x_{9-n}: a whole number below 2^36, exact.
	energy [hopBlocks]float64
}

// sums are the sliding sums of the window, per frequency: A, C and S (see theta).
type sums struct {
	aRe, aIm, cRe, cIm, sRe, sIm [8]float64
}

// blockDFT returns the spectrum of one sub-block at the eight frequencies, on the phase of its
// middle, and twice its energy, with the coefficients c[k][n] and s[k][n] (dftCoef's
// transposed).
//
//go:norace
func blockDFT(x *[subBlock]int16, c, s *[8][subBlock / 2]float64, yr, yi *[8]float64) int64 {
	ip0, im0 := int64(x[0])+int64(x[9]), int64(x[0])-int64(x[9])
	ip1, im1 := int64(x[1])+int64(x[8]), int64(x[1])-int64(x[8])
	ip2, im2 := int64(x[2])+int64(x[7]), int64(x[2])-int64(x[7])
	ip3, im3 := int64(x[3])+int64(x[6]), int64(x[3])-int64(x[6])
	ip4, im4 := int64(x[4])+int64(x[5]), int64(x[4])-int64(x[5])
	e := ip0*ip0 + im0*im0 + ip1*ip1 + im1*im1 + ip2*ip2 + im2*im2 + ip3*ip3 + im3*im3 + ip4*ip4 + im4*im4
	p0, m0 := float64(ip0), float64(im0)
	p1, m1 := float64(ip1), float64(im1)
	p2, m2 := float64(ip2), float64(im2)
	p3, m3 := float64(ip3), float64(im3)
	p4, m4 := float64(ip4), float64(im4)
	for k := range 8 {
		c, s := &c[k], &s[k]
		yr[k] = p0*c[0] + p1*c[1] + p2*c[2] + p3*c[3] + p4*c[4]
		yi[k] = m0*s[0] + m1*s[1] + m2*s[2] + m3*s[3] + m4*s[4]
	}
	return e
}

// hopKernelGo measures the two sub-blocks of x, which turn by tw: their energies go to
// in.energy, their spectra on the phase references pa and pb to the ring (za, wa: real and imaginary part of the first
// sub-block; zb, wb: of the second). It moves the sums s on by the difference to what the ring
// held and writes the window's spectrum to out. It reads the coefficients from dftCos and
// dftSin, co's transposed, which suit Go's code better.
//
//go:norace
func hopKernelGo(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, _ *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum) {
	var ar, ai, br, bi [8]float64
	in.energy[0] = float64(blockDFT((*[subBlock]int16)(x[:subBlock]), &dftCos, &dftSin, &ar, &ai))
	in.energy[1] = float64(blockDFT((*[subBlock]int16)(x[subBlock:]), &dftCos, &dftSin, &br, &bi))
	ta, sa, tb, sb, ur, ui := tw[0], tw[1], tw[2], tw[3], tw[4], tw[5]
	for k := range 8 {
		var d1r, d1i, d2r, d2i float64
		{
			vr := ar[k]*pa.re[k] - ai[k]*pa.im[k]
			vi := ar[k]*pa.im[k] + ai[k]*pa.re[k]
			d1r, d1i = vr-za[k], vi-wa[k]
			za[k], wa[k] = vr, vi
		}
		{
			vr := br[k]*pb.re[k] - bi[k]*pb.im[k]
			vi := br[k]*pb.im[k] + bi[k]*pb.re[k]
			d2r, d2i = vr-zb[k], vi-wb[k]
			zb[k], wb[k] = vr, vi
		}
		aRe := s.aRe[k] + d1r + d2r
		aIm := s.aIm[k] + d1i + d2i
		cRe := s.cRe[k] + d1r*ta + d2r*tb
		cIm := s.cIm[k] + d1i*ta + d2i*tb
		sRe := s.sRe[k] + d1r*sa + d2r*sb
		sIm := s.sIm[k] + d1i*sa + d2i*sb
		s.aRe[k], s.aIm[k], s.cRe[k], s.cIm[k], s.sRe[k], s.sIm[k] = aRe, aIm, cRe, cIm, sRe, sIm
		sr := 0.5 * (aRe - ur*cRe + ui*sRe)
		si := 0.5 * (aIm - ur*cIm + ui*sIm)
		out.re[k], out.im[k], out.power[k] = sr, si, sr*sr+si*si
	}
}
