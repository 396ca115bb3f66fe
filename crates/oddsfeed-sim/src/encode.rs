//! Frame encoders for the four receive types (docs/PROTOCOL.md B.5 "Simulator
//! frames", B.6), and the fault frames of B.13.
//!
//! One message becomes one WebSocket message:
//!
//! | mode | frame |
//! |---|---|
//! | `json` | text: the JSON as given |
//! | `binary` | binary: the envelope as one MessagePack map (str, int, float64, bool, nil, array, map; never bin or ext) |
//! | `zstd` | binary: one dictless zstd frame |
//! | `zstd-dict` | binary: one zstd frame with the channel's dictionary (`odds`, `fixtures`, `bookmakers`), dictless otherwise |
//!
//! zstd frames carry no content size and no checksum; frames made with a
//! dictionary carry its dictId. Control frames are always JSON text.
//!
//! ```
//! use oddsfeed_sim::encode::{FrameEncoder, SimFrame, SimReceiveType};
//!
//! let mut encoder = FrameEncoder::new(SimReceiveType::ZstdDict)?;
//! let json = r#"{"channel":"scores","type":"UPDATE","payload":{},"ts":1,"entryId":"1-1"}"#;
//! let SimFrame::Binary(frame) = encoder.encode("scores", json)? else { unreachable!() };
//! assert_eq!(&frame[..4], &[0x28, 0xB5, 0x2F, 0xFD]);
//! assert_eq!(zstd_safe::get_dict_id_from_frame(&frame), None); // scores: dictless
//! # Ok::<(), oddsfeed_sim::SimError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use base64::Engine as _;
use zstd_safe::{CCtx, CParameter, InBuffer, OutBuffer};

use crate::SimError;
use crate::dicts::{self, SimDict};

/// Default zstd compression level for data frames.
pub const DEFAULT_LEVEL: i32 = 3;

/// Largest data frame the simulator sends (docs/PROTOCOL.md B.12); the oversize
/// fault frame is one byte more.
pub const MAX_DATA_FRAME: usize = 4 << 20;

/// How far the zstd bomb inflates: 128 MiB, twice the client's default
/// `max_decompressed`.
pub const BOMB_INFLATED_SIZE: u64 = 128 << 20;

/// How far the dense document of [`dense_frame`] inflates in the zstd modes:
/// 60 MiB, under the client's default 64 MiB `max_decompressed`.
pub const DENSE_INFLATED_SIZE: usize = 60 << 20;

/// The dictId named by [`unknown_dict_frame`]; never announced.
pub const UNKNOWN_DICT_ID: u32 = 4242;

/// The receive types of docs/PROTOCOL.md B.3, as the simulator encodes them.
///
/// The client-side model crate has its own enum; this one only says how to
/// build frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimReceiveType {
    /// JSON text frames.
    Json,
    /// MessagePack maps in binary frames.
    Binary,
    /// Dictless zstd frames.
    Zstd,
    /// zstd frames with trained dictionaries for `odds`, `fixtures`, `bookmakers`.
    ZstdDict,
}

impl SimReceiveType {
    /// All four, in the order of docs/PROTOCOL.md B.3.
    pub const ALL: [SimReceiveType; 4] = [
        SimReceiveType::Json,
        SimReceiveType::Binary,
        SimReceiveType::Zstd,
        SimReceiveType::ZstdDict,
    ];

    /// The wire name: `json`, `binary`, `zstd` or `zstd-dict`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            SimReceiveType::Json => "json",
            SimReceiveType::Binary => "binary",
            SimReceiveType::Zstd => "zstd",
            SimReceiveType::ZstdDict => "zstd-dict",
        }
    }

    /// Whether data frames are zstd-compressed.
    #[must_use]
    pub fn is_zstd(self) -> bool {
        matches!(self, SimReceiveType::Zstd | SimReceiveType::ZstdDict)
    }
}

impl fmt::Display for SimReceiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SimReceiveType {
    type Err = SimError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SimReceiveType::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| SimError::UnknownReceiveType(s.to_owned()))
    }
}

/// One WebSocket message as the simulator sends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimFrame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Vec<u8>),
}

