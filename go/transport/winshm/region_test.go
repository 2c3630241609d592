//go:build windows

package winshm

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

const token = 0xBE4C400000C0FFEE

var runDirs atomic.Uint64

// endpoint returns an endpoint whose kernel object names are unique to
// this process and call (the run directory is only hashed).
func endpoint(t testing.TB) transport.Endpoint {
	t.Helper()
	dir := fmt.Sprintf(`C:\netipc-shm-test\%d-%d-%d`, os.Getpid(), time.Now().UnixNano(), runDirs.Add(1))
	ep, err := transport.NewEndpoint(dir, "svc")
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func soon() time.Time { return time.Now().Add(10 * time.Second) }

func wantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("want %v, got %v", target, err)
	}
}

// pair creates a server region and attaches a client to it.
func pair(t testing.TB, profile uint32) (srv, cli *Region) {
	t.Helper()
	ep := endpoint(t)
	srv, err := Create(ep, token, profile, 7, 1024, 4096, Config{})
	if err != nil {
		t.Fatal(err)
	}
	cli, err = Attach(ep, token, profile, 7, 1024, 4096)
	if err != nil {
		_ = srv.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close(); _ = srv.Close() })
	return srv, cli
}

func request(id uint64, payload string) []byte {
	return append(wire.RequestHeader(netipc.MethodIncrement, id, uint32(len(payload))).AppendTo(nil), payload...)
}

func response(id uint64, payload string) []byte {
	return append(wire.ResponseHeader(netipc.MethodIncrement, id, uint32(len(payload))).AppendTo(nil), payload...)
}

var profiles = []uint32{netipc.ProfileShmHybrid, ProfileBusyWait}

