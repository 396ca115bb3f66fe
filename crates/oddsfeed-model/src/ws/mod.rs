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
mod envelope;
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
pub use envelope::PayloadMode;
pub use login::{Login, ReceiveType};
pub use payload::{
    BookmakerState, BookmakersPayload, ClockState, ClocksPayload, FixturePayload, FixtureStatus,
    OddsPayload, Outcome, Payload, PayloadIds, PeriodScore, ScoresPayload, UntypedPayload,
};
pub use small_str::{SMALL_STR_INLINE, SmallStr};
pub use vec_map::VecMap;

use std::ops::Range;

use crate::error::ModelError;
use crate::msgpack::{WalkError, Walker, msgpack_to_json_limited};
use data::{DataParts, FastData};

pub use crate::limits::{DEFAULT_MAX_NODES, MAX_JSON_DEPTH};

/// Input length up to which [`FastParser`] keeps simd-json's buffers sized for the largest
/// message seen; after a longer message they go back to their starting size (64 KiB).
pub const PARSER_RETAINED_INPUT: usize = 1 << 20;

/// Tape nodes [`FastParser`] keeps allocated between messages; a larger tape is freed.
pub const PARSER_RETAINED_NODES: usize = 1 << 16;

/// The starting size of [`FastParser`]'s simd-json buffers.
const PARSER_INITIAL_INPUT: usize = 64 << 10;

/// Refuses a JSON document that may hold more than `max_nodes` nodes (see
/// [`DEFAULT_MAX_NODES`] for the method). Cheap for short documents: no scan at all.
///
/// # Errors
/// [`ModelError::TooComplex`] with the first bytes of the document.
pub fn check_json_nodes(bytes: &[u8], max_nodes: usize) -> Result<(), ModelError> {
    if bytes.len().div_ceil(2) <= max_nodes {
        return Ok(());
    }
    let mut nodes = 1_usize;
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => {
                // Skip the string: to its closing quote, stepping over escapes.
                at += 1;
                loop {
                    match memchr::memchr2(b'"', b'\\', bytes.get(at..).unwrap_or_default()) {
                        Some(off) if bytes.get(at + off) == Some(&b'\\') => at += off + 2,
                        Some(off) => {
                            at += off;
                            break;
                        }
                        None => return Ok(()),
                    }
                }
            }
            b',' | b':' | b'[' | b'{' => {
                nodes += 1;
                if nodes > max_nodes {
                    return Err(ModelError::too_complex(
                        format!("more than {max_nodes} values and keys in one document"),
                        bytes,
                    ));
                }
            }
            _ => {}
        }
        at += 1;
    }
    Ok(())
}

/// One message from the server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsMessage {
    /// A control frame.
    Control(Control),
    /// A data message.
    Data(DataMessage),
}

impl WsMessage {
    /// The message as decoded in `mode`: with [`PayloadMode::Envelope`] a data message's
    /// payload becomes [`Payload::Unparsed`]`(None)` unless it is unparsed already (and its
    /// `typed_error` `None`); anything else is returned as is. For messages a typed path
    /// produced (the text path, say) where the caller asked for envelope mode.
    #[must_use]
    pub fn with_payload_mode(self, mode: PayloadMode) -> Self {
        match (self, mode) {
            (Self::Data(mut data), PayloadMode::Envelope) => {
                if !data.payload.is_unparsed() {
                    data.payload = Payload::Unparsed(None);
                }
                data.typed_error = None;
                Self::Data(data)
            }
            (message, _) => message,
        }
    }
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
    /// The input length `buffers` are sized for (simd-json grows them to the longest input).
    buffers_input: usize,
    /// simd-json's tape, kept empty between messages so that its allocation is reused.
    tape: Vec<simd_json::tape::Node<'static>>,
    /// Map keys seen by the MessagePack walk (hash and offsets into its input).
    keys: Vec<(u64, Range<usize>)>,
    /// The JSON text the MessagePack walk writes; each message's `raw` is an exact-size
    /// copy, so this keeps its capacity between messages.
    msgpack_text: String,
    /// A copy of a document with its `-0` numbers spelled `-0.0` (see [`negative_zeros`]).
    respelled: Vec<u8>,
    /// Offsets of the `-0` numbers of the current document.
    zeros: Vec<usize>,
    max_nodes: usize,
    payload_mode: PayloadMode,
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
    /// A parser with scratch space for 64 KiB messages and the [`DEFAULT_MAX_NODES`] limit.
    /// The scratch space grows as needed and goes back after a message longer than
    /// [`PARSER_RETAINED_INPUT`], so one large message does not pin memory for the session.
    pub fn new() -> Self {
        Self::sized(PARSER_INITIAL_INPUT)
    }

