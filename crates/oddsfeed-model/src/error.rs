//! The crate's single error type.

/// How many bytes of the offending input an error keeps.
///
/// Errors carry the raw input so that a log line or a `decode_error` event can show what
/// went wrong, but a hostile peer can send megabytes of garbage: keeping all of it in every
/// error would multiply memory use. 4 KiB is enough to recognise a message.
pub const RAW_CAP: usize = 4096;

/// Everything that can go wrong while turning bytes into typed messages.
///
/// None of these errors is fatal for a session ([`ModelError::is_fatal`] is always
/// `false`): the offending frame or line is reported, counted and skipped, and the stream
/// goes on. Each variant keeps up to [`RAW_CAP`] bytes of the input that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The input is not JSON (syntax error, truncated document, trailing garbage).
    #[error("bad JSON: {detail}")]
    BadJson {
        /// The parser's description of the problem.
        detail: String,
        /// The first [`RAW_CAP`] bytes of the input.
        raw: Vec<u8>,
    },
    /// The input is not acceptable MessagePack (syntax error, `bin`/`ext` values, non-string
    /// map keys, NaN or infinite floats, trailing bytes).
    #[error("bad MessagePack: {detail}")]
    BadMsgpack {
        /// What was wrong.
        detail: String,
        /// The first [`RAW_CAP`] bytes of the input.
        raw: Vec<u8>,
    },
    /// The document has more values and keys than the parser's node limit allows (see
    /// [`DEFAULT_MAX_NODES`](crate::ws::DEFAULT_MAX_NODES)): refused before the parse
    /// allocates anything in proportion to it, because a dense document (`[0,0,0,…]`)
    /// costs tens of bytes of parser memory per input byte.
    #[error("too complex: {detail}")]
    TooComplex {
        /// What limit was passed.
        detail: String,
        /// The first [`RAW_CAP`] bytes of the input.
        raw: Vec<u8>,
    },
    /// The input parsed but has the wrong shape (for example a JSON array where an object
    /// was expected).
    #[error("wrong shape: {what}")]
    WrongShape {
        /// What was expected or found.
        what: String,
        /// The first [`RAW_CAP`] bytes of the input.
        raw: Vec<u8>,
    },
    /// The input is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8 {
        /// The first [`RAW_CAP`] bytes of the input.
        raw: Vec<u8>,
    },
    /// A string is not an entry id of the form `<ts_ms>-<seq>`.
    #[error("bad entry id: expected <ts_ms>-<seq> with two unsigned decimal numbers")]
    BadEntryId {
        /// The first [`RAW_CAP`] bytes of the rejected text.
        raw: Vec<u8>,
    },
    /// A string is not one of the four receive types.
    #[error("unknown receive type: expected json, binary, zstd or zstd-dict")]
    UnknownReceiveType {
        /// The first [`RAW_CAP`] bytes of the rejected text.
        raw: Vec<u8>,
    },
}

impl ModelError {
    /// Builds [`ModelError::BadJson`], keeping at most [`RAW_CAP`] bytes of `raw`.
    pub fn bad_json(detail: impl Into<String>, raw: &[u8]) -> Self {
        Self::BadJson {
            detail: detail.into(),
            raw: cap_raw(raw),
        }
    }

    /// Builds [`ModelError::BadMsgpack`], keeping at most [`RAW_CAP`] bytes of `raw`.
    pub fn bad_msgpack(detail: impl Into<String>, raw: &[u8]) -> Self {
        Self::BadMsgpack {
            detail: detail.into(),
            raw: cap_raw(raw),
        }
    }

    /// Builds [`ModelError::TooComplex`], keeping at most [`RAW_CAP`] bytes of `raw`.
    pub fn too_complex(detail: impl Into<String>, raw: &[u8]) -> Self {
        Self::TooComplex {
            detail: detail.into(),
            raw: cap_raw(raw),
        }
    }

    /// Builds [`ModelError::WrongShape`], keeping at most [`RAW_CAP`] bytes of `raw`.
    pub fn wrong_shape(what: impl Into<String>, raw: &[u8]) -> Self {
        Self::WrongShape {
            what: what.into(),
            raw: cap_raw(raw),
        }
    }

