//! A dense document inside every size bound (the simulator's `--dense-at`): the `ws` client
//! reports it as `too_complex`, delivers every other message, and its peak resident memory
//! (`VmHWM` of the client process, read from `/proc/<pid>/status` while it still runs) stays
//! under 300 MiB. Without the node limit the zstd case (60 MiB of `[0,0,…]`, 31 million
//! elements) drove the client to about 3.4 GiB.
//!
//! One test in its own binary, so the runs are sequential and nothing else shares the
//! machine's memory with them; each mode is compared with a run of the same stream without
//! the dense frame.

mod common;
mod ws_cli_common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use ws_cli_common::*;

const MESSAGES: usize = 300;
const PEAK_LIMIT_KIB: u64 = 300 << 10;

/// `VmHWM` of process `pid`, in KiB.
fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_else(|e| panic!("cannot read /proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in /proc/{pid}/status"))
}

/// Runs `oddsfeed ws` against a simulator started with `sim_args` until it has printed all
/// `MESSAGES` messages; returns the stdout lines, the stderr events and the client's peak RSS.
fn run_client(receive_type: &str, sim_args: &[&str]) -> (Vec<Value>, Vec<Value>, u64) {
    let messages = MESSAGES.to_string();
    let sim = SimProcess::start(&[&["--messages", messages.as_str()], sim_args].concat());
    let mut child = Command::new(bin())
        .args([
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--receive-type",
            receive_type,
            "--events",
            "jsonl",
        ])
        .env_remove("ODDSPAPI_API_KEY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn oddsfeed ws");
    let pid = child.id();
    let mut stderr = child.stderr.take().expect("stderr");
    let events = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let mut lines = Vec::new();
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    for line in stdout.lines() {
        let line = line.expect("stdout line");
        lines.push(parse(&line));
        if lines.len() == MESSAGES {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "only {} messages in 120 s",
            lines.len()
        );
    }
    // The last message came after the dense frame: its cost is in the peak now.
    let peak = vm_hwm_kib(pid);
    child.kill().expect("kill the client");
    child.wait().expect("reap the client");
    let events = events.join().expect("stderr reader");
    let events = events.lines().map(parse).collect();
    (lines, events, peak)
}

fn reasons(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .filter(|e| e["event"] == "decode_error")
        .filter_map(|e| e["reason"].as_str())
        .collect()
}

#[test]
fn a_dense_document_is_too_complex_and_memory_stays_bounded() {
    for mode in ["zstd-dict", "binary", "json"] {
        let (clean_lines, clean_events, clean_peak) = run_client(mode, &[]);
        assert_eq!(clean_lines.len(), MESSAGES);
        assert!(reasons(&clean_events).is_empty(), "{clean_events:?}");

        let (lines, events, peak) = run_client(mode, &["--dense-at", "100"]);
        println!(
            "{mode}: peak RSS with the dense frame {} MiB, without {} MiB",
            peak >> 10,
            clean_peak >> 10
        );
        assert_eq!(lines.len(), MESSAGES, "{mode}");
        assert_is_the_generated_stream(DEFAULT_SEED, &lines);
        assert_eq!(reasons(&events), ["too_complex"], "{mode}: {events:?}");
        let error = events
            .iter()
            .find(|e| e["event"] == "decode_error")
            .expect("the decode error");
        assert!(
            error["detail"]
                .as_str()
                .is_some_and(|d| d.contains("more than 1048576 values and keys")),
            "{error}"
        );
        assert!(
            peak < PEAK_LIMIT_KIB,
            "{mode}: peak RSS {peak} KiB is over {PEAK_LIMIT_KIB} KiB (without the dense frame: {clean_peak} KiB)"
        );
    }
}
