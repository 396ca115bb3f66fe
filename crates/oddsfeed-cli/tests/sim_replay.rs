//! `oddsfeed sim ws --replay FILE` (CLI.md Part 2, "`--record FILE` and `oddsfeed replay`"),
//! as separate processes on loopback: a live run is recorded (with reconnects, in zstd-dict),
//! the simulator serves the recording, and `oddsfeed ws` in every receive type prints the
//! recording's data messages (channel, entryId, ts and payload as `oddsfeed replay` of the file
//! prints them), once each, in order; a client that loses its connection resumes within the
//! simulator's replay buffer and still gets every message once; a file that is not a ws
//! recording stops the simulator with exit 1.

mod common;
mod ws_cli_common;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use ws_cli_common::{Output, SimProcess, run};

const DEADLINE: Duration = Duration::from_secs(60);

const ALL: &str = "odds,fixtures,bookmakers,scores,clocks";

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {path:?}"))
}

/// What must survive the simulator: a data line's channel, entryId, ts and payload.
fn essence(line: &Value) -> (Value, Value, Value, Value) {
    (
        line["channel"].clone(),
        line["entryId"].clone(),
        line["ts"].clone(),
        line["payload"].clone(),
    )
}

fn essences(out: &Output) -> Vec<(Value, Value, Value, Value)> {
    out.json_lines().iter().map(essence).collect()
}

/// Records a live `ws` run (zstd-dict, reconnects after every 150 messages) into `file` and
/// returns `oddsfeed replay` of it: the reference the served stream is compared with.
fn recording(file: &Path) -> Output {
    let sim = SimProcess::start(&["--messages", "2000", "--drop-after", "150"]);
    let live = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "k",
            "--limit",
            "500",
            "--record",
            path_str(file),
        ],
        &[],
        DEADLINE,
    );
    assert_eq!(live.code(), 0, "live run failed:\n{}", live.stderr);
    let replayed = run(&["replay", path_str(file)], &[], DEADLINE);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    assert!(replayed.stdout.starts_with(&live.stdout));
    replayed
}

#[test]
fn every_receive_type_gets_the_recorded_messages_once_in_order() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("live.rec");
    let reference = essences(&recording(&file));
    assert!(reference.len() >= 500, "{} lines", reference.len());
    for receive_type in ["json", "binary", "zstd", "zstd-dict"] {
        // The stream is the simulator's one global stream: one simulator per client.
        let sim = SimProcess::start(&["--replay", path_str(&file)]);
        let out = run(
            &[
                "ws",
                "--url",
                &sim.url,
                "--api-key",
                "k",
                "--receive-type",
                receive_type,
                "--channels",
                ALL,
                "--once",
                "--events",
                "jsonl",
            ],
            &[],
            DEADLINE,
        );
        assert_eq!(out.code(), 0, "{receive_type}: {}", out.stderr);
        let served = essences(&out);
        assert_eq!(
            served.len(),
            reference.len(),
            "{receive_type}: line count differs"
        );
        assert!(served == reference, "{receive_type}: the lines differ");
        let events = out.events();
        let negotiated = events
            .iter()
            .find(|e| e["event"] == "login_ok")
            .map(|e| e["receiveType"].clone());
        assert_eq!(negotiated, Some(Value::from(receive_type)));
        assert!(
            !events.iter().any(|e| e["event"] == "decode_error"),
            "{receive_type}: {}",
            out.stderr
        );
        if receive_type == "zstd-dict" {
            // The simulator's own dictionaries, sent as it always does.
            let dicts = events.iter().filter(|e| e["event"] == "dict").count();
            assert_eq!(dicts, 3, "{}", out.stderr);
        }
    }
}

#[test]
fn a_client_that_loses_its_connection_resumes_within_the_recorded_stream() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("live.rec");
    let reference = essences(&recording(&file));
    // Every channel replayable, a drop every 120 messages: the client resumes from its cursors
    // and the simulator replays from its buffer (the window on the recorded ts, which are in the
    // past by now).
    let sim = SimProcess::start(&[
        "--replay",
        path_str(&file),
        "--replay-channels",
        ALL,
        "--drop-after",
        "120",
    ]);
    let limit = reference.len().to_string();
    let out = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "k",
            "--receive-type",
            "binary",
            "--limit",
            &limit,
            "--events",
            "jsonl",
        ],
        &[],
        DEADLINE,
    );
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let events = out.events();
    let logins = events.iter().filter(|e| e["event"] == "login_ok").count();
    assert!(logins >= 3, "expected reconnects: {}", out.stderr);
    assert!(
        events.iter().any(|e| e["event"] == "resume_complete"),
        "{}",
        out.stderr
    );
    assert!(
        !events.iter().any(|e| e["event"] == "snapshot_required"),
        "{}",
        out.stderr
    );
    assert!(essences(&out) == reference, "the lines differ");
}

#[test]
fn a_file_that_is_not_a_ws_recording_stops_the_simulator() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "not a recording\n").unwrap_or_else(|e| panic!("{e}"));
    let out = run(
        &["sim", "ws", "--port", "0", "--replay", path_str(&file)],
        &[],
        DEADLINE,
    );
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("not an oddsfeed recording"),
        "{}",
        out.stderr
    );
}
