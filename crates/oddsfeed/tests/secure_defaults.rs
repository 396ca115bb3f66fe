//! Secure defaults, seen from the server's side (issue "Reliability and security hardening",
//! item 4; docs/RELIABILITY.md "Secure defaults").
//!
//! The `wss://` tests put a recording TLS front in front of the real in-process simulator: it
//! taps every byte the client sends on the TCP connection, terminates TLS with a self-signed
//! certificate made by `rcgen`, and relays WebSocket messages both ways to `oddsfeed_sim::ws`,
//! noting each message the client sends. So the tests can say what reached the server:
//!
//! - with the default TLS mode the handshake fails, no WebSocket message (so no login) ever
//!   reaches the server, and the key never crossed the wire;
//! - with the certificate as a trusted root, or with verification switched off, the first and
//!   only message the server reads is the login, after the handshake, and the key crossed the
//!   wire only inside TLS;
//! - trusted roots do not switch off the other checks: a name the certificate does not cover and
//!   an expired certificate are still refused.
//!
//! The `Debug` tests pin that no configuration, session or event type prints the API key or the
//! SSH identity path. SSH host-key checking is pinned by `tests/img_ssh.rs` and the CLI's
//! `tests/img_cli.rs` (unknown, changed, known, hashed, insecure), not repeated here.
//! `tests/ws_tls.rs` covers the client-side outcome of the same TLS cases (fatal, not retried,
//! warning in insecure mode).

mod ws_common;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use oddsfeed::img::{HostKeyCheck, ImgClientConfig, SshSettings, Transport};
use oddsfeed::model::{ApiKey, ReceiveType, ResumeState};
use oddsfeed::ws::{TlsMode, WsClient, WsClientConfig, WsConfig, WsError, WsEvent};
use oddsfeed_model::ws::Login;
use oddsfeed_session::ws::WsSession;
use oddsfeed_sim::ws::{WsSimConfig, WsSimHandle};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;
use ws_common::*;

/// A key that is easy to search for in bytes, logs and `Debug` output.
const KEY: &str = "KEY-c0ffee-SECRET";

/// Data messages the simulator behind the TLS front sends before closing with 1000.
const MESSAGES: u64 = 30;

/// Guard against a hang; never an assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(10);

// ----- certificates ----------------------------------------------------------------------------

// ----- the recording TLS front -----------------------------------------------------------------

/// What the TLS front saw, over all its connections.
#[derive(Debug, Default)]
struct Seen {
    /// TCP connections accepted.
    accepted: usize,
    /// Server-side TLS handshake failures (the text of each).
    tls_failures: Vec<String>,
    /// TLS handshakes completed.
    handshakes: usize,
    /// Every text or binary WebSocket message the client sent, in order (binary ones as
    /// `<binary N bytes>`).
    messages: Vec<String>,
    /// Every byte the client sent on TCP, as it travelled (TLS records included).
    wire: Vec<u8>,
}

type Shared = Arc<Mutex<Seen>>;

fn lock(seen: &Shared) -> MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A TCP stream that copies every byte read from the client into [`Seen::wire`].
struct Tap {
    inner: TcpStream,
    seen: Shared,
}

impl AsyncRead for Tap {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &polled
            && let Some(new) = buf.filled().get(before..)
        {
            lock(&this.seen).wire.extend_from_slice(new);
        }
        polled
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A running TLS front and the simulator behind it.
struct Front {
    addr: SocketAddr,
    seen: Shared,
    sim: WsSimHandle,
}

impl Front {
    fn seen(&self) -> MutexGuard<'_, Seen> {
        lock(&self.seen)
    }

