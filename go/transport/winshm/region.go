//go:build windows

// Package winshm is the Windows shared-memory data plane: one page-file
// backed mapping per session, named
// Local\netipc-{hash}-{service}-p{profile}-s{session}-mapping, laid out as a
// 128-byte header, then a request area and a response area of
// align64(32 + agreed payload) bytes each.
//
// The server creates the mapping (and, for SHM_HYBRID, two auto-reset
// events) before it sends a successful HELLO_ACK; the client opens them
// after reading the HELLO_ACK, validates the header once and keeps private
// copies of the offsets, capacities and spin budget. Each direction
// carries one whole message (outer header + payload) at a time.
//
// Publishing copies the message, stores its length and increments the
// sequence (interlocked), then, for SHM_HYBRID, signals the peer's event
// when the peer announced it waits. A SHM_HYBRID receiver spins
// spin_tries times, then announces itself and waits on its event in slices
// of at most WaitSlice; a SHM_BUSYWAIT receiver spins, yielding every
// BusyWaitPollMask+1 iterations. Between slices (or polls) a waiter checks
// the abort handle, the deadline, the peer's close flag and the caller's
// hang-up probe (the session pipe). Received messages are validated
// (length neither zero nor over capacity), copied out, and the sequence
// and length re-read: a change during the copy is a protocol violation.
package winshm

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"netipc.local/netipc"
	"netipc.local/netipc/internal/sys"
	"netipc.local/netipc/transport"
	"netipc.local/netipc/transport/internal/shmturn"
	"netipc.local/netipc/wire"
)

// WaitSlice is the longest single kernel wait of a SHM_HYBRID receiver.
const WaitSlice = 100 * time.Millisecond

// Profiles are the profile bits this package serves.
const Profiles = netipc.ProfileShmHybrid | netipc.ProfileShmFutex

// ProfileBusyWait is the Windows name of profile bit 2.
const ProfileBusyWait = netipc.ProfileShmFutex

var (
	kernel32             = windows.NewLazySystemDLL("kernel32.dll")
	procOpenFileMappingW = kernel32.NewProc("OpenFileMappingW")
)

// Config holds the SHM data plane options. The zero value spins
// DefaultSpinTries times.
type Config struct {
	// SpinTries is the SHM_HYBRID spin budget a server writes into the
	// header (0 = DefaultSpinTries). Clients use the server's value.
	SpinTries uint32
}

// Role says which end of a session a mapping is.
type Role uint8

// The two roles.
const (
	RoleServer Role = iota
	RoleClient
)

// Region is one side of a mapped session region. It is not safe for
// concurrent use.
type Region struct {
	role     Role
	layout   Layout
	mapping  windows.Handle
	addr     uintptr
	mem      []byte
	rxEvent  windows.Handle // the event this side waits on (hybrid)
	txEvent  windows.Handle // the event this side signals (hybrid)
	hybrid   bool
	txOff    int
	txCap    int
	rxOff    int
	rxCap    int
	rxSeen   int64
	inFlight bool
	poisoned error
	closed   bool
}

func objectName(s string) (*uint16, error) {
	p, err := windows.UTF16PtrFromString(s)
	if err != nil {
		return nil, &netipc.ArgError{Reason: "object name contains NUL"}
	}
	return p, nil
}

func mapView(h windows.Handle) (uintptr, []byte, error) {
	addr, err := windows.MapViewOfFile(h, windows.FILE_MAP_READ|windows.FILE_MAP_WRITE, 0, 0, 0)
	if err != nil {
		return 0, nil, sys.Wrap("MapViewOfFile", err)
	}
	var mbi windows.MemoryBasicInformation
	if err := windows.VirtualQuery(addr, &mbi, unsafe.Sizeof(mbi)); err != nil {
		_ = windows.UnmapViewOfFile(addr)
		return 0, nil, sys.Wrap("VirtualQuery", err)
	}
	// SAFETY: addr is the base of a live view of at least RegionSize bytes,
	// unmapped only by Close, which drops mem first. The uintptr round-trip
	// through memory keeps vet quiet about a value the GC never manages.
	base := *(*unsafe.Pointer)(unsafe.Pointer(&addr))
	return addr, unsafe.Slice((*byte)(base), mbi.RegionSize), nil
}

