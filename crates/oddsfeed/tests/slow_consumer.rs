//! A slow application (issue "Reliability and security hardening", item 5; docs/RELIABILITY.md
//! "Slow consumer").
//!
//! The policy under test, for both feeds: events wait in a bounded queue; when the application
//! stops taking them the queue fills, the connection driver stops reading the socket, and the
//! server sees TCP backpressure. Memory stays bounded by the queue. Then, by feed:
//!
//! - WebSocket, unpaced server (the simulator without `--rate`): the server just waits; when the
//!   application comes back everything arrives, in order, nothing lost or doubled.
//! - WebSocket, paced server that keeps producing: the server closes the lagging connection with
//!   4002; the client warns (`slow_consumer`), reconnects with resume, and every message it did
//!   not get is covered by a `snapshot_required` for its channel (no silent gap), none doubled.
//! - IMG: the server's bounded outbound queue overflows and it sends the `slow reader` notice;
//!   the client delivers everything the server queued before it, reports the notice and the
//!   disconnect, and reconnects with a fresh session.
//!
//! Memory is measured as the process's resident set (`VmRSS` in `/proc/self/status`), so the
//! tests of this file run one at a time (a lock shared by all of them); the simulators run in
//! the same process and are counted too. Without `/proc/self/status` the memory checks are
//! skipped with a printed note (a failure when `ODDSFEED_REQUIRE_PROCFS` is set); the
//! behaviour checks still run.

mod ws_common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oddsfeed::img::{DisconnectedReason, Event as ImgSessionEvent};
use oddsfeed::img::{ImgClient, ImgClientConfig, ImgEvent, Transport};
use oddsfeed::model::ReceiveType;
use oddsfeed::model::img::{DisconnectReason, PushKind, Request};
use oddsfeed::model::ws::DataMessage;
use oddsfeed::ws::{CloseCode, Event, WarningKind, WsClient, WsEvent};
use oddsfeed_sim::img::{ImgSimConfig, SessionEnd, SessionReport, SimShared, serve_session};
use oddsfeed_sim::ws_gen::WsGenerator;
use tokio::net::TcpSocket;
use tokio::sync::{Mutex, mpsc};
use ws_common::*;

/// The tests of this file measure the whole process: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::const_new(());

/// How long the application stops reading.
const STALL: Duration = Duration::from_secs(3);

/// Longest the WebSocket stall may last while waiting for the driver to stop reading (a guard,
/// not a speed requirement: a driver that never stops reading fails here).
const STALL_CAP: Duration = Duration::from_secs(15);

/// Guard against a hang; never an assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(30);

/// Most the resident set may grow while a WebSocket application stalls with the default queue
/// of [`oddsfeed::ws::DEFAULT_EVENT_QUEUE`] events: the full queue (measured at 8.6 to 11 MiB
/// for this stream, some 8 to 10 KiB per decoded event) plus 16 MiB for the allocator, the
/// in-process simulator and measurement noise. A client that kept reading grows past it within the stall (measured:
/// +38 MiB after 2 s, +64 MiB after 3 s, in a debug build).
const WS_STALL_GROWTH_BOUND_KIB: u64 = 24 << 10;

/// Most the resident set may grow while an IMG application stalls: the default queue of
/// [`oddsfeed::img::DEFAULT_EVENT_QUEUE`] pushes (a few hundred bytes each, under 1 MiB) plus the
/// simulator's outbound queue (bounded by the test to 256 KiB) plus the same 16 MiB of slack.
const IMG_STALL_GROWTH_BOUND_KIB: u64 = 20 << 10;

/// The resident set size in KiB, if the platform tells.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Samples the resident set every 100 ms for `duration` (the application doing nothing
/// meanwhile) and returns the largest growth over `base`, calling `probe` at each sample.
async fn stall(duration: Duration, base: Option<u64>, mut probe: impl FnMut(Duration)) -> u64 {
    let start = Instant::now();
    let mut peak = 0;
    while start.elapsed() < duration {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let (Some(base), Some(now)) = (base, rss_kib()) {
            peak = peak.max(now.saturating_sub(base));
        }
        probe(start.elapsed());
    }
    peak
}

/// The next WebSocket event, within the hang guard.
async fn next_ws(client: &mut WsClient) -> WsEvent {
    match tokio::time::timeout(HANG_GUARD, client.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the client ended"),
        Err(_) => panic!("no event within the hang guard"),
    }
}

