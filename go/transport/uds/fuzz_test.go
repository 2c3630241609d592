//go:build linux

package uds

import (
	"testing"

	"netipc.local/netipc/transport/internal/sessiontest"
)

// FuzzRecvPackets feeds arbitrary datagrams from a hostile peer to a
// session's receive path (see sessiontest.FuzzRecvPackets).
func FuzzRecvPackets(f *testing.F) { sessiontest.FuzzRecvPackets(f, harness) }