impl SimFrame {
    /// The payload bytes, exactly as on the wire.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            SimFrame::Text(s) => s.as_bytes(),
            SimFrame::Binary(b) => b,
        }
    }

    /// The payload length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the payload is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    /// Whether this is a text frame.
    #[must_use]
    pub fn is_text(&self) -> bool {
        matches!(self, SimFrame::Text(_))
    }

    /// The payload bytes, consuming the frame.
    #[must_use]
    pub fn into_bytes(self) -> Vec<u8> {
        match self {
            SimFrame::Text(s) => s.into_bytes(),
            SimFrame::Binary(b) => b,
        }
    }
}

/// A compression context with one dictionary loaded (or none).
struct DictContext {
    channel: &'static str,
    cctx: CCtx<'static>,
}

/// Encodes data messages for one receive type; see the [module docs](self).
///
/// Holds its zstd contexts for reuse: one dictless, and in `zstd-dict` mode
/// one per dictionary with that dictionary loaded once (libzstd prepares it
/// on first use and keeps it). Keep one encoder per sending task.
pub struct FrameEncoder {
    mode: SimReceiveType,
    level: i32,
    plain: Option<CCtx<'static>>,
    dicts: Vec<DictContext>,
}

impl fmt::Debug for FrameEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameEncoder")
            .field("mode", &self.mode)
            .field("level", &self.level)
            .field(
                "dicts",
                &self.dicts.iter().map(|d| d.channel).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl FrameEncoder {
    /// An encoder with the built-in dictionaries and [`DEFAULT_LEVEL`].
    ///
    /// # Errors
    ///
    /// [`SimError::Zstd`] if libzstd cannot set up a context.
    pub fn new(mode: SimReceiveType) -> Result<Self, SimError> {
        Self::with_dicts(mode, DEFAULT_LEVEL, dicts::builtin_dicts())
    }

    /// An encoder with the built-in dictionaries at compression `level`.
    ///
    /// # Errors
    ///
    /// [`SimError::Zstd`] if libzstd cannot set up a context or rejects the
    /// level.
    pub fn with_level(mode: SimReceiveType, level: i32) -> Result<Self, SimError> {
        Self::with_dicts(mode, level, dicts::builtin_dicts())
    }

    /// An encoder with the given dictionaries (used in `zstd-dict` mode only;
    /// the bytes are copied) at compression `level`.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidDict`] if a dictionary lacks the zstd dictionary
    /// magic; [`SimError::Zstd`] if libzstd cannot set up a context.
    pub fn with_dicts(
        mode: SimReceiveType,
        level: i32,
        dicts: &[SimDict],
    ) -> Result<Self, SimError> {
        let plain = if mode.is_zstd() {
            Some(new_cctx(level, None)?)
        } else {
            None
        };
        let mut contexts = Vec::new();
        if mode == SimReceiveType::ZstdDict {
            for d in dicts {
                if !d.bytes.starts_with(&dicts::DICT_MAGIC) {
                    return Err(SimError::InvalidDict {
                        reason: "missing the 37 A4 30 EC magic",
                    });
                }
                contexts.push(DictContext {
                    channel: d.channel,
                    cctx: new_cctx(level, Some(d.bytes))?,
                });
            }
        }
        Ok(FrameEncoder {
            mode,
            level,
            plain,
            dicts: contexts,
        })
    }

    /// The receive type this encoder produces.
    #[must_use]
    pub fn mode(&self) -> SimReceiveType {
        self.mode
    }

    /// The zstd compression level.
    #[must_use]
    pub fn level(&self) -> i32 {
        self.level
    }

    /// Encodes one data message (`json`: its compact JSON envelope) published
    /// on `channel`.
    ///
    /// Only the `binary` mode parses the JSON; the other modes carry the text
    /// as given.
    ///
    /// # Errors
    ///
    /// [`SimError::InvalidJson`] (`binary` mode) if `json` does not parse;
    /// [`SimError::Zstd`] if compression fails.
    pub fn encode(&mut self, channel: &str, json: &str) -> Result<SimFrame, SimError> {
        let cctx = match self.mode {
            SimReceiveType::Json => return Ok(SimFrame::Text(json.to_owned())),
            SimReceiveType::Binary => return json_to_msgpack(json).map(SimFrame::Binary),
            SimReceiveType::Zstd => self.plain.as_mut(),
            SimReceiveType::ZstdDict => {
                match self.dicts.iter_mut().find(|d| d.channel == channel) {
                    Some(d) => Some(&mut d.cctx),
                    None => self.plain.as_mut(),
                }
            }
        };
        let cctx = cctx.ok_or(SimError::Zstd {
            op: "compress",
            reason: "no context for this mode",
        })?;
        compress(cctx, json.as_bytes()).map(SimFrame::Binary)
    }
}

fn new_cctx(level: i32, dict: Option<&[u8]>) -> Result<CCtx<'static>, SimError> {
    let mut cctx = CCtx::try_create().ok_or(SimError::Zstd {
        op: "create context",
        reason: "allocation failed",
    })?;
    let set = |cctx: &mut CCtx<'static>, p| {
        cctx.set_parameter(p)
            .map(drop)
            .map_err(|c| SimError::zstd("set parameter", c))
    };
    set(&mut cctx, CParameter::CompressionLevel(level))?;
    set(&mut cctx, CParameter::ContentSizeFlag(false))?;
    set(&mut cctx, CParameter::ChecksumFlag(false))?;
    set(&mut cctx, CParameter::DictIdFlag(true))?;
    if let Some(dict) = dict {
        cctx.load_dictionary(dict)
            .map_err(|c| SimError::zstd("load dictionary", c))?;
    }
    Ok(cctx)
}

