//! [`WsClientConfig`] and its builder.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use oddsfeed_model::{ApiKey, ReceiveType};
use oddsfeed_session::ws::{WsConfig, WsFilters};
use tokio_tungstenite::tungstenite::http::Uri;

use super::error::WsError;
use super::tls::TlsMode;
use crate::state::{CursorStore, MemoryStore};
use crate::stats::FeedMetrics;

/// Default bound of the event queue between the connection driver and the application: 1024
/// events. See [`WsClient`](super::WsClient) for what the bound means for memory and backpressure.
pub const DEFAULT_EVENT_QUEUE: usize = 1024;
/// Default time allowed for TCP connect, TLS and the WebSocket handshake together: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default least time between two automatic saves of the resume cursors: 200 ms (docs/CLI.md `--state`).
pub const DEFAULT_SAVE_INTERVAL: Duration = Duration::from_millis(200);

/// Everything a [`WsClient`](super::WsClient) needs: where to connect, the session settings (API
/// key, channels, receive type, filters, limits, timings), TLS, where cursors are kept, and the
/// event queue bound.
///
/// Build it with [`WsClientConfig::builder`]. `Debug` never shows the API key.
///
/// ```
/// use oddsfeed::ws::{WsClientConfig, TlsMode};
/// use oddsfeed_model::{ApiKey, ReceiveType};
///
/// let config = WsClientConfig::builder("wss://v5.oddspapi.io/ws", ApiKey::new("KEY"))
///     .channels(["odds", "fixtures"])
///     .receive_type(ReceiveType::ZstdDict)
///     .once(true)
///     .build()?;
/// assert_eq!(config.url_for_logs(), "wss://v5.oddspapi.io/ws");
/// assert!(!format!("{config:?}").contains("KEY"));
/// # Ok::<(), oddsfeed::ws::WsError>(())
/// ```
#[derive(Clone)]
pub struct WsClientConfig {
    pub(crate) url: String,
    pub(crate) uri: Uri,
    pub(crate) session: WsConfig,
    pub(crate) tls: TlsMode,
    pub(crate) store: Arc<dyn CursorStore>,
    pub(crate) event_queue: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) save_interval: Option<Duration>,
    pub(crate) record: Option<PathBuf>,
    pub(crate) keep_book: bool,
    pub(crate) metrics: Option<Arc<FeedMetrics>>,
}

impl WsClientConfig {
    /// Starts a configuration for `url` (`ws://` or `wss://`) with `api_key` and every default:
    /// all channels, `zstd-dict`, no filters, reconnecting forever, system TLS roots, cursors in
    /// memory, a queue of [`DEFAULT_EVENT_QUEUE`] events.
    pub fn builder(url: impl Into<String>, api_key: ApiKey) -> WsClientConfigBuilder {
        WsClientConfigBuilder {
            url: url.into(),
            session: WsConfig::new(api_key),
            tls: TlsMode::default(),
            store: Arc::new(MemoryStore::new()),
            event_queue: DEFAULT_EVENT_QUEUE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            save_interval: Some(DEFAULT_SAVE_INTERVAL),
            record: None,
            keep_book: false,
            metrics: None,
        }
    }

    /// The URL as given.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The URL without user information, query or fragment: what logs and
    /// [`WsEvent::Connecting`](super::WsEvent::Connecting) show, so a credential put in the
    /// URL never reaches a log.
    #[must_use]
    pub fn url_for_logs(&self) -> String {
        redact_uri(&self.uri)
    }

    /// Whether the URL is `wss://`.
    #[must_use]
    pub fn is_tls(&self) -> bool {
        self.uri.scheme_str() == Some("wss")
    }

    /// The session settings.
    #[must_use]
    pub fn session(&self) -> &WsConfig {
        &self.session
    }

    /// The TLS mode.
    #[must_use]
    pub fn tls(&self) -> &TlsMode {
        &self.tls
    }

    /// The cursor store.
    #[must_use]
    pub fn store(&self) -> &Arc<dyn CursorStore> {
        &self.store
    }

    /// The event queue bound.
    #[must_use]
    pub fn event_queue(&self) -> usize {
        self.event_queue
    }

    /// The connect timeout.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The automatic save interval (`None`: only explicit saves).
    #[must_use]
    pub fn save_interval(&self) -> Option<Duration> {
        self.save_interval
    }