    fn sized(input: usize) -> Self {
        Self {
            buffers: simd_json::Buffers::with_max_depth(input, MAX_JSON_DEPTH),
            buffers_input: input,
            tape: Vec::new(),
            keys: Vec::new(),
            msgpack_text: String::new(),
            respelled: Vec::new(),
            zeros: Vec::new(),
            max_nodes: DEFAULT_MAX_NODES,
            payload_mode: PayloadMode::Typed,
        }
    }

    /// Sets the node limit (see [`DEFAULT_MAX_NODES`]).
    #[must_use]
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Self {
        self.max_nodes = max_nodes;
        self
    }

    /// The node limit.
    pub fn max_nodes(&self) -> usize {
        self.max_nodes
    }

    /// Sets how much of a data message is decoded (default [`PayloadMode::Typed`]).
    ///
    /// With [`PayloadMode::Envelope`], [`parse`](Self::parse) checks the document as in the
    /// typed mode (node limit, UTF-8, one JSON document) and reads the envelope's fields, but
    /// does not build the typed payload: a data message's `payload` is
    /// [`Payload::Unparsed`] and its `typed_error` is `None`. Everything else (errors,
    /// control frames, `channel`, `kind`, `ts`, `entryId`, `raw`) is what the typed mode
    /// gives for the same input. MessagePack ([`parse_msgpack`](Self::parse_msgpack)) is
    /// decoded typed and the payload dropped: only JSON has the cheaper path.
    ///
    /// ```
    /// use oddsfeed_model::ws::{FastParser, Payload, PayloadIds, PayloadMode, WsMessage};
    /// let mut parser = FastParser::new().with_payload_mode(PayloadMode::Envelope);
    /// let mut frame = br#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"f1","scores":{}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#.to_vec();
    /// let WsMessage::Data(msg) = parser.parse(&mut frame)? else { unreachable!() };
    /// assert_eq!((msg.channel.as_str(), msg.ts), ("scores", Some(1766939805321)));
    /// let Payload::Unparsed(Some(ids)) = &msg.payload else { unreachable!() };
    /// assert_eq!(ids.fixture_id.as_deref(), Some("f1"));
    /// assert!(parser.parse(&mut br#"{"channel":"scores","payload":{]"#.to_vec()).is_err());
    /// # Ok::<(), oddsfeed_model::ModelError>(())
    /// ```
    #[must_use]
    pub fn with_payload_mode(mut self, mode: PayloadMode) -> Self {
        self.payload_mode = mode;
        self
    }

    /// How much of a data message is decoded.
    pub fn payload_mode(&self) -> PayloadMode {
        self.payload_mode
    }

    /// The input length simd-json's buffers are sized for now (memory held between
    /// messages: about three times this).
    pub fn retained_input_capacity(&self) -> usize {
        self.buffers_input
    }

    /// The tape nodes allocated between messages.
    pub fn retained_tape_capacity(&self) -> usize {
        self.tape.capacity()
    }

    /// Gives back scratch space a large message grew.
    fn trim(&mut self, input_len: usize) {
        if input_len > PARSER_RETAINED_INPUT {
            self.buffers = simd_json::Buffers::with_max_depth(PARSER_INITIAL_INPUT, MAX_JSON_DEPTH);
            self.buffers_input = PARSER_INITIAL_INPUT;
        } else {
            self.buffers_input = self.buffers_input.max(input_len);
        }
        if self.tape.capacity() > PARSER_RETAINED_NODES {
            self.tape = Vec::new();
        }
        if self.keys.capacity() > PARSER_RETAINED_NODES {
            self.keys = Vec::new();
        }
        if self.msgpack_text.capacity() > PARSER_RETAINED_INPUT {
            self.msgpack_text = String::new();
        }
        if self.respelled.capacity() > PARSER_RETAINED_INPUT {
            self.respelled = Vec::new();
        }
        if self.zeros.capacity() > PARSER_RETAINED_NODES {
            self.zeros = Vec::new();
        }
    }

