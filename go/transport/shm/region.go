//go:build linux

// Package shm is the POSIX shared-memory data plane (Linux): one region
// file per session, {run_dir}/{service}-{session_id:016x}.ipcshm, laid out
// as region v3 (a 64-byte header, then a request area and a response area
// of align64(32 + agreed payload) bytes each).
//
// The server creates the region (O_EXCL, mode 0600, fully reserved with
// fallocate) before it sends a successful HELLO_ACK; the client attaches
// it after reading the HELLO_ACK, validating the header once and keeping
// private copies of the offsets and capacities. Each direction carries one
// whole message (outer header + payload) at a time.
//
// Publishing copies the message, stores its length, advances the sequence
// and signal words (release) and wakes the peer with a shared FUTEX_WAKE.
// A receiver spins for a short learned budget (bounded by Config.MaxSpin,
// with a CPU pause hint), then sleeps in FUTEX_WAIT slices of at most
// WaitSlice, checking between slices the abort handle, the deadline and
// the session socket for hang-up, so an idle session costs ~0 CPU yet a
// dead peer or an abort is noticed within one slice. Received messages are
// copied out at once and their length is checked against the area capacity
// and the message header.
//
// A peer truncating the region file must not kill the process: every
// access to the mapping runs with debug.SetPanicOnFault(true) and recovers
// the resulting panic; the region is then poisoned and every later call
// fails with netipc.ViolationShmFault.
package shm

import (
	"fmt"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/spin"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/shmturn"
	"netipc.local/netipc/wire"
)

// WaitSlice is the longest single FUTEX_WAIT: between slices a waiter
// checks the abort handle, the deadline and the peer socket.
const WaitSlice = 100 * time.Millisecond

// RawWaitSlice is the first FUTEX_WAIT of a receive that outlasted its
// spin: a raw system call, which keeps this goroutine's thread and P
// across the sleep. Through the scheduler (entersyscall/exitsyscall) the
// goroutine often resumed on another thread, whose wake-up took the core
// of the spinning peer on a small machine and cascaded into more sleeps
// (Go<->Go shm-ping-pong was ~15 % slower). The cost: for at most this
// long the P runs nothing else, and a stop-the-world (GC) waits for the
// sleep to end. Longer waits go through the scheduler.
const RawWaitSlice = 50 * time.Microsecond

// AttachRetryInterval is the pause between attach attempts while the
// region is not ready.
const AttachRetryInterval = 5 * time.Millisecond

// AttachRetryLimit is how long AttachWithRetry keeps retrying a region
// that is not ready (what deployed clients do).
const AttachRetryLimit = 5 * time.Second

// Config holds the SHM data plane options. The zero value uses
// DefaultMaxSpin.
type Config struct {
	// MaxSpin bounds the adaptive spin before a receiver sleeps in
	// FUTEX_WAIT (0 means DefaultMaxSpin).
	MaxSpin time.Duration
	// NoSpin disables spinning (futex only).
	NoSpin bool
}

func (c Config) maxSpin() time.Duration {
	switch {
	case c.NoSpin:
		return 0
	case c.MaxSpin <= 0:
		return DefaultMaxSpin
	}
	return c.MaxSpin
}

// Role says which end of a session a mapping is.
type Role uint8

const (
	// RoleServer created the region: receives requests, sends responses.
	RoleServer Role = iota + 1
	// RoleClient attached to it: sends requests, receives responses.
	RoleClient
)

var (
	genOnce sync.Once
	gen     uint32
)

// ProcessGeneration is this process's non-zero owner_generation, derived
// from the wall clock and the pid when first needed, so it changes across
// restarts.
func ProcessGeneration() uint32 {
	genOnce.Do(func() {
		x := uint64(time.Now().UnixNano()) ^ uint64(os.Getpid())<<32
		x ^= x >> 30
		x *= 0xbf58476d1ce4e5b9
		x ^= x >> 27
		x *= 0x94d049bb133111eb
		x ^= x >> 31
		gen = uint32(x ^ x>>32)
		if gen == 0 {
			gen = 1
		}
	})
	return gen
}

// allocError wraps netipc.ErrShmAllocate and the OS cause.
type allocError struct{ cause error }

