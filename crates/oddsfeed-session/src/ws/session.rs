//! [`WsSession`]: the sans-IO state machine of the WebSocket feed.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use oddsfeed_model::ws::{
    Control, DataMessage, DictFrame, ErrorFrame, Login, LoginOk, SnapshotRequired, WsMessage,
};
use oddsfeed_model::{EntryId, ReceiveType, ResumeState};

use super::config::WsConfig;
use super::cursor::Cursors;
use super::decoder::FrameDecoder;
use super::output::{
    Action, CloseInfo, ConnId, Event, ExitHint, Fatal, FrameKind, OutFrame, ReconnectDelay,
    Transmit, WarningKind,
};
use super::stats::Stats;
use super::{DecodeError, DecodeErrorKind};
use oddsfeed_wire::ws::CloseCode;

use crate::backoff::{Backoff, ReconnectTimer, ScheduledReconnect};
use crate::error::SessionError;

mod close;
mod resume;

/// The close code the session sends when it closes a connection itself.
pub const CLOSE_NORMAL: CloseCode = CloseCode::Normal;

/// Most channels a session keeps resume cursors for. The server names channels; a bound keeps a
/// server that invents names from growing the cursor maps without limit. Data of further channels
/// is delivered without dedupe or cursor ([`WarningKind::UntrackedChannel`]). The feed has about a
/// dozen channels.
pub const MAX_TRACKED_CHANNELS: usize = 256;

/// Longest channel name a session keeps a cursor for, in bytes (same reasoning as
/// [`MAX_TRACKED_CHANNELS`]).
pub const MAX_CHANNEL_NAME: usize = 64;

/// Where one connection is in its life, as reported by [`WsSession::connection_phase`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnPhase {
    /// The login was sent; data is refused until `login_ok`.
    AwaitingLoginOk,
    /// `login_ok` arrived; data flows.
    Streaming,
    /// The server asked to reconnect: this old connection still delivers until the new one's
    /// `login_ok`, then it is closed.
    Draining,
}

/// What a login sent, kept until its `login_ok` (B.9 step 4 compares with the cursor *sent*).
#[derive(Debug, Clone)]
struct AwaitingLoginOk {
    deadline: Instant,
    sent_epoch: Option<String>,
    sent_cursors: BTreeMap<String, EntryId>,
}

/// A connection after `login_ok`.
#[derive(Debug, Clone)]
struct Streaming {
    since: Instant,
    mode: Option<ReceiveType>,
}

#[derive(Debug, Clone)]
enum Phase {
    AwaitingLoginOk(AwaitingLoginOk),
    Streaming(Streaming),
}

/// A hint from an `error` frame about the close that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseHint {
    TooManyConnections,
}

#[derive(Debug, Clone)]
struct Conn {
    id: ConnId,
    phase: Phase,
    last_rx: Instant,
    last_ping: Option<Instant>,
    hint: Option<CloseHint>,
}

impl Conn {
    fn is_streaming(&self) -> bool {
        matches!(self.phase, Phase::Streaming(_))
    }

    fn streaming_since(&self) -> Option<Instant> {
        match &self.phase {
            Phase::Streaming(s) => Some(s.since),
            Phase::AwaitingLoginOk(_) => None,
        }
    }

    fn mode(&self) -> Option<ReceiveType> {
        match &self.phase {
            Phase::Streaming(s) => s.mode,
            Phase::AwaitingLoginOk(_) => None,
        }
    }

    /// When the next Ping is due: `ping_after_idle` after the later of the last frame and the last
    /// Ping.
    fn ping_due(&self, idle: Duration) -> Instant {
        let last = self.last_ping.map_or(self.last_rx, |p| p.max(self.last_rx));
        last + idle
    }
}

/// Which of the two connection slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Primary,
    Draining,
}

/// What a timer decided for one connection.
#[derive(Debug, Clone, Copy)]
enum TimerOutcome {
    LoginTimeout,
    Dead,
    Ping,
}

