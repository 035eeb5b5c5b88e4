//go:build !amd64 || purego

package dtmf

// kernels are the versions of hopKernel that this machine runs.
func kernels() map[string]kernelFunc {
	return map[string]kernelFunc{"hopKernel": hopKernel}
}
