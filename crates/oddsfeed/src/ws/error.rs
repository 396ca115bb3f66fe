//! [`WsError`]: why a WebSocket client could not start or had to stop.

use oddsfeed_session::SessionError;

use crate::state::StateError;

/// Everything that ends (or prevents) a WebSocket client run.
///
/// Transient trouble (a refused TCP connection, a server close, a bad frame) never shows up here:
/// the client reports it as an event and reconnects. These are the errors that stop it. The texts
/// never contain the API key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// The configuration is unusable (a bad URL, an invalid session setting).
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// TLS could not be set up, or the server's certificate was rejected.
    #[error("TLS: {0}")]
    Tls(String),
    /// The resume state could not be loaded or saved.
    #[error(transparent)]
    State(#[from] StateError),
    /// The session stopped for good: the server refused the login, or reported a client bug.
    #[error(transparent)]
    Session(SessionError),
    /// The client's driver task ended before the run did (it panicked or was dropped).
    #[error("the WebSocket client is closed")]
    Closed,
    /// The recording file could not be created or finished.
    #[error("recording: {0}")]
    Record(String),
}

impl WsError {
    /// Always true: every variant ends the run (the client handles everything else itself).
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        true
    }

    /// Whether the server refused the credentials (see
    /// [`SessionError::is_auth_refused`]). The CLI exits 3 for these, 1 for the others.
    #[must_use]
    pub fn is_auth_refused(&self) -> bool {
        matches!(self, Self::Session(e) if e.is_auth_refused())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_auth_refusal() {
        let refused = WsError::Session(SessionError::LoginRefused {
            code: "login_failed".into(),
            message: "invalid apiKey".into(),
        });
        assert_eq!(
            refused.to_string(),
            "server refused the login: login_failed: invalid apiKey"
        );
        assert!(refused.is_auth_refused());
        let tls = WsError::Tls("certificate rejected: UnknownIssuer".into());
        assert_eq!(tls.to_string(), "TLS: certificate rejected: UnknownIssuer");
        assert!(!tls.is_auth_refused());
        assert!(tls.is_fatal());
        let config = WsError::Config("url: unsupported scheme \"http\"".into());
        assert_eq!(
            config.to_string(),
            "invalid client configuration: url: unsupported scheme \"http\""
        );
    }

    #[test]
    fn is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<WsError>();
    }
}