/// Reads until `count` data messages are in `run` (other events recorded too).
async fn read_data(client: &mut WsClient, run: &mut Run, count: usize) {
    while run.data.len() < count {
        match next_ws(client).await {
            WsEvent::Data(msg) => run.data.push(msg),
            other => {
                assert!(!other.is_terminal(), "the run ended: {other:?}");
                run.events.push(other);
            }
        }
    }
}

fn all_channels() -> Vec<String> {
    ALL_CHANNELS.iter().map(|c| (*c).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_stalled_application_holds_the_server_back_with_bounded_memory_and_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().await;
    // Unpaced and endless: the simulator sends as fast as the socket takes data.
    let mut cfg = sim_config(0);
    cfg.messages = None;
    cfg.replay_channels = all_channels();
    // The simulator shares the process: keep its own buffers small, so that they are full
    // before the measurement starts and what grows during the stall is the client.
    cfg.replay_max_entries = 2_000;
    cfg.outbound_queue_bytes = 2 << 20;
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::ZstdDict));

    let mut run = Run::default();
    read_data(&mut client, &mut run, 3_000).await;
    let before = run.data.len();

    // The application stops taking events for at least STALL, and until the driver has read
    // nothing from the socket for a whole second.
    let base = rss_kib();
    let start = Instant::now();
    let mut growth = 0;
    let mut wire = client.detailed_stats().wire_bytes;
    let mut wire_still_since = start;
    let sent_at_start = sim.stats().data_frames_sent;
    while start.elapsed() < STALL || wire_still_since.elapsed() < Duration::from_secs(1) {
        assert!(
            start.elapsed() < STALL_CAP,
            "the driver kept reading the socket for {STALL_CAP:?} while the application stalled"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        if let (Some(base), Some(now)) = (base, rss_kib()) {
            growth = growth.max(now.saturating_sub(base));
        }
        let now = client.detailed_stats().wire_bytes;
        if now != wire {
            wire = now;
            wire_still_since = Instant::now();
        }
    }
    println!(
        "WebSocket stall of {:?}: resident set grew by at most {growth} KiB; the driver last \
         read {:?} into the stall; the server sent {} frames into the socket meanwhile",
        start.elapsed(),
        wire_still_since.duration_since(start),
        sim.stats().data_frames_sent - sent_at_start,
    );
    match base {
        Some(_) => assert!(
            growth <= WS_STALL_GROWTH_BOUND_KIB,
            "resident set grew by {growth} KiB during the stall (bound {WS_STALL_GROWTH_BOUND_KIB} KiB)"
        ),
        None => oddsfeed_testkit::missing(
            oddsfeed_testkit::Tool::Procfs,
            "no /proc/self/status: the memory check cannot run",
        ),
    }

    // The application comes back: the stream simply continues.
    read_data(&mut client, &mut run, before + 5_000).await;
    run.assert_no_duplicates();
    let missing = missing_from_stream(SEED, &run.data, run.data.len() as u64);
    assert_eq!(missing, [], "messages lost around the stall");
    assert_eq!(
        run.session_events("connected").len(),
        1,
        "{:?}",
        run.names()
    );
    assert!(
        run.session_events("disconnected").is_empty(),
        "{:?}",
        run.names()
    );
    drop(client);
    let _ = sim.shutdown().await;
}

/// Positions (1-based), channels and `seq`s of the simulator's first `total` messages that
/// `data` lacks. A message's channel and entryId `seq` do not depend on the clock, so the seeded
/// generator tells them without knowing the times (the contents after a gap may differ, as some
/// fields depend on earlier messages' times, so they are not compared here).
fn missing_by_id(data: &[DataMessage], total: u64) -> Vec<(u64, &'static str, u64)> {
    let mut received: BTreeSet<(String, u64)> = data
        .iter()
        .map(|m| {
            let Some(id) = m.entry_id else {
                panic!("data without entryId: {}", m.raw);
            };
            (m.channel.clone(), id.seq)
        })
        .collect();
    let mut generator = WsGenerator::new(SEED);
    let mut missing = Vec::new();
    for position in 1..=total {
        let generated = generator.next(0);
        let key = (generated.channel.to_owned(), generated.entry_id.1);
        if !received.remove(&key) {
            missing.push((position, generated.channel, generated.entry_id.1));
        }
    }
    assert!(
        received.is_empty(),
        "received messages the simulator did not generate in its first {total}: {:?}",
        received.iter().take(10).collect::<Vec<_>>()
    );
    missing
}

