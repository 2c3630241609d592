package service

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"netipc.local/netipc"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/wire"
)

// ServerConfig configures a managed server. Zero-valued fields resolve to
// the named defaults of this package.
type ServerConfig struct {
	// RunDir holds the socket ({service}.sock) and the per-session SHM
	// regions; it must exist.
	RunDir string
	// Service is the service name ([A-Za-z0-9._-], not . or ..).
	Service string
	// AuthToken is the token clients must present.
	AuthToken uint64
	// SupportedProfiles: 0 = DefaultServerSupportedProfiles.
	SupportedProfiles uint32
	// PreferredProfiles: 0 = DefaultServerPreferredProfiles (bits not
	// supported are ignored).
	PreferredProfiles uint32
	// MaxRequestPayloadBytes is the request budget; 0 = zero-config
	// growth mode (start at netipc.MaxPayloadDefault, grow on overflow up
	// to netipc.MaxPayloadCap). Otherwise fixed.
	MaxRequestPayloadBytes uint32
	// MaxResponsePayloadBytes is the response budget; 0 = zero-config
	// growth mode. Otherwise fixed.
	MaxResponsePayloadBytes uint32
	// MaxBatchItems caps the items of one batch request on top of the
	// session's agreed batch size; 0 = no server-side ceiling.
	MaxBatchItems uint32
	// MaxSessions caps the sessions served at once (one goroutine each);
	// 0 = DefaultMaxSessions.
	MaxSessions int
	// MaxPendingHandshakes caps the handshakes run at once; 0 =
	// DefaultMaxPendingHandshakes.
	MaxPendingHandshakes int
	// HandshakeTimeout bounds one handshake; 0 = DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// DrainTimeout bounds the graceful drain of Stop; 0 =
	// DefaultDrainTimeout.
	DrainTimeout time.Duration
	// PacketSize is the packet size to offer; 0 = automatic.
	PacketSize uint32
	// Shm holds the SHM data plane options.
	Shm shmConfig
}

// PayloadBudgets is a pair of payload budgets in bytes.
type PayloadBudgets struct {
	// Request is the client-to-server budget.
	Request uint32
	// Response is the server-to-client budget.
	Response uint32
}

// direction is one direction's learned budget and its ceiling.
type direction struct {
	current atomic.Uint32
	max     uint32
}

func newDirection(configured uint32) *direction {
	d := &direction{max: configured}
	start := configured
	if configured == 0 {
		start, d.max = netipc.MaxPayloadDefault, netipc.MaxPayloadCap
	}
	d.current.Store(start)
	return d
}

// grow raises the budget to the next power of two of max(2 * agreed,
// needed), capped at the ceiling; monotonic.
func (d *direction) grow(agreed uint32, needed uint64) uint32 {
	target := growPow2(max(uint64(agreed)*2, needed), 1, d.max)
	for {
		cur := d.current.Load()
		if cur >= target {
			return cur
		}
		if d.current.CompareAndSwap(cur, target) {
			return target
		}
	}
}

// ServerStats are the counters of a managed server since it started.
type ServerStats struct {
	// ConnectionsAccepted counts connections taken from the socket.
	ConnectionsAccepted uint64
	// SessionsStarted counts sessions that completed the handshake.
	SessionsStarted uint64
	// HandshakeFailures counts failed handshakes (any reason).
	HandshakeFailures uint64
	// AuthFailures counts AUTH_FAILED rejections.
	AuthFailures uint64
	// HandshakeTimeouts counts clients silent until the deadline.
	HandshakeTimeouts uint64
	// Requests counts requests received.
	Requests uint64
	// Unsupported counts requests for another method (UNSUPPORTED).
	Unsupported uint64
	// BadEnvelopes counts requests answered BAD_ENVELOPE.
	BadEnvelopes uint64
	// LimitExceeded counts requests answered LIMIT_EXCEEDED.
	LimitExceeded uint64
	// HandlerFailures counts handler errors (INTERNAL_ERROR).
	HandlerFailures uint64
	// HandlerPanics counts handler panics (INTERNAL_ERROR).
	HandlerPanics uint64
}