func (r *Region) i32(off int) *int32 { return (*int32)(unsafe.Pointer(&r.mem[off])) }
func (r *Region) i64(off int) *int64 { return (*int64)(unsafe.Pointer(&r.mem[off])) }

// Create makes the server side of a session region: the mapping (and the
// events for SHM_HYBRID), with the header written. Failures wrap
// netipc.ErrShmAllocate.
func Create(ep transport.Endpoint, authToken uint64, profile uint32, sessionID uint64, maxRequestPayload, maxResponsePayload uint32, cfg Config) (_ *Region, err error) {
	if profile != netipc.ProfileShmHybrid && profile != ProfileBusyWait {
		return nil, &netipc.ArgError{Reason: "not a Win SHM profile"}
	}
	spin := cfg.SpinTries
	if spin == 0 {
		spin = DefaultSpinTries
	}
	l, err := NewLayout(profile, maxRequestPayload, maxResponsePayload, min(spin, MaxSpinTries))
	if err != nil {
		return nil, err
	}
	prefix := ep.ShmObjectPrefix(authToken, profile, sessionID)
	name, err := objectName(prefix + "-mapping")
	if err != nil {
		return nil, err
	}
	size := l.Size()
	// An existing object of that name (ERROR_ALREADY_EXISTS, with a valid
	// handle) is refused: it is not ours.
	h, err := windows.CreateFileMapping(windows.InvalidHandle, nil, windows.PAGE_READWRITE, uint32(size>>32), uint32(size), name)
	if err != nil {
		if h != 0 {
			_ = windows.CloseHandle(h)
		}
		return nil, fmt.Errorf("%w: CreateFileMapping: %v", netipc.ErrShmAllocate, err)
	}
	r := &Region{role: RoleServer, layout: l, mapping: h, hybrid: profile == netipc.ProfileShmHybrid}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.addr, r.mem, err = mapView(h); err != nil {
		return nil, fmt.Errorf("%w: %v", netipc.ErrShmAllocate, err)
	}
	if uint64(len(r.mem)) < size {
		return nil, fmt.Errorf("%w: view smaller than the region", netipc.ErrShmAllocate)
	}
	hdr := l.Encode()
	copy(r.mem, hdr[:])
	if r.hybrid {
		if r.rxEvent, err = createEvent(prefix + "-req_event"); err != nil {
			return nil, err
		}
		if r.txEvent, err = createEvent(prefix + "-resp_event"); err != nil {
			return nil, err
		}
	}
	r.setAreas()
	return r, nil
}

func createEvent(name string) (windows.Handle, error) {
	p, err := objectName(name)
	if err != nil {
		return 0, err
	}
	h, err := windows.CreateEvent(nil, 0, 0, p)
	if err != nil {
		if h != 0 {
			_ = windows.CloseHandle(h)
		}
		return 0, fmt.Errorf("%w: CreateEvent: %v", netipc.ErrShmAllocate, err)
	}
	return h, nil
}

func openEvent(name string) (windows.Handle, error) {
	p, err := objectName(name)
	if err != nil {
		return 0, err
	}
	h, err := windows.OpenEvent(windows.EVENT_MODIFY_STATE|windows.SYNCHRONIZE, false, p)
	if err != nil {
		return 0, fmt.Errorf("%w: OpenEvent: %v", netipc.ErrShmAttach, err)
	}
	return h, nil
}

