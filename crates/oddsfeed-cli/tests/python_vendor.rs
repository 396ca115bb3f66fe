//! The vendor's own Python example client (`tests/python/` at the workspace root) against
//! `oddsfeed sim ws`: `vendor_zstd.py` is the vendor's code with only URL, key and stopping
//! changed; `vendor_zstd_dict.py` adds the dictionary store the vendor page describes.
//!
//! Each script runs in a venv under `target/pyvenv`, created once (and re-created when
//! `tests/python/requirements.txt` changes) with `python3 -m venv` and `pip install -r`.
//! Without python3, venv or a working pip install, each test prints `SKIPPED: <reason>` and
//! returns, unless `ODDSFEED_REQUIRE_PYTHON` is set: then it fails (`.ci/run` sets it).
//!
//! What is checked: the script exits 0 once the simulator closes (1000, after `--messages`),
//! every stdout line is a JSON data message, entryIds strictly increase per channel, and the
//! messages equal, in order, the vendor's channels (`odds`, `fixtures`: the example logs in
//! with those two) of what `oddsfeed ws --receive-type zstd-dict --limit 2000 --once` prints
//! against a second simulator with the same `--seed`. The simulator stamps messages with the
//! wall clock, so the two runs differ in time-derived values only: those are masked (see
//! [`TIME_KEYS`]) and entryIds compared by their sequence part; every other key and value
//! (channel, type, fixture ids, prices, scores, ...) must be identical.
//!
//! A third test runs `vendor_zstd_dict.py` against `oddsfeed sim ws --replay` of a recorded live
//! run: the example must receive every recorded message of its channels, unmasked.

mod common;

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::{BIN, Finished, Running};
use oddsfeed_testkit::{Tool, missing};
use serde_json::Value;

/// Distinct data messages each simulator sends over its lifetime.
const MESSAGES: usize = 2000;
/// Generator seed shared by the script's simulator and the reference one.
const SEED: &str = "7";
/// The key the simulators accept; the scripts read it from `ODDSPAPI_API_KEY`.
const API_KEY: &str = "vendor-python-test-key";
/// The channels the vendor's example logs in with.
const VENDOR_CHANNELS: [&str; 2] = ["odds", "fixtures"];
/// Keys whose values the simulator derives from the wall clock.
const TIME_KEYS: [&str; 7] = [
    "ts",
    "changedAt",
    "bookmakerChangedAt",
    "updatedAt",
    "startTime",
    "trueStartTime",
    "trueEndTime",
];
/// Guard against a hang; never an assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(60);
/// Guard for creating the venv (pip may download the two wheels).
const VENV_GUARD: Duration = Duration::from_secs(300);

/// The last lines of `text`, for failure messages.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A value as compact JSON, cut to about 300 characters, for failure messages.
fn short(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(300) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// Runs `command` to completion with piped output; `Err` if it cannot start or outlives `guard`.
fn run(command: &mut Command, guard: Duration) -> Result<Finished, String> {
    let finished = Running::spawn(command)?.finish(guard).map_err(|stderr| {
        format!(
            "{command:?} still running after {guard:?}; killed. stderr tail:\n{}",
            tail(&stderr, 20)
        )
    })?;
    Ok(finished.into())
}

/// The workspace root (this crate lives in `crates/oddsfeed-cli`).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The cargo target directory: the binary is `<target>/<profile>/oddsfeed`.
fn target_dir() -> PathBuf {
    Path::new(BIN)
        .parent()
        .and_then(Path::parent)
        .map_or_else(|| workspace_root().join("target"), Path::to_path_buf)
}

/// The venv's interpreter, or `Err(reason to skip)`. Created at most once per process; a file
/// lock keeps concurrent test processes (nextest) from building it twice.
fn venv_python() -> Result<PathBuf, String> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(build_venv).clone()
}

