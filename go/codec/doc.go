// Package codec holds the typed payload codecs of every NetIPC method:
// owned types, encoders, response builders and zero-copy View decoders for
// INCREMENT, STRING_REVERSE, CGROUPS_SNAPSHOT, CGROUPS_LOOKUP and
// APPS_LOOKUP.
//
// The codec is pure bytes: it never sees the outer envelope, the batch
// directory or any transport, and never performs I/O.
//
// # Views are borrowed
//
// Every type whose name contains View aliases the payload buffer it was
// decoded from: its []byte fields and accessors return sub-slices of that
// buffer (capacity-limited, so appending to them never writes into the
// buffer). A view is valid only while that buffer is alive and unchanged:
//
//   - direct codec use: as long as the caller keeps the buffer unchanged;
//   - a Level 2 client: until the next typed call on the same client, or
//     its Close;
//   - a Level 2 server handler: only for the duration of that handler call.
//
// Copy immediately (ToOwned, CopyInto) if the data is needed later.
// Decoding validates everything eagerly and does not allocate; accessors
// on a decoded view cannot fail.
//
// Encoders append to a caller-supplied []byte (pass nil or a reused
// buffer[:0]) and return the extended slice, so steady-state encoding does
// not allocate. Builders own and reuse one internal buffer.
package codec
