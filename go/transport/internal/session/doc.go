//go:build linux || windows

// Package session is the platform-neutral part of a NetIPC Level 1
// session, shared by the UDS (Linux) and Named Pipe (Windows) transports:
// message and in-flight tracking, chunked sending and reassembly over a
// packet connection, the SHM data-plane switch, and the handshake
// helpers. The packet connection (Conn) and the shared-memory region
// (Region) are concrete types per platform (conn_linux.go,
// conn_windows.go): the hot path makes direct calls, and a caller's
// payload never escapes to the heap.
package session
