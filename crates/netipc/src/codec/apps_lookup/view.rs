//! Zero-copy response and item views with the item validation rules.

use crate::error::DecodeError;
use crate::protocol::ITEM_ALIGN;

use crate::codec::lookup::directory::{rd_u16, rd_u32, rd_u64, us};
use crate::codec::lookup::item::{check_reserved, item_header, item_status, item_strings};
use crate::codec::lookup::labels::{Span, check_labels};
use crate::codec::lookup::{CgroupStatus, Orchestrator, PidStatus, item_labels, response_view};

use super::{
    APPS_LOOKUP_COMM_MAX_LEN, APPS_LOOKUP_ITEM_HDR_SIZE, APPS_LOOKUP_MIN_ITEM_SIZE, AppsLookupItem,
    AppsLookupResponse, ITEM_CGROUP_STATUS_OFF, ITEM_COMM_LEN, ITEM_COMM_OFF, ITEM_LABEL_COUNT,
    ITEM_NAME_LEN, ITEM_NAME_OFF, ITEM_ORCH_OFF, ITEM_PATH_LEN, ITEM_PATH_OFF, ITEM_PID_OFF,
    ITEM_PPID_OFF, ITEM_RESERVED0_OFF, ITEM_RESERVED1_OFF, ITEM_STARTTIME_OFF, ITEM_STATUS_OFF,
    ITEM_UID_OFF, ITEM_WHAT, MINIMAL_ITEM, RESP_WHAT, UID_UNSET,
};

response_view! {
    /// A decoded `APPS_LOOKUP` response.
    ///
    /// **Borrowed / ephemeral**: the view borrows the payload bytes it was
    /// decoded from and is valid only while that buffer is alive and
    /// unchanged. For a Level 2 client it is valid until the next typed call on
    /// the same client (or its close); with caller-managed buffers, until the
    /// caller reuses or frees them. Copy what you need (or call
    /// [`to_owned`](Self::to_owned)) immediately if it is needed later.
    ///
    /// Decoding validates everything eagerly without allocating, so item and
    /// label access afterwards is infallible.
    pub struct AppsLookupResponseView;
    /// Decodes and fully validates a response payload.
    ///
    /// Rejects (error variant in parentheses): truncated header or
    /// directory (`Truncated`); layout other than 1 in the header or an
    /// item (`BadLayoutVersion`); non-zero flags or reserved fields
    /// (`NonZeroReserved`); directory overflow or item ranges out of
    /// bounds (`OutOfBounds`); overlapping or out-of-order item ranges
    /// (`Overlap`); unaligned item offsets (`BadAlignment`); items shorter
    /// than 60 bytes (`Truncated`); unknown PID or cgroup status values
    /// (`UnknownStatus`); `comm_length > 15`, or 0 for a known PID
    /// (`BadLength`); PID-status and cgroup-status field rules
    /// (`InvalidField`); string offsets before byte 60 and strings out of
    /// bounds (`OutOfBounds`); missing NULs (`MissingNul`); interior NULs
    /// (`InteriorNul`); overlapping strings including their NULs
    /// (`Overlap`); and every label-table rule (see the `lookup` module).
    decode(RESP_WHAT, APPS_LOOKUP_ITEM_HDR_SIZE, ITEM_WHAT);
    item: AppsLookupItemView, "apps lookup item index out of range";
    iter: AppsLookupItems;
    owned: AppsLookupResponse;
}

/// One decoded `APPS_LOOKUP` response item.
///
/// **Borrowed / ephemeral**: same lifetime contract as the
/// [`AppsLookupResponseView`] it came from; its strings point into the
/// payload bytes. Copy them (or call [`to_owned`](Self::to_owned)) if they
/// are needed after the buffer may be reused.
#[derive(Debug, Clone, Copy)]
pub struct AppsLookupItemView<'a> {
    item: &'a [u8],
    status: PidStatus,
    cgroup_status: CgroupStatus,
    comm: &'a [u8],
    cgroup_path: &'a [u8],
    cgroup_name: &'a [u8],
    label_count: usize,
    pub(super) table: usize,
}

