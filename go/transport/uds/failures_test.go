//go:build linux

package uds

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/wire"
)

func wantViolation(t testing.TB, err error, v netipc.Violation) {
	t.Helper()
	if !errors.Is(err, v) || !errors.Is(err, netipc.ErrProtocol) {
		t.Fatalf("want %v, got %v", v, err)
	}
}

func wantDecode(t testing.TB, err error, kind netipc.DecodeKind) {
	t.Helper()
	var de *netipc.DecodeError
	if !errors.As(err, &de) || de.Kind != kind {
		t.Fatalf("want decode %v, got %v", kind, err)
	}
}

func responseMsg(code uint16, id uint64, payload []byte) []byte {
	return append(wire.ResponseHeader(code, id, uint32(len(payload))).AppendTo(nil), payload...)
}

// Each malformed incoming message ends the session with the rule named.
func TestMalformedIncomingMessages(t *testing.T) {
	good := responseMsg(netipc.MethodIncrement, 1, codec.AppendIncrement(nil, 1))
	mut := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	cases := []struct {
		name  string
		pkts  [][]byte
		check func(t testing.TB, err error)
	}{
		{"bad magic", [][]byte{mut(func(b []byte) { b[0] ^= 1 })}, func(t testing.TB, err error) { wantDecode(t, err, netipc.DecodeBadMagic) }},
		{"bad version", [][]byte{mut(func(b []byte) { bin.Put16(b, 4, 2) })}, func(t testing.TB, err error) { wantDecode(t, err, netipc.DecodeBadVersion) }},
		{"bad header_len", [][]byte{mut(func(b []byte) { bin.Put16(b, 6, 16) })}, func(t testing.TB, err error) { wantDecode(t, err, netipc.DecodeBadHeaderLen) }},
		{"bad kind", [][]byte{mut(func(b []byte) { bin.Put16(b, 8, 9) })}, func(t testing.TB, err error) { wantDecode(t, err, netipc.DecodeBadKind) }},
		{"request on the response path", [][]byte{mut(func(b []byte) { bin.Put16(b, 8, netipc.KindRequest) })}, func(t testing.TB, err error) { wantViolation(t, err, netipc.ViolationUnexpectedKind) }},
		{"truncated header", [][]byte{good[:20]}, func(t testing.TB, err error) { wantDecode(t, err, netipc.DecodeTruncated) }},
		{"packet shorter than payload_len", [][]byte{good[:36]}, func(t testing.TB, err error) { wantViolation(t, err, netipc.ViolationPacketLength) }},
		{"packet longer than payload_len", [][]byte{append(append([]byte(nil), good...), 0)}, func(t testing.TB, err error) { wantViolation(t, err, netipc.ViolationPacketLength) }},
		{"payload over the limit", [][]byte{mut(func(b []byte) { bin.Put32(b, 16, 65537) })}, func(t testing.TB, err error) { wantIs(t, err, netipc.ErrLimitExceeded) }},
		{"item count over the limit", [][]byte{mut(func(b []byte) { bin.Put32(b, 20, 2) })}, func(t testing.TB, err error) { wantIs(t, err, netipc.ErrLimitExceeded) }},
		{"batch with zero items", [][]byte{mut(func(b []byte) { bin.Put16(b, 10, netipc.FlagBatch); bin.Put32(b, 20, 0) })}, func(t testing.TB, err error) { wantViolation(t, err, netipc.ViolationEmptyBatch) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := socketpair(t)
			sendRaw(t, a, c.pkts...)
			ch := rawChannel(b, true)
			_, _, err := ch.Recv(soon(), nil)
			c.check(t, err)
			if !ch.IsBroken() {
				t.Fatal("session not marked broken")
			}
			_, _, err = ch.Recv(soon(), nil)
			wantIs(t, err, netipc.ErrInvalidState)
		})
	}
}

