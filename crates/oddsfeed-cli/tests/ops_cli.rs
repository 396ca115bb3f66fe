//! Operations, end to end against the simulators on loopback (CLI.md Part 2, "Common flags" and
//! "`--metrics-addr`"): the scraped Prometheus counters equal what stdout and the `stats` event
//! say, the lag histogram counts every message, SIGTERM mid-stream saves a state file the next
//! run resumes from exactly, SIGTERM while backing off exits 0 at once, every JSONL event carries
//! a millisecond UTC `ts`, and `RUST_LOG=trace` never shows the key.

mod common;
mod ws_cli_common;

use std::collections::BTreeMap;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{
    HANG_GUARD, Running, Sim, as_strs, assert_unlabelled_counters_match, free_port, scrape, sum,
};
use serde_json::Value;
use ws_cli_common::*;

const ALL: &str = "odds,fixtures,bookmakers,scores,clocks";

/// Scrapes until `done` holds for three scrapes in a row 300 ms apart with the same figures
/// (the feed has gone quiet), within the hang guard.
fn scrape_until_quiet(
    port: u16,
    done: impl Fn(&BTreeMap<String, f64>) -> bool,
) -> BTreeMap<String, f64> {
    let end = Instant::now() + HANG_GUARD;
    let mut last: Option<BTreeMap<String, f64>> = None;
    let mut same = 0;
    loop {
        assert!(Instant::now() < end, "never quiet; last scrape {last:?}");
        thread::sleep(Duration::from_millis(300));
        let Some(now) = scrape(port) else { continue };
        if done(&now) && last.as_ref() == Some(&now) {
            same += 1;
            if same >= 2 {
                return now;
            }
        } else {
            same = 0;
        }
        last = Some(now);
    }
}

fn terminate(running: Running) -> Output {
    let pid = running.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "cannot signal {pid}");
    match running.finish(Duration::from_secs(10)) {
        Ok(output) => output.into(),
        Err(stderr) => panic!("ignored SIGTERM; stderr:\n{stderr}"),
    }
}

fn spawn(args: &[&str], env: &[(&str, &str)]) -> Running {
    Running::spawn(
        Command::new(bin())
            .args(args)
            .env_remove("ODDSPAPI_API_KEY")
            .envs(env.iter().copied()),
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The last `stats` event on stderr.
fn last_stats(out: &Output) -> Value {
    out.events()
        .into_iter()
        .rev()
        .find(|e| e["event"] == "stats")
        .unwrap_or_else(|| panic!("no stats event; stderr:\n{}", out.stderr))
}

/// Messages per channel (or kind) as stdout shows them.
fn count_by(lines: &[Value], key: impl Fn(&Value) -> String) -> BTreeMap<String, f64> {
    let mut counts = BTreeMap::new();
    for line in lines {
        *counts.entry(key(line)).or_insert(0.0) += 1.0;
    }
    counts
}

/// The scrape's per-label message counts: `label value → count`.
fn messages_by_label(samples: &BTreeMap<String, f64>, label: &str) -> BTreeMap<String, f64> {
    let prefix = format!("oddsfeed_messages_total{{{label}=\"");
    samples
        .iter()
        .filter_map(|(name, v)| {
            let value = name.strip_prefix(&prefix)?.strip_suffix("\"}")?;
            Some((value.to_owned(), *v))
        })
        .collect()
}

fn stats_channels(stats: &Value) -> BTreeMap<String, f64> {
    stats["channels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_f64().unwrap_or(-1.0)))
                .collect()
        })
        .unwrap_or_default()
}

/// The figures every feed must agree on: scrape = final `stats` event = stdout.
fn assert_counts_agree(
    samples: &BTreeMap<String, f64>,
    stats: &Value,
    by_label: BTreeMap<String, f64>,
    label: &str,
    printed: usize,
) {
    let printed = printed as f64;
    assert_eq!(sum(samples, "oddsfeed_messages_total"), printed);
    assert_eq!(stats["messages"].as_f64(), Some(printed), "{stats}");
    assert_eq!(messages_by_label(samples, label), by_label);
    assert_eq!(stats_channels(stats), by_label, "{stats}");
    assert_unlabelled_counters_match(samples, stats);
}

#[test]
fn ws_scraped_counters_equal_stdout_and_the_stats_event() {
    let sim = SimProcess::start(&[
        "--messages",
        "600",
        "--bad-json-at",
        "100",
        "--drop-after",
        "300",
        "--replay-channels",
        ALL,
    ]);
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let client = spawn(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--receive-type",
            "zstd-dict",
            "--events",
            "jsonl",
            "--metrics-addr",
            &addr,
            "--stats-secs",
            "1",
        ],
        &[],
    );
    // The stream ends after 600 messages and the simulator then closes every connection at once
    // ("end of stream"), so the client keeps reconnecting: stop the simulator once the messages
    // are in, so that the figures settle (failed connection attempts count nothing).
    scrape_until_quiet(port, |s| sum(s, "oddsfeed_messages_total") >= 590.0);
    drop(sim);
    let samples = scrape_until_quiet(port, |s| s.get("oddsfeed_connected") == Some(&0.0));
    let out = terminate(client);
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let lines = out.json_lines();
    let stats = last_stats(&out);
    let by_channel = count_by(&lines, |l| l["channel"].as_str().unwrap_or("").to_owned());
    assert_counts_agree(&samples, &stats, by_channel, "channel", lines.len());

    // The bad frame is counted under its reason; the connection counts are right.
    assert_eq!(
        samples.get("oddsfeed_decode_errors_total{reason=\"bad_json\"}"),
        Some(&1.0),
        "{samples:?}"
    );
    assert!(
        sum(&samples, "oddsfeed_reconnects_total") >= 1.0,
        "{samples:?}"
    );
    assert_eq!(samples.get("oddsfeed_heartbeat_stale"), Some(&0.0));
    assert!(
        sum(&samples, "oddsfeed_decoded_bytes_total") > sum(&samples, "oddsfeed_wire_bytes_total")
    );
    // Every message carries its ts: one lag observation each.
    assert_eq!(
        samples.get("oddsfeed_message_lag_seconds_count"),
        Some(&(lines.len() as f64))
    );
    assert_eq!(
        samples.get("oddsfeed_message_lag_seconds_bucket{le=\"+Inf\"}"),
        Some(&(lines.len() as f64))
    );
    // A periodic stats event came before the final one, with the same keys.
    let periodic = out
        .events()
        .iter()
        .filter(|e| e["event"] == "stats")
        .count();
    assert!(periodic >= 2, "{}", out.stderr);
}

