//! Chaos test of the WebSocket client: one client, running without `once`, goes through more than
//! a hundred seeded disruptions, and what it delivered is compared with everything the simulators
//! produced.
//!
//! The disruptions (docs/PROTOCOL.md B.9, B.11, B.13):
//! - **drop**: a TCP proxy between client and simulator cuts every connection at once, at a
//!   seeded point (after N data messages on the current connection), possibly mid-frame: an abrupt
//!   close without a close frame;
//! - **reconnect**: the simulator's `reconnect_after` (a seeded count per simulator) sends
//!   `reconnect`, streams on for a short grace, then closes with 1001; the client overlaps the two
//!   connections;
//! - **restart**: the simulator is shut down (1001) and a fresh one, with a new `serverEpoch` and a
//!   new stream, is bound on the same port;
//! - **blackout**: the proxy cuts the connections and refuses new ones until the replay window
//!   (250 ms here) has passed over messages the client never got, so the resume hits
//!   `resume_window_exceeded`.
//!
//! Every channel is a replay channel. The assertion (docs/PROTOCOL.md B.9, "no duplicate, no gap";
//! docs/PROTOCOL.md B.9 step 8 "no silent gaps"): for every channel, the client delivered each message
//! of the simulators' stream at most once, in order, byte for byte as produced; any message it
//! skipped lies between two delivered messages (or after the last one) with a `snapshot_required`
//! for that channel, from the server or raised by the client, reported in between.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use oddsfeed::BackoffConfig;
use oddsfeed::model::{ApiKey, ReceiveType};
use oddsfeed::ws::{CloseCode, Event, WsClient, WsClientConfig, WsEvent};
use oddsfeed_sim::ws::{RecordedMessage, StreamRecorder, WsSim, WsSimConfig, WsSimHandle};
use serde_json::Value;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Default seed of the disruption schedule (and, plus the generation number, of each simulator's
/// stream); `ODDSFEED_CHAOS_SEED` overrides it for the run.
const SEED: u64 = 0x0dd5_feed;
/// Every channel the simulator produces; all of them are replay channels here.
const ALL_CHANNELS: [&str; 5] = ["odds", "fixtures", "bookmakers", "scores", "clocks"];
/// Disruptions the test plans (drops, awaited reconnects, blackouts, restarts; the last one is the
/// restart into the final simulator).
const PLANNED: usize = 105;
/// Pace of every simulator's stream, in messages per second (paced, so the stream moves on while
/// the client is away).
const RATE: f64 = 250.0;
/// The replay window of every simulator (`resumeWindowMs`).
const WINDOW_MS: u64 = 250;
/// The `reconnect` grace: streaming goes on this long before the 1001 close.
const RECONNECT_GRACE: Duration = Duration::from_millis(60);
/// Messages the final simulator produces before it closes every connection with 1000.
const FINAL_MESSAGES: u64 = 250;
/// During a blackout: messages produced after the cut before the window starts to run.
const BLACKOUT_MESSAGES: usize = 20;
/// Guard against a hang while waiting for one client event; never an assertion about speed.
const EVENT_GUARD: Duration = Duration::from_secs(30);

// ----- the schedule -------------------------------------------------------------------------

/// What the test does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The proxy cuts every connection.
    Drop,
    /// Wait for the simulator's `reconnect` frame.
    Reconnect,
    /// Cut, refuse connections, let the replay window pass.
    Blackout,
    /// Shut the simulator down and start a fresh one on the same port.
    Restart,
}

/// One planned disruption.
#[derive(Debug, Clone, Copy)]
struct Step {
    kind: Kind,
    /// Data messages the client must have taken on its current connection first (unused for
    /// [`Kind::Reconnect`], which waits for the simulator).
    after: u64,
}

/// The seeded plan: the steps, and the `reconnect_after` of each simulator generation.
#[derive(Debug)]
struct Plan {
    seed: u64,
    steps: Vec<Step>,
    /// Per generation (0 = the first simulator). Generation 0 has none, so no `reconnect` can come
    /// before the client has seen every channel once; the final generation has none either.
    reconnect_after: Vec<Option<u64>>,
}

