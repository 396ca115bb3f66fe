//! Helpers for the CLI tests of `oddsfeed ws` and `oddsfeed sim ws`: spawn the built binary, find
//! the simulator's port, run the client with a deadline, and rebuild what the simulator generated.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use oddsfeed_sim::ws_gen::WsGenerator;
use serde_json::Value;

pub use crate::common::Finished as Output;
use crate::common::{BIN, HANG_GUARD, Running, Sim};

/// The binary under test.
pub fn bin() -> &'static str {
    BIN
}

/// The simulator's default seed (`sim ws --seed`, default 1).
pub const DEFAULT_SEED: u64 = 1;

/// A running `oddsfeed sim ws`, killed on drop.
pub struct SimProcess {
    _sim: Sim,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
}

impl SimProcess {
    /// Starts `oddsfeed sim ws --port 0 ARGS` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Self {
        let sim = Sim::start(&[&["ws"], args].concat(), &[]);
        let url = sim.listen.clone();
        assert!(url.starts_with("ws://127.0.0.1:"), "{url}");
        assert!(url.ends_with("/ws"), "{url}");
        assert!(!url.contains(":0/"), "port 0 was not replaced: {url}");
        Self { _sim: sim, url }
    }
}

impl Output {
    /// The exit code (panics if the process died of a signal).
    pub fn code(&self) -> i32 {
        self.status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal; stderr:\n{}", self.stderr))
    }

    /// stdout's lines parsed as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.stdout.lines().map(parse).collect()
    }

    /// stderr's lines parsed as JSON (for `--events jsonl`).
    pub fn events(&self) -> Vec<Value> {
        self.stderr.lines().map(parse).collect()
    }
}

/// Starts `oddsfeed ARGS` (with extra environment variables) without `ODDSPAPI_API_KEY` from
/// the test's own environment.
fn spawn(args: &[&str], env: &[(&str, &str)]) -> Running {
    Running::spawn(
        Command::new(BIN)
            .args(args)
            .env_remove("ODDSPAPI_API_KEY")
            .envs(env.iter().copied()),
    )
    .unwrap_or_else(|e| panic!("cannot run oddsfeed: {e}"))
}

/// Runs `oddsfeed ARGS` (with extra environment variables) and waits for it, killing it after
/// `deadline`.
pub fn run(args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Output {
    match spawn(args, env).finish(deadline) {
        Ok(output) => output.into(),
        Err(err) => panic!("oddsfeed {args:?} did not finish within {deadline:?}; stderr:\n{err}"),
    }
}

/// Parses JSON or panics with the text.
pub fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A data line's channel and entryId `(ts, seq)`.
pub fn key(line: &Value) -> (String, u64, u64) {
    let channel = line["channel"]
        .as_str()
        .unwrap_or_else(|| panic!("no channel: {line}"));
    let entry = line["entryId"]
        .as_str()
        .unwrap_or_else(|| panic!("no entryId: {line}"));
    let Some((ts, seq)) = entry.split_once('-') else {
        panic!("bad entryId {entry}");
    };
    let parse_u64 = |s: &str| s.parse::<u64>().unwrap_or_else(|e| panic!("{entry}: {e}"));
    (channel.to_owned(), parse_u64(ts), parse_u64(seq))
}

/// Asserts `lines` are exactly the first `lines.len()` messages the simulator generated with
/// `seed`, in order. The simulator stamps messages with the wall clock, and the generator depends
/// on the clock only through each message's `ts`: feeding it the received `ts` values in order
/// rebuilds the simulator's own record.
pub fn assert_is_the_generated_stream(seed: u64, lines: &[Value]) {
    let mut generator = WsGenerator::new(seed);
    for (i, line) in lines.iter().enumerate() {
        let ts = line["ts"]
            .as_u64()
            .unwrap_or_else(|| panic!("no ts: {line}"));
        let expected = parse(&generator.next(ts).json);
        assert_eq!(
            line,
            &expected,
            "line {} differs from the simulator's message",
            i + 1
        );
    }
}

/// Positions (1-based) and channels of the simulator's first `total` messages that are not among
/// `lines`, whatever order the lines came in; every line is checked against the generated
/// message, and a line seen twice fails.
pub fn missing_from_stream(seed: u64, lines: &[Value], total: u64) -> Vec<(u64, &'static str)> {
    let mut by_key: BTreeMap<(String, u64), &Value> = BTreeMap::new();
    for line in lines {
        let (channel, _, seq) = key(line);
        assert!(
            by_key.insert((channel, seq), line).is_none(),
            "duplicate line: {line}"
        );
    }
    let mut generator = WsGenerator::new(seed);
    let mut last_ts = lines
        .iter()
        .filter_map(|l| l["ts"].as_u64())
        .min()
        .unwrap_or(0);
    let mut missing = Vec::new();
    for position in 1..=total {
        let peek = generator.clone().next(last_ts);
        match by_key.remove(&(peek.channel.to_owned(), peek.entry_id.1)) {
            Some(line) => {
                let ts = line["ts"].as_u64().unwrap_or(last_ts);
                let generated = parse(&generator.next(ts).json);
                assert_eq!(line, &generated, "message {position} differs");
                last_ts = last_ts.max(ts);
            }
            None => {
                missing.push((position, peek.channel));
                generator.next(last_ts);
            }
        }
    }
    assert!(
        by_key.is_empty(),
        "lines the simulator never generated: {:?}",
        by_key.keys()
    );
    missing
}

/// Runs `oddsfeed ARGS`, sends it SIGTERM after `after`, and collects what it printed. A fixed
/// wait: prefer [`run_until_then_terminate`], which waits for what the test needs to see.
pub fn run_then_terminate(args: &[&str], after: Duration) -> Output {
    let running = spawn(args, &[]);
    thread::sleep(after);
    terminate(running, args)
}

/// SIGTERM, then what the process printed.
fn terminate(running: Running, args: &[&str]) -> Output {
    let pid = running.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "cannot signal {pid}");
    match running.finish(Duration::from_secs(10)) {
        Ok(output) => output.into(),
        Err(_) => panic!("oddsfeed {args:?} ignored SIGTERM"),
    }
}

/// Runs `oddsfeed ARGS` (with `--events jsonl`), sends it SIGTERM as soon as `ready` holds
/// for the events printed so far, and collects what it printed. Panics if `ready` never holds
/// within the hang guard. The 20 ms between looks is a polling interval, not a wait for
/// anything to happen.
pub fn run_until_then_terminate(args: &[&str], ready: impl Fn(&[Value]) -> bool) -> Output {
    let running = spawn(args, &[]);
    let end = Instant::now() + HANG_GUARD;
    loop {
        let events: Vec<Value> = running
            .stderr_lines_so_far()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        if ready(&events) {
            break;
        }
        if Instant::now() > end {
            let stderr = running.finish(Duration::ZERO).err().unwrap_or_default();
            panic!("oddsfeed {args:?}: the awaited events never came; stderr:\n{stderr}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    terminate(running, args)
}

/// Reads a `--state` file as JSON.
pub fn read_state(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text)
}
