//! Test helpers shared by the two lookup codecs' unit tests.

use crate::bytes::{put_u16, put_u32};
use crate::error::DecodeError;

use super::{LOOKUP_DIR_ENTRY_SIZE, LOOKUP_RESP_HDR_SIZE};

/// Offset of the first item of a response (one directory entry).
const ITEM0: usize = LOOKUP_RESP_HDR_SIZE + LOOKUP_DIR_ENTRY_SIZE;
/// Directory entry 0: item offset and length.
const DIR0_OFF: usize = LOOKUP_RESP_HDR_SIZE;
const DIR0_LEN: usize = LOOKUP_RESP_HDR_SIZE + 4;

/// Checks the response header and directory rules both decoders share,
/// by corrupting `one` (a valid one-item response) and `two` (a valid
/// two-item response): truncated header and directory, layout, flags,
/// item ranges out of bounds, overlapping or unaligned, items shorter
/// than the `item_hdr`-byte header (named `item_what`) and a bad item
/// layout. `decode` runs the decoder under test.
pub(crate) fn check_envelope_rejections(
    one: &[u8],
    two: &[u8],
    item_hdr: usize,
    item_what: &'static str,
    decode: impl Fn(&[u8]) -> Result<(), DecodeError>,
) {
    let err = |bytes: &[u8]| decode(bytes).unwrap_err();
    assert_eq!(decode(one), Ok(()));
    assert_eq!(decode(two), Ok(()));
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = one.to_vec();
        f(&mut b);
        err(&b)
    };

    assert!(matches!(
        err(&one[..LOOKUP_RESP_HDR_SIZE - 1]),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(
        err(&one[..ITEM0 - 4]),
        DecodeError::Truncated { .. }
    ));
    assert!(matches!(
        edit(&|b| put_u32(b, 4, u32::MAX)),
        DecodeError::Truncated { .. }
    ));
    for layout in [0, 2] {
        assert!(matches!(
            edit(&|b| put_u16(b, 0, layout)),
            DecodeError::BadLayoutVersion { found, .. } if found == layout
        ));
        assert!(matches!(
            edit(&|b| put_u16(b, ITEM0, layout)),
            DecodeError::BadLayoutVersion { found, .. } if found == layout
        ));
    }
    for flags in [1, 0x8000] {
        assert_eq!(
            edit(&|b| put_u16(b, 2, flags)),
            DecodeError::NonZeroReserved { field: "flags" }
        );
    }
    let range = DecodeError::OutOfBounds {
        what: "lookup item range",
    };
    let len = u32::try_from(one.len() - ITEM0).unwrap();
    assert_eq!(edit(&|b| put_u32(b, DIR0_LEN, len + 1)), range);
    assert_eq!(
        edit(&|b| {
            put_u32(b, DIR0_OFF, 0xFFFF_FFF8);
            put_u32(b, DIR0_LEN, u32::MAX);
        }),
        range
    );
    for off in [2, 4] {
        assert_eq!(
            edit(&|b| put_u32(b, DIR0_OFF, off)),
            DecodeError::BadAlignment {
                what: "lookup item range"
            }
        );
    }
    let short = u32::try_from(item_hdr - 1).unwrap();
    assert_eq!(
        edit(&|b| put_u32(b, DIR0_LEN, short)),
        DecodeError::Truncated {
            what: item_what,
            need: item_hdr,
            have: item_hdr - 1,
        }
    );
    // Item 1 starting inside item 0.
    let mut b = two.to_vec();
    put_u32(&mut b, DIR0_OFF + LOOKUP_DIR_ENTRY_SIZE, 0);
    assert_eq!(
        err(&b),
        DecodeError::Overlap {
            what: "lookup item ranges"
        }
    );
}

/// Checks the label-table rules both decoders share on `one`, a valid
/// one-item response whose item has exactly the labels `key=value` and
/// `k2=` with its table at item offset `table` (after some padding), the
/// label count at item offset `label_count_off`. `decode` runs the decoder
/// under test.
pub(crate) fn check_label_rejections(
    one: &[u8],
    table: usize,
    label_count_off: usize,
    decode: impl Fn(&[u8]) -> Result<(), DecodeError>,
) {
    use super::LOOKUP_LABEL_ENTRY_SIZE as ENTRY;
    use super::directory::rd_u32;

    assert_eq!(decode(one), Ok(()));
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = one.to_vec();
        f(&mut b);
        decode(&b).unwrap_err()
    };
    let rule = |e: DecodeError| match e {
        DecodeError::InvalidField { rule } => rule,
        e => panic!("unexpected {e:?}"),
    };
    let table = ITEM0 + table;
    // "key" right after the two entries, then "value", "k2" and "".
    let key = table + 2 * ENTRY;
    let value = key + 4;

    // The table moved 8 bytes later, every string offset shifted.
    let moved = edit(&|b| {
        b.splice(table..table, [0u8; 8]);
        for e in 0..2 {
            for f in [0, 8] {
                let at = table + 8 + e * ENTRY + f;
                let v = rd_u32(b, at);
                put_u32(b, at, v + 8);
            }
        }
        let len = rd_u32(b, DIR0_LEN);
        put_u32(b, DIR0_LEN, len + 8);
    });
    assert!(rule(moved).starts_with("non-canonical"));
    assert_eq!(
        edit(&|b| b[table - 1] = 1),
        DecodeError::NonZeroReserved {
            field: "label table padding"
        }
    );
    assert!(matches!(
        edit(&|b| put_u32(b, table + 4, 0)),
        DecodeError::BadLength { .. }
    ));
    assert_eq!(
        edit(&|b| put_u16(b, ITEM0 + label_count_off, u16::MAX)),
        DecodeError::OutOfBounds {
            what: "label table"
        }
    );
    // The last value claims bytes past the item end.
    assert_eq!(
        edit(&|b| put_u32(b, table + ENTRY + 12, 5)),
        DecodeError::OutOfBounds {
            what: "label value"
        }
    );
    assert_eq!(
        edit(&|b| put_u32(b, table + 4, u32::MAX)),
        DecodeError::OutOfBounds { what: "label key" }
    );
    assert_eq!(
        edit(&|b| b[key + 3] = b'x'),
        DecodeError::MissingNul { what: "label key" }
    );
    assert_eq!(
        edit(&|b| b[value + 5] = b'x'),
        DecodeError::MissingNul {
            what: "label value"
        }
    );
    assert_eq!(
        edit(&|b| b[key + 1] = 0),
        DecodeError::InteriorNul { what: "label key" }
    );
    assert_eq!(
        edit(&|b| b[value + 1] = 0),
        DecodeError::InteriorNul {
            what: "label value"
        }
    );
    let key_off = u32::try_from(key - ITEM0).unwrap();
    // The second key, or the first value, pointing back at the first key.
    for at in [table + ENTRY, table + 8] {
        assert!(rule(edit(&|b| put_u32(b, at, key_off))).contains("table order"));
    }
}