type counters struct {
	accepted, started, hsFail, authFail, hsTimeout, requests, unsupported,
	badEnvelope, limit, handlerFail, panics atomic.Uint64
}

// StopSummary reports what Stop achieved.
type StopSummary struct {
	// Drained is true when every session ended within the drain deadline.
	Drained bool
	// Abandoned counts sessions whose handler never returned; their
	// sockets were shut down and SHM files removed.
	Abandoned int
}

type registered struct {
	conn    sessionConn
	shmPath string
}

// ServiceKind names the service kind a managed server exports.
type ServiceKind uint8

// Service kinds.
const (
	// KindIncrement serves INCREMENT.
	KindIncrement ServiceKind = iota + 1
	// KindStringReverse serves STRING_REVERSE.
	KindStringReverse
	// KindCgroupsSnapshot serves CGROUPS_SNAPSHOT.
	KindCgroupsSnapshot
	// KindCgroupsLookup serves CGROUPS_LOOKUP.
	KindCgroupsLookup
	// KindAppsLookup serves APPS_LOOKUP.
	KindAppsLookup
)

// Method returns the method code served.
func (k ServiceKind) Method() uint16 {
	switch k {
	case KindIncrement:
		return netipc.MethodIncrement
	case KindStringReverse:
		return netipc.MethodStringReverse
	case KindCgroupsSnapshot:
		return netipc.MethodCgroupsSnapshot
	case KindCgroupsLookup:
		return netipc.MethodCgroupsLookup
	case KindAppsLookup:
		return netipc.MethodAppsLookup
	}
	return 0
}

// String returns the method's specification name.
func (k ServiceKind) String() string { return netipc.MethodName(k.Method()) }

// Server is a running managed server exporting one service kind: an
// acceptor goroutine that never reads from peers, one goroutine per
// connection (handshake under a deadline, then the session), at most
// MaxSessions sessions at once, typed handlers, learned payload budgets
// and a graceful Stop.
type Server struct {
	ep            transport.Endpoint
	kind          ServiceKind
	svc           service
	transportCfg  l1ServerConfig
	maxSessions   int
	maxHandshakes int
	hsTimeout     time.Duration
	drainTimeout  time.Duration
	maxBatchItems uint32
	request       *direction
	response      *direction
	stats         counters
	listener      *l1Listener
	acceptAbort   *transport.Abort
	drainAbort    *transport.Abort
	acceptorDone  chan struct{}
	stopMu        sync.Mutex // serializes Stop

	mu          sync.Mutex
	cond        *sync.Cond
	stopping    bool
	stopped     *StopSummary
	sessions    int
	waiting     int
	handshaking int
	threads     int
	registry    map[uint64]registered
}