fn compress(cctx: &mut CCtx<'static>, src: &[u8]) -> Result<Vec<u8>, SimError> {
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(src.len()));
    cctx.compress2(&mut out, src)
        .map_err(|c| SimError::zstd("compress", c))?;
    Ok(out)
}

/// Re-encodes a JSON document as one MessagePack value, keeping key order.
fn json_to_msgpack(json: &str) -> Result<Vec<u8>, SimError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| SimError::InvalidJson {
            reason: e.to_string(),
        })?;
    let mut out = Vec::with_capacity(json.len());
    rmpv::encode::write_value(&mut out, &to_msgpack(value))
        .map_err(|e| SimError::MsgPack(e.to_string()))?;
    Ok(out)
}

fn to_msgpack(value: serde_json::Value) -> rmpv::Value {
    use serde_json::Value as J;
    match value {
        J::Null => rmpv::Value::Nil,
        J::Bool(b) => rmpv::Value::Boolean(b),
        J::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => rmpv::Value::from(u),
            (None, Some(i)) => rmpv::Value::from(i),
            // Neither integer fits: a float (finite: JSON has no NaN/Inf).
            (None, None) => rmpv::Value::F64(n.as_f64().unwrap_or_default()),
        },
        J::String(s) => rmpv::Value::from(s),
        J::Array(items) => rmpv::Value::Array(items.into_iter().map(to_msgpack).collect()),
        J::Object(map) => rmpv::Value::Map(
            map.into_iter()
                .map(|(k, v)| (rmpv::Value::from(k), to_msgpack(v)))
                .collect(),
        ),
    }
}

/// The `dict` control frame announcing `dict` (docs/PROTOCOL.md B.6): the
/// dictionary in standard base64 **with** padding, `dictId` a JSON integer.
#[must_use]
pub fn dict_frame_json(dict: &SimDict) -> String {
    serde_json::json!({
        "type": "dict",
        "channel": dict.channel,
        "dictVersion": dict.version,
        "dictId": dict.id,
        "encoding": "base64",
        "data": base64::engine::general_purpose::STANDARD.encode(dict.bytes),
    })
    .to_string()
}

/// The "bomb" fault frame of `--bomb-at` (docs/PROTOCOL.md B.13).
///
/// zstd modes: a dictless zstd frame of a few KiB that inflates to
/// [`BOMB_INFLATED_SIZE`] zero bytes, with no content size. It is built once
/// per process (streaming, never holding the inflated data) and cloned.
/// `json`: a text frame, and `binary`: a MessagePack map, of exactly
/// [`MAX_DATA_FRAME`] + 1 bytes; their content is an unknown control message
/// (`"type":"oversize"`) padded with `x`.
///
/// # Errors
///
/// [`SimError::Zstd`] if compression fails.
pub fn bomb_frame(mode: SimReceiveType) -> Result<SimFrame, SimError> {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    match mode {
        SimReceiveType::Zstd | SimReceiveType::ZstdDict => {
            if let Some(bomb) = BOMB.get() {
                return Ok(SimFrame::Binary(bomb.clone()));
            }
            let bomb = build_bomb()?;
            Ok(SimFrame::Binary(BOMB.get_or_init(|| bomb).clone()))
        }
        SimReceiveType::Json => {
            let head = "{\"type\":\"oversize\",\"padding\":\"";
            let tail = "\"}";
            let pad = MAX_DATA_FRAME + 1 - head.len() - tail.len();
            let mut s = String::with_capacity(MAX_DATA_FRAME + 1);
            s.push_str(head);
            s.extend(std::iter::repeat_n('x', pad));
            s.push_str(tail);
            Ok(SimFrame::Text(s))
        }
        SimReceiveType::Binary => {
            let frame = |pad: usize| {
                let map = rmpv::Value::Map(vec![
                    ("type".into(), "oversize".into()),
                    ("padding".into(), "x".repeat(pad).into()),
                ]);
                let mut out = Vec::with_capacity(MAX_DATA_FRAME + 1);
                rmpv::encode::write_value(&mut out, &map)
                    .map(|()| out)
                    .map_err(|e| SimError::MsgPack(e.to_string()))
            };
            // The padding string is long enough for a str32 header (5 bytes);
            // measure the fixed overhead with that header in place.
            let probe = frame(1 << 16)?.len() - (1 << 16);
            frame(MAX_DATA_FRAME + 1 - probe).map(SimFrame::Binary)
        }
    }
}