/// Builds an `InvalidField` error.
#[inline]
fn invalid(rule: &'static str) -> DecodeError {
    DecodeError::InvalidField { rule }
}

impl<'a> AppsLookupItemView<'a> {
    /// Validates one item (at least 60 bytes, checked by the caller).
    ///
    /// Inlined into its one caller, the response decoder, which only
    /// needs the verdict: the view fields are then never computed.
    #[inline(always)]
    fn parse_checked(item: &'a [u8]) -> Result<Self, DecodeError> {
        let h = item_header::<APPS_LOOKUP_ITEM_HDR_SIZE>(item, ITEM_WHAT)?;
        let status = item_status(
            rd_u16(h, ITEM_STATUS_OFF),
            PidStatus::from_u16,
            PidStatus::WHAT,
        )?;
        let cgroup_status = item_status(
            rd_u16(h, ITEM_CGROUP_STATUS_OFF),
            CgroupStatus::from_u16,
            CgroupStatus::WHAT,
        )?;
        check_reserved(rd_u32(h, ITEM_RESERVED0_OFF), "item reserved0")?;
        check_reserved(u32::from(rd_u16(h, ITEM_RESERVED1_OFF)), "item reserved1")?;
        let orchestrator = rd_u16(h, ITEM_ORCH_OFF);
        let comm_len = rd_u32(h, ITEM_COMM_LEN);
        let path_len = rd_u32(h, ITEM_PATH_LEN);
        let name_len = rd_u32(h, ITEM_NAME_LEN);
        let label_count = usize::from(rd_u16(h, ITEM_LABEL_COUNT));
        if us(comm_len) > APPS_LOOKUP_COMM_MAX_LEN {
            return Err(DecodeError::BadLength {
                what: "comm_length must be <= 15",
            });
        }
        if status == PidStatus::Known {
            if comm_len == 0 {
                return Err(DecodeError::BadLength {
                    what: "comm_length must be 1..=15 for a KNOWN pid",
                });
            }
            check_cgroup_rules(cgroup_status, orchestrator, path_len, name_len, label_count)?;
        } else {
            check_unknown_pid_rules(
                item,
                cgroup_status,
                orchestrator,
                comm_len,
                path_len,
                name_len,
                label_count,
            )?;
        }
        let [comm, path, name] = item_strings(
            item,
            APPS_LOOKUP_ITEM_HDR_SIZE,
            [
                (rd_u32(h, ITEM_COMM_OFF), comm_len),
                (rd_u32(h, ITEM_PATH_OFF), path_len),
                (rd_u32(h, ITEM_NAME_OFF), name_len),
            ],
            ["comm", "cgroup_path", "cgroup_name"],
            "comm, cgroup_path and cgroup_name strings",
        )?;
        let table = check_labels(item, comm.end.max(path.end).max(name.end), label_count)?;
        Ok(Self::from_parts(
            item,
            status,
            cgroup_status,
            [comm, path, name],
            label_count,
            table,
        ))
    }

    /// The decoder's verdict on one item (at least 60 bytes, checked by
    /// the caller). An item byte-equal to the minimal shape encoders write
    /// for a non-`KNOWN` PID (status and PID aside) is accepted at once:
    /// [`parse_checked`](Self::parse_checked) accepts every such item, and
    /// judges all others.
    #[inline(always)]
    fn check(item: &'a [u8]) -> Result<(), DecodeError> {
        if is_minimal(item) {
            return Ok(());
        }
        Self::parse_checked(item).map(|_| ())
    }

