//! Helpers shared by the WebSocket facade tests: an in-process simulator, client configs with
//! short timings, event collection, and the reference record of what the simulator generated.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oddsfeed::BackoffConfig;
use oddsfeed::model::ws::DataMessage;
use oddsfeed::model::{ApiKey, EntryId, ReceiveType};
use oddsfeed::ws::{
    RootCertStore, TlsMode, WsClient, WsClientConfig, WsClientConfigBuilder, WsEvent,
};
use oddsfeed_sim::ws::{WsSim, WsSimConfig, WsSimHandle};
use oddsfeed_sim::ws_gen::WsGenerator;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::time::error::Elapsed;
use tokio_rustls::TlsAcceptor;

/// The generator seed the tests give the simulator.
pub const SEED: u64 = 42;

/// Every channel the simulator produces.
pub const ALL_CHANNELS: [&str; 5] = ["odds", "fixtures", "bookmakers", "scores", "clocks"];

/// A simulator config with `messages` messages and the test seed.
pub fn sim_config(messages: u64) -> WsSimConfig {
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(messages);
    cfg.seed = SEED;
    cfg
}

/// Starts a simulator on a free loopback port.
pub fn start_sim(cfg: WsSimConfig) -> WsSimHandle {
    let addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 0));
    match WsSim::bind(addr, cfg) {
        Ok(sim) => sim.spawn(),
        Err(e) => panic!("cannot start the simulator: {e}"),
    }
}

/// The `ws://` URL of a simulator.
pub fn url(sim: &WsSimHandle) -> String {
    format!("ws://{}/ws", sim.local_addr())
}

/// A client config builder for `url` with fast reconnects (50 ms doubling to 200 ms).
pub fn client(url: &str, mode: ReceiveType) -> WsClientConfigBuilder {
    WsClientConfig::builder(url, ApiKey::new("test-key-do-not-log"))
        .receive_type(mode)
        .with_session(|s| {
            s.backoff = BackoffConfig {
                initial: Duration::from_millis(50),
                multiplier: 2,
                max: Duration::from_millis(200),
                reset_after: Duration::from_secs(60),
            };
        })
}

/// Connects, panicking on a configuration error.
pub fn connect(builder: WsClientConfigBuilder) -> WsClient {
    let config = match builder.build() {
        Ok(config) => config,
        Err(e) => panic!("bad test config: {e}"),
    };
    match WsClient::start(config) {
        Ok(client) => client,
        Err(e) => panic!("cannot connect: {e}"),
    }
}

/// Everything a client reported.
#[derive(Debug, Default)]
pub struct Run {
    /// Data messages, in the order received.
    pub data: Vec<DataMessage>,
    /// Every other event, in order.
    pub events: Vec<WsEvent>,
    /// Whether the run ended with `Finished`.
    pub finished: bool,
}

impl Run {
    /// Names of the non-data events, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.events.iter().map(WsEvent::name).collect()
    }

    /// Entry ids per channel, in the order received.
    pub fn ids_by_channel(&self) -> BTreeMap<String, Vec<EntryId>> {
        let mut map: BTreeMap<String, Vec<EntryId>> = BTreeMap::new();
        for msg in &self.data {
            let Some(id) = msg.entry_id else {
                panic!("data without entryId: {}", msg.raw);
            };
            map.entry(msg.channel.clone()).or_default().push(id);
        }
        map
    }

    /// Asserts no channel received an entryId twice or out of order.
    pub fn assert_no_duplicates(&self) {
        for (channel, ids) in self.ids_by_channel() {
            for pair in ids.windows(2) {
                assert!(
                    pair[0] < pair[1],
                    "{channel}: {} then {} (duplicate or out of order)",
                    pair[0],
                    pair[1]
                );
            }
        }
    }

    /// The session events of one kind.
    pub fn session_events(&self, name: &str) -> Vec<&oddsfeed::ws::Event> {
        self.events
            .iter()
            .filter_map(|e| match e {
                WsEvent::Session(s) if s.name() == name => Some(s),
                _ => None,
            })
            .collect()
    }
}

/// Reads events until the run ends or `stop` says so (checked after each data message), with an
/// overall deadline.
pub async fn collect_until(
    client: &mut WsClient,
    deadline: Duration,
    mut stop: impl FnMut(&Run) -> bool,
) -> Run {
    let mut run = Run::default();
    let result = tokio::time::timeout(deadline, async {
        while let Some(event) = client.next().await {
            match event {
                WsEvent::Data(msg) => {
                    run.data.push(msg);
                    if stop(&run) {
                        return;
                    }
                }
                WsEvent::Finished => {
                    run.finished = true;
                    run.events.push(WsEvent::Finished);
                    return;
                }
                other => {
                    let terminal = other.is_terminal();
                    run.events.push(other);
                    if terminal {
                        return;
                    }
                }
            }
        }
    })
    .await;
    if result.is_err() {
        let names = run.names();
        let tail = &names[names.len().saturating_sub(40)..];
        let per_channel: BTreeMap<String, usize> = run
            .ids_by_channel()
            .into_iter()
            .map(|(ch, ids)| (ch, ids.len()))
            .collect();
        panic!(
            "timed out after {deadline:?} with {} data messages {per_channel:?}; {} events, the last: {tail:?}",
            run.data.len(),
            names.len(),
        );
    }
    run
}

/// Reads events up to and including the first one `last` accepts, for at most `deadline`;
/// the first part is `Err` when the deadline passed first.
pub async fn events_until(
    client: &mut WsClient,
    deadline: Duration,
    mut last: impl FnMut(&WsEvent) -> bool,
) -> (Result<(), Elapsed>, Vec<WsEvent>) {
    let mut events = Vec::new();
    let done = tokio::time::timeout(deadline, async {
        while let Some(event) = client.next().await {
            // Health restates session events; the tests using this helper check those.
            if matches!(event, WsEvent::Health(_)) {
                continue;
            }
            let stop = last(&event);
            events.push(event);
            if stop {
                break;
            }
        }
    })
    .await;
    (done, events)
}

