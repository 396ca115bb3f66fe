//! `--record FILE` and `oddsfeed replay` (CLI.md Part 2, docs/RECORDING.md), as separate
//! processes against the simulators on loopback: a live run's stdout equals the replay's in all
//! four WebSocket receive types and for IMG; a recorder killed with SIGKILL leaves a file whose
//! replay is a prefix of the stream received; torn and corrupt files replay their complete
//! records and report `recording_truncated`; a file that is not a recording exits 1; memory of
//! recorder and replay stays bounded.

mod common;
mod ws_cli_common;

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{BIN, Running, Sim};
use serde_json::Value;
use ws_cli_common::{Output, SimProcess, key, run};

const DEADLINE: Duration = Duration::from_secs(60);

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("non-UTF-8 path {path:?}"))
}

fn replay(file: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["replay", path_str(file)];
    args.extend_from_slice(extra);
    run(&args, &[], DEADLINE)
}

/// Records a `ws --once` run against a fresh simulator and returns its output.
fn record_ws(receive_type: &str, messages: &str, file: &Path, extra: &[&str]) -> Output {
    let sim = SimProcess::start(&["--messages", messages]);
    let mut args = vec![
        "ws",
        "--url",
        &sim.url,
        "--api-key",
        "k",
        "--receive-type",
        receive_type,
        "--record",
        path_str(file),
    ];
    args.extend_from_slice(extra);
    let live = run(&args, &[], DEADLINE);
    assert_eq!(live.code(), 0, "live run failed:\n{}", live.stderr);
    live
}

#[test]
fn ws_replay_prints_what_the_live_run_printed_in_every_receive_type() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for receive_type in ["json", "binary", "zstd", "zstd-dict"] {
        let file = dir.path().join(format!("{receive_type}.rec"));
        let live = record_ws(receive_type, "500", &file, &["--once"]);
        assert_eq!(live.stdout.lines().count(), 500, "{receive_type}");
        let replayed = replay(&file, &[]);
        assert_eq!(replayed.code(), 0, "{receive_type}: {}", replayed.stderr);
        assert!(
            replayed.stdout == live.stdout,
            "{receive_type}: replay differs from the live run ({} vs {} lines)",
            replayed.stdout.lines().count(),
            live.stdout.lines().count()
        );
        assert!(
            !replayed.stderr.contains("recording_truncated"),
            "{}",
            replayed.stderr
        );
    }
}

#[test]
fn ws_replay_across_reconnects_and_a_limit_begins_with_the_live_output() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("drops.rec");
    let sim = SimProcess::start(&["--messages", "2000", "--drop-after", "150"]);
    let live = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "k",
            "--limit",
            "600",
            "--record",
            path_str(&file),
        ],
        &[],
        DEADLINE,
    );
    assert_eq!(live.code(), 0, "{}", live.stderr);
    assert_eq!(live.stdout.lines().count(), 600);
    let replayed = replay(&file, &["--events", "jsonl"]);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    assert!(
        replayed.stdout.starts_with(&live.stdout),
        "the replay does not begin with the live output"
    );
    let connects = replayed
        .events()
        .iter()
        .filter(|e| e["event"] == "connected")
        .count();
    assert!(connects >= 2, "expected reconnects in the recording");
    // --limit counts replayed lines as the live run counted printed ones.
    let limited = replay(&file, &["--limit", "600"]);
    assert_eq!(limited.code(), 0);
    assert_eq!(limited.stdout, live.stdout);
}

