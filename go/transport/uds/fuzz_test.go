//go:build linux

package uds

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport/internal/sessiontest"
)

// FuzzRecvPackets feeds arbitrary datagrams from a hostile peer to a
// session's receive path (packet size 128, so chunking is exercised): it
// must never panic, and every failure must be a clean error.
func FuzzRecvPackets(f *testing.F) {
	for _, p := range capturedPackets(f) {
		f.Add(p, uint8(14))
	}
	f.Add(sessiontest.ResponseMsg(1, 1, []byte{1, 2, 3, 4, 5, 6, 7, 8}), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Skip(err)
		}
		defer unix.Close(fds[1])
		// Cut the input into up to `split` datagrams of at most 128 bytes.
		n := max(int(split)%16, 1)
		for i := 0; i < n && len(data) > 0; i++ {
			k := min(len(data), 128)
			if i+1 < n && len(data) > 1 {
				k = min(k, max(len(data)/(n-i), 1))
			}
			if err := sys.SendPacket(fds[0], data[:k], nil, time.Time{}); err != nil {
				break
			}
			data = data[k:]
		}
		_ = unix.Close(fds[0]) // the peer leaves: no receive can block
		ch := rawChannel(fds[1], true)
		for range 4 {
			_, _, err := ch.Recv(time.Now().Add(time.Second), nil)
			if err == nil {
				continue
			}
			if !errors.Is(err, netipc.ErrProtocol) && !errors.Is(err, netipc.ErrPeerClosed) &&
				!errors.Is(err, netipc.ErrLimitExceeded) && !errors.Is(err, netipc.ErrInvalidState) {
				t.Fatalf("unexpected error class: %v", err)
			}
			if !ch.IsBroken() && !errors.Is(err, netipc.ErrInvalidState) {
				t.Fatal("failure did not end the session")
			}
		}
	})
}