/// Reads until the run ends (`Finished` or `Fatal`).
pub async fn collect_all(client: &mut WsClient, deadline: Duration) -> Run {
    collect_until(client, deadline, |_| false).await
}

/// The messages the simulator generated, rebuilt from the seed.
///
/// The simulator stamps each message with the wall clock, and the generator's output depends on
/// the time only through each message's `ts`. Feeding the generator, in the same order, the `ts`
/// values the client received therefore rebuilds exactly what the simulator generated; any lost,
/// duplicated, reordered or altered message makes the comparison fail.
pub fn regenerate(seed: u64, received: &[DataMessage]) -> Vec<String> {
    let mut generator = WsGenerator::new(seed);
    received
        .iter()
        .map(|msg| {
            let Some(ts) = msg.ts else {
                panic!("data without ts: {}", msg.raw);
            };
            generator.next(ts).json
        })
        .collect()
}

/// Asserts that `received` is exactly the first `received.len()` messages the simulator
/// generated, compared as JSON values.
pub fn assert_matches_generator(seed: u64, received: &[DataMessage]) {
    let expected = regenerate(seed, received);
    for (i, (msg, want)) in received.iter().zip(&expected).enumerate() {
        let got: Value = parse(&msg.raw);
        let want: Value = parse(want);
        assert_eq!(
            got, want,
            "message {i} differs from what the simulator generated"
        );
    }
}

/// Parses JSON or panics with the text.
pub fn parse(text: &str) -> Value {
    match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => panic!("not JSON ({e}): {text}"),
    }
}

/// The channel names of a set of messages.
pub fn channels_seen(data: &[DataMessage]) -> BTreeSet<String> {
    data.iter().map(|m| m.channel.clone()).collect()
}

/// A message the simulator generated that the client never received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Its 1-based position in the simulator's stream.
    pub position: u64,
    /// Its channel.
    pub channel: &'static str,
    /// The `seq` half of its entryId (the `ts` half is unknown: it was never received).
    pub seq: u64,
}

/// Replays the generator over the first `total` messages of the simulator's stream, whatever
/// order they were received in (replays after a reconnect come merged by `ts`), and lists the
/// ones the client never received. Each received message is also checked to be exactly the
/// generated one.
///
/// A message's channel and entryId `seq` do not depend on the clock, so cloning the generator
/// shows which message comes next; the received copy then gives its `ts`.
pub fn missing_from_stream(seed: u64, received: &[DataMessage], total: u64) -> Vec<Missing> {
    let mut by_key: BTreeMap<(String, u64), &DataMessage> = BTreeMap::new();
    for msg in received {
        let Some(id) = msg.entry_id else {
            panic!("data without entryId: {}", msg.raw);
        };
        by_key.insert((msg.channel.clone(), id.seq), msg);
    }
    let mut generator = WsGenerator::new(seed);
    // Messages never received get this clock; it only matters for the first message, which fixes
    // the generator's base hour.
    let mut last_ts = received.iter().filter_map(|m| m.ts).min().unwrap_or(0);
    let mut missing = Vec::new();
    for position in 1..=total {
        let peek = generator.clone().next(last_ts);
        match by_key.remove(&(peek.channel.to_owned(), peek.entry_id.1)) {
            Some(msg) => {
                let ts = msg.ts.unwrap_or(last_ts);
                let generated = generator.next(ts);
                assert_eq!(
                    parse(&msg.raw),
                    parse(&generated.json),
                    "message {position} differs from what the simulator generated"
                );
                last_ts = last_ts.max(ts);
            }
            None => {
                missing.push(Missing {
                    position,
                    channel: peek.channel,
                    seq: peek.entry_id.1,
                });
                generator.next(last_ts);
            }
        }
    }
    assert!(
        by_key.is_empty(),
        "received messages the simulator did not generate in its first {total}: {:?}",
        by_key.keys().take(10).collect::<Vec<_>>()
    );
    missing
}

/// A self-signed end-entity certificate for `localhost` (not a CA: rustls refuses a CA
/// certificate as an end entity), valid now or (with `expired`) only in the year 2000.
pub fn certificate(expired: bool) -> (CertificateDer<'static>, PrivateKeyDer<'static>) {
    let key = rcgen::KeyPair::generate().unwrap_or_else(|e| panic!("key: {e}"));
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap_or_else(|e| panic!("params: {e}"));
    params.is_ca = rcgen::IsCa::ExplicitNoCa;
    if expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2000, 12, 31);
    }
    let cert = params
        .self_signed(&key)
        .unwrap_or_else(|e| panic!("self-sign: {e}"));
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    (cert.der().clone(), key_der)
}

/// Verification against `cert` as the only trusted root.
pub fn roots_with(cert: &CertificateDer<'static>) -> TlsMode {
    let mut roots = RootCertStore::empty();
    roots
        .add(cert.clone())
        .unwrap_or_else(|e| panic!("root: {e}"));
    TlsMode::VerifyWithRoots(Arc::new(roots))
}

/// A TLS acceptor serving `cert`, and a listener on a free loopback port with its address.
pub async fn tls_listener(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (TlsAcceptor, TcpListener, SocketAddr) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(vec![cert], key))
        .unwrap_or_else(|e| panic!("server TLS config: {e}"));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    (TlsAcceptor::from(Arc::new(config)), listener, addr)
}
