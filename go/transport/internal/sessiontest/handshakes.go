//go:build linux || windows

package sessiontest

import (
	"errors"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/wire"
)

// Handshake and accept tests (listed in failureTests).

func testHandshakeRejections(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "reject")
	srv := h.StartServer(t, ep, BaseServerCfg(), IncrementServe)
	cases := []struct {
		name string
		cfg  Config
		want error
	}{
		{"auth", Config{AuthToken: 1}, netipc.ErrAuthFailed},
		{"request payload over the server budget", Config{AuthToken: Token, MaxRequestPayloadBytes: 65537}, netipc.ErrLimitExceeded},
		{"profile", Config{AuthToken: Token, SupportedProfiles: netipc.ProfileShmHybrid}, netipc.ErrUnsupported},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.Connect(ep, c.cfg, Soon(), nil)
			WantIs(t, err, c.want)
			var se *netipc.StatusError
			if !errors.As(err, &se) {
				t.Fatal("not a StatusError")
			}
		})
	}
	// Session ids advance on rejected connections too.
	c := h.connect(t, ep, BaseClientCfg())
	if c.SessionID() != 4 {
		t.Fatal(c.SessionID())
	}
	// The response cap: a client refuses a grant above it.
	_, err := h.Connect(ep, Config{AuthToken: Token, ResponsePayloadCap: 4096}, Soon(), nil)
	WantIs(t, err, netipc.ErrLimitExceeded)
	_ = srv
}

// Raw HELLOs: each handshake field individually.
func testHandshakeFieldsRaw(t *testing.T, hs *Harness) {
	ep := hs.Endpoint(t, "fields")
	cfg := BaseServerCfg()
	cfg.PacketSize = 4096
	hs.StartServer(t, ep, cfg, IncrementServe)
	good := wire.Hello{SupportedProfiles: 1, PreferredProfiles: 1, MaxRequestPayloadBytes: 100, MaxRequestBatchItems: 7,
		MaxResponsePayloadBytes: 5, MaxResponseBatchItems: 3, AuthToken: Token, PacketSize: 65536}
	exchange := func(msg []byte) (wire.Header, wire.HelloAck, error) {
		r := hs.Dial(t, ep)
		defer r.Hangup()
		SendRaw(t, r, msg)
		buf := make([]byte, 256)
		n, _, err := r.Recv(buf)
		if err != nil {
			return wire.Header{}, wire.HelloAck{}, err
		}
		h, _ := wire.DecodeHeader(buf[:n])
		a, _ := wire.DecodeHelloAck(buf[32:n])
		return h, a, nil
	}
	m := session.EncodeHelloMsg(good)
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

func testProfileSelection(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "profiles")
	scfg := BaseServerCfg()
	scfg.SupportedProfiles = netipc.ProfileBaseline | netipc.ProfileShmHybrid
	scfg.PreferredProfiles = netipc.ProfileBaseline
	h.StartServer(t, ep, scfg, IncrementServe)
	// Client prefers SHM, server prefers baseline: no common preference,
	// highest bit of the intersection.
	_, shmClient := ProfileCfgs(netipc.ProfileShmHybrid)
	c := h.connect(t, ep, shmClient)
	if !c.IsShm() || c.HelloAck().IntersectionProfiles != 3 {
		t.Fatal(c.HelloAck())
	}
	c2 := h.connect(t, ep, Config{AuthToken: Token, SupportedProfiles: 3, PreferredProfiles: 1})
	if c2.IsShm() {
		t.Fatal("common preference baseline")
	}
	if CallIncrement(t, c, 5) != 6 || CallIncrement(t, c2, 6) != 7 {
		t.Fatal("calls")
	}
}

// A client that connects and says nothing never stalls the acceptor:
// other clients are served, and its handshake times out.
func testSilentPeerDoesNotStallAcceptor(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "silent")
	l := h.Listen(t, ep)
	h.Dial(t, ep) // says nothing
	p, err := l.Accept(Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := p(BaseServerCfg(), time.Now().Add(200*time.Millisecond), nil)
		done <- err
	}()
	// Meanwhile another client gets through.
	go func() {
		p2, err := l.Accept(Soon(), nil)
		if err != nil {
			return
		}
		s, err := p2(BaseServerCfg(), Soon(), nil)
		if err == nil {
			_ = IncrementServe(s, nil)
			_ = s.Close()
		}
	}()
	c := h.connect(t, ep, BaseClientCfg())
	if CallIncrement(t, c, 1) != 2 {
		t.Fatal("call")
	}
	WantIs(t, <-done, netipc.ErrTimeout)
	// Garbage instead of a HELLO fails the handshake, never the process.
	SendRaw(t, h.Dial(t, ep), []byte("GET / HTTP/1.0\r\n\r\n"))
	p3, err := l.Accept(Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = p3(BaseServerCfg(), Soon(), nil)
	WantIs(t, err, netipc.ErrProtocol)
}

func testAcceptTimeoutAndAbort(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "accept")
	l := h.Listen(t, ep)
	_, err := l.Accept(time.Now().Add(20*time.Millisecond), nil)
	WantIs(t, err, netipc.ErrTimeout)
	abort, _ := transport.NewAbort()
	defer abort.Close()
	abort.Trigger()
	_, err = l.Accept(time.Time{}, abort)
	WantIs(t, err, netipc.ErrAborted)
}
