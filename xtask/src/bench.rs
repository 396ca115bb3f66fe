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

use oddsfeed_sim::corpus::other::OtherGenerator;
use oddsfeed_sim::corpus::{
    CorpusOptions, CorpusShape, CorpusSummary, FRAMES_FILE, write_corpus_with,
};
use oddsfeed_sim::dicts::{SimDict, builtin_dicts};
use oddsfeed_sim::encode::SimReceiveType;
use oddsfeed_sim::ws_gen::WsGenerator;
use serde_json::Value;

mod decode;
mod e2e;
mod report;

pub use decode::bench;
pub use e2e::e2e;
use report::*;
#[cfg(test)]
use {decode::*, e2e::*};

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
    /// How the generated corpus' messages are written (`--shape ours|other`).
    pub shape: CorpusShape,
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
            shape: CorpusShape::Ours,
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
    /// Pin the simulator to CPU 0 and the client to CPU 1 (`taskset -c`), so that neither
    /// process's threads wait behind the other's.
    pub pin: bool,
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
            pin: false,
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
            "--shape" => o.shape = value()?.parse().map_err(|e| format!("bench: {e}"))?,
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
            "--pin" => o.pin = true,
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

/// Messages per channel the `other` corpus' dictionaries are trained on.
const OTHER_TRAINING_MESSAGES: u64 = 1000;

/// Writes a corpus; the `other` shape in `zstd-dict` mode gets dictionaries of its own,
/// trained here on another sample than the one served (another seed, fewer messages, other
/// dictIds), as a feed's dictionaries are trained on its past traffic, not on the frames a
/// client receives.
pub(crate) fn write_shaped_corpus(
    dir: &Path,
    options: &CorpusOptions<'static>,
) -> Result<CorpusSummary, String> {
    let mut options = *options;
    if options.shape == CorpusShape::Other && options.mode == SimReceiveType::ZstdDict {
        let mut dicts = Vec::new();
        for (k, like) in (0u32..).zip(builtin_dicts()) {
            let seed = options.seed.wrapping_add(7919);
            let inner = WsGenerator::new(seed)
                .with_channels(&[like.channel])
                .map_err(|e| e.to_string())?;
            let mut generator = OtherGenerator::wrap(inner, seed);
            let samples: Vec<String> = (0..OTHER_TRAINING_MESSAGES)
                .map(|i| generator.next(1_766_200_000_000 + i * 11).json)
                .collect();
            let like = SimDict {
                id: 1_179_000_001 + k,
                ..*like
            };
            dicts.push(crate::fixtures::train_on(&like, &samples)?);
        }
        // A short-lived tool: leaking ~100 KB per corpus keeps the options 'static.
        options.dicts = Box::leak(dicts.into_boxed_slice());
    }
    write_corpus_with(dir, &options).map_err(|e| format!("writing {}: {e}", dir.display()))
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
            "--messages 500 --rounds 2 --passes 1 --mode zstd --seed 4 --no-python --no-build --out r.md --corpus c --shape other",
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
                shape: CorpusShape::Other,
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
        assert!(!o.pin);
        let o = parse_e2e(&args("--rate 50000 --record /tmp/r.ofr --pin")).expect("ok");
        assert_eq!(o.rate, Some(50_000));
        assert_eq!(o.record, Some(PathBuf::from("/tmp/r.ofr")));
        assert!(o.pin);
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
