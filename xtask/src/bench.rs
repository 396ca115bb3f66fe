//! `cargo xtask bench` (decode throughput: Rust and Python side by side) and `cargo xtask e2e`
//! (simulator and client as separate processes over loopback).
//!
//! Both build the release binaries first (`--no-build` skips it), run them as child processes
//! and print a Markdown report (also written to `target/bench/`). Numbers come from the release
//! binaries; this crate only orchestrates, so its own debug build does not matter.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use oddsfeed_sim::corpus::{CorpusOptions, FRAMES_FILE, write_corpus_with};
use oddsfeed_sim::encode::SimReceiveType;
use serde_json::Value;

/// Options of `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BenchOptions {
    /// Messages in the generated corpus.
    pub messages: usize,
    /// Interleaved rounds: every contender runs once per round.
    pub rounds: usize,
    /// Passes inside each run (each run reports its best pass).
    pub passes: u32,
    /// Receive type of the corpus.
    pub mode: SimReceiveType,
    /// Generator seed.
    pub seed: u64,
    /// Use this corpus directory instead of generating one.
    pub corpus: Option<PathBuf>,
    /// Where to write the Markdown report (default `target/bench/decode.md`).
    pub out: Option<PathBuf>,
    /// Run the Python loops.
    pub python: bool,
    /// Build the release binaries first.
    pub build: bool,
}

impl Default for BenchOptions {
    fn default() -> Self {
        Self {
            messages: 20_000,
            rounds: 5,
            passes: 3,
            mode: SimReceiveType::ZstdDict,
            seed: 1,
            corpus: None,
            out: None,
            python: true,
            build: true,
        }
    }
}

/// Options of `cargo xtask e2e`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E2eOptions {
    /// Stop after this many data messages (exact count, `--limit` of the client).
    pub messages: Option<u64>,
    /// Or stop after this many seconds (message count estimated from the bytes written).
    pub seconds: Option<u64>,
    /// Receive type.
    pub mode: SimReceiveType,
    /// Interval of the RSS and I/O samples, in milliseconds.
    pub sample_ms: u64,
    /// Where to write the Markdown report (default `target/bench/e2e.md`).
    pub out: Option<PathBuf>,
    /// Build the release binary first.
    pub build: bool,
    /// Offered rate: the simulator paces its stream at this many messages per second
    /// (`sim ws --rate`); unpaced when `None`.
    pub rate: Option<u64>,
    /// The client also records every frame (`ws --record`) to this file.
    pub record: Option<PathBuf>,
}

impl Default for E2eOptions {
    fn default() -> Self {
        Self {
            messages: None,
            seconds: None,
            mode: SimReceiveType::ZstdDict,
            sample_ms: 100,
            out: None,
            build: true,
            rate: None,
            record: None,
        }
    }
}

/// Messages of an e2e run when neither `--messages` nor `--seconds` is given.
const DEFAULT_E2E_MESSAGES: u64 = 2_000_000;

/// Parses the flags of `bench`.
pub fn parse_bench(args: &[String]) -> Result<BenchOptions, String> {
    let mut o = BenchOptions::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("bench: {flag} needs a value"))
        };
        match flag.as_str() {
            "--messages" => o.messages = positive(flag, value()?)?,
            "--rounds" => o.rounds = positive(flag, value()?)?,
            "--passes" => o.passes = positive(flag, value()?)?,
            "--mode" => o.mode = value()?.parse().map_err(|e| format!("bench: {e}"))?,
            "--seed" => o.seed = positive_or_zero(flag, value()?)?,
            "--corpus" => o.corpus = Some(PathBuf::from(value()?)),
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--no-python" => o.python = false,
            "--no-build" => o.build = false,
            other => return Err(format!("bench: unknown flag {other:?}")),
        }
    }
    Ok(o)
}

/// Parses the flags of `e2e`.
pub fn parse_e2e(args: &[String]) -> Result<E2eOptions, String> {
    let mut o = E2eOptions::default();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("e2e: {flag} needs a value"))
        };
        match flag.as_str() {
            "--messages" => o.messages = Some(positive(flag, value()?)?),
            "--seconds" => o.seconds = Some(positive(flag, value()?)?),
            "--mode" => o.mode = value()?.parse().map_err(|e| format!("e2e: {e}"))?,
            "--sample-ms" => o.sample_ms = positive(flag, value()?)?,
            "--out" => o.out = Some(PathBuf::from(value()?)),
            "--no-build" => o.build = false,
            "--rate" => o.rate = Some(positive(flag, value()?)?),
            "--record" => o.record = Some(PathBuf::from(value()?)),
            other => return Err(format!("e2e: unknown flag {other:?}")),
        }
    }
    if o.messages.is_some() && o.seconds.is_some() {
        return Err("e2e: give --messages or --seconds, not both".to_owned());
    }
    Ok(o)
}

