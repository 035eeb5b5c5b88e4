//go:build !purego

package dtmf

import "golang.org/x/sys/cpu"

// hasAVX tells whether the machine and its kernel support AVX.
var hasAVX = cpu.X86.HasAVX

// hopKernel is hopKernelGo in assembly (kernel_amd64.s): with AVX where there is AVX, else
// with SSE2, which every amd64 machine has.
//
//go:norace
func hopKernel(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, co *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum) {
	if hasAVX {
		hopKernelAVX(x, in, tw, co, pa, pb, za, wa, zb, wb, s, out)
	} else {
		hopKernelSSE2(x, in, tw, co, pa, pb, za, wa, zb, wb, s, out)
	}
}

//go:noescape
func hopKernelSSE2(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, co *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum)

//go:noescape
func hopKernelAVX(x *[hopBlocks * subBlock]int16, in *hopOut, tw *hopTurns, co *dftCoef, pa, pb *phaseRow, za, wa, zb, wb *[8]float64, s *sums, out *spectrum)
