//! Client-side tracking of in-flight message ids (pipelining).
//!
//! A fixed-capacity set allocated once per session: submitting and
//! completing a request never allocates. Capacities are small (tens of
//! entries), so a linear scan beats hashing.

use crate::error::{Error, Limit, Result, Violation};

/// Default number of requests a client session may keep in flight.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 64;

/// Upper bound of a client's `max_in_flight`.
pub const MAX_IN_FLIGHT_LIMIT: usize = 65536;

/// The set of message ids sent and not yet answered.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    ids: Box<[u64]>,
    len: usize,
}

impl InFlight {
    /// An empty set holding at most `capacity` ids (at least 1).
    pub fn new(capacity: usize) -> Self {
        InFlight {
            ids: vec![0; capacity.max(1)].into_boxed_slice(),
            len: 0,
        }
    }

    /// The ids in flight, in no particular order.
    #[inline]
    pub fn as_slice(&self) -> &[u64] {
        &self.ids[..self.len]
    }

    /// Number of ids in flight.
    #[inline]
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether `id` is in flight.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.as_slice().contains(&id)
    }

    /// Checks that `id` could be inserted: not a duplicate, room left.
    pub fn check_insert(&self, id: u64) -> Result<()> {
        if self.contains(id) {
            return Err(Error::Protocol(Violation::DuplicateMessageId));
        }
        if self.len >= self.ids.len() {
            return Err(Error::LimitExceeded {
                limit: Limit::Local,
                max: self.ids.len() as u64,
                actual: self.len as u64 + 1,
            });
        }
        Ok(())
    }

    /// Inserts `id` (after [`InFlight::check_insert`]).
    pub fn insert(&mut self, id: u64) -> Result<()> {
        self.check_insert(id)?;
        self.ids[self.len] = id;
        self.len += 1;
        Ok(())
    }

    /// Removes `id`; `false` if it was not in flight.
    pub fn remove(&mut self, id: u64) -> bool {
        match self.as_slice().iter().position(|&x| x == id) {
            Some(i) => {
                self.len -= 1;
                self.ids.swap(i, self.len);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_duplicate_full() {
        let mut f = InFlight::new(3);
        f.insert(1).unwrap();
        f.insert(2).unwrap();
        assert!(matches!(
            f.insert(1),
            Err(Error::Protocol(Violation::DuplicateMessageId))
        ));
        f.insert(3).unwrap();
        assert!(matches!(
            f.insert(4),
            Err(Error::LimitExceeded {
                limit: Limit::Local,
                ..
            })
        ));
        assert!(f.remove(1));
        assert!(!f.remove(1));
        assert_eq!(f.len(), 2);
        let mut rest = f.as_slice().to_vec();
        rest.sort_unstable();
        assert_eq!(rest, [2, 3]);
        f.insert(4).unwrap();
        assert!(f.contains(4));
    }

    #[test]
    fn zero_capacity_is_one() {
        let mut f = InFlight::new(0);
        f.insert(9).unwrap();
        assert!(f.insert(10).is_err());
    }
}