// Every continuation chunk is validated against the message in progress.
func TestCorruptChunks(t *testing.T) {
	pk := capturedPackets(t)
	mutChunk := func(i int, f func(b []byte)) [][]byte {
		out := make([][]byte, len(pk))
		for j := range pk {
			out[j] = append([]byte(nil), pk[j]...)
		}
		f(out[i])
		return out
	}
	cases := []struct {
		name string
		pkts [][]byte
		want error
		kind netipc.DecodeKind
	}{
		{"bad chunk magic", mutChunk(1, func(b []byte) { b[0] = 0 }), nil, netipc.DecodeBadMagic},
		{"chunk flags", mutChunk(2, func(b []byte) { bin.Put16(b, 6, 1) }), nil, netipc.DecodeNonZeroReserved},
		{"other message id", mutChunk(3, func(b []byte) { bin.Put64(b, 8, 2) }), netipc.ViolationChunkMessageID, 0},
		{"index out of sequence", mutChunk(4, func(b []byte) { bin.Put32(b, 20, 5) }), netipc.ViolationChunkIndex, 0},
		{"chunk count mismatch", mutChunk(5, func(b []byte) { bin.Put32(b, 24, 15) }), netipc.ViolationChunkCount, 0},
		{"total length mismatch", mutChunk(6, func(b []byte) { bin.Put32(b, 16, 1334) }), netipc.ViolationChunkTotalLen, 0},
		{"chunk payload length mismatch", mutChunk(7, func(b []byte) { bin.Put32(b, 28, 95) }), netipc.ViolationChunkPayloadLen, 0},
		{"short continuation", append(pk[:8:8], pk[8][:100]), netipc.ViolationPacketLength, 0},
		{"first packet not full", append([][]byte{pk[0][:127]}, pk[1:]...), netipc.ViolationPacketLength, 0},
		{"chunk header truncated", append(pk[:9:9], pk[9][:20]), nil, netipc.DecodeTruncated},
		{"single packet in place of a chunk", append(pk[:2:2], responseMsg(2, 1, nil)), nil, netipc.DecodeBadMagic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := socketpair(t)
			sendRaw(t, a, c.pkts...)
			ch := rawChannel(b, true)
			_, _, err := ch.Recv(soon(), nil)
			if c.want != nil {
				wantViolation(t, err, c.want.(netipc.Violation))
			} else {
				wantDecode(t, err, c.kind)
			}
			if !ch.IsBroken() {
				t.Fatal("not broken")
			}
		})
	}
}

// A peer that disconnects in the middle of a chunked message.
func TestMidStreamDisconnect(t *testing.T) {
	a, b := socketpair(t)
	sendRaw(t, a, capturedPackets(t)[:5]...)
	_ = unix.Shutdown(a, unix.SHUT_RDWR)
	ch := rawChannel(b, true)
	_, _, err := ch.Recv(soon(), nil)
	wantIs(t, err, netipc.ErrPeerClosed)
	if !ch.IsBroken() {
		t.Fatal("not broken")
	}
}

func TestOutgoingLimitsAreLocal(t *testing.T) {
	ep := endpoint(t, "limits")
	startServer(t, ep, baseServerCfg(), incrementServe)
	c := connect(t, ep, baseClientCfg())
	err := c.SendRequest(netipc.MethodIncrement, c.NextMessageID(), make([]byte, 4097))
	wantIs(t, err, netipc.ErrLimitExceeded)
	err = c.SendBatchRequest(netipc.MethodIncrement, c.NextMessageID(), [][]byte{{1}, {2}})
	wantIs(t, err, netipc.ErrLimitExceeded) // agreed batch items: 1
	if c.IsBroken() || callIncrement(t, c, 1) != 2 {
		t.Fatal("local limit errors must not break the session")
	}
}

func TestOversizedResponseFromServer(t *testing.T) {
	ep := endpoint(t, "oversized")
	startServer(t, ep, ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 64},
		func(s *ServerSession, abort *transport.Abort) error {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			// Bypass the local check to play a hostile server.
			session.OverrideSendLimits(&s.Info, wire.Limits{MaxPayload: 1 << 20, MaxItems: s.ResponseLimits().MaxItems})
			return s.SendResponse(m.Header.Code, m.Header.MessageID, make([]byte, 100))
		})
	c := connect(t, ep, baseClientCfg())
	if c.ResponseLimits().MaxPayload != 64 {
		t.Fatal("response payload authority is the server")
	}
	_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), soon(), nil)
	var le *netipc.LimitError
	if !errors.As(err, &le) || le.Limit != netipc.LimitResponsePayload || !c.IsBroken() {
		t.Fatal(err)
	}
}