/// The "dense" fault frame of `--dense-at`: one valid document whose size
/// passes every byte limit but which holds far more values than any message.
///
/// zstd modes: a dictless zstd frame (a few KiB, no content size) inflating to
/// [`DENSE_INFLATED_SIZE`] bytes of `{"type":"dense","items":[0,0,…]}`, about
/// 31 million elements; built once per process by streaming compression, never
/// holding the inflated text. `json`: the same document as a text frame of
/// [`MAX_DATA_FRAME`] bytes (about 2 million elements). `binary`: a MessagePack
/// map `{"type":"dense","items":[nil,…]}` of [`MAX_DATA_FRAME`] bytes (about
/// 4 million elements).
///
/// # Errors
///
/// [`SimError::Zstd`] if compression fails.
pub fn dense_frame(mode: SimReceiveType) -> Result<SimFrame, SimError> {
    static DENSE: OnceLock<Vec<u8>> = OnceLock::new();
    const HEAD: &str = r#"{"type":"dense","items":[0"#;
    const TAIL: &str = "]}";
    match mode {
        SimReceiveType::Zstd | SimReceiveType::ZstdDict => {
            if let Some(dense) = DENSE.get() {
                return Ok(SimFrame::Binary(dense.clone()));
            }
            let dense = build_dense(HEAD, TAIL)?;
            Ok(SimFrame::Binary(DENSE.get_or_init(|| dense).clone()))
        }
        SimReceiveType::Json => {
            let pairs = (MAX_DATA_FRAME - HEAD.len() - TAIL.len()) / 2;
            let mut s = String::with_capacity(MAX_DATA_FRAME);
            s.push_str(HEAD);
            for _ in 0..pairs {
                s.push_str(",0");
            }
            s.push_str(TAIL);
            Ok(SimFrame::Text(s))
        }
        SimReceiveType::Binary => {
            // fixmap 2, "type": "dense", "items": array32 of nils.
            let mut out = vec![0x82, 0xa4];
            out.extend_from_slice(b"type");
            out.push(0xa5);
            out.extend_from_slice(b"dense");
            out.push(0xa5);
            out.extend_from_slice(b"items");
            let n = MAX_DATA_FRAME - out.len() - 5;
            out.push(0xdd);
            out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
            out.resize(MAX_DATA_FRAME, 0xc0);
            Ok(SimFrame::Binary(out))
        }
    }
}

/// Streams `head`, `,0` repeated, `tail` (exactly [`DENSE_INFLATED_SIZE`]
/// bytes) through a dictless compressor.
fn build_dense(head: &str, tail: &str) -> Result<Vec<u8>, SimError> {
    const CHUNK: usize = 1 << 20;
    let pairs = ",0".repeat(CHUNK / 2);
    let mut cctx = new_cctx(1, None)?;
    let mut frame = Vec::new();
    let mut scratch: Vec<u8> = Vec::with_capacity(CCtx::out_size());
    let stream_err = |c| SimError::zstd("stream compress", c);
    let body = DENSE_INFLATED_SIZE - head.len() - tail.len();
    let mut pieces: Vec<&[u8]> = vec![head.as_bytes()];
    pieces.extend(std::iter::repeat_n(pairs.as_bytes(), body / CHUNK));
    let rest = body % CHUNK;
    pieces.push(&pairs.as_bytes()[..rest]);
    pieces.push(tail.as_bytes());
    for piece in pieces {
        let mut input = InBuffer::around(piece);
        while input.pos() < piece.len() {
            scratch.clear();
            let mut output = OutBuffer::around(&mut scratch);
            cctx.compress_stream2(
                &mut output,
                &mut input,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue,
            )
            .map_err(stream_err)?;
            frame.extend_from_slice(output.as_slice());
        }
    }
    loop {
        scratch.clear();
        let mut output = OutBuffer::around(&mut scratch);
        let remaining = cctx.end_stream(&mut output).map_err(stream_err)?;
        frame.extend_from_slice(output.as_slice());
        if remaining == 0 {
            return Ok(frame);
        }
    }
}

