//! The OddsPapi-style WebSocket feed (docs/PROTOCOL.md Part B) as a sans-IO state machine.
//!
//! [`WsSession`] decides what to send, what to tell the application and when to (re)connect;
//! [`FrameDecoder`] turns one WebSocket message into messages by the negotiated mode. Neither opens
//! a socket or reads a clock: the driver (the `oddsfeed` facade, or a test) does the I/O and passes
//! `now` in.
//!
//! # How to drive it
//!
//! 1. `let mut s = WsSession::new(config, resume_state)` (a [`ResumeState`] read from a state
//!    file, or `ResumeState::default()`).
//! 2. After creating it and after **every** input below, drain the outputs in this order:
//!    1. [`poll_transmit`](WsSession::poll_transmit) until `None`: send each frame on its
//!       connection (the login as a text frame, Pings, close frames);
//!    2. [`poll_event`](WsSession::poll_event) until `None`: print/handle each event
//!       ([`Event::Data`] is a message for the application);
//!    3. [`poll_action`](WsSession::poll_action) until `None`: open a connection
//!       ([`Action::OpenConnection`]), report a reconnect the session scheduled
//!       ([`Action::Reconnect`]: the session owns the backoff, its seeded jitter and the deadline;
//!       it asks for the connection with [`Action::OpenConnection`] once that deadline passes),
//!       close one ([`Action::Close`]), or stop ([`Action::Stop`], [`Action::Finished`]);
//!    4. [`poll_timeout`](WsSession::poll_timeout): the instant at which to call
//!       [`handle_timeout`](WsSession::handle_timeout) if nothing else happens first.
//!
//!    Events come before actions so that data and the `disconnected` event are handled before a
//!    stop or a reconnect is acted on.
//! 3. Inputs:
//!    * [`handle_connected`](WsSession::handle_connected) when a WebSocket handshake completes
//!      (returns the [`ConnId`] to tag that connection's input with), or
//!      [`handle_connect_failed`](WsSession::handle_connect_failed) when it could not;
//!    * [`handle_frame`](WsSession::handle_frame) for every whole text or binary message;
//!    * [`handle_activity`](WsSession::handle_activity) for Ping/Pong frames the WebSocket library
//!      answered itself (they count as life);
//!    * [`handle_closed`](WsSession::handle_closed) when a connection ends, with the close frame if
//!      there was one;
//!    * [`handle_timeout`](WsSession::handle_timeout) when the deadline from `poll_timeout` passes;
//!    * [`handle_consumed`](WsSession::handle_consumed) once the application has durably taken a
//!      data message (printed it), then persist [`resume_state`](WsSession::resume_state) at your
//!      own pace (the CLI: at most every 200 ms and on exit).
//!
//! # Connection lifecycle
//!
//! A connection is [`ConnPhase::AwaitingLoginOk`] from `handle_connected` until `login_ok` (data is
//! refused, `before_login_ok`), then [`ConnPhase::Streaming`]. A `reconnect` frame turns the
//! streaming connection into [`ConnPhase::Draining`] and asks for a new one; the old one keeps
//! delivering (deduplicated by entryId) until the new one's `login_ok`, then it is closed with 1000
//! and anything it still sends is ignored. There are never more than two connections.
//!
//! # Resume
//!
//! Two cursors per channel: *delivered* (dedupe, and the `lastSeenId` of an in-process resume) and
//! *consumed* (what [`WsSession::resume_state`] returns for a state file). After every reconnect,
//! channels that had delivered data but are not resumed by the new login get a client-raised
//! [`Event::SnapshotRequired`] (`not_replayable`, or `server_restarted` on a new epoch): a consumer
//! is never left with an unreported gap.

mod config;
mod cursor;
mod decoder;
mod output;
mod session;
mod stats;

#[cfg(test)]
mod tests;

pub use crate::common::{DecodeError, DecodeErrorKind, FormatMismatch, RAW_CAP};
pub use config::{
    DEFAULT_DEAD_AFTER, DEFAULT_LOGIN_TIMEOUT, DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_FRAME,
    DEFAULT_PING_AFTER_IDLE, DEFAULT_TOO_MANY_CONNECTIONS_FLOOR, MAX_TIMER, WsConfig, WsFilters,
};
pub use decoder::{DecoderStats, FrameDecoder};
pub use output::{
    Action, CloseCode, CloseInfo, ConnId, Event, ExitHint, Fatal, FrameKind, OutFrame,
    ReconnectDelay, Transmit, WarningKind,
};
pub use session::{CLOSE_NORMAL, ConnPhase, MAX_CHANNEL_NAME, MAX_TRACKED_CHANNELS, WsSession};
pub use stats::Stats;

#[doc(no_inline)]
pub use oddsfeed_model::ResumeState;
