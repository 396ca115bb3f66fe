//! [`ImgSessionConfig`]: every timing, limit and protocol name the IMG session uses.

use std::time::Duration;

use crate::backoff::BackoffConfig;

/// Default [`ImgSessionConfig::heartbeat_stale_after`]: 10 s (docs/PROTOCOL.md A.6).
pub const DEFAULT_HEARTBEAT_STALE_AFTER: Duration = Duration::from_secs(10);
/// Default [`ImgSessionConfig::dead_after`]: 10 s (docs/PROTOCOL.md A.6).
pub const DEFAULT_DEAD_AFTER: Duration = Duration::from_secs(10);
/// Default [`ImgSessionConfig::init_response_timeout`]: 10 s (docs/PROTOCOL.md A.6).
pub const DEFAULT_INIT_RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ImgSessionConfig::max_outstanding`]: 1024 requests.
pub const DEFAULT_MAX_OUTSTANDING: usize = 1024;
/// Default [`ImgSessionConfig::rate_limit_floor`]: 10 s (docs/PROTOCOL.md A.7).
pub const DEFAULT_RATE_LIMIT_FLOOR: Duration = Duration::from_secs(10);

/// Names of the requests the session treats specially (docs/PROTOCOL.md A.4; all `[C]` except
/// `init`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RequestNames {
    /// The session start. Default `init`.
    pub init: String,
    /// Adds a subscription; sent through [`ImgSession::send_request`](super::ImgSession::send_request)
    /// it becomes standing (re-sent after every reconnect). Default `subscribe`.
    pub subscribe: String,
    /// Removes the standing subscriptions with an equal filter (`{}`: all of them).
    /// Default `unsubscribe`.
    pub unsubscribe: String,
}

impl Default for RequestNames {
    fn default() -> Self {
        Self {
            init: "init".to_owned(),
            subscribe: "subscribe".to_owned(),
            unsubscribe: "unsubscribe".to_owned(),
        }
    }
}

/// Configuration of an [`ImgSession`](super::ImgSession).
///
/// Every value is a documented default from docs/PROTOCOL.md Part A, never a hard-wired constant.
/// The struct is `#[non_exhaustive]`: start from [`ImgSessionConfig::default`] and change fields.
///
/// ```
/// use std::time::Duration;
/// use oddsfeed_session::img::ImgSessionConfig;
///
/// let mut config = ImgSessionConfig::default();
/// config.include_finished = true;
/// config.heartbeat_stale_after = Duration::from_millis(500);
/// assert_eq!(config.max_line, 4 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImgSessionConfig {
    /// Sent in every `init` as `{"include_finished":true}` (holds for the session and for
    /// every reconnect). Default `false` (`init` then carries `{}`).
    pub include_finished: bool,
    /// Whether `init` gets a `request_id` like every other request. Default `true`; the
    /// vendor's example omits it, and the init response matches in order anyway.
    pub tag_init: bool,
    /// More than this long without a heartbeat (counted from the init response, on arrival
    /// time) makes the feed stale: treat every market as suspended. Default 10 s.
    pub heartbeat_stale_after: Duration,
    /// This long without any byte from the server makes the connection dead: it is dropped
    /// and re-established. Default 10 s.
    pub dead_after: Duration,
    /// How long to wait for the init response after connecting before dropping the
    /// connection and reconnecting. Default 10 s.
    pub init_response_timeout: Duration,
    /// Longest line accepted from the server, in bytes, terminator excluded. Longer lines are
    /// discarded up to the next newline and reported as `line_too_long`. Bounds the memory a
    /// server that never sends a newline can make the client use. Default 4 MiB.
    pub max_line: usize,
    /// Most requests waiting for their response at once, and most standing or queued
    /// requests. Bounds the correlation table against an application that sends requests
    /// faster than the server answers. Default 1024.
    pub max_outstanding: usize,
    /// Least delay before reconnecting after `max connections hit` or `connection rate limit
    /// hit` (the jittered backoff is added on top). Default 10 s.
    pub rate_limit_floor: Duration,
    /// Run one connection only: when it ends, finish instead of reconnecting. Default `false`.
    pub once: bool,
    /// The reconnect backoff policy (500 ms ×2 up to 30 s, full jitter, reset after a
    /// connection that stayed up 60 s). The session owns the backoff and the reconnect deadline.
    pub backoff: BackoffConfig,
    /// Seed of the backoff jitter (the session draws no randomness of its own; the same seed
    /// gives the same delays). Default 0: a caller running several clients gives each its own
    /// seed (the facade takes a random one), or they would retry in lock-step.
    pub jitter_seed: u64,
    /// Request names (docs/PROTOCOL.md A.4).
    pub names: RequestNames,
    /// `status` of a successful init response. Default `session initialized`.
    pub init_status: String,
}

impl Default for ImgSessionConfig {
    fn default() -> Self {
        Self {
            include_finished: false,
            tag_init: true,
            heartbeat_stale_after: DEFAULT_HEARTBEAT_STALE_AFTER,
            dead_after: DEFAULT_DEAD_AFTER,
            init_response_timeout: DEFAULT_INIT_RESPONSE_TIMEOUT,
            max_line: oddsfeed_wire::DEFAULT_MAX_LINE,
            max_outstanding: DEFAULT_MAX_OUTSTANDING,
            rate_limit_floor: DEFAULT_RATE_LIMIT_FLOOR,
            once: false,
            backoff: BackoffConfig::default(),
            jitter_seed: 0,
            names: RequestNames::default(),
            init_status: "session initialized".to_owned(),
        }
    }
}
