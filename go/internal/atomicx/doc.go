// Package atomicx has release stores for words in memory shared with
// another process.
//
// sync/atomic's stores are sequentially consistent: on amd64 each one is
// an XCHG, a full barrier that waits until the cache line is owned. A
// publication in a shared-memory region needs only release ordering (the
// message bytes, then its length, then the sequence word, in that order
// for the reader), which on amd64 is a plain MOV (the hardware keeps
// stores in order) and on arm64 an STLR. The stores here are those, in
// assembly so the compiler can neither reorder nor elide them; other
// architectures fall back to sync/atomic.
package atomicx