    /// Where every frame received is recorded, if anywhere (see
    /// [`WsClientConfigBuilder::record`]).
    #[must_use]
    pub fn record_path(&self) -> Option<&Path> {
        self.record.as_deref()
    }

    /// Whether the client keeps the live book.
    #[must_use]
    pub fn keeps_book(&self) -> bool {
        self.keep_book
    }
}

impl fmt::Debug for WsClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsClientConfig")
            .field("url", &self.url_for_logs())
            .field("session", &self.session)
            .field("tls", &self.tls)
            .field("store", &self.store)
            .field("event_queue", &self.event_queue)
            .field("connect_timeout", &self.connect_timeout)
            .field("save_interval", &self.save_interval)
            .field("record", &self.record)
            .finish()
    }
}

/// Builder of a [`WsClientConfig`]; [`build`](Self::build) checks everything at once.
#[derive(Clone)]
#[must_use]
pub struct WsClientConfigBuilder {
    url: String,
    session: WsConfig,
    tls: TlsMode,
    store: Arc<dyn CursorStore>,
    event_queue: usize,
    connect_timeout: Duration,
    save_interval: Option<Duration>,
    record: Option<PathBuf>,
    keep_book: bool,
    metrics: Option<Arc<FeedMetrics>>,
}

impl fmt::Debug for WsClientConfigBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsClientConfigBuilder")
            .field("session", &self.session)
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

impl WsClientConfigBuilder {
    /// Channels to subscribe to (default: all the key may see).
    pub fn channels<I, S>(mut self, channels: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.session.channels = Some(channels.into_iter().map(Into::into).collect());
        self
    }

    /// The `receiveType` to ask for (default `zstd-dict`). The server may answer with another one;
    /// the client decodes what it answers.
    pub fn receive_type(mut self, receive_type: ReceiveType) -> Self {
        self.session.receive_type = receive_type;
        self
    }

    /// The login filters (sport, tournament, fixture, future ids, bookmakers, language, ...).
    pub fn filters(mut self, filters: WsFilters) -> Self {
        self.session.filters = filters;
        self
    }

    /// Run once (default `false`): never reconnect; the run ends when the server closes.
    pub fn once(mut self, once: bool) -> Self {
        self.session.once = once;
        self
    }

