//go:build linux || windows

package sessiontest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/internal/bin"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/session"
	"netipc.local/netipc/wire"
)

// namedTest is one shared test.
type namedTest struct {
	name string
	test func(*testing.T, *Harness)
}

// Run runs every shared test over h, each as a subtest.
func Run(t *testing.T, h *Harness) {
	for _, c := range append(conformanceTests, failureTests...) {
		t.Run(c.name, func(t *testing.T) { c.test(t, h) })
	}
}

// failureTests check how sessions fail, and the session rules.
var failureTests = []namedTest{
	{"MalformedIncomingMessages", testMalformedIncomingMessages},
	{"CorruptChunks", testCorruptChunks},
	{"MidStreamDisconnect", testMidStreamDisconnect},
	{"OutgoingLimitsAreLocal", testOutgoingLimitsAreLocal},
	{"OversizedResponseFromServer", testOversizedResponseFromServer},
	{"HandshakeRejections", testHandshakeRejections},
	{"HandshakeFieldsRaw", testHandshakeFieldsRaw},
	{"ProfileSelection", testProfileSelection},
	{"DuplicateAndUnknownMessageIDs", testDuplicateAndUnknownMessageIDs},
	{"PipeliningOutOfOrder", testPipeliningOutOfOrder},
	{"PipeliningPastTheBuffers", testPipeliningPastTheBuffers},
	{"InFlightLimit", testInFlightLimit},
	{"Batches", testBatches},
	{"ServerReceivesOverLimitRequest", testServerReceivesOverLimitRequest},
	{"ConcurrentSessions", testConcurrentSessions},
	{"TimeoutAndAbort", testTimeoutAndAbort},
	{"ServerClosesMidSession", testServerClosesMidSession},
	{"LargeChunkedMessages", testLargeChunkedMessages},
	{"SilentPeerDoesNotStallAcceptor", testSilentPeerDoesNotStallAcceptor},
	{"AcceptTimeoutAndAbort", testAcceptTimeoutAndAbort},
}

// Each malformed incoming message ends the session with the rule named.
func testMalformedIncomingMessages(t *testing.T, h *Harness) {
	good := ResponseMsg(netipc.MethodIncrement, 1, codec.AppendIncrement(nil, 1))
	mut := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
	cases := []struct {
		name  string
		pkts  [][]byte
		check func(t testing.TB, err error)
	}{
		{"bad magic", [][]byte{mut(func(b []byte) { b[0] ^= 1 })}, func(t testing.TB, err error) { WantDecode(t, err, netipc.DecodeBadMagic) }},
		{"bad version", [][]byte{mut(func(b []byte) { bin.Put16(b, 4, 2) })}, func(t testing.TB, err error) { WantDecode(t, err, netipc.DecodeBadVersion) }},
		{"bad header_len", [][]byte{mut(func(b []byte) { bin.Put16(b, 6, 16) })}, func(t testing.TB, err error) { WantDecode(t, err, netipc.DecodeBadHeaderLen) }},
		{"bad kind", [][]byte{mut(func(b []byte) { bin.Put16(b, 8, 9) })}, func(t testing.TB, err error) { WantDecode(t, err, netipc.DecodeBadKind) }},
		{"request on the response path", [][]byte{mut(func(b []byte) { bin.Put16(b, 8, netipc.KindRequest) })}, func(t testing.TB, err error) { WantViolation(t, err, netipc.ViolationUnexpectedKind) }},
		{"truncated header", [][]byte{good[:20]}, func(t testing.TB, err error) { WantDecode(t, err, netipc.DecodeTruncated) }},
		{"packet shorter than payload_len", [][]byte{good[:36]}, func(t testing.TB, err error) { WantViolation(t, err, netipc.ViolationPacketLength) }},
		{"packet longer than payload_len", [][]byte{append(append([]byte(nil), good...), 0)}, func(t testing.TB, err error) { WantViolation(t, err, netipc.ViolationPacketLength) }},
		{"payload over the limit", [][]byte{mut(func(b []byte) { bin.Put32(b, 16, 65537) })}, func(t testing.TB, err error) { WantIs(t, err, netipc.ErrLimitExceeded) }},
		{"item count over the limit", [][]byte{mut(func(b []byte) { bin.Put32(b, 20, 2) })}, func(t testing.TB, err error) { WantIs(t, err, netipc.ErrLimitExceeded) }},
		{"batch with zero items", [][]byte{mut(func(b []byte) { bin.Put16(b, 10, netipc.FlagBatch); bin.Put32(b, 20, 0) })}, func(t testing.TB, err error) { WantViolation(t, err, netipc.ViolationEmptyBatch) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := h.Pair(t)
			SendRaw(t, a, c.pkts...)
			ch := session.NewChannel(b, RawAck, true)
			_, _, err := ch.Recv(Soon(), nil)
			c.check(t, err)
			if !ch.IsBroken() {
				t.Fatal("session not marked broken")
			}
			_, _, err = ch.Recv(Soon(), nil)
			WantIs(t, err, netipc.ErrInvalidState)
		})
	}
}