    /// Parses one JSON document, rewriting `buf` in place (as [`parse_ws_fast`]).
    ///
    /// # Errors
    /// [`ModelError::TooComplex`] (more nodes than the limit, checked first),
    /// [`ModelError::InvalidUtf8`], [`ModelError::BadJson`] (not one JSON document) or
    /// [`ModelError::WrongShape`] (not an object). A payload that does not fit its typed
    /// view is not an error (see [`DataMessage::typed_error`]).
    pub fn parse(&mut self, buf: &mut [u8]) -> Result<WsMessage, ModelError> {
        check_json_nodes(buf, self.max_nodes)?;
        let parsed = self.parse_checked(buf);
        self.trim(buf.len());
        parsed.map(|message| message.with_payload_mode(self.payload_mode))
    }

    fn parse_checked(&mut self, buf: &mut [u8]) -> Result<WsMessage, ModelError> {
        // simdutf8 accepts exactly what `std::str::from_utf8` accepts, faster.
        let text = match simdutf8::basic::from_utf8(buf) {
            Ok(text) => text.to_owned(),
            Err(_) => return Err(ModelError::invalid_utf8(buf)),
        };
        let scan = Scan::of(text.as_bytes());
        let parts = if scan.negative_zero && negative_zeros(text.as_bytes(), &mut self.zeros) {
            // simd-json reads the number `-0` as the integer 0, serde_json as the float -0.0,
            // as it reads `-0.0`: parse a copy that spells each `-0` as `-0.0` (the text,
            // and so `raw`, stays as received).
            let mut respelled = std::mem::take(&mut self.respelled);
            respell_zeros(text.as_bytes(), &self.zeros, &mut respelled);
            let parts = self.read_data(&mut respelled, None);
            self.respelled = respelled;
            parts
        } else {
            self.read_data(buf, Some(&text))
        };
        match parts {
            Some(parts) => finish_data_owned(text, parts, scan.line_break),
            None => parse_generic(&text),
        }
    }

    /// Builds simd-json's tape of `buf` and reads a clean data message from it: by the
    /// direct tape reader, or by the serde reader over the same tape for what the direct
    /// one leaves (see the `tape` module). `None` if `buf` is not one JSON document or not
    /// a clean data message (see [`FastData`]); the caller then parses the text
    /// generically.
    ///
    /// `text`, when given, is `buf` as it was before this call: an untyped payload is then
    /// kept as its slice of it (see [`UntypedPayload`]).
    fn read_data(&mut self, buf: &mut [u8], text: Option<&str>) -> Option<DataParts> {
        let source = text.map(|text| tape::Source {
            text,
            // Only the address: the tape's strings are located by it.
            parsed_at: buf.as_ptr() as usize,
        });
        let mut tape = simd_json::tape::Tape(std::mem::take(&mut self.tape)).reset();
        let parts = if simd_json::fill_tape(buf, &mut self.buffers, &mut tape).is_ok() {
            let envelope = match self.payload_mode {
                PayloadMode::Envelope => envelope::read_envelope(&tape.0),
                _ => None,
            };
            let (parts, back) = match envelope {
                Some(parts) => (Some(parts), tape),
                None => data_from_tape(tape, source),
            };
            tape = back;
            parts
        } else {
            None
        };
        self.tape = tape.reset().0;
        parts
    }

    /// Parses a MessagePack binary frame (`binary` mode) straight into the typed model, as
    /// [`parse_ws_msgpack`] does, reusing this parser's tape and node limit.
    ///
    /// One walk over the bytes checks the B.5 rules and the node limit and writes both the
    /// message's compact JSON text (its `raw`) and a simd-json tape whose strings borrow
    /// from the input; the tape readers of the JSON fast path then build the typed message.
    /// No JSON value is built and nothing is parsed twice. A map that repeats a key, or a
    /// top level that is not a map, takes the converting path (MessagePack → JSON value →
    /// typed), whose `raw` keeps only the last of repeated keys.
    ///
    /// # Errors
    /// [`ModelError::BadMsgpack`], [`ModelError::TooComplex`] or
    /// [`ModelError::WrongShape`] (not a map).
    pub fn parse_msgpack(&mut self, bytes: &[u8]) -> Result<WsMessage, ModelError> {
        let mut tape = simd_json::tape::Tape(std::mem::take(&mut self.tape)).reset();
        let parsed = msgpack_direct(
            bytes,
            self.max_nodes,
            &mut tape.0,
            &mut self.keys,
            Some(&mut self.msgpack_text),
        );
        self.tape = tape.reset().0;
        let parsed = match parsed {
            Some(parsed) => parsed,
            None => parse_msgpack_converting(bytes, self.max_nodes),
        };
        self.trim(0);
        parsed.map(|message| message.with_payload_mode(self.payload_mode))
    }
}