fn build_bomb() -> Result<Vec<u8>, SimError> {
    const CHUNK: usize = 1 << 20;
    let zeros = vec![0u8; CHUNK];
    let mut cctx = new_cctx(1, None)?;
    let mut frame = Vec::new();
    let mut scratch: Vec<u8> = Vec::with_capacity(CCtx::out_size());
    let stream_err = |c| SimError::zstd("stream compress", c);
    for _ in 0..BOMB_INFLATED_SIZE / CHUNK as u64 {
        let mut input = InBuffer::around(&zeros);
        while input.pos() < zeros.len() {
            scratch.clear();
            let mut output = OutBuffer::around(&mut scratch);
            cctx.compress_stream2(
                &mut output,
                &mut input,
                zstd_safe::zstd_sys::ZSTD_EndDirective::ZSTD_e_continue,
            )
            .map_err(stream_err)?;
            frame.extend_from_slice(output.as_slice());
        }
    }
    loop {
        scratch.clear();
        let mut output = OutBuffer::around(&mut scratch);
        let remaining = cctx.end_stream(&mut output).map_err(stream_err)?;
        frame.extend_from_slice(output.as_slice());
        if remaining == 0 {
            return Ok(frame);
        }
    }
}

/// The fault frame of `--unknown-dict-at` (docs/PROTOCOL.md B.13): a valid zstd
/// frame whose header names dictId [`UNKNOWN_DICT_ID`], which the simulator
/// never announces. It holds an `odds` message compressed with a copy of the
/// `odds` dictionary relabelled with that id.
///
/// # Errors
///
/// [`SimError::InvalidDict`] or [`SimError::Zstd`] if the built-in `odds`
/// dictionary is unusable.
pub fn unknown_dict_frame() -> Result<SimFrame, SimError> {
    let base = dicts::dict_for_channel("odds").ok_or(SimError::InvalidDict {
        reason: "no built-in odds dictionary",
    })?;
    let mut throwaway = base.bytes.to_vec();
    dicts::force_dict_id(&mut throwaway, UNKNOWN_DICT_ID)?;
    let mut cctx = new_cctx(DEFAULT_LEVEL, Some(&throwaway))?;
    compress(&mut cctx, FAULT_MESSAGE.as_bytes()).map(SimFrame::Binary)
}

/// The message inside [`unknown_dict_frame`].
const FAULT_MESSAGE: &str = r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1000000000000000","odds":{}},"ts":0,"entryId":"0-0"}"#;

/// Truncated JSON used by [`bad_json_frame`].
pub const BAD_JSON: &str =
    r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1000000000"#;

/// Bytes used by [`bad_json_frame`] in `binary` mode: a one-entry map whose
/// key and value are `0xC1`, a byte MessagePack never uses. Strict decoders
/// reject the byte; lenient ones (rmpv reads it as nil) are left with a
/// non-string key, which docs/PROTOCOL.md B.5 rejects as `bad_msgpack`.
pub const BAD_MSGPACK: [u8; 3] = [0x81, 0xC1, 0xC1];

/// The fault frame of `--bad-json-at` (docs/PROTOCOL.md B.13): [`BAD_JSON`] as a
/// text frame (`json`), compressed like an `odds` message (zstd modes), or
/// [`BAD_MSGPACK`] (`binary`).
///
/// # Errors
///
/// [`SimError::Zstd`] if compression fails.
pub fn bad_json_frame(mode: SimReceiveType) -> Result<SimFrame, SimError> {
    match mode {
        SimReceiveType::Binary => Ok(SimFrame::Binary(BAD_MSGPACK.to_vec())),
        _ => FrameEncoder::new(mode)?.encode("odds", BAD_JSON),
    }
}

#[cfg(test)]
mod tests;