// Attach opens the client side of a session region created by the
// server for this session and validates its header against the
// negotiated profile and payload limits. Every failure wraps
// netipc.ErrShmAttach: the caller must reconnect without SHM.
func Attach(ep transport.Endpoint, authToken uint64, profile uint32, sessionID uint64, maxRequestPayload, maxResponsePayload uint32) (_ *Region, err error) {
	if profile != netipc.ProfileShmHybrid && profile != ProfileBusyWait {
		return nil, &netipc.ArgError{Reason: "not a Win SHM profile"}
	}
	prefix := ep.ShmObjectPrefix(authToken, profile, sessionID)
	name, err := objectName(prefix + "-mapping")
	if err != nil {
		return nil, err
	}
	hv, _, e := procOpenFileMappingW.Call(uintptr(windows.FILE_MAP_READ|windows.FILE_MAP_WRITE), 0, uintptr(unsafe.Pointer(name)))
	if hv == 0 {
		return nil, fmt.Errorf("%w: OpenFileMapping: %v", netipc.ErrShmAttach, e)
	}
	r := &Region{role: RoleClient, mapping: windows.Handle(hv), hybrid: profile == netipc.ProfileShmHybrid}
	defer func() {
		if err != nil {
			r.release()
		}
	}()
	if r.addr, r.mem, err = mapView(r.mapping); err != nil {
		return nil, fmt.Errorf("%w: %v", netipc.ErrShmAttach, err)
	}
	if r.layout, err = ParseLayout(r.mem, uint64(len(r.mem)), profile, maxRequestPayload, maxResponsePayload); err != nil {
		return nil, fmt.Errorf("%w: %v", netipc.ErrShmAttach, err)
	}
	if r.hybrid {
		if r.txEvent, err = openEvent(prefix + "-req_event"); err != nil {
			return nil, err
		}
		if r.rxEvent, err = openEvent(prefix + "-resp_event"); err != nil {
			return nil, err
		}
	}
	r.setAreas()
	// Start from the sequence the region holds now (a fresh region: 0).
	r.rxSeen = atomic.LoadInt64(r.i64(offRespSeq))
	return r, nil
}

func (r *Region) setAreas() {
	l := r.layout
	if r.role == RoleClient {
		r.txOff, r.txCap = int(l.RequestOffset), int(l.RequestCapacity)
		r.rxOff, r.rxCap = int(l.ResponseOffset), int(l.ResponseCapacity)
	} else {
		r.txOff, r.txCap = int(l.ResponseOffset), int(l.ResponseCapacity)
		r.rxOff, r.rxCap = int(l.RequestOffset), int(l.RequestCapacity)
	}
}

// Layout returns the header values this side uses.
func (r *Region) Layout() Layout { return r.layout }

// Role returns which end this is.
func (r *Region) Role() Role { return r.role }

// MaxSendLen is the largest message (header + payload) Send accepts.
func (r *Region) MaxSendLen() int { return r.txCap }

// InFlight reports whether a client awaits a response, or a server owes one.
func (r *Region) InFlight() bool { return r.inFlight }

// turn is the region's turn-taking state.
func (r *Region) turn() shmturn.State {
	return shmturn.State{Client: r.role == RoleClient, InFlight: r.inFlight, Closed: r.closed, Poisoned: r.poisoned}
}

// Header returns the mapped header bytes, for tests that play a hostile
// peer.
func (r *Region) Header() []byte { return r.mem[:RegionHeaderLen:RegionHeaderLen] }

// word offsets of each direction: sequence, length, peer-waiting flag,
// peer-closed flag.
func (r *Region) txWords() (seq, length, peerWaiting int) {
	if r.role == RoleClient {
		return offReqSeq, offReqLen, offReqServerWaiting
	}
	return offRespSeq, offRespLen, offRespClientWaiting
}

func (r *Region) rxWords() (seq, length, waiting, peerClosed int) {
	if r.role == RoleClient {
		return offRespSeq, offRespLen, offRespClientWaiting, offRespServerClosed
	}
	return offReqSeq, offReqLen, offReqServerWaiting, offReqClientClosed
}

func (r *Region) peerClosedOff() int {
	if r.role == RoleClient {
		return offRespServerClosed
	}
	return offReqClientClosed
}