fn positive_or_zero<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a valid number"))
}

fn positive<T: std::str::FromStr + PartialOrd + Default>(
    flag: &str,
    value: &str,
) -> Result<T, String> {
    let n: T = positive_or_zero(flag, value)?;
    if n > T::default() {
        Ok(n)
    } else {
        Err(format!("{flag}: must be at least 1"))
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("release")
}

/// `cargo build --release -p <packages>`.
fn build_release(root: &Path, packages: &[&str]) -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args(["build", "--release", "--quiet"]);
    for p in packages {
        cmd.args(["-p", p]);
    }
    eprintln!("xtask: building release binaries ({})", packages.join(", "));
    let status = cmd.status().map_err(|e| format!("running cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build --release failed ({status})"))
    }
}

/// Runs a command to completion and returns its stdout; fails with its stderr.
fn run_capture(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    String::from_utf8(out.stdout).map_err(|e| format!("{cmd:?}: stdout is not UTF-8: {e}"))
}

/// Machine facts for the report.
fn machine_description() -> Vec<(String, String)> {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split(':').nth(1))
        })
        .map_or_else(|| "unknown".to_owned(), |m| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mem = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease")
        .unwrap_or_default()
        .trim()
        .to_owned();
    let rustc = Command::new("rustc")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    vec![
        (
            "CPU".to_owned(),
            format!("{model}, {cores} cores available"),
        ),
        ("memory".to_owned(), mem),
        ("kernel".to_owned(), kernel),
        ("rustc".to_owned(), rustc),
    ]
}

/// `/proc/loadavg`'s first three fields.
fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------
// bench

/// One program measured by `bench`, and how to run it.
struct Contender {
    /// Row label(s): a program may report several figures (`oddsfeed-bench stages`).
    labels: Vec<&'static str>,
    program: PathBuf,
    args: Vec<String>,
    /// Maps each stdout JSON line to a label, if the line is a figure of interest.
    pick: fn(&Value) -> Option<&'static str>,
}

fn pick_single(_: &Value) -> Option<&'static str> {
    Some("")
}

fn pick_stage(line: &Value) -> Option<&'static str> {
    match line.get("stage")?.as_str()? {
        "decompress" => Some("decompress only (raw zstd)"),
        "parse" => Some("JSON parse only (simd-json tape)"),
        "ceiling" => Some("ceiling: decompress + parse"),
        _ => None,
    }
}

const RUST_1: &str = "Rust `oddsfeed bench decode`, 1 thread";
const RUST_2: &str = "Rust `oddsfeed bench decode`, 2 threads";
const PY_VENDOR: &str = "Python vendor loop";
const PY_TUNED: &str = "Python tuned loop";
const CEILING: &str = "ceiling: decompress + parse";

