//! Level 1 wire framing: pure byte layouts shared by every transport.
//!
//! Nothing here performs I/O. Transports move the bytes these types
//! produce and validate.
