//! Strict JSON input: the one parser behind every JSON document the tool
//! reads (datasets for `netipc serve --data`, wire structures for
//! `netipc encode`).
//!
//! [`parse_tree`] checks the syntax and rejects duplicate object keys
//! (serde_json alone would silently keep the last one); the crate-internal
//! `Obj` reader then reads typed fields and rejects unknown ones. Every
//! error is a [`JsonError`] naming the JSON location and the rule, e.g.
//! `items[3].comm: must be 1..15 bytes for a KNOWN pid (got 0)`.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{DeserializeSeed, Error as _, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// A JSON document that cannot be used, with where and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The file, when the document came from one.
    pub file: Option<PathBuf>,
    /// The JSON location (`items[3].comm`), empty for the whole document.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

impl JsonError {
    /// An error at `location` (empty for the whole document).
    pub fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            location: location.into(),
            message: message.into(),
        }
    }

    /// The same error, attributed to `file`.
    pub fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_path_buf());
        self
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        if !self.location.is_empty() {
            write!(f, "{}: ", self.location)?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

/// Shorthand for results carrying a [`JsonError`].
pub type JsonResult<T> = Result<T, JsonError>;

/// The location of field `key` inside the object at `path`.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

// ---------------------------------------------------------------------------
// Syntax: serde_json with duplicate-key detection

/// Deserializes any JSON value, rejecting duplicate object keys. Carries the
/// JSON location for errors.
struct TreeSeed<'p> {
    path: &'p str,
}

impl<'de> DeserializeSeed<'de> for TreeSeed<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TreeSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        loop {
            let path = format!("{}[{}]", self.path, out.len());
            match seq.next_element_seed(TreeSeed { path: &path })? {
                Some(v) => out.push(v),
                None => break,
            }
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let path = join(self.path, &key);
            if out.contains_key(&key) {
                return Err(A::Error::custom(format!("{path}: duplicate key")));
            }
            let v = map.next_value_seed(TreeSeed { path: &path })?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// Parses a JSON document: syntax errors (with line and column), duplicate
/// object keys and trailing characters are errors. Nesting is bounded by
/// serde_json's recursion limit, so hostile input cannot overflow the stack.
pub fn parse_tree(text: &str) -> JsonResult<Value> {
    let mut de = serde_json::Deserializer::from_str(text);
    TreeSeed { path: "" }
        .deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| JsonError::new("", format!("invalid JSON: {e}")))
}

// ---------------------------------------------------------------------------
// Typed extraction with JSON locations

/// A JSON object being read field by field, at a known location.
pub(crate) struct Obj<'a> {
    path: String,
    map: &'a Map<String, Value>,
}

impl<'a> Obj<'a> {
    /// `v` must be an object whose keys are all in `fields`.
    pub(crate) fn new(v: &'a Value, path: String, fields: &[&str]) -> JsonResult<Self> {
        let Value::Object(map) = v else {
            return Err(JsonError::new(path, "must be an object"));
        };
        for key in map.keys() {
            if !fields.contains(&key.as_str()) {
                return Err(JsonError::new(
                    join(&path, key),
                    format!("unknown field (expected one of: {})", fields.join(", ")),
                ));
            }
        }
        Ok(Self { path, map })
    }

    /// The location of field `key`.
    pub(crate) fn loc(&self, key: &str) -> String {
        join(&self.path, key)
    }

    /// Field `key`, if present.
    pub(crate) fn opt(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    /// Field `key`, which must be present.
    pub(crate) fn req(&self, key: &str) -> JsonResult<&'a Value> {
        self.opt(key)
            .ok_or_else(|| JsonError::new(self.loc(key), "missing field"))
    }

    /// A required unsigned 64-bit integer.
    pub(crate) fn u64(&self, key: &str) -> JsonResult<u64> {
        as_u64(self.req(key)?, &self.loc(key))
    }

    /// A required unsigned 32-bit integer.
    pub(crate) fn u32(&self, key: &str) -> JsonResult<u32> {
        as_u32(self.req(key)?, &self.loc(key))
    }

    /// A required string.
    pub(crate) fn string(&self, key: &str) -> JsonResult<String> {
        as_string(self.req(key)?, &self.loc(key))
    }

    /// A required array.
    pub(crate) fn array(&self, key: &str) -> JsonResult<&'a Vec<Value>> {
        match self.req(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(JsonError::new(self.loc(key), "must be an array")),
        }
    }
}

/// `v` as an unsigned 64-bit integer.
pub(crate) fn as_u64(v: &Value, loc: &str) -> JsonResult<u64> {
    v.as_u64()
        .ok_or_else(|| JsonError::new(loc, "must be an unsigned integer 0..18446744073709551615"))
}

/// `v` as an unsigned 32-bit integer.
pub(crate) fn as_u32(v: &Value, loc: &str) -> JsonResult<u32> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(|| JsonError::new(loc, "must be an unsigned integer 0..4294967295"))
}

/// `v` as a string.
pub(crate) fn as_string(v: &Value, loc: &str) -> JsonResult<String> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(JsonError::new(loc, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_and_locations() {
        let e = parse_tree(r#"{"a":{"b":[{"c":1,"c":2}]}}"#).unwrap_err();
        assert!(e.message.contains("a.b[0].c: duplicate key"), "{e}");
        assert!(parse_tree("{} x").unwrap_err().message.contains("trailing"));
        assert!(parse_tree(&"[".repeat(10_000)).is_err());
    }

    #[test]
    fn typed_fields() {
        let v = parse_tree(r#"{"n":5,"s":"x","big":4294967296,"neg":-1}"#).unwrap();
        let o = Obj::new(&v, "top".into(), &["n", "s", "big", "neg"]).unwrap();
        assert_eq!(o.u32("n").unwrap(), 5);
        assert_eq!(o.string("s").unwrap(), "x");
        assert_eq!(o.u64("big").unwrap(), 4_294_967_296);
        assert_eq!(
            o.u32("big").unwrap_err().to_string(),
            "top.big: must be an unsigned integer 0..4294967295"
        );
        assert!(o.u64("neg").is_err());
        assert_eq!(
            o.req("zz").unwrap_err().to_string(),
            "top.zz: missing field"
        );
        assert_eq!(
            o.array("n").unwrap_err().to_string(),
            "top.n: must be an array"
        );
        let e = Obj::new(&v, String::new(), &["n"]).err().unwrap();
        assert!(e.to_string().contains("unknown field"), "{e}");
        let e = JsonError::new("x", "bad").in_file(Path::new("f.json"));
        assert_eq!(e.to_string(), "f.json: x: bad");
    }
}
