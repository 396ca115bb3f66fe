//! Tokio clients for real-time sports-odds feeds, with resume and reconnect.
//!
//! This is the crate application teams use. It drives the sans-IO session state machines of
//! [`session`] over real sockets:
//!
//! - [`ws`]: the OddsPapi-style WebSocket feed (PROTOCOL.md Part B): API-key login, channels and
//!   filters, the four receive types (`json`, `binary` = MessagePack, `zstd`, `zstd-dict` with
//!   server-pushed dictionaries), resume cursors across reconnects, `snapshot_required`,
//!   `reconnect` overlaps, TLS with certificate verification.
//! - [`img`]: the IMG Arena-style newline-JSON feed over SSH (PROTOCOL.md Part A): host-key
//!   verification, public-key authentication, `init` and standing requests re-sent on every
//!   reconnect, responses correlated with their requests, heartbeat health.
//! - [`state`]: where resume cursors live between runs ([`state::FileStore`] is the CLI's
//!   `--state` file, written atomically).
//!
//! What it deliberately does not do: parse or decompress anything itself (that is
//! [`session`], [`zstd`] and [`model`]), decide how to rebuild state after a
//! `snapshot_required` (the application re-fetches by REST), or log secrets (API keys and key
//! paths never appear in logs, events, errors or `Debug` output).
//!
//! # Layers
//!
//! Data flows one way: [`wire`] (framing) → [`zstd`] (decompression with a dictionary store) →
//! [`model`] (typed messages, unknown kept raw) → [`session`] (sans-IO protocol state machines)
//! → this crate (tokio, sockets, TLS, timers). The lower layers are re-exported so one
//! dependency is enough.
//!
//! # Example
//!
//! ```no_run
//! use oddsfeed::state::FileStore;
//! use oddsfeed::ws::{ClientEvent, WsClient, WsClientConfig};
//! use oddsfeed::model::ApiKey;
//!
//! # async fn run() -> Result<(), oddsfeed::ws::ClientError> {
//! let config = WsClientConfig::builder("wss://v5.oddspapi.io/ws", ApiKey::new("KEY"))
//!     .channels(["odds", "fixtures", "scores"])
//!     .store(FileStore::new("oddsfeed-state.json"))
//!     .build()?;
//! let mut client = WsClient::connect(config)?;
//! while let Some(event) = client.next().await {
//!     match event {
//!         ClientEvent::Data(msg) => println!("{}", msg.raw),
//!         ClientEvent::Fatal(error) => return Err(error),
//!         other => eprintln!("event: {}", other.name()),
//!     }
//! }
//! client.close().await
//! # }
//! ```

pub mod img;
pub mod jsonl;
pub mod state;
pub mod ws;

pub use oddsfeed_model as model;
pub use oddsfeed_session as session;
pub use oddsfeed_wire as wire;
pub use oddsfeed_zstd as zstd;
