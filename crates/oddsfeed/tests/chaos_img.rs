//! Chaos test of the IMG client over TCP: the simulator disconnects it again and again, by a
//! seeded schedule, with the two faults of docs/PROTOCOL.md A.9 that end a connection: `drop_after`
//! (a close without a notice, a seeded number of pushes after the snapshot) and
//! `slow_reader_kick` (a `slow reader` notice right after the snapshot, then a close).
//!
//! docs/PROTOCOL.md A.7/A.8: there is no resume; after every reconnect the client must re-send `init`
//! and every standing subscription, in order, and report `session_initialized` with
//! `reconnect: true`, after which a fresh snapshot replaces the application's state. The test
//! checks both sides of every connection:
//! - the simulator's side: the exact request lines each connection received (`init`, then each
//!   subscription, in order, each with a `request_id`), and how the session ended;
//! - the client's side: the init response and `session_initialized` (with the session id the
//!   simulator announced on that connection, `reconnect` true from the second on), the whole
//!   snapshot of that connection's world, push for push, the answered subscriptions, the notice
//!   and the disconnect reason.
//!
//! The test runs its own accept loop around [`serve_session`], so that each connection gets its
//! own fault (the simulator's `slow_reader_kick` fires on the first connection of a server) and
//! its request bytes can be recorded.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use oddsfeed::BackoffConfig;
use oddsfeed::img::{DisconnectedReason, Event};
use oddsfeed::img::{ImgClient, ImgClientConfig, ImgEvent, Transport};
use oddsfeed::model::img::{DisconnectReason, PushKind, Request, SubscriptionFilter};
use oddsfeed_sim::img::{
    ImgSimConfig, MT_OUTRIGHT, SessionEnd, SessionReport, SimShared, serve_session,
};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Default seed of the fault schedule (connection `i`'s world is generated from `seed + i`);
/// `ODDSFEED_CHAOS_SEED` overrides it for the run.
const SEED: u64 = 0x1_3a5e;
/// Connections that end in a fault; one calm connection follows them.
const DISRUPTIONS: usize = 24;
/// Guard against a hang while waiting for one client event; never an assertion about speed.
const EVENT_GUARD: Duration = Duration::from_secs(20);

// ----- the schedule ------------------------------------------------------------------------

/// How the simulator ends one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `drop_after`: close without a notice after this many non-heartbeat pushes (the snapshot,
    /// the subscription image and live updates counted).
    Drop(u64),
    /// `slow_reader_kick`: the `slow reader` notice right after the snapshot, then close.
    Kick,
    /// None: the connection lasts until the client goes away.
    Calm,
}

/// One connection of the plan: its fault and the world the simulator serves it from.
struct Planned {
    fault: Fault,
    cfg: Arc<ImgSimConfig>,
    shared: Arc<SimShared>,
}

fn base_config() -> ImgSimConfig {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.update_interval = Duration::from_millis(2);
    cfg.close_grace = Duration::from_secs(2);
    cfg
}

fn plan(seed: u64) -> Vec<Planned> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..=DISRUPTIONS)
        .map(|i| {
            let mut cfg = base_config();
            cfg.seed = seed + i as u64;
            let shared = SimShared::new(&cfg);
            let snapshot = shared.world().snapshot_len(false) as u64;
            let fault = if i == DISRUPTIONS {
                Fault::Calm
            } else if rng.u32(0..100) < 35 {
                Fault::Kick
            } else {
                // Past the snapshot: pushes after it exist only once a subscription was
                // processed, so its response is on the wire before the drop.
                Fault::Drop(snapshot + rng.u64(5..=60))
            };
            match fault {
                Fault::Drop(n) => cfg.faults.drop_after = Some(n),
                Fault::Kick => cfg.faults.slow_reader_kick = true,
                Fault::Calm => {}
            }
            Planned {
                fault,
                cfg: Arc::new(cfg),
                shared: Arc::new(shared),
            }
        })
        .collect()
}

/// The schedule's seed: `ODDSFEED_CHAOS_SEED` (decimal or `0x` hex) if set, else [`SEED`].
fn chaos_seed() -> u64 {
    let Ok(text) = std::env::var("ODDSFEED_CHAOS_SEED") else {
        return SEED;
    };
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(seed) => seed,
        Err(e) => panic!("ODDSFEED_CHAOS_SEED={text:?}: {e}"),
    }
}

