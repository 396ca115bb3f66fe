//! The session types both feeds share: how to wait before reconnecting, why a run stopped, and
//! what a frame or line that could not be decoded was ([`DecodeError`]).

use std::time::Duration;

/// The most bytes of failing input any error or event keeps (4 KiB): enough to see what went
/// wrong, small enough that a stream of hostile lines or frames cannot pile up memory in
/// reports. One value under one name in every layer (`oddsfeed_wire::RAW_CAP` is the same).
pub use oddsfeed_model::RAW_CAP;

pub use crate::decode_error::{DecodeError, DecodeErrorKind, DecodeSource, FormatMismatch};

/// When to open the next connection after one ended: the reconnect policy a session decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectDelay {
    /// Now (the WebSocket server announced a planned close, 1001).
    Immediate,
    /// After the next delay of the session's [`Backoff`](crate::backoff::Backoff).
    Backoff,
    /// After the next backoff delay plus this floor (too many connections: close 4003, IMG
    /// `max connections hit` / `connection rate limit hit`): never hot-loop against a server
    /// that limits connections.
    BackoffAtLeast(Duration),
}

/// Why a run stops for good, as far as a caller deciding its own outcome needs to know.
///
/// The session says *what* happened; mapping it to a process exit code is the command line's
/// business (docs/CLI.md "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitHint {
    /// The server refused the credentials: retrying with them is pointless.
    Auth,
    /// Any other fatal error.
    Failure,
}
