//! Unit tests of the UDS transport internals.
