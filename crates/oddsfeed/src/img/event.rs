//! [`ImgEvent`]: what [`ImgClient::next`](super::ImgClient::next) yields.

use std::time::Duration;

use oddsfeed_session::img::Event;

use super::error::ImgError;
use crate::health::Health;

/// One item from the client: a transport-level step of the driver, or an event of the
/// session (data lines included).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// The large variant (`Session`) is the one nearly every item uses; boxing it would add an
// allocation per message to save space only on the rare driver events.
#[allow(clippy::large_enum_variant)]
pub enum ImgEvent {
    /// A connection attempt starts (`connecting`).
    Connecting {
        /// The server address.
        addr: String,
        /// 1 for the first attempt, counting every attempt of the run.
        attempt: u64,
    },
    /// The transport is up and `init` is being sent (`connected`).
    Connected {
        /// The server address.
        addr: String,
    },
    /// A connection attempt failed; the driver retries after a [`ImgEvent::Backoff`]
    /// (`connect_failed`).
    ConnectFailed {
        /// Why (never the identity path).
        error: String,
    },
    /// The driver waits before reconnecting (`backoff`).
    Backoff {
        /// The jittered delay.
        delay: Duration,
        /// The backoff attempt this delay belongs to (1 after a reset).
        attempt: u32,
    },
    /// The identity signed with SHA-1 `ssh-rsa` because the server announced no SHA-2 RSA
    /// signature algorithm and
    /// [`SshSettings::insecure_allow_sha1_rsa`](super::SshSettings::insecure_allow_sha1_rsa)
    /// allowed it (`insecure_sha1_rsa`). Comes before `connected`.
    InsecureSha1Rsa {
        /// The server address.
        addr: String,
    },
    /// An event of the session: data lines and health (see [`Event`]).
    Session(Event),
    /// The feed's health changed (`health`): follows the event that changed it. See
    /// [`crate::health`] for what a trading system should do in each state.
    Health(Health),
    /// The run ended with an error (`fatal`); no event follows.
    Fatal(ImgError),
    /// A `once` run ended because the server closed the connection. No event follows.
    Finished,
    /// Replay only ([`ImgReplay`](crate::replay::ImgReplay)): the recording ends in a torn or
    /// corrupt record, ignored from here on (`recording_truncated`). The last event.
    RecordingTruncated(oddsfeed_record::Truncation),
    /// Writing the recording failed; the run goes on without recording (`record_failed`).
    RecordFailed {
        /// Why.
        error: String,
    },
}

impl ImgEvent {
    /// Applies this event to a live book: pushes, `session_initialized` (a re-initialised
    /// session empties the markets), heartbeat staleness and disconnects. `now` is the arrival
    /// time. Used by [`ImgClient::book`](super::ImgClient::book) and by replays.
    pub fn apply_to(&self, book: &mut oddsfeed_book::img::ImgBook, now: std::time::Instant) {
        let Self::Session(session) = self else {
            return;
        };
        match session {
            Event::Push(push) => book.apply(push, now),
            Event::SessionInitialized {
                session_id,
                reconnect,
            } => book.session_initialized(session_id.as_deref(), *reconnect),
            Event::HeartbeatStale { .. } => book.heartbeat_stale(),
            Event::HeartbeatOk { .. } => book.heartbeat_ok(),
            Event::Disconnected { .. } => book.disconnected(),
            _ => {}
        }
    }

    /// The event name of docs/CLI.md (`connecting`, `connected`, `connect_failed`,
    /// `insecure_sha1_rsa`, `backoff`,
    /// `health`, `fatal`, `finished`, or the session event's [`Event::name`]).
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting { .. } => "connecting",
            Self::Connected { .. } => "connected",
            Self::ConnectFailed { .. } => "connect_failed",
            Self::InsecureSha1Rsa { .. } => "insecure_sha1_rsa",
            Self::Backoff { .. } => "backoff",
            Self::Session(event) => event.name(),
            Self::Health(_) => "health",
            Self::Fatal(_) => "fatal",
            Self::Finished => "finished",
            Self::RecordFailed { .. } => "record_failed",
            Self::RecordingTruncated(_) => "recording_truncated",
        }
    }

    /// Whether this is the last event of the run ([`Fatal`](Self::Fatal) or
    /// [`Finished`](Self::Finished)).
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Fatal(_) | Self::Finished)
    }
}