#[test]
fn img_scraped_counters_equal_stdout_and_the_stats_event() {
    let sim = Sim::start(
        &["img", "--tcp", "--heartbeat-ms", "200", "--messages", "300"],
        &[],
    );
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let client = spawn(
        &[
            "img",
            "--addr",
            &sim.tcp_addr(),
            "--tcp",
            "--events",
            "jsonl",
            "--metrics-addr",
            &addr,
            "--stats-secs",
            "1",
        ],
        &[],
    );
    // Heartbeats keep coming (counted as lines, not as messages): once the snapshot is in,
    // stop the simulator so that every figure settles.
    let end = Instant::now() + HANG_GUARD;
    let mut last = -1.0;
    loop {
        assert!(Instant::now() < end, "the snapshot never settled");
        thread::sleep(Duration::from_millis(500));
        let Some(now) = scrape(port) else { continue };
        let messages = sum(&now, "oddsfeed_messages_total");
        if messages > 0.0 && messages == last && now.get("oddsfeed_connected") == Some(&1.0) {
            break;
        }
        last = messages;
    }
    drop(sim);
    let samples = scrape_until_quiet(port, |s| s.get("oddsfeed_connected") == Some(&0.0));
    let out = terminate(client);
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let lines = out.json_lines();
    assert!(!lines.is_empty());
    let stats = last_stats(&out);
    // Heartbeats are not printed without --heartbeats, and not counted either.
    let by_kind = count_by(&lines, |l| {
        if l["mode"] == "resp" {
            "resp".to_owned()
        } else {
            l["type"].as_str().unwrap_or("unknown").to_owned()
        }
    });
    assert!(!by_kind.contains_key("heartbeat"), "{by_kind:?}");
    assert_counts_agree(&samples, &stats, by_kind, "kind", lines.len());
    let pushes = lines.iter().filter(|l| l["type"].is_string()).count();
    assert_eq!(
        samples.get("oddsfeed_message_lag_seconds_count"),
        Some(&(pushes as f64))
    );
}