func TestRoundTrip(t *testing.T) {
	for _, profile := range profiles {
		t.Run(fmt.Sprint(profile), func(t *testing.T) {
			srv, cli := pair(t, profile)
			if l := cli.Layout(); l != srv.Layout() || l.SpinTries != DefaultSpinTries || l.RequestOffset != RegionHeaderLen ||
				l.RequestCapacity != 1088 || l.ResponseOffset != RegionHeaderLen+1088 || l.ResponseCapacity != 4160 {
				t.Fatalf("%+v", l)
			}
			done := make(chan error, 1)
			go func() {
				var buf []byte
				for i := uint64(1); i <= 200; i++ {
					m, err := srv.Recv(buf, soon(), nil, nil)
					if err != nil {
						done <- err
						return
					}
					buf = m
					h, _ := wire.DecodeHeader(m)
					if err := srv.Send(response(h.MessageID, string(m[netipc.HeaderLen:])+"!")); err != nil {
						done <- err
						return
					}
				}
				done <- nil
			}()
			var buf []byte
			for i := uint64(1); i <= 200; i++ {
				if err := cli.Send(request(i, fmt.Sprint(i))); err != nil {
					t.Fatal(err)
				}
				m, err := cli.Recv(buf, soon(), nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				buf = m
				if string(m[netipc.HeaderLen:]) != fmt.Sprint(i)+"!" {
					t.Fatalf("%d: %q", i, m[netipc.HeaderLen:])
				}
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// The header carries the spec's offsets and values.
func TestHeaderBytes(t *testing.T) {
	srv, _ := pair(t, netipc.ProfileShmHybrid)
	h := srv.Header()
	for _, c := range []struct{ off, want int }{
		{0, 0x4e535748}, {4, 3}, {8, 128}, {12, 2}, {16, 128}, {20, 1088}, {24, 1216}, {28, 4160}, {32, 1024},
	} {
		if got := bin.U32(h, c.off); got != uint32(c.want) {
			t.Fatalf("offset %d: %#x", c.off, got)
		}
	}
}

func TestMisuseLeavesRegionUsable(t *testing.T) {
	srv, cli := pair(t, netipc.ProfileShmHybrid)
	wantIs(t, srv.Send(response(1, "x")), netipc.ErrInvalidState)
	_, err := cli.Recv(nil, soon(), nil, nil)
	wantIs(t, err, netipc.ErrInvalidState)
	wantIs(t, cli.Send(make([]byte, 1089)), netipc.ErrLimitExceeded)
	wantIs(t, cli.Send([]byte("not a header at all, just bytes.....")), netipc.ErrInvalidArgument)
	if err := cli.Send(request(1, "a")); err != nil {
		t.Fatal(err)
	}
	wantIs(t, cli.Send(request(2, "b")), netipc.ViolationShmBusy)
	if _, err := srv.Recv(nil, soon(), nil, nil); err != nil {
		t.Fatal(err)
	}
	_, err = srv.Recv(nil, soon(), nil, nil)
	wantIs(t, err, netipc.ErrInvalidState)
}

func TestTimeoutAbortAndLateMessage(t *testing.T) {
	for _, profile := range profiles {
		t.Run(fmt.Sprint(profile), func(t *testing.T) {
			srv, cli := pair(t, profile)
			_, err := srv.Recv(nil, time.Now().Add(30*time.Millisecond), nil, nil)
			wantIs(t, err, netipc.ErrTimeout)
			abort, err := transport.NewAbort()
			if err != nil {
				t.Fatal(err)
			}
			defer abort.Close()
			go func() {
				time.Sleep(20 * time.Millisecond)
				abort.Trigger()
			}()
			_, err = srv.Recv(nil, time.Time{}, abort, nil)
			wantIs(t, err, netipc.ErrAborted)
			abort.Clear()
			if err := cli.Send(request(1, "late")); err != nil {
				t.Fatal(err)
			}
			m, err := srv.Recv(nil, soon(), abort, nil)
			if err != nil || string(m[netipc.HeaderLen:]) != "late" {
				t.Fatal(err)
			}
		})
	}
}

func TestPeerCloseAndHangup(t *testing.T) {
	for _, profile := range profiles {
		t.Run(fmt.Sprint(profile), func(t *testing.T) {
			srv, cli := pair(t, profile)
			// A waiting server wakes when the client closes.
			done := make(chan error, 1)
			go func() {
				_, err := srv.Recv(nil, soon(), nil, nil)
				done <- err
			}()
			time.Sleep(20 * time.Millisecond) // let it wait (the result is the same either way)
			_ = cli.Close()
			wantIs(t, <-done, netipc.ErrPeerClosed)

			srv2, cli2 := pair(t, profile)
			if err := cli2.Send(request(1, "x")); err != nil {
				t.Fatal(err)
			}
			if _, err := srv2.Recv(nil, soon(), nil, nil); err != nil {
				t.Fatal(err)
			}
			_ = srv2.Close()
			_, err := cli2.Recv(nil, soon(), nil, nil)
			wantIs(t, err, netipc.ErrPeerClosed)

			srv3, _ := pair(t, profile)
			var probes atomic.Int32
			_, err = srv3.Recv(nil, soon(), nil, func() bool { return probes.Add(1) > 1 })
			wantIs(t, err, netipc.ErrPeerClosed)
		})
	}
}

func TestSendToClosedPeer(t *testing.T) {
	srv, cli := pair(t, netipc.ProfileShmHybrid)
	_ = srv.Close()
	wantIs(t, cli.Send(request(1, "x")), netipc.ErrPeerClosed)
}

// A hostile or corrupt peer publication poisons the region.
func TestHostilePublications(t *testing.T) {
	cases := []struct {
		name string
		mut  func(h []byte)
	}{
		{"zero length", func(h []byte) { bin.Put32(h, offReqLen, 0) }},
		{"length over capacity", func(h []byte) { bin.Put32(h, offReqLen, 1089) }},
		{"length under a header", func(h []byte) { bin.Put32(h, offReqLen, 31) }},
		{"length disagrees with payload_len", func(h []byte) { bin.Put32(h, offReqLen, 64) }},
		{"sequence jumps", func(h []byte) { bin.Put64(h, offReqSeq, 2) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cli := pair(t, netipc.ProfileShmHybrid)
			if err := cli.Send(request(1, "abc")); err != nil {
				t.Fatal(err)
			}
			c.mut(cli.Header())
			_, err := srv.Recv(nil, soon(), nil, nil)
			if !errors.Is(err, netipc.ErrProtocol) {
				t.Fatalf("want a protocol error, got %v", err)
			}
			_, err2 := srv.Recv(nil, soon(), nil, nil)
			if !errors.Is(err2, netipc.ErrProtocol) {
				t.Fatalf("region not poisoned: %v", err2)
			}
		})
	}
	// A corrupt message header behind a valid length.
	srv, cli := pair(t, netipc.ProfileShmHybrid)
	if err := cli.Send(request(1, "abc")); err != nil {
		t.Fatal(err)
	}
	srv.mem[srv.rxOff] ^= 0xFF
	_, err := srv.Recv(nil, soon(), nil, nil)
	var de *netipc.DecodeError
	if !errors.As(err, &de) {
		t.Fatal(err)
	}
}

// Every header rule: a client refuses to attach a region that breaks one.
func TestHostileRegionHeader(t *testing.T) {
	cases := []struct {
		name string
		mut  func(h []byte)
	}{
		{"magic", func(h []byte) { bin.Put32(h, offMagic, 0x4e53484d) }},
		{"version", func(h []byte) { bin.Put32(h, offVersion, 2) }},
		{"header_len", func(h []byte) { bin.Put32(h, offHeaderLen, 64) }},
		{"profile", func(h []byte) { bin.Put32(h, offProfile, ProfileBusyWait) }},
		{"request offset inside the header", func(h []byte) { bin.Put32(h, offRequestOffset, 64) }},
		{"request offset unaligned", func(h []byte) { bin.Put32(h, offRequestOffset, 130) }},
		{"response area beyond the mapping", func(h []byte) { bin.Put32(h, offResponseCapacity, 1<<30) }},
		{"request capacity wraps", func(h []byte) { bin.Put32(h, offRequestCapacity, 0xFFFFFFC0) }},
		{"areas overlap", func(h []byte) { bin.Put32(h, offResponseOffset, 192) }},
		{"request capacity below the agreed payload", func(h []byte) { bin.Put32(h, offRequestCapacity, 1024) }},
		{"response capacity below the agreed payload", func(h []byte) { bin.Put32(h, offResponseCapacity, 4096) }},
		{"spin_tries", func(h []byte) { bin.Put32(h, offSpinTries, MaxSpinTries+1) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ep := endpoint(t)
			srv, err := Create(ep, token, netipc.ProfileShmHybrid, 1, 1024, 4096, Config{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c.mut(srv.Header())
			cli, err := Attach(ep, token, netipc.ProfileShmHybrid, 1, 1024, 4096)
			if err == nil {
				_ = cli.Close()
				t.Fatal("attached")
			}
			wantIs(t, err, netipc.ErrShmAttach)
		})
	}
}

func TestParseLayoutTruncated(t *testing.T) {
	l, _ := NewLayout(netipc.ProfileShmHybrid, 10, 10, 0)
	b := l.Encode()
	if _, err := ParseLayout(b[:100], 100, netipc.ProfileShmHybrid, 10, 10); err == nil {
		t.Fatal("short header accepted")
	}
	if _, err := ParseLayout(b[:], RegionHeaderLen, netipc.ProfileShmHybrid, 10, 10); err == nil {
		t.Fatal("areas beyond the size accepted")
	}
	if _, err := ParseLayout(b[:], l.Size(), netipc.ProfileShmHybrid, 10, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := NewLayout(netipc.ProfileShmHybrid, 1<<31, 1<<31, 0); !errors.Is(err, netipc.ErrLimitExceeded) {
		t.Fatal(err)
	}
}

// Names: the wrong token, profile or session finds nothing; a second
// region with the same name is refused.
func TestNamesIsolateSessions(t *testing.T) {
	ep := endpoint(t)
	srv, err := Create(ep, token, netipc.ProfileShmHybrid, 3, 64, 64, Config{SpinTries: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct {
		tok     uint64
		profile uint32
		session uint64
	}{{token + 1, netipc.ProfileShmHybrid, 3}, {token, ProfileBusyWait, 3}, {token, netipc.ProfileShmHybrid, 4}} {
		if _, err := Attach(ep, c.tok, c.profile, c.session, 64, 64); !errors.Is(err, netipc.ErrShmAttach) {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if _, err := Create(ep, token, netipc.ProfileShmHybrid, 3, 64, 64, Config{}); !errors.Is(err, netipc.ErrShmAllocate) {
		t.Fatal(err)
	}
	cli, err := Attach(ep, token, netipc.ProfileShmHybrid, 3, 64, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if cli.Layout().SpinTries != 5 {
		t.Fatal(cli.Layout())
	}
	if _, err := Create(ep, token, netipc.ProfileBaseline, 9, 64, 64, Config{}); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}