// Every continuation chunk is validated against the message in progress.
func testCorruptChunks(t *testing.T, h *Harness) {
	pk := CapturedPackets(t)
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
		{"single packet in place of a chunk", append(pk[:2:2], ResponseMsg(2, 1, nil)), nil, netipc.DecodeBadMagic},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := h.Pair(t)
			SendRaw(t, a, c.pkts...)
			ch := session.NewChannel(b, RawAck, true)
			_, _, err := ch.Recv(Soon(), nil)
			if c.want != nil {
				WantViolation(t, err, c.want.(netipc.Violation))
			} else {
				WantDecode(t, err, c.kind)
			}
			if !ch.IsBroken() {
				t.Fatal("not broken")
			}
		})
	}
}

// A peer that disconnects in the middle of a chunked message.
func testMidStreamDisconnect(t *testing.T, h *Harness) {
	a, b := h.Pair(t)
	SendRaw(t, a, CapturedPackets(t)[:5]...)
	a.Hangup()
	ch := session.NewChannel(b, RawAck, true)
	_, _, err := ch.Recv(Soon(), nil)
	WantIs(t, err, netipc.ErrPeerClosed)
	if !ch.IsBroken() {
		t.Fatal("not broken")
	}
}

func testOutgoingLimitsAreLocal(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "limits")
	h.StartServer(t, ep, BaseServerCfg(), IncrementServe)
	c := h.connect(t, ep, BaseClientCfg())
	err := c.SendRequest(netipc.MethodIncrement, c.NextMessageID(), make([]byte, 4097))
	WantIs(t, err, netipc.ErrLimitExceeded)
	err = c.SendBatchRequest(netipc.MethodIncrement, c.NextMessageID(), [][]byte{{1}, {2}})
	WantIs(t, err, netipc.ErrLimitExceeded) // agreed batch items: 1
	if c.IsBroken() || CallIncrement(t, c, 1) != 2 {
		t.Fatal("local limit errors must not break the session")
	}
}

func testOversizedResponseFromServer(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "oversized")
	h.StartServer(t, ep, Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 64},
		func(s *session.Server, abort *transport.Abort) error {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			// Bypass the local check to play a hostile server.
			session.OverrideSendLimits(&s.Info, wire.Limits{MaxPayload: 1 << 20, MaxItems: s.ResponseLimits().MaxItems})
			return s.SendResponse(m.Header.Code, m.Header.MessageID, make([]byte, 100))
		})
	c := h.connect(t, ep, BaseClientCfg())
	if c.ResponseLimits().MaxPayload != 64 {
		t.Fatal("response payload authority is the server")
	}
	_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), Soon(), nil)
	var le *netipc.LimitError
	if !errors.As(err, &le) || le.Limit != netipc.LimitResponsePayload || !c.IsBroken() {
		t.Fatal(err)
	}
}

func testDuplicateAndUnknownMessageIDs(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "ids")
	release := make(chan struct{})
	h.StartServer(t, ep, Config{AuthToken: Token, MaxRequestPayloadBytes: 4096, MaxResponsePayloadBytes: 4096},
		func(s *session.Server, abort *transport.Abort) error {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			<-release
			// Answer an id that is not in flight.
			return s.SendResponse(m.Header.Code, m.Header.MessageID+100, codec.AppendIncrement(nil, 0))
		})
	c := h.connect(t, ep, BaseClientCfg())
	p := codec.AppendIncrement(nil, 1)
	if err := c.SendRequest(netipc.MethodIncrement, 7, p); err != nil {
		t.Fatal(err)
	}
	WantViolation(t, c.SendRequest(netipc.MethodIncrement, 7, p), netipc.ViolationDuplicateMessageID)
	if c.IsBroken() || len(c.InFlight()) != 1 {
		t.Fatal("duplicate submission must be rejected locally")
	}
	close(release)
	// Received into a Message that held something: a failed receive
	// leaves it zero.
	m := session.Message{Header: wire.RequestHeader(1, 1, 1), Payload: p}
	d := transport.DeadlineAt(Soon())
	err := c.RecvResponseInto(&m, &d, nil)
	WantViolation(t, err, netipc.ViolationUnknownMessageID)
	if m.Header != (wire.Header{}) || m.Payload != nil || m.IsBatch() {
		t.Fatalf("a failed receive left %+v", m)
	}
	if !c.IsBroken() || len(c.FailedMessageIDs()) != 1 || c.FailedMessageIDs()[0] != 7 {
		t.Fatal("in-flight ids must be reported failed")
	}
}

