//go:build windows

package npipe

import (
	"testing"

	"netipc.local/netipc/transport/internal/sessiontest"
)

// FuzzRecvPackets feeds arbitrary pipe messages from a hostile peer to a
// session's receive path (see sessiontest.FuzzRecvPackets). Under Wine
// the seeds run as unit tests.
func FuzzRecvPackets(f *testing.F) { sessiontest.FuzzRecvPackets(f, harness) }
