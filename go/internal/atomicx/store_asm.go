//go:build amd64 || arm64

package atomicx

// StoreRel32 stores v into *addr with release ordering: every memory
// write before it is visible to a reader that observes v.
//
//go:noescape
func StoreRel32(addr *uint32, v uint32)

// StoreRel64 stores v into *addr with release ordering: every memory
// write before it is visible to a reader that observes v.
//
//go:noescape
func StoreRel64(addr *uint64, v uint64)
