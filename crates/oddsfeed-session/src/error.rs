//! The crate's error type, [`SessionError`].

use oddsfeed_wire::ws::CloseCode;

use crate::common::DecodeError;

/// Everything a session can report as going wrong.
///
/// Most of these end one connection or one frame and the session carries on (it reconnects or skips
/// the frame); [`is_fatal`](Self::is_fatal) says which ones end the whole run. The texts never contain
/// the API key: they quote only what the server sent and the session's own counters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// One frame could not be decoded; it was reported and skipped.
    #[error(transparent)]
    Decode(#[from] DecodeError),

    /// The server refused the credentials: an `error` frame with code `login_failed`.
    #[error("server refused the login: {code}: {message}")]
    LoginRefused {
        /// The frame's `code` (`login_failed`).
        code: String,
        /// The frame's `message` (empty when absent).
        message: String,
    },

    /// The server closed with 1008 (policy violation) before `login_ok` and sent no `error` frame;
    /// docs/PROTOCOL.md B.11 treats this as an authentication refusal.
    #[error("server refused the login: closed with {code} before login_ok{}", reason_suffix(.reason))]
    ClosedBeforeLoginOk {
        /// The close code ([`CloseCode::PolicyViolation`], 1008: the only code the session treats
        /// as a refusal before `login_ok`); [`is_fatal`](Self::is_fatal) and
        /// [`is_auth_refused`](Self::is_auth_refused) follow from its policy.
        code: CloseCode,
        /// The close reason text, possibly empty.
        reason: String,
    },

    /// The server says the client broke the protocol (`first_message_must_be_login`): a client bug.
    #[error("server reports a client protocol bug: {code}: {message}")]
    ProtocolBug {
        /// The frame's `code`.
        code: String,
        /// The frame's `message` (empty when absent).
        message: String,
    },

    /// No `login_ok` arrived in time after the login was sent.
    #[error("no login_ok within {timeout_ms} ms of connecting")]
    LoginTimeout {
        /// The configured login timeout, in milliseconds.
        timeout_ms: u64,
    },

    /// The connection was silent for too long and is treated as dead.
    #[error("no frame for {silent_ms} ms: connection considered dead")]
    ConnectionDead {
        /// How long nothing arrived, in milliseconds.
        silent_ms: u64,
    },

    /// The transport could not open a connection.
    #[error("could not connect: {reason}")]
    ConnectFailed {
        /// The transport's description of the failure.
        reason: String,
    },

    /// The server closed a connection before `login_ok` while the session was told to run once.
    #[error("server closed the connection before login_ok{}", close_suffix(*.code, .reason))]
    ClosedBeforeStreaming {
        /// The close code, if a close frame arrived.
        code: Option<CloseCode>,
        /// The close reason text, possibly empty.
        reason: String,
    },

    /// The configuration is unusable; the message names the field.
    #[error("invalid session configuration: {0}")]
    Config(String),
}

impl SessionError {
    /// Whether the run must end: true for refusals of the credentials, client protocol bugs and an
    /// invalid configuration; false for everything the session recovers from by reconnecting or
    /// skipping a frame.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        match self {
            Self::ClosedBeforeLoginOk { code, .. } => code.is_fatal_before_login(),
            other => matches!(
                other,
                Self::LoginRefused { .. } | Self::ProtocolBug { .. } | Self::Config(_)
            ),
        }
    }

    /// Whether the server refused the credentials (an `error` frame with `login_failed`, or a
    /// 1008 close before `login_ok`): retrying with the same key is pointless. A program maps
    /// this to its own outcome (the CLI exits 3).
    #[must_use]
    pub fn is_auth_refused(&self) -> bool {
        match self {
            Self::ClosedBeforeLoginOk { code, .. } => code.is_fatal_before_login(),
            other => matches!(other, Self::LoginRefused { .. }),
        }
    }
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(" ({reason})")
    }
}

fn close_suffix(code: Option<CloseCode>, reason: &str) -> String {
    match code {
        Some(code) => format!(" (close {code}{})", reason_suffix(reason)),
        None => " (no close frame)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_pinned() {
        let cases: Vec<(SessionError, &str)> = vec![
            (
                SessionError::LoginRefused {
                    code: "login_failed".into(),
                    message: "invalid apiKey".into(),
                },
                "server refused the login: login_failed: invalid apiKey",
            ),
            (
                SessionError::ClosedBeforeLoginOk {
                    code: CloseCode::PolicyViolation,
                    reason: String::new(),
                },
                "server refused the login: closed with 1008 before login_ok",
            ),
            (
                SessionError::ClosedBeforeLoginOk {
                    code: CloseCode::PolicyViolation,
                    reason: "bad key".into(),
                },
                "server refused the login: closed with 1008 before login_ok (bad key)",
            ),
            (
                SessionError::ProtocolBug {
                    code: "first_message_must_be_login".into(),
                    message: "expected login".into(),
                },
                "server reports a client protocol bug: first_message_must_be_login: expected login",
            ),
            (
                SessionError::LoginTimeout { timeout_ms: 10_000 },
                "no login_ok within 10000 ms of connecting",
            ),
            (
                SessionError::ConnectionDead { silent_ms: 30_000 },
                "no frame for 30000 ms: connection considered dead",
            ),
            (
                SessionError::ConnectFailed {
                    reason: "refused".into(),
                },
                "could not connect: refused",
            ),
            (
                SessionError::ClosedBeforeStreaming {
                    code: Some(CloseCode::TooManyConnections),
                    reason: "full".into(),
                },
                "server closed the connection before login_ok (close 4003 (full))",
            ),
            (
                SessionError::ClosedBeforeStreaming {
                    code: None,
                    reason: String::new(),
                },
                "server closed the connection before login_ok (no close frame)",
            ),
            (
                SessionError::Config("max_frame is 0".into()),
                "invalid session configuration: max_frame is 0",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn fatality_and_auth_refusal() {
        let refused = SessionError::LoginRefused {
            code: "login_failed".into(),
            message: String::new(),
        };
        assert!(refused.is_fatal());
        assert!(refused.is_auth_refused());
        let closed = SessionError::ClosedBeforeLoginOk {
            code: CloseCode::PolicyViolation,
            reason: String::new(),
        };
        assert!(closed.is_fatal());
        assert!(closed.is_auth_refused());
        // The fatality follows from the close code's policy, not from the variant alone.
        let other = SessionError::ClosedBeforeLoginOk {
            code: CloseCode::InternalError,
            reason: String::new(),
        };
        assert!(!other.is_fatal() && !other.is_auth_refused());
        let bug = SessionError::ProtocolBug {
            code: "x".into(),
            message: String::new(),
        };
        assert!(bug.is_fatal());
        assert!(!bug.is_auth_refused());
        let dead = SessionError::ConnectionDead { silent_ms: 1 };
        assert!(!dead.is_fatal());
        assert!(!dead.is_auth_refused());
        assert!(!SessionError::LoginTimeout { timeout_ms: 1 }.is_fatal());
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<SessionError>();
    }
}