    /// Largest WebSocket message accepted, in bytes (default 4 MiB). The WebSocket layer refuses
    /// bigger ones before buffering them; the client then reports `frame_too_large` and reconnects
    /// with resume.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.session.max_frame = bytes;
        self
    }

    /// Largest decompressed frame, in bytes (default 64 MiB): the zstd-bomb bound.
    pub fn max_decompressed(mut self, bytes: usize) -> Self {
        self.session.max_decompressed = bytes;
        self
    }

    /// How long to wait for `login_ok` after connecting (default 10 s).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.session.login_timeout = timeout;
        self
    }

    /// Replaces the whole session configuration (timings, backoff policy, ...). The API key is the
    /// one in `session`.
    pub fn session_config(mut self, session: WsConfig) -> Self {
        self.session = session;
        self
    }

    /// Changes the session configuration in place.
    pub fn with_session(mut self, change: impl FnOnce(&mut WsConfig)) -> Self {
        change(&mut self.session);
        self
    }

    /// How `wss://` certificates are checked (default: against the system roots).
    pub fn tls(mut self, tls: TlsMode) -> Self {
        self.tls = tls;
        self
    }

    /// Where resume cursors are loaded from at start and saved to (default: in memory only).
    pub fn store(mut self, store: impl CursorStore + 'static) -> Self {
        self.store = Arc::new(store);
        self
    }

    /// As [`store`](Self::store), for a store the application keeps a handle to.
    pub fn shared_store(mut self, store: Arc<dyn CursorStore>) -> Self {
        self.store = store;
        self
    }

    /// Bound of the event queue (default [`DEFAULT_EVENT_QUEUE`]; at least 1).
    pub fn event_queue(mut self, events: usize) -> Self {
        self.event_queue = events;
        self
    }

    /// Time allowed for TCP connect, TLS and the WebSocket handshake (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Least time between automatic cursor saves (default 200 ms); `None` saves only when the
    /// application calls [`WsClient::save_state`](super::WsClient::save_state) or
    /// [`WsClient::close`](super::WsClient::close).
    pub fn save_interval(mut self, interval: Option<Duration>) -> Self {
        self.save_interval = interval;
        self
    }

    /// Records every frame the client receives, as received (text and binary, control and
    /// dictionary frames, zstd still compressed), with arrival times and connection numbers, to
    /// the file at `path` (created or truncated when the client connects). The format is
    /// `oddsfeed-record`'s (docs/RECORDING.md); [`WsReplay`](crate::replay::WsReplay) plays it
    /// back. A disk slower than the feed slows the reading of the socket down (nothing is
    /// dropped); a failed write switches recording off with a `record_failed` warning.
    pub fn record(mut self, path: impl Into<PathBuf>) -> Self {
        self.record = Some(path.into());
        self
    }

    /// Keeps the live book ([`WsClient::book`](super::WsClient::book)) for the application
    /// (default off). The book is applied as the application takes events, on its own
    /// thread, so reading it never waits for the driver.
    pub fn keep_book(mut self, on: bool) -> Self {
        self.keep_book = on;
        self
    }

    /// How much of each data message is decoded (default
    /// [`PayloadMode::Typed`](oddsfeed_model::ws::PayloadMode::Typed)).
    /// [`PayloadMode::Envelope`](oddsfeed_model::ws::PayloadMode::Envelope) reads only the
    /// envelope (`channel`, `type`, `ts`, `entryId`) and keeps `raw`, leaving the payload
    /// [`Unparsed`](oddsfeed_model::ws::Payload::Unparsed): less work per message for an
    /// application that uses only `raw` (a relay, a binding that builds its own objects).
    /// Invalid documents are refused exactly as in the typed mode; deduplication, resume and
    /// the counts are unchanged. Not with [`keep_book`](Self::keep_book), which needs typed
    /// payloads.
    pub fn payload_mode(mut self, mode: oddsfeed_model::ws::PayloadMode) -> Self {
        self.session.payload_mode = mode;
        self
    }

    /// Counts into `metrics` instead of a recorder of the client's own, so that the counts
    /// (and a metrics endpoint serving them) continue across clients: a relay that starts a new
    /// client after every NATS outage keeps one set of figures. The recorder must be of
    /// [`FeedKind::Ws`](crate::stats::FeedKind::Ws).
    pub fn metrics(mut self, metrics: Arc<FeedMetrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Checks every setting and builds the configuration.
    ///
    /// # Errors
    ///
    /// [`WsError::Config`] listing every problem: a URL that does not parse or is not `ws://`
    /// or `wss://`, an invalid session setting, a zero queue bound or connect timeout.
    pub fn build(self) -> Result<WsClientConfig, WsError> {
        let mut problems = Vec::new();
        let uri = match self.url.parse::<Uri>() {
            Ok(uri) => {
                match uri.scheme_str() {
                    Some("ws" | "wss") => {}
                    Some(other) => problems.push(format!(
                        "url: unsupported scheme {other:?} (use ws:// or wss://)"
                    )),
                    None => problems.push("url: no scheme (use ws:// or wss://)".to_owned()),
                }
                if uri.host().is_none_or(str::is_empty) {
                    problems.push("url: no host".to_owned());
                }
                Some(uri)
            }
            Err(e) => {
                problems.push(format!("url: {e}"));
                None
            }
        };
        if let Err(e) = self.session.validate() {
            problems.push(e.to_string());
        }
        if self.event_queue == 0 {
            problems.push("event_queue is 0".to_owned());
        }
        if self.keep_book && self.session.payload_mode != oddsfeed_model::ws::PayloadMode::Typed {
            problems.push(
                "keep_book needs payload_mode Typed (the book reads typed payloads)".to_owned(),
            );
        }
        if self.connect_timeout.is_zero() {
            problems.push("connect_timeout is 0".to_owned());
        }
        match uri {
            Some(uri) if problems.is_empty() => Ok(WsClientConfig {
                url: self.url,
                uri,
                session: self.session,
                tls: self.tls,
                store: self.store,
                event_queue: self.event_queue,
                connect_timeout: self.connect_timeout,
                save_interval: self.save_interval,
                record: self.record,
                keep_book: self.keep_book,
                metrics: self.metrics,
            }),
            _ => Err(WsError::Config(problems.join("; "))),
        }
    }
}

