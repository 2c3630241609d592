//go:build linux

package shm

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

func endpoint(t testing.TB, service string) transport.Endpoint {
	ep, err := transport.NewEndpoint(t.TempDir(), service)
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

// pair creates a server region and attaches a client to it; peer fds come
// from a socketpair (server polls a, client polls b).
func pair(t testing.TB, req, resp uint32) (*Region, *Region, int, int) {
	t.Helper()
	ep := endpoint(t, "svc")
	s, err := Create(ep, 1, req, resp, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Attach(ep, 1, req, resp, Config{})
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Close()
		_ = s.Close()
		_ = unix.Close(fds[0])
		_ = unix.Close(fds[1])
	})
	return s, c, fds[0], fds[1]
}

func msg(kind uint16, id uint64, payload []byte) []byte {
	h := wire.Header{Kind: kind, Code: 1, PayloadLen: uint32(len(payload)), ItemCount: 1, MessageID: id}
	return append(h.AppendTo(nil), payload...)
}

func TestHeaderLayoutMatchesCapture(t *testing.T) {
	want, err := os.ReadFile("../../../testdata/conformance/transport/shm_region_header.bin")
	if err != nil {
		t.Fatal(err)
	}
	info, err := ParseRegionInfo(want)
	if err != nil || info.Magic != RegionMagic || info.Version != 3 || info.HeaderLen != 64 || info.OwnerGeneration == 0 {
		t.Fatal(err, info)
	}
	if enc := info.Encode(); !bytes.Equal(enc[:], want) {
		t.Fatal("RegionInfo does not round trip")
	}
	l, _ := LayoutForPayloads(4096, 65536)
	if l != (Layout{64, 4160, 4224, 65600}) || l.MappedLen() != 69824 {
		t.Fatal(l)
	}
	if _, err := ValidateLayout(info, 69824, 4096, 65536); err != nil {
		t.Fatal(err)
	}
	ep := endpoint(t, "cap")
	r, err := Create(ep, 1, 4096, 65536, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := os.ReadFile(ep.ShmPath(1))
	if err != nil || len(got) != 69824 {
		t.Fatal(err, len(got))
	}
	st, _ := os.Stat(ep.ShmPath(1))
	if st.Mode().Perm() != 0o600 {
		t.Fatal(st.Mode())
	}
	// Everything but owner_pid and owner_generation matches the capture.
	if !bytes.Equal(got[:8], want[:8]) || !bytes.Equal(got[16:64], want[16:64]) {
		t.Fatalf("header differs:\n%x\n%x", got[:64], want)
	}
	if int(bin.U32(got, 8)) != os.Getpid() || bin.U32(got, 12) != ProcessGeneration() {
		t.Fatal("owner fields")
	}
}

func TestValidateLayoutRules(t *testing.T) {
	good := RegionInfo{Magic: RegionMagic, Version: 3, HeaderLen: 64, OwnerGeneration: 1,
		RequestOffset: 64, RequestCapacity: 128, ResponseOffset: 192, ResponseCapacity: 128}
	if _, err := ValidateLayout(good, 320, 96, 96); err != nil {
		t.Fatal(err)
	}
	notReady := []func(i *RegionInfo) uint64{
		func(i *RegionInfo) uint64 { return 63 },
		func(i *RegionInfo) uint64 { i.Magic = 0; return 320 },
		func(i *RegionInfo) uint64 { i.OwnerGeneration = 0; return 320 },
	}
	for k, f := range notReady {
		i := good
		n := f(&i)
		if _, err := ValidateLayout(i, n, 96, 96); err != netipc.ErrShmNotReady {
			t.Fatal(k, err)
		}
	}
	bad := []func(i *RegionInfo){
		func(i *RegionInfo) { i.Magic = 1 },
		func(i *RegionInfo) { i.Version = 2 },
		func(i *RegionInfo) { i.HeaderLen = 32 },
		func(i *RegionInfo) { i.RequestOffset = 0 },
		func(i *RegionInfo) { i.ResponseCapacity = 0 },
		func(i *RegionInfo) { i.RequestOffset = 65 },
		func(i *RegionInfo) { i.RequestCapacity = 100 },
		func(i *RegionInfo) { i.ResponseOffset = 128 },
		func(i *RegionInfo) { i.ResponseCapacity = 1 << 20 },
		func(i *RegionInfo) { i.RequestCapacity, i.ResponseOffset = 64, 128 }, // too small for the payload
	}
	for k, f := range bad {
		i := good
		f(&i)
		if _, err := ValidateLayout(i, 320, 96, 96); !errors.Is(err, netipc.ErrShmAttach) {
			t.Fatal(k, err)
		}
	}
}

func TestPublishConsume(t *testing.T) {
	s, c, sfd, cfd := pair(t, 1024, 4096)
	if c.Role() != RoleClient || s.Role() != RoleServer || c.MaxSendLen() != 1088 || c.MaxRecvLen() != 4160 {
		t.Fatal("layout")
	}
	for i := range uint64(200) {
		req := msg(netipc.KindRequest, i, bytes.Repeat([]byte{byte(i)}, int(i)))
		if err := c.Send(req); err != nil {
			t.Fatal(err)
		}
		got, err := s.Recv(nil, soon(), nil, sfd)
		if err != nil || !bytes.Equal(got, req) {
			t.Fatal(err)
		}
		resp := msg(netipc.KindResponse, i, bytes.Repeat([]byte{byte(i)}, int(i*10)))
		if err := s.Send(resp); err != nil {
			t.Fatal(err)
		}
		got, err = c.Recv(got, soon(), nil, cfd)
		if err != nil || !bytes.Equal(got, resp) {
			t.Fatal(err)
		}
	}
	// Misuse: one message in flight per direction.
	_ = c.Send(msg(netipc.KindRequest, 1, nil))
	wantIs(t, c.Send(msg(netipc.KindRequest, 2, nil)), netipc.ViolationShmBusy)
	wantIs(t, s.Send(msg(netipc.KindResponse, 1, nil)), netipc.ErrInvalidState)
	_, err := s.Recv(nil, soon(), nil, sfd)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Recv(nil, soon(), nil, sfd)
	wantIs(t, err, netipc.ErrInvalidState)
	// Oversized and malformed outgoing messages are caller errors.
	wantIs(t, s.Send(msg(netipc.KindResponse, 1, make([]byte, 4129))), netipc.ErrLimitExceeded)
	wantIs(t, s.Send([]byte("not a message at all, really not")), netipc.ErrInvalidArgument)
	bad := msg(netipc.KindResponse, 1, []byte{1, 2})
	wantIs(t, s.Send(bad[:33]), netipc.ErrInvalidArgument)
	if s.Faulted() || c.Faulted() {
		t.Fatal("faulted")
	}
}

// SendMessage encodes the header straight into the area: the peer reads
// exactly what Send of the assembled message would have published.
func TestSendMessageMatchesSend(t *testing.T) {
	s, c, sfd, cfd := pair(t, 1024, 1024)
	for i := range uint64(50) {
		payload := bytes.Repeat([]byte{byte(i)}, int(i*7))
		h := wire.Header{Kind: netipc.KindRequest, Code: 1, PayloadLen: uint32(len(payload)), ItemCount: 1, MessageID: i}
		if err := c.SendMessage(&h, payload); err != nil {
			t.Fatal(err)
		}
		got, err := s.Recv(nil, soon(), nil, sfd)
		if err != nil || !bytes.Equal(got, msg(netipc.KindRequest, i, payload)) {
			t.Fatal(err)
		}
		h.Kind = netipc.KindResponse
		if err := s.SendMessage(&h, payload); err != nil {
			t.Fatal(err)
		}
		if got, err = c.Recv(got, soon(), nil, cfd); err != nil || !bytes.Equal(got, msg(netipc.KindResponse, i, payload)) {
			t.Fatal(err)
		}
	}
	h := wire.Header{Kind: netipc.KindRequest, Code: 1, PayloadLen: 3, ItemCount: 1}
	wantIs(t, c.SendMessage(&h, []byte{1, 2}), netipc.ErrInvalidArgument)
	h.PayloadLen = 1100
	wantIs(t, c.SendMessage(&h, make([]byte, 1100)), netipc.ErrLimitExceeded)
	h.PayloadLen = 0
	if err := c.SendMessage(&h, nil); err != nil {
		t.Fatal(err)
	}
	wantIs(t, c.SendMessage(&h, nil), netipc.ViolationShmBusy)
}

func TestTimeoutAbortAndHangUp(t *testing.T) {
	s, c, sfd, cfd := pair(t, 64, 64)
	_, err := s.Recv(nil, time.Now().Add(30*time.Millisecond), nil, sfd)
	wantIs(t, err, netipc.ErrTimeout)
	abort, _ := transport.NewAbort()
	defer abort.Close()
	go func() { time.Sleep(20 * time.Millisecond); abort.Trigger() }()
	_, err = s.Recv(nil, time.Time{}, abort, sfd)
	wantIs(t, err, netipc.ErrAborted)
	// Still usable after a timeout or an abort.
	req := msg(netipc.KindRequest, 1, nil)
	_ = c.Send(req)
	if got, err := s.Recv(nil, soon(), nil, sfd); err != nil || !bytes.Equal(got, req) {
		t.Fatal(err)
	}
	// The peer hangs up while we wait: noticed within a slice or two.
	_ = s.Send(msg(netipc.KindResponse, 1, nil))
	_, _ = c.Recv(nil, soon(), nil, cfd)
	_ = c.Send(req)
	_, _ = s.Recv(nil, soon(), nil, sfd)
	_ = unix.Shutdown(sfd, unix.SHUT_RDWR)
	start := time.Now()
	_, err = c.Recv(nil, soon(), nil, cfd)
	wantIs(t, err, netipc.ErrPeerClosed)
	if time.Since(start) > 2*time.Second {
		t.Fatal("hang-up noticed too late")
	}
}

// A hostile peer publishing bad lengths poisons the region; the process
// never reads out of bounds.
func TestHostileLengths(t *testing.T) {
	cases := []struct {
		name string
		f    func(s *Region, m []byte) []byte
		want error
	}{
		{"zero", func(s *Region, m []byte) []byte { return nil }, netipc.ViolationShmLength},
		{"over capacity", func(s *Region, m []byte) []byte { return make([]byte, s.txCap+1) }, netipc.ViolationShmLength},
		{"disagrees with header", func(s *Region, m []byte) []byte { return append(m, 0) }, netipc.ViolationShmLength},
		{"bad header", func(s *Region, m []byte) []byte { m[0] = 0; return m }, netipc.ErrProtocol},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, cl, sfd, cfd := pair(t, 64, 1024)
			_ = cl.Send(msg(netipc.KindRequest, 1, nil))
			_, _ = s.Recv(nil, soon(), nil, sfd)
			// Publish by hand, as a hostile server would.
			out := c.f(s, msg(netipc.KindResponse, 1, []byte("hi")))
			copy(s.mem[s.txOff:], out[:min(len(out), s.txCap)])
			seq, lw, sig := s.txWords()
			*lw = uint32(len(out))
			*seq++
			*sig++
			_ = wakeOne(sig)
			_, err := cl.Recv(nil, soon(), nil, cfd)
			wantIs(t, err, c.want)
			_, err2 := cl.Recv(nil, soon(), nil, cfd)
			if !errors.Is(err2, netipc.ErrProtocol) {
				t.Fatal("region not poisoned", err2)
			}
		})
	}
}

