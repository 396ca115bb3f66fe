//! The session types both feeds share: how to wait before reconnecting, why a run stopped, and
//! what a frame or line that could not be decoded was ([`DecodeError`]).

use std::time::Duration;

use crate::backoff::Backoff;

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
    /// After the next delay of the session's [`Backoff`].
    Backoff,
    /// After the next backoff delay plus this floor (too many connections: close 4003, IMG
    /// `max connections hit` / `connection rate limit hit`): never hot-loop against a server
    /// that limits connections.
    BackoffAtLeast(Duration),
}

impl ReconnectDelay {
    /// The delay to wait, drawn from `backoff` (which counts the attempt) unless immediate.
    /// `rand_unit` is a uniform random number in `[0, 1]` (full jitter).
    pub fn resolve(self, backoff: &mut Backoff, rand_unit: f64) -> Duration {
        match self {
            Self::Immediate => Duration::ZERO,
            Self::Backoff => backoff.next_delay(rand_unit),
            Self::BackoffAtLeast(floor) => backoff.next_delay_with_floor(rand_unit, floor),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_resolve_through_the_backoff() {
        let mut backoff = Backoff::default();
        assert_eq!(
            ReconnectDelay::Immediate.resolve(&mut backoff, 1.0),
            Duration::ZERO
        );
        assert_eq!(
            ReconnectDelay::Backoff.resolve(&mut backoff, 1.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            ReconnectDelay::BackoffAtLeast(Duration::from_secs(10)).resolve(&mut backoff, 0.5),
            Duration::from_millis(10_500)
        );
        assert_eq!(backoff.attempt(), 2);
    }
}