func (e *allocError) Error() string { return "netipc: SHM allocation failed: " + e.cause.Error() }
func (e *allocError) Unwrap() []error {
	return []error{netipc.ErrShmAllocate, e.cause}
}

// Region is one side's mapping of a session's SHM region.
//
// The client alternates Send (a request) and Recv (its response); the
// server alternates Recv (a request) and Send (its response). After a
// protocol violation (bad published length, malformed header, a fault
// from a truncated file) every later call fails with the same error: close
// the region and the session. A Region is not safe for concurrent use.
type Region struct {
	mem      []byte
	path     string
	role     Role
	layout   Layout
	txOff    int
	txCap    int
	rxOff    int
	rxCap    int
	txSeq    uint64
	rxSeq    uint64
	inFlight bool
	poisoned error
	spin     spin.Tuner
	closed   bool
}

func (r *Region) u64(off int) *uint64 { return (*uint64)(unsafe.Pointer(&r.mem[off])) }
func (r *Region) u32(off int) *uint32 { return (*uint32)(unsafe.Pointer(&r.mem[off])) }

// words returns the (sequence, length, signal) words of one direction.
func (r *Region) words(request bool) (*uint64, *uint32, *uint32) {
	if request {
		return r.u64(offReqSeq), r.u32(offReqLen), r.u32(offReqSignal)
	}
	return r.u64(offRespSeq), r.u32(offRespLen), r.u32(offRespSignal)
}

// txWords and rxWords: the client sends requests, the server responses.
func (r *Region) txWords() (*uint64, *uint32, *uint32) { return r.words(r.role == RoleClient) }
func (r *Region) rxWords() (*uint64, *uint32, *uint32) { return r.words(r.role == RoleServer) }

var errFault = netipc.ViolationShmFault

// guard ends every method that touches the mapping (deferred with the
// previous SetPanicOnFault value): a fault on the mapping (the peer
// truncated the file) becomes a poisoned region and a ViolationShmFault
// error instead of a crash.
func (r *Region) guard(prev bool, err *error) {
	p := recover()
	debug.SetPanicOnFault(prev)
	if p == nil {
		return
	}
	if _, ok := p.(interface{ Addr() uintptr }); ok {
		r.poisoned = errFault
		*err = errFault
		return
	}
	panic(p)
}

// Create (server side) creates the region file for sessionID, sized for
// the agreed payload budgets, before HELLO_ACK is sent. A stale file at the
// path (dead owner, uninitialised, junk) is removed first; a live one (or
// one whose liveness cannot be evaluated) fails with ErrAddressInUse. The
// file is created O_EXCL mode 0600 and fully reserved with fallocate; if
// the reservation or the mapping fails, the file is removed and the error
// wraps netipc.ErrShmAllocate and the OS cause.
func Create(ep transport.Endpoint, sessionID uint64, maxRequestPayload, maxResponsePayload uint32, cfg Config) (_ *Region, err error) {
	layout, err := LayoutForPayloads(maxRequestPayload, maxResponsePayload)
	if err != nil {
		return nil, err
	}
	size := int(layout.MappedLen())
	path := ep.ShmPath(sessionID)
	switch probeRegion(path) {
	case probeLive, probeUnknown:
		return nil, fmt.Errorf("%w: SHM region %s", netipc.ErrAddressInUse, path)
	case probeStale:
		removeFile(path)
	}
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0o600)
	if err == unix.EEXIST {
		return nil, fmt.Errorf("%w: SHM region %s", netipc.ErrAddressInUse, path)
	}
	if err != nil {
		return nil, sys.Wrap("open "+path, err)
	}
	defer unix.Close(fd)
	fail := func(e error) (*Region, error) {
		removeFile(path)
		return nil, e
	}
	for {
		err = unix.Fallocate(fd, 0, 0, int64(size))
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fail(&allocError{fmt.Errorf("fallocate %d bytes: %w", size, err)})
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(&allocError{fmt.Errorf("mmap: %w", err)})
	}
	r := newRegion(mem, path, RoleServer, layout, 0, 0, cfg)
	if err := r.initHeader(layout); err != nil {
		_ = unix.Munmap(mem)
		return fail(err)
	}
	return r, nil
}