func startServer(cfg ServerConfig, svc service) (*Server, error) {
	ep, err := transport.NewEndpoint(cfg.RunDir, cfg.Service)
	if err != nil {
		return nil, err
	}
	supported := nz32(cfg.SupportedProfiles, DefaultServerSupportedProfiles)
	preferred := nz32(cfg.PreferredProfiles, DefaultServerPreferredProfiles) & supported
	if supported&^implementedProfiles != 0 {
		return nil, &netipc.ArgError{Reason: "supported profiles include one this implementation lacks"}
	}
	s := &Server{
		ep: ep, kind: svc.kind(), svc: svc,
		maxSessions:   max(cfg.MaxSessions, 0),
		maxHandshakes: max(cfg.MaxPendingHandshakes, 0),
		hsTimeout:     nzDur(cfg.HandshakeTimeout, DefaultHandshakeTimeout),
		drainTimeout:  nzDur(cfg.DrainTimeout, DefaultDrainTimeout),
		maxBatchItems: cfg.MaxBatchItems,
		request:       newDirection(cfg.MaxRequestPayloadBytes),
		response:      newDirection(cfg.MaxResponsePayloadBytes),
		acceptorDone:  make(chan struct{}),
		registry:      map[uint64]registered{},
	}
	if s.maxSessions == 0 {
		s.maxSessions = DefaultMaxSessions
	}
	if s.maxHandshakes == 0 {
		s.maxHandshakes = DefaultMaxPendingHandshakes
	}
	if preferred == 0 {
		preferred = supported
	}
	s.transportCfg = l1ServerConfig{
		SupportedProfiles: supported, PreferredProfiles: preferred, PacketSize: cfg.PacketSize,
		AuthToken: cfg.AuthToken, Shm: cfg.Shm,
		// An authenticated client proposed more than the request budget:
		// grow before it can reconnect.
		OnReject: func(status uint16, hello wire.Hello) {
			if status == netipc.StatusLimitExceeded {
				s.request.grow(s.request.current.Load(), uint64(hello.MaxRequestPayloadBytes))
			}
		},
	}
	s.cond = sync.NewCond(&s.mu)
	if s.acceptAbort, err = transport.NewAbort(); err != nil {
		return nil, err
	}
	if s.drainAbort, err = transport.NewAbort(); err != nil {
		_ = s.acceptAbort.Close()
		return nil, err
	}
	if s.listener, err = l1Listen(ep); err != nil {
		_ = s.acceptAbort.Close()
		_ = s.drainAbort.Close()
		return nil, err
	}
	go s.acceptor()
	return s, nil
}

// Endpoint returns the endpoint served.
func (s *Server) Endpoint() transport.Endpoint { return s.ep }

// Kind returns the service kind served.
func (s *Server) Kind() ServiceKind { return s.kind }

// ActiveSessions returns the sessions currently holding a slot.
func (s *Server) ActiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// LearnedBudgets returns the payload budgets every new handshake offers.
func (s *Server) LearnedBudgets() PayloadBudgets {
	return PayloadBudgets{s.request.current.Load(), s.response.current.Load()}
}

// BudgetCeilings returns the ceilings the learned budgets never pass.
func (s *Server) BudgetCeilings() PayloadBudgets {
	return PayloadBudgets{s.request.max, s.response.max}
}

// Stats returns the counters since start.
func (s *Server) Stats() ServerStats {
	c := &s.stats
	return ServerStats{
		ConnectionsAccepted: c.accepted.Load(), SessionsStarted: c.started.Load(),
		HandshakeFailures: c.hsFail.Load(), AuthFailures: c.authFail.Load(), HandshakeTimeouts: c.hsTimeout.Load(),
		Requests: c.requests.Load(), Unsupported: c.unsupported.Load(), BadEnvelopes: c.badEnvelope.Load(),
		LimitExceeded: c.limit.Load(), HandlerFailures: c.handlerFail.Load(), HandlerPanics: c.panics.Load(),
	}
}

func (s *Server) handshakeConfig() l1ServerConfig {
	c := s.transportCfg
	c.MaxRequestPayloadBytes = s.request.current.Load()
	c.MaxResponsePayloadBytes = s.response.current.Load()
	return c
}

