//! `oddsfeed relay` and `oddsfeed nats-tail` as processes, against a real `nats-server` and the
//! in-process WebSocket simulator (loopback only).
//!
//! The chaos test SIGKILLs the relay at seeded random moments while the simulator streams,
//! restarts it each time, and stops and restarts NATS itself (same store) once mid-run. At the end
//! the stream is compared with the simulator's record: every message stored at most once and in
//! entryId order per channel; no gap on the replay channels (`fixtures`, `scores`, the
//! simulator's default); every gap on the other channels covered by a `snapshot_required` for that
//! channel in the stream's `_events` subjects (CLARIFICATIONS: the vendor's default replay
//! channels; PROTOCOL.md B.9 step 8).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Running, assert_unlabelled_counters_match, free_port, scrape, sum};
use oddsfeed_nats::testing::NatsServer;
use oddsfeed_nats::{NatsItem, NatsStream, NatsStreamConfig};
use oddsfeed_sim::ws::{StreamRecorder, WsSim, WsSimConfig, WsSimHandle};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_oddsfeed");
/// Default seed of the kill schedule; `ODDSFEED_CHAOS_SEED` overrides it.
const SEED: u64 = 0x0dd5_feed;
/// Relay processes killed with SIGKILL before the last one runs to the end.
const KILLS: usize = 8;
/// Messages and pace of the simulator's stream.
const MESSAGES: u64 = 5000;
const RATE: f64 = 1000.0;
/// Hang guard for one wait (never an assertion about speed).
const GUARD: Duration = Duration::from_secs(60);

fn start_sim(replay_channels: Option<&[&str]>) -> (WsSimHandle, StreamRecorder) {
    let recorder = StreamRecorder::new();
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(MESSAGES);
    cfg.rate = Some(RATE);
    cfg.seed = 5;
    if let Some(channels) = replay_channels {
        cfg.replay_channels = channels.iter().map(|c| (*c).to_owned()).collect();
    }
    cfg.record = Some(recorder.clone());
    let sim = WsSim::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
    (sim.spawn(), recorder)
}