fn build_venv() -> Result<PathBuf, String> {
    let requirements_path = workspace_root().join("tests/python/requirements.txt");
    let requirements = fs::read_to_string(&requirements_path)
        .map_err(|e| format!("cannot read {}: {e}", requirements_path.display()))?;
    let target = target_dir();
    let venv = target.join("pyvenv");
    let marker = venv.join("oddsfeed-requirements.txt");
    let python = if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    };

    fs::create_dir_all(&target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    let lock = File::create(target.join("pyvenv.lock"))
        .map_err(|e| format!("cannot create the venv lock file: {e}"))?;
    lock.lock()
        .map_err(|e| format!("cannot lock the venv lock file: {e}"))?;

    if python.exists() && fs::read_to_string(&marker).is_ok_and(|m| m == requirements) {
        return Ok(python);
    }
    if venv.exists() {
        fs::remove_dir_all(&venv)
            .map_err(|e| format!("cannot remove the stale venv {}: {e}", venv.display()))?;
    }
    let created = run(
        Command::new("python3").arg("-m").arg("venv").arg(&venv),
        VENV_GUARD,
    )
    .map_err(|e| format!("python3 is unavailable: {e}"))?;
    if !created.status.success() {
        return Err(format!(
            "python3 -m venv failed ({}): {}",
            created.status,
            tail(&created.stderr, 5)
        ));
    }
    let installed = run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--quiet",
                "-r",
            ])
            .arg(&requirements_path),
        VENV_GUARD,
    )?;
    if !installed.status.success() {
        return Err(format!(
            "pip install -r tests/python/requirements.txt failed ({}): {}",
            installed.status,
            tail(&installed.stderr, 5)
        ));
    }
    fs::write(&marker, &requirements).map_err(|e| format!("cannot write the venv marker: {e}"))?;
    Ok(python)
}

/// The venv's interpreter, or `None` after printing why the test is skipped (or failing: see
/// [`missing`]).
fn python_or_skip() -> Option<PathBuf> {
    match venv_python() {
        Ok(python) => Some(python),
        Err(reason) => {
            missing(Tool::Python, reason);
            None
        }
    }
}

/// A running `oddsfeed sim ws`, killed when dropped.
struct Sim {
    sim: common::Sim,
    url: String,
}

impl Sim {
    /// Starts `oddsfeed sim ws --port 0 --messages 2000 --seed 7 --api-key KEY` and waits for
    /// its `listening on ws://127.0.0.1:PORT/ws` line.
    fn start() -> Sim {
        let messages = MESSAGES.to_string();
        let sim = common::Sim::start(
            &[
                "ws",
                "--messages",
                &messages,
                "--seed",
                SEED,
                "--api-key",
                API_KEY,
            ],
            &[],
        );
        let url = sim.listen.clone();
        let port: u16 = url
            .strip_prefix("ws://127.0.0.1:")
            .and_then(|rest| rest.strip_suffix("/ws"))
            .and_then(|port| port.parse().ok())
            .unwrap_or_else(|| panic!("unexpected listening address {url:?}"));
        assert_ne!(port, 0);
        Sim { sim, url }
    }

    /// The simulator's last stderr lines, for failure messages.
    fn log(&self) -> String {
        tail(&self.sim.log(), 50)
    }
}

/// Parses every stdout line as a JSON object; panics naming the first bad line.
fn parse_lines(who: &str, stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let value: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!(
                    "{who}: stdout line {} is not JSON ({e}): {line:.200}",
                    i + 1
                )
            });
            assert!(value.is_object(), "{who}: line {} is not an object", i + 1);
            value
        })
        .collect()
}

/// `(ts_ms, seq)` of an entryId `<ts_ms>-<seq>`.
fn entry_id(who: &str, msg: &Value) -> (u64, u64) {
    let text = msg["entryId"]
        .as_str()
        .unwrap_or_else(|| panic!("{who}: message without a string entryId: {}", short(msg)));
    text.split_once('-')
        .and_then(|(ts, seq)| Some((ts.parse().ok()?, seq.parse().ok()?)))
        .unwrap_or_else(|| panic!("{who}: malformed entryId {text:?}"))
}

/// Checks that every message is a data message on `channels` with entryIds strictly increasing
/// (numerically, as `(ts_ms, seq)`) per channel.
fn check_stream(who: &str, messages: &[Value], channels: &[&str]) {
    let mut last: HashMap<String, (u64, u64)> = HashMap::new();
    for (i, msg) in messages.iter().enumerate() {
        let channel = msg["channel"]
            .as_str()
            .unwrap_or_else(|| panic!("{who}: message {} has no channel", i + 1));
        assert!(
            channels.contains(&channel),
            "{who}: message {} on unexpected channel {channel:?}",
            i + 1
        );
        assert!(
            msg.get("payload").is_some_and(Value::is_object),
            "{who}: message {} has no payload",
            i + 1
        );
        let id = entry_id(who, msg);
        if let Some(prev) = last.insert(channel.to_owned(), id) {
            assert!(
                id > prev,
                "{who}: entryId {id:?} after {prev:?} on {channel} (message {})",
                i + 1
            );
        }
    }
}

