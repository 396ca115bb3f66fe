//! [`WsConfig`]: everything a WebSocket session needs to know before it starts.

use std::time::Duration;

use oddsfeed_model::ws::PayloadMode;
use oddsfeed_model::{ApiKey, ReceiveType};

use crate::backoff::BackoffConfig;
use crate::error::SessionError;

/// Default bound on one WebSocket message: 4 MiB (docs/PROTOCOL.md B.12).
pub const DEFAULT_MAX_FRAME: usize = oddsfeed_wire::ws::DEFAULT_MAX_FRAME;
/// Default bound on one decompressed zstd frame: 64 MiB (docs/PROTOCOL.md B.5).
pub const DEFAULT_MAX_DECOMPRESSED: usize = oddsfeed_zstd::DEFAULT_MAX_DECOMPRESSED;
/// Default wait for `login_ok` after connecting: 10 s (docs/PROTOCOL.md B.10).
pub const DEFAULT_LOGIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Default silence after which the client sends a Ping: 15 s (docs/PROTOCOL.md B.10).
pub const DEFAULT_PING_AFTER_IDLE: Duration = Duration::from_secs(15);
/// Default silence after which a connection is dead: 30 s (docs/PROTOCOL.md B.10).
pub const DEFAULT_DEAD_AFTER: Duration = Duration::from_secs(30);
/// Default least wait after "too many connections" (close 4003): 10 s (docs/PROTOCOL.md B.11).
pub const DEFAULT_TOO_MANY_CONNECTIONS_FLOOR: Duration = Duration::from_secs(10);

/// Longest accepted timer setting (`login_timeout`, `ping_after_idle`, `dead_after`,
/// `too_many_connections_floor`): one day. Longer values are configuration mistakes, and the bound
/// keeps deadline arithmetic far from `Instant` overflow.
pub const MAX_TIMER: Duration = Duration::from_secs(24 * 60 * 60);

/// The login filters (docs/PROTOCOL.md B.3). `None` leaves a field out of the login; the server then
/// applies its default (no restriction, `lang` `en`, both pregame and live).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsFilters {
    /// `sportIds`.
    pub sport_ids: Option<Vec<u64>>,
    /// `tournamentIds`.
    pub tournament_ids: Option<Vec<u64>>,
    /// `fixtureIds` (opaque strings).
    pub fixture_ids: Option<Vec<String>>,
    /// `futureIds` (opaque strings).
    pub future_ids: Option<Vec<String>>,
    /// `bookmakers`.
    pub bookmakers: Option<Vec<String>>,
    /// `lang`.
    pub lang: Option<String>,
    /// `clientName`.
    pub client_name: Option<String>,
    /// `pregame` (`false` excludes pregame data).
    pub pregame: Option<bool>,
    /// `live` (`false` excludes live data).
    pub live: Option<bool>,
}

