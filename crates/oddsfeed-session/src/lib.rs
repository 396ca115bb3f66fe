//! Sans-IO session state machines for the odds feeds: bytes and time in; frames to send, events
//! and deadlines out.
//!
//! What it does:
//!
//! - [`ws::WsSession`] runs the OddsPapi-style WebSocket protocol (docs/PROTOCOL.md Part B): builds the
//!   login (with resume cursors), follows the negotiated `receiveType`, stores zstd dictionaries,
//!   deduplicates by entryId, keeps resume cursors (delivered and consumed), handles `reconnect`
//!   overlaps, raises `snapshot_required` for gaps it cannot close, pings idle connections, detects
//!   dead ones, and maps close codes and `error` frames to "reconnect now / after backoff / stop".
//! - [`ws::FrameDecoder`] applies the B.5 decode rules to one whole WebSocket message (size bound,
//!   UTF-8, JSON documents, MessagePack, zstd with dictionaries and an output bound).
//! - [`img::ImgSession`] runs the IMG-style newline-JSON feed (docs/PROTOCOL.md Part A): `init`, standing
//!   requests, response correlation, heartbeat health and disconnect notices.
//! - [`backoff::Backoff`] is the reconnect policy both feeds share (500 ms ×2 up to 30 s, full
//!   jitter, reset after 60 s connected).
//!
//! What it deliberately does not do:
//!
//! - **No I/O and no clock.** No sockets, TLS, WebSocket handshake, tokio or `Instant::now()`. The
//!   caller passes every frame and the current `Instant`, and asks [`ws::WsSession::poll_timeout`]
//!   when to come back. Tests run in virtual time.
//! - **No randomness.** Backoff jitter comes from a seed in the configuration ([`backoff::Jitter`]);
//!   each session owns its reconnect deadline ([`backoff::ReconnectTimer`]).
//! - **No persistence.** [`ws::WsSession::resume_state`] says what to save; writing the file is the
//!   caller's job.
//! - **No fatal bad input.** A bad frame is reported, counted and skipped; only refusals of the
//!   credentials and client bugs stop a session ([`SessionError::is_fatal`]).
//!
//! # Example
//!
//! A virtual-time run against a hand-written server:
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oddsfeed_model::{ApiKey, ReceiveType, ResumeState};
//! use oddsfeed_session::ws::{Action, Event, FrameKind, OutFrame, WsConfig, WsSession};
//!
//! let mut config = WsConfig::new(ApiKey::new("secret"));
//! config.receive_type = ReceiveType::Json;
//! let mut session = WsSession::new(config, ResumeState::default());
//! let t0 = Instant::now(); // the test's clock; the session never reads one
//!
//! assert_eq!(session.poll_action(), Some(Action::OpenConnection));
//! let conn = session.handle_connected(t0);
//! let login = session.poll_transmit().expect("login");
//! assert!(matches!(login.frame, OutFrame::Text(ref t) if t.starts_with(r#"{"type":"login""#)));
//!
//! let ok = br#"{"type":"login_ok","receiveType":"json","resume":{"serverEpoch":"e1","replayChannels":["scores"]}}"#;
//! session.handle_frame(conn, FrameKind::Text, ok, t0 + Duration::from_millis(5));
//! let data = br#"{"channel":"scores","type":"UPDATE","payload":{},"ts":7,"entryId":"7-0"}"#;
//! session.handle_frame(conn, FrameKind::Text, data, t0 + Duration::from_millis(6));
//!
//! let names: Vec<&str> = std::iter::from_fn(|| session.poll_event()).map(|e| e.name()).collect();
//! assert_eq!(names, ["connected", "login_ok", "data"]);
//! assert_eq!(session.poll_timeout(), Some(t0 + Duration::from_millis(6) + Duration::from_secs(15)));
//! ```

pub mod backoff;
pub mod common;
mod decode_error;
mod error;
pub mod img;
pub mod ws;

pub use error::SessionError;