/// Reads a data message from a complete tape: the direct tape reader, or the serde reader
/// over the same tape for what it leaves. Gives the tape back for reuse.
fn data_from_tape<'i>(
    tape: simd_json::tape::Tape<'i>,
    source: Option<tape::Source<'_>>,
) -> (Option<DataParts>, simd_json::tape::Tape<'i>) {
    match tape::read_data_message(&tape.0, source) {
        Some(parts) => (Some(parts), tape),
        None => {
            let mut deserializer = simd_json::Deserializer::from_tape(tape);
            let parts = FastData::deserialize(&mut deserializer)
                .ok()
                .map(|FastData(parts)| parts);
            (parts, deserializer.into_tape())
        }
    }
}

/// The direct MessagePack path (see [`FastParser::parse_msgpack`]); `None` when the
/// converting path must decide (not a map at the top, or a repeated key). The JSON text is
/// written into `scratch` when given (and `raw` is an exact-size copy), else into a new
/// string that becomes `raw`.
fn msgpack_direct<'i>(
    bytes: &'i [u8],
    max_nodes: usize,
    tape: &mut Vec<simd_json::tape::Node<'i>>,
    keys: &mut Vec<(u64, Range<usize>)>,
    scratch: Option<&mut String>,
) -> Option<Result<WsMessage, ModelError>> {
    // fixmap, map16, map32
    if !matches!(bytes.first(), Some(0x80..=0x8f | 0xde | 0xdf)) {
        return None;
    }
    let mut owned = String::new();
    let reused = scratch.is_some();
    let text = match scratch {
        Some(scratch) => scratch,
        None => {
            // JSON text is at most a few times the MessagePack; start at 1.5x and let it grow.
            owned.reserve(bytes.len() + bytes.len() / 2 + 16);
            &mut owned
        }
    };
    let walked = Walker::building(bytes, max_nodes, text, tape, keys).run();
    match walked {
        Ok(()) => {}
        Err(WalkError::DuplicateKey) => return None,
        Err(err) => return Some(Err(err.into_model(bytes))),
    }
    let taken = simd_json::tape::Tape(std::mem::take(tape));
    let (parts, back) = data_from_tape(taken, None);
    *tape = back.0;
    let raw = if reused {
        text.as_str().to_owned()
    } else {
        std::mem::take(text)
    };
    Some(match parts {
        Some(parts) => Ok(WsMessage::Data(parts.with_raw(raw))),
        None => parse_generic(&raw),
    })
}

/// The converting MessagePack path: checked walk, then MessagePack → JSON value → typed.
fn parse_msgpack_converting(bytes: &[u8], max_nodes: usize) -> Result<WsMessage, ModelError> {
    let value = msgpack_to_json_limited(bytes, max_nodes)?;
    let raw = value.to_string();
    classify_value(value, raw)
}

/// What a quick look at a document's bytes tells the fast path.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Scan {
    /// The text may hold the number `-0` (no fraction, no exponent). False positives
    /// (inside strings) are sorted out by [`negative_zeros`].
    negative_zero: bool,
    /// A raw `\n` or `\r` appears somewhere in the text.
    line_break: bool,
}

impl Scan {
    /// Looks for `\n` or `\r`, and for `-0` not followed by a digit, `.`, `e` or `E`. Two
    /// searches for rare bytes: a search for every `-` stopped at each date, negative
    /// price and entryId of the feed.
    fn of(bytes: &[u8]) -> Self {
        Self {
            negative_zero: MINUS_ZERO
                .find_iter(bytes)
                .any(|at| is_negative_zero(bytes, at)),
            line_break: memchr::memchr2(b'\n', b'\r', bytes).is_some(),
        }
    }
}

