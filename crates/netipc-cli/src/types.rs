//! Shared protocol enums and helpers used by the host providers and the
//! JSON datasets.
//!
//! The numeric values are the wire values of the NetIPC specification
//! (`codec-cgroups-lookup.md`, `codec-apps-lookup.md`); the names are the
//! specification names, which are also the names used in JSON.

use std::fmt;

/// `NIPC_UID_UNSET`: the uid of a process whose uid is not known.
pub const UID_UNSET: u32 = 0xFFFF_FFFF;

/// The JSON spelling of [`UID_UNSET`].
pub const UID_UNSET_NAME: &str = "NIPC_UID_UNSET";

/// Maximum length in bytes of a process `comm` on the wire.
pub const COMM_MAX: usize = 15;

/// Netdata's `simple_hash()`: 32-bit FNV-1 over the bytes of `name`
/// (start at `0x811c9dc5`; for each byte multiply by `16777619`, wrapping,
/// then XOR the byte).
pub fn simple_hash(name: &[u8]) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for &b in name {
        hash = hash.wrapping_mul(16_777_619);
        hash ^= u32::from(b);
    }
    hash
}

/// The shared orchestrator enum. Any `u16` is representable: decoders must
/// accept values this program does not know and pass them through.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Orchestrator(pub u16);

impl Orchestrator {
    /// 0: not known / not applicable.
    pub const UNKNOWN: Self = Self(0);
    /// 1: a systemd unit.
    pub const SYSTEMD: Self = Self(1);
    /// 2: a Docker container.
    pub const DOCKER: Self = Self(2);
    /// 3: a Kubernetes pod or container.
    pub const K8S: Self = Self(3);
    /// 4: a KVM/QEMU virtual machine.
    pub const KVM: Self = Self(4);
    /// 5: an LXC container.
    pub const LXC: Self = Self(5);
    /// 6: a Podman container.
    pub const PODMAN: Self = Self(6);
    /// 7: a systemd-nspawn container.
    pub const NSPAWN: Self = Self(7);

    const NAMES: [&'static str; 8] = [
        "UNKNOWN", "SYSTEMD", "DOCKER", "K8S", "KVM", "LXC", "PODMAN", "NSPAWN",
    ];

    /// The specification name of this value, or `None` for a value this
    /// program does not know.
    pub fn name(self) -> Option<&'static str> {
        Self::NAMES.get(usize::from(self.0)).copied()
    }

    /// Parses a specification name (exact, upper case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u16::try_from(i).ok())
            .map(Self)
    }

    /// All the names this program knows, in value order.
    pub fn known_names() -> &'static [&'static str] {
        &Self::NAMES
    }
}

impl fmt::Display for Orchestrator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "{}", self.0),
        }
    }
}

impl serde::Serialize for Orchestrator {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.name() {
            Some(n) => s.serialize_str(n),
            None => s.serialize_u16(self.0),
        }
    }
}

/// Declares a closed status enum with its wire values and names.
macro_rules! status_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $value:expr, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant = $value,)*
        }

        impl $name {
            /// Every value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The wire value.
            pub fn value(self) -> u16 {
                self as u16
            }

            /// The value for a wire value, `None` when it is not defined.
            pub fn from_value(v: u16) -> Option<Self> {
                Self::ALL.iter().copied().find(|s| s.value() == v)
            }

            /// The specification name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// Parses a specification name (exact, upper case).
            pub fn from_name(name: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|s| s.name() == name)
            }

            /// All names, comma separated, for error messages.
            pub fn names_list() -> String {
                Self::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.name())
            }
        }
    };
}

status_enum! {
    /// Per-item status of a `CGROUPS_LOOKUP` response item.
    LookupStatus {
        /// The path is known; name, orchestrator and labels are meaningful.
        Known = 0, "KNOWN";
        /// Not known yet; ask again later.
        UnknownRetryLater = 1, "UNKNOWN_RETRY_LATER";
        /// Not known and will not become known in this generation.
        UnknownPermanent = 2, "UNKNOWN_PERMANENT";
        /// The response budget ran out at this item (transport outcome).
        PayloadExceeded = 3, "PAYLOAD_EXCEEDED";
        /// The item alone does not fit the maximum payload (final outcome).
        OversizedItem = 4, "OVERSIZED_ITEM";
    }
}

status_enum! {
    /// Per-item PID status of an `APPS_LOOKUP` response item.
    PidStatus {
        /// The PID is known.
        Known = 0, "KNOWN";
        /// The provider does not know the PID.
        Unknown = 1, "UNKNOWN";
        /// The response budget ran out at this item (transport outcome).
        PayloadExceeded = 2, "PAYLOAD_EXCEEDED";
        /// The item alone does not fit the maximum payload (final outcome).
        OversizedItem = 3, "OVERSIZED_ITEM";
    }
}

status_enum! {
    /// Cgroup status of an `APPS_LOOKUP` response item.
    CgroupStatus {
        /// The process's cgroup is known; name, orchestrator, labels apply.
        Known = 0, "KNOWN";
        /// The cgroup is not (yet) known; ask again later.
        UnknownRetryLater = 1, "UNKNOWN_RETRY_LATER";
        /// The cgroup will not become known in this generation.
        UnknownPermanent = 2, "UNKNOWN_PERMANENT";
        /// The process lives in the host's root cgroup.
        HostRoot = 3, "HOST_ROOT";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_hash_is_fnv1() {
        assert_eq!(simple_hash(b""), 0x811c_9dc5);
        // FNV-1 32-bit reference values.
        assert_eq!(simple_hash(b"a"), 0x050c_5d7e);
        assert_eq!(simple_hash(b"foobar"), 0x31f0_b262);
    }

    #[test]
    fn orchestrator_names() {
        assert_eq!(Orchestrator::K8S.name(), Some("K8S"));
        assert_eq!(Orchestrator::from_name("NSPAWN"), Some(Orchestrator(7)));
        assert_eq!(Orchestrator::from_name("nspawn"), None);
        assert_eq!(Orchestrator(99).name(), None);
        assert_eq!(Orchestrator(99).to_string(), "99");
        assert_eq!(
            serde_json::to_string(&Orchestrator(2)).unwrap(),
            "\"DOCKER\""
        );
        assert_eq!(serde_json::to_string(&Orchestrator(300)).unwrap(), "300");
    }

    #[test]
    fn status_values_and_names() {
        assert_eq!(LookupStatus::OversizedItem.value(), 4);
        assert_eq!(PidStatus::from_value(1), Some(PidStatus::Unknown));
        assert_eq!(PidStatus::from_value(4), None);
        assert_eq!(
            CgroupStatus::from_name("HOST_ROOT"),
            Some(CgroupStatus::HostRoot)
        );
        assert_eq!(CgroupStatus::HostRoot.value(), 3);
        assert_eq!(
            serde_json::to_string(&LookupStatus::UnknownRetryLater).unwrap(),
            "\"UNKNOWN_RETRY_LATER\""
        );
    }
}