var errPeerClosed = fmt.Errorf("%w (SHM peer closed)", netipc.ErrPeerClosed)

// Send publishes one whole message (32-byte header + payload) into this
// side's outgoing area and wakes the peer. The message must start with a
// valid header whose payload_len matches (ErrInvalidArgument) and fit the
// area (ErrLimitExceeded). A client may not send again before it received
// the answer (ViolationShmBusy); a server may only answer a received
// request (ErrInvalidState).
func (r *Region) Send(msg []byte) error {
	if err := shmturn.CheckSend(r.turn(), len(msg), r.txCap); err != nil {
		return err
	}
	h, derr := wire.DecodeHeader(msg)
	if derr != nil {
		return &netipc.ArgError{Reason: "SHM message must start with a valid header"}
	}
	if netipc.HeaderLen+int(h.PayloadLen) != len(msg) {
		return &netipc.ArgError{Reason: "SHM message length disagrees with its payload_len"}
	}
	if atomic.LoadInt32(r.i32(r.peerClosedOff())) != 0 {
		return errPeerClosed
	}
	seq, length, peerWaiting := r.txWords()
	copy(r.mem[r.txOff:r.txOff+len(msg)], msg)
	atomic.StoreInt32(r.i32(length), int32(len(msg)))
	atomic.AddInt64(r.i64(seq), 1)
	if r.hybrid && atomic.LoadInt32(r.i32(peerWaiting)) != 0 {
		if err := windows.SetEvent(r.txEvent); err != nil {
			return sys.Wrap("SetEvent", err)
		}
	}
	r.inFlight = r.role == RoleClient
	return nil
}

// Recv waits for the peer's next message and copies it (header + payload)
// into out[:0], returning the extended slice. hangup (may be nil) is asked
// between wait slices whether the session pipe is gone.
//
// It fails with netipc.ErrTimeout at deadline, netipc.ErrAborted when
// abort fires, netipc.ErrPeerClosed when the peer set its close flag or
// hangup reports true, and ViolationShmLength (or a *DecodeError) for a
// bad publication, which poisons the region. After a timeout or an abort
// the message may still arrive: Recv can be called again.
func (r *Region) Recv(out []byte, deadline time.Time, abort *transport.Abort, hangup func() bool) ([]byte, error) {
	out = out[:0]
	if err := shmturn.CheckRecv(r.turn()); err != nil {
		return out, err
	}
	if err := abort.Check(); err != nil {
		return out, err
	}
	seq, err := r.waitAdvance(deadline, abort, hangup)
	if err != nil {
		return out, err
	}
	out, err = r.consume(out, seq)
	if err != nil {
		r.poisoned = err
		return out[:0], err
	}
	r.inFlight = r.role == RoleServer
	return out, nil
}

// check runs the between-waits checks: abort, deadline, peer close flag,
// hang-up. It returns the time left (negative: no deadline).
func (r *Region) check(deadline time.Time, abort *transport.Abort, hangup func() bool) (time.Duration, error) {
	if err := abort.Check(); err != nil {
		return 0, err
	}
	left, err := sys.Remaining(deadline)
	if err != nil {
		return 0, err
	}
	if atomic.LoadInt32(r.i32(r.peerClosedOff())) != 0 {
		return 0, errPeerClosed
	}
	if hangup != nil && hangup() {
		return 0, fmt.Errorf("%w (SHM peer hung up)", netipc.ErrPeerClosed)
	}
	return left, nil
}

// spinChecksPerYield: a SHM_HYBRID spin yields its CPU once every that
// many checks, as the POSIX spin does: a peer sharing the CPU (a loaded
// host) then answers within the spin instead of after it (on Linux this
// doubled one-CPU ping-pong throughput; a peer on its own CPU answers
// within the first checks anyway).
const spinChecksPerYield = 32