/// The searcher for `-0`, built once (building one costs more than a search of a message).
static MINUS_ZERO: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
    std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"-0"));

/// Whether the `-` at `at` starts the number `-0` exactly, assuming it is outside a string:
/// not an exponent's sign, followed by `0` and then by no digit, `.`, `e` or `E`.
fn is_negative_zero(bytes: &[u8], at: usize) -> bool {
    bytes.get(at + 1) == Some(&b'0')
        && !matches!(bytes.get(at + 2), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
        && !matches!(
            at.checked_sub(1).and_then(|p| bytes.get(p)),
            Some(b'e' | b'E')
        )
}

/// Collects into `zeros` the offsets of the numbers spelled `-0` in the JSON text `bytes`
/// (outside strings, not exponents); whether there is any. One search for `-0`, and for
/// each hit the strings that open before it are stepped over.
fn negative_zeros(bytes: &[u8], zeros: &mut Vec<usize>) -> bool {
    zeros.clear();
    // An offset known to be outside any string.
    let mut at = 0;
    for minus in MINUS_ZERO.find_iter(bytes) {
        if minus < at || !is_negative_zero(bytes, minus) {
            continue;
        }
        while let Some(quote) = bytes
            .get(at..minus)
            .and_then(|between| memchr::memchr(b'"', between))
        {
            at = string_end(bytes, at + quote + 1);
        }
        if minus >= at {
            zeros.push(minus);
        }
    }
    !zeros.is_empty()
}

/// The offset just past the closing quote of the string whose contents start at `from`
/// (escapes stepped over), or the end of `bytes` if it is not closed.
fn string_end(bytes: &[u8], mut from: usize) -> usize {
    while let Some(off) = bytes
        .get(from..)
        .and_then(|rest| memchr::memchr2(b'"', b'\\', rest))
    {
        if bytes.get(from + off) == Some(&b'"') {
            return from + off + 1;
        }
        from += off + 2;
    }
    bytes.len()
}

/// Writes `bytes` into `out` with `.0` after each `-0` at the offsets `zeros`.
fn respell_zeros(bytes: &[u8], zeros: &[usize], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(bytes.len() + 2 * zeros.len());
    let mut from = 0;
    for &minus in zeros {
        let to = (minus + 2).min(bytes.len());
        out.extend_from_slice(bytes.get(from..to).unwrap_or_default());
        out.extend_from_slice(b".0");
        from = to;
    }
    out.extend_from_slice(bytes.get(from..).unwrap_or_default());
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
    check_json_nodes(buf, DEFAULT_MAX_NODES)?;
    FastParser::sized(buf.len()).parse(buf)
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
    check_json_nodes(bytes, DEFAULT_MAX_NODES)?;
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

/// Parses a MessagePack binary frame (`binary` mode) under the rules of
/// [`msgpack_to_json`](crate::msgpack_to_json), classified like JSON. `raw` of a data
/// message is the compact JSON of the converted value (what `serde_json` writes for it).
/// Use [`FastParser::parse_msgpack`] to reuse scratch space across messages.
///
/// # Errors
/// [`ModelError::BadMsgpack`], [`ModelError::TooComplex`] (more than
/// [`DEFAULT_MAX_NODES`] values and keys) or [`ModelError::WrongShape`] (not a map).
pub fn parse_ws_msgpack(bytes: &[u8]) -> Result<WsMessage, ModelError> {
    let mut tape = Vec::new();
    match msgpack_direct(bytes, DEFAULT_MAX_NODES, &mut tape, &mut Vec::new(), None) {
        Some(parsed) => parsed,
        None => parse_msgpack_converting(bytes, DEFAULT_MAX_NODES),
    }
}

/// The converting path of [`parse_ws_msgpack`] (MessagePack → JSON value → typed), kept
/// to check the direct path against.
#[doc(hidden)]
pub fn parse_ws_msgpack_converting(bytes: &[u8]) -> Result<WsMessage, ModelError> {
    parse_msgpack_converting(bytes, DEFAULT_MAX_NODES)
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
        return Ok(WsMessage::Control(Control::from_object_with_raw(
            &kind, map, raw,
        )));
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
