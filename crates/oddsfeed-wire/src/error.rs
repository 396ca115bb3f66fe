//! The crate's single error type, [`WireError`].

use bytes::Bytes;

/// The most bytes an error keeps of the input that caused it.
///
/// Errors carry the failing bytes so a caller can log or surface them, but a
/// hostile peer could otherwise make every error pin megabytes of memory. An
/// [`WireError::InvalidUtf8`] keeps at most this many bytes of the offending
/// line or frame (copied, so it never keeps a larger buffer alive).
///
/// The same value and name as `oddsfeed_model::RAW_CAP` (the two crates do not depend on each
/// other); the session crate re-exports one of them as `oddsfeed_session::common::RAW_CAP`.
pub const RAW_CAP: usize = 4096;

/// The most bytes of an over-long line that [`WireError::LineTooLong`] keeps.
///
/// Enough to recognise what the peer was sending; the rest of the line is
/// discarded without being stored.
pub const MAX_SEEN_PREFIX: usize = 256;

/// Everything that can go wrong while framing or encoding.
///
/// Every variant describes one bad line, frame or payload. None of them is a
/// reason to drop a connection: [`WireError::is_fatal`] is `false` for all of
/// them, and the decoders carry on with the next line after reporting one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A line grew past the configured maximum before its terminator arrived.
    ///
    /// The decoder reports this once per over-long line and then drops the
    /// rest of the line, up to and including the next line end.
    #[error("line too long: exceeded the {limit}-byte limit; discarded up to the next newline")]
    LineTooLong {
        /// The configured maximum line length in bytes.
        limit: usize,
        /// The first bytes of the line (at most [`MAX_SEEN_PREFIX`], and at
        /// most `limit + 1`), for diagnostics.
        seen_prefix: Bytes,
    },

    /// A line or text frame is not valid UTF-8; it was skipped.
    #[error("invalid UTF-8: valid up to byte {valid_up_to} of {len}; skipped")]
    InvalidUtf8 {
        /// The first bytes of the input (at most [`RAW_CAP`]).
        raw: Bytes,
        /// How many leading bytes of the input are valid UTF-8.
        valid_up_to: usize,
        /// The full length of the input in bytes (`raw` may be shorter).
        len: usize,
    },

    /// A WebSocket message is larger than the configured maximum.
    #[error("frame too large: {len} bytes exceed the {limit}-byte limit; skipped")]
    FrameTooLarge {
        /// The size of the message in bytes.
        len: usize,
        /// The configured maximum message size in bytes.
        limit: usize,
    },

    /// A payload handed to the line encoder contains a raw `\n`, which would
    /// split it into two lines on the wire.
    #[error("newline in payload at byte {offset}: a line must not contain a raw newline")]
    NewlineInPayload {
        /// Byte offset of the first `\n` in the payload.
        offset: usize,
    },

    /// The value handed to the JSON line encoder could not be serialised.
    #[error("JSON encoding failed: {0}")]
    Json(#[from] serde_json::Error),
}

