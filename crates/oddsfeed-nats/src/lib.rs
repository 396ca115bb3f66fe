//! Fan-out of an oddsfeed WebSocket feed through NATS JetStream.
//!
//! The feeds cap connections per API key; a desk has many consumers. [`Relay`] holds the one
//! feed connection and publishes every data message and feed event into a JetStream stream,
//! exactly once: each data message carries `Nats-Msg-Id: <channel>:<entryId>` (JetStream drops a
//! repeat within the stream's 5-minute duplicate window), and the resume cursors live in the
//! key-value bucket `<stream>_cursors`, advanced only past acknowledged publishes and never
//! backwards. A relay killed at any moment, restarted here or elsewhere, or two relays running at
//! once, store every message once and in entryId order per channel. [`NatsStream`] reads the
//! stream back as the same typed messages the WebSocket client yields. docs/RELAY.md describes
//! deployments; docs/CLI.md the `oddsfeed relay` and `oddsfeed nats-tail` commands.
//!
//! This crate sits above the facade (`oddsfeed`): it drives a `WsClient` and adds tokio,
//! `async-nats` and JetStream semantics, which the feed client itself never needs.
//!
//! Modules: [`subject`] (subjects and message ids), [`cursors`] (the key-value cursor store),
//! [`relay`], [`consumer`], and [`testing`] (a real `nats-server` for tests and benchmarks).

pub mod consumer;
pub mod cursors;
mod error;
mod feed;
mod publisher;
pub mod relay;
pub mod subject;
pub mod testing;

pub use consumer::{NatsItem, NatsStream, NatsStreamConfig, Received};
pub use error::RelayError;
pub use relay::{Notice, Relay, RelayConfig};
