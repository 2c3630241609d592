//go:build race

package atomicx

const raceEnabled = true
