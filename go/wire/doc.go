// Package wire is the Level 1 framing of NetIPC as pure bytes: the 32-byte
// outer message header, the 32-byte chunk continuation header and the
// chunking arithmetic, the batch item directory, the HELLO / HELLO_ACK
// handshake payloads and the pure server-side handshake decision
// (Negotiate).
//
// Nothing here performs I/O; the transports move the bytes these types
// produce and validate. Decoders never panic on hostile input: they return
// a *netipc.DecodeError naming the broken rule (errors.Is(err,
// netipc.ErrProtocol) holds).
package wire