// Responses may come back in any order; they are matched by id.
func testPipeliningOutOfOrder(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "pipeline")
	h.StartServer(t, ep, BaseServerCfg(), func(s *session.Server, abort *transport.Abort) error {
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
	c := h.connect(t, ep, BaseClientCfg())
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
			m, err := c.RecvResponse(Soon(), nil)
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

func testInFlightLimit(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "inflight")
	h.StartServer(t, ep, BaseServerCfg(), IncrementServe)
	cfg := BaseClientCfg()
	cfg.MaxInFlight = 2
	c := h.connect(t, ep, cfg)
	p := codec.AppendIncrement(nil, 1)
	_ = c.SendRequest(netipc.MethodIncrement, 1, p)
	_ = c.SendRequest(netipc.MethodIncrement, 2, p)
	err := c.SendRequest(netipc.MethodIncrement, 3, p)
	var le *netipc.LimitError
	if !errors.As(err, &le) || le.Limit != netipc.LimitLocal || c.IsBroken() {
		t.Fatal(err)
	}
	_, err = c.Call(netipc.MethodIncrement, p, Soon(), nil)
	WantIs(t, err, netipc.ErrInvalidState)
}

func testBatches(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "batch")
	cfg := BaseServerCfg()
	h.StartServer(t, ep, cfg, IncrementServe)
	ccfg := BaseClientCfg()
	ccfg.MaxRequestBatchItems = 1000
	ccfg.MaxRequestPayloadBytes = 65536
	c := h.connect(t, ep, ccfg)
	if c.ResponseLimits().MaxItems != 1000 {
		t.Fatal("batch items symmetric")
	}
	for _, n := range []int{1, 2, 999, 1000} {
		items := make([][]byte, n)
		for i := range items {
			items[i] = codec.AppendIncrement(nil, uint64(i))
		}
		m, err := c.CallBatch(netipc.MethodIncrement, items, Soon(), nil)
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
	_, err := c.CallBatch(netipc.MethodIncrement, items, Soon(), nil)
	WantIs(t, err, netipc.ErrLimitExceeded)
	_, err = c.CallBatch(netipc.MethodIncrement, nil, Soon(), nil)
	WantIs(t, err, netipc.ErrInvalidArgument)
	// UNSUPPORTED keeps the session.
	m, err := c.Call(99, []byte{1}, Soon(), nil)
	if err != nil || m.Header.TransportStatus != netipc.StatusUnsupported || m.IsOK() {
		t.Fatal(err)
	}
	if CallIncrement(t, c, 9) != 10 {
		t.Fatal("session lost")
	}
}

// An over-limit request reaches a server as a LimitError; the server can
// answer it with a final LIMIT_EXCEEDED before closing.
func testServerReceivesOverLimitRequest(t *testing.T, hs *Harness) {
	a, b := hs.Pair(t)
	srv := new(session.Server)
	session.InitServer(srv, RawAck, b, nil)
	msg := append(wire.RequestHeader(netipc.MethodIncrement, 5, 5000).AppendTo(nil), make([]byte, 5000)...)
	SendRaw(t, a, msg[:128])
	_, err := srv.RecvRequest(Soon(), nil)
	WantIs(t, err, netipc.ErrLimitExceeded)
	if err := srv.SendFinalError(netipc.StatusLimitExceeded); err != nil {
		t.Fatal(err)
	}
	got := RecvRaw(t, a)
	h, _ := wire.DecodeHeader(got)
	if h.TransportStatus != netipc.StatusLimitExceeded || h.MessageID != 5 || len(got) != 32 || h.ItemCount != 1 {
		t.Fatal(h)
	}
}

func testConcurrentSessions(t *testing.T, h *Harness) {
	for _, profile := range h.Profiles {
		t.Run(fmt.Sprintf("profile=%d", profile), func(t *testing.T) {
			ep := h.Endpoint(t, "many")
			scfg, ccfg := ProfileCfgs(profile)
			shm := profile != netipc.ProfileBaseline
			h.StartServer(t, ep, scfg, IncrementServe)
			var wg sync.WaitGroup
			errs := make(chan error, 32)
			for g := range 32 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := h.Connect(ep, ccfg, Soon(), nil)
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
						m, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, v), Soon(), nil)
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

func testTimeoutAndAbort(t *testing.T, h *Harness) {
	for _, profile := range h.Profiles {
		t.Run(fmt.Sprintf("profile=%d", profile), func(t *testing.T) {
			ep := h.Endpoint(t, "slow")
			scfg, ccfg := ProfileCfgs(profile)
			shm := profile != netipc.ProfileBaseline
			gate := make(chan struct{})
			h.StartServer(t, ep, scfg, func(s *session.Server, abort *transport.Abort) error {
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
			c := h.connect(t, ep, ccfg)
			if c.IsShm() != shm {
				t.Fatal("profile")
			}
			start := time.Now()
			_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), time.Now().Add(50*time.Millisecond), nil)
			WantIs(t, err, netipc.ErrTimeout)
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
			_, err = c.RecvResponse(Soon(), abort)
			WantIs(t, err, netipc.ErrAborted)
			// Sticky until cleared.
			_, err = c.RecvResponse(Soon(), abort)
			WantIs(t, err, netipc.ErrAborted)
			abort.Clear()
			close(gate)
			m, err := c.RecvResponse(Soon(), abort)
			if err != nil || m.Header.MessageID != 1 {
				t.Fatal(err)
			}
		})
	}
}

func testServerClosesMidSession(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "closing")
	h.StartServer(t, ep, BaseServerCfg(), func(s *session.Server, abort *transport.Abort) error {
		_, err := s.RecvRequest(time.Time{}, abort)
		return err // close without answering
	})
	c := h.connect(t, ep, BaseClientCfg())
	_, err := c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), Soon(), nil)
	WantIs(t, err, netipc.ErrPeerClosed)
	if !c.IsBroken() {
		t.Fatal("not broken")
	}
	_, err = c.Call(netipc.MethodIncrement, codec.AppendIncrement(nil, 1), Soon(), nil)
	WantIs(t, err, netipc.ErrInvalidState)
}

