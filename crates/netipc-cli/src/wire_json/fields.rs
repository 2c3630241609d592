//! JSON spellings of wire field values: enums by specification name
//! (unknown values as numbers), bit masks as `NAME|NAME` strings, integers
//! (also accepted as `"0x..."` strings on input) and raw bytes as hex.

use serde::Serialize;
use serde_json::Value;

use netipc::protocol::{
    CODE_HELLO, CODE_HELLO_ACK, FLAG_BATCH, KIND_CONTROL, PROFILE_SHM_FUTEX, PROFILE_SHM_HYBRID,
    PROFILE_SHM_WAITADDR, PROFILE_UDS_SEQPACKET, kind_name, method_name, status_name,
};

use crate::json::{JsonError, JsonResult, Obj};

/// A field value printed as a name (known values, bit lists) or a number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Sym {
    /// A specification name, or a `|`-separated list of them.
    Name(String),
    /// A raw number (a value without a name, or an empty bit mask).
    Number(u64),
}

/// A named bit of a bit mask.
pub(crate) struct Bit {
    pub(crate) value: u32,
    pub(crate) name: &'static str,
}

/// The header `flags` bits.
pub(crate) const HEADER_FLAGS: &[Bit] = &[Bit {
    value: FLAG_BATCH as u32,
    name: "BATCH",
}];

/// The profile bits (POSIX names first; Windows aliases accepted on input).
pub(crate) const PROFILES: &[Bit] = &[
    Bit {
        value: PROFILE_UDS_SEQPACKET,
        name: "UDS_SEQPACKET",
    },
    Bit {
        value: PROFILE_SHM_HYBRID,
        name: "SHM_HYBRID",
    },
    Bit {
        value: PROFILE_SHM_FUTEX,
        name: "SHM_FUTEX",
    },
    Bit {
        value: PROFILE_SHM_WAITADDR,
        name: "SHM_WAITADDR",
    },
    Bit {
        value: PROFILE_UDS_SEQPACKET,
        name: "NAMED_PIPE",
    },
    Bit {
        value: PROFILE_UDS_SEQPACKET,
        name: "BASELINE",
    },
    Bit {
        value: PROFILE_SHM_FUTEX,
        name: "SHM_BUSYWAIT",
    },
];

/// The name of a control opcode.
pub(crate) fn control_name(code: u16) -> Option<&'static str> {
    match code {
        CODE_HELLO => Some("HELLO"),
        CODE_HELLO_ACK => Some("HELLO_ACK"),
        _ => None,
    }
}

/// The name of `code` in a message of `kind`: a control opcode or a method.
pub(crate) fn code_name(kind: u16, code: u16) -> Option<&'static str> {
    if kind == KIND_CONTROL {
        control_name(code)
    } else {
        method_name(code)
    }
}

/// `value` by its name from `name_of`, or as a number.
pub(crate) fn sym(value: u16, name: Option<&'static str>) -> Sym {
    match name {
        Some(n) => Sym::Name(n.to_owned()),
        None => Sym::Number(value.into()),
    }
}

/// A bit mask: `0` as a number, otherwise the names of its known bits and
/// the hex value of the rest, joined by `|` (`"UDS_SEQPACKET|SHM_HYBRID"`).
pub(crate) fn bits(value: u32, table: &[Bit]) -> Sym {
    if value == 0 {
        return Sym::Number(0);
    }
    let mut parts = Vec::new();
    let mut rest = value;
    for b in table {
        if rest & b.value != 0 && value & b.value == b.value {
            parts.push(b.name.to_owned());
            rest &= !b.value;
        }
    }
    if rest != 0 {
        parts.push(format!("{rest:#x}"));
    }
    Sym::Name(parts.join("|"))
}

/// A number written in JSON as a number or a string (`"0x1F"`, `"31"`).
fn parse_number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// Reads an unsigned integer of type `T` from a number or a hex/decimal
/// string.
pub(crate) fn uint<T: TryFrom<u64>>(o: &Obj<'_>, key: &str) -> JsonResult<T> {
    let v = o.req(key)?;
    let max = max_of::<T>();
    parse_number(v)
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| {
            JsonError::new(
                o.loc(key),
                format!("must be an unsigned integer 0..{max} (a number, or a \"0x...\" string)"),
            )
        })
}

