//go:build linux || windows

package sessiontest

import (
	"errors"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport/internal/session"
)

// FuzzRecvPackets feeds arbitrary packets from a hostile peer to a
// session's receive path (packet size 128, so chunking is exercised): it
// must never panic, and every failure must be a clean error that ends
// the session.
func FuzzRecvPackets(f *testing.F, h *Harness) {
	for _, p := range CapturedPackets(f) {
		f.Add(p, uint8(14))
	}
	f.Add(ResponseMsg(1, 1, []byte{1, 2, 3, 4, 5, 6, 7, 8}), uint8(1))
	f.Add(append(CapturedPackets(f)[0], 0), uint8(1)) // longer than a packet
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		raw, conn := h.Pair(t)
		// Cut the input into up to `split` packets of at most 129 bytes
		// (one more than the packet size, to reach the over-long path).
		n := max(int(split)%16, 1)
		for i := 0; i < n && len(data) > 0; i++ {
			k := min(len(data), 129)
			if i+1 < n && len(data) > 1 {
				k = min(k, max(len(data)/(n-i), 1))
			}
			if err := raw.Send(data[:k]); err != nil {
				break
			}
			data = data[k:]
		}
		raw.Hangup() // the peer leaves: no receive can block
		ch := session.NewChannel(conn, RawAck, true)
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