// A peer truncating the region file must not kill the process: the fault
// poisons the region instead.
func TestTruncatedRegionFaults(t *testing.T) {
	t.Run("send", func(t *testing.T) {
		s, c, _, _ := pair(t, 1024, 1024)
		if err := os.Truncate(s.Path(), 0); err != nil {
			t.Fatal(err)
		}
		err := c.Send(msg(netipc.KindRequest, 1, make([]byte, 512)))
		wantIs(t, err, netipc.ViolationShmFault)
		if !c.Faulted() {
			t.Fatal("not faulted")
		}
		wantIs(t, c.Send(msg(netipc.KindRequest, 2, nil)), netipc.ViolationShmFault)
	})
	t.Run("waiting receiver", func(t *testing.T) {
		s, _, sfd, _ := pair(t, 1024, 1024)
		done := make(chan error, 1)
		go func() {
			_, err := s.Recv(nil, soon(), nil, sfd)
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		if err := os.Truncate(s.Path(), 0); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			wantIs(t, err, netipc.ViolationShmFault)
		case <-time.After(5 * time.Second):
			t.Fatal("waiter did not notice the truncation")
		}
	})
	t.Run("tail only", func(t *testing.T) {
		s, c, _, _ := pair(t, 1024, 16384)
		// Keep the header page, drop the response area.
		if err := os.Truncate(s.Path(), 4096); err != nil {
			t.Fatal(err)
		}
		_ = c.Send(msg(netipc.KindRequest, 1, nil))
		_, err := c.Recv(nil, soon(), nil, -1)
		wantIs(t, err, netipc.ViolationShmFault)
	})
}