func TestHandshakeRejections(t *testing.T) {
	ep := endpoint(t, "reject")
	srv := startServer(t, ep, baseServerCfg(), incrementServe)
	cases := []struct {
		name string
		cfg  ClientConfig
		want error
	}{
		{"auth", ClientConfig{AuthToken: 1}, netipc.ErrAuthFailed},
		{"request payload over the server budget", ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 65537}, netipc.ErrLimitExceeded},
		{"profile", ClientConfig{AuthToken: testToken, SupportedProfiles: netipc.ProfileShmHybrid}, netipc.ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Connect(ep, c.cfg, soon(), nil)
			wantIs(t, err, c.want)
			var se *netipc.StatusError
			if !errors.As(err, &se) {
				t.Fatal("not a StatusError")
			}
		})
	}
	// Session ids advance on rejected connections too.
	c := connect(t, ep, baseClientCfg())
	if c.SessionID() != 4 {
		t.Fatal(c.SessionID())
	}
	// The response cap: a client refuses a grant above it.
	_, err := Connect(ep, ClientConfig{AuthToken: testToken, ResponsePayloadCap: 4096}, soon(), nil)
	wantIs(t, err, netipc.ErrLimitExceeded)
	_ = srv
}

// Raw HELLOs: each handshake field individually.
func TestHandshakeFieldsRaw(t *testing.T) {
	ep := endpoint(t, "fields")
	cfg := baseServerCfg()
	cfg.PacketSize = 4096
	startServer(t, ep, cfg, incrementServe)
	good := wire.Hello{SupportedProfiles: 1, PreferredProfiles: 1, MaxRequestPayloadBytes: 100, MaxRequestBatchItems: 7,
		MaxResponsePayloadBytes: 5, MaxResponseBatchItems: 3, AuthToken: testToken, PacketSize: 65536}
	exchange := func(msg []byte) (wire.Header, wire.HelloAck, error) {
		fd, err := connectPath(ep.SocketPath(), soon(), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		sendRaw(t, fd, msg)
		buf := make([]byte, 256)
		n, _, err := recvPacketT(fd, buf)
		if err != nil {
			return wire.Header{}, wire.HelloAck{}, err
		}
		h, _ := wire.DecodeHeader(buf[:n])
		a, _ := wire.DecodeHelloAck(buf[32:n])
		return h, a, nil
	}
	m := EncodeHelloMsg(good)
	h, a, err := exchange(m[:])
	if err != nil || h.TransportStatus != 0 {
		t.Fatal(err, h)
	}
	if a.AgreedMaxRequestPayloadBytes != 100 || a.AgreedMaxRequestBatchItems != 7 || a.AgreedMaxResponseBatchItems != 7 ||
		a.AgreedMaxResponsePayloadBytes != 65536 || a.AgreedPacketSize != 4096 || a.SelectedProfile != 1 || a.IntersectionProfiles != 1 {
		t.Fatalf("%+v", a)
	}
	bad := func(f func(b []byte)) []byte { b := m; f(b[:]); return append([]byte(nil), b[:]...) }
	for _, c := range []struct {
		name   string
		msg    []byte
		status uint16
	}{
		{"layout version", bad(func(b []byte) { bin.Put16(b, 32, 2) }), netipc.StatusIncompatible},
		{"header version", bad(func(b []byte) { bin.Put16(b, 4, 2) }), netipc.StatusIncompatible},
		{"flags", bad(func(b []byte) { bin.Put16(b, 34, 1) }), netipc.StatusBadEnvelope},
		{"packet size 32", bad(func(b []byte) { bin.Put32(b, 72, 32) }), netipc.StatusIncompatible},
	} {
		h, a, err := exchange(c.msg)
		if err != nil || h.TransportStatus != c.status || h.PayloadLen != 48 || a != (wire.HelloAck{}) {
			t.Fatalf("%s: %v %+v", c.name, err, h)
		}
	}
	// Malformed HELLOs are closed without an answer.
	for name, msg := range map[string][]byte{
		"truncated":  m[:40],
		"bad magic":  bad(func(b []byte) { b[0] = 0 }),
		"wrong kind": bad(func(b []byte) { bin.Put16(b, 8, netipc.KindRequest) }),
		"wrong code": bad(func(b []byte) { bin.Put16(b, 12, netipc.CodeHelloAck) }),
		"over-long":  append(append([]byte(nil), m[:]...), 0),
	} {
		if _, _, err := exchange(msg); !errors.Is(err, netipc.ErrPeerClosed) {
			t.Fatalf("%s: %v", name, err)
		}
	}
}

func recvPacketT(fd int, buf []byte) (int, int, error) {
	return sysRecv(fd, buf)
}

func TestProfileSelection(t *testing.T) {
	ep := endpoint(t, "profiles")
	scfg := baseServerCfg()
	scfg.SupportedProfiles = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	scfg.PreferredProfiles = netipc.ProfileBaseline
	startServer(t, ep, scfg, incrementServe)
	// Client prefers SHM, server prefers baseline: no common preference,
	// highest bit of the intersection.
	c := connect(t, ep, shmClientCfg())
	if !c.IsShm() || c.HelloAck().IntersectionProfiles != 3 {
		t.Fatal(c.HelloAck())
	}
	c2 := connect(t, ep, ClientConfig{AuthToken: testToken, SupportedProfiles: 3, PreferredProfiles: 1})
	if c2.IsShm() {
		t.Fatal("common preference baseline")
	}
	if callIncrement(t, c, 5) != 6 || callIncrement(t, c2, 6) != 7 {
		t.Fatal("calls")
	}
}

func TestNotFoundAndConfigErrors(t *testing.T) {
	ep := endpoint(t, "nobody")
	_, err := Connect(ep, baseClientCfg(), soon(), nil)
	wantIs(t, err, netipc.ErrNotFound)
	_, err = Connect(ep, ClientConfig{SupportedProfiles: netipc.ProfileShmFutex}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	_, err = Connect(ep, ClientConfig{MaxResponsePayloadBytes: 10, ResponsePayloadCap: 5}, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	if _, err := transport.NewEndpoint(t.TempDir(), "a/b"); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
	long := "/" + string(bytes.Repeat([]byte("d"), 100))
	if _, err := transport.NewEndpoint(long, "svc"); !errors.Is(err, netipc.ErrInvalidArgument) {
		t.Fatal(err)
	}
}

func TestSocketModeAndStaleRecovery(t *testing.T) {
	ep := endpoint(t, "stale")
	// A dead server's socket: bound, then closed without unlink.
	fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET, 0)
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: ep.SocketPath()}); err != nil {
		t.Fatal(err)
	}
	_ = unix.Close(fd)
	srv := startServer(t, ep, baseServerCfg(), incrementServe)
	st, err := os.Lstat(ep.SocketPath())
	if err != nil || st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSocket == 0 {
		t.Fatal(err, st.Mode())
	}
	c := connect(t, ep, baseClientCfg())
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
	// A live server: address in use, and its socket survives.
	_, err = Listen(ep)
	wantIs(t, err, netipc.ErrAddressInUse)
	if callIncrement(t, connect(t, ep, baseClientCfg()), 2) != 3 {
		t.Fatal("live server disturbed")
	}
	srv.stop()
	if _, err := os.Lstat(ep.SocketPath()); !os.IsNotExist(err) {
		t.Fatal("socket not removed on close")
	}
	// Junk at the socket name is reclaimed; a directory is not.
	if err := os.WriteFile(ep.SocketPath(), []byte("junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.Symlink("/nonexistent/x", ep.SocketPath()); err != nil {
		t.Fatal(err)
	}
	l, err = Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close()
	if err := os.Mkdir(ep.SocketPath(), 0o700); err != nil {
		t.Fatal(err)
	}
	_, err = Listen(ep)
	wantIs(t, err, netipc.ErrAddressInUse)
	// No private directory is left behind.
	entries, _ := os.ReadDir(ep.RunDir())
	if len(entries) != 1 {
		t.Fatal(entries)
	}
}

func TestDuplicateAndUnknownMessageIDs(t *testing.T) {
	ep := endpoint(t, "ids")
	release := make(chan struct{})
	startServer(t, ep, ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 4096},
		func(s *ServerSession, abort *transport.Abort) error {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			<-release
			// Answer an id that is not in flight.
			return s.SendResponse(m.Header.Code, m.Header.MessageID+100, codec.AppendIncrement(nil, 0))
		})
	c := connect(t, ep, baseClientCfg())
	p := codec.AppendIncrement(nil, 1)
	if err := c.SendRequest(netipc.MethodIncrement, 7, p); err != nil {
		t.Fatal(err)
	}
	wantViolation(t, c.SendRequest(netipc.MethodIncrement, 7, p), netipc.ViolationDuplicateMessageID)
	if c.IsBroken() || len(c.InFlight()) != 1 {
		t.Fatal("duplicate submission must be rejected locally")
	}
	close(release)
	_, err := c.RecvResponse(soon(), nil)
	wantViolation(t, err, netipc.ViolationUnknownMessageID)
	if !c.IsBroken() || len(c.FailedMessageIDs()) != 1 || c.FailedMessageIDs()[0] != 7 {
		t.Fatal("in-flight ids must be reported failed")
	}
}

