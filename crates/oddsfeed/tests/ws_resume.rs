//! Resume across reconnects and across runs: no duplicate and no gap on replayable channels, and
//! a `snapshot_required` for every channel that could not be replayed.

mod ws_common;

use std::collections::BTreeMap;
use std::time::Duration;

use oddsfeed::health::Health;
use oddsfeed::model::{EntryId, ReceiveType};
use oddsfeed::state::{CursorStore, FileStore};
use oddsfeed::ws::{Event, WsEvent};
use oddsfeed_sim::ws::{WsSimConfig, WsSimHandle};
use ws_common::*;

fn all_channels() -> Vec<String> {
    ALL_CHANNELS.iter().map(|c| (*c).to_owned()).collect()
}

/// Whether the simulator has produced its whole stream and the client holds every message of
/// `channels` (counted per channel against the simulator's own counters).
fn complete(sim: &WsSimHandle, run: &Run, total: u64, channels: &[&str]) -> bool {
    let stats = sim.stats();
    if stats.messages_generated < total {
        return false;
    }
    let mut got: BTreeMap<&str, u64> = BTreeMap::new();
    for msg in &run.data {
        *got.entry(msg.channel.as_str()).or_default() += 1;
    }
    channels.iter().all(|ch| {
        got.get(ch).copied().unwrap_or(0) >= stats.per_channel.get(*ch).copied().unwrap_or(0)
    })
}

/// Per channel, the client got exactly what the simulator generated: as many, all distinct.
fn assert_no_gap(sim: &WsSimHandle, run: &Run, channels: &[&str]) {
    run.assert_no_duplicates();
    let stats = sim.stats();
    let ids = run.ids_by_channel();
    for ch in channels {
        let got = ids.get(*ch).map_or(0, Vec::len) as u64;
        assert_eq!(
            Some(got),
            stats.per_channel.get(*ch).copied(),
            "{ch}: received vs generated"
        );
    }
}

fn snapshots(run: &Run) -> Vec<(String, Vec<String>, bool)> {
    run.session_events("snapshot_required")
        .into_iter()
        .filter_map(|e| match e {
            Event::SnapshotRequired {
                reason,
                channels,
                raised_by_client,
            } => Some((reason.clone(), channels.clone(), *raised_by_client)),
            _ => None,
        })
        .collect()
}

fn reconnects(run: &Run) -> usize {
    run.session_events("connected").len().saturating_sub(1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_resume_without_duplicate_or_gap() {
    const N: u64 = 1000;
    let mut cfg = sim_config(N);
    cfg.drop_after = Some(250);
    cfg.replay_channels = all_channels();
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::ZstdDict));
    let run = collect_until(&mut client, Duration::from_secs(30), |run| {
        complete(&sim, run, N, &ALL_CHANNELS)
    })
    .await;

    assert!(reconnects(&run) >= 3, "{:?}", run.names());
    assert_eq!(run.data.len() as u64, N);
    assert_no_gap(&sim, &run, &ALL_CHANNELS);
    assert_eq!(missing_from_stream(SEED, &run.data, N), []);
    assert!(snapshots(&run).is_empty(), "{:?}", snapshots(&run));
    assert!(!run.session_events("resume_complete").is_empty());
    drop(client);
    let _ = sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_without_replay_get_a_client_raised_snapshot_required() {
    const N: u64 = 600;
    let mut cfg = sim_config(N);
    cfg.drop_after = Some(200);
    // Default replay channels: fixtures, scores (as the vendor).
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::ZstdDict));
    let replayable = ["fixtures", "scores"];
    let run = collect_until(&mut client, Duration::from_secs(30), |run| {
        complete(&sim, run, N, &replayable)
    })
    .await;

    assert!(reconnects(&run) >= 1, "{:?}", run.names());
    assert_no_gap(&sim, &run, &replayable);
    let lost = missing_from_stream(SEED, &run.data, N);
    for m in &lost {
        assert!(
            ["odds", "bookmakers", "clocks"].contains(&m.channel),
            "{m:?}"
        );
    }
    let snaps = snapshots(&run);
    assert!(!snaps.is_empty(), "no snapshot_required: {:?}", run.names());
    // Feed health follows: up, then down and recovered around each drop, and every
    // snapshot_required restated for the application.
    let health: Vec<&Health> = run
        .events
        .iter()
        .filter_map(|e| match e {
            WsEvent::Health(h) => Some(h),
            _ => None,
        })
        .collect();
    assert_eq!(health.first(), Some(&&Health::Up), "{health:?}");
    assert!(health.contains(&&Health::Down), "{health:?}");
    assert!(health.contains(&&Health::Recovered), "{health:?}");
    let restated = health
        .iter()
        .filter(|h| matches!(h, Health::SnapshotRequired { .. }))
        .count();
    assert_eq!(restated, snaps.len(), "{health:?}");
    for (reason, channels, by_client) in &snaps {
        assert_eq!(reason, "not_replayable");
        assert!(by_client);
        for ch in channels {
            assert!(
                ["odds", "bookmakers", "clocks"].contains(&ch.as_str()),
                "{ch} is replayable but was reported"
            );
        }
    }
    // odds is by far the busiest channel: it certainly needed a snapshot.
    assert!(
        snaps
            .iter()
            .any(|(_, chs, _)| chs.iter().any(|c| c == "odds"))
    );
    drop(client);
    let _ = sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_frame_overlap_has_no_duplicate_and_no_gap() {
    // Whether the two connections overlap (the old one still streaming what the new one replays)
    // depends on timing: a fast client may have read everything the old connection sent before
    // the new one logs in. Every attempt must deliver each message once; at least one of three
    // must have overlapped, so that the dedupe is what kept it that way.
    for attempt in 1..=3 {
        let duplicates = reconnect_frame_run().await;
        if duplicates > 0 {
            return;
        }
        eprintln!("attempt {attempt}: the connections did not overlap; trying again");
    }
    panic!("in three runs the old connection never overlapped the new one");
}