/// Every message of the simulator's first `total` that the run lacks must be on a channel a
/// `snapshot_required` named (the application was told to re-fetch it), and none came twice.
/// Returns how many were missing.
fn assert_no_silent_gap(run: &Run, total: u64) -> usize {
    run.assert_no_duplicates();
    let told: BTreeSet<String> = run
        .session_events("snapshot_required")
        .into_iter()
        .filter_map(|e| match e {
            Event::SnapshotRequired { channels, .. } => Some(channels.clone()),
            _ => None,
        })
        .flatten()
        .collect();
    let missing = missing_by_id(&run.data, total);
    for (position, channel, seq) in &missing {
        assert!(
            told.contains(*channel),
            "message {position} ({channel} seq {seq}) was lost without a snapshot_required \
             for {channel}; told: {told:?}"
        );
    }
    missing.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_application_too_slow_for_a_paced_server_gets_4002_then_resumes_without_silent_gaps() {
    let _one = ONE_AT_A_TIME.lock().await;
    const RATE: f64 = 4_000.0;
    const TOTAL: u64 = 16_000;
    // Paced: the producer keeps appending while the application stalls; the connection falls
    // more than `outbound_queue_bytes` behind the head and is closed with 4002.
    let mut cfg = sim_config(TOTAL);
    cfg.rate = Some(RATE);
    cfg.outbound_queue_bytes = 256 << 10;
    cfg.replay_channels = all_channels();
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::Json));

    let mut run = Run::default();
    read_data(&mut client, &mut run, 1_000).await;
    let _ = stall(STALL, None, |_| {}).await;

    // Read on until the stream's end closes a resumed connection with 1000.
    let started = Instant::now();
    loop {
        assert!(started.elapsed() < HANG_GUARD, "{:?}", run.names());
        match next_ws(&mut client).await {
            WsEvent::Data(msg) => run.data.push(msg),
            other => {
                let end = matches!(
                    &other,
                    WsEvent::Session(Event::Disconnected {
                        code: Some(CloseCode::Normal),
                        ..
                    })
                );
                assert!(!other.is_terminal(), "the run ended: {other:?}");
                run.events.push(other);
                if end {
                    break;
                }
            }
        }
    }
    println!(
        "paced run: {} data messages, events {:?}",
        run.data.len(),
        run.names()
    );

    let closes: Vec<Option<CloseCode>> = run
        .session_events("disconnected")
        .into_iter()
        .filter_map(|e| match e {
            Event::Disconnected { code, .. } => Some(*code),
            _ => None,
        })
        .collect();
    assert_eq!(
        closes.first(),
        Some(&Some(CloseCode::SlowConsumer)),
        "{:?}",
        run.names()
    );
    let warned = run.events.iter().any(|e| {
        matches!(
            e,
            WsEvent::Session(Event::Warning {
                kind: WarningKind::SlowConsumer,
                ..
            })
        )
    });
    assert!(warned, "no slow_consumer warning: {:?}", run.names());
    let resumed = run
        .events
        .iter()
        .any(|e| matches!(e, WsEvent::Session(Event::Connected { resuming: true, .. })));
    assert!(resumed, "no resuming reconnect: {:?}", run.names());
    let backpressure = run.session_events("snapshot_required").into_iter().any(|e| {
        matches!(e, Event::SnapshotRequired { reason, raised_by_client: false, .. } if reason == "client_backpressure")
    });
    assert!(
        backpressure,
        "the resumed replay did not stop with client_backpressure: {:?}",
        run.session_events("snapshot_required")
    );
    let gaps = assert_no_silent_gap(&run, TOTAL);
    println!(
        "{gaps} messages were reported through snapshot_required instead of delivered: {:?}",
        run.session_events("snapshot_required")
    );
    drop(client);
    let _ = sim.shutdown().await;
}