/// The message with clock-derived values masked: each non-null value under a [`TIME_KEYS`] key
/// becomes `"<time>"`, the entryId keeps only its sequence part.
fn normalize(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let v = if key == "entryId" {
                        match v.as_str().and_then(|s| s.split_once('-')) {
                            Some((_, seq)) => Value::String(format!("*-{seq}")),
                            None => v.clone(),
                        }
                    } else if TIME_KEYS.contains(&key.as_str()) && !v.is_null() {
                        Value::String("<time>".to_owned())
                    } else {
                        normalize(v)
                    };
                    (key.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        other => other.clone(),
    }
}

/// The first difference between two normalized values, as a path; numbers compare by value
/// (`2` and `2.0` are the same number spelled two ways).
fn first_difference(a: &Value, b: &Value, path: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() || x.keys().any(|k| !y.contains_key(k)) {
                return Some(format!(
                    "{path}: keys {:?} vs {:?}",
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>()
                ));
            }
            x.iter()
                .find_map(|(k, v)| first_difference(v, &y[k], &format!("{path}.{k}")))
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{path}: {} vs {} items", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (p, q))| first_difference(p, q, &format!("{path}[{i}]")))
        }
        (Value::Number(x), Value::Number(y)) => {
            let same = match (x.as_u64(), y.as_u64(), x.as_i64(), y.as_i64()) {
                (Some(p), Some(q), _, _) => p == q,
                (_, _, Some(p), Some(q)) => p == q,
                _ => x.as_f64() == y.as_f64(),
            };
            (!same).then(|| format!("{path}: {x} vs {y}"))
        }
        _ => (a != b).then(|| format!("{path}: {a} vs {b}")),
    }
}

/// What the Rust client prints against a fresh simulator with the same seed, all channels,
/// computed once and shared by both tests.
fn reference() -> &'static [Value] {
    static REFERENCE: OnceLock<Vec<Value>> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let sim = Sim::start();
        let limit = MESSAGES.to_string();
        let done = run(
            Command::new(BIN)
                .args(["ws", "--url", &sim.url, "--receive-type", "zstd-dict"])
                .args(["--limit", &limit, "--once"])
                .env("ODDSPAPI_API_KEY", API_KEY),
            HANG_GUARD,
        )
        .unwrap_or_else(|e| panic!("oddsfeed ws: {e}\nsim log:\n{}", sim.log()));
        assert!(
            done.status.success(),
            "oddsfeed ws exited with {}:\n{}\nsim log:\n{}",
            done.status,
            tail(&done.stderr, 20),
            sim.log()
        );
        let messages = parse_lines("oddsfeed ws", &done.stdout);
        assert_eq!(
            messages.len(),
            MESSAGES,
            "oddsfeed ws printed every message"
        );
        check_stream(
            "oddsfeed ws",
            &messages,
            &["odds", "fixtures", "bookmakers", "scores", "clocks"],
        );
        messages
    })
}

/// Runs `script` against its own simulator and checks what it decoded against the reference.
fn run_vendor_script(script: &str) {
    let Some(python) = python_or_skip() else {
        return;
    };
    let sim = Sim::start();
    let script_path = workspace_root().join("tests/python").join(script);
    let done = run(
        Command::new(&python)
            .arg(&script_path)
            .arg(&sim.url)
            .env("ODDSPAPI_API_KEY", API_KEY)
            .env("PYTHONUNBUFFERED", "1"),
        HANG_GUARD,
    )
    .unwrap_or_else(|e| panic!("{script}: {e}\nsim log:\n{}", sim.log()));
    assert!(
        done.status.success(),
        "{script} exited with {}; stderr tail:\n{}\nsim log:\n{}",
        done.status,
        tail(&done.stderr, 20),
        sim.log()
    );
    let decoded = parse_lines(script, &done.stdout);
    check_stream(script, &decoded, &VENDOR_CHANNELS);
    // The vendor's own "DATA: channel entryId" print, kept on stderr, saw the same frames.
    let data_prints = done
        .stderr
        .lines()
        .filter(|l| l.starts_with("DATA: "))
        .count();
    assert_eq!(
        data_prints,
        decoded.len(),
        "{script}: DATA prints vs JSON lines"
    );

    let expected: Vec<&Value> = reference()
        .iter()
        .filter(|m| {
            m["channel"]
                .as_str()
                .is_some_and(|c| VENDOR_CHANNELS.contains(&c))
        })
        .collect();
    assert!(
        !expected.is_empty(),
        "the reference has odds/fixtures messages"
    );
    assert_eq!(
        decoded.len(),
        expected.len(),
        "{script} decoded every data frame on its channels (of {MESSAGES} sent in all)"
    );
    for (i, (got, want)) in decoded.iter().zip(&expected).enumerate() {
        if let Some(diff) = first_difference(&normalize(got), &normalize(want), "$") {
            panic!(
                "{script}: message {} differs from oddsfeed ws's at {diff}\n python: {}\n rust:   {}",
                i + 1,
                short(got),
                short(want)
            );
        }
    }
}

