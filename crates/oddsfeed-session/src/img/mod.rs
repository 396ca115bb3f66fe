//! Sans-IO session for the IMG-style newline-JSON feed (docs/PROTOCOL.md Part A).
//!
//! [`ImgSession`] turns the bytes of one connection at a time into [`Event`]s, the lines to
//! send and the next deadline. It does no I/O and never reads a clock: the driver passes `now`
//! into every input and sleeps until [`ImgSession::poll_timeout`] itself. It also does not
//! authenticate, verify host keys or draw random numbers: those belong to the transport and
//! the driver (the `oddsfeed` facade).
//!
//! What it does:
//! - sends `init` (with `include_finished`) at once after each connect, then every standing
//!   request in order, each tagged with a fresh `r<n>` `request_id` unless it has one;
//! - correlates responses by `request_id`, else with the oldest outstanding request, and warns
//!   about responses that match nothing (`unmatched_response`);
//! - tracks liveness on arrival time: `heartbeat_stale` / `heartbeat_ok` around the heartbeat
//!   clock (which starts at the init response), a dead connection after silence, a deadline for
//!   the init response;
//! - maps the server's disconnect notices to a reconnect policy (docs/PROTOCOL.md A.7);
//! - reports undecodable lines (`line_too_long`, `invalid_utf8`, `bad_json`, `wrong_shape`)
//!   and goes on; unknown objects are passed through raw.
//!
//! # How to drive it
//!
//! 1. On [`Action::OpenConnection`] (the first action of a new session), connect the
//!    transport, then call [`ImgSession::handle_connected`] (or
//!    [`ImgSession::handle_connect_failed`]).
//! 2. After **every** input (`handle_*`, [`ImgSession::send_request`],
//!    [`ImgSession::add_standing_request`]) drain, in this order:
//!    [`ImgSession::poll_transmit`] (write each line to the transport),
//!    [`ImgSession::poll_event`] (hand each event to the application),
//!    [`ImgSession::poll_action`] (a connection-level decision: [`Action::OpenConnection`]
//!    is step 1; on [`Action::Reconnect`], drop the transport: the session owns the backoff,
//!    its seeded jitter and the deadline, reported by [`ImgSession::scheduled_reconnect`], and
//!    asks for the next connection from [`ImgSession::handle_timeout`] when it passes; on
//!    [`Action::Stop`] or [`Action::Finished`], stop).
//! 3. Sleep until the earliest of [`ImgSession::poll_timeout`] and the next readable bytes;
//!    feed bytes with [`ImgSession::handle_bytes`], EOF with [`ImgSession::handle_closed`], a
//!    failed read or write with [`ImgSession::handle_transport_error`], and an expired deadline
//!    with [`ImgSession::handle_timeout`]. Go to step 2.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use oddsfeed_session::img::{Event, ImgSession, ImgSessionConfig};
//!
//! use oddsfeed_session::img::Action;
//!
//! let mut session = ImgSession::new(ImgSessionConfig::default());
//! let t0 = Instant::now();
//! assert_eq!(session.poll_action(), Some(Action::OpenConnection));
//! session.handle_connected(t0);
//! let init = session.poll_transmit().expect("init is queued at once");
//! assert_eq!(init, b"{\"request\":\"init\",\"msg\":{},\"request_id\":\"r1\"}\n".to_vec());
//!
//! let reply = b"{\"mode\":\"resp\",\"status\":\"session initialized\",\"session_id\":\"s-1\",\"request_id\":\"r1\"}\n";
//! session.handle_bytes(reply, t0 + Duration::from_millis(20));
//! assert!(matches!(session.poll_event(), Some(Event::Response { .. })));
//! match session.poll_event() {
//!     Some(Event::SessionInitialized { session_id, reconnect }) => {
//!         assert_eq!(session_id.as_deref(), Some("s-1"));
//!         assert!(!reconnect);
//!     }
//!     other => panic!("unexpected {other:?}"),
//! }
//! // No heartbeat for 10 s after the init response: the feed is stale.
//! let deadline = session.poll_timeout().expect("the heartbeat clock runs");
//! assert_eq!(deadline, t0 + Duration::from_millis(10_020));
//! ```

mod action;
mod config;
mod error;
mod event;
mod requests;
mod session;

pub use crate::common::{DecodeError, DecodeErrorKind};
pub use action::{Action, ExitHint, ReconnectDelay};
pub use config::{
    DEFAULT_DEAD_AFTER, DEFAULT_HEARTBEAT_STALE_AFTER, DEFAULT_INIT_RESPONSE_TIMEOUT,
    DEFAULT_MAX_OUTSTANDING, DEFAULT_RATE_LIMIT_FLOOR, ImgSessionConfig, RequestNames,
};
pub use error::ImgRequestError;
pub use event::{DisconnectedReason, Event};
pub use requests::RequestId;
pub use session::{ImgSession, Stats};
