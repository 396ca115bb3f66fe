//! [`FrameDecoder`]: the docs/PROTOCOL.md B.5 decode rules in one place.

use std::collections::HashMap;

use oddsfeed_model::ws::{
    FastParser, Payload, PayloadMode, WsMessage, check_json_nodes, parse_ws_text,
};
use oddsfeed_model::{ModelError, ReceiveType};
use oddsfeed_wire::ws::{FrameKind, Sniff, check_frame_size, sniff, text_to_utf8};
use oddsfeed_zstd::{Decompressor, DictStore, ZstdError, frame_dict_id};

use super::{DecodeError, DecodeErrorKind, FormatMismatch};

/// Longest channel name remembered per dictionary id (to name the channel in zstd errors); longer
/// names are not remembered, so a hostile `dict` frame cannot pin memory.
const MAX_CHANNEL_NAME: usize = 64;

/// Counters of a [`FrameDecoder`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecoderStats {
    /// Frames given to [`FrameDecoder::decode`].
    pub frames: u64,
    /// Their total size in bytes, as received.
    pub bytes_in: u64,
    /// Bytes handed to the JSON/MessagePack parsers: the decompressed size of zstd frames, the
    /// frame size otherwise.
    pub bytes_out: u64,
    /// Messages decoded (control and data).
    pub messages: u64,
    /// Decode errors reported (`unexpected_binary` included).
    pub errors: u64,
}

/// Decodes whole WebSocket frames into messages by the negotiated mode (docs/PROTOCOL.md B.5).
///
/// It holds what decoding needs across frames: the mode, a zstd [`Decompressor`] (one DCtx and a
/// reused output buffer), the [`DictStore`], and a simd-json [`FastParser`] with its scratch
/// buffers. The session uses one per session; `oddsfeed bench decode` uses it directly.
///
/// * Text frames: UTF-8 check, then one or more JSON documents (a bad line is reported, the good
///   ones kept).
/// * Binary frames, by mode: `json` → an `unexpected_binary` warning, then sniffed; `binary` →
///   MessagePack map (or JSON when it starts with `{`), anything else `bad_msgpack`; `zstd` /
///   `zstd-dict` → decompressed with the dictionary the frame's dictId names, then parsed in
///   place by simd-json; no mode (missing or unknown in `login_ok`) → sniffed.
/// * Every frame is first checked against `max_frame` (`frame_too_large`).
///
/// ```
/// use oddsfeed_session::ws::{FrameDecoder, FrameKind};
/// use oddsfeed_model::ws::WsMessage;
///
/// let mut decoder = FrameDecoder::new(4 << 20, 64 << 20);
/// let mut out = Vec::new();
/// let frame = br#"{"channel":"scores","type":"UPDATE","payload":{},"ts":1,"entryId":"1-0"}"#;
/// decoder.decode(FrameKind::Text, frame, &mut out);
/// assert!(matches!(&out[..], [Ok(WsMessage::Data(m))] if m.channel == "scores"));
/// ```
pub struct FrameDecoder {
    mode: Option<ReceiveType>,
    max_frame: usize,
    decompressor: Decompressor,
    dicts: DictStore,
    dict_channels: HashMap<u32, String>,
    fast: FastParser,
    /// A copy of the current JSON frame for the fast path, which rewrites its input (the frame
    /// itself stays intact for the text path and for error reports).
    scratch: Vec<u8>,
    stats: DecoderStats,
}

