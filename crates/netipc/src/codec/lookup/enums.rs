//! Closed enums of the lookup methods: per-item statuses and the shared
//! orchestrator values.
//!
//! Every enum converts from the raw wire `u16` with `from_u16` (returning
//! `None` for values the specification does not define), back with
//! `as_u16`, and to its specification name with `as_str` (`"KNOWN"`,
//! `"UNKNOWN_RETRY_LATER"`, ...), which is also what `Display` prints.

/// Defines one closed `u16` wire enum with its conversions.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $spec:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(u16)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value, )+
        }

        impl $name {
            /// Every defined value, in wire order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Converts a raw wire value; `None` if the value is not defined.
            #[inline]
            pub const fn from_u16(v: u16) -> Option<Self> {
                match v {
                    $( $value => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// The raw wire value.
            #[inline]
            pub const fn as_u16(self) -> u16 {
                self as u16
            }

            /// The specification name of the value.
            #[inline]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $spec, )+
                }
            }

            /// Parses a specification name (exact, case-sensitive).
            pub fn from_name(name: &str) -> Option<Self> {
                match name {
                    $( $spec => Some($name::$variant), )+
                    _ => None,
                }
            }

            /// Name of this enum in decode errors.
            #[allow(dead_code)]
            pub(crate) const WHAT: &'static str = $what;
        }

        impl From<$name> for u16 {
            #[inline]
            fn from(v: $name) -> u16 {
                v.as_u16()
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

wire_enum! {
    /// Per-item status of a `CGROUPS_LOOKUP` response item.
    ///
    /// Decoders reject values not listed here.
    LookupStatus, "cgroups lookup item status" {
        /// The provider knows the cgroup; name, labels and orchestrator are meaningful.
        Known = 0 => "KNOWN",
        /// Not known yet; asking again later may succeed.
        UnknownRetryLater = 1 => "UNKNOWN_RETRY_LATER",
        /// Not known and will not become known in this provider generation.
        UnknownPermanent = 2 => "UNKNOWN_PERMANENT",
        /// The response budget was reached at this item; Level 2 retries it.
        PayloadExceeded = 3 => "PAYLOAD_EXCEEDED",
        /// The item cannot fit by itself in the maximum budget; final outcome.
        OversizedItem = 4 => "OVERSIZED_ITEM",
    }
}

wire_enum! {
    /// PID status of an `APPS_LOOKUP` response item.
    ///
    /// Decoders reject values not listed here.
    PidStatus, "apps lookup pid status" {
        /// The provider knows the process.
        Known = 0 => "KNOWN",
        /// The provider does not know this PID.
        Unknown = 1 => "UNKNOWN",
        /// The response budget was reached at this item; Level 2 retries it.
        PayloadExceeded = 2 => "PAYLOAD_EXCEEDED",
        /// The item cannot fit by itself in the maximum budget; final outcome.
        OversizedItem = 3 => "OVERSIZED_ITEM",
    }
}

wire_enum! {
    /// Cgroup status of an `APPS_LOOKUP` response item (meaningful only
    /// when the PID status is `KNOWN`; `0` otherwise).
    ///
    /// Decoders reject values not listed here.
    CgroupStatus, "apps lookup cgroup status" {
        /// The process cgroup is known: path, name, labels, orchestrator.
        Known = 0 => "KNOWN",
        /// The cgroup is not known yet (the path may be empty).
        UnknownRetryLater = 1 => "UNKNOWN_RETRY_LATER",
        /// The cgroup path is known but will never be enriched.
        UnknownPermanent = 2 => "UNKNOWN_PERMANENT",
        /// The process lives in the host root cgroup.
        HostRoot = 3 => "HOST_ROOT",
    }
}

wire_enum! {
    /// Shared orchestrator values.
    ///
    /// The wire carries a raw `u16`: decoders accept values not listed here
    /// and expose them raw; use [`Orchestrator::from_u16`] to name known
    /// ones.
    Orchestrator, "orchestrator" {
        /// No orchestrator / not known.
        Unknown = 0 => "UNKNOWN",
        /// systemd.
        Systemd = 1 => "SYSTEMD",
        /// Docker.
        Docker = 2 => "DOCKER",
        /// Kubernetes.
        K8s = 3 => "K8S",
        /// KVM.
        Kvm = 4 => "KVM",
        /// LXC.
        Lxc = 5 => "LXC",
        /// Podman.
        Podman = 6 => "PODMAN",
        /// systemd-nspawn.
        Nspawn = 7 => "NSPAWN",
    }
}

/// Spec name of a raw orchestrator value, or `None` if it is not defined.
#[inline]
pub fn orchestrator_name(raw: u16) -> Option<&'static str> {
    Orchestrator::from_u16(raw).map(Orchestrator::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_values_and_names() {
        for &s in LookupStatus::ALL {
            assert_eq!(LookupStatus::from_u16(s.as_u16()), Some(s));
            assert_eq!(LookupStatus::from_name(s.as_str()), Some(s));
        }
        for &s in PidStatus::ALL {
            assert_eq!(PidStatus::from_u16(s.as_u16()), Some(s));
            assert_eq!(PidStatus::from_name(s.as_str()), Some(s));
        }
        for &s in CgroupStatus::ALL {
            assert_eq!(CgroupStatus::from_u16(s.as_u16()), Some(s));
            assert_eq!(CgroupStatus::from_name(s.as_str()), Some(s));
        }
        for &s in Orchestrator::ALL {
            assert_eq!(Orchestrator::from_u16(s.as_u16()), Some(s));
            assert_eq!(Orchestrator::from_name(s.as_str()), Some(s));
        }
        assert_eq!(LookupStatus::ALL.len(), 5);
        assert_eq!(PidStatus::ALL.len(), 4);
        assert_eq!(CgroupStatus::ALL.len(), 4);
        assert_eq!(Orchestrator::ALL.len(), 8);
    }

    #[test]
    fn unknown_values() {
        assert_eq!(LookupStatus::from_u16(5), None);
        assert_eq!(PidStatus::from_u16(4), None);
        assert_eq!(CgroupStatus::from_u16(4), None);
        assert_eq!(Orchestrator::from_u16(8), None);
        assert_eq!(orchestrator_name(3), Some("K8S"));
        assert_eq!(orchestrator_name(999), None);
        assert_eq!(LookupStatus::from_name("known"), None);
    }

    #[test]
    fn spec_names() {
        assert_eq!(
            LookupStatus::UnknownRetryLater.as_str(),
            "UNKNOWN_RETRY_LATER"
        );
        assert_eq!(LookupStatus::OversizedItem.to_string(), "OVERSIZED_ITEM");
        assert_eq!(PidStatus::PayloadExceeded.as_str(), "PAYLOAD_EXCEEDED");
        assert_eq!(CgroupStatus::HostRoot.as_str(), "HOST_ROOT");
        assert_eq!(Orchestrator::K8s.as_str(), "K8S");
        assert_eq!(u16::from(Orchestrator::Nspawn), 7);
        assert_eq!(PidStatus::OversizedItem.as_u16(), 3);
        assert_eq!(LookupStatus::OversizedItem.as_u16(), 4);
    }
}