/// Serves the IMG simulator on a free loopback port (the server side's socket send buffer kept
/// small, so its own outbound queue is what fills) and reports each finished session.
async fn start_img_sim(cfg: ImgSimConfig) -> (String, mpsc::UnboundedReceiver<SessionReport>) {
    let socket = TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
    // Accepted sockets inherit this.
    socket
        .set_send_buffer_size(16 << 10)
        .unwrap_or_else(|e| panic!("SO_SNDBUF: {e}"));
    socket
        .bind(
            "127.0.0.1:0"
                .parse()
                .unwrap_or_else(|e| panic!("addr: {e}")),
        )
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let listener = socket.listen(16).unwrap_or_else(|e| panic!("listen: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"))
        .to_string();
    let cfg = Arc::new(cfg);
    let shared = Arc::new(SimShared::new(&cfg));
    let (tx, reports) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (reader, writer) = stream.into_split();
            let (cfg, shared, tx) = (Arc::clone(&cfg), Arc::clone(&shared), tx.clone());
            tokio::spawn(async move {
                let _ = tx.send(serve_session(reader, writer, cfg, shared).await);
            });
        }
    });
    (addr, reports)
}

async fn next_img(client: &mut ImgClient) -> ImgEvent {
    match tokio::time::timeout(HANG_GUARD, client.next()).await {
        Ok(Some(ImgEvent::Fatal(error))) => panic!("the client failed: {error}"),
        Ok(Some(event)) => event,
        Ok(None) => panic!("the client ended"),
        Err(_) => panic!("no event within the hang guard"),
    }
}

fn is_push(event: &ImgEvent) -> bool {
    matches!(event, ImgEvent::Session(ImgSessionEvent::Push(push)) if push.kind != PushKind::Heartbeat)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn img_stalled_application_gets_slow_reader_with_bounded_memory_then_a_fresh_session() {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.update_interval = Duration::from_millis(1);
    cfg.max_outbound_bytes = 256 << 10;
    // Long enough for the notice to wait for the application to come back.
    cfg.close_grace = Duration::from_secs(20);
    let (addr, mut reports) = start_img_sim(cfg).await;

    let config = ImgClientConfig::builder(Transport::Tcp { addr: addr.clone() })
        .request(Request::new("subscribe"))
        .with_session(|s| s.heartbeat_stale_after = Duration::from_secs(10))
        .build()
        .expect("valid config");
    let mut client = ImgClient::start(config).expect("start the IMG client");

    // Until the subscription's first live pushes flow.
    let mut pushes = 0_u64;
    while pushes < 200 {
        if is_push(&next_img(&mut client).await) {
            pushes += 1;
        }
    }

    let base = rss_kib();
    let growth = stall(STALL, base, |_| {}).await;
    println!("IMG stall of {STALL:?}: resident set grew by at most {growth} KiB");
    match base {
        Some(_) => assert!(
            growth <= IMG_STALL_GROWTH_BOUND_KIB,
            "resident set grew by {growth} KiB during the stall (bound {IMG_STALL_GROWTH_BOUND_KIB} KiB)"
        ),
        None => oddsfeed_testkit::missing(
            oddsfeed_testkit::Tool::Procfs,
            "no /proc/self/status: the memory check cannot run",
        ),
    }

    // Back again: everything queued before the notice, the notice, the disconnect.
    let mut names = Vec::new();
    let notice = loop {
        let event = next_img(&mut client).await;
        if is_push(&event) {
            pushes += 1;
        }
        names.push(event.name());
        if let ImgEvent::Session(ImgSessionEvent::Disconnect(notice)) = event {
            break notice;
        }
    };
    assert_eq!(notice.reason, DisconnectReason::SlowReader);
    match next_img(&mut client).await {
        ImgEvent::Session(ImgSessionEvent::Disconnected { reason }) => assert_eq!(
            reason,
            DisconnectedReason::Notice(DisconnectReason::SlowReader)
        ),
        other => panic!("expected the disconnect, got {other:?}"),
    }
    let report = tokio::time::timeout(HANG_GUARD, reports.recv())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("no session report"));
    assert_eq!(report.end, SessionEnd::SlowReader);
    assert!(
        report.flushed,
        "the server could not flush its queue: {report:?}"
    );
    // The simulator counts a push when it hands it out; the one whose line overflowed the queue
    // (if the overflowing line was a push, not a heartbeat) is counted but never queued.
    assert!(
        report.pushes == pushes || report.pushes == pushes + 1,
        "the server handed out {} pushes before the notice, the client got {pushes}",
        report.pushes
    );

    // And a fresh session, announced as such.
    loop {
        if let ImgEvent::Session(ImgSessionEvent::SessionInitialized { reconnect, .. }) =
            next_img(&mut client).await
        {
            assert!(
                reconnect,
                "the new session must say it replaces the old state"
            );
            break;
        }
    }
}