impl std::fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("mode", &self.mode)
            .field("max_frame", &self.max_frame)
            .field("max_decompressed", &self.decompressor.max_output())
            .field("dict_ids", &self.dicts.ids())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl FrameDecoder {
    /// A decoder with no mode yet (frames are sniffed), an empty dictionary store, and the given
    /// bounds in bytes: `max_frame` per WebSocket message, `max_decompressed` per zstd frame.
    #[must_use]
    pub fn new(max_frame: usize, max_decompressed: usize) -> Self {
        Self {
            mode: None,
            max_frame,
            decompressor: Decompressor::new(max_decompressed),
            dicts: DictStore::new(),
            dict_channels: HashMap::new(),
            fast: FastParser::new(),
            scratch: Vec::new(),
            stats: DecoderStats::default(),
        }
    }

    /// Sets the limit on values and keys per document (default
    /// [`DEFAULT_MAX_NODES`](oddsfeed_model::ws::DEFAULT_MAX_NODES)); a document over it is
    /// reported as `too_complex` without being parsed.
    #[must_use]
    pub fn with_max_nodes(mut self, max_nodes: usize) -> Self {
        self.fast = std::mem::take(&mut self.fast).with_max_nodes(max_nodes);
        self
    }

    /// Sets how much of a data message is decoded (default [`PayloadMode::Typed`]; see
    /// [`FastParser::with_payload_mode`]). In [`PayloadMode::Envelope`] every data message
    /// this decoder yields has [`Payload::Unparsed`], whichever path decoded it; errors are
    /// the same in both modes.
    #[must_use]
    pub fn with_payload_mode(mut self, mode: PayloadMode) -> Self {
        self.fast = std::mem::take(&mut self.fast).with_payload_mode(mode);
        self
    }

    /// The JSON/MessagePack parser (its node limit and retained scratch space).
    #[must_use]
    pub fn parser(&self) -> &FastParser {
        &self.fast
    }

    /// A decoder already set to `mode`.
    #[must_use]
    pub fn with_mode(mut self, mode: Option<ReceiveType>) -> Self {
        self.mode = mode;
        self
    }

    /// The mode binary frames are decoded by; `None` = sniff each frame.
    #[must_use]
    pub fn mode(&self) -> Option<ReceiveType> {
        self.mode
    }

    /// Sets the mode: the `receiveType` of `login_ok`, never the one requested.
    pub fn set_mode(&mut self, mode: Option<ReceiveType>) {
        self.mode = mode;
    }

    /// The per-frame size bound, in bytes.
    #[must_use]
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The dictionaries.
    #[must_use]
    pub fn dicts(&self) -> &DictStore {
        &self.dicts
    }

    /// The dictionaries, e.g. to load a corpus' `<dictId>.dict` files with
    /// [`DictStore::insert_raw`].
    pub fn dicts_mut(&mut self) -> &mut DictStore {
        &mut self.dicts
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &DecoderStats {
        &self.stats
    }

    /// The zstd decompressor (its own counters and buffer size).
    #[must_use]
    pub fn decompressor(&self) -> &Decompressor {
        &self.decompressor
    }

    /// Stores the dictionary of a `dict` frame (docs/PROTOCOL.md B.6) and returns its size in bytes. The
    /// channel is remembered to name it in later zstd errors.
    ///
    /// # Errors
    ///
    /// [`ZstdError::DictRejected`] (bad encoding or base64, id 0, too large, header id mismatch,
    /// store full); any dictionary previously stored under `dict_id` stays.
    pub fn load_dict(
        &mut self,
        dict_id: u32,
        encoding: &str,
        data: &str,
        channel: Option<&str>,
    ) -> Result<usize, ZstdError> {
        let dict = self.dicts.insert_base64(dict_id, encoding, data)?;
        match channel {
            Some(ch) if ch.len() <= MAX_CHANNEL_NAME => {
                self.dict_channels.insert(dict_id, ch.to_owned());
            }
            _ => {
                self.dict_channels.remove(&dict_id);
            }
        }
        Ok(dict.len())
    }

    /// Decodes one whole WebSocket message, appending one entry per message found (several for a
    /// text frame with several documents) and one `Err` per problem. `out` is not cleared.
    pub fn decode(
        &mut self,
        kind: FrameKind,
        payload: &[u8],
        out: &mut Vec<Result<WsMessage, DecodeError>>,
    ) {
        let before = out.len();
        self.stats.frames += 1;
        self.stats.bytes_in += payload.len() as u64;
        self.decode_inner(kind, payload, out);
        let envelope = self.fast.payload_mode() == PayloadMode::Envelope;
        for item in out.iter_mut().skip(before) {
            match item {
                Ok(message) => {
                    self.stats.messages += 1;
                    // The text path (several documents, a refused fast parse) decodes typed.
                    if envelope
                        && let WsMessage::Data(data) = message
                        && !data.payload.is_unparsed()
                    {
                        data.payload = Payload::Unparsed(None);
                        data.typed_error = None;
                    }
                }
                Err(_) => self.stats.errors += 1,
            }
        }
    }

    fn decode_inner(
        &mut self,
        kind: FrameKind,
        payload: &[u8],
        out: &mut Vec<Result<WsMessage, DecodeError>>,
    ) {
        if let Err(error) = check_frame_size(payload.len(), self.max_frame) {
            out.push(Err(DecodeError::new(
                DecodeErrorKind::FrameTooLarge,
                payload,
            )
            .with_source(error)));
            return;
        }
        match (kind, self.mode) {
            (FrameKind::Text, _) => self.decode_json_bytes(payload, out),
            (FrameKind::Binary, None) => self.decode_sniffed(payload, out),
            (FrameKind::Binary, Some(ReceiveType::Json)) => {
                out.push(Err(DecodeError::new(
                    DecodeErrorKind::UnexpectedBinary,
                    payload,
                )
                .with_source(FormatMismatch::BinaryInJsonMode {
                    len: payload.len(),
                    decoded_as: sniff(payload),
                })));
                self.decode_sniffed(payload, out);
            }
            (FrameKind::Binary, Some(ReceiveType::Binary)) => match sniff(payload) {
                Sniff::MsgPack => self.decode_msgpack(payload, out),
                Sniff::Json => self.decode_json_bytes(payload, out),
                Sniff::Zstd | Sniff::Unknown => {
                    out.push(Err(DecodeError::new(DecodeErrorKind::BadMsgpack, payload)
                        .with_source(FormatMismatch::NotMsgpack)))
                }
            },
            (FrameKind::Binary, Some(ReceiveType::Zstd | ReceiveType::ZstdDict)) => {
                self.decode_zstd(payload, out);
            }
        }
    }

    fn decode_sniffed(&mut self, payload: &[u8], out: &mut Vec<Result<WsMessage, DecodeError>>) {
        match sniff(payload) {
            Sniff::Zstd => self.decode_zstd(payload, out),
            Sniff::MsgPack => self.decode_msgpack(payload, out),
            Sniff::Json => self.decode_json_bytes(payload, out),
            Sniff::Unknown => out.push(Err(DecodeError::new(DecodeErrorKind::BadFormat, payload)
                .with_source(FormatMismatch::UnknownFormat))),
        }
    }

    fn decode_msgpack(&mut self, payload: &[u8], out: &mut Vec<Result<WsMessage, DecodeError>>) {
        self.stats.bytes_out += payload.len() as u64;
        out.push(
            self.fast
                .parse_msgpack(payload)
                .map_err(|e| from_model(e, None, None)),
        );
    }

    fn decode_json_bytes(&mut self, payload: &[u8], out: &mut Vec<Result<WsMessage, DecodeError>>) {
        self.stats.bytes_out += payload.len() as u64;
        // One document (the feed's case): simd-json on a copy. Anything the fast path refuses
        // (several documents, bad JSON, bad UTF-8) goes through the text path on the original
        // bytes, which reports it as before.
        if !has_inner_newline(payload) {
            self.scratch.clear();
            self.scratch.extend_from_slice(payload);
            let parsed = self.fast.parse(&mut self.scratch);
            if self.scratch.capacity() > SCRATCH_KEEP {
                self.scratch = Vec::new();
            }
            match parsed {
                Ok(message) => {
                    out.push(Ok(message));
                    return;
                }
                // Too many nodes for the fast path is too many for the text path too: report
                // it without parsing.
                Err(error @ ModelError::TooComplex { .. }) => {
                    out.push(Err(from_model(error, None, None)));
                    return;
                }
                Err(_) => {}
            }
        } else if let Err(error) = check_json_nodes(payload, self.fast.max_nodes()) {
            out.push(Err(from_model(error, None, None)));
            return;
        }
        push_text(payload, None, None, out);
    }

    fn decode_zstd(&mut self, frame: &[u8], out: &mut Vec<Result<WsMessage, DecodeError>>) {
        let dict_id = frame_dict_id(frame).ok();
        let buf = match self.decompressor.decompress(frame, &self.dicts) {
            Ok(buf) => buf,
            Err(error) => {
                let error_dict_id = error.dict_id().or(dict_id);
                out.push(Err(from_zstd(error, frame)
                    .with_channel(channel_of(&self.dict_channels, dict_id))
                    .with_dict_id(error_dict_id)));
                return;
            }
        };
        self.stats.bytes_out += buf.len() as u64;
        // One document (the feed's case) is parsed in place by simd-json. Several documents, or a
        // document the fast path refuses, go through the text path, which splits value sequences
        // and reports bad lines one by one.
        if let Err(error) = check_json_nodes(buf, self.fast.max_nodes()) {
            out.push(Err(from_model(
                error,
                channel_of(&self.dict_channels, dict_id),
                dict_id,
            )));
            return;
        }
        if has_inner_newline(buf) {
            push_text(buf, channel_of(&self.dict_channels, dict_id), dict_id, out);
            return;
        }
        if let Ok(message) = self.fast.parse(buf) {
            out.push(Ok(message));
            return;
        }
        // simd-json rewrote the buffer while failing: decompress again (same input, so the same
        // outcome) to give the text path the original bytes.
        let channel = channel_of(&self.dict_channels, dict_id);
        match self.decompressor.decompress(frame, &self.dicts) {
            Ok(again) => push_text(again, channel, dict_id, out),
            Err(error) => out.push(Err(from_zstd(error, frame)
                .with_channel(channel)
                .with_dict_id(dict_id))),
        }
    }
}

/// The channel remembered for `dict_id`, to name it in an error (looked up on error paths
/// only).
fn channel_of(dict_channels: &HashMap<u32, String>, dict_id: Option<u32>) -> Option<String> {
    dict_id.and_then(|id| dict_channels.get(&id).cloned())
}

/// UTF-8 check, then B.5 rule 1 (one or more documents, bad lines reported).
fn push_text(
    bytes: &[u8],
    channel: Option<String>,
    dict_id: Option<u32>,
    out: &mut Vec<Result<WsMessage, DecodeError>>,
) {
    let text = match text_to_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            out.push(Err(DecodeError::new(DecodeErrorKind::InvalidUtf8, bytes)
                .with_source(error)
                .with_channel(channel)
                .with_dict_id(dict_id)));
            return;
        }
    };
    out.extend(
        parse_ws_text(text)
            .into_iter()
            .map(|r| r.map_err(|e| from_model(e, channel.clone(), dict_id))),
    );
}

