//! IMG Arena-style simulator: newline-delimited JSON over SSH, plain TCP or
//! stdio (docs/PROTOCOL.md Part A, docs/CLI.md `sim img`).
//!
//! What it does:
//! - generates a deterministic golf world from a seed ([`GolfWorld`]);
//! - per connection: the 10 s init deadline and `no init sent` notice, the
//!   `session initialized` response, the post-init snapshot (sport,
//!   competitions, events, market types, markets), heartbeats every
//!   [`ImgSimConfig::heartbeat_ms`] after init (also during long snapshots),
//!   `subscribe`/`unsubscribe` with filters, a `market_update` image of the
//!   subscribed markets and then live `market_update`, `settlement`,
//!   `remove_markets` and `market` pushes; responses echo `request_id`;
//! - the faults of docs/PROTOCOL.md A.9 ([`ImgFaults`]) and the `messages` budget;
//! - an 8 MiB outbound queue per connection: overflow sends `slow reader` and
//!   closes.
//!
//! What it deliberately does not do: rate limits, connection limits, or
//! recovery semantics beyond "a new connection gets a fresh image". Every
//! connection works on its own copy of the world, so prices seen by two
//! clients at once differ.
//!
//! Entry points: [`run_tcp`], [`run_stdio`] and [`run_ssh`]; [`serve_session`]
//! runs the protocol over any `AsyncRead`/`AsyncWrite` pair. The caller prints
//! the listen address.

mod config;
mod core;
mod error;
mod session;
mod ssh;
mod time;
mod world;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use config::{
    ImgFaults, ImgFilterKeys, ImgRequestNames, ImgSimConfig, SshRsaSignatures, WorldConfig,
};
pub use error::ImgSimError;
pub use session::{
    SessionEnd, SessionOptions, SessionReport, SimShared, serve_session, serve_session_with,
};
pub use ssh::{load_authorized_keys, load_host_key, parse_authorized_keys, run_ssh};
pub use time::format_publish_time;
pub use world::{
    Competition, Event, GolfWorld, MT_OUTRIGHT, MT_THREEBALL_HOLE, MT_TOP_5, MT_TWOBALL, Market,
    MarketStatus, MarketType, SPORT_ID, SPORT_NAME, Selection, Stage,
};

/// Serves the protocol over plain TCP (no authentication, for local use):
/// one session per accepted connection, until the listener fails.
///
/// Transient accept errors (aborted connections, file descriptor exhaustion)
/// are logged and retried after a short pause; any other accept error is
/// returned.
pub async fn run_tcp(listener: TcpListener, cfg: impl Into<Arc<ImgSimConfig>>) -> io::Result<()> {
    let cfg = cfg.into();
    let shared = Arc::new(SimShared::new(&cfg));
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "set_nodelay failed");
                }
                let cfg = Arc::clone(&cfg);
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    let (reader, writer) = stream.into_split();
                    let report = serve_session(reader, writer, cfg, shared).await;
                    tracing::debug!(%peer, end = ?report.end, pushes = report.pushes, "img tcp session over");
                });
            }
            Err(error) if is_transient_accept_error(&error) => {
                tracing::warn!(%error, "img tcp accept failed; retrying");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error),
        }
    }
}

fn is_transient_accept_error(e: &io::Error) -> bool {
    use io::ErrorKind::*;
    // EMFILE, ENFILE, ENOBUFS, ENOMEM: the next accept may succeed.
    matches!(
        e.kind(),
        ConnectionAborted
            | ConnectionReset
            | ConnectionRefused
            | Interrupted
            | WouldBlock
            | TimedOut
    ) || matches!(e.raw_os_error(), Some(12 | 23 | 24 | 105))
}

/// Serves one session on stdin/stdout, flushing after every line: the shape a
/// real `sshd` needs for a `ForceCommand`. Returns when the session is over.
///
/// Note that tokio reads stdin on a blocking thread that may outlive the
/// session; a binary should exit the process after this returns rather than
/// wait for the runtime to shut down.
pub async fn run_stdio(cfg: impl Into<Arc<ImgSimConfig>>) -> io::Result<()> {
    let cfg = cfg.into();
    let shared = Arc::new(SimShared::new(&cfg));
    let opts = SessionOptions {
        flush_each_line: true,
        ..SessionOptions::default()
    };
    let report =
        serve_session_with(tokio::io::stdin(), tokio::io::stdout(), cfg, shared, opts).await;
    tracing::debug!(end = ?report.end, pushes = report.pushes, "img stdio session over");
    Ok(())
}
