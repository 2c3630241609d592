//! Kernel object names of one Win SHM session:
//! `Local\netipc-{hash:016x}-{service}-p{profile}-s{session_id:016x}-{mapping,req_event,resp_event}`
//! where `hash` is FNV-1a 64 over `run_dir + "\n" + service + "\n" +
//! auth_token` (the token in decimal), so only peers sharing the token
//! derive the same names.

use crate::error::{Error, Result};
use crate::transport::endpoint::{Endpoint, fnv1a64, validate_service_name};

/// Longest kernel object name accepted (characters, prefix included).
pub const OBJECT_NAME_MAX: usize = 260;

/// The three NUL-terminated UTF-16 names of one session's objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShmNames {
    pub mapping: String,
    pub req_event: String,
    pub resp_event: String,
}

/// FNV-1a 64 of `run_dir + "\n" + service + "\n" + auth_token`.
pub(crate) fn object_hash(run_dir: &str, service: &str, auth_token: u64) -> u64 {
    let input = format!("{run_dir}\n{service}\n{auth_token}");
    fnv1a64(input.as_bytes())
}

impl ShmNames {
    /// Derives the names of session `session_id` of `endpoint` under the
    /// selected `profile`. The run dir is hashed as the UTF-8 bytes of its
    /// path, exactly as written (as for the pipe name). Service names
    /// outside `[A-Za-z0-9._-]` and names over [`OBJECT_NAME_MAX`]
    /// characters are rejected.
    pub(crate) fn new(
        endpoint: &Endpoint,
        auth_token: u64,
        profile: u32,
        session_id: u64,
    ) -> Result<ShmNames> {
        let service = endpoint.service();
        validate_service_name(service)?;
        let dir = endpoint.run_dir().to_string_lossy();
        let hash = object_hash(&dir, service, auth_token);
        let base = format!(r"Local\netipc-{hash:016x}-{service}-p{profile}-s{session_id:016x}");
        let names = ShmNames {
            mapping: format!("{base}-mapping"),
            req_event: format!("{base}-req_event"),
            resp_event: format!("{base}-resp_event"),
        };
        // `-resp_event` is the longest suffix.
        if names.resp_event.len() > OBJECT_NAME_MAX {
            return Err(Error::InvalidArgument("SHM object name too long"));
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_an_independent_computation() {
        // Computed with Python:
        //   h = 0xcbf29ce484222325
        //   for b in b"C:\\netdata\\run\ncgroups-snapshot\n42":
        //       h = ((h ^ b) * 0x100000001b3) & (2**64 - 1)
        assert_eq!(
            object_hash(r"C:\netdata\run", "cgroups-snapshot", 42),
            FNV_EXPECTED
        );
    }

    const FNV_EXPECTED: u64 = 0xf9e5_3c35_6a2c_7b08;

    #[test]
    fn names_follow_the_pattern() {
        let ep = Endpoint::new(r"C:\netdata\run", "cgroups-snapshot").unwrap();
        let n = ShmNames::new(&ep, 42, 2, 0x1f).unwrap();
        let base =
            format!(r"Local\netipc-{FNV_EXPECTED:016x}-cgroups-snapshot-p2-s000000000000001f");
        assert_eq!(n.mapping, format!("{base}-mapping"));
        assert_eq!(n.req_event, format!("{base}-req_event"));
        assert_eq!(n.resp_event, format!("{base}-resp_event"));
        // The token changes the hash, the profile and session the suffix.
        let other = ShmNames::new(&ep, 43, 2, 0x1f).unwrap();
        assert_ne!(other.mapping, n.mapping);
        let busy = ShmNames::new(&ep, 42, 4, 0x1f).unwrap();
        assert!(busy.mapping.contains("-p4-s000000000000001f-"));
    }

    #[test]
    fn long_names_are_rejected() {
        let service = "s".repeat(220);
        let ep = Endpoint::new(r"C:\r", &service).unwrap();
        assert!(matches!(
            ShmNames::new(&ep, 1, 2, 1),
            Err(Error::InvalidArgument(_))
        ));
    }
}
