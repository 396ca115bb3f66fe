//! The WebSocket feed (docs/PROTOCOL.md Part B): the login, control frames, data messages and
//! the decode rules that turn a frame's bytes into them.
//!
//! Every entry point classifies a JSON object by B.5 rule 1: a `type` in
//! [`CONTROL_TYPES`] makes it a [`Control`] frame; otherwise a string `channel` plus a
//! `payload` make it a [`DataMessage`]; anything else is [`Control::Unknown`], kept whole.
//!
//! | input | function |
//! |---|---|
//! | one JSON document in a mutable buffer (zstd output, binary frame) | [`parse_ws_fast`] / [`FastParser`] (simd-json) |
//! | one JSON document, read-only | [`parse_ws_json`] (serde_json) |
//! | a text frame (one or more documents) | [`parse_ws_text`] |
//! | a MessagePack binary frame | [`parse_ws_msgpack`] |
//!
//! The fast and plain paths return identical values for the same input.

mod control;
mod data;
mod login;
mod payload;
mod small_str;
mod tape;
mod vec_map;

use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::Value;

pub use control::{
    Access, CONTROL_TYPES, Control, DictFrame, ErrorFrame, LoginOk, Reconnect, ResumeComplete,
    ResumeInfo, ServerEntryIds, SnapshotRequired, is_control_type,
};
pub use data::DataMessage;
pub use login::{Login, ReceiveType};
pub use payload::{
    BookmakerState, BookmakersPayload, ClockState, ClocksPayload, FixturePayload, FixtureStatus,
    OddsPayload, Outcome, Payload, PeriodScore, ScoresPayload,
};
pub use small_str::{SMALL_STR_INLINE, SmallStr};
pub use vec_map::VecMap;

use crate::error::ModelError;
use crate::msgpack::msgpack_to_json;
use data::{DataParts, FastData};

/// The deepest nesting of arrays and objects accepted in a document (the top-level object
/// counts as one). serde_json refuses deeper documents; the fast path and the MessagePack
/// conversion are held to the same limit so that every path agrees. Deep nesting is the
/// classic way to exhaust a recursive parser's stack.
pub const MAX_JSON_DEPTH: usize = 127;

/// One message from the server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsMessage {
    /// A control frame.
    Control(Control),
    /// A data message.
    Data(DataMessage),
}

/// Reuses simd-json's scratch buffers across messages (the fast path).
///
/// ```
/// use oddsfeed_model::ws::{FastParser, Payload, WsMessage};
/// let mut parser = FastParser::new();
/// let mut frame = br#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"f1","scores":{}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#.to_vec();
/// let WsMessage::Data(msg) = parser.parse(&mut frame)? else { unreachable!() };
/// assert_eq!(msg.channel, "scores");
/// assert!(matches!(msg.payload, Payload::Scores(_)));
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
pub struct FastParser {
    buffers: simd_json::Buffers,
    /// simd-json's tape, kept empty between messages so that its allocation is reused.
    tape: Vec<simd_json::tape::Node<'static>>,
}

impl Default for FastParser {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for FastParser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastParser").finish_non_exhaustive()
    }
}

impl FastParser {
    /// A parser with scratch space for 64 KiB messages; it grows as needed.
    pub fn new() -> Self {
        Self {
            buffers: simd_json::Buffers::with_max_depth(64 << 10, MAX_JSON_DEPTH),
            tape: Vec::new(),
        }
    }

    /// Parses one JSON document, rewriting `buf` in place (as [`parse_ws_fast`]).
    ///
    /// # Errors
    /// [`ModelError::InvalidUtf8`], [`ModelError::BadJson`] (not one JSON document) or
    /// [`ModelError::WrongShape`] (not an object). A payload that does not fit its typed
    /// view is not an error (see [`DataMessage::typed_error`]).
    pub fn parse(&mut self, buf: &mut [u8]) -> Result<WsMessage, ModelError> {
        // simdutf8 accepts exactly what `std::str::from_utf8` accepts, faster.
        let text = match simdutf8::basic::from_utf8(buf) {
            Ok(text) => text.to_owned(),
            Err(_) => return Err(ModelError::invalid_utf8(buf)),
        };
        let scan = Scan::of(text.as_bytes());
        if scan.negative_zero {
            // simd-json reads `-0` as the integer 0, serde_json as the float -0.0: take the
            // plain path so both agree.
            return parse_ws_json(text.as_bytes());
        }
        match self.read_data(buf) {
            Some(parts) => finish_data_owned(text, parts, scan.line_break),
            None => parse_generic(&text),
        }
    }