impl Plan {
    fn from_seed(seed: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut steps = Vec::with_capacity(PLANNED);
        let mut reconnect_after = vec![None];
        while steps.len() + 1 < PLANNED {
            let roll = rng.u32(0..100);
            let mut kind = match roll {
                0..45 => Kind::Drop,
                45..75 => Kind::Reconnect,
                75..85 => Kind::Blackout,
                _ => Kind::Restart,
            };
            if kind == Kind::Reconnect && reconnect_after.len() == 1 {
                kind = Kind::Drop;
            }
            // Below every generation's `reconnect_after`, so a planned cut normally comes first.
            let after = rng.u64(3..=20);
            if kind == Kind::Restart {
                reconnect_after.push(Some(rng.u64(25..=45)));
            }
            steps.push(Step { kind, after });
        }
        steps.push(Step {
            kind: Kind::Restart,
            after: rng.u64(3..=20),
        });
        reconnect_after.push(None);
        Plan {
            seed,
            steps,
            reconnect_after,
        }
    }

    fn planned(&self, kind: Kind) -> usize {
        self.steps.iter().filter(|s| s.kind == kind).count()
    }

    fn is_final(&self, generation: usize) -> bool {
        generation + 1 == self.reconnect_after.len()
    }

    /// The simulator configuration of one generation.
    fn sim_config(&self, generation: usize, recorder: &StreamRecorder) -> WsSimConfig {
        let mut cfg = WsSimConfig::default();
        cfg.seed = self.seed + generation as u64;
        cfg.rate = Some(RATE);
        cfg.replay_window_ms = WINDOW_MS;
        cfg.replay_channels = ALL_CHANNELS.iter().map(|c| (*c).to_owned()).collect();
        cfg.reconnect_after = self.reconnect_after.get(generation).copied().flatten();
        cfg.reconnect_grace = RECONNECT_GRACE;
        cfg.record = Some(recorder.clone());
        if self.is_final(generation) {
            cfg.messages = Some(FINAL_MESSAGES);
        }
        cfg
    }
}

// ----- the chaos proxy ----------------------------------------------------------------------

/// State shared by the proxy's tasks and the test.
#[derive(Debug)]
struct ProxyShared {
    upstream: SocketAddr,
    refusing: AtomicBool,
    /// Bumped to cut every open connection.
    cut: watch::Sender<u64>,
    /// Connections currently piped.
    live: AtomicU64,
    /// Connections ended by a cut.
    cut_connections: AtomicU64,
    /// Connections refused during blackouts.
    refused: AtomicU64,
}

/// A loopback TCP proxy that can cut every connection abruptly and refuse new ones.
struct ChaosProxy {
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    task: JoinHandle<()>,
}

impl ChaosProxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = match TcpListener::bind("127.0.0.1:0").await {
            Ok(listener) => listener,
            Err(e) => panic!("cannot bind the proxy: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => panic!("proxy address: {e}"),
        };
        let (cut, _) = watch::channel(0);
        let shared = Arc::new(ProxyShared {
            upstream,
            refusing: AtomicBool::new(false),
            cut,
            live: AtomicU64::new(0),
            cut_connections: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        ChaosProxy { addr, shared, task }
    }

    /// Cuts every open connection (dropping both sockets: no close frame reaches anyone).
    fn cut(&self) {
        self.shared.cut.send_modify(|generation| *generation += 1);
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<ProxyShared>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        if shared.refusing.load(Ordering::SeqCst) {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            drop(client);
            continue;
        }
        let mut cut = shared.cut.subscribe();
        cut.borrow_and_update();
        tokio::spawn(pipe(client, cut, Arc::clone(&shared)));
    }
}

/// Pipes one client connection to the simulator until either side ends or a cut.
async fn pipe(mut client: TcpStream, mut cut: watch::Receiver<u64>, shared: Arc<ProxyShared>) {
    // The simulator is down (being restarted): drop the client, whose handshake then fails.
    let Ok(mut upstream) = TcpStream::connect(shared.upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    shared.live.fetch_add(1, Ordering::SeqCst);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        _ = cut.changed() => {
            shared.cut_connections.fetch_add(1, Ordering::Relaxed);
        }
    }
    shared.live.fetch_sub(1, Ordering::SeqCst);
}

// ----- the client's side of the story ----------------------------------------------------

/// What the client reported, in order: data messages and `snapshot_required` events.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Data {
        channel: String,
        entry_id: (u64, u64),
        raw: String,
    },
    Snapshot {
        channels: Vec<String>,
    },
}

