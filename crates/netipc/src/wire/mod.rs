//! Level 1 wire framing: pure byte layouts shared by every transport.
//!
//! Nothing here performs I/O. Transports move the bytes these types
//! produce and validate.

pub mod batch;
pub mod chunk;
pub mod header;
pub mod hello;

pub use batch::{BatchBuilder, BatchView};
pub use chunk::{ChunkHeader, ChunkPlan};
pub use header::{Header, Limits};
pub use hello::{Hello, HelloAck, Negotiation, ServerOffer, negotiate};