#[test]
fn vendor_example_decodes_every_zstd_frame() {
    run_vendor_script("vendor_zstd.py");
}

#[test]
fn vendor_example_with_dictionary_store_decodes_every_zstd_dict_frame() {
    run_vendor_script("vendor_zstd_dict.py");
}

/// The vendor's example against `oddsfeed sim ws --replay` of a recording: a live run (json, so
/// the example's zstd-dict frames are the simulator's re-encoding) is recorded, served, and the
/// example must print every recorded data message of its channels, in order, with channel,
/// entryId, ts and payload as recorded (nothing masked: the served messages keep their time).
#[test]
fn vendor_example_receives_every_message_of_a_served_recording() {
    let Some(python) = python_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = dir.path().join("live.rec");
    let file_arg = file.to_str().unwrap_or_else(|| panic!("non-UTF-8 path"));
    let live_sim = Sim::start();
    let live = run(
        Command::new(BIN)
            .args(["ws", "--url", &live_sim.url, "--receive-type", "json"])
            .args(["--once", "--record", file_arg])
            .env("ODDSPAPI_API_KEY", API_KEY),
        HANG_GUARD,
    )
    .unwrap_or_else(|e| panic!("oddsfeed ws: {e}"));
    assert!(live.status.success(), "{}", tail(&live.stderr, 20));
    drop(live_sim);
    let replayed = run(Command::new(BIN).args(["replay", file_arg]), HANG_GUARD)
        .unwrap_or_else(|e| panic!("oddsfeed replay: {e}"));
    assert!(replayed.status.success(), "{}", tail(&replayed.stderr, 20));
    let expected: Vec<Value> = parse_lines("oddsfeed replay", &replayed.stdout)
        .into_iter()
        .filter(|m| {
            m["channel"]
                .as_str()
                .is_some_and(|c| VENDOR_CHANNELS.contains(&c))
        })
        .collect();
    assert!(
        expected.len() > 100,
        "{} recorded odds/fixtures messages",
        expected.len()
    );

    let served = common::Sim::start(&["ws", "--replay", file_arg, "--api-key", API_KEY], &[]);
    let script = "vendor_zstd_dict.py";
    let done = run(
        Command::new(&python)
            .arg(workspace_root().join("tests/python").join(script))
            .arg(&served.listen)
            .env("ODDSPAPI_API_KEY", API_KEY)
            .env("PYTHONUNBUFFERED", "1"),
        HANG_GUARD,
    )
    .unwrap_or_else(|e| panic!("{script}: {e}\nsim log:\n{}", tail(&served.log(), 50)));
    assert!(
        done.status.success(),
        "{script} exited with {}; stderr tail:\n{}\nsim log:\n{}",
        done.status,
        tail(&done.stderr, 20),
        tail(&served.log(), 50)
    );
    let decoded = parse_lines(script, &done.stdout);
    check_stream(script, &decoded, &VENDOR_CHANNELS);
    assert_eq!(
        decoded.len(),
        expected.len(),
        "{script} received every recorded message of its channels"
    );
    for (i, (got, want)) in decoded.iter().zip(&expected).enumerate() {
        for key in ["channel", "entryId", "ts", "payload"] {
            if let Some(diff) = first_difference(&got[key], &want[key], key) {
                panic!(
                    "{script}: message {} differs from the recording at {diff}\n python: {}\n recorded: {}",
                    i + 1,
                    short(got),
                    short(want)
                );
            }
        }
    }
}