/// Runs `cargo xtask bench`.
pub fn bench(o: &BenchOptions) -> Result<(), String> {
    let root = workspace_root();
    if o.build {
        build_release(&root, &["oddsfeed-cli", "oddsfeed-bench"])?;
    }
    let bin = release_dir(&root);
    let oddsfeed = bin.join("oddsfeed");
    let stages = bin.join("oddsfeed-bench");
    for program in [&oddsfeed, &stages] {
        if !program.is_file() {
            return Err(format!(
                "{} is missing: build it or drop --no-build",
                program.display()
            ));
        }
    }

    let corpus = match &o.corpus {
        Some(dir) => dir.clone(),
        None => {
            let dir = root
                .join("target/bench/corpus")
                .join(format!("{}-{}-seed{}", o.mode, o.messages, o.seed));
            if !dir.join(FRAMES_FILE).is_file() {
                eprintln!(
                    "xtask: writing a {} corpus of {} messages",
                    o.mode, o.messages
                );
                write_corpus_with(&dir, &CorpusOptions::new(o.mode, o.messages, o.seed))
                    .map_err(|e| format!("writing {}: {e}", dir.display()))?;
            }
            dir
        }
    };
    let corpus_str = corpus
        .to_str()
        .ok_or("corpus path is not UTF-8")?
        .to_owned();
    let mode = o.mode.as_str().to_owned();
    let passes = o.passes.to_string();
    let common = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        args.extend([
            "--corpus".to_owned(),
            corpus_str.clone(),
            "--mode".to_owned(),
            mode.clone(),
            "--passes".to_owned(),
            passes.clone(),
        ]);
        args
    };

    let mut contenders = vec![
        Contender {
            labels: vec![RUST_1],
            program: oddsfeed.clone(),
            args: [
                common(&["bench", "decode"]),
                vec!["--threads".into(), "1".into()],
            ]
            .concat(),
            pick: pick_single,
        },
        Contender {
            labels: vec![RUST_2],
            program: oddsfeed.clone(),
            args: [
                common(&["bench", "decode"]),
                vec!["--threads".into(), "2".into()],
            ]
            .concat(),
            pick: pick_single,
        },
    ];
    if o.mode != SimReceiveType::Binary {
        contenders.push(Contender {
            labels: vec![
                "decompress only (raw zstd)",
                "JSON parse only (simd-json tape)",
                CEILING,
            ],
            program: stages.clone(),
            args: common(&["stages"]),
            pick: pick_stage,
        });
    }
    let mut python_version = None;
    if o.python && o.mode != SimReceiveType::Binary {
        let setup = root.join("benches/python/setup.sh");
        let out = Command::new("bash")
            .arg(&setup)
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("running {}: {e}", setup.display()))?;
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        if !out.status.success() {
            return Err(format!(
                "{} failed (use --no-python to skip): {stderr}",
                setup.display()
            ));
        }
        let python = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .map(str::trim)
            .unwrap_or_default()
            .to_owned();
        python_version = stderr.lines().last().map(str::to_owned);
        for (label, script) in [(PY_VENDOR, "vendor_loop.py"), (PY_TUNED, "tuned_loop.py")] {
            let mut args = vec![
                root.join("benches/python")
                    .join(script)
                    .display()
                    .to_string(),
            ];
            args.extend(common(&[]));
            contenders.push(Contender {
                labels: vec![label],
                program: PathBuf::from(&python),
                args,
                pick: pick_single,
            });
        }
    }

    let load_before = load_average();
    let started = Instant::now();
    // results[label][round] = frames/s
    let mut results: BTreeMap<&'static str, Vec<f64>> = BTreeMap::new();
    let mut reference: Option<(u64, u64, u64)> = None;
    for round in 0..o.rounds {
        eprintln!("xtask: round {}/{}", round + 1, o.rounds);
        // Rotate the order each round so slow drifts of the machine spread over everyone.
        let n = contenders.len();
        for k in 0..n {
            let contender = &contenders[(round + k) % n];
            let stdout = run_capture(
                Command::new(&contender.program)
                    .args(&contender.args)
                    .env("PYTHONDONTWRITEBYTECODE", "1"),
            )?;
            for line in stdout.lines() {
                let value: Value = serde_json::from_str(line).map_err(|e| {
                    format!(
                        "{}: bad output line {line:?}: {e}",
                        contender.program.display()
                    )
                })?;
                let Some(picked) = (contender.pick)(&value) else {
                    continue;
                };
                let label = if picked.is_empty() {
                    contender.labels[0]
                } else {
                    picked
                };
                let fps = value["frames_per_s"]
                    .as_f64()
                    .ok_or_else(|| format!("{label}: no frames_per_s in {line}"))?;
                let counts = (
                    value["frames"].as_u64().unwrap_or(0),
                    value["bytes_in"].as_u64().unwrap_or(0),
                    value["bytes_out"].as_u64().unwrap_or(0),
                );
                if label == RUST_1 {
                    reference.get_or_insert(counts);
                }
                if let Some((frames, _, bytes_out)) = reference
                    && (counts.0 != frames || counts.2 != bytes_out)
                {
                    return Err(format!(
                        "{label} decoded {} frames / {} bytes, Rust {frames} / {bytes_out}: not the same work",
                        counts.0, counts.2
                    ));
                }
                results.entry(label).or_default().push(fps);
            }
        }
    }
    let wall = started.elapsed();
    let load_after = load_average();

    let (frames, bytes_in, bytes_out) = reference.unwrap_or_default();
    let order: Vec<&'static str> = [
        RUST_1,
        RUST_2,
        "decompress only (raw zstd)",
        "JSON parse only (simd-json tape)",
        CEILING,
        PY_VENDOR,
        PY_TUNED,
    ]
    .into_iter()
    .filter(|l| results.contains_key(l))
    .collect();

    let mut md = String::new();
    let _ = writeln!(md, "### Decode throughput, {} corpus\n", o.mode);
    #[allow(clippy::cast_precision_loss)]
    let mean = bytes_out as f64 / frames.max(1) as f64;
    let _ = writeln!(
        md,
        "Corpus: {frames} frames, {bytes_in} bytes on the wire, {bytes_out} bytes of JSON \
         (mean {mean:.0} B/message), seed {}. {} interleaved rounds (order rotated each round); \
         each run reports the best of {} passes. Run took {:.0} s; load average {load_before} \
         before, {load_after} after.\n",
        o.seed,
        o.rounds,
        o.passes,
        wall.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| decoder | median frames/s | min – max | spread | median MB/s |\n|---|---:|---:|---:|---:|"
    );
    for label in &order {
        let v = &results[label];
        let (med, lo, hi) = (median(v), min(v), max(v));
        #[allow(clippy::cast_precision_loss)]
        let mbps = med * bytes_out as f64 / frames.max(1) as f64 / 1e6;
        let _ = writeln!(
            md,
            "| {label} | {} | {} – {} | ±{:.0}% | {mbps:.1} |",
            thousands(med),
            thousands(lo),
            thousands(hi),
            spread(v) * 100.0
        );
    }

    let _ = writeln!(
        md,
        "\nRatios are computed per round (both figures from the same round), then summarised.\n"
    );
    let _ = writeln!(
        md,
        "| ratio | median | min – max | target |\n|---|---:|---:|---|"
    );
    let ratios: [(&str, &str, &str, f64); 4] = [
        (
            "Rust 1 thread / Python vendor loop",
            RUST_1,
            PY_VENDOR,
            12.0,
        ),
        ("Rust 1 thread / Python tuned loop", RUST_1, PY_TUNED, 3.0),
        ("Rust 1 thread / ceiling", RUST_1, CEILING, 0.6),
        ("Rust 2 threads / Rust 1 thread", RUST_2, RUST_1, 1.8),
    ];
    for (name, num, den, target) in ratios {
        let (Some(a), Some(b)) = (results.get(num), results.get(den)) else {
            continue;
        };
        let r: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y.max(1e-9)).collect();
        let met = if median(&r) >= target {
            "met"
        } else {
            "**missed**"
        };
        let _ = writeln!(
            md,
            "| {name} | {:.2} | {:.2} – {:.2} | ≥ {target} ({met}) |",
            median(&r),
            min(&r),
            max(&r)
        );
    }
    let _ = writeln!(md, "\nMachine:\n");
    for (k, v) in machine_description() {
        let _ = writeln!(md, "- {k}: {v}");
    }
    if let Some(py) = python_version {
        let _ = writeln!(md, "- Python: {py}");
    }

    print!("{md}");
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/bench/decode.md"));
    write_report(&out, &md)
}

