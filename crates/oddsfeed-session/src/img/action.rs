//! [`Action`]: the connection-level decisions an [`ImgSession`](super::ImgSession) hands back.

use std::fmt;

pub use crate::common::{ExitHint, ReconnectDelay};

/// What the driver must do with the connection, besides writing lines.
///
/// Every action but [`OpenConnection`](Self::OpenConnection) ends the current connection: the
/// session has already forgotten it, and later bytes for it are ignored until the next
/// [`handle_connected`](super::ImgSession::handle_connected).
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Action {
    /// Connect the transport now, then call
    /// [`handle_connected`](super::ImgSession::handle_connected) (`init` and the standing
    /// requests are sent) or [`handle_connect_failed`](super::ImgSession::handle_connect_failed).
    /// The first action of every session, and what the session asks for when a reconnect
    /// deadline passes.
    OpenConnection,
    /// Drop the transport. The session drew the delay `delay` asks for and set its reconnect
    /// deadline ([`ImgSession::scheduled_reconnect`](super::ImgSession::scheduled_reconnect)
    /// has the delay and attempt to report; [`poll_timeout`](super::ImgSession::poll_timeout)
    /// includes the deadline); when it passes, [`handle_timeout`](super::ImgSession::handle_timeout)
    /// queues [`OpenConnection`](Self::OpenConnection).
    Reconnect {
        /// The policy the delay was drawn under.
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
            Self::OpenConnection => f.write_str("open a connection"),
            Self::Reconnect {
                delay: ReconnectDelay::Immediate,
            } => f.write_str("reconnect now"),
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
    use std::time::Duration;

    use super::*;

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
