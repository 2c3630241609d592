//go:build !amd64 && !arm64

package sys

// Pause is the CPU spin-wait hint; a no-op on this architecture.
func Pause() {}
