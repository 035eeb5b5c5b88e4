//go:build !amd64 || purego

package dtmf

//go:norace
func hopKernel(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, co *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum) {
	hopKernelGo(x, in, tw, co, pa, pb, za, wa, zb, wb, s, out)
}
