//! [`ImgClientConfig`]: where to connect, how to authenticate, what to send, and the limits.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use oddsfeed_model::img::Request;
use oddsfeed_session::backoff::BackoffConfig;
use oddsfeed_session::img::ImgSessionConfig;

use super::error::ImgError;

/// Default [`ImgClientConfig::event_queue`]: 1024 events.
pub const DEFAULT_EVENT_QUEUE: usize = 1024;
/// Default [`ImgClientConfig::connect_timeout`]: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default [`ImgClientConfig::read_buffer`]: 64 KiB.
pub const DEFAULT_READ_BUFFER: usize = 64 << 10;

/// How the server's SSH host key is verified.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostKeyCheck {
    /// Against an OpenSSH `known_hosts` file (plain or hashed names, `[host]:port` entries for
    /// ports other than 22). An unknown or changed key is fatal.
    KnownHosts(PathBuf),
    /// Accept any key (dangerous: for test servers only).
    InsecureAcceptAny,
}

impl fmt::Debug for HostKeyCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KnownHosts(path) => f.debug_tuple("KnownHosts").field(path).finish(),
            Self::InsecureAcceptAny => f.write_str("InsecureAcceptAny"),
        }
    }
}

/// SSH connection settings.
///
/// `Debug` never shows the identity file's path (nor, of course, its contents).
#[derive(Clone, PartialEq, Eq)]
pub struct SshSettings {
    /// Server address, `HOST:PORT`.
    pub addr: String,
    /// User name agreed with the feed provider.
    pub user: String,
    /// OpenSSH private-key file (ed25519 or RSA, not passphrase-protected).
    pub identity: PathBuf,
    /// Host key verification.
    pub host_key_check: HostKeyCheck,
    /// Let an RSA identity sign with SHA-1 (`ssh-rsa`) when the server does not announce
    /// `rsa-sha2-512` or `rsa-sha2-256` in `server-sig-algs` (dangerous: SHA-1 signatures
    /// can be forged; for old servers only). Default `false`: such a server is refused with
    /// [`ImgError::WeakRsaSignature`](super::ImgError::WeakRsaSignature). When it is `true`
    /// and SHA-1 is used, the client emits [`ImgEvent::InsecureSha1Rsa`](super::ImgEvent)
    /// before `connected`. Ed25519 identities are never affected.
    pub insecure_allow_sha1_rsa: bool,
}

impl fmt::Debug for SshSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshSettings")
            .field("addr", &self.addr)
            .field("user", &self.user)
            .field("identity", &"<redacted>")
            .field("host_key_check", &self.host_key_check)
            .field("insecure_allow_sha1_rsa", &self.insecure_allow_sha1_rsa)
            .finish()
    }
}

/// How to reach the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Transport {
    /// Plain TCP, no authentication (local simulators only).
    Tcp {
        /// Server address, `HOST:PORT`.
        addr: String,
    },
    /// SSH with public-key authentication, one `session` channel running a `shell` without a
    /// PTY (docs/PROTOCOL.md A.1).
    Ssh(SshSettings),
}

impl Transport {
    /// The server address, `HOST:PORT`.
    #[must_use]
    pub fn addr(&self) -> &str {
        match self {
            Self::Tcp { addr } => addr,
            Self::Ssh(ssh) => &ssh.addr,
        }
    }
}

/// Everything an [`ImgClient`](super::ImgClient) needs. Build it with
/// [`ImgClientConfig::builder`], as [`WsClientConfig`](crate::ws::WsClientConfig) is built.
///
/// ```
/// use oddsfeed::img::{ImgClientConfig, Transport};
/// use oddsfeed::model::img::{Request, SubscriptionFilter};
///
/// let filter = SubscriptionFilter { event_ids: Some(vec!["ev.1".into()]), ..Default::default() };
/// let config = ImgClientConfig::builder(Transport::Tcp { addr: "127.0.0.1:2093".into() })
///     .include_finished(true)
///     .request(Request::subscribe(&filter))
///     .once(true)
///     .build()?;
/// assert!(config.session().once);
/// assert_eq!(config.requests().len(), 1);
/// # Ok::<(), oddsfeed::img::ImgError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ImgClientConfig {
    /// Where and how to connect.
    pub(crate) transport: Transport,
    /// The session's rules and limits (include_finished, timeouts, `once`, ...).
    pub(crate) session: ImgSessionConfig,
    /// Standing requests: sent after `init` on every connection, in order.
    pub(crate) requests: Vec<Request>,
    /// Capacity of the queue between the driver and the application.
    pub(crate) event_queue: usize,
    /// How long one connection attempt may take.
    pub(crate) connect_timeout: Duration,
    /// Reconnect backoff.
    pub(crate) backoff: BackoffConfig,
    /// Size of one socket read, in bytes.
    pub(crate) read_buffer: usize,
    /// Whether heartbeat pushes count as messages in the stats and metrics.
    pub(crate) count_heartbeats: bool,
    /// Where every line received is recorded, if anywhere.
    pub(crate) record: Option<PathBuf>,
    /// Keep the live book for the application.
    pub(crate) keep_book: bool,
}

