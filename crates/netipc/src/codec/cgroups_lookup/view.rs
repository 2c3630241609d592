//! Zero-copy response and item views with the item validation rules.

use crate::error::DecodeError;

use crate::codec::lookup::directory::{rd_u16, rd_u32};
use crate::codec::lookup::item::{check_reserved, item_header, item_status, item_strings};
use crate::codec::lookup::labels::{Span, check_labels};
use crate::codec::lookup::{LookupStatus, Orchestrator, item_labels, response_view};

use super::{
    CGROUPS_LOOKUP_ITEM_HDR_SIZE, CgroupsLookupItem, CgroupsLookupResponse, ITEM_LABEL_COUNT,
    ITEM_NAME_LEN, ITEM_NAME_OFF, ITEM_ORCH_OFF, ITEM_PATH_LEN, ITEM_PATH_OFF, ITEM_RESERVED0_OFF,
    ITEM_RESERVED1_OFF, ITEM_STATUS_OFF, ITEM_WHAT, RESP_WHAT,
};

response_view! {
    /// A decoded `CGROUPS_LOOKUP` response.
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
    pub struct CgroupsLookupResponseView;
    /// Decodes and fully validates a response payload.
    ///
    /// Rejects (error variant in parentheses): truncated header or
    /// directory (`Truncated`); layout other than 1 in the header or an
    /// item (`BadLayoutVersion`); non-zero flags or reserved fields
    /// (`NonZeroReserved`); directory overflow or item ranges out of
    /// bounds (`OutOfBounds`); overlapping or out-of-order item ranges
    /// (`Overlap`); unaligned item offsets (`BadAlignment`); items shorter
    /// than 28 bytes (`Truncated`); unknown status values
    /// (`UnknownStatus`); an empty path (`BadLength`); a non-`KNOWN` item
    /// with a non-zero orchestrator, a non-empty name or labels
    /// (`InvalidField`); string offsets before byte 28 and strings out of
    /// bounds (`OutOfBounds`); missing NULs (`MissingNul`); interior NULs
    /// (`InteriorNul`); overlapping strings including their NULs
    /// (`Overlap`); and every label-table rule (see the `lookup` module).
    decode(RESP_WHAT, CGROUPS_LOOKUP_ITEM_HDR_SIZE, ITEM_WHAT);
    item: CgroupsLookupItemView, "cgroups lookup item index out of range";
    iter: CgroupsLookupItems;
    owned: CgroupsLookupResponse;
}

/// One decoded `CGROUPS_LOOKUP` response item.
///
/// **Borrowed / ephemeral**: same lifetime contract as the
/// [`CgroupsLookupResponseView`] it came from; its strings point into the
/// payload bytes. Copy them (or call [`to_owned`](Self::to_owned)) if they
/// are needed after the buffer may be reused.
#[derive(Debug, Clone, Copy)]
pub struct CgroupsLookupItemView<'a> {
    item: &'a [u8],
    status: LookupStatus,
    orchestrator: u16,
    path: &'a [u8],
    name: &'a [u8],
    label_count: usize,
    pub(super) table: usize,
}