/// The sans-IO state machine of the OddsPapi-style WebSocket feed (docs/PROTOCOL.md Part B).
///
/// It owns the login, the negotiated decoder, dictionaries, resume cursors, liveness timers and the
/// reconnect policy; the caller owns sockets and the clock. See the [module docs](super) for the
/// call order.
#[derive(Debug)]
pub struct WsSession {
    config: WsConfig,
    decoder: FrameDecoder,
    cursors: Cursors,
    /// Channels that delivered data (B.9 step 8), kept across clears.
    touched: BTreeSet<String>,
    /// `replayChannels` of the last `login_ok`; `None` until one arrives.
    replay_channels: Option<BTreeSet<String>>,
    primary: Option<Conn>,
    draining: Option<Conn>,
    /// An `OpenConnection` or `Reconnect` is outstanding.
    want_connection: bool,
    next_conn: u64,
    stopped: bool,
    /// The backoff, its jitter and the pending reconnect deadline.
    reconnect: ReconnectTimer,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    actions: VecDeque<Action>,
    stats: Stats,
    scratch: Vec<Result<WsMessage, DecodeError>>,
}

impl WsSession {
    /// A session that resumes from `resume` (use `ResumeState::default()` for a fresh start).
    ///
    /// The first output is [`Action::OpenConnection`]. An invalid configuration yields
    /// [`Action::Stop`] instead (see [`WsConfig::validate`]).
    #[must_use]
    pub fn new(config: WsConfig, resume: ResumeState) -> Self {
        let decoder = FrameDecoder::new(config.max_frame, config.max_decompressed)
            .with_max_nodes(config.max_nodes)
            .with_payload_mode(config.payload_mode);
        let touched = resume.last_seen_id.keys().cloned().collect();
        let reconnect = ReconnectTimer::new(config.backoff, config.jitter_seed);
        let mut session = Self {
            decoder,
            cursors: Cursors::from_resume(resume),
            touched,
            replay_channels: None,
            primary: None,
            draining: None,
            want_connection: false,
            next_conn: 1,
            stopped: false,
            reconnect,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            actions: VecDeque::new(),
            stats: Stats::default(),
            scratch: Vec::new(),
            config,
        };
        match session.config.validate() {
            Ok(()) => {
                session.want_connection = true;
                session.actions.push_back(Action::OpenConnection);
            }
            Err(error) => session.stop(ExitHint::Failure, error),
        }
        session
    }

