//! [`RelayError`]: why a relay or a consumer stopped.

use oddsfeed::ws::WsError;

/// Why a relay run or a consumer ended with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A setting is wrong (bad subject prefix, stream name, NATS URL).
    #[error("relay configuration: {0}")]
    Config(String),
    /// The feed client ended the run (a refused key, a bad configuration).
    #[error(transparent)]
    Feed(#[from] WsError),
    /// A NATS or JetStream operation failed where no retry makes sense (the stream cannot be
    /// created, a consumer cannot be made).
    #[error("NATS: {context}: {detail}")]
    Nats {
        /// What was being done.
        context: &'static str,
        /// The client library's message.
        detail: String,
    },
    /// The cursors stored in the key-value bucket are not a resume state.
    #[error("stored cursors in {bucket} are not a resume state: {detail}")]
    BadCursors {
        /// The bucket.
        bucket: String,
        /// What is wrong, with the stored bytes quoted (capped).
        detail: String,
    },
}

impl RelayError {
    /// The process exit code for this error (CLI.md): 3 for refused credentials, else 1.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Feed(e) if e.is_auth_refused() => 3,
            _ => 1,
        }
    }

    pub(crate) fn nats(context: &'static str, error: impl std::fmt::Display) -> Self {
        Self::Nats {
            context,
            detail: error.to_string(),
        }
    }
}