func testLargeChunkedMessages(t *testing.T, h *Harness) {
	ep := h.Endpoint(t, "large")
	cfg := Config{AuthToken: Token, MaxRequestPayloadBytes: 4 << 20, MaxResponsePayloadBytes: 4 << 20, PacketSize: 4096}
	h.StartServer(t, ep, cfg, IncrementServe)
	c := h.connect(t, ep, Config{AuthToken: Token, MaxRequestPayloadBytes: 4 << 20, MaxResponsePayloadBytes: 4 << 20})
	text := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16)
	p, _ := codec.AppendStringReverse(nil, text)
	m, err := c.Call(netipc.MethodStringReverse, p, Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	v, err := codec.DecodeStringReverse(m.Payload)
	if err != nil || len(v.Text) != len(text) || v.Text[0] != 'f' {
		t.Fatal(err)
	}
}

// A client pipelining more than the transport buffers hold (socket
// buffers, or 1 MiB each way on Named Pipes), without reading, against a
// server that answers each request in order (and so blocks sending answers
// nobody reads yet): the client's waiting send takes the answers ahead, so
// neither side waits on the other forever (this timed out before).
func testPipeliningPastTheBuffers(t *testing.T, h *Harness) {
	const n, size = 48, 60000
	ep := h.Endpoint(t, "deep")
	h.StartServer(t, ep, BaseServerCfg(), func(s *session.Server, abort *transport.Abort) error {
		s.SetSendTimeout(30 * time.Second)
		for range n {
			m, err := s.RecvRequest(time.Time{}, abort)
			if err != nil {
				return err
			}
			answer := bytes.Clone(m.Payload)
			for i, j := 0, len(answer)-1; i < j; i, j = i+1, j-1 {
				answer[i], answer[j] = answer[j], answer[i]
			}
			if err := s.SendResponse(1, m.Header.MessageID, answer); err != nil {
				return err
			}
		}
		return nil
	})
	cfg := BaseClientCfg()
	cfg.MaxRequestPayloadBytes = 65536
	c, err := h.Connect(ep, cfg, Soon(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A regression fails with a time-out instead of hanging the suite.
	c.SetSendTimeout(30 * time.Second)
	payload := func(i int) []byte {
		b := make([]byte, size)
		for k := range b {
			b[k] = byte(k*7 + i)
		}
		return b
	}
	var ids []uint64
	for i := range n {
		id := c.NextMessageID()
		if err := c.SendRequest(1, id, payload(i)); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		m, err := c.RecvResponse(Soon(), nil)
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
		want := payload(i)
		for a, b := 0, len(want)-1; a < b; a, b = a+1, b-1 {
			want[a], want[b] = want[b], want[a]
		}
		if m.Header.MessageID != id || !bytes.Equal(m.Payload, want) {
			t.Fatalf("answer %d: id %d (want %d) or payload differs", i, m.Header.MessageID, id)
		}
	}
	if len(c.InFlight()) != 0 {
		t.Fatal("requests left in flight")
	}
}