    /// Builds simd-json's tape of `buf` and reads a clean data message from it: by the
    /// direct tape reader, or by the serde reader over the same tape for what the direct
    /// one leaves (see the `tape` module). `None` if `buf` is not one JSON document or not
    /// a clean data message (see [`FastData`]); the caller then parses the text
    /// generically.
    fn read_data(&mut self, buf: &mut [u8]) -> Option<DataParts> {
        let mut tape = simd_json::tape::Tape(std::mem::take(&mut self.tape)).reset();
        let parts = if simd_json::fill_tape(buf, &mut self.buffers, &mut tape).is_ok() {
            match tape::read_data_message(&tape.0) {
                Some(parts) => Some(parts),
                None => {
                    let mut deserializer = simd_json::Deserializer::from_tape(tape);
                    let parts = FastData::deserialize(&mut deserializer)
                        .ok()
                        .map(|FastData(parts)| parts);
                    tape = deserializer.into_tape();
                    parts
                }
            }
        } else {
            None
        };
        self.tape = tape.reset().0;
        parts
    }
}

/// What one pass over a document's bytes tells the fast path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scan {
    /// The text may hold the number `-0` (no fraction, no exponent). False positives
    /// (inside strings) only cost speed.
    negative_zero: bool,
    /// A raw `\n` or `\r` appears somewhere in the text.
    line_break: bool,
}

impl Scan {
    /// Scans `bytes` once for `-`, `\n` and `\r`. Stops at the first possible `-0`, which
    /// decides the path on its own.
    fn of(bytes: &[u8]) -> Self {
        let mut scan = Self::default();
        for at in memchr::memchr3_iter(b'-', b'\n', b'\r', bytes) {
            if bytes.get(at) == Some(&b'-') {
                if bytes.get(at + 1) == Some(&b'0')
                    && !matches!(bytes.get(at + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
                {
                    scan.negative_zero = true;
                    return scan;
                }
            } else {
                scan.line_break = true;
            }
        }
        scan
    }
}

/// [`finish_data`] for a text the caller owns and has scanned: when it is already the
/// one-line form (the feed's case), it becomes `raw` as is, without a second copy.
fn finish_data_owned(
    text: String,
    parts: DataParts,
    line_break: bool,
) -> Result<WsMessage, ModelError> {
    if !line_break && trim_json_ws(&text).len() == text.len() {
        return Ok(WsMessage::Data(parts.with_raw(text)));
    }
    finish_data(&text, parts)
}

/// Parses one JSON document with simd-json, rewriting `buf` in place (the hot path for
/// decompressed frames). Returns the same value as [`parse_ws_json`] on the same bytes.
/// Use a [`FastParser`] to reuse scratch buffers across messages.
///
/// # Errors
/// As [`FastParser::parse`].
pub fn parse_ws_fast(buf: &mut [u8]) -> Result<WsMessage, ModelError> {
    let mut parser = FastParser {
        buffers: simd_json::Buffers::with_max_depth(buf.len(), MAX_JSON_DEPTH),
        tape: Vec::new(),
    };
    parser.parse(buf)
}

/// Parses one JSON document with serde_json.
///
/// ```
/// use oddsfeed_model::ws::{parse_ws_json, Control, WsMessage};
/// let msg = parse_ws_json(br#"{"type":"reconnect","reason":"server_upgrade"}"#)?;
/// assert!(matches!(msg, WsMessage::Control(Control::Reconnect(_))));
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
///
/// # Errors
/// As [`FastParser::parse`].
pub fn parse_ws_json(bytes: &[u8]) -> Result<WsMessage, ModelError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(ModelError::invalid_utf8(bytes));
    };
    match serde_json::from_str::<FastData>(text) {
        Ok(FastData(parts)) => finish_data(text, parts),
        Err(_) => parse_generic(text),
    }
}