// acceptor takes a connection only while a slot could be available and a
// handshake may start, and hands it to its own goroutine.
func (s *Server) acceptor() {
	defer close(s.acceptorDone)
	defer s.listener.Close()
	for {
		s.mu.Lock()
		for !s.stopping && (s.sessions+s.waiting >= s.maxSessions || s.handshaking >= s.maxHandshakes) {
			s.cond.Wait()
		}
		if s.stopping {
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		p, err := s.listener.Accept(time.Time{}, s.acceptAbort)
		if errors.Is(err, netipc.ErrAborted) {
			return
		}
		if err != nil {
			// Out of fds or another transient failure: retry soon.
			_ = transportSleep(AcceptRetryDelay, s.acceptAbort)
			continue
		}
		s.stats.accepted.Add(1)
		s.mu.Lock()
		s.handshaking++
		s.threads++
		s.mu.Unlock()
		go s.connection(p)
	}
}

func (s *Server) threadDone() {
	s.mu.Lock()
	s.threads--
	s.mu.Unlock()
	s.cond.Broadcast()
}

// connection runs the handshake of one accepted connection, waits for a
// session slot and serves the session.
func (s *Server) connection(p *l1PendingConn) {
	defer s.threadDone()
	sess, err := p.Handshake(s.handshakeConfig(), time.Now().Add(s.hsTimeout), s.acceptAbort)
	s.mu.Lock()
	s.handshaking--
	if err != nil {
		s.mu.Unlock()
		s.cond.Broadcast()
		s.stats.hsFail.Add(1)
		if errors.Is(err, netipc.ErrAuthFailed) {
			s.stats.authFail.Add(1)
		}
		if errors.Is(err, netipc.ErrTimeout) {
			s.stats.hsTimeout.Add(1)
		}
		return
	}
	s.waiting++
	for !s.stopping && s.sessions >= s.maxSessions {
		s.cond.Wait()
	}
	s.waiting--
	if s.stopping {
		s.mu.Unlock()
		s.cond.Broadcast()
		_ = sess.Close()
		return
	}
	s.sessions++
	id := sess.SessionID()
	reg := registered{conn: connOf(sess)}
	if sess.IsShm() {
		reg.shmPath = s.ep.ShmPath(id)
	}
	s.registry[id] = reg
	s.mu.Unlock()
	s.stats.started.Add(1)
	defer func() {
		s.mu.Lock()
		delete(s.registry, id)
		s.sessions--
		s.mu.Unlock()
		s.cond.Broadcast()
		_ = sess.Close()
	}()
	s.serve(sess)
}

// Stop stops the server; it is idempotent (later calls return the first
// result).
//
//  1. It stops accepting: the acceptor ends, handshakes in progress are
//     aborted, the listening socket and its file are removed, and sessions
//     waiting for a slot are closed.
//  2. It drains: idle sessions are closed at once; a session running a
//     handler finishes it, sends the answer and then closes, all within
//     the drain timeout.
//  3. At the drain deadline the remaining sessions' sockets are shut
//     down; after a short grace, sessions whose handler still has not
//     returned are abandoned (StopSummary.Abandoned) and their SHM files
//     removed.
func (s *Server) Stop() StopSummary {
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	s.mu.Lock()
	if s.stopped != nil {
		sum := *s.stopped
		s.mu.Unlock()
		return sum
	}
	s.stopping = true
	s.mu.Unlock()
	s.cond.Broadcast()
	s.acceptAbort.Trigger()
	<-s.acceptorDone
	s.drainAbort.Trigger()
	s.mu.Lock()
	for _, r := range s.registry {
		r.conn.shutdownRead()
	}
	s.mu.Unlock()
	drained := s.waitThreads(time.Now().Add(s.drainTimeout))
	abandoned := 0
	if !drained {
		s.mu.Lock()
		for _, r := range s.registry {
			r.conn.shutdownAll()
		}
		s.mu.Unlock()
		s.waitThreads(time.Now().Add(DefaultForceCloseGrace))
		s.mu.Lock()
		for _, r := range s.registry {
			if r.shmPath != "" {
				_ = os.Remove(r.shmPath)
			}
		}
		abandoned = len(s.registry)
		s.mu.Unlock()
	}
	sum := StopSummary{Drained: drained, Abandoned: abandoned}
	s.mu.Lock()
	s.stopped = &sum
	s.mu.Unlock()
	if abandoned == 0 {
		_ = s.acceptAbort.Close()
		_ = s.drainAbort.Close()
	}
	return sum
}

// Close stops the server (see Stop); it implements io.Closer.
func (s *Server) Close() error {
	if sum := s.Stop(); sum.Abandoned > 0 {
		return fmt.Errorf("netipc: %d sessions abandoned at stop", sum.Abandoned)
	}
	return nil
}

func (s *Server) waitThreads(deadline time.Time) bool {
	for {
		s.mu.Lock()
		n := s.threads
		s.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}
