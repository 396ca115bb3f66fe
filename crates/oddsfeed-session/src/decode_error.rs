//! [`DecodeError`]: one WebSocket frame (or one document in it), or one IMG line, that could not
//! be decoded. One type for both feeds.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use oddsfeed_wire::ws::Sniff;

use oddsfeed_model::RAW_CAP;

/// Why a frame or line could not be decoded, named as docs/PROTOCOL.md names it (B.5 and
/// "Robustness rules"). The first thirteen are the WebSocket feed's, the last two the IMG feed's
/// only; `invalid_utf8` and `bad_json` occur in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The frame is larger than `max_frame`; it was not looked at.
    FrameTooLarge,
    /// A text frame, a JSON binary frame or an IMG line is not valid UTF-8.
    InvalidUtf8,
    /// Not JSON, or (WebSocket) JSON that is not an object.
    BadJson,
    /// A binary frame in `binary` mode is neither a MessagePack map nor JSON, or the map is invalid.
    BadMsgpack,
    /// A document (JSON or MessagePack) holds more values and keys than the parser's node limit
    /// (`oddsfeed_model::ws::DEFAULT_MAX_NODES` by default); refused before it is parsed, so a
    /// dense document inside the size bounds cannot cost gigabytes.
    TooComplex,
    /// A binary frame whose first bytes match no known format (zstd, MessagePack, JSON) while the
    /// mode is unknown.
    BadFormat,
    /// A binary frame arrived in `json` mode. A warning rather than an error: the frame is still
    /// decoded by sniffing its first bytes.
    UnexpectedBinary,
    /// The zstd frame names a dictionary id that was never announced.
    UnknownDict,
    /// Decompressing would pass `max_decompressed` (a "zstd bomb").
    OutputBoundExceeded,
    /// The zstd frame stops before its end.
    ZstdTruncated,
    /// libzstd refused the frame (corrupt data, checksum mismatch, dictionary mismatch).
    ZstdError,
    /// Bytes follow the end of the zstd frame.
    TrailingBytes,
    /// A binary frame in a zstd mode does not start with the zstd magic.
    BadMagic,
    /// An IMG line longer than `max_line`; discarded to the next newline.
    LineTooLong,
    /// An IMG line that is JSON, but not an object.
    WrongShape,
}