/// Copies the ws recording `from` to `to` with its last record (the last connection's end)
/// moved `by_ns` later: as if the connection had stayed open, idle, that much longer.
fn with_idle_end(from: &std::path::Path, to: &std::path::Path, by_ns: i64) {
    use oddsfeed::recording::{Item, RecordKind, RecordRef, SliceReader, Writer};
    let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("{e}"));
    let mut reader = SliceReader::new(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let mut records = Vec::new();
    while let Some(Item::Record(record)) = reader.next() {
        records.push(record);
    }
    let file = std::fs::File::create(to).unwrap_or_else(|e| panic!("{e}"));
    let mut writer = Writer::new(file, reader.header()).unwrap_or_else(|e| panic!("{e}"));
    let last = records.len() - 1;
    assert_eq!(
        records[last].kind,
        RecordKind::ConnEnd,
        "the recording ends with a connection end"
    );
    for (i, record) in records.iter().enumerate() {
        let time = if i == last {
            record.time_ns + by_ns
        } else {
            record.time_ns
        };
        let moved = RecordRef::new(record.kind, record.conn, time, record.payload);
        writer.append(&moved).unwrap_or_else(|e| panic!("{e}"));
    }
    writer.finish().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn replay_scraped_counters_equal_stdout_and_the_stats_event() {
    // A live run with a decode error and reconnects, recorded.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let live_file = dir.path().join("live.rec");
    let sim = SimProcess::start(&[
        "--messages",
        "2000",
        "--bad-json-at",
        "100",
        "--drop-after",
        "150",
    ]);
    let live = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--limit",
            "400",
            "--record",
            live_file.to_str().unwrap_or_default(),
        ],
        &[],
        HANG_GUARD,
    );
    assert_eq!(live.code(), 0, "{}", live.stderr);
    drop(sim);
    // Paced, the replay prints everything within the live run's duration, then waits 5 s for the
    // (moved) connection end: the scrape happens then, after the last line.
    let file = dir.path().join("idle-end.rec");
    with_idle_end(&live_file, &file, 5_000_000_000);
    let all = run(
        &["replay", file.to_str().unwrap_or_default()],
        &[],
        HANG_GUARD,
    );
    assert_eq!(all.code(), 0, "{}", all.stderr);
    let expected = all.stdout.lines().count() as f64;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let replay = spawn(
        &[
            "replay",
            file.to_str().unwrap_or_default(),
            "--pace",
            "--events",
            "jsonl",
            "--metrics-addr",
            &addr,
            "--stats-secs",
            "1",
        ],
        &[],
    );
    let samples = scrape_until_quiet(port, |s| sum(s, "oddsfeed_messages_total") >= expected);
    let out: Output = replay
        .finish(HANG_GUARD)
        .unwrap_or_else(|stderr| panic!("replay hung:\n{stderr}"))
        .into();
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(
        out.stdout, all.stdout,
        "paced and unpaced replays print the same"
    );
    let lines = out.json_lines();
    let stats = last_stats(&out);
    let by_channel = count_by(&lines, |l| l["channel"].as_str().unwrap_or("").to_owned());
    assert_counts_agree(&samples, &stats, by_channel, "channel", lines.len());
    assert_eq!(
        samples.get("oddsfeed_decode_errors_total{reason=\"bad_json\"}"),
        Some(&1.0),
        "{samples:?}"
    );
    assert!(
        sum(&samples, "oddsfeed_reconnects_total") >= 1.0,
        "{samples:?}"
    );
    assert_eq!(
        samples.get("oddsfeed_connected"),
        Some(&1.0),
        "still in the idle connection"
    );
    assert_eq!(
        samples.get("oddsfeed_message_lag_seconds_count"),
        Some(&(lines.len() as f64))
    );
    // The recorded lag (arrival minus ts on the live run) is small, not the recording's age.
    let lag_sum = samples
        .get("oddsfeed_message_lag_seconds_sum")
        .copied()
        .unwrap_or(f64::NAN);
    assert!(lag_sum / (lines.len() as f64) < 5.0, "mean lag {lag_sum}");
}