/// One message as a simulator produced it (from its [`StreamRecorder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Produced {
    channel: String,
    entry_id: (u64, u64),
    json: String,
}

impl From<RecordedMessage> for Produced {
    fn from(msg: RecordedMessage) -> Self {
        Produced {
            channel: msg.channel.to_owned(),
            entry_id: msg.entry_id,
            json: msg.json,
        }
    }
}

/// One hole in a channel: messages of the stream the client never delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Gap {
    channel: String,
    /// Positions in the channel's stream (0-based) of the first and last message missing.
    first: usize,
    last: usize,
    /// Whether a `snapshot_required` for the channel was reported across it.
    reported: bool,
}

/// The comparison of the client's output with the simulators' record.
#[derive(Debug, Default)]
struct Verdict {
    /// Per channel: messages produced, messages delivered.
    produced: BTreeMap<String, usize>,
    delivered: BTreeMap<String, usize>,
    /// Deliveries of a message already delivered, or older than one delivered (per channel).
    duplicates: usize,
    /// Delivered messages the simulators never produced.
    unknown: usize,
    /// Delivered messages whose JSON differs from what was produced.
    altered: usize,
    gaps: Vec<Gap>,
}

impl Verdict {
    fn unreported_gaps(&self) -> Vec<&Gap> {
        self.gaps.iter().filter(|g| !g.reported).collect()
    }

    fn reported_gaps(&self) -> usize {
        self.gaps.iter().filter(|g| g.reported).count()
    }
}

/// Compares `seen` with `record`. `first_live` is the record's length when the client's first
/// `login_ok` arrived: messages produced before it may be absent without a report (the client
/// had not joined yet), every later one must be delivered or covered by a `snapshot_required`.
fn judge(record: &[Produced], seen: &[Seen], first_live: usize) -> Verdict {
    let mut verdict = Verdict::default();
    // Per channel: the global record indexes of its messages, and entryId -> channel position.
    let mut stream: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut position: HashMap<(&str, (u64, u64)), usize> = HashMap::new();
    for (index, msg) in record.iter().enumerate() {
        let list = stream.entry(msg.channel.as_str()).or_default();
        let previous = position.insert((msg.channel.as_str(), msg.entry_id), list.len());
        assert!(
            previous.is_none(),
            "the simulators produced {} {:?} twice",
            msg.channel,
            msg.entry_id
        );
        list.push(index);
    }
    for (channel, list) in &stream {
        verdict.produced.insert((*channel).to_owned(), list.len());
    }

    let mut last: BTreeMap<String, usize> = BTreeMap::new();
    let mut snapshot_since: BTreeSet<String> = BTreeSet::new();
    for item in seen {
        match item {
            Seen::Snapshot { channels } => snapshot_since.extend(channels.iter().cloned()),
            Seen::Data {
                channel,
                entry_id,
                raw,
            } => {
                let Some(&pos) = position.get(&(channel.as_str(), *entry_id)) else {
                    verdict.unknown += 1;
                    continue;
                };
                let Some(produced) = stream
                    .get(channel.as_str())
                    .and_then(|list| list.get(pos))
                    .and_then(|&index| record.get(index))
                else {
                    verdict.unknown += 1;
                    continue;
                };
                if raw != &produced.json && parse(raw) != parse(&produced.json) {
                    verdict.altered += 1;
                }
                *verdict.delivered.entry(channel.clone()).or_insert(0) += 1;
                let reported = snapshot_since.contains(channel);
                match last.get(channel).copied() {
                    Some(prev) if pos <= prev => {
                        verdict.duplicates += 1;
                        continue;
                    }
                    Some(prev) if pos > prev + 1 => verdict.gaps.push(Gap {
                        channel: channel.clone(),
                        first: prev + 1,
                        last: pos - 1,
                        reported,
                    }),
                    Some(_) => {}
                    None => {
                        // Before the first delivery: only messages produced after the client went
                        // live count.
                        let list = &stream[channel.as_str()];
                        let missed: Vec<usize> = (0..pos)
                            .filter(|&p| list.get(p).is_some_and(|&index| index >= first_live))
                            .collect();
                        if let (Some(&first), Some(&end)) = (missed.first(), missed.last()) {
                            verdict.gaps.push(Gap {
                                channel: channel.clone(),
                                first,
                                last: end,
                                reported,
                            });
                        }
                    }
                }
                last.insert(channel.clone(), pos);
                snapshot_since.remove(channel);
            }
        }
    }
    // After the last delivery: the rest of the stream is missing.
    for (channel, list) in &stream {
        let from = match last.get(*channel) {
            Some(&prev) => prev + 1,
            None => list
                .iter()
                .position(|&i| i >= first_live)
                .unwrap_or(list.len()),
        };
        if from < list.len() {
            verdict.gaps.push(Gap {
                channel: (*channel).to_owned(),
                first: from,
                last: list.len() - 1,
                reported: snapshot_since.contains(*channel),
            });
        }
    }
    verdict
}

