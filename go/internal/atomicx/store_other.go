//go:build !amd64 && !arm64

package atomicx

import "sync/atomic"

// StoreRel32 stores v into *addr with (at least) release ordering.
func StoreRel32(addr *uint32, v uint32) { atomic.StoreUint32(addr, v) }

// StoreRel64 stores v into *addr with (at least) release ordering.
func StoreRel64(addr *uint64, v uint64) { atomic.StoreUint64(addr, v) }