    // ----- getters -------------------------------------------------------------------------

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &WsConfig {
        &self.config
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The frame decoder (its dictionary store and decompression counters).
    #[must_use]
    pub fn decoder(&self) -> &FrameDecoder {
        &self.decoder
    }

    /// The reconnect backoff. The session resets it after a connection that streamed for
    /// [`BackoffConfig::reset_after`](crate::backoff::BackoffConfig::reset_after).
    #[must_use]
    pub fn backoff(&self) -> &Backoff {
        self.reconnect.backoff()
    }

    /// The reconnect backoff, for a caller that wants to change its attempt count (tests).
    pub fn backoff_mut(&mut self) -> &mut Backoff {
        self.reconnect.backoff_mut()
    }

    /// The reconnect the last [`Action::Reconnect`] scheduled, until it is due: the delay drawn, its
    /// backoff attempt and the deadline ([`poll_timeout`](Self::poll_timeout) includes it).
    #[must_use]
    pub fn scheduled_reconnect(&self) -> Option<ScheduledReconnect> {
        self.reconnect.pending()
    }

    /// What a state file persists: the current epoch and the *consumed* cursors.
    #[must_use]
    pub fn resume_state(&self) -> ResumeState {
        self.cursors.resume_state()
    }

    /// The *delivered* cursors (dedupe and in-process resume), for diagnostics.
    #[must_use]
    pub fn delivered_cursors(&self) -> &BTreeMap<String, EntryId> {
        self.cursors.delivered()
    }

    /// The server epoch the session currently follows.
    #[must_use]
    pub fn server_epoch(&self) -> Option<&str> {
        self.cursors.epoch()
    }

    /// Where a connection is, or `None` if the session does not know it (never opened, closed, or
    /// dropped by the session).
    #[must_use]
    pub fn connection_phase(&self, conn: ConnId) -> Option<ConnPhase> {
        if let Some(c) = self.primary.as_ref().filter(|c| c.id == conn) {
            return Some(match c.phase {
                Phase::AwaitingLoginOk(_) => ConnPhase::AwaitingLoginOk,
                Phase::Streaming(_) => ConnPhase::Streaming,
            });
        }
        self.draining
            .as_ref()
            .filter(|c| c.id == conn)
            .map(|_| ConnPhase::Draining)
    }

    /// The connections the session knows, oldest first.
    #[must_use]
    pub fn connections(&self) -> Vec<ConnId> {
        let mut ids: Vec<ConnId> = self
            .draining
            .iter()
            .chain(self.primary.iter())
            .map(|c| c.id)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Whether the session has stopped ([`Action::Stop`] or [`Action::Finished`] was queued); every
    /// later input is ignored.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    // ----- inputs --------------------------------------------------------------------------

    /// The transport finished a WebSocket handshake. Returns the connection's id and queues its login
    /// (a [`Transmit`]) and an [`Event::Connected`].
    ///
    /// Call it after [`Action::OpenConnection`] or [`Action::Reconnect`]. Called without one, the
    /// session still accepts the connection but closes the previous non-draining one
    /// ([`WarningKind::UnexpectedConnect`]), so there are never more than two.
    pub fn handle_connected(&mut self, now: Instant) -> ConnId {
        let id = ConnId(self.next_conn);
        self.next_conn += 1;
        if self.stopped {
            self.actions.push_back(Action::Close {
                conn: id,
                code: CLOSE_NORMAL,
            });
            return id;
        }
        self.stats.connections += 1;
        if let Some(old) = self.primary.as_ref().map(|c| c.id) {
            // Only reachable when the driver connects without being asked (the session never asks
            // while a primary connection exists): keep the new one, so there are never three.
            self.warn(
                WarningKind::UnexpectedConnect,
                format!("connection {id} opened without being asked for; closing {old}"),
            );
            self.drop_conn(old, CLOSE_NORMAL, format!("superseded by {id}"));
        }
        self.want_connection = false;
        self.reconnect.cancel();

        let replay: Option<Vec<String>> = self
            .replay_channels
            .as_ref()
            .map(|set| set.iter().cloned().collect());
        let mut login = self.base_login();
        let state = ResumeState {
            server_epoch: self.cursors.epoch().map(str::to_owned),
            last_seen_id: self.cursors.delivered().clone(),
        };
        login = login.with_resume(&state, replay.as_deref());
        let sent_epoch = login.server_epoch.clone();
        let sent_cursors = login.last_seen_id.clone().unwrap_or_default();
        let resuming = sent_epoch.is_some();
        self.transmits.push_back(Transmit {
            conn: id,
            frame: OutFrame::Text(login.to_wire_json()),
        });
        self.primary = Some(Conn {
            id,
            phase: Phase::AwaitingLoginOk(AwaitingLoginOk {
                deadline: now + self.config.login_timeout,
                sent_epoch,
                sent_cursors,
            }),
            last_rx: now,
            last_ping: None,
            hint: None,
        });
        self.events
            .push_back(Event::Connected { conn: id, resuming });
        id
    }

    /// The transport could not open the connection asked for (TCP, TLS or HTTP upgrade failed).
    /// Queues an [`Event::Disconnected`] without a connection, then a backoff [`Action::Reconnect`]
    /// (or [`Action::Stop`] when running once).
    ///
    /// The reconnect deadline is counted from `now`.
    pub fn handle_connect_failed(&mut self, now: Instant, reason: impl Into<String>) {
        if self.stopped || !self.want_connection {
            return;
        }
        let reason = reason.into();
        self.want_connection = false;
        self.events.push_back(Event::Disconnected {
            conn: None,
            code: None,
            reason: format!("could not connect: {reason}"),
        });
        if self.config.once {
            self.stop(ExitHint::Failure, SessionError::ConnectFailed { reason });
        } else {
            self.schedule_reconnect(ReconnectDelay::Backoff, now);
        }
    }

    /// A whole WebSocket message (text or binary) arrived on `conn`. Frames for a connection the
    /// session does not know (closed, dropped, never opened) are ignored.
    pub fn handle_frame(&mut self, conn: ConnId, kind: FrameKind, payload: &[u8], now: Instant) {
        if self.stopped {
            return;
        }
        let Some((mode, streaming)) = self.find(conn).map(|(_, c)| {
            c.last_rx = now;
            (c.mode(), c.is_streaming())
        }) else {
            self.stats.frames_ignored += 1;
            return;
        };
        self.stats.frames += 1;
        self.stats.bytes += payload.len() as u64;

        if kind == FrameKind::Binary && !streaming {
            // Binary frames carry data only; before login_ok there is no mode to decode them by.
            self.stats.dropped_before_login_ok += 1;
            self.warn(
                WarningKind::BeforeLoginOk,
                format!(
                    "binary frame of {} bytes on {conn} before login_ok; dropped",
                    payload.len()
                ),
            );
            return;
        }
        self.decoder.set_mode(mode);
        let mut out = std::mem::take(&mut self.scratch);
        out.clear();
        self.decoder.decode(kind, payload, &mut out);
        for item in out.drain(..) {
            if self.stopped || self.find(conn).is_none() {
                break;
            }
            match item {
                Ok(WsMessage::Data(msg)) => self.on_data(conn, msg),
                Ok(WsMessage::Control(control)) => self.on_control(conn, control, now),
                // A message kind the model learns later: nothing to do with it yet.
                Ok(_) => {}
                Err(error) => self.on_decode_error(error),
            }
        }
        self.scratch = out;
    }

    /// Any other sign of life on `conn` (a Pong or Ping the transport answered itself). Resets the
    /// liveness timers.
    pub fn handle_activity(&mut self, conn: ConnId, now: Instant) {
        if let Some((_, c)) = self.find(conn) {
            c.last_rx = now;
        }
    }

    /// Time passed: fires the login timeout, the idle Ping and the dead-connection check of every
    /// connection whose deadline is at or before `now`. Call it when [`poll_timeout`](Self::poll_timeout)
    /// is reached (calling it early does nothing harmful).
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.stopped {
            return;
        }
        if self.reconnect.expire(now) {
            self.actions.push_back(Action::OpenConnection);
        }
        let mut due: Vec<(ConnId, TimerOutcome)> = Vec::new();
        for conn in self.draining.iter().chain(self.primary.iter()) {
            let outcome = match &conn.phase {
                Phase::AwaitingLoginOk(a) if now >= a.deadline => Some(TimerOutcome::LoginTimeout),
                _ if now >= conn.last_rx + self.config.dead_after => Some(TimerOutcome::Dead),
                _ if now >= conn.ping_due(self.config.ping_after_idle) => Some(TimerOutcome::Ping),
                _ => None,
            };
            if let Some(outcome) = outcome {
                due.push((conn.id, outcome));
            }
        }
        for (id, outcome) in due {
            if self.stopped {
                return;
            }
            match outcome {
                TimerOutcome::Ping => {
                    if let Some((_, c)) = self.find(id) {
                        c.last_ping = Some(now);
                        self.transmits.push_back(Transmit {
                            conn: id,
                            frame: OutFrame::Ping,
                        });
                    }
                }
                TimerOutcome::LoginTimeout => {
                    let error = SessionError::LoginTimeout {
                        timeout_ms: millis(self.config.login_timeout),
                    };
                    self.lose_conn(id, error, now);
                }
                TimerOutcome::Dead => {
                    let dead_after = self.config.dead_after;
                    let silent = self.find(id).map_or(dead_after, |(_, c)| {
                        now.saturating_duration_since(c.last_rx)
                    });
                    let error = SessionError::ConnectionDead {
                        silent_ms: millis(silent),
                    };
                    self.lose_conn(id, error, now);
                }
            }
        }
    }

    /// The application has taken (printed, stored, acted on) the data message with `entry_id` on
    /// `channel`: advances the cursor [`resume_state`](Self::resume_state) reports. Returns whether
    /// it moved. It never moves past what was delivered, nor backwards.
    pub fn handle_consumed(&mut self, channel: &str, entry_id: EntryId) -> bool {
        self.cursors.mark_consumed(channel, entry_id)
    }

    // ----- outputs -------------------------------------------------------------------------

    /// The next frame to send. Drain after every input.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event. Drain after every input.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next action. Drain after every input, after the events.
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next: the earliest of every
    /// connection's timers and the reconnect deadline; `None` when no timer is running (no
    /// connection and no reconnect pending, or stopped).
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.stopped {
            return None;
        }
        self.draining
            .iter()
            .chain(self.primary.iter())
            .map(|conn| {
                let mut t = (conn.last_rx + self.config.dead_after)
                    .min(conn.ping_due(self.config.ping_after_idle));
                if let Phase::AwaitingLoginOk(a) = &conn.phase {
                    t = t.min(a.deadline);
                }
                t
            })
            .chain(self.reconnect.deadline())
            .min()
    }