func (r *Region) initHeader(l Layout) (err error) {
	defer r.guard(debug.SetPanicOnFault(true), &err)
	clear(r.mem)
	m := r.mem
	putU16 := func(off int, v uint16) { *(*uint16)(unsafe.Pointer(&m[off])) = v }
	putU16(offVersion, RegionVersion)
	putU16(offHeaderLen, RegionHeaderLen)
	*(*int32)(unsafe.Pointer(&m[offOwnerPid])) = int32(os.Getpid())
	*r.u32(offOwnerGeneration) = ProcessGeneration()
	*r.u32(offRequestOffset) = l.RequestOffset
	*r.u32(offRequestCapacity) = l.RequestCapacity
	*r.u32(offResponseOffset) = l.ResponseOffset
	*r.u32(offResponseCapacity) = l.ResponseCapacity
	// Magic last: a reader that sees it sees a complete header.
	atomic.StoreUint32(r.u32(offMagic), RegionMagic)
	return nil
}

// Attach (client side) maps the region the server created. It returns
// netipc.ErrShmNotReady while the file is missing, undersized or not
// initialised (retryable, see AttachWithRetry) and an error wrapping
// netipc.ErrShmAttach when the region is unusable (close the session and
// reconnect without SHM).
func Attach(ep transport.Endpoint, sessionID uint64, maxRequestPayload, maxResponsePayload uint32, cfg Config) (*Region, error) {
	path := ep.ShmPath(sessionID)
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err == unix.ENOENT {
		return nil, netipc.ErrShmNotReady
	}
	if err != nil {
		return nil, attachError("cannot open the region file: " + err.Error())
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, attachError("cannot stat the region file")
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, attachError("region is not a regular file")
	}
	if st.Size < RegionHeaderLen {
		return nil, netipc.ErrShmNotReady
	}
	var buf [RegionHeaderLen]byte
	if n, err := unix.Pread(fd, buf[:], 0); err != nil || n != RegionHeaderLen {
		return nil, netipc.ErrShmNotReady
	}
	info, _ := ParseRegionInfo(buf[:])
	layout, err := ValidateLayout(info, uint64(st.Size), maxRequestPayload, maxResponsePayload)
	if err != nil {
		return nil, err
	}
	mem, err := unix.Mmap(fd, 0, int(layout.MappedLen()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, attachError("cannot map the region file")
	}
	r := newRegion(mem, path, RoleClient, layout, 0, 0, cfg)
	if err := r.loadSeqs(); err != nil {
		_ = unix.Munmap(mem)
		return nil, attachError("region faulted while attaching")
	}
	return r, nil
}

// loadSeqs starts the client's counters from the region's current
// sequence words.
func (r *Region) loadSeqs() (err error) {
	defer r.guard(debug.SetPanicOnFault(true), &err)
	r.txSeq = atomic.LoadUint64(r.u64(offReqSeq))
	r.rxSeq = atomic.LoadUint64(r.u64(offRespSeq))
	return nil
}

// AttachWithRetry is Attach retried every AttachRetryInterval while it
// returns ErrShmNotReady, for at most limit (then ErrShmNotReady), or until
// deadline (ErrTimeout) or abort (ErrAborted).
func AttachWithRetry(ep transport.Endpoint, sessionID uint64, maxRequestPayload, maxResponsePayload uint32, cfg Config,
	limit time.Duration, deadline time.Time, abort *transport.Abort) (*Region, error) {
	end := time.Now().Add(limit)
	for {
		if err := abort.Check(); err != nil {
			return nil, err
		}
		r, err := Attach(ep, sessionID, maxRequestPayload, maxResponsePayload, cfg)
		if err != netipc.ErrShmNotReady {
			return r, err
		}
		left := time.Until(end)
		if left <= 0 {
			return nil, netipc.ErrShmNotReady
		}
		if err := sys.Sleep(min(AttachRetryInterval, left), deadline, abort); err != nil {
			return nil, err
		}
	}
}

func newRegion(mem []byte, path string, role Role, l Layout, reqSeq, respSeq uint64, cfg Config) *Region {
	r := &Region{mem: mem, path: path, role: role, layout: l, spin: spin.NewScaled(cfg.maxSpin(), ShmSpinScale)}
	req := [2]int{int(l.RequestOffset), int(l.RequestCapacity)}
	resp := [2]int{int(l.ResponseOffset), int(l.ResponseCapacity)}
	if role == RoleClient {
		r.txOff, r.txCap, r.rxOff, r.rxCap, r.txSeq, r.rxSeq = req[0], req[1], resp[0], resp[1], reqSeq, respSeq
	} else {
		r.txOff, r.txCap, r.rxOff, r.rxCap, r.txSeq, r.rxSeq = resp[0], resp[1], req[0], req[1], respSeq, reqSeq
	}
	return r
}

// Path returns the region file path.
func (r *Region) Path() string { return r.path }

// Role returns which end of the session this mapping is.
func (r *Region) Role() Role { return r.role }

// Layout returns the area offsets and capacities in use (private copies).
func (r *Region) Layout() Layout { return r.layout }

// MaxSendLen is the largest message (header + payload) Send accepts.
func (r *Region) MaxSendLen() int { return r.txCap }

// MaxRecvLen is the largest message the peer may publish to us.
func (r *Region) MaxRecvLen() int { return r.rxCap }

// InFlight reports, for a client, whether a request awaits its response;
// for a server, whether a received request awaits its answer.
func (r *Region) InFlight() bool { return r.inFlight }

// turn is the region's turn-taking state.
func (r *Region) turn() shmturn.State {
	return shmturn.State{Client: r.role == RoleClient, InFlight: r.inFlight, Closed: r.closed, Poisoned: r.poisoned}
}

// Faulted reports whether the region was poisoned by a fault.
func (r *Region) Faulted() bool { return r.poisoned == errFault }

// Send publishes one whole message (32-byte header + payload) into this
// side's outgoing area and wakes the peer. The message must start with a
// valid header whose payload_len matches (ErrInvalidArgument) and fit the
// area (ErrLimitExceeded). A client may not send again before it received
// the answer (ViolationShmBusy); a server may only answer a received
// request (ErrInvalidState).
func (r *Region) Send(msg []byte) error {
	if err := r.checkSend(len(msg)); err != nil {
		return err
	}
	h, derr := wire.DecodeHeader(msg)
	if derr != nil {
		return &netipc.ArgError{Reason: "SHM message must start with a valid header"}
	}
	if netipc.HeaderLen+int(h.PayloadLen) != len(msg) {
		return &netipc.ArgError{Reason: "SHM message length disagrees with its payload_len"}
	}
	return r.publish(nil, msg)
}

// SendMessage is Send for a header and its payload, encoded straight into
// the outgoing area (no intermediate message buffer). h.PayloadLen must be
// len(payload).
func (r *Region) SendMessage(h *wire.Header, payload []byte) error {
	n := netipc.HeaderLen + len(payload)
	if err := r.checkSend(n); err != nil {
		return err
	}
	if int(h.PayloadLen) != len(payload) {
		return &netipc.ArgError{Reason: "SHM message length disagrees with its payload_len"}
	}
	return r.publish(h, payload)
}

// checkSend runs the state and size checks of a publication of n bytes.
func (r *Region) checkSend(n int) error { return shmturn.CheckSend(r.turn(), n, r.txCap) }

// publish copies the message (h encoded, then body; or body alone when h
// is nil) into the outgoing area, stores its length, advances the sequence
// and signal words and wakes the peer. The caller checked that it fits.
func (r *Region) publish(h *wire.Header, body []byte) (err error) {
	defer r.guard(debug.SetPanicOnFault(true), &err)
	area := r.mem[r.txOff : r.txOff+r.txCap]
	n := 0
	if h != nil {
		h.EncodeTo(area)
		n = netipc.HeaderLen
	}
	n += copy(area[n:], body)
	next := r.txSeq + 1
	seq, lenWord, signal := r.txWords()
	atomic.StoreUint32(lenWord, uint32(n))
	atomic.StoreUint64(seq, next)
	atomic.AddUint32(signal, 1)
	r.txSeq = next
	if e := wakeOne(signal); e != nil {
		if e == unix.EFAULT {
			r.poisoned = errFault
			return errFault
		}
		return sys.Wrap("futex wake", e)
	}
	r.inFlight = r.role == RoleClient
	return nil
}

// Recv waits for the peer's next message and copies it (header + payload)
// into out[:0], returning the extended slice. peerFd is the session socket,
// polled for hang-up while waiting.
//
// It fails with netipc.ErrTimeout at deadline, netipc.ErrAborted when
// abort fires, netipc.ErrPeerClosed when the socket reports hang-up or
// error, and a protocol error (ViolationShmLength, a *DecodeError,
// ViolationShmFault) for a bad publication. After a timeout or an abort
// the message may still arrive: Recv can be called again.
func (r *Region) Recv(out []byte, deadline time.Time, abort *transport.Abort, peerFd int) ([]byte, error) {
	d := transport.DeadlineAt(deadline)
	return r.RecvWithin(out, &d, abort, peerFd)
}

// RecvWithin is Recv with a transport.Deadline: a pending one is fixed
// only if the spin does not catch the message.
func (r *Region) RecvWithin(out []byte, deadline *transport.Deadline, abort *transport.Abort, peerFd int) (_ []byte, err error) {
	out = out[:0]
	if err := shmturn.CheckRecv(r.turn()); err != nil {
		return out, err
	}
	if err := abort.Check(); err != nil {
		return out, err
	}
	defer r.guard(debug.SetPanicOnFault(true), &err)
	seq, err := r.waitAdvance(deadline, abort, peerFd)
	if err != nil {
		return out, err
	}
	r.rxSeq = seq
	out, err = r.consume(out)
	if err != nil {
		return out[:0], err
	}
	r.inFlight = r.role == RoleServer
	return out, nil
}

func (r *Region) waitAdvance(deadline *transport.Deadline, abort *transport.Abort, peerFd int) (uint64, error) {
	expected := r.rxSeq
	seqWord, _, signal := r.rxWords()
	var cur uint64
	advanced := func() bool {
		cur = atomic.LoadUint64(seqWord)
		return cur != expected
	}
	if advanced() {
		// No wait happened: nothing to learn about how long to spin (a
		// zero sample would shrink the budget below the waits that do
		// need a spin, and send those to sleep).
		return cur, nil
	}
	start := sys.Mono()
	if ok, spun := spinUntil(start, r.spin.NextBudget(), advanced); ok {
		r.spin.Record(spun, true)
		return cur, nil
	}
	first := true
	for {
		word := atomic.LoadUint32(signal)
		if advanced() {
			r.spin.Record(int64(sys.Mono()-start), false)
			return cur, nil
		}
		if err := abort.Check(); err != nil {
			return 0, err
		}
		left, err := sys.Remaining(deadline.Time())
		if err != nil {
			return 0, err
		}
		if !first {
			hung, err := sys.PeerHungUp(peerFd)
			if err != nil {
				return 0, err
			}
			if hung {
				return 0, fmt.Errorf("%w (SHM peer hung up)", netipc.ErrPeerClosed)
			}
			// Touch the last mapped byte: a file truncated below it faults
			// now (and poisons the region) instead of leaving us waiting
			// for a peer that can no longer publish.
			_ = atomic.LoadUint32(r.u32(len(r.mem) - 4))
		}
		slice := WaitSlice
		if first {
			slice = RawWaitSlice
		}
		if left >= 0 && left < slice {
			slice = left
		}
		if e := waitOn(signal, word, slice, first); e != nil {
			if e == unix.EFAULT {
				r.poisoned = errFault
				return 0, errFault
			}
			return 0, sys.Wrap("futex wait", e)
		}
		first = false
	}
}

// consume validates the published length, copies the message out and
// validates its header against the length.
func (r *Region) consume(out []byte) ([]byte, error) {
	_, lenWord, _ := r.rxWords()
	n := int(atomic.LoadUint32(lenWord))
	if n < netipc.HeaderLen || n > r.rxCap {
		r.poisoned = netipc.ViolationShmLength
		return out, r.poisoned
	}
	out = append(out, r.mem[r.rxOff:r.rxOff+n]...)
	var h wire.Header // decoded in place: no block copy of fresh stores
	if err := wire.DecodeHeaderInto(&h, out); err != nil {
		r.poisoned = err
		return out, err
	}
	if netipc.HeaderLen+int(h.PayloadLen) != n {
		r.poisoned = netipc.ViolationShmLength
		return out, r.poisoned
	}
	return out, nil
}

// Close unmaps the region; the server side also unlinks the file.
func (r *Region) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	err := unix.Munmap(r.mem)
	r.mem = nil
	if r.role == RoleServer {
		removeFile(r.path)
	}
	return err
}