func TestAttachNotReadyAndJunk(t *testing.T) {
	ep := endpoint(t, "attach")
	_, err := Attach(ep, 9, 64, 64, Config{})
	if err != netipc.ErrShmNotReady {
		t.Fatal(err)
	}
	_ = os.WriteFile(ep.ShmPath(9), make([]byte, 10), 0o600)
	if _, err := Attach(ep, 9, 64, 64, Config{}); err != netipc.ErrShmNotReady {
		t.Fatal(err)
	}
	_ = os.WriteFile(ep.ShmPath(9), make([]byte, 4096), 0o600)
	start := time.Now()
	_, err = AttachWithRetry(ep, 9, 64, 64, Config{}, 50*time.Millisecond, soon(), nil)
	if err != netipc.ErrShmNotReady || time.Since(start) < 40*time.Millisecond {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0xAB}, 4096)
	_ = os.WriteFile(ep.ShmPath(9), junk, 0o600)
	_, err = Attach(ep, 9, 64, 64, Config{})
	wantIs(t, err, netipc.ErrShmAttach)
	_ = os.Remove(ep.ShmPath(9))
	_ = os.Mkdir(ep.ShmPath(9), 0o700)
	_, err = Attach(ep, 9, 64, 64, Config{})
	wantIs(t, err, netipc.ErrShmAttach)
	// A region smaller than the agreed payloads is refused.
	r, err := Create(ep, 10, 64, 64, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = Attach(ep, 10, 64, 4096, Config{})
	wantIs(t, err, netipc.ErrShmAttach)
}

