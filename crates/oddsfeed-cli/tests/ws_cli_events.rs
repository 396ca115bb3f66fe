//! stderr events: one line per bad frame naming the docs/PROTOCOL.md reason (human and JSONL), while
//! stdout keeps every real message; `sim ws --write-corpus`; `demo`.

mod common;
mod ws_cli_common;

use std::time::Duration;

use serde_json::Value;
use ws_cli_common::*;

fn faulty_sim() -> SimProcess {
    SimProcess::start(&[
        "--messages",
        "300",
        "--bad-json-at",
        "50",
        "--unknown-dict-at",
        "100",
        "--bomb-at",
        "150",
    ])
}

#[test]
fn each_bad_frame_gets_a_decode_error_event_and_nothing_is_lost() {
    let sim = faulty_sim();
    let out = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--once",
            "--events",
            "jsonl",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let lines = out.json_lines();
    assert_eq!(lines.len(), 300);
    assert_is_the_generated_stream(DEFAULT_SEED, &lines);

    let events = out.events();
    for event in &events {
        assert!(event["event"].is_string(), "{event}");
    }
    let errors: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "decode_error")
        .collect();
    let reasons: Vec<&str> = errors.iter().filter_map(|e| e["reason"].as_str()).collect();
    assert_eq!(
        reasons,
        ["bad_json", "unknown_dict", "output_bound_exceeded"]
    );
    assert_eq!(errors[1]["dictId"], 4242);
    assert_eq!(errors[2]["dictId"], 0);
    assert_eq!(errors[0]["channel"], "odds", "{}", errors[0]);
    // The named events of docs/CLI.md, in order, around the data.
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(&names[..3], ["connecting", "connected", "login_ok"]);
    assert_eq!(events[2]["receiveType"], "zstd-dict");
    assert_eq!(names.iter().filter(|n| **n == "dict").count(), 3);
    // A successful run ends with its final `stats` event (docs/CLI.md, common flags).
    assert_eq!(
        &names[names.len() - 3..],
        ["disconnected", "finished", "stats"]
    );
}

#[test]
fn human_log_names_the_reason_and_the_dictionary() {
    let sim = faulty_sim();
    let out = run(
        &["ws", "--url", &sim.url, "--api-key", "K", "--once"],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    assert_eq!(out.json_lines().len(), 300);
    let decode: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("oddsfeed: decode_error "))
        .collect();
    assert_eq!(decode.len(), 3, "{}", out.stderr);
    assert!(decode[0].contains("reason=bad_json"), "{}", decode[0]);
    assert!(decode[1].contains("reason=unknown_dict"), "{}", decode[1]);
    assert!(decode[1].contains("dictId=4242"), "{}", decode[1]);
    assert!(
        decode[2].contains("reason=output_bound_exceeded"),
        "{}",
        decode[2]
    );
}

#[test]
fn sim_writes_a_corpus_and_exits() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let corpus = dir.path().join("corpus");
    let out = run(
        &[
            "sim",
            "ws",
            "--port",
            "0",
            "--write-corpus",
            &corpus.to_string_lossy(),
            "--messages",
            "200",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let frames = std::fs::read(corpus.join("frames.bin")).unwrap_or_default();
    // 200 records, each a u32 LE length and that many bytes.
    let mut at = 0usize;
    let mut records = 0;
    while at < frames.len() {
        let Some(len) = frames.get(at..at + 4) else {
            panic!("truncated length at {at}");
        };
        let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]) as usize;
        at += 4 + len;
        records += 1;
    }
    assert_eq!(at, frames.len());
    assert_eq!(records, 200);
    for id in [740_826_216u32, 740_826_217, 740_826_218] {
        assert!(
            corpus.join(format!("{id}.dict")).is_file(),
            "{id}.dict missing"
        );
    }
}

#[test]
fn demo_runs_without_flags_and_prints_a_summary() {
    let out = run(&["demo", "--seconds", "1"], &[], Duration::from_secs(30));
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    assert!(out.stdout.contains("messages"), "{}", out.stdout);
    assert!(out.stdout.contains("MB/s"), "{}", out.stdout);
    assert!(out.stdout.contains("total messages"), "{}", out.stdout);
    assert!(
        out.stdout.contains("dictionaries loaded               3"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("decode errors                     0"),
        "{}",
        out.stdout
    );
    let total: u64 = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("total messages"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(total > 0, "{}", out.stdout);
    // Not a terminal: no progress line on stderr.
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

#[test]
fn demo_in_json_mode() {
    let out = run(
        &["demo", "--seconds", "1", "--receive-type", "json"],
        &[],
        Duration::from_secs(30),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("oddsfeed demo: json over ws://127.0.0.1:"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("dictionaries loaded               0"),
        "{}",
        out.stdout
    );
}

#[test]
fn report_latency_counts_every_printed_message() {
    let sim = SimProcess::start(&["--messages", "200"]);
    let out = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--once",
            "--events",
            "jsonl",
            "--report-latency",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let printed = out.json_lines().len();
    assert_eq!(printed, 200);
    let latency = out
        .events()
        .into_iter()
        .find(|e| e["event"] == "latency")
        .unwrap_or_else(|| panic!("no latency event:\n{}", out.stderr));
    assert_eq!(latency["count"].as_u64(), Some(printed as u64), "{latency}");
    let p = |key: &str| latency[key].as_f64().unwrap_or(-1.0);
    assert!(p("p50_us") > 0.0, "{latency}");
    assert!(
        p("p50_us") <= p("p90_us")
            && p("p90_us") <= p("p99_us")
            && p("p99_us") <= p("p999_us")
            && p("p999_us") <= p("max_us"),
        "percentiles in order: {latency}"
    );
}