impl<'a> CgroupsLookupItemView<'a> {
    /// Validates one item (at least 28 bytes, checked by the caller).
    ///
    /// Inlined into its one caller, the response decoder, which only
    /// needs the verdict: the view fields are then never computed.
    #[inline(always)]
    fn parse_checked(item: &'a [u8]) -> Result<Self, DecodeError> {
        let h = item_header::<CGROUPS_LOOKUP_ITEM_HDR_SIZE>(item, ITEM_WHAT)?;
        let status = item_status(
            rd_u16(h, ITEM_STATUS_OFF),
            LookupStatus::from_u16,
            LookupStatus::WHAT,
        )?;
        let orchestrator = rd_u16(h, ITEM_ORCH_OFF);
        check_reserved(u32::from(rd_u16(h, ITEM_RESERVED0_OFF)), "item reserved0")?;
        check_reserved(u32::from(rd_u16(h, ITEM_RESERVED1_OFF)), "item reserved1")?;
        let path_len = rd_u32(h, ITEM_PATH_LEN);
        let name_len = rd_u32(h, ITEM_NAME_LEN);
        let label_count = usize::from(rd_u16(h, ITEM_LABEL_COUNT));
        if path_len == 0 {
            return Err(DecodeError::BadLength {
                what: "cgroups lookup path_length must be >= 1",
            });
        }
        if status != LookupStatus::Known {
            if orchestrator != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "orchestrator must be 0 when status is not KNOWN",
                });
            }
            if name_len != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "name must be empty when status is not KNOWN",
                });
            }
            if label_count != 0 {
                return Err(DecodeError::InvalidField {
                    rule: "label_count must be 0 when status is not KNOWN",
                });
            }
        }
        let [path, name] = item_strings(
            item,
            CGROUPS_LOOKUP_ITEM_HDR_SIZE,
            [
                (rd_u32(h, ITEM_PATH_OFF), path_len),
                (rd_u32(h, ITEM_NAME_OFF), name_len),
            ],
            ["path", "name"],
            "path and name strings",
        )?;
        let table = check_labels(item, path.end.max(name.end), label_count)?;
        Ok(Self::from_parts(
            item,
            status,
            orchestrator,
            path,
            name,
            label_count,
            table,
        ))
    }

    /// The decoder's verdict on one item (at least the header size, checked
    /// by the caller).
    #[inline(always)]
    fn check(item: &'a [u8]) -> Result<(), DecodeError> {
        Self::parse_checked(item).map(|_| ())
    }

    /// Re-reads an item that [`parse_checked`](Self::parse_checked) accepted.
    pub(crate) fn parse_trusted(item: &'a [u8]) -> Self {
        let path = Span::trusted(item, ITEM_PATH_OFF, ITEM_PATH_LEN);
        let name = Span::trusted(item, ITEM_NAME_OFF, ITEM_NAME_LEN);
        let table = path
            .end
            .max(name.end)
            .next_multiple_of(crate::protocol::ITEM_ALIGN);
        Self::from_parts(
            item,
            LookupStatus::from_u16(rd_u16(item, ITEM_STATUS_OFF)).unwrap_or(LookupStatus::Known),
            rd_u16(item, ITEM_ORCH_OFF),
            path,
            name,
            usize::from(rd_u16(item, ITEM_LABEL_COUNT)),
            table,
        )
    }

    #[inline(always)]
    fn from_parts(
        item: &'a [u8],
        status: LookupStatus,
        orchestrator: u16,
        path: Span,
        name: Span,
        label_count: usize,
        table: usize,
    ) -> Self {
        CgroupsLookupItemView {
            item,
            status,
            orchestrator,
            path: path.bytes(item),
            name: name.bytes(item),
            label_count,
            table,
        }
    }

    /// The item status.
    #[inline]
    pub fn status(&self) -> LookupStatus {
        self.status
    }

    /// The raw orchestrator value (unknown values are passed through).
    #[inline]
    pub fn orchestrator(&self) -> u16 {
        self.orchestrator
    }

    /// The orchestrator as a known enum value, if it is one.
    #[inline]
    pub fn orchestrator_kind(&self) -> Option<Orchestrator> {
        Orchestrator::from_u16(self.orchestrator)
    }

    /// The echoed path (no NUL, never empty).
    #[inline]
    pub fn path(&self) -> &'a [u8] {
        self.path
    }

    /// The cgroup name (no NUL, may be empty).
    #[inline]
    pub fn name(&self) -> &'a [u8] {
        self.name
    }

    item_labels!();

    /// Copies the item into an owned [`CgroupsLookupItem`].
    pub fn to_owned(&self) -> CgroupsLookupItem {
        CgroupsLookupItem {
            status: self.status,
            orchestrator: self.orchestrator,
            path: self.path.to_vec(),
            name: self.name.to_vec(),
            labels: self.labels().map(|l| l.to_owned()).collect(),
        }
    }
}
