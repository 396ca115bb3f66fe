//! MessagePack for the `binary` receive type (docs/PROTOCOL.md B.5): a checking walk that also
//! writes JSON text and a simd-json tape (the direct path), and the conversion to a JSON
//! value (the converting path, for [`msgpack_to_json`] and for maps with repeated keys).

use std::ops::Range;

use rmpv::ValueRef;
use serde_json::{Map, Number, Value};
use simd_json::StaticNode;
use simd_json::tape::Node;

use crate::error::ModelError;
use crate::ws::{DEFAULT_MAX_NODES, MAX_JSON_DEPTH};

/// Converts one MessagePack value to JSON under the B.5 rules.
///
/// Accepted: nil, booleans, integers, finite floats, UTF-8 strings, arrays, and maps whose
/// keys are all strings, nested at most [`MAX_JSON_DEPTH`] deep. Rejected with
/// [`ModelError::BadMsgpack`]: `bin` and `ext` values, the never-used marker `0xc1`, NaN
/// and infinite floats, non-string map keys, strings that are not UTF-8, malformed or
/// truncated input, deeper nesting, and bytes after the value. More than
/// [`DEFAULT_MAX_NODES`] values and keys is [`ModelError::TooComplex`].
///
/// All of that is checked by one walk over the bytes before any value is built, so a
/// hostile frame costs no more than the walk: a decoded value can take several times the
/// input's size in memory (a one-byte `nil` becomes a JSON value), and the node limit is
/// what bounds it.
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
/// [`ModelError::BadMsgpack`] or [`ModelError::TooComplex`] as above.
pub fn msgpack_to_json(bytes: &[u8]) -> Result<Value, ModelError> {
    msgpack_to_json_limited(bytes, DEFAULT_MAX_NODES)
}

/// [`msgpack_to_json`] with a node limit.
pub(crate) fn msgpack_to_json_limited(bytes: &[u8], max_nodes: usize) -> Result<Value, ModelError> {
    Walker::check(bytes, max_nodes)
        .run()
        .map_err(|err| err.into_model(bytes))?;
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

/// Why a MessagePack walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// Not acceptable MessagePack under B.5 (the detail says why).
    Bad(String),
    /// More values than the node limit allows.
    TooComplex(String),
    /// Valid, but a map repeats a key: the caller takes the converting path, which keeps
    /// the last value the way a JSON object does.
    DuplicateKey,
}

impl WalkError {
    pub(crate) fn into_model(self, bytes: &[u8]) -> ModelError {
        match self {
            Self::Bad(detail) => ModelError::bad_msgpack(detail, bytes),
            Self::TooComplex(detail) => ModelError::too_complex(detail, bytes),
            // Only a building walk reports duplicates; callers handle it before this.
            Self::DuplicateKey => ModelError::bad_msgpack("duplicate map key", bytes),
        }
    }
}

/// Above this many keys a map's keys are checked for duplicates by sorting a copy instead
/// of comparing each new key with the ones before it.
const PAIRWISE_KEYS: usize = 16;

/// One pass over a MessagePack value: checks every B.5 rule, counts values against a node
/// limit before anything is built, and (when building) writes the value's compact JSON text
/// and a simd-json tape whose strings borrow from the input.
///
/// The walk is bounded before it allocates: nesting is checked before descending (so the
/// recursion is at most [`MAX_JSON_DEPTH`] deep), every value and key counts as one node
/// and the walk stops as soon as the count passes the limit, and a declared length longer
/// than the bytes left is refused at once (each element takes at least one byte), so a
/// header claiming four billion elements costs nothing.
pub(crate) struct Walker<'i, 'o> {
    input: &'i [u8],
    pos: usize,
    nodes: usize,
    max_nodes: usize,
    build: Option<Build<'i, 'o>>,
}

/// What a building walk writes into.
struct Build<'i, 'o> {
    text: &'o mut Vec<u8>,
    tape: &'o mut Vec<Node<'i>>,
    keys: &'o mut Vec<Range<usize>>,
}

impl<'i, 'o> Walker<'i, 'o> {
    /// A walk that only checks.
    pub(crate) fn check(input: &'i [u8], max_nodes: usize) -> Self {
        Self {
            input,
            pos: 0,
            nodes: 0,
            max_nodes,
            build: None,
        }
    }

    /// A walk that also writes JSON text into `text` and tape nodes into `tape` (both
    /// cleared first). `keys` is scratch space for the duplicate-key check.
    pub(crate) fn building(
        input: &'i [u8],
        max_nodes: usize,
        text: &'o mut Vec<u8>,
        tape: &'o mut Vec<Node<'i>>,
        keys: &'o mut Vec<Range<usize>>,
    ) -> Self {
        text.clear();
        tape.clear();
        keys.clear();
        Self {
            input,
            pos: 0,
            nodes: 0,
            max_nodes,
            build: Some(Build { text, tape, keys }),
        }
    }

