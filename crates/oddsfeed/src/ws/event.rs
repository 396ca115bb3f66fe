//! [`WsEvent`]: what [`WsClient::next`](super::WsClient::next) hands the application.

use std::time::Duration;

use oddsfeed_model::ws::DataMessage;
use oddsfeed_session::ws::{Event, WarningKind};

use super::error::WsError;
use crate::health::Health;

/// One thing that happened, in the order it happened.
///
/// Data messages come as [`WsEvent::Data`]; everything the sans-IO session reports (login,
/// dictionaries, resume, `snapshot_required`, decode errors, disconnects, warnings) comes as
/// [`WsEvent::Session`]; the rest is what only the connection driver knows (connecting,
/// backoff, the end of the run).
///
/// [`name`](Self::name) gives the docs/CLI.md event name of each.
#[derive(Debug)]
#[non_exhaustive]
pub enum WsEvent {
    /// A data message for the application, deduplicated and in feed order. Taking it (receiving it
    /// from [`WsClient::next`](super::WsClient::next)) advances the resume cursor of its channel.
    Data(DataMessage),
    /// A session event (never [`Event::Data`]: data comes as [`WsEvent::Data`]).
    Session(Event),
    /// A connection attempt starts (`connecting`).
    Connecting {
        /// The URL without user information or query (see
        /// [`WsClientConfig::url_for_logs`](super::WsClientConfig::url_for_logs)).
        url: String,
    },
    /// The next connection attempt waits this long (`backoff`).
    Backoff {
        /// The delay (full jitter: anywhere from 0 to the current ceiling).
        delay: Duration,
        /// The reconnect attempt this delay precedes (1 for the first after a good connection).
        attempt: u32,
    },
    /// Something the driver noticed that does not stop the run: TLS verification switched off
    /// (`insecure_tls`), a transport error that ended a connection (`transport_error`). The event
    /// name is the kind, as for the session's warnings.
    Warning {
        /// What happened: [`WarningKind::InsecureTls`], [`WarningKind::TransportError`] or
        /// [`WarningKind::RecordFailed`]; its [`as_str`](WarningKind::as_str) is the event name.
        kind: WarningKind,
        /// Details for the log (never the API key).
        detail: String,
    },
    /// The feed's health changed (`health`): follows the event that changed it. See
    /// [`crate::health`] for what a trading system should do in each state.
    Health(Health),
    /// The run ended with an error (`fatal`); no event follows.
    Fatal(WsError),
    /// The run ended normally (`finished`): the server closed and the client runs once. No event
    /// follows.
    Finished,
    /// Replay only ([`WsReplay`](crate::replay::WsReplay)): the recording ends in a torn or
    /// corrupt record, ignored from here on (`recording_truncated`). The last event.
    RecordingTruncated(oddsfeed_record::Truncation),
}

impl WsEvent {
    /// Applies this event to a live book: data messages, and `snapshot_required` for channel
    /// staleness. `now` is the message's arrival time (for ages). The clients' opt-in book
    /// ([`WsClient::book`](super::WsClient::book)) and programs replaying a recording
    /// (`oddsfeed replay --book-out`) both go through here: one place for the rule "which event
    /// changes which part of the book".
    pub fn apply_to(&self, book: &mut oddsfeed_book::ws::WsBook, now: std::time::Instant) {
        match self {
            Self::Data(msg) => book.apply(msg, now),
            Self::Session(Event::SnapshotRequired {
                reason, channels, ..
            }) => book.snapshot_required(reason, channels),
            _ => {}
        }
    }

    /// The event name of docs/CLI.md: `data`, the session event's name, `connecting`,
    /// `backoff`, the warning's kind, `health`, `fatal` or `finished`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Data(_) => "data",
            Self::Session(event) => event.name(),
            Self::Connecting { .. } => "connecting",
            Self::Backoff { .. } => "backoff",
            Self::Warning { kind, .. } => kind.as_str(),
            Self::Health(_) => "health",
            Self::Fatal(_) => "fatal",
            Self::Finished => "finished",
            Self::RecordingTruncated(_) => "recording_truncated",
        }
    }

    /// Whether this is the last event of the run ([`Fatal`](Self::Fatal) or
    /// [`Finished`](Self::Finished)).
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Fatal(_) | Self::Finished)
    }

    pub(crate) fn from_session(event: Event) -> Self {
        match event {
            Event::Data(msg) => Self::Data(msg),
            other => Self::Session(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed_session::ws::WarningKind;

    #[test]
    fn names_follow_the_cli_contract() {
        assert_eq!(
            WsEvent::Connecting {
                url: "ws://h/ws".into()
            }
            .name(),
            "connecting"
        );
        assert_eq!(
            WsEvent::Backoff {
                delay: Duration::from_millis(10),
                attempt: 1
            }
            .name(),
            "backoff"
        );
        assert_eq!(WsEvent::Finished.name(), "finished");
        let warning = WsEvent::from_session(Event::Warning {
            kind: WarningKind::SlowConsumer,
            detail: String::new(),
        });
        assert_eq!(warning.name(), "slow_consumer");
        let snap = WsEvent::from_session(Event::SnapshotRequired {
            reason: "not_replayable".into(),
            channels: vec!["odds".into()],
            raised_by_client: true,
        });
        assert_eq!(snap.name(), "snapshot_required");
        assert!(!snap.is_terminal());
        assert!(WsEvent::Finished.is_terminal());
    }
}
