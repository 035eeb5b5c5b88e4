//go:build !purego

package dtmf

// kernels are the versions of hopKernel that this machine runs.
func kernels() map[string]kernelFunc {
	ks := map[string]kernelFunc{"SSE2": hopKernelSSE2}
	if hasAVX {
		ks["AVX"] = hopKernelAVX
	}
	return ks
}
