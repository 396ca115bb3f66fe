//! [`RecordError`]: why a recording cannot be opened or read.

use std::io;

/// Why a recording cannot be read. A torn or corrupt *tail* is not an error: readers report it
/// as [`Item::Truncated`](crate::Item::Truncated) and end normally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The file does not start with the recording magic: it is not a recording.
    #[error(
        "not an oddsfeed recording (the file does not start with the recording magic {found:?})"
    )]
    NotARecording {
        /// The first bytes found (at most 8).
        found: Vec<u8>,
    },
    /// The header names a format version this build cannot read.
    #[error("unsupported recording format version {found} (this build reads version {supported})")]
    UnsupportedVersion {
        /// The version in the file.
        found: u16,
        /// The version this build reads and writes.
        supported: u16,
    },
    /// The header is torn, fails its checksum, or holds a value out of range.
    #[error("corrupt recording header: {detail}")]
    BadHeader {
        /// What is wrong.
        detail: String,
    },
    /// Reading or writing the file failed.
    #[error("recording I/O failed: {0}")]
    Io(#[from] io::Error),
}

impl RecordError {
    /// A short name of the kind of error (`not_a_recording`, `unsupported_version`,
    /// `bad_header`, `io`), for events and logs.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotARecording { .. } => "not_a_recording",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::BadHeader { .. } => "bad_header",
            Self::Io(_) => "io",
        }
    }

    pub(crate) fn bad_header(detail: impl Into<String>) -> Self {
        Self::BadHeader {
            detail: detail.into(),
        }
    }
}
