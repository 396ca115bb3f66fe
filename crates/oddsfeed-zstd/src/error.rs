//! The crate's single error type, [`ZstdError`], and why a dictionary was
//! refused, [`DictRejection`].

use std::fmt;

use crate::{MAX_DICT_SIZE, MAX_DICTS};

/// Longest `encoding` string kept in [`DictRejection::BadEncoding`]; longer
/// values are cut (on a character boundary) so a hostile frame cannot make
/// the error large.
const MAX_ENCODING_ECHO: usize = 32;

/// Everything that can go wrong while decoding one zstd frame or storing one
/// dictionary.
///
/// None of these is fatal to a session ([`ZstdError::is_fatal`] is always
/// `false`): the caller reports the frame (it still holds the raw bytes),
/// counts it under [`ZstdError::reason`], skips it and goes on. A
/// [`Decompressor`](crate::Decompressor) that returned any of these decodes
/// the next good frame normally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ZstdError {
    /// The input does not start with the zstd frame magic `28 B5 2F FD`
    /// (this includes inputs shorter than four bytes).
    #[error("not a zstd frame: bad magic (first bytes: {})", HexPrefix(prefix))]
    BadMagic {
        /// At most the first 16 bytes of the input, for the report.
        prefix: Vec<u8>,
    },

    /// The frame names a dictionary id that the [`DictStore`](crate::DictStore)
    /// does not hold.
    #[error("unknown zstd dictionary id {id} (known: {})", IdList(known))]
    UnknownDict {
        /// The Dictionary_ID from the frame header.
        id: u32,
        /// The ids the store held at the time, ascending.
        known: Vec<u32>,
    },

    /// Decompressing would produce more than `bound` bytes (a "zstd bomb", or
    /// a Frame_Content_Size above the bound). Nothing beyond the bound was
    /// allocated.
    #[error("zstd output would exceed the bound of {bound} bytes")]
    OutputBoundExceeded {
        /// The configured output bound in bytes.
        bound: usize,
    },

    /// The input ends before the frame does (inside the header, a block or
    /// the checksum).
    #[error("zstd frame is truncated")]
    Truncated,

    /// libzstd refused the frame for any other reason: corrupt blocks, an
    /// invalid header, a checksum mismatch, a window larger than allowed.
    #[error("corrupt zstd frame: {reason}")]
    Corrupt {
        /// libzstd's name for the error, e.g. `"Data corruption detected"`.
        reason: String,
    },

    /// The frame is complete, but more bytes follow it in the same message.
    #[error("{extra} trailing bytes after the zstd frame")]
    TrailingBytes {
        /// How many bytes follow the end of the first frame.
        extra: usize,
    },

    /// A dictionary was refused; whatever the store held under `id` before
    /// is still there.
    #[error("zstd dictionary {id} rejected: {why}")]
    DictRejected {
        /// The id the dictionary was announced under.
        id: u32,
        /// Why it was refused.
        why: DictRejection,
    },
}

impl ZstdError {
    /// The stable reason name used in `decode_error` reports (docs/PROTOCOL.md,
    /// B.5 and "Robustness rules").
    ///
    /// | variant | reason |
    /// |---|---|
    /// | `BadMagic` | `bad_magic` |
    /// | `UnknownDict` | `unknown_dict` |
    /// | `OutputBoundExceeded` | `output_bound_exceeded` |
    /// | `Truncated` | `zstd_truncated` |
    /// | `Corrupt` | `zstd_error` |
    /// | `TrailingBytes` | `trailing_bytes` |
    /// | `DictRejected` | `dict_rejected` |
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::BadMagic { .. } => "bad_magic",
            Self::UnknownDict { .. } => "unknown_dict",
            Self::OutputBoundExceeded { .. } => "output_bound_exceeded",
            Self::Truncated => "zstd_truncated",
            Self::Corrupt { .. } => "zstd_error",
            Self::TrailingBytes { .. } => "trailing_bytes",
            Self::DictRejected { .. } => "dict_rejected",
        }
    }

    /// The dictionary id the error is about, when the error itself knows it
    /// (`UnknownDict`, `DictRejected`).
    ///
    /// For the other variants the caller, who holds the frame, can get the id
    /// with [`frame_dict_id`](crate::frame_dict_id).
    #[must_use]
    pub fn dict_id(&self) -> Option<u32> {
        match self {
            Self::UnknownDict { id, .. } | Self::DictRejected { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// Whether the session must give up. Always `false`: every zstd error
    /// concerns one frame or one dictionary, which is reported and skipped.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        false
    }
}

/// Why a dictionary was refused by [`DictStore`](crate::DictStore).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DictRejection {
    /// The `dict` frame's `encoding` is not `"base64"` (the value given, cut
    /// to at most 32 bytes).
    #[error("encoding {0:?} is not \"base64\"")]
    BadEncoding(String),
    /// `data` is not valid standard-alphabet base64.
    #[error("data is not valid base64")]
    BadBase64,
    /// Dictionary id 0 means "no dictionary" and cannot be stored.
    #[error("dictionary id 0 is reserved for dictless frames")]
    ZeroId,
    /// The dictionary is larger than [`MAX_DICT_SIZE`] (the size, or for
    /// base64 input an estimate of it).
    #[error("{0} bytes is more than the {MAX_DICT_SIZE}-byte limit")]
    TooLarge(usize),
    /// The bytes do not start with the zstd dictionary magic `37 A4 30 EC`
    /// (raw-content dictionaries are not accepted), or stop before the id.
    #[error("not a zstd dictionary (no 37 A4 30 EC header)")]
    NotADictionary,
    /// The id in the dictionary header differs from the announced one.
    #[error("the dictionary header carries id {header}")]
    IdMismatch {
        /// The id found in the dictionary header.
        header: u32,
    },
    /// The store already holds [`MAX_DICTS`] dictionaries and this id is new.
    #[error("the store already holds {MAX_DICTS} dictionaries")]
    StoreFull,
    /// libzstd could not load the dictionary (corrupt entropy tables).
    #[error("libzstd could not load the dictionary")]
    Invalid,
}