#[test]
fn sigterm_mid_stream_saves_a_state_the_next_run_resumes_exactly() {
    // Unpaced: the stream advances only as fast as a client reads it, and its contents can be
    // rebuilt from the received times (see `missing_from_stream`).
    let sim = SimProcess::start(&["--messages", "1000000", "--replay-channels", ALL]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let state = dir.path().join("state.json");
    let state_arg = state.to_string_lossy().into_owned();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "ws".to_owned(),
            "--url".to_owned(),
            sim.url.clone(),
            "--api-key".to_owned(),
            "K".to_owned(),
            "--state".to_owned(),
            state_arg.clone(),
            "--events".to_owned(),
            "jsonl".to_owned(),
        ];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let first = run_then_terminate(&as_strs(&args(&[])), Duration::from_millis(1000));
    assert_eq!(first.code(), 0, "stderr:\n{}", first.stderr);
    let lines1 = first.json_lines();
    assert!(
        !lines1.is_empty() && lines1.len() < 1_000_000,
        "{} lines; stop earlier",
        lines1.len()
    );
    assert!(first.stderr.contains("\"event\":\"interrupted\""));
    // The state names exactly the last line printed per channel.
    let saved = read_state(&state);
    let mut last = serde_json::Map::new();
    for line in &lines1 {
        last.insert(
            line["channel"].as_str().unwrap_or_default().to_owned(),
            line["entryId"].clone(),
        );
    }
    assert_eq!(saved["lastSeenId"], Value::Object(last));

    // The second run resumes from the file: both runs together print the first messages of the
    // stream, each once, none left out.
    let second = run(
        &as_strs(&args(&["--limit", "2000"])),
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(second.code(), 0, "stderr:\n{}", second.stderr);
    assert!(
        second.stderr.contains("\"resuming\":true"),
        "{}",
        second.stderr
    );
    let mut all = lines1;
    all.extend(second.json_lines());
    let total = all.len() as u64;
    assert_eq!(missing_from_stream(DEFAULT_SEED, &all, total), []);
}

#[test]
fn sigterm_while_backing_off_exits_zero_promptly() {
    // Nothing listens on this port: the client connects, fails and backs off.
    let port = free_port();
    let url = format!("ws://127.0.0.1:{port}/ws");
    for args in [
        vec!["ws", "--url", &url, "--api-key", "K", "--events", "jsonl"],
        vec![
            "img",
            "--addr",
            &url[5..url.len() - 3],
            "--tcp",
            "--events",
            "jsonl",
        ],
    ] {
        let running = spawn(&args, &[]);
        thread::sleep(Duration::from_millis(1500));
        let signalled = Instant::now();
        let out = terminate(running);
        let took = signalled.elapsed();
        assert_eq!(out.code(), 0, "{args:?} stderr:\n{}", out.stderr);
        let events = out.events();
        assert!(
            events.iter().any(|e| e["event"] == "backoff"),
            "{args:?} never backed off:\n{}",
            out.stderr
        );
        assert!(events.iter().any(|e| e["event"] == "interrupted"));
        // Generous on a loaded machine; a client that waited out its backoff (up to 30 s)
        // would not make it.
        assert!(took < Duration::from_secs(5), "{args:?} took {took:?}");
    }
}

#[test]
fn every_jsonl_event_has_a_millisecond_utc_ts() {
    let sim = SimProcess::start(&["--messages", "50"]);
    let out = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--events",
            "jsonl",
            "--limit",
            "50",
        ],
        &[],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    let events = out.events();
    assert!(events.len() >= 3, "{}", out.stderr);
    for event in &events {
        let ts = event["ts"]
            .as_str()
            .unwrap_or_else(|| panic!("no ts: {event}"));
        // 2026-12-06T10:15:02.123Z
        let bytes = ts.as_bytes();
        assert_eq!(bytes.len(), 24, "{ts}");
        for (i, b) in bytes.iter().enumerate() {
            let expected = match i {
                4 | 7 => Some(b'-'),
                10 => Some(b'T'),
                13 | 16 => Some(b':'),
                19 => Some(b'.'),
                23 => Some(b'Z'),
                _ => None,
            };
            match expected {
                Some(c) => assert_eq!(*b, c, "{ts}"),
                None => assert!(b.is_ascii_digit(), "{ts}"),
            }
        }
        assert!(ts >= "2025-", "{ts}");
    }
}

#[test]
fn rust_log_trace_never_shows_the_key() {
    const KEY: &str = "sekrit-ops-key-6f1d2a";
    for events in ["human", "jsonl"] {
        // Each run gets its own stream (a simulator's stream ends after --messages).
        let sim = SimProcess::start(&["--messages", "40", "--api-key", KEY]);
        let out = run(
            &[
                "ws",
                "--url",
                &sim.url,
                "--api-key",
                KEY,
                "--events",
                events,
                "--limit",
                "40",
            ],
            &[("RUST_LOG", "trace")],
            Duration::from_secs(60),
        );
        assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
        assert_eq!(out.json_lines().len(), 40);
        // Tracing is on: something was logged beyond the events.
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
            "RUST_LOG=trace logged nothing:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains(KEY), "key on stderr");
        assert!(!out.stdout.contains(KEY), "key on stdout");
    }
    // A refused key (here from the environment) never shows either.
    let sim = SimProcess::start(&["--messages", "40", "--api-key", KEY]);
    let out = run(
        &["ws", "--url", &sim.url, "--events", "jsonl", "--once"],
        &[
            ("RUST_LOG", "trace"),
            ("ODDSPAPI_API_KEY", "wrong-key-77a1"),
        ],
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), 3, "stderr:\n{}", out.stderr);
    assert!(!out.stderr.contains("wrong-key-77a1"));
}

#[test]
fn simulators_and_demo_stop_cleanly_on_sigterm() {
    for args in [
        vec!["sim", "ws", "--port", "0", "--forever"],
        vec!["sim", "img", "--port", "0", "--tcp", "--forever"],
        vec!["demo", "--seconds", "60"],
    ] {
        let running = spawn(&args, &[]);
        thread::sleep(Duration::from_millis(1500));
        let out = terminate(running);
        assert_eq!(out.code(), 0, "{args:?} stderr:\n{}", out.stderr);
    }
}