impl ImgClientConfig {
    /// A builder with defaults for everything but the transport.
    pub fn builder(transport: Transport) -> ImgClientConfigBuilder {
        ImgClientConfigBuilder {
            config: Self {
                transport,
                session: ImgSessionConfig::default(),
                requests: Vec::new(),
                event_queue: DEFAULT_EVENT_QUEUE,
                connect_timeout: DEFAULT_CONNECT_TIMEOUT,
                backoff: BackoffConfig::default(),
                read_buffer: DEFAULT_READ_BUFFER,
                count_heartbeats: false,
                record: None,
                keep_book: false,
            },
        }
    }

    /// Where and how to connect.
    #[must_use]
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// The session's rules and limits.
    #[must_use]
    pub fn session(&self) -> &ImgSessionConfig {
        &self.session
    }

    /// The standing requests, in the order they are sent after `init`.
    #[must_use]
    pub fn requests(&self) -> &[Request] {
        &self.requests
    }

    /// Capacity of the queue between the driver and [`ImgClient::next`](super::ImgClient::next).
    #[must_use]
    pub fn event_queue(&self) -> usize {
        self.event_queue
    }

    /// How long one connection attempt may take.
    #[must_use]
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The reconnect backoff policy.
    #[must_use]
    pub fn backoff(&self) -> &BackoffConfig {
        &self.backoff
    }

    /// Size of one socket read, in bytes.
    #[must_use]
    pub fn read_buffer(&self) -> usize {
        self.read_buffer
    }

    /// Whether heartbeat pushes count as messages in the stats and metrics.
    #[must_use]
    pub fn counts_heartbeats(&self) -> bool {
        self.count_heartbeats
    }

    /// The recording file, if the client records.
    #[must_use]
    pub fn record_path(&self) -> Option<&std::path::Path> {
        self.record.as_deref()
    }

    /// Whether the client keeps the live book.
    #[must_use]
    pub fn keeps_book(&self) -> bool {
        self.keep_book
    }

    /// Checks the values that would make the client misbehave; names the first bad field.
    ///
    /// # Errors
    ///
    /// [`ImgError::Config`](super::ImgError::Config).
    pub fn validate(&self) -> Result<(), super::ImgError> {
        let bad = |what: &str| Err(super::ImgError::Config(what.to_owned()));
        if self.event_queue == 0 {
            return bad("event_queue must be at least 1");
        }
        if self.read_buffer == 0 {
            return bad("read_buffer must be at least 1");
        }
        if self.session.max_line == 0 {
            return bad("session.max_line must be at least 1");
        }
        if let Transport::Ssh(ssh) = &self.transport
            && ssh.user.is_empty()
        {
            return bad("the SSH user name is empty");
        }
        split_host_port(self.transport.addr())?;
        Ok(())
    }
}

/// Builds an [`ImgClientConfig`]; [`build`](Self::build) checks it. Made by
/// [`ImgClientConfig::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct ImgClientConfigBuilder {
    config: ImgClientConfig,
}

impl ImgClientConfigBuilder {
    /// Adds a standing request (sent after `init` on every connection, in the order added).
    pub fn request(mut self, request: Request) -> Self {
        self.config.requests.push(request);
        self
    }

    /// Asks for finished events too (`init` with `{"include_finished":true}`). Default false.
    pub fn include_finished(mut self, on: bool) -> Self {
        self.config.session.include_finished = on;
        self
    }

    /// Runs one connection only: when it ends, the client finishes instead of reconnecting.
    pub fn once(mut self, on: bool) -> Self {
        self.config.session.once = on;
        self
    }

    /// Replaces the session configuration (timeouts, limits).
    pub fn session_config(mut self, session: ImgSessionConfig) -> Self {
        self.config.session = session;
        self
    }

    /// Changes the session configuration in place, e.g. one timeout.
    pub fn with_session(mut self, change: impl FnOnce(&mut ImgSessionConfig)) -> Self {
        change(&mut self.config.session);
        self
    }