/// The client's standing subscriptions, in order.
fn subscriptions() -> Vec<Request> {
    let outrights = SubscriptionFilter {
        market_type_ids: Some(vec![MT_OUTRIGHT.to_owned()]),
        ..SubscriptionFilter::default()
    };
    vec![
        Request::subscribe(&outrights),
        Request::subscribe(&SubscriptionFilter::default()),
    ]
}

// ----- the simulator's side ------------------------------------------------------------------

/// A reader that keeps a copy of every byte read through it.
struct Tee<R> {
    inner: R,
    copy: Vec<u8>,
}

impl<R: AsyncRead + Unpin> AsyncRead for Tee<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if polled.is_ready() {
            let fresh = buf.filled().get(before..).unwrap_or_default().to_vec();
            self.copy.extend_from_slice(&fresh);
        }
        polled
    }
}

/// What the simulator saw of one connection.
#[derive(Debug)]
struct ServerSide {
    index: usize,
    report: SessionReport,
    /// Every byte the client sent, including what arrived after the session ended.
    received: Vec<u8>,
}

/// Accepts connections and serves the `i`-th one with `plan[i]`; reports each when it ends.
async fn serve(
    listener: TcpListener,
    plan: Arc<Mutex<Vec<Planned>>>,
    out: mpsc::Sender<ServerSide>,
) {
    let mut index = 0usize;
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let planned = {
            let plan = plan.lock().unwrap_or_else(PoisonError::into_inner);
            plan.get(index)
                .map(|p| (Arc::clone(&p.cfg), Arc::clone(&p.shared)))
        };
        let Some((cfg, shared)) = planned else {
            // Past the plan: nothing to serve.
            drop(stream);
            continue;
        };
        let out = out.clone();
        let this = index;
        index += 1;
        tokio::spawn(async move {
            let (reader, writer) = stream.into_split();
            let mut tee = Tee {
                inner: reader,
                copy: Vec::new(),
            };
            let report = serve_session(&mut tee, writer, cfg, shared).await;
            // The rest of what the client sent (it closes its side once it sees the end).
            let mut rest = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tee.read_to_end(&mut rest)).await;
            let _ = out
                .send(ServerSide {
                    index: this,
                    report,
                    received: tee.copy,
                })
                .await;
        });
    }
}

/// The request lines of a connection, each as JSON with its `request_id` taken out (and
/// checked to be a non-empty string).
fn request_lines(bytes: &[u8]) -> Vec<Value> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => panic!("the client sent non-UTF-8 bytes: {e}"),
    };
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let mut value: Value = match serde_json::from_str(line) {
                Ok(value) => value,
                Err(e) => panic!("the client sent a line that is not JSON ({e}): {line}"),
            };
            let id = value
                .as_object_mut()
                .and_then(|map| map.remove("request_id"));
            match id {
                Some(Value::String(id)) if !id.is_empty() => {}
                other => panic!("request without a request_id ({other:?}): {line}"),
            }
            value
        })
        .collect()
}

// ----- the client's side ---------------------------------------------------------------------

/// What the client reported about one connection.
#[derive(Debug, Default)]
struct ClientSide {
    /// `status` of the init response.
    init_status: Option<String>,
    /// `session_initialized`: the session id and the `reconnect` flag.
    initialized: Option<(Option<String>, bool)>,
    /// Non-heartbeat pushes, as `(type, msg)`.
    pushes: Vec<(String, Value)>,
    /// Answered requests other than `init`: `(request, msg, status)`.
    responses: Vec<(String, Value, String)>,
    /// The disconnect notice, if any.
    notice: Option<DisconnectReason>,
    /// Why the connection ended, if it did.
    ended: Option<DisconnectedReason>,
}

impl ClientSide {
    fn subscriptions_answered(&self) -> usize {
        self.responses
            .iter()
            .filter(|(r, ..)| r == "subscribe")
            .count()
    }
}