    /// Walks the one value the input must hold; bytes after it are an error.
    pub(crate) fn run(mut self) -> Result<(), WalkError> {
        self.value(0)?;
        let rest = self.input.len() - self.pos;
        if rest != 0 {
            return Err(WalkError::Bad(format!(
                "{rest} trailing bytes after the value"
            )));
        }
        Ok(())
    }

    fn take(&mut self, n: usize) -> Result<&'i [u8], WalkError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.input.len())
            .ok_or_else(|| WalkError::Bad("unexpected end of input".into()))?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, WalkError> {
        Ok(self.take(1)?[0])
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], WalkError> {
        let mut out = [0_u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn len8(&mut self) -> Result<usize, WalkError> {
        Ok(usize::from(self.byte()?))
    }

    fn len16(&mut self) -> Result<usize, WalkError> {
        Ok(usize::from(u16::from_be_bytes(self.be()?)))
    }

    fn len32(&mut self) -> Result<usize, WalkError> {
        usize::try_from(u32::from_be_bytes(self.be()?))
            .map_err(|_| WalkError::Bad("length out of range".into()))
    }

    fn count(&mut self, n: usize) -> Result<(), WalkError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.max_nodes {
            return Err(WalkError::TooComplex(format!(
                "more than {} values and keys",
                self.max_nodes
            )));
        }
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<(), WalkError> {
        self.count(1)?;
        let marker = self.byte()?;
        match marker {
            0x00..=0x7f => self.int(i64::from(marker)),
            0x80..=0x8f => self.map(usize::from(marker & 0x0f), depth),
            0x90..=0x9f => self.array(usize::from(marker & 0x0f), depth),
            0xa0..=0xbf => self.string(usize::from(marker & 0x1f)).map(|_| ()),
            0xc0 => {
                self.emit(b"null", StaticNode::Null);
                Ok(())
            }
            0xc1 => Err(WalkError::Bad("0xc1 is never used in MessagePack".into())),
            0xc2 => {
                self.emit(b"false", StaticNode::Bool(false));
                Ok(())
            }
            0xc3 => {
                self.emit(b"true", StaticNode::Bool(true));
                Ok(())
            }
            0xc4..=0xc6 => Err(WalkError::Bad("bin values are not allowed".into())),
            0xc7..=0xc9 | 0xd4..=0xd8 => {
                match marker {
                    0xc7 => self.take(1)?,
                    0xc8 => self.take(2)?,
                    0xc9 => self.take(4)?,
                    _ => &[],
                };
                let kind = self.byte()? as i8;
                Err(WalkError::Bad(format!(
                    "ext values are not allowed (type {kind})"
                )))
            }
            0xca => {
                let n = f64::from(f32::from_be_bytes(self.be()?));
                self.float(n)
            }
            0xcb => {
                let n = f64::from_be_bytes(self.be()?);
                self.float(n)
            }
            0xcc => {
                let n = i64::from(self.byte()?);
                self.int(n)
            }
            0xcd => {
                let n = i64::from(u16::from_be_bytes(self.be()?));
                self.int(n)
            }
            0xce => {
                let n = i64::from(u32::from_be_bytes(self.be()?));
                self.int(n)
            }
            0xcf => {
                let n = u64::from_be_bytes(self.be()?);
                match i64::try_from(n) {
                    Ok(n) => self.int(n),
                    Err(_) => {
                        self.number(n, StaticNode::U64(n));
                        Ok(())
                    }
                }
            }
            0xd0 => {
                let n = i64::from(self.byte()? as i8);
                self.int(n)
            }
            0xd1 => {
                let n = i64::from(i16::from_be_bytes(self.be()?));
                self.int(n)
            }
            0xd2 => {
                let n = i64::from(i32::from_be_bytes(self.be()?));
                self.int(n)
            }
            0xd3 => {
                let n = i64::from_be_bytes(self.be()?);
                self.int(n)
            }
            0xd9 => {
                let len = self.len8()?;
                self.string(len).map(|_| ())
            }
            0xda => {
                let len = self.len16()?;
                self.string(len).map(|_| ())
            }
            0xdb => {
                let len = self.len32()?;
                self.string(len).map(|_| ())
            }
            0xdc => {
                let len = self.len16()?;
                self.array(len, depth)
            }
            0xdd => {
                let len = self.len32()?;
                self.array(len, depth)
            }
            0xde => {
                let len = self.len16()?;
                self.map(len, depth)
            }
            0xdf => {
                let len = self.len32()?;
                self.map(len, depth)
            }
            0xe0..=0xff => self.int(i64::from(marker as i8)),
        }
    }

    /// Writes a literal and its tape node.
    fn emit(&mut self, text: &[u8], node: StaticNode) {
        if let Some(build) = &mut self.build {
            build.text.extend_from_slice(text);
            build.tape.push(Node::Static(node));
        }
    }

    /// Writes a number by serde_json's formatting (the text `Value::to_string` gives).
    fn number<T: serde::Serialize>(&mut self, n: T, node: StaticNode) {
        if let Some(build) = &mut self.build {
            // Writing a number into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *build.text, &n);
            build.tape.push(Node::Static(node));
        }
    }

    /// An integer, as simd-json puts it on the tape (signed when it fits) and as serde_json
    /// writes it.
    fn int(&mut self, n: i64) -> Result<(), WalkError> {
        self.number(n, StaticNode::I64(n));
        Ok(())
    }

    fn float(&mut self, f: f64) -> Result<(), WalkError> {
        if !f.is_finite() {
            return Err(WalkError::Bad(format!("{f} is not a finite number")));
        }
        self.number(f, StaticNode::F64(f));
        Ok(())
    }

    /// A string value or key of `len` bytes; returns where its bytes sit in the input.
    fn string(&mut self, len: usize) -> Result<Range<usize>, WalkError> {
        let start = self.pos;
        let bytes = self.take(len)?;
        let Ok(text) = simdutf8::basic::from_utf8(bytes) else {
            return Err(WalkError::Bad("string is not valid UTF-8".into()));
        };
        if let Some(build) = &mut self.build {
            let _ = serde_json::to_writer(&mut *build.text, text);
            build.tape.push(Node::String(text));
        }
        Ok(start..self.pos)
    }

    fn deeper(depth: usize) -> Result<usize, WalkError> {
        if depth >= MAX_JSON_DEPTH {
            Err(WalkError::Bad(format!(
                "nested deeper than {MAX_JSON_DEPTH}"
            )))
        } else {
            Ok(depth + 1)
        }
    }

    /// Refuses a declared element count the remaining bytes cannot hold (each element takes
    /// at least one byte), before looping over it.
    fn fits(&self, elements: usize) -> Result<(), WalkError> {
        if elements > self.input.len() - self.pos {
            return Err(WalkError::Bad("unexpected end of input".into()));
        }
        Ok(())
    }

    fn array(&mut self, len: usize, depth: usize) -> Result<(), WalkError> {
        let depth = Self::deeper(depth)?;
        self.fits(len)?;
        let at = self.open(b'[', Node::Array { len, count: 0 });
        for i in 0..len {
            if i > 0 {
                self.push_text(b",");
            }
            self.value(depth)?;
        }
        self.close(b']', at);
        Ok(())
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<(), WalkError> {
        let depth = Self::deeper(depth)?;
        self.fits(len.saturating_mul(2))?;
        let at = self.open(b'{', Node::Object { len, count: 0 });
        let keys_base = self.build.as_ref().map_or(0, |b| b.keys.len());
        for i in 0..len {
            if i > 0 {
                self.push_text(b",");
            }
            self.count(1)?;
            let key = match self.byte()? {
                marker @ 0xa0..=0xbf => self.string(usize::from(marker & 0x1f)),
                0xd9 => {
                    let len = self.len8()?;
                    self.string(len)
                }
                0xda => {
                    let len = self.len16()?;
                    self.string(len)
                }
                0xdb => {
                    let len = self.len32()?;
                    self.string(len)
                }
                _ => return Err(WalkError::Bad("map keys must be strings".into())),
            }
            .map_err(|err| match err {
                WalkError::Bad(detail) if detail == "string is not valid UTF-8" => {
                    WalkError::Bad("map key is not valid UTF-8".into())
                }
                other => other,
            })?;
            let input = self.input;
            if let Some(build) = &mut self.build {
                if len <= PAIRWISE_KEYS
                    && build.keys[keys_base..]
                        .iter()
                        .any(|seen| input.get(seen.clone()) == input.get(key.clone()))
                {
                    return Err(WalkError::DuplicateKey);
                }
                build.keys.push(key);
                build.text.push(b':');
            }
            self.value(depth)?;
        }
        if let Some(build) = &mut self.build {
            if len > PAIRWISE_KEYS {
                let input = self.input;
                let keys = &mut build.keys[keys_base..];
                keys.sort_unstable_by(|a, b| input.get(a.clone()).cmp(&input.get(b.clone())));
                if keys
                    .windows(2)
                    .any(|pair| input.get(pair[0].clone()) == input.get(pair[1].clone()))
                {
                    return Err(WalkError::DuplicateKey);
                }
            }
            build.keys.truncate(keys_base);
        }
        self.close(b'}', at);
        Ok(())
    }

    fn push_text(&mut self, text: &[u8]) {
        if let Some(build) = &mut self.build {
            build.text.extend_from_slice(text);
        }
    }

    /// Writes a container's opening; returns its tape index.
    fn open(&mut self, text: u8, node: Node<'i>) -> usize {
        match &mut self.build {
            Some(build) => {
                build.text.push(text);
                build.tape.push(node);
                build.tape.len() - 1
            }
            None => 0,
        }
    }

    /// Writes a container's closing and fills in how many nodes it spans.
    fn close(&mut self, text: u8, at: usize) {
        if let Some(build) = &mut self.build {
            build.text.push(text);
            let inside = build.tape.len() - at - 1;
            if let Some(Node::Array { count, .. } | Node::Object { count, .. }) =
                build.tape.get_mut(at)
            {
                *count = inside;
            }
        }
    }
}