    /// Replaces the reconnect backoff (exponential from 500 ms, ×2, cap 30 s, full jitter, reset
    /// after 60 s connected).
    pub fn backoff(mut self, backoff: BackoffConfig) -> Self {
        self.config.backoff = backoff;
        self
    }

    /// Capacity of the queue between the driver and [`ImgClient::next`](super::ImgClient::next).
    /// When it is full the driver stops reading the connection (backpressure); the server may
    /// then disconnect with `slow reader`, which is reported. Default 1024.
    pub fn event_queue(mut self, events: usize) -> Self {
        self.config.event_queue = events;
        self
    }

    /// How long one connection attempt (TCP connect, SSH handshake, authentication, channel)
    /// may take. Default 10 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Size of one socket read, in bytes. Default 64 KiB.
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.config.read_buffer = bytes;
        self
    }

    /// Counts heartbeat pushes as messages in [`ImgClient::stats`](super::ImgClient::stats) and
    /// the metrics (the CLI sets it when `--heartbeats` prints them). Default false.
    pub fn count_heartbeats(mut self, on: bool) -> Self {
        self.config.count_heartbeats = on;
        self
    }

    /// Records every line the client receives (heartbeats included), as received, with arrival
    /// times and connection numbers, to the file at `path` (created or truncated at start). The
    /// format is `oddsfeed-record`'s (docs/RECORDING.md); [`ImgReplay`](crate::replay::ImgReplay)
    /// plays it back. Finish it with [`ImgClient::close`](super::ImgClient::close). A disk
    /// slower than the feed slows the reading of the connection down (nothing is dropped); a
    /// failed write switches recording off with an [`ImgEvent::RecordFailed`](super::ImgEvent::RecordFailed).
    pub fn record(mut self, path: impl Into<PathBuf>) -> Self {
        self.config.record = Some(path.into());
        self
    }

    /// Keeps the live book for the application (see [`ImgClient::book`](super::ImgClient::book)).
    /// Default off.
    pub fn keep_book(mut self, on: bool) -> Self {
        self.config.keep_book = on;
        self
    }

    /// The configuration, checked.
    ///
    /// # Errors
    ///
    /// [`ImgError::Config`](super::ImgError::Config) naming the first bad value.
    pub fn build(self) -> Result<ImgClientConfig, super::ImgError> {
        self.config.validate()?;
        Ok(self.config)
    }
}

/// Splits `HOST:PORT` (`[v6]:PORT` too) into its parts (here, beside the address it
/// checks, so that the configuration does not import the transport).
pub(crate) fn split_host_port(addr: &str) -> Result<(String, u16), ImgError> {
    let bad = || ImgError::Config(format!("address {addr:?} is not HOST:PORT"));
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(bad());
    }
    let port = port.parse::<u16>().map_err(|_| bad())?;
    Ok((host.to_owned(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_identity_path() {
        let transport = Transport::Ssh(SshSettings {
            addr: "127.0.0.1:22".into(),
            user: "feed".into(),
            identity: PathBuf::from("/secret/place/id_ed25519"),
            host_key_check: HostKeyCheck::InsecureAcceptAny,
            insecure_allow_sha1_rsa: false,
        });
        let config = ImgClientConfig::builder(transport).build().expect("valid");
        let text = format!("{config:?}");
        assert!(!text.contains("/secret/place"), "{text}");
        assert!(!text.contains("id_ed25519"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }

    #[test]
    fn validate_names_the_bad_field() {
        let tcp = |addr: &str| {
            ImgClientConfig::builder(Transport::Tcp {
                addr: addr.to_owned(),
            })
        };
        assert!(tcp("127.0.0.1:1").build().is_ok());
        assert_eq!(
            tcp("127.0.0.1:1").event_queue(0).build().err(),
            Some(super::super::ImgError::Config(
                "event_queue must be at least 1".into()
            ))
        );
        assert!(matches!(
            tcp("no-port").build(),
            Err(super::super::ImgError::Config(_))
        ));
    }

    #[test]
    fn host_port_forms() {
        assert_eq!(
            split_host_port("127.0.0.1:2093").ok(),
            Some(("127.0.0.1".into(), 2093))
        );
        assert_eq!(split_host_port("[::1]:22").ok(), Some(("::1".into(), 22)));
        assert_eq!(
            split_host_port("golf-odds-distribution.services.imgarena.com:2093").ok(),
            Some(("golf-odds-distribution.services.imgarena.com".into(), 2093))
        );
        for bad in ["nohost", ":22", "h:", "h:70000", "h:x"] {
            assert!(
                matches!(split_host_port(bad), Err(ImgError::Config(_))),
                "{bad} should be refused"
            );
        }
    }
}
