//! [`ImgSession`]: the sans-IO state machine of one IMG-style feed consumer.

use std::collections::VecDeque;
use std::time::Instant;

use oddsfeed_model::ModelError;
use oddsfeed_model::img::{
    DisconnectNotice, DisconnectReason, ImgMessage, ImgTime, Push, PushBody, Request, Response,
    parse_img_line,
};
use oddsfeed_wire::{Line, LineDecoder, WireError};
use serde_json::{Map, Value};

use super::action::{Action, ExitHint, ReconnectDelay};
use super::config::ImgSessionConfig;
use super::error::ImgRequestError;
use super::event::{DisconnectedReason, Event};
use super::requests::{IdGen, Match, Outstanding, RequestId};
use crate::backoff::{Backoff, ReconnectTimer, ScheduledReconnect};
use crate::common::{DecodeError, DecodeErrorKind};

/// Counters over the whole life of a session (all connections).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Connections handed to [`ImgSession::handle_connected`].
    pub connections: u64,
    /// Lines decoded (JSON objects of any kind).
    pub lines: u64,
    /// Responses delivered.
    pub responses: u64,
    /// Pushes delivered, heartbeats included.
    pub pushes: u64,
    /// Heartbeat pushes.
    pub heartbeats: u64,
    /// Disconnect notices.
    pub notices: u64,
    /// Unknown objects delivered raw.
    pub unknown: u64,
    /// Lines that could not be decoded.
    pub decode_errors: u64,
    /// Responses that matched no outstanding request.
    pub unmatched_responses: u64,
    /// Requests written (init and re-sent standing requests included).
    pub requests_sent: u64,
}

/// What the current connection waits for.
#[derive(Debug)]
enum Phase {
    /// `init` went out; its response has not arrived.
    AwaitingInitResponse {
        /// The `request_id` the init went out with (`None` when untagged).
        init_id: Option<String>,
        /// When to give up.
        deadline: Instant,
    },
    /// The session is initialized: pushes flow and the heartbeat clock runs.
    Streaming {
        /// Arrival of the last heartbeat, or of the init response before the first one.
        last_heartbeat: Instant,
    },
}

/// One transport connection as the session sees it.
#[derive(Debug)]
struct Connection {
    decoder: LineDecoder,
    /// When the transport connected (a connection up for the backoff's `reset_after` resets it).
    connected_at: Instant,
    last_bytes: Instant,
    phase: Phase,
    outstanding: Outstanding,
    /// The last heartbeat's `msg.timestamp`.
    last_heartbeat_time: Option<ImgTime>,
}

/// A request re-sent after every connect.
#[derive(Debug, Clone)]
struct Standing {
    /// As the application gave it (a `request_id` here is re-used on every connection).
    request: Request,
    /// An id already promised to the caller for the next sending (a subscribe sent while
    /// disconnected); used once.
    promised_id: Option<String>,
}

/// How a connection that ends should end the run when [`ImgSessionConfig::once`] is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnceOutcome {
    /// The server closed it: exit 0.
    Finished,
    /// The client gave up on it: exit 1.
    Failure,
}

/// The sans-IO session of the IMG-style newline-JSON feed. See the [module docs](super) for
/// the call order.
#[derive(Debug)]
pub struct ImgSession {
    config: ImgSessionConfig,
    conn: Option<Connection>,
    standing: Vec<Standing>,
    /// One-shot requests waiting for a connection.
    queued: VecDeque<Request>,
    ids: IdGen,
    initialized_before: bool,
    /// `Some(since)` while the feed is stale (survives reconnects until a heartbeat arrives).
    stale_since: Option<Instant>,
    session_id: Option<String>,
    transmits: VecDeque<Vec<u8>>,
    events: VecDeque<Event>,
    actions: VecDeque<Action>,
    /// The backoff, its jitter and the pending reconnect deadline.
    reconnect: ReconnectTimer,
    /// Set by [`Action::OpenConnection`] until the driver reports the outcome.
    want_connection: bool,
    /// Set by [`Action::Stop`] and [`Action::Finished`].
    stopped: bool,
    stats: Stats,
}