// Responses may come back in any order; they are matched by id.
func TestPipeliningOutOfOrder(t *testing.T) {
	ep := endpoint(t, "pipeline")
	startServer(t, ep, baseServerCfg(), func(s *ServerSession, abort *transport.Abort) error {
		for {
			var ids []uint64
			var vals []uint64
			for range 5 {
				m, err := s.RecvRequest(time.Time{}, abort)
				if err != nil {
					return err
				}
				v, _ := codec.DecodeIncrement(m.Payload)
				ids, vals = append(ids, m.Header.MessageID), append(vals, v)
			}
			for i := len(ids) - 1; i >= 0; i-- {
				if err := s.SendResponse(netipc.MethodIncrement, ids[i], codec.AppendIncrement(nil, vals[i]+1)); err != nil {
					return err
				}
			}
		}
	})
	c := connect(t, ep, baseClientCfg())
	for round := range 3 {
		want := map[uint64]uint64{}
		for i := range 5 {
			id := c.NextMessageID()
			v := uint64(round*100 + i)
			want[id] = v + 1
			if err := c.SendRequest(netipc.MethodIncrement, id, codec.AppendIncrement(nil, v)); err != nil {
				t.Fatal(err)
			}
		}
		var order []uint64
		for range 5 {
			m, err := c.RecvResponse(soon(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := codec.DecodeIncrement(m.Payload)
			if want[m.Header.MessageID] != got {
				t.Fatal("mismatched response")
			}
			order = append(order, m.Header.MessageID)
		}
		if order[0] < order[4] {
			t.Fatal("responses were not reordered", order)
		}
		if len(c.InFlight()) != 0 {
			t.Fatal("in flight left")
		}
	}
}

func TestInFlightLimit(t *testing.T) {
	ep := endpoint(t, "inflight")
	startServer(t, ep, baseServerCfg(), incrementServe)
	cfg := baseClientCfg()
	cfg.MaxInFlight = 2
	c := connect(t, ep, cfg)
	p := codec.AppendIncrement(nil, 1)
	_ = c.SendRequest(netipc.MethodIncrement, 1, p)
	_ = c.SendRequest(netipc.MethodIncrement, 2, p)
	err := c.SendRequest(netipc.MethodIncrement, 3, p)
	var le *netipc.LimitError
	if !errors.As(err, &le) || le.Limit != netipc.LimitLocal || c.IsBroken() {
		t.Fatal(err)
	}
	_, err = c.Call(netipc.MethodIncrement, p, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidState)
}

func TestBatches(t *testing.T) {
	ep := endpoint(t, "batch")
	cfg := baseServerCfg()
	startServer(t, ep, cfg, incrementServe)
	ccfg := baseClientCfg()
	ccfg.MaxRequestBatchItems = 1000
	ccfg.MaxRequestPayloadBytes = 65536
	c := connect(t, ep, ccfg)
	if c.ResponseLimits().MaxItems != 1000 {
		t.Fatal("batch items symmetric")
	}
	for _, n := range []int{1, 2, 999, 1000} {
		items := make([][]byte, n)
		for i := range items {
			items[i] = codec.AppendIncrement(nil, uint64(i))
		}
		m, err := c.CallBatch(netipc.MethodIncrement, items, soon(), nil)
		if err != nil {
			t.Fatal(n, err)
		}
		if m.ItemCount() != n || m.IsBatch() != (n > 1) {
			t.Fatal(n, m.ItemCount())
		}
		for i := range n {
			it, _ := m.Item(i)
			if v, _ := codec.DecodeIncrement(it); v != uint64(i+1) {
				t.Fatal("item", i)
			}
		}
	}
	items := make([][]byte, 1001)
	for i := range items {
		items[i] = codec.AppendIncrement(nil, 0)
	}
	_, err := c.CallBatch(netipc.MethodIncrement, items, soon(), nil)
	wantIs(t, err, netipc.ErrLimitExceeded)
	_, err = c.CallBatch(netipc.MethodIncrement, nil, soon(), nil)
	wantIs(t, err, netipc.ErrInvalidArgument)
	// UNSUPPORTED keeps the session.
	m, err := c.Call(99, []byte{1}, soon(), nil)
	if err != nil || m.Header.TransportStatus != netipc.StatusUnsupported || m.IsOK() {
		t.Fatal(err)
	}
	if callIncrement(t, c, 9) != 10 {
		t.Fatal("session lost")
	}
}

// An over-limit request reaches a server as a LimitError; the server can
// answer it with a final LIMIT_EXCEEDED before closing.
func TestServerReceivesOverLimitRequest(t *testing.T) {
	a, b := socketpair(t)
	srv := new(ServerSession)
	session.InitServer(&srv.serverCore, rawAck, session.SocketConn(b), nil)
	msg := append(wire.RequestHeader(netipc.MethodIncrement, 5, 5000).AppendTo(nil), make([]byte, 5000)...)
	sendRaw(t, a, msg[:128])
	_, err := srv.RecvRequest(soon(), nil)
	wantIs(t, err, netipc.ErrLimitExceeded)
	if err := srv.SendFinalError(netipc.StatusLimitExceeded); err != nil {
		t.Fatal(err)
	}
	got := recvRaw(t, a)
	h, _ := wire.DecodeHeader(got)
	if h.TransportStatus != netipc.StatusLimitExceeded || h.MessageID != 5 || len(got) != 32 || h.ItemCount != 1 {
		t.Fatal(h)
	}
}

func TestConcurrentSessions(t *testing.T) {
	for _, shm := range []bool{false, true} {
		t.Run(fmt.Sprintf("shm=%v", shm), func(t *testing.T) {
			ep := endpoint(t, "many")
			scfg, ccfg := baseServerCfg(), baseClientCfg()
			if shm {
				scfg, ccfg = shmServerCfg(), shmClientCfg()
			}
			startServer(t, ep, scfg, incrementServe)
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for g := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := Connect(ep, ccfg, soon(), nil)
					if err != nil {
						errs <- err
						return
					}
					defer c.Close()
					if c.IsShm() != shm {
						errs <- fmt.Errorf("profile")
						return
					}
					for i := range 50 {
						v := uint64(g*1000 + i)
						m, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, v), soon(), nil)
						if err != nil {
							errs <- err
							return
						}
						if got, _ := codec.DecodeIncrement(m.Payload); got != v+1 {
							errs <- fmt.Errorf("wrong answer")
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
		})
	}
}

// A client that connects and says nothing never stalls the acceptor:
// other clients are served, and its handshake times out.
func TestSilentPeerDoesNotStallAcceptor(t *testing.T) {
	ep := endpoint(t, "silent")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	silent, err := connectPath(ep.SocketPath(), soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(silent)
	p, err := l.Accept(soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p.Handshake(baseServerCfg(), time.Now().Add(200*time.Millisecond), nil)
		done <- err
	}()
	// Meanwhile another client gets through.
	go func() {
		p2, err := l.Accept(soon(), nil)
		if err != nil {
			return
		}
		s, err := p2.Handshake(baseServerCfg(), soon(), nil)
		if err == nil {
			_ = incrementServe(s, nil)
			_ = s.Close()
		}
	}()
	c := connect(t, ep, baseClientCfg())
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
	wantIs(t, <-done, netipc.ErrTimeout)
	// Garbage instead of a HELLO fails the handshake, never the process.
	junk, _ := connectPath(ep.SocketPath(), soon(), nil)
	defer unix.Close(junk)
	sendRaw(t, junk, []byte("GET / HTTP/1.0\r\n\r\n"))
	p3, err := l.Accept(soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p3.Handshake(baseServerCfg(), soon(), nil)
	wantIs(t, err, netipc.ErrProtocol)
}

func TestTimeoutAndAbort(t *testing.T) {
	for _, shm := range []bool{false, true} {
		t.Run(fmt.Sprintf("shm=%v", shm), func(t *testing.T) {
			ep := endpoint(t, "slow")
			scfg, ccfg := baseServerCfg(), baseClientCfg()
			if shm {
				scfg, ccfg = shmServerCfg(), shmClientCfg()
			}
			gate := make(chan struct{})
			startServer(t, ep, scfg, func(s *ServerSession, abort *transport.Abort) error {
				for {
					m, err := s.RecvRequest(time.Time{}, abort)
					if err != nil {
						return err
					}
					select {
					case <-gate:
					case <-time.After(10 * time.Second):
					}
					if err := s.SendResponse(m.Header.Code, m.Header.MessageID, m.Payload); err != nil {
						return err
					}
				}
			})
			c := connect(t, ep, ccfg)
			if c.IsShm() != shm {
				t.Fatal("profile")
			}
			start := time.Now()
			_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), time.Now().Add(50*time.Millisecond), nil)
			wantIs(t, err, netipc.ErrTimeout)
			if time.Since(start) > 5*time.Second {
				t.Fatal("timeout too late")
			}
			// The request is still in flight; the session is usable and
			// the late answer can still be received.
			if c.IsBroken() {
				t.Fatal("timeout broke the session")
			}
			abort, _ := transport.NewAbort()
			defer abort.Close()
			go func() {
				time.Sleep(20 * time.Millisecond)
				abort.Trigger()
			}()
			_, err = c.RecvResponse(soon(), abort)
			wantIs(t, err, netipc.ErrAborted)
			// Sticky until cleared.
			_, err = c.RecvResponse(soon(), abort)
			wantIs(t, err, netipc.ErrAborted)
			abort.Clear()
			close(gate)
			m, err := c.RecvResponse(soon(), abort)
			if err != nil || m.Header.MessageID != 1 {
				t.Fatal(err)
			}
		})
	}
}

func TestAcceptTimeoutAndAbort(t *testing.T) {
	ep := endpoint(t, "accept")
	l, err := Listen(ep)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = l.Accept(time.Now().Add(20*time.Millisecond), nil)
	wantIs(t, err, netipc.ErrTimeout)
	abort, _ := transport.NewAbort()
	defer abort.Close()
	abort.Trigger()
	_, err = l.Accept(time.Time{}, abort)
	wantIs(t, err, netipc.ErrAborted)
	if p, err := l.TryAccept(); p != nil || err != nil {
		t.Fatal(p, err)
	}
}

func TestServerClosesMidSession(t *testing.T) {
	ep := endpoint(t, "closing")
	startServer(t, ep, baseServerCfg(), func(s *ServerSession, abort *transport.Abort) error {
		_, err := s.RecvRequest(time.Time{}, abort)
		return err // close without answering
	})
	c := connect(t, ep, baseClientCfg())
	_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), soon(), nil)
	wantIs(t, err, netipc.ErrPeerClosed)
	if !c.IsBroken() {
		t.Fatal("not broken")
	}
	_, err = c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), soon(), nil)
	wantIs(t, err, netipc.ErrInvalidState)
}

