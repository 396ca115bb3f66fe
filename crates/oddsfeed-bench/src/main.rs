//! `oddsfeed-bench stages --corpus DIR [--mode M] [--passes N]`: times each decode stage over a
//! corpus and prints one JSON line per stage on stdout, like `oddsfeed bench decode`:
//!
//! `{"stage":"decompress","mode":"zstd-dict","frames":F,"bytes_out":O,"passes":N,"frames_per_s":X,"mb_per_s":Y}`
//!
//! Stages: `decompress` (zstd modes), `parse`, `ceiling` (both back to back), `pipeline` (the
//! client's `FrameDecoder`, as `oddsfeed bench decode`), `pipeline-envelope` (the same with
//! `PayloadMode::Envelope`: all but the typed payload). Passes are interleaved (every stage
//! once, then again) and the best pass of each stage is reported; `frames_per_cpu_s` is the
//! same figure from the least CPU time this thread used in a pass (Linux), which a shared
//! machine disturbs less than wall time. Exit 2 on a bad command line,
//! 1 when the corpus cannot be read or decoded.

use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::{Duration, Instant};

use oddsfeed_bench::Corpus;
use oddsfeed_bench::stages::{
    Ceiling, PassCounts, Pipeline, RawDecompress, StageError, TapeParse, json_messages,
};
use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::PayloadMode;

const USAGE: &str =
    "usage: oddsfeed-bench stages --corpus DIR [--mode json|zstd|zstd-dict] [--passes N]";

struct Args {
    corpus: PathBuf,
    mode: ReceiveType,
    passes: u32,
}

fn parse_args(args: &[String]) -> Result<Args, String> {
    let (command, rest) = args.split_first().ok_or("missing command")?;
    if command != "stages" {
        return Err(format!("unknown command {command:?}"));
    }
    let mut corpus = None;
    let mut mode = ReceiveType::ZstdDict;
    let mut passes = 3;
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--corpus" => corpus = Some(PathBuf::from(value)),
            "--mode" => mode = ReceiveType::from_str(value).map_err(|e| e.to_string())?,
            "--passes" => {
                passes = value
                    .parse()
                    .ok()
                    .filter(|&n| n > 0)
                    .ok_or_else(|| format!("--passes {value:?}: expected a number ≥ 1"))?;
            }
            other => return Err(format!("unknown flag {other:?}")),
        }
    }
    Ok(Args {
        corpus: corpus.ok_or("--corpus DIR is required")?,
        mode,
        passes,
    })
}

/// One stage: its name and a closure running one pass.
type Stage<'a> = (
    &'static str,
    Box<dyn FnMut() -> Result<PassCounts, StageError> + 'a>,
);

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let args = match parse_args(&argv) {
        Ok(args) => args,
        Err(e) => {
            eprintln!("oddsfeed-bench: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oddsfeed-bench: error: {e}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &Args) -> Result<(), String> {
    let corpus = Corpus::load(&args.corpus, args.mode).map_err(|e| e.to_string())?;
    let messages = json_messages(&corpus).map_err(|e| e.to_string())?;
    let mut raw = RawDecompress::new(&corpus).map_err(|e| e.to_string())?;
    let mut parse = TapeParse::new();
    let mut ceiling = Ceiling::new(&corpus).map_err(|e| e.to_string())?;
    let mut pipeline = Pipeline::new(&corpus).map_err(|e| e.to_string())?;
    let mut envelope =
        Pipeline::with_payload_mode(&corpus, PayloadMode::Envelope).map_err(|e| e.to_string())?;

    let mut stages: Vec<Stage<'_>> = Vec::new();
    if args.mode != ReceiveType::Json {
        stages.push(("decompress", Box::new(|| raw.pass(&corpus))));
    }
    stages.push(("parse", Box::new(|| parse.pass(&messages))));
    stages.push(("ceiling", Box::new(|| ceiling.pass(&corpus))));
    stages.push(("pipeline", Box::new(|| pipeline.pass(&corpus))));
    stages.push(("pipeline-envelope", Box::new(|| envelope.pass(&corpus))));

    let mut best = vec![(Duration::MAX, PassCounts::default()); stages.len()];
    // The least CPU time of this thread per pass, when the kernel reports it.
    let mut best_cpu = vec![Duration::MAX; stages.len()];
    for _ in 0..args.passes {
        for (((_, stage), best), best_cpu) in stages
            .iter_mut()
            .zip(best.iter_mut())
            .zip(best_cpu.iter_mut())
        {
            let cpu_start = thread_cpu_time();
            let start = Instant::now();
            let counts = stage().map_err(|e| e.to_string())?;
            let elapsed = start.elapsed();
            if let (Some(from), Some(to)) = (cpu_start, thread_cpu_time()) {
                *best_cpu = (*best_cpu).min(to.saturating_sub(from));
            }
            if elapsed < best.0 {
                *best = (elapsed, counts);
            }
        }
    }
    for (((name, _), (elapsed, counts)), cpu) in stages.iter().zip(best).zip(best_cpu) {
        let secs = elapsed.as_secs_f64().max(1e-9);
        #[allow(clippy::cast_precision_loss)] // counts far below 2^52
        let mut line = serde_json::json!({
            "stage": name,
            "mode": args.mode.as_str(),
            "frames": counts.frames,
            "bytes_out": counts.bytes_out,
            "passes": args.passes,
            "frames_per_s": (counts.frames as f64 / secs * 10.0).round() / 10.0,
            "mb_per_s": (counts.bytes_out as f64 / secs / 1e3).round() / 1e3,
        });
        if cpu != Duration::MAX {
            let cpu_secs = cpu.as_secs_f64().max(1e-9);
            #[allow(clippy::cast_precision_loss)]
            let rate = (counts.frames as f64 / cpu_secs * 10.0).round() / 10.0;
            line["frames_per_cpu_s"] = rate.into();
        }
        println!("{line}");
    }
    Ok(())
}

/// The CPU time this thread has used (`/proc/thread-self/schedstat`, nanoseconds), which a
/// busy machine disturbs far less than wall time; `None` where the kernel does not say.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_the_stages_command() {
        let a = parse_args(&args("stages --corpus /c --mode zstd --passes 5")).expect("ok");
        assert_eq!(
            (a.corpus, a.mode, a.passes),
            (PathBuf::from("/c"), ReceiveType::Zstd, 5)
        );
        let a = parse_args(&args("stages --corpus d")).expect("ok");
        assert_eq!((a.mode, a.passes), (ReceiveType::ZstdDict, 3));
    }

    #[test]
    fn thread_cpu_time_moves_forward_with_work() {
        let Some(before) = thread_cpu_time() else {
            eprintln!("skipped: no /proc/thread-self/schedstat on this system");
            return;
        };
        let mut x = 0_u64;
        for i in 0..2_000_000_u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = thread_cpu_time().unwrap_or_default();
        assert!(after > before, "{before:?} -> {after:?} ({x})");
    }

    #[test]
    fn refuses_bad_command_lines() {
        let err = |s: &str| parse_args(&args(s)).err();
        assert_eq!(err(""), Some("missing command".to_owned()));
        assert_eq!(err("run"), Some("unknown command \"run\"".to_owned()));
        assert_eq!(err("stages"), Some("--corpus DIR is required".to_owned()));
        assert_eq!(
            err("stages --corpus d --passes 0"),
            Some("--passes \"0\": expected a number ≥ 1".to_owned())
        );
        assert_eq!(
            err("stages --corpus"),
            Some("--corpus needs a value".to_owned())
        );
        assert_eq!(err("stages --x 1"), Some("unknown flag \"--x\"".to_owned()));
    }
}