impl WireError {
    /// The machine-readable reason, as named in docs/PROTOCOL.md ("Robustness
    /// rules"): `line_too_long`, `invalid_utf8`, `frame_too_large`; the two
    /// encoder-side errors are `newline_in_payload` and `json_encode`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::LineTooLong { .. } => "line_too_long",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::FrameTooLarge { .. } => "frame_too_large",
            Self::NewlineInPayload { .. } => "newline_in_payload",
            Self::Json(_) => "json_encode",
        }
    }

    /// The input bytes that failed, where the error keeps them (capped at
    /// [`RAW_CAP`] bytes): the prefix of an over-long line, or the start of an
    /// invalid UTF-8 line or frame. `None` for the other variants.
    #[must_use]
    pub fn raw(&self) -> Option<&[u8]> {
        match self {
            Self::LineTooLong { seen_prefix, .. } => Some(seen_prefix),
            Self::InvalidUtf8 { raw, .. } => Some(raw),
            Self::FrameTooLarge { .. } | Self::NewlineInPayload { .. } | Self::Json(_) => None,
        }
    }

    /// Whether the error should end the stream. Always `false`: bad input is
    /// reported and skipped, never a reason to disconnect.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        false
    }

    /// Builds an [`WireError::InvalidUtf8`] from the whole offending input,
    /// keeping a bounded copy of its start.
    pub(crate) fn invalid_utf8(input: &[u8], valid_up_to: usize) -> Self {
        let keep = input.get(..RAW_CAP).unwrap_or(input);
        Self::InvalidUtf8 {
            raw: Bytes::copy_from_slice(keep),
            valid_up_to,
            len: input.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_error() -> WireError {
        // A map with non-string keys cannot be written as JSON.
        let mut map = std::collections::BTreeMap::new();
        map.insert(vec![1u8], 1u8);
        match serde_json::to_vec(&map) {
            Ok(_) => panic!("expected serde_json to refuse non-string keys"),
            Err(e) => WireError::from(e),
        }
    }

    #[test]
    fn display_strings_are_pinned() {
        let too_long = WireError::LineTooLong {
            limit: 4_194_304,
            seen_prefix: Bytes::from_static(b"{\"a\""),
        };
        assert_eq!(
            too_long.to_string(),
            "line too long: exceeded the 4194304-byte limit; discarded up to the next newline"
        );
        let utf8 = WireError::InvalidUtf8 {
            raw: Bytes::from_static(b"a\xffb"),
            valid_up_to: 1,
            len: 3,
        };
        assert_eq!(
            utf8.to_string(),
            "invalid UTF-8: valid up to byte 1 of 3; skipped"
        );
        let frame = WireError::FrameTooLarge {
            len: 4_194_305,
            limit: 4_194_304,
        };
        assert_eq!(
            frame.to_string(),
            "frame too large: 4194305 bytes exceed the 4194304-byte limit; skipped"
        );
        let newline = WireError::NewlineInPayload { offset: 7 };
        assert_eq!(
            newline.to_string(),
            "newline in payload at byte 7: a line must not contain a raw newline"
        );
        assert_eq!(
            json_error().to_string(),
            "JSON encoding failed: key must be a string"
        );
    }

    #[test]
    fn reasons_use_protocol_names() {
        let cases = [
            (
                WireError::LineTooLong {
                    limit: 1,
                    seen_prefix: Bytes::new(),
                },
                "line_too_long",
            ),
            (WireError::invalid_utf8(b"\xff", 0), "invalid_utf8"),
            (
                WireError::FrameTooLarge { len: 2, limit: 1 },
                "frame_too_large",
            ),
            (
                WireError::NewlineInPayload { offset: 0 },
                "newline_in_payload",
            ),
            (json_error(), "json_encode"),
        ];
        for (err, reason) in cases {
            assert_eq!(err.reason(), reason);
            assert!(!err.is_fatal(), "{reason} must not be fatal");
        }
    }

    #[test]
    fn raw_is_kept_only_where_meaningful() {
        let too_long = WireError::LineTooLong {
            limit: 3,
            seen_prefix: Bytes::from_static(b"abcd"),
        };
        assert_eq!(too_long.raw(), Some(&b"abcd"[..]));
        assert_eq!(
            WireError::invalid_utf8(b"x\xfe", 1).raw(),
            Some(&b"x\xfe"[..])
        );
        assert_eq!(WireError::FrameTooLarge { len: 2, limit: 1 }.raw(), None);
        assert_eq!(WireError::NewlineInPayload { offset: 0 }.raw(), None);
        assert_eq!(json_error().raw(), None);
    }

    #[test]
    fn invalid_utf8_keeps_a_bounded_copy() {
        let mut input = vec![b'a'; RAW_CAP * 3];
        input.push(0xff);
        let err = WireError::invalid_utf8(&input, RAW_CAP * 3);
        match err {
            WireError::InvalidUtf8 {
                raw,
                valid_up_to,
                len,
            } => {
                assert_eq!(raw.len(), RAW_CAP);
                assert_eq!(valid_up_to, RAW_CAP * 3);
                assert_eq!(len, RAW_CAP * 3 + 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn error_is_send_sync_and_static() {
        fn assert_traits<T: Send + Sync + 'static + std::error::Error>() {}
        assert_traits::<WireError>();
    }
}