impl ImgSession {
    /// A session with no connection yet.
    #[must_use]
    ///
    /// The first output is [`Action::OpenConnection`].
    pub fn new(config: ImgSessionConfig) -> Self {
        let reconnect = ReconnectTimer::new(config.backoff, config.jitter_seed);
        let mut actions = VecDeque::new();
        actions.push_back(Action::OpenConnection);
        Self {
            config,
            conn: None,
            standing: Vec::new(),
            queued: VecDeque::new(),
            ids: IdGen::default(),
            initialized_before: false,
            stale_since: None,
            session_id: None,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            actions,
            reconnect,
            want_connection: true,
            stopped: false,
            stats: Stats::default(),
        }
    }

    /// The configuration in use.
    #[must_use]
    pub fn config(&self) -> &ImgSessionConfig {
        &self.config
    }

    /// Counters so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Whether a connection is current (between [`handle_connected`](Self::handle_connected)
    /// and the action that ended it).
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.conn.is_some()
    }

    /// Whether the current connection's init response arrived.
    #[must_use]
    pub fn is_initialized(&self) -> bool {
        matches!(
            self.conn,
            Some(Connection {
                phase: Phase::Streaming { .. },
                ..
            })
        )
    }

    /// Whether the feed is stale (no heartbeat for too long; see [`Event::HeartbeatStale`]).
    #[must_use]
    pub fn is_stale(&self) -> bool {
        self.stale_since.is_some()
    }

    /// The reconnect backoff (its attempt count and policy).
    #[must_use]
    pub fn backoff(&self) -> &Backoff {
        self.reconnect.backoff()
    }

    /// The reconnect the last [`Action::Reconnect`] scheduled, until it is due: the delay drawn,
    /// its backoff attempt and the deadline ([`poll_timeout`](Self::poll_timeout) includes it).
    #[must_use]
    pub fn scheduled_reconnect(&self) -> Option<ScheduledReconnect> {
        self.reconnect.pending()
    }

    /// The `session_id` of the last init response, if any.
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The standing requests, in the order they are re-sent after `init`.
    pub fn standing_requests(&self) -> impl Iterator<Item = &Request> {
        self.standing.iter().map(|s| &s.request)
    }

    /// Requests sent on the current connection and not answered yet.
    #[must_use]
    pub fn outstanding_len(&self) -> usize {
        self.conn.as_ref().map_or(0, |c| c.outstanding.len())
    }

    // ----------------------------------------------------------------------------------------
    // Inputs
    // ----------------------------------------------------------------------------------------

    /// The transport is connected (for SSH: the shell channel is open). Queues `init`, then
    /// every standing request in order, then requests sent while disconnected; starts the
    /// init-response and dead-connection clocks.
    ///
    /// A connection still current is forgotten (its outstanding requests are dropped).
    pub fn handle_connected(&mut self, now: Instant) {
        self.stats.connections += 1;
        self.want_connection = false;
        self.reconnect.cancel();
        self.transmits.clear();
        let init_id = self.config.tag_init.then(|| self.ids.next_id());
        let mut conn = Connection {
            decoder: LineDecoder::new(self.config.max_line),
            connected_at: now,
            last_bytes: now,
            phase: Phase::AwaitingInitResponse {
                init_id: init_id.clone(),
                deadline: now + self.config.init_response_timeout,
            },
            outstanding: Outstanding::default(),
            last_heartbeat_time: None,
        };
        let mut msg = Map::new();
        if self.config.include_finished {
            msg.insert("include_finished".to_owned(), Value::Bool(true));
        }
        let mut init = Request::new(self.config.names.init.clone());
        init.msg = Value::Object(msg);
        init.request_id = init_id;
        let mut to_send = vec![init];
        for standing in &mut self.standing {
            let mut request = standing.request.clone();
            if request.request_id.is_none() {
                request.request_id = Some(match standing.promised_id.take() {
                    Some(id) => id,
                    None => self.ids.next_id(),
                });
            }
            to_send.push(request);
        }
        to_send.extend(self.queued.drain(..));
        for request in to_send {
            // Every request here was encoded once before (or is the init built above), so
            // encoding cannot fail; a failure would only drop that request.
            if let Ok(line) = encode(&request) {
                self.transmits.push_back(line);
                self.stats.requests_sent += 1;
                conn.outstanding.push(request);
            }
        }
        self.conn = Some(conn);
    }

    /// The transport could not connect after [`Action::OpenConnection`]. Schedules the next
    /// attempt ([`Action::Reconnect`], the deadline counted from `now`), or stops with
    /// [`once`](ImgSessionConfig::once).
    pub fn handle_connect_failed(&mut self, detail: &str, now: Instant) {
        if self.stopped || !self.want_connection {
            return;
        }
        self.want_connection = false;
        if self.config.once {
            self.stopped = true;
            self.actions.push_back(Action::Stop {
                exit: ExitHint::Failure,
                reason: format!("could not connect: {detail}"),
            });
        } else {
            self.schedule_reconnect(ReconnectDelay::Backoff, now);
        }
    }

    /// Bytes arrived from the server, in any chunking. Every complete line is decoded and
    /// turned into events; the dead-connection clock restarts.
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        conn.last_bytes = now;
        conn.decoder.push(data);
        self.drain_lines(now, false);
    }

    /// The server closed the stream (EOF). An unterminated last line is still decoded; then
    /// the connection ends: [`Action::Reconnect`] with backoff, or [`Action::Finished`] with
    /// [`once`](ImgSessionConfig::once) (or the action of a disconnect notice received before).
    pub fn handle_closed(&mut self, now: Instant) {
        if self.conn.is_none() {
            return;
        }
        self.drain_lines(now, true);
        if self.conn.is_some() {
            self.end_connection(
                DisconnectedReason::ServerClosed,
                ReconnectDelay::Backoff,
                OnceOutcome::Finished,
                now,
            );
        }
    }

    /// Reading from or writing to the transport failed; the connection ends: reconnect with
    /// backoff, or [`Action::Stop`] with [`once`](ImgSessionConfig::once).
    pub fn handle_transport_error(&mut self, detail: &str, now: Instant) {
        if self.conn.is_none() {
            return;
        }
        self.end_connection(
            DisconnectedReason::Transport {
                detail: detail.to_owned(),
            },
            ReconnectDelay::Backoff,
            OnceOutcome::Failure,
            now,
        );
    }

    /// Time passed: call when [`poll_timeout`](Self::poll_timeout) is reached (calling earlier
    /// or more often is harmless). Checks, in order, the init-response deadline, the
    /// dead-connection clock and the heartbeat clock.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.reconnect.expire(now) && !self.stopped {
            self.want_connection = true;
            self.actions.push_back(Action::OpenConnection);
        }
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        if let Phase::AwaitingInitResponse { deadline, .. } = conn.phase
            && now >= deadline
        {
            self.end_connection(
                DisconnectedReason::InitTimeout {
                    timeout: self.config.init_response_timeout,
                },
                ReconnectDelay::Backoff,
                OnceOutcome::Failure,
                now,
            );
            return;
        }
        let silent_for = now.saturating_duration_since(conn.last_bytes);
        if silent_for >= self.config.dead_after {
            self.end_connection(
                DisconnectedReason::Dead { silent_for },
                ReconnectDelay::Backoff,
                OnceOutcome::Failure,
                now,
            );
            return;
        }
        if let Phase::Streaming { last_heartbeat } = conn.phase
            && self.stale_since.is_none()
        {
            let silent_for = now.saturating_duration_since(last_heartbeat);
            if silent_for >= self.config.heartbeat_stale_after {
                self.stale_since = Some(now);
                self.events.push_back(Event::HeartbeatStale { silent_for });
            }
        }
    }

    /// Sends a one-shot request now (or after the next connect's `init` when disconnected),
    /// tagging it with a fresh `r<n>` unless it has a `request_id`. Returns the id it goes out
    /// with; its [`Event::Response`] carries the request.
    ///
    /// A `subscribe` also becomes standing (re-sent after every reconnect); an `unsubscribe`
    /// removes the standing subscribes with an equal filter (`{}`: all of them) and is sent
    /// as usual.
    ///
    /// # Errors
    ///
    /// [`ImgRequestError::TooMany`] when [`max_outstanding`](ImgSessionConfig::max_outstanding)
    /// requests already wait; [`ImgRequestError::Encode`] if the request cannot be written as
    /// JSON. Nothing changes then.
    pub fn send_request(&mut self, request: Request) -> Result<RequestId, ImgRequestError> {
        encode(&request)?;
        self.check_capacity()?;
        let is_subscribe = request.request == self.config.names.subscribe;
        if request.request == self.config.names.unsubscribe {
            self.remove_subscriptions(&request.msg);
        }
        let mut tagged = request.clone();
        let id = match &request.request_id {
            Some(id) => id.clone(),
            None => self.ids.next_id(),
        };
        tagged.request_id = Some(id.clone());
        if is_subscribe {
            let promised_id =
                (self.conn.is_none() && request.request_id.is_none()).then(|| id.clone());
            self.standing.push(Standing {
                request,
                promised_id,
            });
            if self.conn.is_none() {
                // The standing list sends it, with this id, after the next init.
                return Ok(RequestId(id));
            }
        }
        match self.conn.as_mut() {
            Some(conn) => {
                let line = encode(&tagged)?;
                self.transmits.push_back(line);
                self.stats.requests_sent += 1;
                conn.outstanding.push(tagged);
            }
            None => self.queued.push_back(tagged),
        }
        Ok(RequestId(id))
    }

    /// Adds a request that is sent after `init` on every connection, in the order added
    /// (the CLI's `--request`). When connected, it is also sent now.
    ///
    /// # Errors
    ///
    /// As [`send_request`](Self::send_request); nothing changes then.
    pub fn add_standing_request(&mut self, request: Request) -> Result<(), ImgRequestError> {
        encode(&request)?;
        self.check_capacity()?;
        self.standing.push(Standing {
            request: request.clone(),
            promised_id: None,
        });
        if let Some(conn) = self.conn.as_mut() {
            let mut tagged = request;
            if tagged.request_id.is_none() {
                tagged.request_id = Some(self.ids.next_id());
            }
            let line = encode(&tagged)?;
            self.transmits.push_back(line);
            self.stats.requests_sent += 1;
            conn.outstanding.push(tagged);
        }
        Ok(())
    }

    // ----------------------------------------------------------------------------------------
    // Outputs
    // ----------------------------------------------------------------------------------------

    /// The next line to write to the transport (compact JSON plus `\n`), oldest first.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.transmits.pop_front()
    }

    /// The next event for the application, in the order things happened.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// The next connection-level decision (see [`Action`]).
    #[must_use]
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout) has something
    /// to do: the connection's timers, or the reconnect deadline; `None` when neither runs.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let Some(conn) = self.conn.as_ref() else {
            return self.reconnect.deadline();
        };
        let mut earliest = conn.last_bytes + self.config.dead_after;
        match conn.phase {
            Phase::AwaitingInitResponse { deadline, .. } => earliest = earliest.min(deadline),
            Phase::Streaming { last_heartbeat } => {
                if self.stale_since.is_none() {
                    earliest = earliest.min(last_heartbeat + self.config.heartbeat_stale_after);
                }
            }
        }
        Some(earliest)
    }

    // ----------------------------------------------------------------------------------------
    // Internals
    // ----------------------------------------------------------------------------------------

    fn check_capacity(&self) -> Result<(), ImgRequestError> {
        // While disconnected, keep one slot for the `init` every connection starts with.
        let init_slot = usize::from(self.conn.is_none());
        let load = self.standing.len() + self.queued.len() + self.outstanding_len() + init_slot;
        if load >= self.config.max_outstanding {
            return Err(ImgRequestError::TooMany {
                limit: self.config.max_outstanding,
            });
        }
        Ok(())
    }

    fn remove_subscriptions(&mut self, filter: &Value) {
        let all = matches!(filter, Value::Object(map) if map.is_empty());
        let subscribe = &self.config.names.subscribe;
        self.standing
            .retain(|s| s.request.request != *subscribe || !(all || s.request.msg == *filter));
    }

    /// Decodes every complete line (and, at EOF, the unterminated tail), stopping early if a
    /// line ends the connection.
    fn drain_lines(&mut self, now: Instant, at_eof: bool) {
        loop {
            let item = match self.conn.as_mut() {
                Some(conn) if at_eof => conn.decoder.finish(),
                Some(conn) => conn.decoder.next_line(),
                None => return,
            };
            match item {
                Some(result) => self.handle_line(result, now),
                None => return,
            }
        }
    }

    fn handle_line(&mut self, line: Result<Line, WireError>, now: Instant) {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                let kind = match error {
                    WireError::InvalidUtf8 { .. } => DecodeErrorKind::InvalidUtf8,
                    _ => DecodeErrorKind::LineTooLong,
                };
                let mut decode_error = DecodeError::new(kind, error.raw().unwrap_or_default());
                if let WireError::InvalidUtf8 { len, .. } = error {
                    decode_error.len = len;
                }
                self.decode_error(decode_error.with_source(error));
                return;
            }
        };
        match parse_img_line(line.as_str()) {
            Ok(message) => {
                self.stats.lines += 1;
                match message {
                    ImgMessage::Response(response) => self.on_response(response, now),
                    ImgMessage::Push(push) => self.on_push(push, now),
                    ImgMessage::Disconnect(notice) => self.on_notice(notice, now),
                    ImgMessage::Unknown { raw, .. } => {
                        self.stats.unknown += 1;
                        self.events.push_back(Event::Unknown { raw });
                    }
                    // A kind the model learns later: counted until the session learns it too.
                    _ => self.stats.unknown += 1,
                }
            }
            Err(error) => {
                let kind = match &error {
                    ModelError::WrongShape { .. } => DecodeErrorKind::WrongShape,
                    ModelError::InvalidUtf8 { .. } => DecodeErrorKind::InvalidUtf8,
                    _ => DecodeErrorKind::BadJson,
                };
                let decode_error = DecodeError::new(kind, line.as_str().as_bytes());
                self.decode_error(decode_error.with_source(error));
            }
        }
    }

    fn decode_error(&mut self, error: DecodeError) {
        self.stats.decode_errors += 1;
        self.events.push_back(Event::DecodeError(error));
    }

    fn on_response(&mut self, response: Response, now: Instant) {
        self.stats.responses += 1;
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let matched = conn.outstanding.take(response.request_id.as_deref());
        let request = match matched {
            Match::Request(request) => Some(request),
            Match::Unmatched => None,
        };
        let is_init_response = match (&conn.phase, &request) {
            (Phase::AwaitingInitResponse { init_id, .. }, Some(request)) => {
                request.request == self.config.names.init && request.request_id == *init_id
            }
            _ => false,
        };
        let unmatched_id = request.is_none().then(|| response.request_id.clone());
        let status = response.status.as_str().to_owned();
        let session_id = response.session_id.clone();
        let detail = response_detail(&response);
        self.events.push_back(Event::Response { response, request });
        if let Some(request_id) = unmatched_id {
            self.stats.unmatched_responses += 1;
            self.events
                .push_back(Event::UnmatchedResponse { request_id });
        }
        if !is_init_response {
            return;
        }
        if status == self.config.init_status {
            conn.phase = Phase::Streaming {
                last_heartbeat: now,
            };
            self.session_id.clone_from(&session_id);
            let reconnect = self.initialized_before;
            self.initialized_before = true;
            self.events.push_back(Event::SessionInitialized {
                session_id,
                reconnect,
            });
        } else {
            self.end_connection(
                DisconnectedReason::InitRefused { status, detail },
                ReconnectDelay::Backoff,
                OnceOutcome::Failure,
                now,
            );
        }
    }

    fn on_push(&mut self, push: Push, now: Instant) {
        self.stats.pushes += 1;
        let PushBody::Heartbeat { timestamp } = &push.body else {
            self.events.push_back(Event::Push(push));
            return;
        };
        self.stats.heartbeats += 1;
        let timestamp = timestamp.clone();
        self.events.push_back(Event::Push(push));
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Phase::Streaming { last_heartbeat } = &mut conn.phase {
            *last_heartbeat = now;
            if let Some(since) = self.stale_since.take() {
                self.events.push_back(Event::HeartbeatOk {
                    stale_for: now.saturating_duration_since(since),
                });
            }
        }
        if let Some(current) = timestamp {
            if let Some(previous) = conn.last_heartbeat_time.take()
                && let (Some(cur), Some(prev)) = (current.as_naive(), previous.as_naive())
                && cur < prev
            {
                self.events.push_back(Event::HeartbeatTimeBackwards {
                    previous: previous.to_string(),
                    current: current.to_string(),
                });
            }
            conn.last_heartbeat_time = Some(current);
        }
    }

    fn on_notice(&mut self, notice: DisconnectNotice, now: Instant) {
        self.stats.notices += 1;
        let reason = notice.reason.clone();
        let delay = match reason {
            DisconnectReason::MaxConnectionsHit | DisconnectReason::ConnectionRateLimitHit => {
                ReconnectDelay::BackoffAtLeast(self.config.rate_limit_floor)
            }
            _ => ReconnectDelay::Backoff,
        };
        self.events.push_back(Event::Disconnect(notice));
        self.end_connection(
            DisconnectedReason::Notice(reason),
            delay,
            OnceOutcome::Finished,
            now,
        );
    }

    fn end_connection(
        &mut self,
        reason: DisconnectedReason,
        delay: ReconnectDelay,
        once: OnceOutcome,
        now: Instant,
    ) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        self.reconnect
            .backoff_mut()
            .connection_lasted(now.saturating_duration_since(conn.connected_at));
        // Lines not written yet belonged to the connection that just ended.
        self.transmits.clear();
        let text = reason.to_string();
        self.events.push_back(Event::Disconnected { reason });
        if !self.config.once {
            self.schedule_reconnect(delay, now);
            return;
        }
        self.stopped = true;
        self.actions.push_back(if once == OnceOutcome::Finished {
            Action::Finished
        } else {
            Action::Stop {
                exit: ExitHint::Failure,
                reason: text,
            }
        });
    }

    /// No connection is left: draw the delay, set the reconnect deadline and announce it. The
    /// [`Action::OpenConnection`] follows from [`handle_timeout`](Self::handle_timeout).
    fn schedule_reconnect(&mut self, delay: ReconnectDelay, now: Instant) {
        self.reconnect.schedule(delay, now);
        self.actions.push_back(Action::Reconnect { delay });
    }
}

/// The `msg` (when a string) or `reason` of a response, for a one-line description.
fn response_detail(response: &Response) -> Option<String> {
    match &response.msg {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Null) | None => response.reason.clone(),
        Some(other) => Some(other.to_string()),
    }
}

/// One request as a line: compact JSON plus `\n`.
fn encode(request: &Request) -> Result<Vec<u8>, ImgRequestError> {
    let mut line = Vec::with_capacity(64);
    oddsfeed_wire::encode_json_line(request, &mut line).map_err(|e| ImgRequestError::Encode {
        detail: e.to_string(),
    })?;
    Ok(line)
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
