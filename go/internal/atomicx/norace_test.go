//go:build !race

package atomicx

const raceEnabled = false
