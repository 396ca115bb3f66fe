//! [`DecodeError`]: one WebSocket frame (or one document in it) that could not be decoded.

use std::fmt;

use crate::common::RAW_CAP;

/// Why a frame could not be decoded, named as docs/PROTOCOL.md names it (B.5 and "Robustness rules").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DecodeReason {
    /// The frame is larger than `max_frame`; it was not looked at.
    FrameTooLarge,
    /// A text frame (or a JSON binary frame) is not valid UTF-8.
    InvalidUtf8,
    /// Not JSON, or JSON that is not an object.
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
}

impl DecodeReason {
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
        }
    }

    /// Every reason, in declaration order (for counters and tests).
    pub const ALL: [DecodeReason; 13] = [
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
    ];

    /// Whether the frame was lost. False only for [`UnexpectedBinary`](Self::UnexpectedBinary),
    /// which announces a frame that is decoded anyway.
    #[must_use]
    pub fn drops_frame(self) -> bool {
        !matches!(self, Self::UnexpectedBinary)
    }
}

impl fmt::Display for DecodeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One frame, or one document inside a frame, that could not be decoded.
///
/// Never fatal: the session reports it (event `decode_error`), counts it under its
/// [`reason`](Self::reason) and goes on. It keeps at most [`RAW_CAP`] bytes of the input that
/// failed: the frame as received for size, UTF-8, MessagePack and zstd failures, the decompressed
/// document for JSON failures inside a zstd frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}: {detail}")]
pub struct DecodeError {
    /// Why it failed.
    pub reason: DecodeReason,
    /// The channel, when it is known (from the document, or from the dictionary the frame names).
    pub channel: Option<String>,
    /// The zstd dictionary id the frame names, for zstd frames (0 = none).
    pub dict_id: Option<u32>,
    /// A human description, e.g. `"unknown zstd dictionary id 99 (known: 740826216)"`.
    pub detail: String,
    /// The first bytes (at most [`RAW_CAP`]) of what failed.
    pub raw: Vec<u8>,
    /// The full length of what failed, in bytes (`raw` may be shorter).
    pub len: usize,
}

impl DecodeError {
    /// A new error keeping at most [`RAW_CAP`] bytes of `raw`.
    #[must_use]
    pub fn new(reason: DecodeReason, detail: impl Into<String>, raw: &[u8]) -> Self {
        Self {
            reason,
            channel: None,
            dict_id: None,
            detail: detail.into(),
            raw: raw.get(..RAW_CAP).unwrap_or(raw).to_vec(),
            len: raw.len(),
        }
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

    /// The docs/PROTOCOL.md reason name, e.g. `"output_bound_exceeded"`.
    #[must_use]
    pub fn reason_str(&self) -> &'static str {
        self.reason.as_str()
    }

    /// Always false: a bad frame never ends a session.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_protocol() {
        let names: Vec<&str> = DecodeReason::ALL.iter().map(|r| r.as_str()).collect();
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
                "bad_magic"
            ]
        );
    }

    #[test]
    fn raw_is_capped_and_length_kept() {
        let big = vec![b'x'; RAW_CAP * 3];
        let e = DecodeError::new(DecodeReason::BadJson, "nope", &big);
        assert_eq!(e.raw.len(), RAW_CAP);
        assert_eq!(e.len, RAW_CAP * 3);
        assert_eq!(e.to_string(), "bad_json: nope");
        assert!(!e.is_fatal());
    }

    #[test]
    fn only_unexpected_binary_keeps_the_frame() {
        for r in DecodeReason::ALL {
            assert_eq!(r.drops_frame(), r != DecodeReason::UnexpectedBinary, "{r}");
        }
    }
}
