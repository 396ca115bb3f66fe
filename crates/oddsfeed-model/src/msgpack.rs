//! MessagePack → JSON for the `binary` receive type (docs/PROTOCOL.md B.5).

use rmpv::ValueRef;
use serde_json::{Map, Number, Value};

use crate::error::ModelError;
use crate::ws::MAX_JSON_DEPTH;

/// Converts one MessagePack value to JSON under the B.5 rules.
///
/// Accepted: nil, booleans, integers, finite floats, UTF-8 strings, arrays, and maps whose
/// keys are all strings, nested at most [`MAX_JSON_DEPTH`] deep. Rejected with
/// [`ModelError::BadMsgpack`]: `bin` and `ext` values, NaN and infinite floats, non-string
/// map keys, strings that are not UTF-8, malformed or truncated input, deeper nesting, and
/// bytes after the value.
///
/// Input is bounded by the caller's frame limit; a decoded value can take several times
/// the input's size in memory (a one-byte `nil` becomes a JSON value).
///
/// ```
/// use oddsfeed_model::msgpack_to_json;
/// // {"a": 1}
/// assert_eq!(msgpack_to_json(&[0x81, 0xa1, b'a', 0x01])?, serde_json::json!({"a": 1}));
/// // {"a": bin8 []} is refused
/// assert_eq!(msgpack_to_json(&[0x81, 0xa1, b'a', 0xc4, 0x00]).map_err(|e| e.reason()), Err("bad_msgpack"));
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
///
/// # Errors
/// [`ModelError::BadMsgpack`] as above.
pub fn msgpack_to_json(bytes: &[u8]) -> Result<Value, ModelError> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value_ref(&mut rest)
        .map_err(|err| ModelError::bad_msgpack(err.to_string(), bytes))?;
    if !rest.is_empty() {
        return Err(ModelError::bad_msgpack(
            format!("{} trailing bytes after the value", rest.len()),
            bytes,
        ));
    }
    convert(&value, 0).map_err(|detail| ModelError::bad_msgpack(detail, bytes))
}

fn float(f: f64) -> Result<Value, String> {
    Number::from_f64(f)
        .map(Value::Number)
        .ok_or_else(|| format!("{f} is not a finite number"))
}

fn convert(value: &ValueRef<'_>, depth: usize) -> Result<Value, String> {
    Ok(match value {
        ValueRef::Nil => Value::Null,
        ValueRef::Boolean(b) => Value::Bool(*b),
        ValueRef::Integer(n) => {
            if let Some(u) = n.as_u64() {
                Value::from(u)
            } else if let Some(i) = n.as_i64() {
                Value::from(i)
            } else {
                return Err("integer out of range".into());
            }
        }
        ValueRef::F32(f) => float(f64::from(*f))?,
        ValueRef::F64(f) => float(*f)?,
        ValueRef::String(s) => match s.as_str() {
            Some(s) => Value::String(s.to_owned()),
            None => return Err("string is not valid UTF-8".into()),
        },
        ValueRef::Binary(_) => return Err("bin values are not allowed".into()),
        ValueRef::Ext(kind, _) => return Err(format!("ext values are not allowed (type {kind})")),
        ValueRef::Array(items) => {
            let depth = deeper(depth)?;
            Value::Array(
                items
                    .iter()
                    .map(|item| convert(item, depth))
                    .collect::<Result<_, _>>()?,
            )
        }
        ValueRef::Map(entries) => {
            let depth = deeper(depth)?;
            let mut map = Map::new();
            for (key, item) in entries {
                let ValueRef::String(key) = key else {
                    return Err("map keys must be strings".into());
                };
                let Some(key) = key.as_str() else {
                    return Err("map key is not valid UTF-8".into());
                };
                map.insert(key.to_owned(), convert(item, depth)?);
            }
            Value::Object(map)
        }
    })
}

fn deeper(depth: usize) -> Result<usize, String> {
    if depth >= MAX_JSON_DEPTH {
        Err(format!("nested deeper than {MAX_JSON_DEPTH}"))
    } else {
        Ok(depth + 1)
    }
}
