//! MessagePack for the `binary` receive type (docs/PROTOCOL.md B.5): a checking walk that also
//! writes JSON text and a simd-json tape (the direct path), and the conversion to a JSON
//! value (the converting path, for [`msgpack_to_json`] and for maps with repeated keys).

use std::ops::Range;

use rmpv::ValueRef;
use serde_json::{Map, Number, Value};
use simd_json::StaticNode;
use simd_json::tape::Node;

use crate::error::ModelError;
use crate::limits::{DEFAULT_MAX_NODES, MAX_JSON_DEPTH};

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

/// Up to this many keys a map's keys are checked for duplicates as they come (a 64-bit mask
/// of hash bits; the earlier keys are compared only when a new key's bit is already set);
/// a larger map sorts its key hashes once at the end instead, so a hostile map of a
/// million keys costs `n log n`, not `n²`.
const MASKED_KEYS: usize = 64;

/// The hash of a map key, for the duplicate check and the [`known_key`] table: the first
/// and last eight bytes (or the bytes of a shorter key) and the length, multiplied once.
/// Equal hashes are always confirmed by comparing the bytes; nothing but speed depends on
/// its quality.
const fn key_hash(key: &[u8]) -> u64 {
    let len = key.len();
    let mut mixed = len as u64;
    if len >= 8 {
        let mut first = [0_u8; 8];
        let mut last = [0_u8; 8];
        let mut i = 0;
        while i < 8 {
            first[i] = key[i];
            last[i] = key[len - 8 + i];
            i += 1;
        }
        mixed ^= u64::from_le_bytes(first) ^ u64::from_le_bytes(last).rotate_left(29);
    } else {
        let mut i = 0;
        while i < len {
            mixed ^= (key[i] as u64) << (8 * i + 8);
            i += 1;
        }
    }
    let spread = mixed.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    spread ^ (spread >> 29)
}

/// The keys the typed model reads (every name the tape reader matches). A map key equal to
/// one of them is taken from this table: it needs no UTF-8 check and no escaping, which is
/// most of what a key costs.
const KNOWN_KEYS: [&str; 56] = [
    "active",
    "betslip",
    "bookmaker",
    "bookmakerChangedAt",
    "bookmakerMarketId",
    "bookmakerOutcomeId",
    "bookmakers",
    "bookmakersFutures",
    "changedAt",
    "channel",
    "clock",
    "clocks",
    "currentPeriod",
    "currentTime",
    "entryId",
    "fixtureId",
    "fixtures",
    "futureId",
    "hasOdds",
    "limit",
    "live",
    "mainLine",
    "marketActive",
    "marketId",
    "meta",
    "odds",
    "outcomeId",
    "participant1Score",
    "participant2Score",
    "participants",
    "payload",
    "period",
    "playerId",
    "price",
    "priceAmerican",
    "priceFractional",
    "remainingTime",
    "remainingTimeInPeriod",
    "scores",
    "season",
    "sport",
    "staleOdds",
    "startTime",
    "status",
    "statusId",
    "statusName",
    "stopped",
    "suspended",
    "tournament",
    "trueEndTime",
    "trueStartTime",
    "ts",
    "type",
    "updatedAt",
    "venue",
    "result",
];