impl DecodeErrorKind {
    /// The docs/PROTOCOL.md name, e.g. `"unknown_dict"`; the CLI prints it in `decode_error` events.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FrameTooLarge => "frame_too_large",
            Self::InvalidUtf8 => "invalid_utf8",
            Self::BadJson => "bad_json",
            Self::BadMsgpack => "bad_msgpack",
            Self::TooComplex => "too_complex",
            Self::BadFormat => "bad_format",
            Self::UnexpectedBinary => "unexpected_binary",
            Self::UnknownDict => "unknown_dict",
            Self::OutputBoundExceeded => "output_bound_exceeded",
            Self::ZstdTruncated => "zstd_truncated",
            Self::ZstdError => "zstd_error",
            Self::TrailingBytes => "trailing_bytes",
            Self::BadMagic => "bad_magic",
            Self::LineTooLong => "line_too_long",
            Self::WrongShape => "wrong_shape",
        }
    }

    /// Every kind, in declaration order (for counters and tests).
    pub const ALL: [DecodeErrorKind; 15] = [
        Self::FrameTooLarge,
        Self::InvalidUtf8,
        Self::BadJson,
        Self::BadMsgpack,
        Self::TooComplex,
        Self::BadFormat,
        Self::UnexpectedBinary,
        Self::UnknownDict,
        Self::OutputBoundExceeded,
        Self::ZstdTruncated,
        Self::ZstdError,
        Self::TrailingBytes,
        Self::BadMagic,
        Self::LineTooLong,
        Self::WrongShape,
    ];

    /// Whether the frame or line was lost. False only for
    /// [`UnexpectedBinary`](Self::UnexpectedBinary), which announces a frame that is decoded
    /// anyway.
    #[must_use]
    pub fn drops_frame(self) -> bool {
        !matches!(self, Self::UnexpectedBinary)
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The typed cause of a [`DecodeError`]: the lower crate's own error
/// (`oddsfeed_wire::WireError`, `oddsfeed_zstd::ZstdError`, `oddsfeed_model::ModelError`,
/// [`FormatMismatch`]), behind an `Arc` so that the error stays `Clone`. Reach the concrete type
/// with [`downcast_ref`](https://doc.rust-lang.org/std/error/trait.Error.html#method.downcast_ref).
pub type DecodeSource = Arc<dyn Error + Send + Sync + 'static>;

/// One frame, or one document inside a frame, or one IMG line, that could not be decoded.
///
/// Never fatal: the session reports it (event `decode_error`), counts it under its
/// [`kind`](Self::kind) and goes on. It keeps at most [`RAW_CAP`] bytes of the input that
/// failed: the frame or line as received for size, UTF-8, MessagePack and zstd failures, the
/// decompressed document for JSON failures inside a zstd frame. The lower layer's typed error is
/// [`source`](Self::source) (also [`Error::source`]); the text is built from the kind and it:
/// `"unknown_dict: unknown zstd dictionary id 99 (known: 740826216)"`.
///
/// Two errors are equal when kind, context, bytes and the source's text are.
#[derive(Clone)]
pub struct DecodeError {
    /// Why it failed.
    pub kind: DecodeErrorKind,
    /// The WebSocket channel, when it is known (from the document, or from the dictionary the
    /// frame names); always `None` for IMG lines.
    pub channel: Option<String>,
    /// The zstd dictionary id the frame names, for zstd frames (0 = none).
    pub dict_id: Option<u32>,
    /// The first bytes (at most [`RAW_CAP`]) of what failed.
    pub raw: Vec<u8>,
    /// The full length of what failed, in bytes, as far as it is known (`raw` may be shorter).
    pub len: usize,
    /// The lower layer's typed error, when there is one (see [`DecodeSource`]).
    pub source: Option<DecodeSource>,
}

impl DecodeError {
    /// A new error keeping at most [`RAW_CAP`] bytes of `raw`, with no context and no source.
    #[must_use]
    pub fn new(kind: DecodeErrorKind, raw: &[u8]) -> Self {
        Self {
            kind,
            channel: None,
            dict_id: None,
            raw: raw.get(..RAW_CAP).unwrap_or(raw).to_vec(),
            len: raw.len(),
            source: None,
        }
    }

    /// Sets the typed cause.
    #[must_use]
    pub fn with_source<E: Error + Send + Sync + 'static>(mut self, source: E) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    /// Sets the channel.
    #[must_use]
    pub fn with_channel(mut self, channel: Option<String>) -> Self {
        self.channel = channel;
        self
    }

    /// Sets the dictionary id.
    #[must_use]
    pub fn with_dict_id(mut self, dict_id: Option<u32>) -> Self {
        self.dict_id = dict_id;
        self
    }

    /// A human description: the source's text, e.g. `"unknown zstd dictionary id 99 (known:
    /// 740826216)"`, or the kind's name when there is no source. The CLI prints it as `detail`.
    #[must_use]
    pub fn detail(&self) -> String {
        match &self.source {
            Some(source) => source.to_string(),
            None => self.kind.as_str().to_owned(),
        }
    }

    /// The kept bytes as text, with invalid UTF-8 replaced (for logs).
    #[must_use]
    pub fn raw_lossy(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// Always false: a bad frame or line never ends a session.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        false
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Some(source) => write!(f, "{}: {source}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl fmt::Debug for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecodeError")
            .field("kind", &self.kind)
            .field("channel", &self.channel)
            .field("dict_id", &self.dict_id)
            .field("raw", &self.raw)
            .field("len", &self.len)
            .field("source", &self.source)
            .finish()
    }
}

impl Error for DecodeError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn Error + 'static))
    }
}

impl PartialEq for DecodeError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.channel == other.channel
            && self.dict_id == other.dict_id
            && self.raw == other.raw
            && self.len == other.len
            && match (&self.source, &other.source) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.to_string() == b.to_string(),
                _ => false,
            }
    }
}

impl Eq for DecodeError {}