    // ----- internals -----------------------------------------------------------------------

    fn base_login(&self) -> Login {
        let f = &self.config.filters;
        let mut login = Login::new(self.config.api_key.clone());
        login.channels = self.config.channels.clone();
        login.receive_type = Some(self.config.receive_type);
        login.sport_ids = f.sport_ids.clone();
        login.tournament_ids = f.tournament_ids.clone();
        login.fixture_ids = f.fixture_ids.clone();
        login.future_ids = f.future_ids.clone();
        login.bookmakers = f.bookmakers.clone();
        login.lang = f.lang.clone();
        login.client_name = f.client_name.clone();
        login.pregame = f.pregame;
        login.live = f.live;
        login
    }

    fn find(&mut self, conn: ConnId) -> Option<(Slot, &mut Conn)> {
        if let Some(c) = self.primary.as_mut().filter(|c| c.id == conn) {
            return Some((Slot::Primary, c));
        }
        self.draining
            .as_mut()
            .filter(|c| c.id == conn)
            .map(|c| (Slot::Draining, c))
    }

    fn warn(&mut self, kind: WarningKind, detail: String) {
        self.stats.warnings += 1;
        self.events.push_back(Event::Warning { kind, detail });
    }

    fn on_decode_error(&mut self, error: DecodeError) {
        self.stats.count_decode_error(error.kind);
        if error.kind == DecodeErrorKind::UnexpectedBinary {
            self.warn(WarningKind::UnexpectedBinary, error.detail());
        } else {
            self.events.push_back(Event::DecodeError(error));
        }
    }