    /// Builds [`ModelError::InvalidUtf8`], keeping at most [`RAW_CAP`] bytes of `raw`.
    pub fn invalid_utf8(raw: &[u8]) -> Self {
        Self::InvalidUtf8 { raw: cap_raw(raw) }
    }

    /// The reason name used in reports and `decode_error` events (docs/PROTOCOL.md wording):
    /// `bad_json`, `bad_msgpack`, `too_complex`, `wrong_shape`, `invalid_utf8`,
    /// `bad_entry_id` or `unknown_receive_type`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadJson { .. } => "bad_json",
            Self::BadMsgpack { .. } => "bad_msgpack",
            Self::TooComplex { .. } => "too_complex",
            Self::WrongShape { .. } => "wrong_shape",
            Self::InvalidUtf8 { .. } => "invalid_utf8",
            Self::BadEntryId { .. } => "bad_entry_id",
            Self::UnknownReceiveType { .. } => "unknown_receive_type",
        }
    }

    /// The (capped) input that failed.
    pub fn raw(&self) -> &[u8] {
        match self {
            Self::BadJson { raw, .. }
            | Self::BadMsgpack { raw, .. }
            | Self::TooComplex { raw, .. }
            | Self::WrongShape { raw, .. }
            | Self::InvalidUtf8 { raw }
            | Self::BadEntryId { raw }
            | Self::UnknownReceiveType { raw } => raw,
        }
    }

    /// Whether the session must stop. Always `false`: a message that cannot be decoded is
    /// reported and skipped, never a reason to end the stream.
    pub fn is_fatal(&self) -> bool {
        false
    }
}

/// Copies at most [`RAW_CAP`] bytes of `raw`.
pub(crate) fn cap_raw(raw: &[u8]) -> Vec<u8> {
    raw.get(..RAW_CAP).unwrap_or(raw).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_match_protocol_names() {
        assert_eq!(ModelError::bad_json("x", b"{").reason(), "bad_json");
        assert_eq!(
            ModelError::bad_msgpack("x", b"\xc1").reason(),
            "bad_msgpack"
        );
        assert_eq!(ModelError::too_complex("x", b"[0]").reason(), "too_complex");
        assert_eq!(ModelError::wrong_shape("x", b"[]").reason(), "wrong_shape");
        assert_eq!(ModelError::invalid_utf8(b"\xff").reason(), "invalid_utf8");
        let e = ModelError::BadEntryId { raw: b"1".to_vec() };
        assert_eq!(e.reason(), "bad_entry_id");
        let e = ModelError::UnknownReceiveType {
            raw: b"gzip".to_vec(),
        };
        assert_eq!(e.reason(), "unknown_receive_type");
    }

    #[test]
    fn never_fatal() {
        assert!(!ModelError::bad_json("x", b"{").is_fatal());
        assert!(!ModelError::invalid_utf8(b"\xff").is_fatal());
    }

    #[test]
    fn raw_is_capped_at_4_kib() {
        let big = vec![b'x'; RAW_CAP * 3];
        let e = ModelError::bad_json("too long", &big);
        assert_eq!(e.raw().len(), RAW_CAP);
        let small = ModelError::bad_msgpack("short", b"\xc1\xc1");
        assert_eq!(small.raw(), b"\xc1\xc1");
    }

    #[test]
    fn display_strings_are_stable() {
        assert_eq!(
            ModelError::bad_json("EOF while parsing", b"{").to_string(),
            "bad JSON: EOF while parsing"
        );
        assert_eq!(
            ModelError::bad_msgpack("bin values are not allowed", b"").to_string(),
            "bad MessagePack: bin values are not allowed"
        );
        assert_eq!(
            ModelError::wrong_shape("expected a JSON object", b"[]").to_string(),
            "wrong shape: expected a JSON object"
        );
        assert_eq!(
            ModelError::invalid_utf8(b"\xff").to_string(),
            "invalid UTF-8"
        );
    }

    #[test]
    fn error_is_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<ModelError>();
    }
}
