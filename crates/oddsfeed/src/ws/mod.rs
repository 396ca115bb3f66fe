//! The OddsPapi-style WebSocket feed client (docs/PROTOCOL.md Part B) on tokio.
//!
//! [`WsClient::connect`] takes a [`WsClientConfig`] and spawns a driver task that owns the
//! sockets and runs the sans-IO [`WsSession`](oddsfeed_session::ws::WsSession): it connects
//! (`ws://`, or `wss://` with certificate verification, [`TlsMode`]), sends the login with the
//! resume cursors, feeds every frame and the clock to the session, sends what the session says
//! (login, Pings, closes), opens the overlapping connection a `reconnect` frame asks for, and
//! sleeps per the session's backoff (full jitter) before reconnecting. The application reads
//! [`WsEvent`]s with [`WsClient::next`].
//!
//! What it guarantees:
//!
//! - **Order and no duplicates.** Data messages come in feed order, deduplicated by entryId per
//!   channel across reconnects and `reconnect` overlaps.
//! - **No silent gaps.** After a reconnect, every channel the server could not replay is reported
//!   with a `snapshot_required` event (raised by the server or, docs/PROTOCOL.md B.9 step 8, by the
//!   client).
//! - **Cursors follow the application.** A message's entryId becomes the persisted cursor only
//!   once the application has received it; a [`CursorStore`](crate::state::CursorStore) keeps
//!   cursors across runs (the CLI's `--state` file is a [`FileStore`](crate::state::FileStore)).
//! - **Bounded memory.** WebSocket messages are refused above `max_frame` (reported as
//!   `frame_too_large`, then a resuming reconnect), decompression stops at `max_decompressed`, and
//!   the event queue is bounded (see [`WsClient`] on backpressure).
//! - **Secrets stay secret.** The API key is only ever written into the login frame; configs,
//!   events and errors print `***` or nothing.
//!
//! What it does not do: decide what a `snapshot_required` means for the application (re-fetch
//! the channels by REST), or persist anything but cursors.

mod client;
mod config;
mod driver;
mod error;
mod event;
mod fields;
mod tls;
mod transport;

pub(crate) use client::count_event;
pub use client::{ClientStats, WsClient};
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EVENT_QUEUE, DEFAULT_SAVE_INTERVAL, WsClientConfig,
    WsClientConfigBuilder,
};
pub use error::WsError;
pub use event::WsEvent;
pub use tls::TlsMode;

#[doc(no_inline)]
pub use oddsfeed_session::SessionError;
#[doc(no_inline)]
pub use oddsfeed_session::ws::{
    CloseCode, CloseInfo, ConnId, DecodeError, DecodeErrorKind, Event, Stats, WarningKind,
    WsConfig, WsFilters,
};
#[doc(no_inline)]
/// Trust anchors for [`TlsMode::VerifyWithRoots`]: rustls' own type, re-exported so that a
/// program can verify a private CA's certificates without depending on rustls itself (the one
/// foreign type of this crate's API: wrapping it would only copy its constructors).
pub use rustls::RootCertStore;