/// The cause of the decode errors the WebSocket frame decoder finds itself, from the frame's
/// first bytes and the negotiated mode, without a lower layer's error to quote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatMismatch {
    /// A binary frame in `json` mode (kind `unexpected_binary`); decoded by its first bytes.
    #[error("binary frame of {len} bytes in json mode; decoded as {decoded_as}")]
    BinaryInJsonMode {
        /// The frame's size in bytes.
        len: usize,
        /// The format its first bytes show.
        decoded_as: Sniff,
    },
    /// A binary frame in `binary` mode that starts like neither a MessagePack map nor JSON
    /// (kind `bad_msgpack`).
    #[error("binary frame in binary mode is neither a MessagePack map nor JSON")]
    NotMsgpack,
    /// A binary frame, no mode known, that starts like no known format (kind `bad_format`).
    #[error("binary frame is neither zstd, MessagePack nor JSON")]
    UnknownFormat,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_protocol() {
        let names: Vec<&str> = DecodeErrorKind::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            names,
            [
                "frame_too_large",
                "invalid_utf8",
                "bad_json",
                "bad_msgpack",
                "too_complex",
                "bad_format",
                "unexpected_binary",
                "unknown_dict",
                "output_bound_exceeded",
                "zstd_truncated",
                "zstd_error",
                "trailing_bytes",
                "bad_magic",
                "line_too_long",
                "wrong_shape",
            ]
        );
    }

    #[test]
    fn raw_is_capped_and_length_kept() {
        let big = vec![b'x'; RAW_CAP * 3];
        let e = DecodeError::new(DecodeErrorKind::BadFormat, &big)
            .with_source(FormatMismatch::UnknownFormat);
        assert_eq!(e.raw.len(), RAW_CAP);
        assert_eq!(e.len, RAW_CAP * 3);
        assert_eq!(
            e.to_string(),
            "bad_format: binary frame is neither zstd, MessagePack nor JSON"
        );
        assert_eq!(
            e.detail(),
            "binary frame is neither zstd, MessagePack nor JSON"
        );
        assert!(!e.is_fatal());
        let bare = DecodeError::new(DecodeErrorKind::BadJson, b"{");
        assert_eq!(
            (bare.to_string(), bare.detail()),
            ("bad_json".into(), "bad_json".into())
        );
        assert!(bare.source().is_none());
    }

    #[test]
    fn only_unexpected_binary_keeps_the_frame() {
        for r in DecodeErrorKind::ALL {
            assert_eq!(
                r.drops_frame(),
                r != DecodeErrorKind::UnexpectedBinary,
                "{r}"
            );
        }
    }

    #[test]
    fn equality_compares_the_source_text() {
        let a = DecodeError::new(DecodeErrorKind::BadFormat, b"\x01")
            .with_source(FormatMismatch::UnknownFormat);
        assert_eq!(a, a.clone());
        let b = DecodeError::new(DecodeErrorKind::BadFormat, b"\x01")
            .with_source(FormatMismatch::UnknownFormat);
        assert_eq!(a, b);
        assert_ne!(a, DecodeError::new(DecodeErrorKind::BadFormat, b"\x01"));
    }

    /// Both feeds hand the lower layer's typed error through `Error::source()`: a zstd frame
    /// the WebSocket decoder cannot inflate, and an IMG line that is not JSON.
    #[test]
    fn both_feeds_expose_the_typed_source() {
        use std::time::Instant;

        use oddsfeed_model::{ModelError, ReceiveType};
        use oddsfeed_wire::ws::FrameKind;
        use oddsfeed_zstd::ZstdError;

        use crate::img::{Event as ImgEvent, ImgSession, ImgSessionConfig};
        use crate::ws::FrameDecoder;

        // WebSocket: a zstd frame (the magic, then a frame header) naming dictionary 99, which
        // was never announced.
        let mut decoder =
            FrameDecoder::new(1 << 20, 1 << 20).with_mode(Some(ReceiveType::ZstdDict));
        let frame = [0x28, 0xB5, 0x2F, 0xFD, 0x01, 0x00, 99, 0x00, 0x00];
        let mut out = Vec::new();
        decoder.decode(FrameKind::Binary, &frame, &mut out);
        let ws = match &out[..] {
            [Err(e)] => e.clone(),
            other => panic!("expected one error, got {other:?}"),
        };
        assert_eq!(ws.kind, DecodeErrorKind::UnknownDict);
        let zstd = Error::source(&ws)
            .and_then(|s| s.downcast_ref::<ZstdError>())
            .expect("a ZstdError source");
        assert!(
            matches!(zstd, ZstdError::UnknownDict { id: 99, .. }),
            "{zstd:?}"
        );
        assert_eq!(ws.to_string(), format!("unknown_dict: {zstd}"));
        assert_eq!(ws.raw, frame);

        // IMG: a line that is not JSON, once the session streams.
        let mut session = ImgSession::new(ImgSessionConfig::default());
        let t0 = Instant::now();
        let _ = session.poll_action();
        session.handle_connected(t0);
        session.handle_bytes(b"{not json\n", t0);
        let img = std::iter::from_fn(|| session.poll_event())
            .find_map(|e| match e {
                ImgEvent::DecodeError(e) => Some(e),
                _ => None,
            })
            .expect("a decode error");
        assert_eq!(img.kind, DecodeErrorKind::BadJson);
        let model = Error::source(&img)
            .and_then(|s| s.downcast_ref::<ModelError>())
            .expect("a ModelError source");
        assert!(matches!(model, ModelError::BadJson { .. }), "{model:?}");
        assert_eq!(img.to_string(), format!("bad_json: {model}"));
        assert_eq!(img.raw, b"{not json");
    }
}