/// The largest JSON-frame copy kept between frames; a larger one is freed after use.
const SCRATCH_KEEP: usize = 1 << 20;

/// Whether a newline sits between non-whitespace bytes (i.e. the buffer may hold several
/// newline-separated documents). The memchr crate's SIMD search: `<[u8]>::contains` was a
/// visible share of the per-frame time.
fn has_inner_newline(buf: &[u8]) -> bool {
    memchr::memchr(b'\n', buf.trim_ascii()).is_some()
}

fn from_model(error: ModelError, channel: Option<String>, dict_id: Option<u32>) -> DecodeError {
    // Matched by variant, not by the reason text: a renamed text cannot change the kind.
    let kind = match &error {
        ModelError::BadMsgpack { .. } => DecodeErrorKind::BadMsgpack,
        ModelError::TooComplex { .. } => DecodeErrorKind::TooComplex,
        ModelError::InvalidUtf8 { .. } => DecodeErrorKind::InvalidUtf8,
        _ => DecodeErrorKind::BadJson,
    };
    DecodeError::new(kind, error.raw())
        .with_source(error)
        .with_channel(channel)
        .with_dict_id(dict_id)
}

fn from_zstd(error: ZstdError, frame: &[u8]) -> DecodeError {
    let kind = match &error {
        ZstdError::BadMagic { .. } => DecodeErrorKind::BadMagic,
        ZstdError::UnknownDict { .. } => DecodeErrorKind::UnknownDict,
        ZstdError::OutputBoundExceeded { .. } => DecodeErrorKind::OutputBoundExceeded,
        ZstdError::Truncated => DecodeErrorKind::ZstdTruncated,
        ZstdError::TrailingBytes { .. } => DecodeErrorKind::TrailingBytes,
        _ => DecodeErrorKind::ZstdError,
    };
    DecodeError::new(kind, frame).with_source(error)
}