#[test]
fn img_replay_prints_what_the_live_run_printed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("img.rec");
    let sim = Sim::start(
        &["img", "--tcp", "--heartbeat-ms", "30", "--messages", "300"],
        &[],
    );
    let addr = format!("127.0.0.1:{}", sim.port);
    let live = run(
        &[
            "img",
            "--addr",
            &addr,
            "--tcp",
            "--once",
            "--heartbeats",
            "--request",
            r#"{"request":"subscribe","msg":{}}"#,
            "--record",
            path_str(&file),
        ],
        &[],
        DEADLINE,
    );
    assert_eq!(live.code(), 0, "{}", live.stderr);
    assert!(live.stdout.lines().count() > 100, "{}", live.stderr);
    let replayed = replay(&file, &["--heartbeats"]);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    assert_eq!(replayed.stdout, live.stdout);
    // Without --heartbeats, the same lines minus the heartbeats.
    let quiet = replay(&file, &[]);
    let expected: Vec<&str> = live
        .stdout
        .lines()
        .filter(|l| !l.contains("\"heartbeat\""))
        .collect();
    assert!(expected.len() < live.stdout.lines().count());
    assert_eq!(quiet.stdout.lines().collect::<Vec<_>>(), expected);
}

#[test]
fn a_recorder_killed_with_sigkill_leaves_a_replayable_prefix() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("killed.rec");
    let sim = SimProcess::start(&["--forever", "--rate", "3000"]);
    let client = Running::spawn(Command::new(BIN).args([
        "ws",
        "--url",
        &sim.url,
        "--api-key",
        "k",
        "--receive-type",
        "zstd-dict",
        "--record",
        path_str(&file),
    ]))
    .unwrap_or_else(|e| panic!("{e}"));
    // Let data flow, then kill without warning.
    let start = Instant::now();
    while std::fs::metadata(&file).map_or(0, |m| m.len()) < 200_000
        && start.elapsed() < Duration::from_secs(20)
    {
        thread::sleep(Duration::from_millis(50));
    }
    let pid = client.id().to_string();
    let killed = Command::new("kill").args(["-KILL", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()));
    let live = client
        .finish(DEADLINE)
        .unwrap_or_else(|e| panic!("not reaped: {e}"));
    assert!(live.status.code().is_none(), "the recorder was not killed");
    let live: Output = live.into();

    let replayed = replay(&file, &["--events", "jsonl"]);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    let lines = replayed.json_lines();
    assert!(lines.len() > 50, "only {} lines replayed", lines.len());
    // What the replay prints is what the live run received, in order, each message once (the
    // paced simulator was already producing before the client joined: the stream starts
    // mid-way, so it is checked per channel).
    let mut last: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for line in &lines {
        let (channel, ts, seq) = key(line);
        if let Some(previous) = last.insert(channel.clone(), (ts, seq)) {
            assert!(
                previous < (ts, seq),
                "{channel}: {previous:?} then {ts}-{seq}"
            );
        }
    }
    // The replay and the live run's stdout (what it flushed before dying) are both prefixes of
    // what the live run received: whichever is shorter is a prefix of the other. (The recorder
    // writes in batches from its own thread, so at the kill the file may hold fewer frames than
    // the live run printed, or more.)
    let (short, long) = if replayed.stdout.len() <= live.stdout.len() {
        (&replayed.stdout, &live.stdout)
    } else {
        (&live.stdout, &replayed.stdout)
    };
    assert!(
        long.starts_with(short.as_str()),
        "the replay and the live output diverge"
    );
    let truncations = replayed
        .events()
        .iter()
        .filter(|e| e["event"] == "recording_truncated")
        .count();
    assert!(truncations <= 1);
}

/// A small ws recording and the live stdout it replays to.
fn small_recording(dir: &Path) -> (std::path::PathBuf, Output) {
    let file = dir.join("small.rec");
    let live = record_ws("zstd-dict", "200", &file, &["--once"]);
    (file, live)
}