    fn on_control(&mut self, conn: ConnId, control: Control, now: Instant) {
        match control {
            Control::LoginOk(ok) => self.on_login_ok(conn, ok, now),
            Control::Error(frame) => self.on_error_frame(conn, frame),
            Control::Dict(frame) => self.on_dict(frame),
            Control::ResumeComplete(frame) => self.events.push_back(Event::ResumeComplete {
                server_epoch: frame.server_epoch,
            }),
            Control::SnapshotRequired(frame) => self.on_snapshot_required(frame),
            Control::Reconnect(frame) => self.on_reconnect(conn, frame.reason),
            Control::Unknown(value) => self.events.push_back(Event::UnknownControl {
                raw: value.to_string(),
            }),
            // A control type the model learns later: nothing to do with it yet.
            _ => {}
        }
    }

    fn on_dict(&mut self, frame: DictFrame) {
        match self.decoder.load_dict(
            frame.dict_id,
            frame.encoding.as_deref().unwrap_or(""),
            frame.data.as_deref().unwrap_or(""),
            frame.channel.as_deref(),
        ) {
            Ok(size) => {
                self.stats.dicts_loaded += 1;
                self.events.push_back(Event::Dict {
                    channel: frame.channel,
                    dict_id: frame.dict_id,
                    dict_version: frame.dict_version,
                    size,
                });
            }
            Err(error) => {
                self.stats.dicts_rejected += 1;
                self.events.push_back(Event::DictRejected {
                    channel: frame.channel,
                    dict_id: frame.dict_id,
                    reason: error.to_string(),
                });
            }
        }
    }

    fn on_reconnect(&mut self, conn: ConnId, reason: Option<String>) {
        self.events
            .push_back(Event::ReconnectRequested { conn, reason });
        if self.config.once || self.want_connection || self.draining.is_some() {
            return;
        }
        let is_streaming_primary = self
            .primary
            .as_ref()
            .is_some_and(|c| c.id == conn && c.is_streaming());
        if !is_streaming_primary {
            return;
        }
        self.draining = self.primary.take();
        self.want_connection = true;
        self.actions.push_back(Action::OpenConnection);
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
