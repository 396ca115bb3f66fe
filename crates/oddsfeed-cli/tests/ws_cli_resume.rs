//! Resume from the command line: across two runs sharing a `--state` file, and across server
//! drops within one run.

mod common;
mod ws_cli_common;

use std::time::Duration;

use common::as_strs;
use serde_json::Value;
use ws_cli_common::*;

const ALL: &str = "odds,fixtures,bookmakers,scores,clocks";

/// `oddsfeed ws` against `sim` with `--limit LIMIT --events jsonl`, reconnecting when dropped.
fn run_jsonl(sim: &SimProcess, limit: &str) -> Output {
    run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--limit",
            limit,
            "--events",
            "jsonl",
        ],
        &[],
        Duration::from_secs(60),
    )
}

#[test]
fn two_runs_with_one_state_file_print_everything_once() {
    let sim = SimProcess::start(&["--messages", "1000", "--replay-channels", ALL]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let state = dir.path().join("state.json");
    let state_arg = state.to_string_lossy().into_owned();
    let args = |limit: &'static str| {
        vec![
            "ws".to_owned(),
            "--url".to_owned(),
            sim.url.clone(),
            "--api-key".to_owned(),
            "K".to_owned(),
            "--state".to_owned(),
            state_arg.clone(),
            "--limit".to_owned(),
            limit.to_owned(),
            "--once".to_owned(),
        ]
    };

    let first = run(&as_strs(&args("300")), &[], Duration::from_secs(60));
    assert_eq!(first.code(), 0, "stderr:\n{}", first.stderr);
    let lines1 = first.json_lines();
    assert_eq!(lines1.len(), 300);

    // The state file holds the epoch and, per channel, the entryId of the last line printed.
    let saved = read_state(&state);
    let epoch = saved["serverEpoch"].as_str().unwrap_or_default();
    assert_eq!(epoch.len(), 32, "{saved}");
    let mut last = serde_json::Map::new();
    for line in &lines1 {
        last.insert(
            line["channel"].as_str().unwrap_or_default().to_owned(),
            line["entryId"].clone(),
        );
    }
    assert_eq!(saved["lastSeenId"], Value::Object(last));
    assert!(
        !std::fs::read_to_string(&state)
            .unwrap_or_default()
            .contains("\"K\"")
    );

    let second = run(&as_strs(&args("700")), &[], Duration::from_secs(60));
    assert_eq!(second.code(), 0, "stderr:\n{}", second.stderr);
    let lines2 = second.json_lines();
    assert_eq!(lines2.len(), 700);
    assert!(second.stderr.contains("resuming=true"), "{}", second.stderr);

    let mut all = lines1;
    all.extend(lines2);
    assert_eq!(missing_from_stream(DEFAULT_SEED, &all, 1000), []);
}

#[test]
fn server_drops_are_resumed_without_duplicate_or_gap() {
    let sim = SimProcess::start(&[
        "--messages",
        "900",
        "--drop-after",
        "250",
        "--replay-channels",
        ALL,
    ]);
    let out = run_jsonl(&sim, "900");
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 900);
    assert_eq!(missing_from_stream(DEFAULT_SEED, &lines, 900), []);
    let events = out.events();
    let count = |name: &str| events.iter().filter(|e| e["event"] == name).count();
    assert!(count("connected") >= 4, "{}", out.stderr);
    assert!(count("backoff") >= 3, "{}", out.stderr);
    assert_eq!(count("snapshot_required"), 0, "{}", out.stderr);
}

#[test]
fn reconnect_frames_are_followed_without_duplicate_or_gap() {
    let sim = SimProcess::start(&[
        "--messages",
        "900",
        "--reconnect-after",
        "300",
        "--replay-channels",
        ALL,
    ]);
    let out = run_jsonl(&sim, "900");
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(missing_from_stream(DEFAULT_SEED, &lines, 900), []);
    assert!(
        out.stderr.contains("\"event\":\"reconnect_requested\""),
        "{}",
        out.stderr
    );
}

#[test]
fn default_replay_channels_report_the_others_as_not_replayable() {
    let sim = SimProcess::start(&["--messages", "600", "--drop-after", "200"]);
    // Stop the client once it has been through the drops and the simulator's end of stream
    // (a close with 1000 after the 600th message), having reported a snapshot.
    let out = run_until_then_terminate(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--events",
            "jsonl",
        ],
        |events| {
            let seen = |name: &str| events.iter().any(|e| e["event"] == name);
            seen("snapshot_required")
                && events
                    .iter()
                    .any(|e| e["event"] == "disconnected" && e["code"] == 1000)
        },
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let events = out.events();
    let snapshots: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "snapshot_required")
        .collect();
    assert!(!snapshots.is_empty(), "{}", out.stderr);
    for snap in &snapshots {
        assert_eq!(snap["reason"], "not_replayable", "{snap}");
        assert_eq!(snap["raisedBy"], "client", "{snap}");
        for ch in snap["channels"].as_str().unwrap_or_default().split(',') {
            assert!(["odds", "bookmakers", "clocks"].contains(&ch), "{snap}");
        }
    }
    // Whatever is missing belongs to a channel that was reported.
    let lines = out.json_lines();
    let missing = missing_from_stream(DEFAULT_SEED, &lines, 600);
    for (position, channel) in &missing {
        assert!(
            ["odds", "bookmakers", "clocks"].contains(channel),
            "message {position} on replayable channel {channel} is missing"
        );
    }
}

#[test]
fn new_epoch_after_a_drop_is_server_restarted() {
    let sim = SimProcess::start(&[
        "--messages",
        "2000",
        "--drop-after",
        "150",
        "--restart-epoch",
        "--replay-channels",
        ALL,
    ]);
    let out = run_jsonl(&sim, "400");
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let events = out.events();
    let snapshots: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "snapshot_required")
        .collect();
    assert!(
        snapshots.iter().any(|s| s["reason"] == "server_restarted"),
        "{}",
        out.stderr
    );
}