#[test]
fn a_torn_tail_is_reported_once_and_every_complete_record_replays() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (file, live) = small_recording(dir.path());
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    for cut in [bytes.len() - 1, bytes.len() / 2, bytes.len() / 3 + 7] {
        let torn = dir.path().join(format!("torn-{cut}.rec"));
        std::fs::write(&torn, &bytes[..cut]).unwrap_or_else(|e| panic!("{e}"));
        let replayed = replay(&torn, &["--events", "jsonl"]);
        assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
        assert!(live.stdout.starts_with(&replayed.stdout), "cut {cut}");
        let events = replayed.events();
        let truncated: Vec<&Value> = events
            .iter()
            .filter(|e| e["event"] == "recording_truncated")
            .collect();
        assert_eq!(truncated.len(), 1, "cut {cut}: {}", replayed.stderr);
        assert_eq!(truncated[0]["reason"], "incomplete");
    }
}

#[test]
fn a_corrupt_byte_ends_the_replay_there_with_a_checksum_mismatch() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (file, live) = small_recording(dir.path());
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    let bad = dir.path().join("bad.rec");
    std::fs::write(&bad, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let replayed = replay(&bad, &["--events", "jsonl"]);
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    assert!(live.stdout.starts_with(&replayed.stdout));
    assert!(replayed.stdout.lines().count() < live.stdout.lines().count());
    let events = replayed.events();
    let truncated: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "recording_truncated")
        .collect();
    assert_eq!(truncated.len(), 1, "{}", replayed.stderr);
    assert!(
        truncated[0]["reason"] == "checksum_mismatch" || truncated[0]["reason"] == "bad_length",
        "{}",
        truncated[0]
    );
}