    /// Waits until the front has seen a failed or completed TLS handshake (the server side may
    /// notice a client's alert a moment after the client gave up).
    async fn settled(&self) {
        let start = Instant::now();
        loop {
            {
                let seen = self.seen();
                if !seen.tls_failures.is_empty() || seen.handshakes > 0 {
                    return;
                }
            }
            assert!(
                start.elapsed() < HANG_GUARD,
                "the TLS front never finished a handshake: {:?}",
                self.seen()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Starts the simulator (only [`KEY`] accepted, [`MESSAGES`] data messages) and a TLS front
/// with `cert` on a free loopback port.
async fn start_front(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> Front {
    let mut cfg: WsSimConfig = sim_config(MESSAGES);
    cfg.api_key = Some(KEY.to_owned());
    let sim = start_sim(cfg);
    let upstream = url(&sim);

    let (acceptor, listener, addr) = tls_listener(cert, key).await;
    let seen: Shared = Arc::default();
    let for_task = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            lock(&for_task).accepted += 1;
            let tap = Tap {
                inner: tcp,
                seen: Arc::clone(&for_task),
            };
            tokio::spawn(relay(
                acceptor.clone(),
                tap,
                upstream.clone(),
                Arc::clone(&for_task),
            ));
        }
    });
    Front { addr, seen, sim }
}

/// One connection of the front: TLS, the WebSocket handshake, then messages relayed both ways
/// between the client and the simulator, recording what the client sends.
async fn relay(acceptor: TlsAcceptor, tap: Tap, upstream: String, seen: Shared) {
    let tls = match acceptor.accept(tap).await {
        Ok(tls) => tls,
        Err(e) => {
            lock(&seen).tls_failures.push(e.to_string());
            return;
        }
    };
    lock(&seen).handshakes += 1;
    let Ok(client) = tokio_tungstenite::accept_async(tls).await else {
        return;
    };
    let Ok((server, _)) = tokio_tungstenite::connect_async(upstream).await else {
        return;
    };
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    let upward = async {
        while let Some(Ok(message)) = from_client.next().await {
            match &message {
                Message::Text(text) => lock(&seen).messages.push(text.as_str().to_owned()),
                Message::Binary(bytes) => lock(&seen)
                    .messages
                    .push(format!("<binary {} bytes>", bytes.len())),
                _ => {}
            }
            if to_server.send(message).await.is_err() {
                break;
            }
        }
    };
    let downward = async {
        while let Some(Ok(message)) = from_server.next().await {
            if to_client.send(message).await.is_err() {
                break;
            }
        }
    };
    tokio::join!(upward, downward);
}

fn wss_url(host: &str, front: &Front) -> String {
    format!("wss://{host}:{}/ws", front.addr.port())
}

fn wss_config(url: &str, tls: Option<TlsMode>) -> WsClientConfig {
    let mut builder = WsClientConfig::builder(url, ApiKey::new(KEY))
        .receive_type(ReceiveType::ZstdDict)
        .once(true);
    if let Some(tls) = tls {
        builder = builder.tls(tls);
    }
    builder.build().unwrap_or_else(|e| panic!("config: {e}"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The client's whole run against a front that must refuse it: the fatal TLS error.
async fn refused_run(config: WsClientConfig) -> WsError {
    let mut client = WsClient::start(config).unwrap_or_else(|e| panic!("connect: {e}"));
    let run = collect_all(&mut client, HANG_GUARD).await;
    assert!(
        run.data.is_empty(),
        "data arrived over a refused connection"
    );
    assert!(
        run.session_events("login_ok").is_empty(),
        "{:?}",
        run.names()
    );
    match run.events.into_iter().last() {
        Some(WsEvent::Fatal(error)) => error,
        other => panic!("expected a fatal TLS error, got {other:?}"),
    }
}

/// What the front must have seen when the client refused the certificate: a failed handshake,
/// no WebSocket message, and the key nowhere on the wire.
async fn assert_nothing_reached_the_server(front: &Front) {
    front.settled().await;
    let seen = front.seen();
    assert_eq!(seen.accepted, 1, "one TCP connection, not retried");
    assert_eq!(seen.handshakes, 0, "{seen:?}");
    assert_eq!(seen.tls_failures.len(), 1, "{seen:?}");
    assert!(
        seen.tls_failures[0].contains("alert"),
        "the client aborted the handshake with an alert: {:?}",
        seen.tls_failures
    );
    assert!(
        seen.messages.is_empty(),
        "the server read WebSocket messages: {:?}",
        seen.messages
    );
    assert!(!seen.wire.is_empty(), "the client did send a ClientHello");
    assert!(
        !contains(&seen.wire, KEY.as_bytes()),
        "the key crossed the wire"
    );
    assert!(
        !contains(&seen.wire, b"GET /ws"),
        "the HTTP upgrade crossed the wire in the clear"
    );
}

/// A run that must succeed: the data, and what the front saw.
async fn accepted_run(front: &Front, config: WsClientConfig) -> Run {
    let mut client = WsClient::start(config).unwrap_or_else(|e| panic!("connect: {e}"));
    let run = collect_all(&mut client, HANG_GUARD).await;
    assert!(run.finished, "{:?}", run.names());
    assert_eq!(run.data.len() as u64, MESSAGES);
    assert_matches_generator(SEED, &run.data);

    let seen = front.seen();
    assert_eq!(seen.handshakes, 1, "{seen:?}");
    assert!(seen.tls_failures.is_empty(), "{seen:?}");
    // The first and only message the server read is the login, with the key, after the
    // handshake (the front reads messages only from a finished TLS session).
    assert_eq!(seen.messages.len(), 1, "{:?}", seen.messages);
    let login = parse(&seen.messages[0]);
    assert_eq!(login["type"], "login");
    assert_eq!(login["apiKey"], KEY);
    assert_eq!(login["receiveType"], "zstd-dict");
    // On the wire the key travelled only encrypted.
    assert!(seen.wire.len() > seen.messages[0].len());
    assert!(
        !contains(&seen.wire, KEY.as_bytes()),
        "the key crossed the wire in the clear"
    );
    assert!(
        !contains(&seen.wire, b"\"login\""),
        "the login crossed the wire in the clear"
    );
    drop(seen);
    run
}

// ----- TLS ------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_tls_refuses_a_self_signed_certificate_before_any_login() {
    let (cert, key) = certificate(false);
    let front = start_front(cert, key).await;
    // No `.tls(..)`: the default must verify.
    let config = wss_config(&wss_url("localhost", &front), None);
    assert!(
        matches!(config.tls(), TlsMode::Verify),
        "{:?}",
        config.tls()
    );

    let error = match WsClient::start(config) {
        Ok(mut client) => {
            let run = collect_all(&mut client, HANG_GUARD).await;
            match run.events.into_iter().last() {
                Some(WsEvent::Fatal(error)) => error,
                other => panic!("expected a fatal TLS error, got {other:?}"),
            }
        }
        // A machine without system roots refuses before connecting at all.
        Err(error) => {
            assert!(
                error.to_string().contains("no system root certificates"),
                "{error}"
            );
            assert_eq!(front.seen().accepted, 0);
            return;
        }
    };
    assert!(matches!(error, WsError::Tls(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("server certificate rejected"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
    assert!(!text.contains(KEY), "{text}");
    assert!(!error.is_auth_refused());
    assert_nothing_reached_the_server(&front).await;
    assert_eq!(front.sim.stats().logins, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_certificate_as_a_trusted_root_connects_and_the_login_comes_first() {
    let (cert, key) = certificate(false);
    let tls = roots_with(&cert);
    let front = start_front(cert, key).await;
    let run = accepted_run(&front, wss_config(&wss_url("localhost", &front), Some(tls))).await;
    assert!(!run.names().contains(&"insecure_tls"), "{:?}", run.names());
    assert_eq!(front.sim.stats().logins, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_mode_connects_warns_and_still_sends_the_login_only_inside_tls() {
    let (cert, key) = certificate(false);
    let front = start_front(cert, key).await;
    let url = wss_url("localhost", &front);
    let run = accepted_run(&front, wss_config(&url, Some(TlsMode::InsecureNoVerify))).await;
    assert_eq!(run.names().first(), Some(&"insecure_tls"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_roots_still_check_the_host_name() {
    let (cert, key) = certificate(false);
    let tls = roots_with(&cert);
    let front = start_front(cert, key).await;
    // The certificate names `localhost`, not `127.0.0.1`.
    let error = refused_run(wss_config(&wss_url("127.0.0.1", &front), Some(tls))).await;
    assert!(matches!(error, WsError::Tls(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("server certificate rejected"), "{text}");
    assert!(text.contains("not valid for name \"127.0.0.1\""), "{text}");
    assert_nothing_reached_the_server(&front).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_roots_still_check_the_validity_period() {
    let (cert, key) = certificate(true);
    let tls = roots_with(&cert);
    let front = start_front(cert, key).await;
    let error = refused_run(wss_config(&wss_url("localhost", &front), Some(tls))).await;
    assert!(matches!(error, WsError::Tls(_)), "{error:?}");
    let text = error.to_string();
    assert!(text.contains("server certificate rejected"), "{text}");
    assert!(text.to_lowercase().contains("expired"), "{text}");
    assert_nothing_reached_the_server(&front).await;
}

// ----- Debug output ---------------------------------------------------------------------------

#[test]
fn no_websocket_config_or_login_debug_shows_the_key() {
    let url = format!("wss://user:{KEY}@feed.example:8443/ws?apiKey={KEY}#{KEY}");
    let builder = WsClientConfig::builder(url, ApiKey::new(KEY))
        .channels(["odds", "scores"])
        .tls(TlsMode::InsecureNoVerify);
    let builder_debug = format!("{builder:?} {builder:#?}");
    let config = builder.build().unwrap_or_else(|e| panic!("config: {e}"));
    assert_eq!(config.url_for_logs(), "wss://feed.example:8443/ws");
    assert_eq!(
        config.session().api_key.expose(),
        KEY,
        "the key is really in there"
    );

    let session_config: &WsConfig = config.session();
    let login = Login::new(ApiKey::new(KEY));
    assert!(
        login.to_wire_json().contains(KEY),
        "the wire form carries the key"
    );
    assert_eq!(login.redacted_json(), r#"{"type":"login","apiKey":"***"}"#);
    let texts = [
        builder_debug,
        format!("{config:?} {config:#?}"),
        format!("{session_config:?} {session_config:#?}"),
        format!("{login:?} {login:#?}"),
        login.redacted_json(),
        format!("{:?} {}", ApiKey::new(KEY), ApiKey::new(KEY)),
    ];
    for text in texts {
        assert!(!text.contains(KEY), "{text}");
        assert!(!text.contains("c0ffee"), "{text}");
    }
}

#[test]
fn a_session_holding_the_login_frame_never_debug_prints_it() {
    let config = WsClientConfig::builder("ws://127.0.0.1:9/ws", ApiKey::new(KEY))
        .build()
        .unwrap_or_else(|e| panic!("config: {e}"));
    let mut session = WsSession::new(config.session().clone(), ResumeState::default());
    let _ = session.handle_connected(Instant::now());
    // The login is queued inside the session now.
    let queued = format!("{session:?}");
    assert!(!queued.contains(KEY), "{queued}");
    let Some(transmit) = session.poll_transmit() else {
        panic!("no login queued after connecting");
    };
    let shown = format!("{transmit:?} {transmit:#?}");
    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
    let oddsfeed_session::ws::OutFrame::Text(text) = &transmit.frame else {
        panic!("the first frame is not the login: {transmit:?}");
    };
    assert!(text.contains(KEY), "the frame itself carries the key");
}

#[test]
fn the_simulator_config_debug_hides_its_key() {
    let mut cfg = WsSimConfig::default();
    cfg.api_key = Some(KEY.to_owned());
    let text = format!("{cfg:?} {cfg:#?}");
    assert!(!text.contains(KEY), "{text}");
}

#[test]
fn no_img_config_debug_shows_the_identity_path() {
    let identity = PathBuf::from("/home/feed/.ssh/id-SECRETNAME-ed25519");
    for check in [
        HostKeyCheck::KnownHosts(PathBuf::from("/home/feed/.ssh/known_hosts")),
        HostKeyCheck::InsecureAcceptAny,
    ] {
        let ssh = SshSettings {
            addr: "127.0.0.1:2222".into(),
            user: "feed".into(),
            identity: identity.clone(),
            host_key_check: check,
            insecure_allow_sha1_rsa: false,
        };
        let transport = Transport::Ssh(ssh.clone());
        let config = ImgClientConfig::builder(transport.clone())
            .build()
            .expect("valid config");
        let texts = [
            format!("{ssh:?} {ssh:#?}"),
            format!("{transport:?} {transport:#?}"),
            format!("{config:?} {config:#?}"),
        ];
        for text in texts {
            assert!(!text.contains("SECRETNAME"), "{text}");
            assert!(text.contains("<redacted>"), "{text}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_and_errors_of_a_failing_connection_never_show_the_key() {
    // Nobody listens on port 9 of the loopback: every attempt fails and is retried.
    let url = format!("ws://127.0.0.1:9/ws?apiKey={KEY}");
    let builder = client(&url, ReceiveType::Json).with_session(|s| s.api_key = ApiKey::new(KEY));
    let mut client = connect(builder);
    let (done, events) = events_until(&mut client, HANG_GUARD, |event| {
        matches!(event, WsEvent::Backoff { attempt: 2, .. })
    })
    .await;
    assert!(done.is_ok(), "{events:?}");
    let names: Vec<&str> = events.iter().map(WsEvent::name).collect();
    assert_eq!(
        names,
        [
            "connecting",
            "disconnected",
            "backoff",
            "connecting",
            "disconnected",
            "backoff"
        ]
    );
    let Some(WsEvent::Connecting { url: shown }) = events.first() else {
        panic!("{events:?}");
    };
    assert_eq!(shown, "ws://127.0.0.1:9/ws");
    let text = format!("{events:?} {client:?} {:?}", client.detailed_stats());
    assert!(!text.contains(KEY), "{text}");
}

// ----- the limits table -----------------------------------------------------------------------

/// The "## Limits and defaults" section of docs/RELIABILITY.md.
fn limits_section() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/RELIABILITY.md");
    let doc = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let Some((_, rest)) = doc.split_once("\n## Limits and defaults\n") else {
        panic!("docs/RELIABILITY.md has no \"## Limits and defaults\" section");
    };
    rest.split("\n## ").next().unwrap_or_default().to_owned()
}

#[test]
fn documented_limits_and_defaults() {
    use oddsfeed_session::{backoff, img as img_session, ws as ws_session};
    use oddsfeed_sim::img::ImgSimConfig;
    use {oddsfeed_model as model, oddsfeed_wire as wire, oddsfeed_zstd as zstd};

    const MIB: u64 = 1 << 20;
    const KIB: u64 = 1 << 10;
    let secs = Duration::from_secs;
    let ms = Duration::from_millis;
    let to_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let ws_sim = WsSimConfig::default();
    let img_sim = ImgSimConfig::default();

    // (name as the section writes it, value in the code, value the section states)
    let sizes: [(&str, u64, u64); 28] = [
        (
            "DEFAULT_MAX_FRAME",
            to_u64(wire::ws::DEFAULT_MAX_FRAME),
            4 * MIB,
        ),
        (
            "DEFAULT_MAX_FRAME",
            to_u64(ws_session::DEFAULT_MAX_FRAME),
            4 * MIB,
        ),
        (
            "DEFAULT_MAX_DECOMPRESSED",
            to_u64(zstd::DEFAULT_MAX_DECOMPRESSED),
            64 * MIB,
        ),
        (
            "DEFAULT_MAX_DECOMPRESSED",
            to_u64(ws_session::DEFAULT_MAX_DECOMPRESSED),
            64 * MIB,
        ),
        (
            "INITIAL_OUTPUT_CAPACITY",
            to_u64(zstd::INITIAL_OUTPUT_CAPACITY),
            64 * KIB,
        ),
        (
            "RETAINED_OUTPUT_CAPACITY",
            to_u64(zstd::RETAINED_OUTPUT_CAPACITY),
            4 * MIB,
        ),
        (
            "DEFAULT_WINDOW_LOG_MAX",
            u64::from(zstd::DEFAULT_WINDOW_LOG_MAX),
            27,
        ),
        ("MAX_DICT_SIZE", to_u64(zstd::MAX_DICT_SIZE), MIB),
        ("MAX_DICTS", to_u64(zstd::MAX_DICTS), 64),
        ("MAX_JSON_DEPTH", to_u64(model::ws::MAX_JSON_DEPTH), 127),
        ("RAW_CAP", to_u64(model::RAW_CAP), 4 * KIB),
        ("RAW_CAP", to_u64(wire::RAW_CAP), 4 * KIB),
        ("RAW_CAP", to_u64(ws_session::RAW_CAP), 4 * KIB),
        (
            "MAX_TRACKED_CHANNELS",
            to_u64(ws_session::MAX_TRACKED_CHANNELS),
            256,
        ),
        ("MAX_CHANNEL_NAME", to_u64(ws_session::MAX_CHANNEL_NAME), 64),
        (
            "DEFAULT_EVENT_QUEUE",
            to_u64(oddsfeed::ws::DEFAULT_EVENT_QUEUE),
            1024,
        ),
        ("MAX_STATE_FILE", oddsfeed::state::MAX_STATE_FILE, MIB),
        ("DEFAULT_MAX_LINE", to_u64(wire::DEFAULT_MAX_LINE), 4 * MIB),
        ("MAX_SEEN_PREFIX", to_u64(wire::MAX_SEEN_PREFIX), 256),
        (
            "DEFAULT_MAX_OUTSTANDING",
            to_u64(img_session::DEFAULT_MAX_OUTSTANDING),
            1024,
        ),
        (
            "DEFAULT_EVENT_QUEUE",
            to_u64(oddsfeed::img::DEFAULT_EVENT_QUEUE),
            1024,
        ),
        (
            "DEFAULT_READ_BUFFER",
            to_u64(oddsfeed::img::DEFAULT_READ_BUFFER),
            64 * KIB,
        ),
        (
            "outbound_queue_bytes",
            to_u64(ws_sim.outbound_queue_bytes),
            16 * MIB,
        ),
        (
            "replay_max_entries",
            to_u64(ws_sim.replay_max_entries),
            200_000,
        ),
        ("max_inbound", to_u64(ws_sim.max_inbound), MIB),
        (
            "MAX_DATA_FRAME",
            to_u64(oddsfeed_sim::encode::MAX_DATA_FRAME),
            4 * MIB,
        ),
        (
            "max_connections_per_key",
            to_u64(ws_sim.max_connections_per_key),
            5,
        ),
        (
            "max_outbound_bytes",
            to_u64(img_sim.max_outbound_bytes),
            8 * MIB,
        ),
    ];
    let more_sizes: [(&str, u64, u64); 5] = [
        ("max_line_bytes", to_u64(img_sim.max_line_bytes), 4 * MIB),
        (
            "pace_watermark_bytes",
            to_u64(img_sim.pace_watermark_bytes),
            64 * KIB,
        ),
        ("replay_window_ms", ws_sim.replay_window_ms, 60_000),
        ("heartbeat_ms", img_sim.heartbeat_ms, 3000),
        (
            "DEFAULT_MULTIPLIER",
            u64::from(backoff::DEFAULT_MULTIPLIER),
            2,
        ),
    ];
    let times: [(&str, Duration, Duration); 22] = [
        (
            "DEFAULT_CONNECT_TIMEOUT",
            oddsfeed::ws::DEFAULT_CONNECT_TIMEOUT,
            secs(10),
        ),
        (
            "DEFAULT_LOGIN_TIMEOUT",
            ws_session::DEFAULT_LOGIN_TIMEOUT,
            secs(10),
        ),
        (
            "DEFAULT_PING_AFTER_IDLE",
            ws_session::DEFAULT_PING_AFTER_IDLE,
            secs(15),
        ),
        (
            "DEFAULT_DEAD_AFTER",
            ws_session::DEFAULT_DEAD_AFTER,
            secs(30),
        ),
        (
            "DEFAULT_TOO_MANY_CONNECTIONS_FLOOR",
            ws_session::DEFAULT_TOO_MANY_CONNECTIONS_FLOOR,
            secs(10),
        ),
        ("MAX_TIMER", ws_session::MAX_TIMER, secs(86_400)),
        (
            "DEFAULT_SAVE_INTERVAL",
            oddsfeed::ws::DEFAULT_SAVE_INTERVAL,
            ms(200),
        ),
        (
            "DEFAULT_CONNECT_TIMEOUT",
            oddsfeed::img::DEFAULT_CONNECT_TIMEOUT,
            secs(10),
        ),
        (
            "DEFAULT_HEARTBEAT_STALE_AFTER",
            img_session::DEFAULT_HEARTBEAT_STALE_AFTER,
            secs(10),
        ),
        (
            "DEFAULT_DEAD_AFTER",
            img_session::DEFAULT_DEAD_AFTER,
            secs(10),
        ),
        (
            "DEFAULT_INIT_RESPONSE_TIMEOUT",
            img_session::DEFAULT_INIT_RESPONSE_TIMEOUT,
            secs(10),
        ),
        (
            "DEFAULT_RATE_LIMIT_FLOOR",
            img_session::DEFAULT_RATE_LIMIT_FLOOR,
            secs(10),
        ),
        ("DEFAULT_INITIAL", backoff::DEFAULT_INITIAL, ms(500)),
        ("DEFAULT_MAX", backoff::DEFAULT_MAX, secs(30)),
        (
            "DEFAULT_RESET_AFTER",
            backoff::DEFAULT_RESET_AFTER,
            secs(60),
        ),
        ("login_timeout", ws_sim.login_timeout, secs(10)),
        ("ping_interval", ws_sim.ping_interval, secs(15)),
        ("idle_timeout", ws_sim.idle_timeout, secs(45)),
        ("reconnect_grace", ws_sim.reconnect_grace, secs(3)),
        ("close_grace", img_sim.close_grace, secs(5)),
        ("init_deadline", img_sim.init_deadline, secs(10)),
        ("update_interval", img_sim.update_interval, ms(20)),
    ];

    let section = limits_section();
    let mut unnamed = Vec::new();
    for (name, actual, stated) in sizes.iter().chain(&more_sizes) {
        assert_eq!(actual, stated, "{name} changed: update docs/RELIABILITY.md");
        if !section.contains(name) {
            unnamed.push(*name);
        }
    }
    for (name, actual, stated) in &times {
        assert_eq!(actual, stated, "{name} changed: update docs/RELIABILITY.md");
        if !section.contains(name) {
            unnamed.push(*name);
        }
    }
    assert_eq!(
        unnamed,
        Vec::<&str>::new(),
        "docs/RELIABILITY.md \"Limits and defaults\" does not name these"
    );
}