/// [`KNOWN_KEYS`] as the JSON text writes them: quoted, with the colon that follows a key
/// (same order; a unit test checks).
const KNOWN_QUOTED: [&str; 56] = [
    r#""active":"#,
    r#""betslip":"#,
    r#""bookmaker":"#,
    r#""bookmakerChangedAt":"#,
    r#""bookmakerMarketId":"#,
    r#""bookmakerOutcomeId":"#,
    r#""bookmakers":"#,
    r#""bookmakersFutures":"#,
    r#""changedAt":"#,
    r#""channel":"#,
    r#""clock":"#,
    r#""clocks":"#,
    r#""currentPeriod":"#,
    r#""currentTime":"#,
    r#""entryId":"#,
    r#""fixtureId":"#,
    r#""fixtures":"#,
    r#""futureId":"#,
    r#""hasOdds":"#,
    r#""limit":"#,
    r#""live":"#,
    r#""mainLine":"#,
    r#""marketActive":"#,
    r#""marketId":"#,
    r#""meta":"#,
    r#""odds":"#,
    r#""outcomeId":"#,
    r#""participant1Score":"#,
    r#""participant2Score":"#,
    r#""participants":"#,
    r#""payload":"#,
    r#""period":"#,
    r#""playerId":"#,
    r#""price":"#,
    r#""priceAmerican":"#,
    r#""priceFractional":"#,
    r#""remainingTime":"#,
    r#""remainingTimeInPeriod":"#,
    r#""scores":"#,
    r#""season":"#,
    r#""sport":"#,
    r#""staleOdds":"#,
    r#""startTime":"#,
    r#""status":"#,
    r#""statusId":"#,
    r#""statusName":"#,
    r#""stopped":"#,
    r#""suspended":"#,
    r#""tournament":"#,
    r#""trueEndTime":"#,
    r#""trueStartTime":"#,
    r#""ts":"#,
    r#""type":"#,
    r#""updatedAt":"#,
    r#""venue":"#,
    r#""result":"#,
];

/// Slots of the [`KNOWN_KEYS`] table (a power of two, about five times the keys).
const KNOWN_SLOTS: usize = 256;

/// [`KNOWN_KEYS`] by hash (the index into [`KNOWN_KEYS`]), open addressing with linear
/// probing; built at compile time.
static KNOWN_TABLE: [Option<u8>; KNOWN_SLOTS] = {
    let mut table: [Option<u8>; KNOWN_SLOTS] = [None; KNOWN_SLOTS];
    let mut k = 0;
    while k < KNOWN_KEYS.len() {
        let key = KNOWN_KEYS[k];
        let mut slot = known_slot(key_hash(key.as_bytes()));
        while table[slot].is_some() {
            slot = (slot + 1) % KNOWN_SLOTS;
        }
        table[slot] = Some(k as u8);
        k += 1;
    }
    table
};

const fn known_slot(hash: u64) -> usize {
    (hash >> 56) as usize % KNOWN_SLOTS
}

/// The [`KNOWN_KEYS`] entry equal to `key` (whose hash is `hash`) and its JSON text, if any.
fn known_key(key: &[u8], hash: u64) -> Option<(&'static str, &'static str)> {
    let mut slot = known_slot(hash);
    loop {
        let k = usize::from(KNOWN_TABLE.get(slot).copied().flatten()?);
        let known = KNOWN_KEYS.get(k)?;
        if known.len() == key.len() && known.as_bytes() == key {
            return Some((known, KNOWN_QUOTED.get(k)?));
        }
        slot = (slot + 1) % KNOWN_SLOTS;
    }
}

/// Whether `bytes` may be copied into a JSON string as they are: no control character, no
/// quote and no backslash (non-ASCII bytes are fine once the text is valid UTF-8). Eight
/// bytes at a time: a byte below `n` shows as a borrow into its high bit.
fn plain_json(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Some byte of `word` is below `n` (n <= 128): exact, never a false answer.
    let below = |word: u64, n: u64| word.wrapping_sub(ONES * n) & !word & HIGH != 0;
    let special = |word: u64| {
        below(word, 0x20)
            || below(word ^ (ONES * u64::from(b'"')), 1)
            || below(word ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0_u8; 8];
        word.copy_from_slice(chunk);
        if special(u64::from_le_bytes(word)) {
            return false;
        }
    }
    chunks
        .remainder()
        .iter()
        .all(|&b| b >= 0x20 && b != b'"' && b != b'\\')
}

/// One pass over a MessagePack value: checks every B.5 rule, counts values against a node
/// limit before anything is built, and (when building) writes the value's compact JSON text
/// and a simd-json tape whose strings borrow from the input.
///
/// The walk is bounded before it allocates: nesting is checked before descending (so the
/// recursion is at most [`MAX_JSON_DEPTH`] deep), every value and key counts as one node
/// and the walk stops as soon as the count passes the limit, and a declared length longer
/// than the bytes left is refused at once (each element takes at least one byte), so a
/// header claiming four billion elements costs nothing.
///
/// The text is what serde_json writes for the converted value (its escapes, and numbers by
/// `itoa` and `zmij`, the formatters serde_json uses; the proptests in
/// `tests/msgpack_paths_agree.rs` compare), so `raw` does not depend on which path read the
/// frame.
pub(crate) struct Walker<'i, 'o> {
    input: &'i [u8],
    pos: usize,
    nodes: usize,
    max_nodes: usize,
    build: Option<Build<'i, 'o>>,
}