    /// Re-reads an item that [`parse_checked`](Self::parse_checked) accepted.
    pub(crate) fn parse_trusted(item: &'a [u8]) -> Self {
        let comm = Span::trusted(item, ITEM_COMM_OFF, ITEM_COMM_LEN);
        let path = Span::trusted(item, ITEM_PATH_OFF, ITEM_PATH_LEN);
        let name = Span::trusted(item, ITEM_NAME_OFF, ITEM_NAME_LEN);
        let table = comm
            .end
            .max(path.end)
            .max(name.end)
            .next_multiple_of(ITEM_ALIGN);
        Self::from_parts(
            item,
            PidStatus::from_u16(rd_u16(item, ITEM_STATUS_OFF)).unwrap_or(PidStatus::Known),
            CgroupStatus::from_u16(rd_u16(item, ITEM_CGROUP_STATUS_OFF))
                .unwrap_or(CgroupStatus::Known),
            [comm, path, name],
            usize::from(rd_u16(item, ITEM_LABEL_COUNT)),
            table,
        )
    }

    #[inline(always)]
    fn from_parts(
        item: &'a [u8],
        status: PidStatus,
        cgroup_status: CgroupStatus,
        [comm, path, name]: [Span; 3],
        label_count: usize,
        table: usize,
    ) -> Self {
        AppsLookupItemView {
            item,
            status,
            cgroup_status,
            comm: comm.bytes(item),
            cgroup_path: path.bytes(item),
            cgroup_name: name.bytes(item),
            label_count,
            table,
        }
    }

    /// The PID status.
    #[inline]
    pub fn status(&self) -> PidStatus {
        self.status
    }

    /// The cgroup status (`KNOWN` = 0 when the PID is not known).
    #[inline]
    pub fn cgroup_status(&self) -> CgroupStatus {
        self.cgroup_status
    }

    /// The raw orchestrator value (unknown values are passed through).
    #[inline]
    pub fn orchestrator(&self) -> u16 {
        rd_u16(self.item, ITEM_ORCH_OFF)
    }