/// One run of the reconnect-frame scenario, checked for duplicates and gaps; returns how many
/// duplicates the session dropped.
async fn reconnect_frame_run() -> u64 {
    // Enough messages after the reconnect frame that the old connection usually still streams
    // when the new one has logged in.
    const N: u64 = 5000;
    let mut cfg = sim_config(N);
    cfg.reconnect_after = Some(300);
    cfg.reconnect_grace = Duration::from_millis(300);
    cfg.replay_channels = all_channels();
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::ZstdDict));
    let run = collect_until(&mut client, Duration::from_secs(30), |run| {
        complete(&sim, run, N, &ALL_CHANNELS)
    })
    .await;

    assert!(
        !run.session_events("reconnect_requested").is_empty(),
        "{:?}",
        run.names()
    );
    assert_eq!(run.data.len() as u64, N);
    assert_no_gap(&sim, &run, &ALL_CHANNELS);
    assert_eq!(missing_from_stream(SEED, &run.data, N), []);
    assert!(snapshots(&run).is_empty(), "{:?}", snapshots(&run));
    let duplicates = client.detailed_stats().session.duplicates_dropped;
    drop(client);
    let _ = sim.shutdown().await;
    duplicates
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_server_epoch_raises_server_restarted() {
    let mut cfg = sim_config(2000);
    cfg.drop_after = Some(150);
    cfg.restart_epoch = true;
    cfg.replay_channels = all_channels();
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::Zstd));
    let run = collect_until(&mut client, Duration::from_secs(30), |run| {
        run.session_events("connected").len() >= 2 && run.data.len() >= 200
    })
    .await;

    let snaps = snapshots(&run);
    assert!(
        snaps
            .iter()
            .any(|(reason, _, _)| reason == "server_restarted"),
        "{snaps:?} / {:?}",
        run.names()
    );
    for (reason, _, _) in &snaps {
        assert_eq!(reason, "server_restarted");
    }
    // The two epochs differ, and the client follows the new one.
    let epochs: Vec<Option<String>> = run
        .session_events("login_ok")
        .into_iter()
        .filter_map(|e| match e {
            Event::LoginOk { server_epoch, .. } => Some(server_epoch.clone()),
            _ => None,
        })
        .collect();
    assert!(epochs.len() >= 2);
    assert_ne!(epochs[0], epochs[1]);
    assert_eq!(client.resume_state().server_epoch, epochs[epochs.len() - 1]);
    drop(client);
    let _ = sim.shutdown().await;
}

/// Two runs of a client with one state file against one simulator: the first takes 300
/// messages, the second the rest. Together: everything, nothing twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_file_carries_cursors_across_runs() {
    const N: u64 = 900;
    let mut cfg: WsSimConfig = sim_config(N);
    cfg.replay_channels = all_channels();
    let sim = start_sim(cfg);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let path = dir.path().join("state.json");

    let mut first = connect(
        client(&url(&sim), ReceiveType::ZstdDict)
            .once(true)
            .store(FileStore::new(&path)),
    );
    let run1 = collect_until(&mut first, Duration::from_secs(30), |run| {
        run.data.len() >= 300
    })
    .await;
    assert_eq!(run1.data.len(), 300);
    let state1 = first.resume_state();
    if let Err(e) = first.close().await {
        panic!("close: {e}");
    }
    let saved = FileStore::new(&path).load();
    let Ok(Some(saved)) = saved else {
        panic!("state not saved: {saved:?}");
    };
    assert_eq!(saved, state1);
    // The saved cursors are those of the last message taken on each channel.
    for (channel, ids) in run1.ids_by_channel() {
        assert_eq!(saved.last_seen_id.get(&channel), ids.last(), "{channel}");
    }

    let mut second = connect(
        client(&url(&sim), ReceiveType::ZstdDict)
            .once(true)
            .store(FileStore::new(&path)),
    );
    let run2 = collect_all(&mut second, Duration::from_secs(30)).await;
    assert!(run2.finished, "{:?}", run2.names());
    assert!(
        run2.session_events("connected")
            .iter()
            .any(|e| matches!(e, Event::Connected { resuming: true, .. })),
        "{:?}",
        run2.names()
    );

    let mut all = Run {
        data: run1.data,
        ..Run::default()
    };
    all.data.extend(run2.data);
    assert_eq!(all.data.len() as u64, N);
    assert_no_gap(&sim, &all, &ALL_CHANNELS);
    assert_eq!(missing_from_stream(SEED, &all.data, N), []);
    let last: BTreeMap<String, EntryId> = all
        .ids_by_channel()
        .into_iter()
        .filter_map(|(ch, ids)| ids.last().map(|id| (ch, *id)))
        .collect();
    if let Err(e) = second.close().await {
        panic!("close: {e}");
    }
    let Ok(Some(end)) = FileStore::new(&path).load() else {
        panic!("state not saved at the end");
    };
    assert_eq!(end.last_seen_id, last);
    let _ = sim.shutdown().await;
}
