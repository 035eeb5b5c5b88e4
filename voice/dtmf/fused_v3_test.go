//go:build amd64.v3

package dtmf

// goFuses tells whether Go fuses multiply-adds in this build on amd64 (GOAMD64=v3 and up), so
// that hopKernelGo rounds differently from the assembly.
const goFuses = true
