//! Helpers for the CLI tests of `oddsfeed ws` and `oddsfeed sim ws`: spawn the built binary, find
//! the simulator's port, run the client with a deadline, and rebuild what the simulator generated.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use oddsfeed_sim::ws_gen::WsGenerator;
use serde_json::Value;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_oddsfeed")
}

/// The simulator's default seed (`sim ws --seed`, default 1).
pub const DEFAULT_SEED: u64 = 1;

/// A running `oddsfeed sim ws`, killed on drop.
pub struct SimProcess {
    child: Child,
    /// `ws://127.0.0.1:PORT/ws`.
    pub url: String,
    stderr: mpsc::Receiver<String>,
}

impl SimProcess {
    /// Starts `oddsfeed sim ws --port 0 ARGS` and waits for its `listening on` line.
    pub fn start(args: &[&str]) -> Self {
        let mut child = Command::new(bin())
            .args(["sim", "ws", "--port", "0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
        let Some(stderr) = child.stderr.take() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no stderr pipe");
        };
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        assert!(url.starts_with("ws://127.0.0.1:"), "{line}");
                        assert!(url.ends_with("/ws"), "{line}");
                        assert!(!url.contains(":0/"), "port 0 was not replaced: {line}");
                        return Self {
                            child,
                            url: url.to_owned(),
                            stderr: rx,
                        };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("the simulator never said where it listens");
                }
            }
        }
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        while self.stderr.try_recv().is_ok() {}
    }
}

/// What a finished command printed.
pub struct Output {
    /// The exit status.
    pub status: ExitStatus,
    /// stdout, as text.
    pub stdout: String,
    /// stderr, as text.
    pub stderr: String,
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

/// Runs `oddsfeed ARGS` (with extra environment variables) and waits for it, killing it after
/// `deadline`.
pub fn run(args: &[&str], env: &[(&str, &str)], deadline: Duration) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args)
        .env_remove("ODDSPAPI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run oddsfeed: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let end = Instant::now() + deadline;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                let err = stderr.join().unwrap_or_default();
                panic!("oddsfeed {args:?} did not finish within {deadline:?}; stderr:\n{err}");
            }
        }
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

fn drain<R: Read + Send + 'static>(pipe: Option<R>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    })
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

/// Runs `oddsfeed ARGS`, sends it SIGTERM after `after`, and collects what it printed.
pub fn run_then_terminate(args: &[&str], after: Duration) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .env_remove("ODDSPAPI_API_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run oddsfeed: {e}"));
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    thread::sleep(after);
    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status();
    assert!(killed.is_ok_and(|s| s.success()), "cannot signal {pid}");
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < end => thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("oddsfeed {args:?} ignored SIGTERM");
            }
        }
    };
    Output {
        status,
        stdout: stdout.join().unwrap_or_default(),
        stderr: stderr.join().unwrap_or_default(),
    }
}

/// Reads a `--state` file as JSON.
pub fn read_state(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse(&text)
}