fn parse(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

// ----- the run ------------------------------------------------------------------------------

/// Counters printed at the end.
#[derive(Debug, Default)]
struct Counts {
    drops: u64,
    reconnect_frames: u64,
    restarts: u64,
    blackouts: u64,
    connected: u64,
    resuming_logins: u64,
    resume_complete: u64,
    snapshots: BTreeMap<(String, &'static str), u64>,
    decode_errors: u64,
}

impl Counts {
    fn disruptions(&self) -> u64 {
        self.drops + self.reconnect_frames + self.restarts + self.blackouts
    }

    fn snapshots_with(&self, reason: &str) -> u64 {
        self.snapshots
            .iter()
            .filter(|((r, _), _)| r == reason)
            .map(|(_, n)| n)
            .sum()
    }
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

/// Binds a fresh simulator on `addr` (retrying briefly while the old socket lets go).
async fn bind_sim(addr: SocketAddr, cfg: WsSimConfig) -> WsSimHandle {
    let mut last_error = None;
    for _ in 0..50 {
        match WsSim::bind(addr, cfg.clone()) {
            Ok(sim) => return sim.spawn(),
            Err(e) => last_error = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("cannot bind the simulator on {addr}: {last_error:?}");
}

/// Blackout: cut, refuse, and keep refusing until messages the client never got are older than
/// the replay window.
async fn blackout(shared: Arc<ProxyShared>, recorder: StreamRecorder) -> Option<WsSimHandle> {
    shared.refusing.store(true, Ordering::SeqCst);
    shared.cut.send_modify(|generation| *generation += 1);
    let produced = recorder.len();
    while recorder.len() < produced + BLACKOUT_MESSAGES {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(WINDOW_MS + 100)).await;
    shared.refusing.store(false, Ordering::SeqCst);
    None
}

/// Restart: shut the simulator down (1001 to every connection), start the next one on its port.
async fn restart(old: WsSimHandle, cfg: WsSimConfig) -> Option<WsSimHandle> {
    let addr = old.local_addr();
    if let Err(e) = old.shutdown().await {
        panic!("simulator shutdown failed: {e}");
    }
    Some(bind_sim(addr, cfg).await)
}

async fn join_background(
    task: &mut Option<JoinHandle<Option<WsSimHandle>>>,
) -> Option<WsSimHandle> {
    match task {
        Some(handle) => match handle.await {
            Ok(sim) => sim,
            Err(e) => panic!("background disruption failed: {e}"),
        },
        None => std::future::pending().await,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_chaos_loses_nothing_silently_and_duplicates_nothing() {
    let seed = chaos_seed();
    let plan = Plan::from_seed(seed);
    let recorder = StreamRecorder::new();
    let first = bind_sim(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        plan.sim_config(0, &recorder),
    )
    .await;
    let proxy = ChaosProxy::start(first.local_addr()).await;
    let mut sim = Some(first);
    let config =
        WsClientConfig::builder(format!("ws://{}/ws", proxy.addr), ApiKey::new("chaos-key"))
            .receive_type(ReceiveType::ZstdDict)
            .channels(ALL_CHANNELS)
            .connect_timeout(Duration::from_secs(5))
            .with_session(|s| {
                s.backoff = BackoffConfig {
                    initial: Duration::from_millis(20),
                    multiplier: 2,
                    max: Duration::from_millis(100),
                    reset_after: Duration::from_millis(200),
                };
            })
            .build();
    let config = match config {
        Ok(config) => config,
        Err(e) => panic!("bad client config: {e}"),
    };
    let mut client = match WsClient::start(config) {
        Ok(client) => client,
        Err(e) => panic!("cannot start the client: {e}"),
    };

    let mut seen: Vec<Seen> = Vec::new();
    let mut counts = Counts::default();
    let mut channels_seen: BTreeSet<String> = BTreeSet::new();
    let mut first_live: Option<usize> = None;
    let mut step = 0usize;
    let mut generation = 0usize;
    let mut since_login: u64 = 0;
    let mut awaiting_login = true;
    let mut awaiting_reconnect = false;
    let mut background: Option<JoinHandle<Option<WsSimHandle>>> = None;

    loop {
        let event = tokio::select! {
            event = tokio::time::timeout(EVENT_GUARD, client.next()) => match event {
                Ok(Some(event)) => event,
                Ok(None) => panic!("the client ended; step {step}, {counts:?}"),
                Err(_) => panic!("no client event for {EVENT_GUARD:?}; step {step}, {counts:?}"),
            },
            done = join_background(&mut background) => {
                background = None;
                if let Some(next) = done {
                    sim = Some(next);
                }
                continue;
            }
        };
        match event {
            WsEvent::Data(msg) => {
                let Some(id) = msg.entry_id else {
                    panic!("data without entryId: {}", msg.raw);
                };
                channels_seen.insert(msg.channel.clone());
                since_login += 1;
                seen.push(Seen::Data {
                    channel: msg.channel,
                    entry_id: (id.ts_ms, id.seq),
                    raw: msg.raw,
                });
            }
            WsEvent::Session(Event::LoginOk { .. }) => {
                first_live.get_or_insert_with(|| recorder.len());
                since_login = 0;
                awaiting_login = false;
            }
            WsEvent::Session(Event::Connected { resuming, .. }) => {
                counts.connected += 1;
                counts.resuming_logins += u64::from(resuming);
            }
            WsEvent::Session(Event::ResumeComplete { .. }) => counts.resume_complete += 1,
            WsEvent::Session(Event::SnapshotRequired {
                reason,
                channels,
                raised_by_client,
            }) => {
                let by = if raised_by_client { "client" } else { "server" };
                *counts.snapshots.entry((reason, by)).or_insert(0) += 1;
                seen.push(Seen::Snapshot { channels });
            }
            WsEvent::Session(Event::ReconnectRequested { .. }) => {
                counts.reconnect_frames += 1;
                if awaiting_reconnect {
                    awaiting_reconnect = false;
                    awaiting_login = true;
                    step += 1;
                }
            }
            WsEvent::Session(Event::DecodeError(error)) => {
                counts.decode_errors += 1;
                eprintln!("decode error: {error:?}");
            }
            // The final simulator's end of stream: everything has been delivered.
            WsEvent::Session(Event::Disconnected {
                code: Some(CloseCode::Normal),
                ..
            }) if step == plan.steps.len() && background.is_none() => break,
            WsEvent::Fatal(error) => panic!("the client stopped: {error}"),
            WsEvent::Finished => panic!("a client without `once` finished"),
            _ => {}
        }

        // The next planned disruption, once the client streams again (and, for the first one,
        // once every channel has delivered something).
        let ready = background.is_none()
            && !awaiting_login
            && !awaiting_reconnect
            && channels_seen.len() == ALL_CHANNELS.len();
        let Some(next) = plan.steps.get(step).copied() else {
            continue;
        };
        // A cut needs a connection to cut (the client may be between two right now).
        let connected = proxy.shared.live.load(Ordering::SeqCst) > 0;
        if !ready || (next.kind != Kind::Reconnect && (since_login < next.after || !connected)) {
            continue;
        }
        match next.kind {
            Kind::Reconnect => {
                awaiting_reconnect = true;
                continue;
            }
            Kind::Drop => {
                counts.drops += 1;
                proxy.cut();
            }
            Kind::Blackout => {
                counts.blackouts += 1;
                background = Some(tokio::spawn(blackout(
                    Arc::clone(&proxy.shared),
                    recorder.clone(),
                )));
            }
            Kind::Restart => {
                counts.restarts += 1;
                generation += 1;
                let Some(old) = sim.take() else {
                    panic!("no simulator to restart");
                };
                background = Some(tokio::spawn(restart(
                    old,
                    plan.sim_config(generation, &recorder),
                )));
            }
        }
        step += 1;
        awaiting_login = true;
    }

    let stats = client.detailed_stats();
    if let Err(e) = client.close().await {
        panic!("closing the client: {e}");
    }
    if let Some(sim) = sim.take() {
        let _ = sim.shutdown().await;
    }
    let record: Vec<Produced> = recorder
        .messages()
        .into_iter()
        .map(Produced::from)
        .collect();
    let first_live = first_live.unwrap_or(0);
    let verdict = judge(&record, &seen, first_live);

    let delivered: usize = verdict.delivered.values().sum();
    println!("chaos ws (seed {seed:#x}): {} simulators", generation + 1);
    println!(
        "  disruptions: {} = drops {} + reconnect frames {} + restarts {} + blackouts {} \
         (planned: {} drops, {} reconnects, {} restarts, {} blackouts)",
        counts.disruptions(),
        counts.drops,
        counts.reconnect_frames,
        counts.restarts,
        counts.blackouts,
        plan.planned(Kind::Drop),
        plan.planned(Kind::Reconnect),
        plan.planned(Kind::Restart),
        plan.planned(Kind::Blackout),
    );
    println!(
        "  proxy: {} connections cut, {} refused during blackouts",
        proxy.shared.cut_connections.load(Ordering::Relaxed),
        proxy.shared.refused.load(Ordering::Relaxed),
    );
    println!(
        "  connections: {} ({} resuming logins), resume_complete {}",
        counts.connected, counts.resuming_logins, counts.resume_complete
    );
    println!("  snapshots: {:?}", counts.snapshots);
    println!(
        "  messages: produced {}, delivered {delivered}, per channel delivered/produced: {}",
        record.len(),
        ALL_CHANNELS
            .iter()
            .map(|c| format!(
                "{c} {}/{}",
                verdict.delivered.get(*c).unwrap_or(&0),
                verdict.produced.get(*c).unwrap_or(&0)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "  duplicates delivered = {}, dropped by the client's dedupe = {}",
        verdict.duplicates, stats.session.duplicates_dropped
    );
    println!(
        "  gaps: {} covered by snapshot_required, unreported = {}",
        verdict.reported_gaps(),
        verdict.unreported_gaps().len()
    );
    println!("  decode errors: {}", counts.decode_errors);

    assert!(
        counts.disruptions() >= 100,
        "only {} disruptions",
        counts.disruptions()
    );
    assert_eq!(counts.drops as usize, plan.planned(Kind::Drop));
    assert_eq!(counts.restarts as usize, plan.planned(Kind::Restart));
    assert_eq!(counts.blackouts as usize, plan.planned(Kind::Blackout));
    assert!(counts.reconnect_frames as usize >= plan.planned(Kind::Reconnect));
    assert_eq!(verdict.unknown, 0, "delivered messages nobody produced");
    assert_eq!(
        verdict.altered, 0,
        "delivered messages differ from the produced JSON"
    );
    assert_eq!(verdict.duplicates, 0, "duplicates delivered");
    assert_eq!(
        verdict.unreported_gaps(),
        Vec::<&Gap>::new(),
        "gaps without a snapshot_required"
    );
    assert_eq!(counts.decode_errors, 0);
    // Each restart changed the epoch, and each was reported for the channels with data.
    assert!(counts.snapshots_with("server_restarted") >= counts.restarts);
    // A blackout lets at least 20 messages newer than the client's cursors age out of the
    // replay window before the client may log in again.
    if counts.blackouts > 0 {
        assert!(counts.snapshots_with("resume_window_exceeded") >= 1);
    }
    // Resumes within one epoch replayed (every drop comes after a few delivered messages).
    if counts.drops > 0 {
        assert!(counts.resume_complete >= 1);
    }
}

// ----- the judge itself -----------------------------------------------------------------------

fn rec(channel: &str, seq: u64) -> Produced {
    Produced {
        channel: channel.to_owned(),
        entry_id: (1_000, seq),
        json: format!(r#"{{"channel":"{channel}","entryId":"1000-{seq}"}}"#),
    }
}

fn data(msg: &Produced) -> Seen {
    Seen::Data {
        channel: msg.channel.clone(),
        entry_id: msg.entry_id,
        raw: msg.json.clone(),
    }
}

fn snapshot(channel: &str) -> Seen {
    Seen::Snapshot {
        channels: vec![channel.to_owned()],
    }
}

#[test]
fn judge_accepts_gaps_covered_by_a_snapshot_and_flags_the_rest() {
    let record: Vec<Produced> = vec![
        rec("odds", 1),
        rec("scores", 1),
        rec("odds", 2),
        rec("odds", 3),
        rec("scores", 2),
        rec("odds", 4),
        rec("scores", 3),
    ];
    // odds 2 is skipped with a snapshot in between; scores 2 is skipped silently; odds 4 and the
    // tail of nothing are fine; scores 3 repeats.
    let seen = vec![
        data(&record[0]),
        data(&record[1]),
        snapshot("odds"),
        data(&record[3]),
        data(&record[5]),
        data(&record[6]),
        data(&record[6]),
    ];
    let verdict = judge(&record, &seen, 0);
    assert_eq!(verdict.duplicates, 1);
    assert_eq!(verdict.unknown, 0);
    assert_eq!(verdict.altered, 0);
    assert_eq!(
        verdict.gaps,
        vec![
            Gap {
                channel: "odds".into(),
                first: 1,
                last: 1,
                reported: true
            },
            Gap {
                channel: "scores".into(),
                first: 1,
                last: 1,
                reported: false
            },
        ]
    );
    assert_eq!(verdict.unreported_gaps().len(), 1);
}

#[test]
fn judge_checks_the_head_the_tail_and_the_content() {
    let record: Vec<Produced> = vec![
        rec("odds", 1),
        rec("odds", 2),
        rec("odds", 3),
        rec("odds", 4),
        rec("odds", 5),
    ];
    let mut altered = data(&record[3]);
    if let Seen::Data { raw, .. } = &mut altered {
        *raw = r#"{"channel":"odds","entryId":"1000-999"}"#.to_owned();
    }
    // Joined live at record index 1: odds 1 is not owed, odds 2 is; odds 5 (the tail) is missing
    // without a snapshot.
    let seen = vec![data(&record[2]), altered];
    let verdict = judge(&record, &seen, 1);
    assert_eq!(verdict.altered, 1);
    assert_eq!(
        verdict.gaps,
        vec![
            Gap {
                channel: "odds".into(),
                first: 1,
                last: 1,
                reported: false
            },
            Gap {
                channel: "odds".into(),
                first: 4,
                last: 4,
                reported: false
            },
        ]
    );
    // A snapshot after the last delivery covers the tail.
    let seen = vec![
        data(&record[1]),
        data(&record[2]),
        data(&record[3]),
        snapshot("odds"),
    ];
    let verdict = judge(&record, &seen, 1);
    assert_eq!(
        verdict.gaps,
        vec![Gap {
            channel: "odds".into(),
            first: 4,
            last: 4,
            reported: true
        }]
    );
    // A message nobody produced.
    let mut stranger = rec("odds", 77);
    stranger.entry_id = (5, 77);
    let verdict = judge(&record, &[data(&stranger)], 0);
    assert_eq!(verdict.unknown, 1);
}

#[test]
fn the_schedule_is_seeded_and_has_every_kind() {
    let plan = Plan::from_seed(SEED);
    assert_eq!(plan.steps.len(), PLANNED);
    assert_eq!(plan.steps.last().map(|s| s.kind), Some(Kind::Restart));
    for kind in [Kind::Drop, Kind::Reconnect, Kind::Blackout, Kind::Restart] {
        assert!(plan.planned(kind) >= 5, "{kind:?}: {}", plan.planned(kind));
    }
    // Generations: the first has no reconnect_after (and so no planned reconnect), the last none.
    assert_eq!(plan.reconnect_after.len(), plan.planned(Kind::Restart) + 1);
    assert_eq!(plan.reconnect_after.first(), Some(&None));
    assert_eq!(plan.reconnect_after.last(), Some(&None));
    let first_restart = plan.steps.iter().position(|s| s.kind == Kind::Restart);
    let first_reconnect = plan.steps.iter().position(|s| s.kind == Kind::Reconnect);
    assert!(first_restart < first_reconnect);
    let again = Plan::from_seed(SEED);
    assert_eq!(
        format!("{:?}", again.steps),
        format!("{:?}", plan.steps),
        "same seed, same plan"
    );
}
