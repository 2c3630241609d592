//go:build amd64 || arm64

package sys

// Pause is the CPU spin-wait hint (PAUSE on x86, YIELD on arm64).
//
//go:noescape
func Pause()
