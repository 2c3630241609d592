//go:build windows

package npipe

import (
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
)

// INCREMENT round trips Go <-> Go in one process, one request in flight,
// over the Named Pipe, SHM_HYBRID and SHM_BUSYWAIT. Under Wine the rates
// are functional evidence only.
func BenchmarkIncrementRoundTrip(b *testing.B) {
	for _, tc := range []struct {
		name    string
		profile uint32
	}{{"npipe", netipc.ProfileBaseline}, {"shm-hybrid", netipc.ProfileShmHybrid}, {"shm-busywait", ProfileBusyWait}} {
		b.Run(tc.name, func(b *testing.B) {
			ep := endpoint(b, "bench")
			scfg, ccfg := baseServerCfg(), baseClientCfg()
			switch tc.profile {
			case netipc.ProfileShmHybrid:
				scfg, ccfg = shmServerCfg(), shmClientCfg()
			case ProfileBusyWait:
				scfg, ccfg = busyServerCfg(), busyClientCfg()
			}
			startServer(b, ep, scfg, benchServe)
			c := connect(b, ep, ccfg)
			if c.SelectedProfile() != tc.profile {
				b.Fatal("profile")
			}
			var buf [8]byte
			v := uint64(0)
			b.ReportAllocs()
			for b.Loop() {
				p := codec.EncodeIncrement(v)
				copy(buf[:], p[:])
				m, err := c.Call(netipc.MethodIncrement, buf[:], time.Time{}, nil)
				if err != nil {
					b.Fatal(err)
				}
				got, err := codec.DecodeIncrement(m.Payload)
				if err != nil || got != v+1 {
					b.Fatal(err)
				}
				v = got
			}
		})
	}
}

// benchServe answers INCREMENT with value + 1 without allocating.
func benchServe(s *session.Server, abort *transport.Abort) error {
	var out [8]byte
	for {
		m, err := s.RecvRequest(time.Time{}, abort)
		if err != nil {
			return err
		}
		v, err := codec.DecodeIncrement(m.Payload)
		if err != nil {
			return err
		}
		out = codec.EncodeIncrement(v + 1)
		if err := s.SendResponse(m.Header.Code, m.Header.MessageID, out[:]); err != nil {
			return err
		}
	}
}