impl DictRejection {
    /// Builds [`DictRejection::BadEncoding`], keeping at most 32 bytes of
    /// the offending value.
    pub(crate) fn bad_encoding(encoding: &str) -> Self {
        let mut end = encoding.len().min(MAX_ENCODING_ECHO);
        while !encoding.is_char_boundary(end) {
            end -= 1;
        }
        Self::BadEncoding(encoding.get(..end).unwrap_or_default().to_owned())
    }
}

/// Formats bytes as space-separated lowercase hex (`"7b 22 61"`).
struct HexPrefix<'a>(&'a [u8]);

impl fmt::Display for HexPrefix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, byte) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// Formats ids as `"1, 2, 3"`, or `"none"` when empty.
struct IdList<'a>(&'a [u32]);

impl fmt::Display for IdList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        for (i, id) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{id}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_strings_are_pinned() {
        let cases = [
            (
                ZstdError::BadMagic {
                    prefix: b"{\"a\"".to_vec(),
                },
                "not a zstd frame: bad magic (first bytes: 7b 22 61 22)",
            ),
            (
                ZstdError::BadMagic { prefix: Vec::new() },
                "not a zstd frame: bad magic (first bytes: none)",
            ),
            (
                ZstdError::UnknownDict {
                    id: 99,
                    known: vec![1102, 740_826_216],
                },
                "unknown zstd dictionary id 99 (known: 1102, 740826216)",
            ),
            (
                ZstdError::UnknownDict {
                    id: 5,
                    known: Vec::new(),
                },
                "unknown zstd dictionary id 5 (known: none)",
            ),
            (
                ZstdError::OutputBoundExceeded { bound: 1024 },
                "zstd output would exceed the bound of 1024 bytes",
            ),
            (ZstdError::Truncated, "zstd frame is truncated"),
            (
                ZstdError::Corrupt {
                    reason: "Data corruption detected".into(),
                },
                "corrupt zstd frame: Data corruption detected",
            ),
            (
                ZstdError::TrailingBytes { extra: 3 },
                "3 trailing bytes after the zstd frame",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::BadEncoding("hex".into()),
                },
                "zstd dictionary 7 rejected: encoding \"hex\" is not \"base64\"",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::BadBase64,
                },
                "zstd dictionary 7 rejected: data is not valid base64",
            ),
            (
                ZstdError::DictRejected {
                    id: 0,
                    why: DictRejection::ZeroId,
                },
                "zstd dictionary 0 rejected: dictionary id 0 is reserved for dictless frames",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::TooLarge(2_000_000),
                },
                "zstd dictionary 7 rejected: 2000000 bytes is more than the 1048576-byte limit",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::NotADictionary,
                },
                "zstd dictionary 7 rejected: not a zstd dictionary (no 37 A4 30 EC header)",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::IdMismatch { header: 8 },
                },
                "zstd dictionary 7 rejected: the dictionary header carries id 8",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::StoreFull,
                },
                "zstd dictionary 7 rejected: the store already holds 64 dictionaries",
            ),
            (
                ZstdError::DictRejected {
                    id: 7,
                    why: DictRejection::Invalid,
                },
                "zstd dictionary 7 rejected: libzstd could not load the dictionary",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn reasons_match_protocol_names() {
        let cases = [
            (ZstdError::BadMagic { prefix: vec![] }, "bad_magic"),
            (
                ZstdError::UnknownDict {
                    id: 1,
                    known: vec![],
                },
                "unknown_dict",
            ),
            (
                ZstdError::OutputBoundExceeded { bound: 1 },
                "output_bound_exceeded",
            ),
            (ZstdError::Truncated, "zstd_truncated"),
            (
                ZstdError::Corrupt {
                    reason: String::new(),
                },
                "zstd_error",
            ),
            (ZstdError::TrailingBytes { extra: 1 }, "trailing_bytes"),
            (
                ZstdError::DictRejected {
                    id: 1,
                    why: DictRejection::ZeroId,
                },
                "dict_rejected",
            ),
        ];
        for (error, reason) in cases {
            assert_eq!(error.reason(), reason);
            assert!(!error.is_fatal(), "{error} must not be fatal");
        }
    }

    #[test]
    fn dict_id_only_for_dictionary_errors() {
        assert_eq!(
            ZstdError::UnknownDict {
                id: 99,
                known: vec![1]
            }
            .dict_id(),
            Some(99)
        );
        assert_eq!(
            ZstdError::DictRejected {
                id: 4,
                why: DictRejection::StoreFull
            }
            .dict_id(),
            Some(4)
        );
        assert_eq!(ZstdError::Truncated.dict_id(), None);
        assert_eq!(ZstdError::TrailingBytes { extra: 2 }.dict_id(), None);
    }

    #[test]
    fn bad_encoding_echo_is_capped_on_a_char_boundary() {
        let long = "é".repeat(40); // 80 bytes, 2 per char
        let DictRejection::BadEncoding(kept) = DictRejection::bad_encoding(&long) else {
            panic!("expected BadEncoding");
        };
        assert_eq!(kept, "é".repeat(16));
        assert_eq!(
            DictRejection::bad_encoding("hex"),
            DictRejection::BadEncoding("hex".into())
        );
    }

    #[test]
    fn errors_are_send_sync_static() {
        fn check<T: Send + Sync + 'static + std::error::Error>() {}
        check::<ZstdError>();
        check::<DictRejection>();
    }
}