fn spawn_relay(sim: &WsSimHandle, nats: &str, key_file: &std::path::Path) -> Child {
    Command::new(BIN)
        .args(["relay", "--url"])
        .arg(format!("ws://{}/ws", sim.local_addr()))
        .arg("--api-key-file")
        .arg(key_file)
        .args(["--nats", nats, "--events", "jsonl"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn oddsfeed relay")
}

/// Everything the stream holds: (subject, payload) in stream order, read with `nats-tail`'s
/// library side.
async fn read_all(nats: &str) -> Vec<(String, String)> {
    let mut stream = NatsStream::connect(NatsStreamConfig::new(nats))
        .await
        .expect("consumer");
    let total = stream.pending_at_start();
    let mut out = Vec::new();
    while (out.len() as u64) < total {
        let received = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("stream read stalled")
            .expect("open")
            .expect("message");
        out.push((
            received.subject,
            String::from_utf8_lossy(&received.payload).into_owned(),
        ));
        if received.pending == 0 {
            break;
        }
    }
    out
}

async fn data_count(nats: &str) -> usize {
    match NatsStream::connect(NatsStreamConfig::new(nats)).await {
        Ok(_) => read_all(nats)
            .await
            .iter()
            .filter(|(s, _)| !s.contains("._events."))
            .count(),
        Err(_) => 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_sigkill_relay_and_restart_nats_nothing_doubled_gaps_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(mut nats) = NatsServer::start_or_skip(&dir.path().join("js")) else {
        return;
    };
    let url = nats.url();
    let key_file = dir.path().join("key");
    std::fs::write(&key_file, "chaos-key\n").expect("key file");
    let seed = std::env::var("ODDSFEED_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SEED);
    let mut rng = fastrand::Rng::with_seed(seed);
    let (sim, recorder) = start_sim(None);

    let mut kills = 0;
    for round in 0..KILLS {
        let mut relay = spawn_relay(&sim, &url, &key_file);
        tokio::time::sleep(Duration::from_millis(rng.u64(150..450))).await;
        if round == KILLS / 2 {
            nats.stop();
            tokio::time::sleep(Duration::from_millis(300)).await;
            nats.restart().expect("restart nats");
            tokio::time::sleep(Duration::from_millis(rng.u64(300..600))).await;
        }
        relay.kill().expect("SIGKILL the relay");
        let _ = relay.wait();
        kills += 1;
    }
    let last = spawn_relay(&sim, &url, &key_file);
    // Until the simulator has sent everything and the stream has stopped growing.
    let deadline = tokio::time::Instant::now() + GUARD;
    let mut previous = usize::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let now = data_count(&url).await;
        if recorder.len() as u64 >= MESSAGES && now == previous {
            break;
        }
        previous = now;
        assert!(
            tokio::time::Instant::now() < deadline,
            "the stream kept changing"
        );
    }
    // SIGTERM: a clean stop, exit 0, stdout empty without --echo.
    let status = Command::new("kill")
        .args(["-TERM", &last.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let out = last.wait_with_output().expect("relay exit");
    assert!(out.status.success(), "relay exit: {:?}", out.status);
    assert!(
        out.stdout.is_empty(),
        "stdout must stay empty without --echo"
    );

    let stored = read_all(&url).await;
    let recorded = recorder.messages();
    let mut snapshot_channels: BTreeSet<String> = BTreeSet::new();
    let mut stored_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (subject, payload) in &stored {
        let v: Value = serde_json::from_str(payload).expect("stored JSON");
        if subject.contains("._events.") {
            if v["event"] == "snapshot_required" {
                for c in v["channels"].as_str().unwrap_or_default().split(',') {
                    snapshot_channels.insert(c.to_owned());
                }
            }
            continue;
        }
        let channel = v["channel"].as_str().expect("channel").to_owned();
        stored_ids
            .entry(channel)
            .or_default()
            .push(v["entryId"].as_str().expect("entryId").to_owned());
    }
    // The first relay's fresh login started at the simulator's head: compare from there.
    let first_payload: BTreeSet<&str> = stored.iter().map(|(_, p)| p.as_str()).collect();
    let start = recorded
        .iter()
        .position(|m| first_payload.contains(m.json.as_str()))
        .expect("something stored");
    let mut sent: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in &recorded[start..] {
        sent.entry(m.channel.to_owned())
            .or_default()
            .push(format!("{}-{}", m.entry_id.0, m.entry_id.1));
    }
    let mut total_gaps = 0;
    for (channel, want) in &sent {
        let got = stored_ids.get(channel).cloned().unwrap_or_default();
        let unique: BTreeSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "{channel}: a message stored twice");
        // In order: the stored ids are a subsequence of the sent ones.
        let mut it = want.iter();
        for id in &got {
            assert!(
                it.any(|w| w == id),
                "{channel}: {id} out of order or never sent"
            );
        }
        let gaps = want.len() - got.len();
        total_gaps += gaps;
        if channel == "fixtures" || channel == "scores" {
            assert_eq!(gaps, 0, "{channel} is a replay channel: no gap allowed");
        } else if gaps > 0 {
            assert!(
                snapshot_channels.contains(channel),
                "{channel}: {gaps} messages missing without a snapshot_required"
            );
        }
    }
    println!(
        "relay chaos (seed {seed:#x}): {kills} SIGKILLs, 1 NATS restart, {} messages sent, {} stored, \
         {total_gaps} gaps on non-replay channels covered by snapshot_required ({:?})",
        recorded.len() - start,
        stored_ids.values().map(Vec::len).sum::<usize>(),
        snapshot_channels
    );
    sim.shutdown().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_echo_and_nats_tail_print_the_same_lines_as_the_stream_holds() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(&dir.path().join("js")) else {
        return;
    };
    let url = nats.url();
    let recorder = StreamRecorder::new();
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(200);
    cfg.record = Some(recorder.clone());
    let sim = WsSim::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .expect("sim")
        .spawn();
    let relay = Command::new(BIN)
        .args(["relay", "--url"])
        .arg(format!("ws://{}/ws", sim.local_addr()))
        .args([
            "--api-key",
            "relay-secret-key-0451",
            "--nats",
            &url,
            "--echo",
            "--stream",
            "FEED",
        ])
        .args(["--subject-prefix", "desk.feed"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn relay");
    let mut stream = None;
    for _ in 0..100 {
        if let Ok(s) = NatsStream::connect(
            NatsStreamConfig::new(&url)
                .stream("FEED")
                .subject_prefix("desk.feed")
                .subject("desk.feed.odds.>"),
        )
        .await
            && s.pending_at_start() > 0
        {
            stream = Some(s);
        }
        if recorder.len() >= 200 && stream.is_some() {
            break;
        }
        stream = None;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status()
        .expect("kill");
    let out = relay.wait_with_output().expect("relay");
    assert!(
        out.status.success(),
        "{:?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let echoed: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    // What the stream holds (data only), in order: --echo printed exactly that.
    let stored: Vec<String> = {
        let mut stream = NatsStream::connect(
            NatsStreamConfig::new(&url)
                .stream("FEED")
                .subject_prefix("desk.feed"),
        )
        .await
        .expect("consumer");
        let mut lines = Vec::new();
        loop {
            let received = stream.next().await.expect("open").expect("message");
            if let NatsItem::Data(msg) = &received.item {
                lines.push(msg.raw.clone());
            }
            if received.pending == 0 {
                break;
            }
        }
        lines
    };
    assert!(!stored.is_empty());
    // For a failure's message: how many messages (data and events) the stream holds, as a new
    // consumer counts them, against the reader's stop at `pending == 0`.
    let held = NatsStream::connect(
        NatsStreamConfig::new(&url)
            .stream("FEED")
            .subject_prefix("desk.feed"),
    )
    .await
    .map_or(0, |s| s.pending_at_start());
    assert_eq!(
        echoed, stored,
        "--echo prints each published line (the stream holds {held} messages, data and events)"
    );
    let sent: BTreeSet<String> = recorder.messages().into_iter().map(|m| m.json).collect();
    assert!(
        stored.iter().all(|l| sent.contains(l)),
        "stored lines are the simulator's"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("nats_connected"), "{stderr}");
    assert!(
        !stderr.contains("relay-secret-key-0451"),
        "the key never appears"
    );

    let tail = Command::new(BIN)
        .args(["nats-tail", "--nats", &url, "--stream", "FEED"])
        .args(["--subject", "desk.feed.odds.>", "--no-follow"])
        .output()
        .expect("nats-tail");
    assert!(tail.status.success());
    let tailed: Vec<String> = String::from_utf8_lossy(&tail.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let odds: Vec<String> = stored
        .iter()
        .filter(|l| l.contains(r#""channel":"odds""#))
        .cloned()
        .collect();
    assert_eq!(
        tailed, odds,
        "nats-tail prints the stored odds lines in order"
    );

    let limited = Command::new(BIN)
        .args([
            "nats-tail",
            "--nats",
            &url,
            "--stream",
            "FEED",
            "--limit",
            "3",
        ])
        .output()
        .expect("nats-tail --limit");
    assert!(limited.status.success());
    assert_eq!(String::from_utf8_lossy(&limited.stdout).lines().count(), 3);
    if let Some(first) = stream.as_mut() {
        let received = first.next().await.expect("open").expect("message");
        assert!(matches!(received.item, NatsItem::Data(_)));
    }
    sim.shutdown().await.ok();
}

/// Scrapes `port` until `done` holds on two scrapes in a row with the same figures.
async fn scrape_until_settled(
    port: u16,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let deadline = tokio::time::Instant::now() + GUARD;
    let mut last = None;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never settled; last scrape {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        let Some(now) = tokio::task::spawn_blocking(move || scrape(port))
            .await
            .expect("scrape task")
        else {
            continue;
        };
        if done(&now) && last.as_ref() == Some(&now) {
            return now;
        }
        last = Some(now);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relay_metrics_and_stats_count_what_it_published() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(&dir.path().join("js")) else {
        return;
    };
    let url = nats.url();
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(300);
    let sim = WsSim::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .expect("sim")
        .spawn();
    let port = free_port();
    // Running kills the relay if an assertion below fails first.
    let relay = Running::spawn(
        Command::new(BIN)
            .args(["relay", "--url"])
            .arg(format!("ws://{}/ws", sim.local_addr()))
            .args([
                "--api-key",
                "k",
                "--nats",
                &url,
                "--echo",
                "--events",
                "jsonl",
            ])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(["--stats-secs", "1"]),
    )
    .expect("spawn relay");
    // The stream is published; past one `--stats-secs` period (so that a periodic stats event
    // comes before the final one) the simulator stops, and the figures settle with the relay
    // disconnected (it would otherwise keep reconnecting to a finished stream).
    scrape_until_settled(port, |s| sum(s, "oddsfeed_messages_total") > 0.0).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sim.shutdown().await.ok();
    let samples = scrape_until_settled(port, |s| s.get("oddsfeed_connected") == Some(&0.0)).await;
    Command::new("kill")
        .args(["-TERM", &relay.id().to_string()])
        .status()
        .expect("kill");
    let out = relay.finish(GUARD).unwrap_or_else(|stderr| {
        panic!(
            "the relay ignored SIGTERM:
{stderr}"
        )
    });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let echoed = String::from_utf8_lossy(&out.stdout).lines().count() as f64;
    let stats: Vec<Value> = stderr
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "stats")
        .collect();
    assert!(
        stats.len() >= 2,
        "a periodic and a final stats event: {stderr}"
    );
    let last = stats.last().expect("stats");
    assert_eq!(sum(&samples, "oddsfeed_messages_total"), echoed);
    assert_eq!(last["messages"].as_f64(), Some(echoed), "{last}");
    assert!(echoed > 0.0, "nothing published");
    assert_unlabelled_counters_match(&samples, last);
    assert_eq!(
        samples.get("oddsfeed_message_lag_seconds_count"),
        Some(&echoed),
        "one lag observation per message"
    );
}
