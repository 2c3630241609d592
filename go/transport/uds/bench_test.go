//go:build linux

package uds

import (
	"testing"

	"netipc.local/netipc/transport/internal/sessiontest"
)

// INCREMENT round trips Go <-> Go, one request in flight (the
// uds-ping-pong and shm-ping-pong scenarios of the shared benchmark
// definitions).
func BenchmarkIncrementRoundTrip(b *testing.B) { sessiontest.BenchmarkIncrementRoundTrip(b, harness) }