/// `scheme://host[:port]/path`, without user information, query or fragment.
pub(crate) fn redact_uri(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("ws");
    let host = uri.host().unwrap_or("");
    let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
    let path = uri.path();
    format!("{scheme}://{host}{port}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ApiKey {
        ApiKey::new("super-secret-key-123")
    }

    #[test]
    fn defaults() {
        let config = WsClientConfig::builder("ws://127.0.0.1:9000/ws", key()).build();
        let Ok(config) = config else {
            panic!("valid config refused: {config:?}");
        };
        assert_eq!(config.event_queue(), DEFAULT_EVENT_QUEUE);
        assert_eq!(config.connect_timeout(), Duration::from_secs(10));
        assert_eq!(config.save_interval(), Some(Duration::from_millis(200)));
        assert_eq!(config.session().receive_type, ReceiveType::ZstdDict);
        assert!(!config.session().once);
        assert!(!config.is_tls());
        assert!(config.tls().verifies());
    }

    #[test]
    fn payload_mode_defaults_to_typed_and_the_envelope_mode_refuses_a_book() {
        use oddsfeed_model::ws::PayloadMode;
        let url = "ws://127.0.0.1:9000/ws";
        let typed = WsClientConfig::builder(url, key()).build();
        assert!(matches!(typed, Ok(c) if c.session().payload_mode == PayloadMode::Typed));
        let envelope = WsClientConfig::builder(url, key())
            .payload_mode(PayloadMode::Envelope)
            .build();
        assert!(matches!(envelope, Ok(c) if c.session().payload_mode == PayloadMode::Envelope));
        let with_book = WsClientConfig::builder(url, key())
            .payload_mode(PayloadMode::Envelope)
            .keep_book(true)
            .build();
        assert!(
            matches!(&with_book, Err(WsError::Config(text)) if text.contains("keep_book")),
            "{with_book:?}"
        );
    }

    #[test]
    fn logged_url_drops_credentials_and_query() {
        let config =
            WsClientConfig::builder("wss://user:pw@feed.example:8443/ws?apiKey=abc#x", key())
                .build();
        let Ok(config) = config else {
            panic!("valid config refused: {config:?}");
        };
        assert_eq!(config.url_for_logs(), "wss://feed.example:8443/ws");
        assert!(config.is_tls());
        let debug = format!("{config:?}");
        assert!(!debug.contains("super-secret-key-123"), "{debug}");
        assert!(!debug.contains("apiKey=abc"), "{debug}");
        assert!(!debug.contains("pw@"), "{debug}");
    }

    #[test]
    fn build_lists_every_problem() {
        let err = WsClientConfig::builder("http://example.com/ws", ApiKey::new(""))
            .event_queue(0)
            .max_frame(0)
            .build();
        match err {
            Err(WsError::Config(text)) => {
                assert!(text.contains("url: unsupported scheme \"http\""), "{text}");
                assert!(text.contains("api_key is empty"), "{text}");
                assert!(text.contains("max_frame is 0"), "{text}");
                assert!(text.contains("event_queue is 0"), "{text}");
            }
            other => panic!("expected Config, got {other:?}"),
        }
        match WsClientConfig::builder("not a url", key()).build() {
            Err(WsError::Config(text)) => assert!(text.starts_with("url: "), "{text}"),
            other => panic!("expected Config, got {other:?}"),
        }
    }

    #[test]
    fn builder_sets_session_fields() {
        let config = WsClientConfig::builder("ws://h/ws", key())
            .channels(["odds", "scores"])
            .receive_type(ReceiveType::Binary)
            .once(true)
            .max_frame(1024)
            .max_decompressed(2048)
            .login_timeout(Duration::from_millis(300))
            .build();
        let Ok(config) = config else {
            panic!("valid config refused: {config:?}");
        };
        let s = config.session();
        assert_eq!(
            s.channels.as_deref(),
            Some(&["odds".to_owned(), "scores".to_owned()][..])
        );
        assert_eq!(s.receive_type, ReceiveType::Binary);
        assert!(s.once);
        assert_eq!((s.max_frame, s.max_decompressed), (1024, 2048));
        assert_eq!(s.login_timeout, Duration::from_millis(300));
    }
}
