//! Feed health: one vocabulary for both feeds, and what a trading system should do in each state.
//!
//! Both clients follow the events they hand out and, right after an event that changes the
//! feed's health, yield a [`Health`] event of their own
//! ([`WsEvent::Health`](crate::ws::WsEvent::Health),
//! [`ImgEvent::Health`](crate::img::ImgEvent::Health)). An application that only wants to know
//! when to suspend and reopen its markets can watch these and ignore the protocol details.
//!
//! | state | when | what a trading system should do |
//! |---|---|---|
//! | [`Health::Up`] | first login (`login_ok`) or session initialised (`session_initialized`) | prices are current from here; build or reload the state the feed describes |
//! | [`Health::Stale`] | IMG: no heartbeat for the configured time | suspend every market of this feed; keep the connection |
//! | [`Health::Recovered`] | back up after [`Health::Stale`] or [`Health::Down`] | WS: prices are current again for every channel not named by a [`Health::SnapshotRequired`]; IMG: a re-initialised session sends a new snapshot that replaces the old state |
//! | [`Health::SnapshotRequired`] | WS: the feed (or the client) says these channels have a gap | treat those channels' state as unknown: re-fetch them (REST) before trading on them; other channels are fine |
//! | [`Health::Down`] | the last live connection ended | suspend every market of this feed; the client reconnects by itself |
//!
//! This is the Sportradar SDK's lesson ("producer down / producer up") applied to these feeds:
//! health is an event, not something each application reconstructs from disconnect codes.

use oddsfeed_session::img::Event as ImgSessionEvent;
use oddsfeed_session::ws::{ConnId, Event as WsSessionEvent};

/// The health of a feed, as a trading system should act on it (see the [module docs](self)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Health {
    /// The feed is up for the first time in this run: prices are current.
    Up,
    /// The connection is open but the feed is silent (IMG heartbeats stale): suspend every market.
    Stale,
    /// The feed is up again after [`Health::Stale`] or [`Health::Down`].
    Recovered,
    /// These channels have a gap: reload them before trusting their state (WS only).
    SnapshotRequired {
        /// The channels concerned.
        channels: Vec<String>,
        /// The reason the feed or the client gave, e.g. `not_replayable`.
        reason: String,
    },
    /// No connection is live: suspend every market; the client reconnects by itself.
    Down,
}

impl Health {
    /// Whether markets fed by this feed may be traded in this state (for the channels not named
    /// by a [`Health::SnapshotRequired`]).
    #[must_use]
    pub fn is_tradable(&self) -> bool {
        matches!(
            self,
            Self::Up | Self::Recovered | Self::SnapshotRequired { .. }
        )
    }

    /// A short name for logs: `up`, `stale`, `recovered`, `snapshot_required`, `down`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Stale => "stale",
            Self::Recovered => "recovered",
            Self::SnapshotRequired { .. } => "snapshot_required",
            Self::Down => "down",
        }
    }
}

/// Where a feed stands, as the health observers track it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum State {
    /// Never up yet.
    #[default]
    Starting,
    Up,
    Stale,
    Down,
}

impl State {
    /// The event for going up from this state.
    fn up(self) -> Option<Health> {
        match self {
            Self::Starting => Some(Health::Up),
            Self::Stale | Self::Down => Some(Health::Recovered),
            Self::Up => None,
        }
    }
}

/// Derives [`Health`] changes from the WebSocket session's events.
///
/// The feed is up while at least one connection is logged in (during a `reconnect` hand-over
/// the new connection logs in before the old one closes, which is no outage).
#[derive(Debug, Default)]
pub(crate) struct WsHealth {
    state: State,
    live: Vec<ConnId>,
}

impl WsHealth {
    /// The health change this event causes, if any.
    pub(crate) fn observe(&mut self, event: &WsSessionEvent) -> Option<Health> {
        match event {
            WsSessionEvent::LoginOk { conn, .. } => {
                if !self.live.contains(conn) {
                    self.live.push(*conn);
                }
                let change = self.state.up();
                self.state = State::Up;
                change
            }
            WsSessionEvent::Disconnected { conn, .. } => {
                if let Some(conn) = conn {
                    self.live.retain(|c| c != conn);
                }
                if self.live.is_empty() && self.state == State::Up {
                    self.state = State::Down;
                    Some(Health::Down)
                } else {
                    None
                }
            }
            WsSessionEvent::SnapshotRequired {
                reason, channels, ..
            } => Some(Health::SnapshotRequired {
                channels: channels.clone(),
                reason: reason.clone(),
            }),
            _ => None,
        }
    }
}