/// What a building walk writes into.
struct Build<'i, 'o> {
    text: &'o mut String,
    tape: &'o mut Vec<Node<'i>>,
    /// The keys of the maps being walked: hash and place in the input.
    keys: &'o mut Vec<(u64, Range<usize>)>,
}

/// UTF-8 validation: std's for short strings (simdutf8 would pick it too, after a dispatch),
/// simdutf8 for longer ones. Both accept exactly the same input.
fn utf8(bytes: &[u8]) -> Result<&str, ()> {
    if bytes.len() < 64 {
        std::str::from_utf8(bytes).map_err(|_| ())
    } else {
        simdutf8::basic::from_utf8(bytes).map_err(|_| ())
    }
}

/// Writes `s` as a JSON string the way serde_json does. Strings without a quote, a
/// backslash or a control character (nearly all of the feed's) are copied as they are.
fn write_json_string(out: &mut String, s: &str) {
    if plain_json(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        // Rare: serde_json's own escaping (short forms and lowercase `\u00xx`).
        match serde_json::to_string(s) {
            Ok(escaped) => out.push_str(&escaped),
            // Serialising a string cannot fail.
            Err(_) => out.push_str("\"\""),
        }
    }
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
        text: &'o mut String,
        tape: &'o mut Vec<Node<'i>>,
        keys: &'o mut Vec<(u64, Range<usize>)>,
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
                self.emit("null", StaticNode::Null);
                Ok(())
            }
            0xc1 => Err(WalkError::Bad("0xc1 is never used in MessagePack".into())),
            0xc2 => {
                self.emit("false", StaticNode::Bool(false));
                Ok(())
            }
            0xc3 => {
                self.emit("true", StaticNode::Bool(true));
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
                        self.unsigned(n);
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
    fn emit(&mut self, text: &str, node: StaticNode) {
        if let Some(build) = &mut self.build {
            build.text.push_str(text);
            build.tape.push(Node::Static(node));
        }
    }

    /// An unsigned integer above `i64::MAX` (serde_json writes integers with `itoa`).
    fn unsigned(&mut self, n: u64) {
        if let Some(build) = &mut self.build {
            build.text.push_str(itoa::Buffer::new().format(n));
            build.tape.push(Node::Static(StaticNode::U64(n)));
        }
    }

    /// An integer, as simd-json puts it on the tape (signed when it fits) and as serde_json
    /// writes it.
    fn int(&mut self, n: i64) -> Result<(), WalkError> {
        if let Some(build) = &mut self.build {
            build.text.push_str(itoa::Buffer::new().format(n));
            build.tape.push(Node::Static(StaticNode::I64(n)));
        }
        Ok(())
    }

    /// A finite float, written as serde_json writes one (`zmij`: the shortest round-trip digits).
    fn float(&mut self, f: f64) -> Result<(), WalkError> {
        if !f.is_finite() {
            return Err(WalkError::Bad(format!("{f} is not a finite number")));
        }
        if let Some(build) = &mut self.build {
            build.text.push_str(zmij::Buffer::new().format_finite(f));
            build.tape.push(Node::Static(StaticNode::F64(f)));
        }
        Ok(())
    }

    /// A string value or key of `len` bytes; returns where its bytes sit in the input.
    fn string(&mut self, len: usize) -> Result<Range<usize>, WalkError> {
        let start = self.pos;
        let bytes = self.take(len)?;
        self.text(bytes)?;
        Ok(start..self.pos)
    }

    /// Checks and writes the bytes of a string.
    fn text(&mut self, bytes: &'i [u8]) -> Result<(), WalkError> {
        let Ok(text) = utf8(bytes) else {
            return Err(WalkError::Bad("string is not valid UTF-8".into()));
        };
        if let Some(build) = &mut self.build {
            write_json_string(build.text, text);
            build.tape.push(Node::String(text));
        }
        Ok(())
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
        let at = self.open('[', Node::Array { len, count: 0 });
        for i in 0..len {
            if i > 0 {
                self.push_text(',');
            }
            self.value(depth)?;
        }
        self.close(']', at);
        Ok(())
    }

    fn map(&mut self, len: usize, depth: usize) -> Result<(), WalkError> {
        let depth = Self::deeper(depth)?;
        self.fits(len.saturating_mul(2))?;
        let at = self.open('{', Node::Object { len, count: 0 });
        let keys_base = self.build.as_ref().map_or(0, |b| b.keys.len());
        // Hash bits of the keys seen so far in this map (maps up to MASKED_KEYS keys).
        let mut seen = 0_u64;
        for i in 0..len {
            if i > 0 {
                self.push_text(',');
            }
            self.count(1)?;
            let key_len = match self.byte()? {
                marker @ 0xa0..=0xbf => usize::from(marker & 0x1f),
                0xd9 => self.len8()?,
                0xda => self.len16()?,
                0xdb => self.len32()?,
                _ => return Err(WalkError::Bad("map keys must be strings".into())),
            };
            let start = self.pos;
            let key = self.take(key_len)?;
            let Some(build) = &mut self.build else {
                if simdutf8::basic::from_utf8(key).is_err() {
                    return Err(WalkError::Bad("map key is not valid UTF-8".into()));
                }
                self.value(depth)?;
                continue;
            };
            let hash = key_hash(key);
            if len <= MASKED_KEYS {
                let bit = 1_u64 << (hash >> 58);
                let input = self.input;
                if seen & bit != 0
                    && build.keys[keys_base..]
                        .iter()
                        .any(|(h, prev)| *h == hash && input.get(prev.clone()) == Some(key))
                {
                    return Err(WalkError::DuplicateKey);
                }
                seen |= bit;
            }
            build.keys.push((hash, start..self.pos));
            if let Some((known, text)) = known_key(key, hash) {
                build.text.push_str(text);
                build.tape.push(Node::String(known));
            } else {
                self.text(key).map_err(|err| match err {
                    WalkError::Bad(detail) if detail == "string is not valid UTF-8" => {
                        WalkError::Bad("map key is not valid UTF-8".into())
                    }
                    other => other,
                })?;
                self.push_text(':');
            }
            self.value(depth)?;
        }
        if let Some(build) = &mut self.build {
            if len > MASKED_KEYS {
                let input = self.input;
                let keys = &mut build.keys[keys_base..];
                keys.sort_unstable_by_key(|(hash, _)| *hash);
                if keys.windows(2).any(|pair| {
                    pair[0].0 == pair[1].0
                        && input.get(pair[0].1.clone()) == input.get(pair[1].1.clone())
                }) {
                    return Err(WalkError::DuplicateKey);
                }
            }
            build.keys.truncate(keys_base);
        }
        self.close('}', at);
        Ok(())
    }

    fn push_text(&mut self, text: char) {
        if let Some(build) = &mut self.build {
            build.text.push(text);
        }
    }

    /// Writes a container's opening; returns its tape index.
    fn open(&mut self, text: char, node: Node<'i>) -> usize {
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
    fn close(&mut self, text: char, at: usize) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The JSON text and outcome of a building walk over `bytes`.
    fn walk(bytes: &[u8]) -> (Result<(), WalkError>, String) {
        let (mut text, mut tape, mut keys) = (String::new(), Vec::new(), Vec::new());
        let walked =
            Walker::building(bytes, DEFAULT_MAX_NODES, &mut text, &mut tape, &mut keys).run();
        (walked, text)
    }

    fn encode(value: &rmpv::Value) -> Vec<u8> {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(&mut bytes, value).expect("encode into a Vec");
        bytes
    }

    #[test]
    fn known_keys_and_their_text_line_up() {
        for (key, quoted) in KNOWN_KEYS.iter().zip(KNOWN_QUOTED) {
            assert_eq!(quoted, format!("\"{key}\":"));
            assert_eq!(
                known_key(key.as_bytes(), key_hash(key.as_bytes())),
                Some((*key, quoted))
            );
        }
        let unique: std::collections::BTreeSet<_> = KNOWN_KEYS.iter().collect();
        assert_eq!(unique.len(), KNOWN_KEYS.len());
        for other in [
            "",
            "x",
            "price ",
            "Price",
            "pric",
            "participant3Score",
            "odds\0",
        ] {
            assert_eq!(
                known_key(other.as_bytes(), key_hash(other.as_bytes())),
                None
            );
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut samples: Vec<String> = [
            "",
            "plain",
            "é€😀",
            "a\"b",
            "back\\slash",
            "tab\there",
            "\u{7f}",
            "\u{1f}x",
            "0123456789abcdef\"",
            "01234567\\",
            "0123456\n",
            "ab\u{0}cdefghijkl",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        samples.extend((0_u8..=0x7f).map(|b| format!("{:8}{}", "", char::from(b))));
        for s in samples {
            let mut out = String::new();
            write_json_string(&mut out, &s);
            assert_eq!(out, serde_json::to_string(&s).expect("a string"), "{s:?}");
            let plain = !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\');
            assert_eq!(plain_json(s.as_bytes()), plain, "{s:?}");
        }
    }

    #[test]
    fn repeated_keys_are_found_in_small_and_large_maps() {
        use rmpv::Value as Mp;
        for size in [1_usize, 2, 16, 17, 64, 65, 300] {
            let entries = |dup: Option<usize>| {
                let mut entries: Vec<(Mp, Mp)> = (0..size)
                    .map(|i| (Mp::from(format!("k{i}")), Mp::from(i)))
                    .collect();
                if let Some(at) = dup {
                    entries.push((Mp::from(format!("k{at}")), Mp::Nil));
                }
                Mp::Map(entries)
            };
            let (walked, text) = walk(&encode(&entries(None)));
            assert_eq!(walked, Ok(()), "{size} distinct keys");
            assert!(text.starts_with("{\"k0\":0"), "{text}");
            for at in [0, size / 2, size - 1] {
                let (walked, _) = walk(&encode(&entries(Some(at))));
                assert_eq!(
                    walked,
                    Err(WalkError::DuplicateKey),
                    "{size} keys, k{at} twice"
                );
            }
        }
        // Known keys repeated, and a key that only looks like one.
        let map = Mp::Map(vec![
            (Mp::from("price"), Mp::from(1.5)),
            (Mp::from("prices"), Mp::from(2)),
            (Mp::from("price"), Mp::from(3)),
        ]);
        assert_eq!(walk(&encode(&map)).0, Err(WalkError::DuplicateKey));
    }

    #[test]
    fn numbers_and_keys_are_spelled_as_serde_json_spells_them() {
        use rmpv::Value as Mp;
        let value = Mp::Map(vec![
            (Mp::from("price"), Mp::from(2.84)),
            (Mp::from("limit"), Mp::from(1e300)),
            (Mp::from("small"), Mp::from(-2.5e-7)),
            (Mp::from("f32"), Mp::F32(0.1)),
            (Mp::from("big"), Mp::from(u64::MAX)),
            (Mp::from("neg"), Mp::from(i64::MIN)),
            (Mp::from("outcomeId"), Mp::from(11114)),
            (
                Mp::from("k\"é"),
                Mp::Array(vec![Mp::Nil, Mp::from(true), Mp::from("v\n")]),
            ),
        ]);
        let bytes = encode(&value);
        let (walked, text) = walk(&bytes);
        assert_eq!(walked, Ok(()));
        let expected = msgpack_to_json(&bytes).expect("valid").to_string();
        assert_eq!(text, expected);
        // Invalid UTF-8 in a key is refused, known key table or not.
        let bad_key = [0x81, 0xa2, 0xff, b'x', 0x01];
        assert_eq!(
            walk(&bad_key).0,
            Err(WalkError::Bad("map key is not valid UTF-8".into()))
        );
        assert_eq!(
            Walker::check(&bad_key, DEFAULT_MAX_NODES).run(),
            Err(WalkError::Bad("map key is not valid UTF-8".into()))
        );
    }
}