/// Like [`uint`], but the field may be missing.
pub(crate) fn opt_uint<T: TryFrom<u64>>(o: &Obj<'_>, key: &str) -> JsonResult<Option<T>> {
    match o.opt(key) {
        None => Ok(None),
        Some(_) => uint(o, key).map(Some),
    }
}

/// The largest value of `T` (for error messages).
fn max_of<T: TryFrom<u64>>() -> u64 {
    [u64::MAX, u64::from(u32::MAX), u64::from(u16::MAX), 255]
        .into_iter()
        .find(|&m| T::try_from(m).is_ok())
        .unwrap_or(0)
}

/// A field that the encoder always writes with one value: optional on
/// input, and if present it must be that value.
pub(crate) fn fixed(o: &Obj<'_>, key: &str, expected: u64) -> JsonResult<()> {
    let Some(v) = o.opt(key) else {
        return Ok(());
    };
    match parse_number(v) {
        Some(n) if n == expected => Ok(()),
        _ => Err(JsonError::new(
            o.loc(key),
            format!("must be {expected} ({expected:#x}); the encoder always writes that value"),
        )),
    }
}

/// An enum field: a name that `name_of` knows (for some value
/// `0..=u16::MAX`) or a number 0..65535.
pub(crate) fn named_u16(
    o: &Obj<'_>,
    key: &str,
    what: &str,
    name_of: impl Fn(u16) -> Option<&'static str>,
) -> JsonResult<u16> {
    let v = o.req(key)?;
    let name = match v {
        Value::String(s) if parse_number(v).is_none() => Some(s),
        _ => None,
    };
    if let Some(s) = name {
        return (0..=u16::MAX)
            .find(|&n| name_of(n) == Some(s.as_str()))
            .ok_or_else(|| {
                let known: Vec<&str> = (0..=255u16).filter_map(&name_of).collect();
                JsonError::new(
                    o.loc(key),
                    format!(
                        "unknown {what} `{s}` (expected one of {}, or a number 0..65535)",
                        known.join(", ")
                    ),
                )
            });
    }
    uint(o, key)
}

/// Reads the header `kind`.
pub(crate) fn kind(o: &Obj<'_>, key: &str) -> JsonResult<u16> {
    named_u16(o, key, "message kind", kind_name)
}

/// Reads a header `code` for a message of `kind`.
pub(crate) fn code(o: &Obj<'_>, key: &str, kind: u16) -> JsonResult<u16> {
    named_u16(o, key, "code", |c| code_name(kind, c))
}

/// Reads a header `transport_status`.
pub(crate) fn status(o: &Obj<'_>, key: &str) -> JsonResult<u16> {
    named_u16(o, key, "transport status", status_name)
}

/// Reads a bit mask of type `T`: a number, or names and numbers joined by
/// `|`.
pub(crate) fn bit_mask<T: TryFrom<u64>>(o: &Obj<'_>, key: &str, table: &[Bit]) -> JsonResult<T> {
    let v = o.req(key)?;
    let bad = |msg: String| JsonError::new(o.loc(key), msg);
    let mut mask: u64 = 0;
    match v {
        Value::String(s) if parse_number(v).is_none() => {
            for part in s.split('|').map(str::trim) {
                let bit = match table.iter().find(|b| b.name == part) {
                    Some(b) => u64::from(b.value),
                    None => parse_number(&Value::String(part.to_owned())).ok_or_else(|| {
                        let names: Vec<&str> = table.iter().map(|b| b.name).collect();
                        bad(format!(
                            "unknown bit `{part}` (expected names from {} or numbers, joined by `|`)",
                            names.join(", ")
                        ))
                    })?,
                };
                mask |= bit;
            }
        }
        _ => {
            mask = parse_number(v).ok_or_else(|| {
                bad("must be a number or a `NAME|NAME` string of bit names".to_owned())
            })?;
        }
    }
    T::try_from(mask).map_err(|_| {
        let max = max_of::<T>();
        bad(format!("bit mask must fit in 0..{max:#x}"))
    })
}

/// Lower-case hex of `bytes`, no separators.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    s
}

