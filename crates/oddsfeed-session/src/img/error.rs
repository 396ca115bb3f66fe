//! [`ImgRequestError`]: why a request could not be queued.

/// A request the session refused to queue. Never fatal: the session goes on unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImgRequestError {
    /// As many requests as [`max_outstanding`](super::ImgSessionConfig::max_outstanding)
    /// already wait for a response (or wait to be sent, or stand).
    #[error("too many requests: {limit} already waiting (max_outstanding)")]
    TooMany {
        /// The configured limit.
        limit: usize,
    },
    /// The request could not be written as one JSON line.
    #[error("request cannot be encoded as one JSON line: {detail}")]
    Encode {
        /// What the encoder said.
        detail: String,
    },
}

impl ImgRequestError {
    /// Whether the run must end: never.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_pinned() {
        assert_eq!(
            ImgRequestError::TooMany { limit: 3 }.to_string(),
            "too many requests: 3 already waiting (max_outstanding)"
        );
        assert_eq!(
            ImgRequestError::Encode { detail: "x".into() }.to_string(),
            "request cannot be encoded as one JSON line: x"
        );
        assert!(!ImgRequestError::TooMany { limit: 1 }.is_fatal());
    }
}
