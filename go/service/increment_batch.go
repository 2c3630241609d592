package service

import (
	"netipc.local/netipc"
	"netipc.local/netipc/codec"
	"netipc.local/netipc/wire"
)

// NewIncrementBatchServer starts an INCREMENT server whose handler answers
// all the values of a request at once: values holds them in item order
// (one for a single request) and the handler replaces each with its
// answer. Requests and answers on the wire are those of NewIncrementServer;
// what changes is the cost of a batch item, one loop iteration of the
// handler instead of one call of it (in Go, calling a function value can
// not be inlined: with the per-value handler the call and the values it
// forces back to memory cost more than the answer itself).
//
// An error from the handler fails the whole request with INTERNAL_ERROR
// (LIMIT_EXCEEDED for one wrapping ErrLimitExceeded), and the session
// ends. Unlike the per-value handler, the handler is not called for a
// request that is refused anyway: a malformed item, or a batch whose
// answer would not fit the response budget (LIMIT_EXCEEDED with the
// whole answer's size, which the learned budget grows to). values is
// valid only during the call. Handlers run concurrently on the session
// goroutines.
func NewIncrementBatchServer(cfg ServerConfig, handler func(values []uint64) error) (*Server, error) {
	return startServer(cfg, incrementBatchService{handler})
}

// NewIncrementBatchDispatcher is the in-process form of
// NewIncrementBatchServer (single requests, as every LocalDispatcher).
func NewIncrementBatchDispatcher(handler func(values []uint64) error, responseBudget uint32) *LocalDispatcher {
	return newLocal(incrementBatchService{handler}, responseBudget)
}

type incrementBatchService struct {
	h func(values []uint64) error
}

func (incrementBatchService) kind() ServiceKind { return KindIncrement }
func (incrementBatchService) batchable() bool   { return true }
func (s incrementBatchService) session(ic *itemCtx) func([]byte) ([]byte, fault) {
	var buf [codec.IncrementPayloadSize]byte
	var one [1]uint64
	return func(item []byte) ([]byte, fault) {
		v, err := codec.DecodeIncrement(item)
		if err != nil {
			return nil, fault{kind: faultMalformed}
		}
		one[0] = v
		if err := s.h(one[:]); err != nil {
			return nil, handlerFault(err, ic)
		}
		buf = codec.EncodeIncrement(one[0])
		return buf[:], fault{}
	}
}

// batch answers a batch of INCREMENT requests (the directory within the
// response budget) into tx: the values are decoded into the session's
// scratch (at most one per 8 bytes of the request: within the request
// budget), answered by one handler call and written as the client writes
// a request batch.
func (s incrementBatchService) batch(v wire.BatchView, ic *itemCtx, tx []byte) ([]byte, fault) {
	count := v.Len()
	size := uint64(count) * (netipc.DirEntrySize + codec.IncrementPayloadSize)
	if size > uint64(ic.responseBudget) {
		return tx, fault{kind: faultResponseTooLarge, needed: size}
	}
	if cap(ic.values) < count {
		ic.values = make([]uint64, count)
	}
	values := ic.values[:count]
	if decodeIncrementItems(values, v) >= 0 {
		return tx, fault{kind: faultMalformed}
	}
	if err := s.h(values); err != nil {
		return tx, handlerFault(err, ic)
	}
	out, err := appendIncrementBatch(tx[:0], values)
	if err != nil {
		return tx, fault{kind: faultHandler}
	}
	return out, fault{}
}