fn type_and_msg(raw: &str) -> (String, Value) {
    let value: Value = match serde_json::from_str(raw) {
        Ok(value) => value,
        Err(e) => panic!("push is not JSON ({e}): {raw}"),
    };
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let msg = value.get("msg").cloned().unwrap_or(Value::Null);
    (kind, msg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_reconnect_resends_init_and_subscriptions_and_starts_a_fresh_session() {
    let seed = chaos_seed();
    let planned = plan(seed);
    let faults: Vec<Fault> = planned.iter().map(|p| p.fault).collect();
    let snapshots: Vec<Vec<(String, Value)>> = planned
        .iter()
        .map(|p| {
            p.shared
                .world()
                .snapshot(false)
                .into_iter()
                .map(|(kind, msg)| (kind.to_owned(), msg))
                .collect()
        })
        .collect();
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(listener) => listener,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = match listener.local_addr() {
        Ok(addr) => addr,
        Err(e) => panic!("address: {e}"),
    };
    let (server_tx, mut server_rx) = mpsc::channel(64);
    let server = tokio::spawn(serve(listener, Arc::new(Mutex::new(planned)), server_tx));

    let mut builder = ImgClientConfig::builder(Transport::Tcp {
        addr: addr.to_string(),
    })
    .backoff(BackoffConfig {
        initial: Duration::from_millis(10),
        multiplier: 2,
        max: Duration::from_millis(50),
        reset_after: Duration::from_secs(60),
    })
    .with_session(|s| {
        s.heartbeat_stale_after = Duration::from_secs(5);
        s.dead_after = Duration::from_secs(10);
        s.init_response_timeout = Duration::from_secs(10);
    });
    for request in subscriptions() {
        builder = builder.request(request);
    }
    let config = builder.build().expect("valid config");
    let mut client = ImgClient::start(config).expect("start the IMG client");

    let mut conns: Vec<ClientSide> = Vec::new();
    let mut backoffs = 0u64;
    let mut decode_errors = 0u64;
    loop {
        let item = match tokio::time::timeout(EVENT_GUARD, client.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("the client ended after {} connections", conns.len()),
            Err(_) => panic!(
                "no client event for {EVENT_GUARD:?} ({} connections)",
                conns.len()
            ),
        };
        let event = match item {
            ImgEvent::Fatal(error) => panic!("the client stopped: {error}"),
            event => event,
        };
        if let ImgEvent::Connected { .. } = event {
            conns.push(ClientSide::default());
            continue;
        }
        if let ImgEvent::Backoff { .. } = event {
            backoffs += 1;
        }
        let Some(conn) = conns.last_mut() else {
            continue;
        };
        match event {
            ImgEvent::Session(Event::Response { response, request }) => {
                let Some(request) = request else {
                    panic!("a response that matched no request: {}", response.raw);
                };
                let status = response.status.as_str().to_owned();
                if request.request == "init" {
                    conn.init_status = Some(status);
                } else {
                    conn.responses.push((request.request, request.msg, status));
                }
            }
            ImgEvent::Session(Event::SessionInitialized {
                session_id,
                reconnect,
            }) => conn.initialized = Some((session_id, reconnect)),
            ImgEvent::Session(Event::Push(push)) if push.kind != PushKind::Heartbeat => {
                conn.pushes.push(type_and_msg(&push.raw));
            }
            ImgEvent::Session(Event::Disconnect(notice)) => conn.notice = Some(notice.reason),
            ImgEvent::Session(Event::Disconnected { reason }) => conn.ended = Some(reason),
            ImgEvent::Session(Event::DecodeError(error)) => {
                decode_errors += 1;
                eprintln!("decode error: {error:?}");
            }
            ImgEvent::Finished => panic!("a client without `once` finished"),
            _ => {}
        }
        // Done once the calm connection after the last fault has its snapshot and answers.
        if conns.len() == faults.len()
            && let (Some(last), Some(snapshot)) = (conns.last(), snapshots.last())
            && last.pushes.len() >= snapshot.len()
            && last.subscriptions_answered() == subscriptions().len()
        {
            break;
        }
    }
    drop(client);
    let mut servers: BTreeMap<usize, ServerSide> = BTreeMap::new();
    while servers.len() < faults.len() {
        match tokio::time::timeout(EVENT_GUARD, server_rx.recv()).await {
            Ok(Some(side)) => {
                servers.insert(side.index, side);
            }
            Ok(None) => break,
            Err(_) => panic!(
                "only {} connections reported by the simulator",
                servers.len()
            ),
        }
    }
    server.abort();

    let drops = faults
        .iter()
        .filter(|f| matches!(f, Fault::Drop(_)))
        .count();
    let kicks = faults.iter().filter(|f| **f == Fault::Kick).count();
    let reinitialized = conns
        .iter()
        .filter(|c| matches!(c.initialized, Some((_, true))))
        .count();
    let resent: usize = servers
        .values()
        .skip(1)
        .map(|s| request_lines(&s.received).len())
        .sum();
    println!("chaos img (seed {seed:#x}): {} connections", conns.len());
    println!(
        "  disruptions: {} = drops {drops} + slow-reader kicks {kicks}; backoffs {backoffs}",
        drops + kicks
    );
    println!(
        "  reconnects: {reinitialized} session_initialized with reconnect=true; {resent} request \
         lines re-sent after the first connection"
    );
    println!(
        "  non-heartbeat pushes received: {}; subscriptions answered: {}; decode errors: \
         {decode_errors}",
        conns.iter().map(|c| c.pushes.len()).sum::<usize>(),
        conns
            .iter()
            .map(ClientSide::subscriptions_answered)
            .sum::<usize>(),
    );

    assert!(
        drops + kicks >= 20,
        "only {} disruptions planned",
        drops + kicks
    );
    assert!(drops >= 5 && kicks >= 5, "drops {drops}, kicks {kicks}");
    assert_eq!(
        conns.len(),
        faults.len(),
        "one connection per planned fault, no more"
    );
    assert_eq!(servers.len(), faults.len());
    assert_eq!(decode_errors, 0);

    let mut expected_requests = vec![Request::init(false).to_value()];
    expected_requests.extend(subscriptions().iter().map(Request::to_value));
    for (i, ((fault, conn), snapshot)) in faults.iter().zip(&conns).zip(&snapshots).enumerate() {
        let server = &servers[&i];
        // The simulator's side: init, then every subscription, in order, on every connection.
        assert_eq!(
            request_lines(&server.received),
            expected_requests,
            "connection {i}: the requests the simulator received"
        );
        // A fresh session: the init response, then session_initialized with the session id this
        // connection was given, reconnect=true from the second connection on.
        assert_eq!(
            conn.init_status.as_deref(),
            Some("session initialized"),
            "connection {i}"
        );
        assert_eq!(
            conn.initialized,
            Some((Some(server.report.session_id.clone()), i > 0)),
            "connection {i}"
        );
        // ... followed by this connection's whole snapshot, push for push.
        assert_eq!(
            conn.pushes.get(..snapshot.len()),
            Some(snapshot.as_slice()),
            "connection {i}: the snapshot"
        );
        match fault {
            Fault::Drop(n) => {
                assert_eq!(server.report.end, SessionEnd::DropAfter, "connection {i}");
                assert_eq!(server.report.pushes, *n, "connection {i}");
                assert_eq!(
                    conn.pushes.len() as u64,
                    *n,
                    "connection {i}: every push sent"
                );
                assert_eq!(conn.notice, None, "connection {i}");
                assert_eq!(
                    conn.ended,
                    Some(DisconnectedReason::ServerClosed),
                    "connection {i}"
                );
                // Pushes past the snapshot come only from a processed subscription, whose
                // answer was on the wire before them.
                assert!(conn.subscriptions_answered() >= 1, "connection {i}");
            }
            Fault::Kick => {
                assert_eq!(
                    server.report.end,
                    SessionEnd::SlowReaderKick,
                    "connection {i}"
                );
                assert_eq!(
                    conn.pushes.len(),
                    snapshot.len(),
                    "connection {i}: the snapshot only"
                );
                assert_eq!(
                    conn.notice,
                    Some(DisconnectReason::SlowReader),
                    "connection {i}"
                );
                assert_eq!(
                    conn.ended,
                    Some(DisconnectedReason::Notice(DisconnectReason::SlowReader)),
                    "connection {i}"
                );
            }
            Fault::Calm => {
                assert_eq!(
                    conn.ended, None,
                    "connection {i}: still up when the test ended"
                );
            }
        }
        for (request, msg, status) in &conn.responses {
            assert_eq!(status, "ok", "connection {i}: {request} {msg}");
        }
    }
}

#[test]
fn the_schedule_is_seeded_and_mixes_both_faults() {
    let faults = |seed| plan(seed).iter().map(|p| p.fault).collect::<Vec<_>>();
    let first = faults(SEED);
    assert_eq!(first, faults(SEED), "same seed, same schedule");
    assert_eq!(first.len(), DISRUPTIONS + 1);
    assert_eq!(first.last(), Some(&Fault::Calm));
    assert!(first.iter().filter(|f| **f == Fault::Kick).count() >= 5);
    assert!(first.iter().filter(|f| matches!(f, Fault::Drop(_))).count() >= 5);
}
