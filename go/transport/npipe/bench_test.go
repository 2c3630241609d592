//go:build windows

package npipe

import (
	"testing"

	"netipc.local/netipc/transport/internal/sessiontest"
)

// INCREMENT round trips Go <-> Go in one process, one request in flight,
// over the Named Pipe, SHM_HYBRID and SHM_BUSYWAIT. Under Wine the rates
// are functional evidence only.
func BenchmarkIncrementRoundTrip(b *testing.B) { sessiontest.BenchmarkIncrementRoundTrip(b, harness) }