/// Parses a text frame (B.5 rule 1): one or more JSON documents separated by whitespace.
///
/// The frame is read as a value sequence. If that fails it is read line by line: each bad
/// line gives one [`ModelError::BadJson`] (with the line's bytes) and the good lines are
/// kept, in order. A frame holding only whitespace gives one `BadJson`.
///
/// ```
/// use oddsfeed_model::ws::parse_ws_text;
/// let frame = "{\"type\":\"reconnect\"}\n{oops\n{\"type\":\"resume_complete\"}";
/// let parsed = parse_ws_text(frame);
/// assert_eq!(parsed.len(), 3);
/// assert!(parsed[0].is_ok() && parsed[2].is_ok());
/// assert_eq!(parsed[1].as_ref().map_err(|e| e.reason()).err(), Some("bad_json"));
/// ```
pub fn parse_ws_text(text: &str) -> Vec<Result<WsMessage, ModelError>> {
    if trim_json_ws(text).is_empty() {
        return vec![Err(ModelError::bad_json(
            "text frame holds no JSON value",
            text.as_bytes(),
        ))];
    }
    // The usual case: exactly one document.
    match parse_ws_json(text.as_bytes()) {
        Err(ModelError::BadJson { .. }) => {}
        single => return vec![single],
    }
    if let Ok(docs) = split_sequence(text) {
        return docs
            .into_iter()
            .map(|doc| parse_ws_json(doc.as_bytes()))
            .collect();
    }
    let mut out = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if trim_json_ws(line).is_empty() {
            continue;
        }
        match split_sequence(line) {
            Ok(docs) => out.extend(docs.into_iter().map(|doc| parse_ws_json(doc.as_bytes()))),
            Err(err) => out.push(Err(ModelError::bad_json(err.to_string(), line.as_bytes()))),
        }
    }
    out
}

/// Parses a MessagePack binary frame (`binary` mode): converted to JSON by
/// [`msgpack_to_json`], then classified like JSON. `raw` of a data
/// message is the compact JSON of the converted value.
///
/// # Errors
/// [`ModelError::BadMsgpack`] (see [`msgpack_to_json`]) or
/// [`ModelError::WrongShape`] (not a map).
pub fn parse_ws_msgpack(bytes: &[u8]) -> Result<WsMessage, ModelError> {
    let value = msgpack_to_json(bytes)?;
    let raw = value.to_string();
    classify_value(value, raw)
}

/// Classifies a parsed JSON value (B.5 rule 1). `raw` is the message's compact text.
///
/// # Errors
/// [`ModelError::WrongShape`] if the value is not an object.
pub fn classify_value(value: Value, raw: String) -> Result<WsMessage, ModelError> {
    let map = match value {
        Value::Object(map) => map,
        other => {
            return Err(ModelError::wrong_shape(
                format!("expected a JSON object, found {}", json_kind(&other)),
                raw.as_bytes(),
            ));
        }
    };
    if let Some(Value::String(kind)) = map.get("type")
        && is_control_type(kind)
    {
        let kind = kind.clone();
        return Ok(WsMessage::Control(Control::from_object(&kind, map)));
    }
    if let Some(Value::String(channel)) = map.get("channel")
        && map.contains_key("payload")
    {
        let channel = channel.clone();
        return Ok(WsMessage::Data(
            DataParts::from_object(channel, map).with_raw(raw),
        ));
    }
    Ok(WsMessage::Control(Control::Unknown(Value::Object(map))))
}

/// The name of a JSON value's type, for error messages.
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Strips JSON whitespace from both ends.
pub(crate) fn trim_json_ws(text: &str) -> &str {
    text.trim_matches([' ', '\t', '\n', '\r'])
}

/// The raw text of a document: trimmed, or `None` if a raw line break sits between its
/// tokens (then the caller re-serialises it on one line).
fn one_line(text: &str) -> Option<&str> {
    let trimmed = trim_json_ws(text);
    memchr::memchr2(b'\n', b'\r', trimmed.as_bytes())
        .is_none()
        .then_some(trimmed)
}

/// Completes a data message read by the streaming reader.
fn finish_data(text: &str, parts: DataParts) -> Result<WsMessage, ModelError> {
    match one_line(text) {
        Some(raw) => Ok(WsMessage::Data(parts.with_raw(raw.to_owned()))),
        // Rare: re-parse generically to produce the one-line form.
        None => parse_generic(text),
    }
}

/// Parses any single document into a value, then classifies it.
fn parse_generic(text: &str) -> Result<WsMessage, ModelError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|err| ModelError::bad_json(err.to_string(), text.as_bytes()))?;
    let raw = match one_line(text) {
        Some(raw) => raw.to_owned(),
        None => value.to_string(),
    };
    classify_value(value, raw)
}

/// Splits a whitespace-separated sequence of JSON documents into their texts.
fn split_sequence(text: &str) -> Result<Vec<&str>, serde_json::Error> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<IgnoredAny>();
    let mut docs = Vec::new();
    let mut start = 0;
    while let Some(item) = stream.next() {
        item?;
        let end = stream.byte_offset();
        if let Some(doc) = text.get(start..end) {
            docs.push(trim_json_ws(doc));
        }
        start = end;
    }
    Ok(docs)
}

#[cfg(test)]
mod tests;