func (r *Region) waitAdvance(deadline time.Time, abort *transport.Abort, hangup func() bool) (int64, error) {
	seqOff, _, waitingOff, _ := r.rxWords()
	seqWord, waiting := r.i64(seqOff), r.i32(waitingOff)
	seen := r.rxSeen
	if r.hybrid {
		for i := uint32(0); i < r.layout.SpinTries; i++ {
			if s := atomic.LoadInt64(seqWord); s != seen {
				return s, nil
			}
			if i%spinChecksPerYield == spinChecksPerYield-1 {
				sys.Yield()
			} else {
				sys.Pause()
			}
		}
		for {
			atomic.StoreInt32(waiting, 1)
			if s := atomic.LoadInt64(seqWord); s != seen {
				atomic.StoreInt32(waiting, 0)
				return s, nil
			}
			left, err := r.check(deadline, abort, hangup)
			if err != nil {
				atomic.StoreInt32(waiting, 0)
				return 0, err
			}
			slice := WaitSlice
			if left >= 0 && left < slice {
				slice = left
			}
			_, err = sys.Wait(r.rxEvent, time.Now().Add(slice), abort)
			atomic.StoreInt32(waiting, 0)
			if s := atomic.LoadInt64(seqWord); s != seen {
				return s, nil
			}
			if err != nil && !errors.Is(err, netipc.ErrTimeout) {
				return 0, err
			}
		}
	}
	lastCheck := time.Now()
	for i := uint32(1); ; i++ {
		if s := atomic.LoadInt64(seqWord); s != seen {
			return s, nil
		}
		if i&BusyWaitPollMask != 0 {
			sys.Pause()
			continue
		}
		// The pipe probe is a system call: at most every few milliseconds.
		probe := hangup
		if now := time.Now(); now.Sub(lastCheck) >= 10*time.Millisecond {
			lastCheck = now
		} else {
			probe = nil
		}
		if _, err := r.check(deadline, abort, probe); err != nil {
			return 0, err
		}
		runtime.Gosched()
	}
}

// consume validates the published length, copies the message out,
// re-reads sequence and length (a change during the copy is a violation)
// and validates the message header against the length.
func (r *Region) consume(out []byte, seq int64) ([]byte, error) {
	seqOff, lenOff, _, _ := r.rxWords()
	if seq != r.rxSeen+1 {
		return out, netipc.ViolationShmLength
	}
	n := int(atomic.LoadInt32(r.i32(lenOff)))
	if n < netipc.HeaderLen || n > r.rxCap {
		return out, netipc.ViolationShmLength
	}
	out = append(out, r.mem[r.rxOff:r.rxOff+n]...)
	if atomic.LoadInt64(r.i64(seqOff)) != seq || int(atomic.LoadInt32(r.i32(lenOff))) != n {
		return out, netipc.ViolationShmLength
	}
	r.rxSeen = seq
	var h wire.Header // decoded in place: no block copy of fresh stores
	if err := wire.DecodeHeaderInto(&h, out); err != nil {
		return out, err
	}
	if netipc.HeaderLen+int(h.PayloadLen) != n {
		return out, netipc.ViolationShmLength
	}
	return out, nil
}

// Close sets this side's close flag, wakes the peer (SHM_HYBRID), unmaps
// the view and closes every handle. Kernel objects vanish with the last
// handle.
func (r *Region) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.mem != nil {
		flag := offReqClientClosed
		if r.role == RoleServer {
			flag = offRespServerClosed
		}
		atomic.StoreInt32(r.i32(flag), 1)
		if r.hybrid && r.txEvent != 0 {
			_ = windows.SetEvent(r.txEvent)
		}
	}
	return r.release()
}

func (r *Region) release() error {
	var err error
	r.mem = nil
	if r.addr != 0 {
		err = windows.UnmapViewOfFile(r.addr)
		r.addr = 0
	}
	for _, h := range []*windows.Handle{&r.mapping, &r.rxEvent, &r.txEvent} {
		if *h != 0 {
			_ = windows.CloseHandle(*h)
			*h = 0
		}
	}
	return err
}