/// Derives [`Health`] changes from the IMG session's events.
#[derive(Debug, Default)]
pub(crate) struct ImgHealth {
    state: State,
}

impl ImgHealth {
    /// The health change this event causes, if any.
    pub(crate) fn observe(&mut self, event: &ImgSessionEvent) -> Option<Health> {
        let (next, change) = match event {
            ImgSessionEvent::SessionInitialized { .. } => (State::Up, self.state.up()),
            ImgSessionEvent::HeartbeatOk { .. } if self.state == State::Stale => {
                (State::Up, Some(Health::Recovered))
            }
            ImgSessionEvent::HeartbeatStale { .. } if self.state == State::Up => {
                (State::Stale, Some(Health::Stale))
            }
            ImgSessionEvent::Disconnected { .. }
                if matches!(self.state, State::Up | State::Stale) =>
            {
                (State::Down, Some(Health::Down))
            }
            _ => return None,
        };
        self.state = next;
        change
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use oddsfeed_session::img::DisconnectedReason;

    use super::*;

    fn login(conn: ConnId) -> WsSessionEvent {
        WsSessionEvent::LoginOk {
            conn,
            receive_type: None,
            channels: None,
            live: None,
            pregame: None,
            server_epoch: None,
        }
    }

    fn closed(conn: ConnId) -> WsSessionEvent {
        WsSessionEvent::Disconnected {
            conn: Some(conn),
            code: Some(oddsfeed_session::ws::CloseCode::Normal),
            reason: "closed by server".into(),
        }
    }

    #[test]
    fn ws_up_down_recovered_and_no_outage_during_a_hand_over() {
        let (a, b) = (ConnId::new(1), ConnId::new(2));
        let mut h = WsHealth::default();
        assert_eq!(h.observe(&login(a)), Some(Health::Up));
        // A `reconnect` hand-over: b logs in before a closes.
        assert_eq!(h.observe(&login(b)), None);
        assert_eq!(h.observe(&closed(a)), None);
        assert_eq!(h.observe(&closed(b)), Some(Health::Down));
        // A failed attempt while down says nothing new.
        let failed = WsSessionEvent::Disconnected {
            conn: None,
            code: None,
            reason: "refused".into(),
        };
        assert_eq!(h.observe(&failed), None);
        assert_eq!(h.observe(&login(ConnId::new(3))), Some(Health::Recovered));
        let snap = WsSessionEvent::SnapshotRequired {
            reason: "not_replayable".into(),
            channels: vec!["odds".into()],
            raised_by_client: true,
        };
        let change = h.observe(&snap);
        assert_eq!(
            change,
            Some(Health::SnapshotRequired {
                channels: vec!["odds".into()],
                reason: "not_replayable".into()
            })
        );
        assert!(change.is_some_and(|c| c.is_tradable()));
        assert!(!Health::Down.is_tradable());
    }

    #[test]
    fn img_stale_recovered_down() {
        let init = ImgSessionEvent::SessionInitialized {
            session_id: None,
            reconnect: false,
        };
        let stale = ImgSessionEvent::HeartbeatStale {
            silent_for: Duration::from_secs(10),
        };
        let ok = ImgSessionEvent::HeartbeatOk {
            stale_for: Duration::from_secs(2),
        };
        let down = ImgSessionEvent::Disconnected {
            reason: DisconnectedReason::ServerClosed,
        };
        let mut h = ImgHealth::default();
        assert_eq!(h.observe(&stale), None, "not up yet");
        assert_eq!(h.observe(&init), Some(Health::Up));
        assert_eq!(h.observe(&stale), Some(Health::Stale));
        assert_eq!(h.observe(&stale), None);
        assert_eq!(h.observe(&ok), Some(Health::Recovered));
        assert_eq!(h.observe(&ok), None);
        assert_eq!(h.observe(&down), Some(Health::Down));
        assert_eq!(h.observe(&down), None);
        assert_eq!(h.observe(&init), Some(Health::Recovered));
        assert_eq!(Health::Stale.name(), "stale");
    }
}