func TestLargeChunkedMessages(t *testing.T) {
	ep := endpoint(t, "large")
	cfg := ServerConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4 << 20, MaxResponsePayloadBytes: 4 << 20, PacketSize: 4096}
	startServer(t, ep, cfg, incrementServe)
	c := connect(t, ep, ClientConfig{AuthToken: testToken, MaxRequestPayloadBytes: 4 << 20, MaxResponsePayloadBytes: 4 << 20})
	text := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16)
	p, _ := codec.AppendStringReverse(nil, text)
	m, err := c.Call(netipc.MethodStringReverse, p, soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeStringReverse(m.Payload)
	if err != nil || len(v.Text) != len(text) || v.Text[0] != 'f' {
		t.Fatal(err)
	}
}

// The server cannot create the SHM region (the reservation fails): it
// continues the session on the baseline, never claiming SHM.
func TestShmCreateFailureFallsBackToBaseline(t *testing.T) {
	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	ep := endpoint(t, "nofalloc")
	startServer(t, ep, shmServerCfg(), incrementServe)
	lim := old
	lim.Cur = 4096
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		t.Skip(err)
	}
	c, err := Connect(ep, shmClientCfg(), soon(), nil)
	_ = unix.Setrlimit(unix.RLIMIT_FSIZE, &old)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.IsShm() || c.SelectedProfile() != netipc.ProfileBaseline || c.HelloAck().IntersectionProfiles != 3 {
		t.Fatal(c.HelloAck())
	}
	if callIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
}