func writeRegion(t testing.TB, path string, pid int32, gen uint32) {
	l, _ := LayoutForPayloads(64, 64)
	i := RegionInfo{Magic: RegionMagic, Version: 3, HeaderLen: 64, OwnerPid: pid, OwnerGeneration: gen,
		RequestOffset: l.RequestOffset, RequestCapacity: l.RequestCapacity, ResponseOffset: l.ResponseOffset, ResponseCapacity: l.ResponseCapacity}
	b := i.Encode()
	if err := os.WriteFile(path, append(b[:], make([]byte, l.MappedLen()-64)...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStaleCleanup(t *testing.T) {
	ep := endpoint(t, "svc")
	deadPid := int32(0x3ffffff0) // above pid_max
	writeRegion(t, ep.ShmPath(1), deadPid, 7)
	writeRegion(t, ep.ShmPath(2), int32(os.Getpid()), ProcessGeneration())   // live: ours
	writeRegion(t, ep.ShmPath(3), int32(os.Getpid()), ProcessGeneration()+1) // a dead predecessor with our pid
	writeRegion(t, ep.ShmPath(4), 1, 0)                                      // uninitialised
	_ = os.WriteFile(ep.ShmPath(5), []byte("junk"), 0o600)
	other := filepath.Join(ep.RunDir(), "svc-b-0000000000000001.ipcshm")
	writeRegion(t, other, deadPid, 7)
	odd := filepath.Join(ep.RunDir(), "svc-1.ipcshm")
	writeRegion(t, odd, deadPid, 7)
	n, err := CleanupStale(ep)
	if err != nil || n != 4 {
		t.Fatal(n, err)
	}
	for id, want := range map[uint64]bool{1: false, 2: true, 3: false, 4: false, 5: false} {
		if _, err := os.Stat(ep.ShmPath(id)); (err == nil) != want {
			t.Fatal(id, err)
		}
	}
	for _, p := range []string{other, odd} {
		if _, err := os.Stat(p); err != nil {
			t.Fatal("foreign file removed", p)
		}
	}
	// Create reclaims a stale file at its path and refuses a live one.
	writeRegion(t, ep.ShmPath(6), deadPid, 7)
	r, err := Create(ep, 6, 64, 64, Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Create(ep, 6, 64, 64, Config{})
	wantIs(t, err, netipc.ErrAddressInUse)
	_ = r.Close()
	if _, err := os.Stat(ep.ShmPath(6)); !os.IsNotExist(err) {
		t.Fatal("server close must remove the region")
	}
}

// A reservation that the file system refuses is a clean allocation error
// (wrapping ErrShmAllocate and the OS cause), and the file is removed.
func TestAllocationFailure(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	lim := old
	lim.Cur = 4096
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	ep := endpoint(t, "alloc")
	_, err := Create(ep, 1, 65536, 65536, Config{})
	_ = unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	wantIs(t, err, netipc.ErrShmAllocate)
	wantIs(t, err, unix.EFBIG)
	if _, err := os.Stat(ep.ShmPath(1)); !os.IsNotExist(err) {
		t.Fatal("region file left behind")
	}
}
