//! Tokio clients for real-time sports-odds feeds, with resume and reconnect.
//!
//! This is the crate application teams use. It drives the sans-IO session state machines of
//! `oddsfeed-session` over real sockets:
//!
//! - [`ws`]: the OddsPapi-style WebSocket feed (docs/PROTOCOL.md Part B): API-key login, channels and
//!   filters, the four receive types (`json`, `binary` = MessagePack, `zstd`, `zstd-dict` with
//!   server-pushed dictionaries), resume cursors across reconnects, `snapshot_required`,
//!   `reconnect` overlaps, TLS with certificate verification.
//! - [`img`]: the IMG Arena-style newline-JSON feed over SSH (docs/PROTOCOL.md Part A): host-key
//!   verification, public-key authentication, `init` and standing requests re-sent on every
//!   reconnect, responses correlated with their requests, heartbeat health.
//! - [`stats`]: the counters and the lag histogram both clients keep (`stats()`); with the
//!   `prometheus` feature, `metrics` serves them in Prometheus text format.
//! - [`state`]: where resume cursors live between runs ([`state::FileStore`] is the CLI's
//!   `--state` file, written atomically).
//!
//! What it deliberately does not do: parse or decompress anything itself (that is
//! `oddsfeed-session`, `oddsfeed-zstd` and `oddsfeed-model`), decide how to rebuild state after a
//! `snapshot_required` (the application re-fetches by REST), or log secrets (API keys and key
//! paths never appear in logs, events, errors or `Debug` output).
//!
//! # Layers
//!
//! Data flows one way: `oddsfeed-wire` (framing) → `oddsfeed-zstd` (decompression with a
//! dictionary store) → `oddsfeed-model` (typed messages, unknown kept raw) → `oddsfeed-session`
//! (sans-IO protocol state machines) → this crate (tokio, sockets, TLS, timers).
//!
//! # Public surface
//!
//! This crate re-exports what an application needs to run either feed, so one dependency is
//! enough: the clients and their configurations ([`ws`], [`img`]), the shared event vocabulary
//! ([`health`], [`DecodeError`] and its [`DecodeErrorKind`], [`BackoffConfig`]), the messages
//! ([`model`]), where cursors live ([`state`]), the counters ([`stats`]), the live book
//! ([`book`]; the events apply themselves to it with `WsEvent::apply_to` / `ImgEvent::apply_to`) and recordings ([`recording`], [`replay`]). The lower layers'
//! internals (frame decoder, parsers, zstd contexts, framing) are not re-exported; a program
//! that needs them depends on those crates itself. [`errors`] names the lower layers' error
//! types a [`DecodeError::source`](std::error::Error::source) can be downcast to. The foreign
//! types in this API, and why, are listed in docs/ARCHITECTURE.md ("Public surface").
//!
//! # Example
//!
//! ```no_run
//! use oddsfeed::state::FileStore;
//! use oddsfeed::ws::{WsEvent, WsClient, WsClientConfig};
//! use oddsfeed::model::ApiKey;
//!
//! # async fn run() -> Result<(), oddsfeed::ws::WsError> {
//! let config = WsClientConfig::builder("wss://v5.oddspapi.io/ws", ApiKey::new("KEY"))
//!     .channels(["odds", "fixtures", "scores"])
//!     .store(FileStore::new("oddsfeed-state.json"))
//!     .build()?;
//! // Waits until the server accepted the login (a refused key is an error here).
//! let mut client = WsClient::connect(config).await?;
//! while let Some(event) = client.next().await {
//!     match event {
//!         WsEvent::Data(msg) => println!("{}", msg.raw),
//!         WsEvent::Health(health) => eprintln!("feed health: {}", health.name()),
//!         WsEvent::Fatal(error) => return Err(error),
//!         other => eprintln!("event: {}", other.name()),
//!     }
//! }
//! client.close().await
//! # }
//! ```
//!
//! The IMG client has the same shape ([`img::ImgClient::connect`], `next`, `into_stream`,
//! `close`); [`health`] says what a trading system should do in each health state.

mod clock;
mod cpu;
pub mod health;
pub mod img;
pub mod jsonl;
pub mod latency;
#[cfg(feature = "prometheus")]
pub mod metrics;
mod record;
pub mod replay;
pub mod state;
pub mod stats;
pub mod ws;

pub mod book;
pub mod model;
pub mod recording;

pub use oddsfeed_session::backoff::BackoffConfig;
pub use oddsfeed_session::common::{DecodeError, DecodeErrorKind, RAW_CAP};

/// The lower layers' error types, named so that a program can downcast a
/// [`DecodeError`]'s source (`error.source()?.downcast_ref::<ZstdError>()`) or match a
/// [`ws::SessionError`] it got from [`ws::WsError::Session`].
pub mod errors {
    pub use oddsfeed_model::ModelError;
    pub use oddsfeed_record::RecordError;
    pub use oddsfeed_session::common::FormatMismatch;
    pub use oddsfeed_wire::WireError;
    pub use oddsfeed_zstd::{DictRejection, ZstdError};
}