/// The data frames of a ws recording, read independently of the CLI: count and summed lengths
/// of binary frames, and of text frames that carry an entryId (json mode).
fn recorded_data_frames(file: &Path) -> (u64, u64) {
    use oddsfeed::recording::{Item, RecordKind, SliceReader};
    let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = SliceReader::new(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let (mut frames, mut total) = (0, 0);
    while let Some(Item::Record(record)) = reader.next() {
        let data = match record.kind {
            RecordKind::Binary => true,
            RecordKind::Text => serde_json::from_slice::<Value>(record.payload)
                .is_ok_and(|d| d.get("entryId").is_some()),
            _ => false,
        };
        if data {
            frames += 1;
            total += record.payload.len() as u64;
        }
    }
    (frames, total)
}

#[test]
fn bench_decode_takes_a_ws_recording_as_its_corpus() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    for receive_type in ["json", "binary", "zstd-dict"] {
        let file = dir.path().join(format!("{receive_type}.rec"));
        let live = record_ws(receive_type, "300", &file, &["--once"]);
        assert_eq!(live.stdout.lines().count(), 300);
        let out = run(
            &[
                "bench",
                "decode",
                "--corpus",
                path_str(&file),
                "--passes",
                "2",
            ],
            &[],
            DEADLINE,
        );
        assert_eq!(out.code(), 0, "{receive_type}: {}", out.stderr);
        let lines = out.json_lines();
        assert_eq!(lines.len(), 1, "{}", out.stdout);
        let report = &lines[0];
        // The recorded receive type, every data frame once (no reconnect here), bytes as
        // recorded; dictionaries from the recorded dict frames (no unknown_dict failure).
        let (frames, bytes_in) = recorded_data_frames(&file);
        assert_eq!(frames, 300, "{receive_type}");
        assert_eq!(report["mode"], receive_type, "{report}");
        assert_eq!(report["frames"].as_u64(), Some(frames), "{report}");
        assert_eq!(report["bytes_in"].as_u64(), Some(bytes_in), "{report}");
        assert_eq!(report["passes"].as_u64(), Some(2), "{report}");
        let bytes_out = report["bytes_out"].as_u64().unwrap_or(0);
        if receive_type == "zstd-dict" {
            assert!(bytes_out > 3 * bytes_in, "{report}");
        } else {
            assert_eq!(bytes_out, bytes_in, "{report}");
        }
        assert!(report["frames_per_s"].as_f64().is_some_and(|f| f > 0.0));
    }
    // An IMG recording is not a decode corpus.
    use oddsfeed::recording::{Feed, Header, Writer};
    let img = dir.path().join("img.rec");
    let file = std::fs::File::create(&img).unwrap_or_else(|e| panic!("{e}"));
    let writer = Writer::new(file, &Header::new(Feed::Img, 1)).unwrap_or_else(|e| panic!("{e}"));
    writer.finish().unwrap_or_else(|e| panic!("{e}"));
    let out = run(
        &["bench", "decode", "--corpus", path_str(&img)],
        &[],
        DEADLINE,
    );
    assert_eq!(out.code(), 1);
    assert!(
        out.stderr.contains("not a WebSocket recording"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_file_that_is_not_a_recording_exits_1_with_the_reason_last() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let json = dir.path().join("not.rec");
    std::fs::write(&json, "{\"channel\":\"odds\"}\n").unwrap_or_else(|e| panic!("{e}"));
    let out = replay(&json, &[]);
    assert_eq!(out.code(), 1);
    assert!(out.stdout.is_empty());
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("not an oddsfeed recording"), "{last}");

    let (file, _) = small_recording(dir.path());
    let mut bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    bytes[8] = 99;
    let future = dir.path().join("future.rec");
    std::fs::write(&future, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let out = replay(&future, &["--events", "jsonl"]);
    assert_eq!(out.code(), 1);
    assert!(out.stdout.is_empty());
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(
        last.contains("unsupported recording format version 99"),
        "{last}"
    );

    let missing = replay(&dir.path().join("absent.rec"), &[]);
    assert_eq!(missing.code(), 1);
}

/// Peak resident memory (VmHWM, KiB) of `pid`, if it is still running.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Runs `command` to the end, sampling its peak RSS; returns the output and the last sample.
fn run_measuring(command: &mut Command) -> (Output, u64) {
    let running = Running::spawn(command).unwrap_or_else(|e| panic!("{e}"));
    let pid = running.id();
    let mut peak = 0;
    let start = Instant::now();
    while let Some(kib) = peak_rss_kib(pid) {
        peak = peak.max(kib);
        // A zombie has no VmHWM line: the loop ends when the process has exited.
        if start.elapsed() > DEADLINE {
            break;
        }
        thread::sleep(Duration::from_millis(5));
    }
    let output = running
        .finish(DEADLINE)
        .unwrap_or_else(|e| panic!("did not finish: {e}"));
    (output.into(), peak)
}

#[test]
fn recorder_and_replay_memory_stay_bounded_on_a_long_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("long.rec");
    // JSON frames: the recording grows to tens of MB, far above the bounds checked below.
    let sim = SimProcess::start(&["--messages", "30000"]);
    let (live, record_peak) = run_measuring(Command::new(BIN).args([
        "ws",
        "--url",
        &sim.url,
        "--api-key",
        "k",
        "--once",
        "--receive-type",
        "json",
        "--record",
        path_str(&file),
    ]));
    assert_eq!(live.code(), 0, "{}", live.stderr);
    let size = std::fs::metadata(&file).map_or(0, |m| m.len());
    assert!(size > 30 << 20, "recording only {size} bytes");
    let (replayed, replay_peak) =
        run_measuring(Command::new(BIN).args(["replay", path_str(&file)]));
    assert_eq!(replayed.code(), 0, "{}", replayed.stderr);
    assert_eq!(replayed.stdout.lines().count(), 30000);
    eprintln!(
        "recording {} MiB; peak RSS: recorder {} MiB, replay {} MiB",
        size >> 20,
        record_peak >> 10,
        replay_peak >> 10
    );
    // Neither holds the recording in memory (each bound is below the file's size).
    assert!(
        record_peak > 0 && record_peak < 28 << 10,
        "recorder peak {record_peak} KiB"
    );
    assert!(
        replay_peak > 0 && replay_peak < 28 << 10,
        "replay peak {replay_peak} KiB"
    );
}