fn write_report(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    }
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    eprintln!("xtask: report written to {}", path.display());
    Ok(())
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s
}

fn median(v: &[f64]) -> f64 {
    let s = sorted(v);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

fn min(v: &[f64]) -> f64 {
    sorted(v).first().copied().unwrap_or(0.0)
}

fn max(v: &[f64]) -> f64 {
    sorted(v).last().copied().unwrap_or(0.0)
}

/// Half the min–max range relative to the median.
fn spread(v: &[f64]) -> f64 {
    let m = median(v);
    if m > 0.0 {
        (max(v) - min(v)) / 2.0 / m
    } else {
        0.0
    }
}

/// `1234567.8` → `"1,234,568"`.
fn thousands(x: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = x.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// e2e

/// One sample of a process' `/proc` figures.
#[derive(Debug, Clone, Copy, Default)]
struct ProcSample {
    /// Seconds since the client was started.
    at: f64,
    rss_kib: u64,
    hwm_kib: u64,
    /// Bytes passed to write(2) and the like (the client's stdout).
    wchar: u64,
    /// User + system CPU time, in clock ticks.
    cpu_ticks: u64,
}

/// `VmRSS`, `VmHWM` (KiB), `wchar` and CPU time of a live process.
fn proc_sample(pid: u32, at: f64) -> Option<ProcSample> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let io = fs::read_to_string(format!("/proc/{pid}/io")).unwrap_or_default();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let field = |text: &str, key: &str| -> Option<u64> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
    };
    // Fields after the `(comm)`: state is the 3rd field of the line, utime and stime the 14th
    // and 15th.
    let cpu_ticks = stat
        .rsplit_once(')')
        .map(|(_, rest)| {
            rest.split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|v| v.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Some(ProcSample {
        at,
        rss_kib: field(&status, "VmRSS:")?,
        hwm_kib: field(&status, "VmHWM:")?,
        wchar: field(&io, "wchar:").unwrap_or(0),
        cpu_ticks,
    })
}

/// Clock ticks per second of `/proc/<pid>/stat` times (`getconf CLK_TCK`; 100 on Linux).
fn clock_ticks_per_s() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Bytes received so far on the established TCP connections to local port `port` (the
/// client's side of the feed), from `ss -ti`; `None` if `ss` is missing or shows none.
fn tcp_bytes_received(port: u16) -> Option<u64> {
    let out = Command::new("ss")
        .args([
            "-tinH",
            "state",
            "established",
            &format!("( dport = :{port} )"),
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text
        .split_whitespace()
        .filter_map(|w| w.strip_prefix("bytes_received:")?.parse::<u64>().ok())
        .sum();
    (total > 0).then_some(total)
}

/// Kills a child we started (by its handle) and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Mean length of a stdout line (message + `\n`) of the simulator's feed, from the fixture
/// corpus: turns a `--seconds` run's bytes written into a message estimate.
fn mean_line_len(root: &Path) -> Result<f64, String> {
    let path = root.join("fixtures/corpus/messages.jsonl");
    let text = fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let lines = text.lines().count().max(1);
    #[allow(clippy::cast_precision_loss)]
    Ok(text.len() as f64 / lines as f64)
}

/// Runs `cargo xtask e2e`.
pub fn e2e(o: &E2eOptions) -> Result<(), String> {
    let root = workspace_root();
    if o.build {
        build_release(&root, &["oddsfeed-cli"])?;
    }
    let oddsfeed = release_dir(&root).join("oddsfeed");
    if !oddsfeed.is_file() {
        return Err(format!(
            "{} is missing: build it or drop --no-build",
            oddsfeed.display()
        ));
    }
    let limit = match (o.messages, o.seconds) {
        (Some(n), _) => Some(n),
        (None, Some(_)) => None,
        (None, None) => Some(DEFAULT_E2E_MESSAGES),
    };

    let mut sim_args: Vec<String> = ["sim", "ws", "--port", "0", "--forever"]
        .map(str::to_owned)
        .to_vec();
    if let Some(rate) = o.rate {
        sim_args.extend(["--rate".to_owned(), rate.to_string()]);
    }
    let mut sim = Command::new(&oddsfeed)
        .args(&sim_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the simulator: {e}"))?;
    let result = run_e2e(o, &root, &oddsfeed, (&mut sim, &sim_args), limit);
    stop(&mut sim);
    let md = result?;
    print!("{md}");
    let out = o
        .out
        .clone()
        .unwrap_or_else(|| root.join("target/bench/e2e.md"));
    write_report(&out, &md)
}

fn run_e2e(
    o: &E2eOptions,
    root: &Path,
    oddsfeed: &Path,
    (sim, sim_args): (&mut Child, &[String]),
    limit: Option<u64>,
) -> Result<String, String> {
    // The simulator prints `listening on ws://ADDR/ws` once ready.
    let sim_stderr = sim.stderr.take().ok_or("simulator stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(sim_stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(20))
        .map_err(|_| "the simulator did not print its address within 20 s".to_owned())?;

    let mut args = vec![
        "ws".to_owned(),
        "--url".to_owned(),
        url.clone(),
        "--api-key".to_owned(),
        "bench-key".to_owned(),
        "--receive-type".to_owned(),
        o.mode.as_str().to_owned(),
        "--once".to_owned(),
        "--events".to_owned(),
        "jsonl".to_owned(),
        "--report-latency".to_owned(),
    ];
    if let Some(path) = &o.record {
        args.extend(["--record".to_owned(), path.display().to_string()]);
    }
    if let Some(n) = limit {
        args.extend(["--limit".to_owned(), n.to_string()]);
    }
    eprintln!(
        "xtask: client → {url}, {}",
        limit.map_or_else(
            || format!("{} s", o.seconds.unwrap_or(0)),
            |n| format!("{n} messages")
        )
    );
    let started = Instant::now();
    let mut client = Command::new(oddsfeed)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null()) // `> /dev/null`
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting the client: {e}"))?;
    let client_stderr = client.stderr.take().ok_or("client stderr")?;
    let (etx, erx) = mpsc::channel();
    let events = std::thread::spawn(move || {
        let mut names: BTreeMap<String, u64> = BTreeMap::new();
        let mut last_other = None;
        let mut latency = None;
        let mut stats_messages = None;
        for line in BufReader::new(client_stderr).lines().map_while(Result::ok) {
            let event = serde_json::from_str::<Value>(&line).ok();
            let name = event
                .as_ref()
                .and_then(|v| v.get("event")?.as_str().map(str::to_owned));
            match name {
                Some(name) => {
                    if name == "login_ok" {
                        let _ = etx.send(Instant::now());
                    }
                    if name == "latency" {
                        latency = event;
                    } else if name == "stats" {
                        // The last one is the final count of the run.
                        stats_messages = event.as_ref().and_then(|e| e.get("messages")?.as_u64());
                    }
                    *names.entry(name).or_default() += 1;
                }
                None => last_other = Some(line),
            }
        }
        (names, last_other, latency, stats_messages)
    });

    let pid = client.id();
    let sim_pid = sim.id();
    let port: u16 = url
        .rsplit_once(':')
        .and_then(|(_, rest)| rest.split('/').next()?.parse().ok())
        .ok_or_else(|| format!("no port in {url}"))?;
    let mut samples = Vec::new();
    let mut sim_peak_kib = 0;
    let mut sim_first: Option<ProcSample> = None;
    let mut sim_last = ProcSample::default();
    // (seconds since start, bytes received); `ss` runs once a second, not every sample.
    let mut wire: Option<(f64, u64)> = None;
    let mut next_wire = 0.0;
    let deadline = o.seconds.map(Duration::from_secs);
    let guard = Duration::from_secs(3600 * 6);
    let status = loop {
        if let Some(status) = client.try_wait().map_err(|e| e.to_string())? {
            break Some(status);
        }
        let at = started.elapsed();
        if let Some(s) = proc_sample(pid, at.as_secs_f64()) {
            samples.push(s);
        }
        if let Some(s) = proc_sample(sim_pid, at.as_secs_f64()) {
            sim_peak_kib = sim_peak_kib.max(s.hwm_kib);
            sim_first.get_or_insert(s);
            sim_last = s;
        }
        if at.as_secs_f64() >= next_wire {
            next_wire = at.as_secs_f64() + 1.0;
            if let Some(bytes) = tcp_bytes_received(port) {
                wire = Some((at.as_secs_f64(), bytes));
            }
        }
        if deadline.is_some_and(|d| at >= d) || at >= guard {
            stop(&mut client);
            break None;
        }
        std::thread::sleep(Duration::from_millis(o.sample_ms));
    };
    let ended = Instant::now();
    let (events, last_other, latency, stats_messages) =
        events.join().map_err(|_| "event reader panicked")?;
    let login_at = erx.try_recv().ok();
    if let Some(status) = status
        && !status.success()
    {
        return Err(format!(
            "the client exited with {status}{}",
            last_other.map(|l| format!(": {l}")).unwrap_or_default()
        ));
    }
    let start = login_at.unwrap_or(started);
    let secs = ended.duration_since(start).as_secs_f64().max(1e-9);
    let last = samples.last().copied().unwrap_or_default();
    let first = samples.first().copied().unwrap_or_default();
    // Counters are sampled, so rates use the sample times.
    let start_at = start.duration_since(started).as_secs_f64();
    let io_secs = (last.at - start_at).max(1e-9);
    let ticks = clock_ticks_per_s();
    #[allow(clippy::cast_precision_loss)]
    let cpu_share = |a: &ProcSample, b: &ProcSample| -> f64 {
        (b.cpu_ticks.saturating_sub(a.cpu_ticks)) as f64 / ticks / (b.at - a.at).max(1e-9)
    };
    let client_cpu = cpu_share(&first, &last);
    let sim_cpu = sim_first.map_or(0.0, |f| cpu_share(&f, &sim_last));
    #[allow(clippy::cast_precision_loss)]
    // A run the simulator ended early (e.g. as a slow consumer) printed fewer than the limit:
    // its final stats event says how many.
    let (messages, exact) = match limit {
        Some(n) => (stats_messages.map_or(n, |got| got.min(n)) as f64, true),
        None => (last.wchar as f64 / mean_line_len(root)?, false),
    };
    let msgs_per_s = if exact {
        messages / secs
    } else {
        messages / io_secs
    };
    #[allow(clippy::cast_precision_loss)]
    let json_mbps = last.wchar as f64 / io_secs / 1e6;
    #[allow(clippy::cast_precision_loss)]
    let wire_mbps = wire.map(|(at, bytes)| bytes as f64 / (at - start_at).max(1e-9) / 1e6);
    let peak_kib = samples.iter().map(|s| s.hwm_kib).max().unwrap_or(0);
    let rss_at = |fraction: f64| -> u64 {
        let target = last.at * fraction;
        samples
            .iter()
            .find(|s| s.at >= target)
            .map_or(0, |s| s.rss_kib)
    };

    let mut md = String::new();
    let _ = writeln!(md, "### End to end over loopback, {} mode\n", o.mode);
    let _ = writeln!(
        md,
        "`oddsfeed {}` and `oddsfeed {} > /dev/null` as separate \
         processes; RSS and CPU time from `/proc/<pid>/status` and `/proc/<pid>/stat` every {} ms, \
         stdout bytes from `/proc/<pid>/io`, wire bytes from `ss -ti` once a second. \
         Load average at the end: {}.\n",
        sim_args.join(" "),
        args.join(" ").replace(&url, "ws://127.0.0.1:PORT/ws"),
        o.sample_ms,
        load_average()
    );
    let _ = writeln!(md, "| figure | value |\n|---|---:|");
    let approx = if exact { "" } else { "≈ " };
    let _ = writeln!(md, "| messages | {approx}{} |", thousands(messages));
    let _ = writeln!(md, "| seconds (from `login_ok`) | {secs:.1} |");
    let _ = writeln!(md, "| messages/s | {approx}{} |", thousands(msgs_per_s));
    let _ = writeln!(
        md,
        "| wire MB/s (TCP bytes received, `ss -ti`) | {} |",
        wire_mbps.map_or_else(|| "n/a".to_owned(), |m| format!("{m:.1}"))
    );
    let _ = writeln!(md, "| JSON MB/s (client stdout) | {json_mbps:.1} |");
    #[allow(clippy::cast_precision_loss)]
    let mib = |kib: u64| kib as f64 / 1024.0;
    let _ = writeln!(md, "| client peak RSS (VmHWM) | {:.1} MiB |", mib(peak_kib));
    let _ = writeln!(
        md,
        "| client RSS at 10% / 50% / 90% / end of run | {:.1} / {:.1} / {:.1} / {:.1} MiB |",
        mib(rss_at(0.1)),
        mib(rss_at(0.5)),
        mib(rss_at(0.9)),
        mib(last.rss_kib)
    );
    let _ = writeln!(md, "| simulator peak RSS | {:.1} MiB |", mib(sim_peak_kib));
    let _ = writeln!(
        md,
        "| CPU used: client / simulator (cores) | {client_cpu:.2} / {sim_cpu:.2} |"
    );
    #[allow(clippy::cast_precision_loss)]
    let client_us_per_msg = last.cpu_ticks as f64 / ticks / messages.max(1.0) * 1e6;
    let _ = writeln!(
        md,
        "| client CPU time per message (user + system, all threads) | {approx}{client_us_per_msg:.2} µs |"
    );
    let _ = writeln!(md, "| RSS samples | {} |", samples.len());
    let offered = o.rate.map_or_else(
        || "unpaced".to_owned(),
        |r| format!("{} msg/s", thousands(r as f64)),
    );
    let _ = writeln!(md, "| offered rate (simulator) | {offered} |");
    if let Some(l) = &latency {
        let us = |key: &str| l.get(key).and_then(Value::as_f64).unwrap_or(f64::NAN);
        let _ = writeln!(
            md,
            "| delivery latency p50 / p99 / p99.9 / max (socket read → taken, {} messages) | \
             {:.1} / {:.1} / {:.1} / {:.1} µs |",
            l.get("count").and_then(Value::as_u64).unwrap_or(0),
            us("p50_us"),
            us("p99_us"),
            us("p999_us"),
            us("max_us")
        );
    }
    if let Some(path) = &o.record {
        let bytes = fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        #[allow(clippy::cast_precision_loss)]
        let _ = writeln!(
            md,
            "| recording size | {:.1} MiB |",
            bytes as f64 / 1048576.0
        );
    }
    let interesting: Vec<String> = events
        .iter()
        .filter(|(name, _)| name.as_str() != "data")
        .map(|(name, n)| format!("{name}×{n}"))
        .collect();
    let _ = writeln!(md, "\nClient events: {}.", interesting.join(", "));
    if login_at.is_none() {
        let _ = writeln!(
            md,
            "(no `login_ok` seen: times are from the client's start)"
        );
    }
    Ok(md)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn bench_flags() {
        assert_eq!(parse_bench(&[]), Ok(BenchOptions::default()));
        let o = parse_bench(&args(
            "--messages 500 --rounds 2 --passes 1 --mode zstd --seed 4 --no-python --no-build --out r.md --corpus c",
        ))
        .expect("ok");
        assert_eq!(
            o,
            BenchOptions {
                messages: 500,
                rounds: 2,
                passes: 1,
                mode: SimReceiveType::Zstd,
                seed: 4,
                corpus: Some(PathBuf::from("c")),
                out: Some(PathBuf::from("r.md")),
                python: false,
                build: false,
            }
        );
        assert_eq!(
            parse_bench(&args("--rounds 0")),
            Err("--rounds: must be at least 1".to_owned())
        );
        assert_eq!(
            parse_bench(&args("--fast")),
            Err("bench: unknown flag \"--fast\"".to_owned())
        );
        assert_eq!(
            parse_bench(&args("--passes")),
            Err("bench: --passes needs a value".to_owned())
        );
    }

    #[test]
    fn e2e_flags() {
        assert_eq!(parse_e2e(&[]), Ok(E2eOptions::default()));
        let o = parse_e2e(&args("--seconds 600 --mode zstd --sample-ms 250")).expect("ok");
        assert_eq!(o.seconds, Some(600));
        assert_eq!(o.mode, SimReceiveType::Zstd);
        assert_eq!(o.sample_ms, 250);
        let o = parse_e2e(&args("--rate 50000 --record /tmp/r.ofr")).expect("ok");
        assert_eq!(o.rate, Some(50_000));
        assert_eq!(o.record, Some(PathBuf::from("/tmp/r.ofr")));
        assert!(parse_e2e(&args("--rate 0")).is_err());
        assert_eq!(
            parse_e2e(&args("--seconds 1 --messages 2")),
            Err("e2e: give --messages or --seconds, not both".to_owned())
        );
    }

    #[test]
    fn summaries() {
        let v = [3.0, 1.0, 2.0, 10.0];
        assert!((median(&v) - 2.5).abs() < 1e-12);
        assert!((median(&v[..3]) - 2.0).abs() < 1e-12);
        assert!((min(&v) - 1.0).abs() < 1e-12);
        assert!((max(&v) - 10.0).abs() < 1e-12);
        assert!((spread(&v) - 4.5 / 2.5).abs() < 1e-12);
        assert_eq!(thousands(1_234_567.6), "1,234,568");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1000.0), "1,000");
    }

    #[test]
    fn proc_samples_read_this_process() {
        let s = proc_sample(std::process::id(), 1.5).expect("own /proc entry");
        assert!(s.rss_kib > 0 && s.hwm_kib >= s.rss_kib, "{s:?}");
        assert!((s.at - 1.5).abs() < 1e-12);
    }

    #[test]
    fn stage_lines_map_to_rows() {
        let line = |stage: &str| serde_json::json!({"stage": stage, "frames_per_s": 1.0});
        assert_eq!(pick_stage(&line("ceiling")), Some(CEILING));
        assert_eq!(pick_stage(&line("pipeline")), None);
        assert_eq!(pick_single(&line("x")), Some(""));
    }
}