    /// The orchestrator as a known enum value, if it is one.
    #[inline]
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator())
    }

    /// The echoed request PID.
    #[inline]
    pub fn pid(&self) -> u32 {
        rd_u32(self.item, ITEM_PID_OFF)
    }

    /// The parent PID, or 0.
    #[inline]
    pub fn ppid(&self) -> u32 {
        rd_u32(self.item, ITEM_PPID_OFF)
    }

    /// The raw UID ([`UID_UNSET`] when not set).
    #[inline]
    pub fn uid(&self) -> u32 {
        rd_u32(self.item, ITEM_UID_OFF)
    }

    /// The UID, or `None` if it is [`UID_UNSET`].
    #[inline]
    pub fn uid_opt(&self) -> Option<u32> {
        Some(self.uid()).filter(|&u| u != UID_UNSET)
    }

    /// Start time in jiffies since boot (0 when unknown / non-Linux).
    #[inline]
    pub fn starttime(&self) -> u64 {
        rd_u64(self.item, ITEM_STARTTIME_OFF)
    }

    /// The process name (no NUL; 1..=15 bytes for a known PID).
    #[inline]
    pub fn comm(&self) -> &'a [u8] {
        self.comm
    }

    /// The cgroup path (no NUL; may be empty).
    #[inline]
    pub fn cgroup_path(&self) -> &'a [u8] {
        self.cgroup_path
    }

    /// The cgroup name (no NUL; may be empty).
    #[inline]
    pub fn cgroup_name(&self) -> &'a [u8] {
        self.cgroup_name
    }

    item_labels!();

    /// Copies the item into an owned [`AppsLookupItem`].
    pub fn to_owned(&self) -> AppsLookupItem {
        AppsLookupItem {
            status: self.status,
            cgroup_status: self.cgroup_status,
            orchestrator: self.orchestrator(),
            pid: self.pid(),
            ppid: self.ppid(),
            uid: self.uid(),
            starttime: self.starttime(),
            comm: self.comm.to_vec(),
            cgroup_path: self.cgroup_path.to_vec(),
            cgroup_name: self.cgroup_name.to_vec(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}

/// Cgroup-status field rules of a `KNOWN` PID item.
fn check_cgroup_rules(
    cgroup_status: CgroupStatus,
    orchestrator: u16,
    path_len: u32,
    name_len: u32,
    label_count: usize,
) -> Result<(), DecodeError> {
    let plain = |which: &'static str| -> Result<(), DecodeError> {
        if orchestrator != 0 {
            return Err(invalid(which));
        }
        if name_len != 0 || label_count != 0 {
            return Err(invalid(which));
        }
        Ok(())
    };
    match cgroup_status {
        CgroupStatus::Known if path_len == 0 => Err(invalid(
            "cgroup_path must not be empty when cgroup_status is KNOWN",
        )),
        CgroupStatus::Known => Ok(()),
        CgroupStatus::UnknownRetryLater => plain(
            "cgroup_status UNKNOWN_RETRY_LATER requires orchestrator 0, an empty cgroup_name and no labels",
        ),
        CgroupStatus::UnknownPermanent if path_len == 0 => Err(invalid(
            "cgroup_path must not be empty when cgroup_status is UNKNOWN_PERMANENT",
        )),
        CgroupStatus::UnknownPermanent => plain(
            "cgroup_status UNKNOWN_PERMANENT requires orchestrator 0, an empty cgroup_name and no labels",
        ),
        CgroupStatus::HostRoot if path_len != 0 => Err(invalid(
            "cgroup_path must be empty when cgroup_status is HOST_ROOT",
        )),
        CgroupStatus::HostRoot => plain(
            "cgroup_status HOST_ROOT requires orchestrator 0, an empty cgroup_name and no labels",
        ),
    }
}

/// The native-endian word of `b` at `at` (`at + 8 <= b.len()`; constant
/// at every use).
const fn minimal_word(b: &[u8; APPS_LOOKUP_MIN_ITEM_SIZE], at: usize) -> u64 {
    u64::from_ne_bytes([
        b[at],
        b[at + 1],
        b[at + 2],
        b[at + 3],
        b[at + 4],
        b[at + 5],
        b[at + 6],
        b[at + 7],
    ])
}

/// The masks clearing the status bytes (in the word at 0) and the PID
/// bytes (in the word at 8).
const MINIMAL_MASKS: (u64, u64) = {
    let mut mask = [0xFFu8; APPS_LOOKUP_MIN_ITEM_SIZE];
    mask[ITEM_STATUS_OFF] = 0;
    mask[ITEM_STATUS_OFF + 1] = 0;
    let mut i = 0;
    while i < 4 {
        mask[ITEM_PID_OFF + i] = 0;
        i += 1;
    }
    (minimal_word(&mask, 0), minimal_word(&mask, 8))
};

/// The words of [`MINIMAL_ITEM`] at 0, 8, ..., 48 and 55 (the last one
/// overlapping), the first two masked.
const MINIMAL_WORDS: [u64; 8] = [
    minimal_word(&MINIMAL_ITEM, 0) & MINIMAL_MASKS.0,
    minimal_word(&MINIMAL_ITEM, 8) & MINIMAL_MASKS.1,
    minimal_word(&MINIMAL_ITEM, 16),
    minimal_word(&MINIMAL_ITEM, 24),
    minimal_word(&MINIMAL_ITEM, 32),
    minimal_word(&MINIMAL_ITEM, 40),
    minimal_word(&MINIMAL_ITEM, 48),
    minimal_word(&MINIMAL_ITEM, APPS_LOOKUP_MIN_ITEM_SIZE - 8),
];

/// Whether `item` is [`MINIMAL_ITEM`] with a non-`KNOWN` PID status and
/// any PID: eight word compares, no copy of the item.
#[inline(always)]
fn is_minimal(item: &[u8]) -> bool {
    let Ok(it) = <&[u8; APPS_LOOKUP_MIN_ITEM_SIZE]>::try_from(item) else {
        return false;
    };
    let w = MINIMAL_WORDS;
    let diff = ((minimal_word(it, 0) & MINIMAL_MASKS.0) ^ w[0])
        | ((minimal_word(it, 8) & MINIMAL_MASKS.1) ^ w[1])
        | (minimal_word(it, 16) ^ w[2])
        | (minimal_word(it, 24) ^ w[3])
        | (minimal_word(it, 32) ^ w[4])
        | (minimal_word(it, 40) ^ w[5])
        | (minimal_word(it, 48) ^ w[6])
        | (minimal_word(it, APPS_LOOKUP_MIN_ITEM_SIZE - 8) ^ w[7]);
    let status = rd_u16(it, ITEM_STATUS_OFF);
    diff == 0 && PidStatus::from_u16(status).is_some_and(|s| s != PidStatus::Known)
}

/// Field rules of an `UNKNOWN`, `PAYLOAD_EXCEEDED` or `OVERSIZED_ITEM` item.
fn check_unknown_pid_rules(
    item: &[u8],
    cgroup_status: CgroupStatus,
    orchestrator: u16,
    comm_len: u32,
    path_len: u32,
    name_len: u32,
    label_count: usize,
) -> Result<(), DecodeError> {
    if orchestrator != 0 {
        return Err(invalid(
            "orchestrator must be 0 when pid status is not KNOWN",
        ));
    }
    if cgroup_status != CgroupStatus::Known {
        return Err(invalid(
            "cgroup_status must be 0 when pid status is not KNOWN",
        ));
    }
    if rd_u32(item, ITEM_PPID_OFF) != 0 {
        return Err(invalid("ppid must be 0 when pid status is not KNOWN"));
    }
    if rd_u32(item, ITEM_UID_OFF) != UID_UNSET {
        return Err(invalid(
            "uid must be UID_UNSET when pid status is not KNOWN",
        ));
    }
    if rd_u64(item, ITEM_STARTTIME_OFF) != 0 {
        return Err(invalid("starttime must be 0 when pid status is not KNOWN"));
    }
    if comm_len != 0 || path_len != 0 || name_len != 0 {
        return Err(invalid(
            "strings must be empty when pid status is not KNOWN",
        ));
    }
    if label_count != 0 {
        return Err(invalid(
            "label_count must be 0 when pid status is not KNOWN",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The minimal-item shortcut never changes a verdict: for every
    /// single-byte change of the minimal item (and the template itself,
    /// with every status value), `check` agrees with `parse_checked`.
    #[test]
    fn minimal_shortcut_agrees_with_the_full_check() {
        let verdict = |it: &[u8]| AppsLookupItemView::parse_checked(it).map(|_| ());
        let mut accepted = 0;
        for status in 0..=u16::from(u8::MAX) {
            let mut it = MINIMAL_ITEM;
            it[ITEM_STATUS_OFF..ITEM_STATUS_OFF + 2].copy_from_slice(&status.to_ne_bytes());
            it[ITEM_PID_OFF..ITEM_PID_OFF + 4].copy_from_slice(&4242u32.to_ne_bytes());
            assert_eq!(
                AppsLookupItemView::check(&it),
                verdict(&it),
                "status {status}"
            );
            let known = PidStatus::from_u16(status) == Some(PidStatus::Known);
            assert_eq!(is_minimal(&it), !known && verdict(&it).is_ok());
            accepted += usize::from(is_minimal(&it));
        }
        assert!(accepted >= 3, "the shortcut takes the non-KNOWN statuses");
        for at in 0..APPS_LOOKUP_MIN_ITEM_SIZE {
            for v in 0..=u8::MAX {
                let mut it = MINIMAL_ITEM;
                it[at] = v;
                assert_eq!(
                    AppsLookupItemView::check(&it),
                    verdict(&it),
                    "byte {at} = {v}"
                );
            }
        }
        // Longer or shorter items never take the shortcut.
        let mut long = MINIMAL_ITEM.to_vec();
        long.push(0);
        assert!(!is_minimal(&long) && !is_minimal(&MINIMAL_ITEM[..62]));
    }
}
