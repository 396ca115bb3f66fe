//! [`Event`]: what an [`ImgSession`](super::ImgSession) reports to the application.

use std::fmt;
use std::time::Duration;

use oddsfeed_model::img::{DisconnectNotice, DisconnectReason, Push, Request, Response};

use crate::common::DecodeError;

/// Why a connection ended, as the session saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectedReason {
    /// The server closed the stream (EOF) without a notice.
    ServerClosed,
    /// The server sent a disconnect notice (its [`Event::Disconnect`] came first).
    Notice(DisconnectReason),
    /// No init response within [`init_response_timeout`](super::ImgSessionConfig::init_response_timeout).
    InitTimeout {
        /// The configured timeout.
        timeout: Duration,
    },
    /// The init response was not `session initialized` (for example `API limit breached`).
    InitRefused {
        /// The response's `status`.
        status: String,
        /// The response's `msg` or `reason`, when present.
        detail: Option<String>,
    },
    /// No byte for [`dead_after`](super::ImgSessionConfig::dead_after).
    Dead {
        /// How long nothing arrived.
        silent_for: Duration,
    },
    /// Reading or writing failed.
    Transport {
        /// The transport's description.
        detail: String,
    },
}

impl DisconnectedReason {
    /// A short machine-readable code: `server_closed`, `server_notice`, `init_timeout`,
    /// `init_refused`, `dead`, `transport_error`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::ServerClosed => "server_closed",
            Self::Notice(_) => "server_notice",
            Self::InitTimeout { .. } => "init_timeout",
            Self::InitRefused { .. } => "init_refused",
            Self::Dead { .. } => "dead",
            Self::Transport { .. } => "transport_error",
        }
    }
}

impl fmt::Display for DisconnectedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerClosed => f.write_str("the server closed the connection"),
            Self::Notice(reason) => write!(f, "the server disconnected us: {}", reason.as_str()),
            Self::InitTimeout { timeout } => {
                write!(f, "no init response within {} ms", timeout.as_millis())
            }
            Self::InitRefused {
                status,
                detail: Some(detail),
            } => {
                write!(f, "init refused: {status}: {detail}")
            }
            Self::InitRefused {
                status,
                detail: None,
            } => write!(f, "init refused: {status}"),
            Self::Dead { silent_for } => write!(
                f,
                "no bytes for {} ms: connection considered dead",
                silent_for.as_millis()
            ),
            Self::Transport { detail } => write!(f, "transport error: {detail}"),
        }
    }
}

/// Something the application should know. [`Event::name`] gives the docs/CLI.md event name.
///
/// Data events ([`Event::Response`], [`Event::Push`], [`Event::Disconnect`],
/// [`Event::Unknown`]) each carry one line exactly as the server sent it; the others describe
/// the session's health.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The init response arrived (`session_initialized`). Comes right after the init
    /// [`Event::Response`].
    ///
    /// With `reconnect: true` the snapshot that follows **replaces** the application's state:
    /// there is no resume, and prices older than it must be discarded (docs/PROTOCOL.md A.8).
    SessionInitialized {
        /// The server's `session_id` (quote it to support), when sent.
        session_id: Option<String>,
        /// Whether an earlier connection of this session was initialized already.
        reconnect: bool,
    },
    /// A response (`response`), matched to the request it answers when one was outstanding.
    Response {
        /// The response.
        response: Response,
        /// The request it answers, as sent (with its `request_id`); `None` when it matched
        /// nothing (an [`Event::UnmatchedResponse`] follows).
        request: Option<Request>,
    },
    /// A push (`push`), heartbeats included.
    Push(Push),
    /// A disconnect notice from the server (`server_error`); the connection ends after it.
    Disconnect(DisconnectNotice),
    /// A JSON object that is neither a response, a push nor a notice (`unknown`); kept raw.
    Unknown {
        /// The line as received.
        raw: String,
    },
    /// No heartbeat for [`heartbeat_stale_after`](super::ImgSessionConfig::heartbeat_stale_after)
    /// (`heartbeat_stale`): treat every market as suspended until [`Event::HeartbeatOk`].
    HeartbeatStale {
        /// Time since the last heartbeat (or the init response) arrived.
        silent_for: Duration,
    },
    /// A heartbeat arrived after [`Event::HeartbeatStale`] (`heartbeat_ok`).
    HeartbeatOk {
        /// How long the feed was stale.
        stale_for: Duration,
    },
    /// A response matched no outstanding request (`unmatched_response`). It was still
    /// delivered (the [`Event::Response`] before this one).
    UnmatchedResponse {
        /// The response's `request_id`, if it had one.
        request_id: Option<String>,
    },
    /// A heartbeat's `timestamp` is earlier than the previous one's
    /// (`heartbeat_time_backwards`). It still counted as a heartbeat.
    HeartbeatTimeBackwards {
        /// The previous heartbeat's timestamp, as sent.
        previous: String,
        /// This heartbeat's timestamp, as sent.
        current: String,
    },
    /// A line could not be decoded (`decode_error`); skipped.
    DecodeError(DecodeError),
    /// The connection ended (`disconnected`). Until the next [`Event::SessionInitialized`] no
    /// price is current: a trading system should treat every market as suspended.
    Disconnected {
        /// Why.
        reason: DisconnectedReason,
    },
}

impl Event {
    /// The event name of docs/CLI.md (`session_initialized`, `response`, `server_error`,
    /// `heartbeat_stale`, `heartbeat_ok`, `unmatched_response`, `heartbeat_time_backwards`,
    /// `decode_error`, `disconnected`), or `push` / `unknown` for the two data-only events.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::SessionInitialized { .. } => "session_initialized",
            Self::Response { .. } => "response",
            Self::Push(_) => "push",
            Self::Disconnect(_) => "server_error",
            Self::Unknown { .. } => "unknown",
            Self::HeartbeatStale { .. } => "heartbeat_stale",
            Self::HeartbeatOk { .. } => "heartbeat_ok",
            Self::UnmatchedResponse { .. } => "unmatched_response",
            Self::HeartbeatTimeBackwards { .. } => "heartbeat_time_backwards",
            Self::DecodeError(_) => "decode_error",
            Self::Disconnected { .. } => "disconnected",
        }
    }

    /// The server's line as received, for the data events (response, push, disconnect notice,
    /// unknown object); `None` for the others. This is what the CLI prints on stdout.
    #[must_use]
    pub fn raw_line(&self) -> Option<&str> {
        match self {
            Self::Response { response, .. } => Some(response.raw.as_str()),
            Self::Push(push) => Some(push.raw.as_str()),
            Self::Disconnect(notice) => Some(notice.raw.as_str()),
            Self::Unknown { raw } => Some(raw.as_str()),
            _ => None,
        }
    }
}