/// Configuration of a [`WsSession`](super::WsSession).
///
/// `Debug` never shows the API key (it prints `***`).
#[derive(Debug, Clone, PartialEq)]
pub struct WsConfig {
    /// The API key sent in every login; never logged.
    pub api_key: ApiKey,
    /// Channels to ask for; `None` asks for all the key may see.
    pub channels: Option<Vec<String>>,
    /// The requested `receiveType` (default `zstd-dict`). The decoder follows what `login_ok`
    /// answers, never this.
    pub receive_type: ReceiveType,
    /// Login filters.
    pub filters: WsFilters,
    /// Largest WebSocket message accepted, in bytes (default [`DEFAULT_MAX_FRAME`], 4 MiB). Bigger
    /// ones are reported (`frame_too_large`) and skipped. Configure the WebSocket library with the
    /// same bound so it never buffers more.
    pub max_frame: usize,
    /// Largest decompressed zstd frame, in bytes (default [`DEFAULT_MAX_DECOMPRESSED`], 64 MiB).
    /// The feed's frames carry no content size, so this is what stops a "zstd bomb"; memory for it
    /// is only used when a frame really needs it.
    pub max_decompressed: usize,
    /// Most values and keys one document may hold (default
    /// [`DEFAULT_MAX_NODES`](oddsfeed_model::ws::DEFAULT_MAX_NODES), 1,048,576). A denser document
    /// is reported (`too_complex`) and skipped before it is parsed: parser memory follows the
    /// number of nodes, so this is what bounds it for a dense document that is small enough to
    /// pass `max_decompressed`.
    pub max_nodes: usize,
    /// How much of each data message is decoded (default [`PayloadMode::Typed`]: the payload
    /// is typed by channel). [`PayloadMode::Envelope`] reads only the envelope (`channel`,
    /// `type`, `ts`, `entryId`, `raw`: all the session needs for deduplication, resume and
    /// its counts) and leaves the payload [`Unparsed`](oddsfeed_model::ws::Payload::Unparsed),
    /// for front ends that use only `raw`; documents are checked and refused exactly as in the
    /// typed mode.
    pub payload_mode: PayloadMode,
    /// How long to wait for `login_ok` after connecting (default 10 s); then the connection is
    /// dropped and the session reconnects with backoff.
    pub login_timeout: Duration,
    /// Silence after which a Ping is sent (default 15 s). Any incoming frame counts as life.
    pub ping_after_idle: Duration,
    /// Silence after which the connection is dead (default 30 s): dropped, then a resuming
    /// reconnect.
    pub dead_after: Duration,
    /// Least wait before reconnecting after "too many connections" (close 4003; default 10 s).
    pub too_many_connections_floor: Duration,
    /// The reconnect backoff policy (500 ms ×2 up to 30 s, full jitter, reset after 60 s up).
    pub backoff: BackoffConfig,
    /// Seed of the backoff jitter (the session draws no randomness of its own; the same seed gives
    /// the same delays). Default 0: a caller running several clients gives each its own seed
    /// (the facade takes a random one), or they would retry in lock-step.
    pub jitter_seed: u64,
    /// Run once: never open a second connection. A server close ends the run
    /// ([`Action::Finished`](super::Action::Finished)); the `reconnect` frame only produces an event.
    pub once: bool,
}

impl WsConfig {
    /// A configuration with every default: all channels, `zstd-dict`, no filters.
    #[must_use]
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            channels: None,
            receive_type: ReceiveType::ZstdDict,
            filters: WsFilters::default(),
            max_frame: DEFAULT_MAX_FRAME,
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            max_nodes: oddsfeed_model::ws::DEFAULT_MAX_NODES,
            payload_mode: PayloadMode::Typed,
            login_timeout: DEFAULT_LOGIN_TIMEOUT,
            ping_after_idle: DEFAULT_PING_AFTER_IDLE,
            dead_after: DEFAULT_DEAD_AFTER,
            too_many_connections_floor: DEFAULT_TOO_MANY_CONNECTIONS_FLOOR,
            backoff: BackoffConfig::default(),
            jitter_seed: 0,
            once: false,
        }
    }

    /// Checks the values, reporting every problem at once.
    ///
    /// # Errors
    ///
    /// [`SessionError::Config`] naming each bad field: an empty API key, a zero `max_frame`,
    /// `max_decompressed`, `login_timeout`, `ping_after_idle` or `dead_after`, a timer above
    /// [`MAX_TIMER`], or an empty channel list.
    pub fn validate(&self) -> Result<(), SessionError> {
        let mut problems = Vec::new();
        if self.api_key.is_empty() {
            problems.push("api_key is empty");
        }
        if self.channels.as_ref().is_some_and(Vec::is_empty) {
            problems.push("channels is an empty list (use None for all channels)");
        }
        if self.max_frame == 0 {
            problems.push("max_frame is 0");
        }
        if self.max_decompressed == 0 {
            problems.push("max_decompressed is 0");
        }
        if self.login_timeout.is_zero() {
            problems.push("login_timeout is 0");
        }
        if self.ping_after_idle.is_zero() {
            problems.push("ping_after_idle is 0");
        }
        if self.dead_after.is_zero() {
            problems.push("dead_after is 0");
        }
        let timers = [
            ("login_timeout", self.login_timeout),
            ("ping_after_idle", self.ping_after_idle),
            ("dead_after", self.dead_after),
            (
                "too_many_connections_floor",
                self.too_many_connections_floor,
            ),
        ];
        let too_long: Vec<String> = timers
            .iter()
            .filter(|(_, d)| *d > MAX_TIMER)
            .map(|(name, _)| format!("{name} is longer than one day"))
            .collect();
        let mut problems: Vec<String> = problems.into_iter().map(str::to_owned).collect();
        problems.extend(too_long);
        if problems.is_empty() {
            Ok(())
        } else {
            Err(SessionError::Config(problems.join("; ")))
        }
    }
}
