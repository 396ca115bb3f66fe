//! [`Action`]: the connection-level decisions an [`ImgSession`](super::ImgSession) hands back.

use std::fmt;
use std::time::Duration;

use crate::backoff::Backoff;

/// When to open the next connection after one ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconnectDelay {
    /// After the next delay of the driver's [`Backoff`].
    Backoff,
    /// After the next backoff delay plus this floor (`max connections hit`, `connection rate
    /// limit hit`): never hot-loop against a server that limits connections.
    BackoffAtLeast(Duration),
}

impl ReconnectDelay {
    /// The delay to wait, drawn from `backoff` (which counts the attempt). `rand_unit` is a
    /// uniform random number in `[0, 1]` (full jitter).
    pub fn resolve(self, backoff: &mut Backoff, rand_unit: f64) -> Duration {
        match self {
            Self::Backoff => backoff.next_delay(rand_unit),
            Self::BackoffAtLeast(floor) => backoff.next_delay_with_floor(rand_unit, floor),
        }
    }
}

/// How a run that stops for good should exit (docs/CLI.md "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitHint {
    /// The server refused the credentials: exit 3.
    Auth,
    /// Any other fatal error: exit 1.
    Failure,
}

impl ExitHint {
    /// The process exit code: 3 or 1.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Auth => 3,
            Self::Failure => 1,
        }
    }
}

/// What the driver must do with the connection, besides writing lines.
///
/// Every action ends the current connection: the session has already forgotten it, and later
/// bytes for it are ignored until the next [`handle_connected`](super::ImgSession::handle_connected).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Action {
    /// Drop the transport, wait as told, connect again and call
    /// [`handle_connected`](super::ImgSession::handle_connected): `init` and the standing
    /// requests are re-sent.
    Reconnect {
        /// How long to wait first.
        delay: ReconnectDelay,
    },
    /// Stop for good with an error (only with [`once`](super::ImgSessionConfig::once): the
    /// connection failed in a way that is not "the server closed it").
    Stop {
        /// How to exit.
        exit: ExitHint,
        /// One line saying why.
        reason: String,
    },
    /// The run is over without error: the server closed the only connection of a session
    /// configured with [`once`](super::ImgSessionConfig::once). Exit 0.
    Finished,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Reconnect {
                delay: ReconnectDelay::Backoff,
            } => f.write_str("reconnect with backoff"),
            Self::Reconnect {
                delay: ReconnectDelay::BackoffAtLeast(floor),
            } => {
                write!(
                    f,
                    "reconnect with backoff of at least {} ms",
                    floor.as_millis()
                )
            }
            Self::Stop { reason, .. } => write!(f, "stop: {reason}"),
            Self::Finished => f.write_str("finished"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_resolve_through_the_backoff() {
        let mut backoff = Backoff::default();
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

    #[test]
    fn exit_codes_follow_the_cli_contract() {
        assert_eq!(ExitHint::Auth.code(), 3);
        assert_eq!(ExitHint::Failure.code(), 1);
    }

    #[test]
    fn display_is_one_line() {
        assert_eq!(
            Action::Reconnect {
                delay: ReconnectDelay::BackoffAtLeast(Duration::from_secs(10))
            }
            .to_string(),
            "reconnect with backoff of at least 10000 ms"
        );
        assert_eq!(Action::Finished.to_string(), "finished");
    }
}
