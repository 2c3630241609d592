//! Method payload codecs: owned types, encoders, response builders and
//! zero-copy `...View` decoders for every NetIPC method.
//!
//! The codec is pure bytes. It never sees the outer envelope, the batch
//! directory or any transport.

pub mod apps_lookup;
pub mod cgroups_lookup;
pub mod cgroups_snapshot;
pub mod corpus;
pub mod increment;
pub mod lookup;
pub mod string_reverse;