/// Parses hex digits (either case; ASCII whitespace between bytes is
/// ignored).
pub fn from_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!(
            "hex must have an even number of digits (got {})",
            digits.len()
        ));
    }
    let val = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    };
    digits
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match (val(pair[0]), val(pair[1])) {
            (Some(h), Some(l)) => Ok(h << 4 | l),
            _ => Err(format!("not a hex digit near byte {i}")),
        })
        .collect()
}

/// Reads a hex string field.
pub(crate) fn hex(o: &Obj<'_>, key: &str) -> JsonResult<Vec<u8>> {
    let s = o.string(key)?;
    from_hex(&s).map_err(|m| JsonError::new(o.loc(key), m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::parse_tree;

    fn obj(v: &Value) -> Obj<'_> {
        Obj::new(v, "x".into(), &["a"]).unwrap()
    }

    #[test]
    fn bit_masks() {
        assert_eq!(bits(0, PROFILES), Sym::Number(0));
        assert_eq!(
            bits(5, PROFILES),
            Sym::Name("UDS_SEQPACKET|SHM_FUTEX".into())
        );
        assert_eq!(bits(0x31, PROFILES), Sym::Name("UDS_SEQPACKET|0x30".into()));
        assert_eq!(bits(1, HEADER_FLAGS), Sym::Name("BATCH".into()));
        for (text, want) in [
            (r#"{"a":"UDS_SEQPACKET|SHM_FUTEX"}"#, 5),
            (r#"{"a":"NAMED_PIPE | 0x8"}"#, 9),
            (r#"{"a":7}"#, 7),
            (r#"{"a":"0x07"}"#, 7),
            (r#"{"a":"UDS_SEQPACKET|0x30"}"#, 0x31),
        ] {
            let v = parse_tree(text).unwrap();
            assert_eq!(bit_mask::<u32>(&obj(&v), "a", PROFILES).unwrap(), want);
        }
        let v = parse_tree(r#"{"a":"BATCH|NOPE"}"#).unwrap();
        let e = bit_mask::<u16>(&obj(&v), "a", HEADER_FLAGS).unwrap_err();
        assert!(e.to_string().starts_with("x.a: unknown bit `NOPE`"), "{e}");
        let v = parse_tree(r#"{"a":65536}"#).unwrap();
        assert!(bit_mask::<u16>(&obj(&v), "a", HEADER_FLAGS).is_err());
    }

    #[test]
    fn integers_and_names() {
        let v = parse_tree(r#"{"a":"0xDEADBEEFCAFEBABE"}"#).unwrap();
        assert_eq!(uint::<u64>(&obj(&v), "a").unwrap(), 0xDEAD_BEEF_CAFE_BABE);
        let e = uint::<u16>(&obj(&v), "a").unwrap_err();
        assert!(e.to_string().contains("0..65535"), "{e}");
        let v = parse_tree(r#"{"a":"RESPONSE"}"#).unwrap();
        assert_eq!(kind(&obj(&v), "a").unwrap(), 2);
        let v = parse_tree(r#"{"a":"HELLO_ACK"}"#).unwrap();
        assert_eq!(code(&obj(&v), "a", KIND_CONTROL).unwrap(), CODE_HELLO_ACK);
        assert!(code(&obj(&v), "a", 1).is_err());
        let v = parse_tree(r#"{"a":"BOGUS"}"#).unwrap();
        let e = status(&obj(&v), "a").unwrap_err().to_string();
        assert!(e.contains("unknown transport status `BOGUS`"), "{e}");
        assert!(e.contains("LIMIT_EXCEEDED"), "{e}");
        let v = parse_tree(r#"{"a":99}"#).unwrap();
        assert_eq!(status(&obj(&v), "a").unwrap(), 99);
        assert_eq!(sym(99, status_name(99)), Sym::Number(99));
        assert!(fixed(&obj(&v), "a", 99).is_ok());
        assert!(fixed(&obj(&v), "a", 98).is_err());
        assert!(fixed(&obj(&v), "b", 98).is_ok());
    }

    #[test]
    fn hex_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(from_hex(&to_hex(&all)).unwrap(), all);
        assert_eq!(from_hex("0A ff\n10").unwrap(), vec![10, 255, 16]);
        assert!(from_hex("abc").is_err());
        assert!(from_hex("zz").is_err());
    }
}
