//! Project automation, run as `cargo xtask <command>`.
//!
//! - `fixtures [--check]`: regenerate `fixtures/` deterministically (trained
//!   dictionaries, one JSON file per message type of both feeds, encoded
//!   frames, a small decode corpus per receive type). `--check` regenerates
//!   into a temporary directory and fails if anything checked in differs.
//! - `corpus --messages N --out DIR [--mode M] [--seed S] [--level L]`: write
//!   a large decode-benchmark corpus (not checked in).
//! - `bench [...]`: decode throughput of the release build beside the Python
//!   loops and the decode ceiling, interleaved rounds, Markdown table with
//!   medians, spread and ratios (see `bench.rs` and docs/BENCHMARKS.md).
//! - `e2e [...]`: simulator and client as separate processes over loopback:
//!   messages/s, MB/s and sampled RSS.

mod bench;
mod fixtures;
mod img_fixtures;
mod py_features;
mod tree;
mod ws_fixtures;

use std::path::PathBuf;
use std::process::ExitCode;

use oddsfeed_sim::corpus::{CorpusOptions, CorpusShape};
use oddsfeed_sim::encode::{DEFAULT_LEVEL, SimReceiveType};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  fixtures [--check]     regenerate fixtures/ (--check: fail if it is stale)
  corpus --messages N --out DIR [--mode json|binary|zstd|zstd-dict] [--seed S] [--level L]
         [--shape ours|other]
                         write a decode-benchmark corpus (default mode zstd-dict;
                         --shape other: another producer's spellings, own dictionaries)
  bench [--messages N] [--rounds R] [--passes P] [--mode M] [--seed S] [--shape S]
        [--corpus DIR] [--out FILE] [--no-python] [--no-build]
                         decode throughput: Rust, the ceiling and the Python loops,
                         interleaved; writes target/bench/decode.md
  e2e [--messages N | --seconds S] [--mode M] [--rate MSG_PER_S] [--record FILE] [--pin]
      [--sample-ms MS] [--out FILE] [--no-build]
                         simulator + client processes over loopback: messages/s,
                         MB/s, RSS, delivery latency percentiles (--rate: a paced
                         simulator; --record: the client records too; --pin: simulator on CPU 0, client on CPU 1);
                         writes target/bench/e2e.md
  help                   show this text";

/// A parsed command line.
#[derive(Debug, PartialEq, Eq)]
enum Command {
    Fixtures {
        check: bool,
    },
    Corpus {
        messages: usize,
        out: PathBuf,
        mode: SimReceiveType,
        seed: u64,
        level: i32,
        shape: CorpusShape,
    },
    Bench(bench::BenchOptions),
    E2e(bench::E2eOptions),
    Help,
}

fn parse(args: &[String]) -> Result<Command, String> {
    let (command, rest) = args.split_first().ok_or("missing command")?;
    match command.as_str() {
        "fixtures" => match rest {
            [] => Ok(Command::Fixtures { check: false }),
            [flag] if flag == "--check" => Ok(Command::Fixtures { check: true }),
            _ => Err(format!("fixtures: unexpected arguments {rest:?}")),
        },
        "corpus" => parse_corpus(rest),
        "bench" => bench::parse_bench(rest).map(Command::Bench),
        "e2e" => bench::parse_e2e(rest).map(Command::E2e),
        "help" | "--help" | "-h" => Ok(Command::Help),
        other => Err(format!("unknown command {other:?}")),
    }
}

fn parse_corpus(args: &[String]) -> Result<Command, String> {
    let mut messages = None;
    let mut out = None;
    let mut mode = SimReceiveType::ZstdDict;
    let mut seed = 1;
    let mut level = DEFAULT_LEVEL;
    let mut shape = CorpusShape::Ours;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .ok_or_else(|| format!("corpus: {flag} needs a value"))
        };
        match flag.as_str() {
            "--messages" => messages = Some(number(flag, value()?)?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--mode" => mode = value()?.parse().map_err(|e| format!("corpus: {e}"))?,
            "--seed" => seed = number(flag, value()?)?,
            "--level" => level = number(flag, value()?)?,
            "--shape" => shape = value()?.parse().map_err(|e| format!("corpus: {e}"))?,
            other => return Err(format!("corpus: unknown flag {other:?}")),
        }
    }
    Ok(Command::Corpus {
        messages: messages.ok_or("corpus: --messages N is required")?,
        out: out.ok_or("corpus: --out DIR is required")?,
        mode,
        seed,
        level,
        shape,
    })
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value:?} is not a valid number"))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("xtask: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Fixtures { check: false } => fixtures::update(&fixtures::fixtures_dir()),
        Command::Fixtures { check: true } => fixtures::check(&fixtures::fixtures_dir()),
        Command::Corpus {
            messages,
            out,
            mode,
            seed,
            level,
            shape,
        } => corpus(messages, &out, mode, seed, level, shape),
        Command::Bench(options) => bench::bench(&options),
        Command::E2e(options) => bench::e2e(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn corpus(
    messages: usize,
    out: &std::path::Path,
    mode: SimReceiveType,
    seed: u64,
    level: i32,
    shape: CorpusShape,
) -> Result<(), String> {
    let options = CorpusOptions {
        level,
        shape,
        ..CorpusOptions::new(mode, messages, seed)
    };
    let summary = bench::write_shaped_corpus(out, &options)?;
    let ratio = summary.bytes_json as f64 / summary.bytes_in.max(1) as f64;
    println!(
        "wrote {} frames ({mode}) to {}: {} bytes of frames for {} bytes of JSON (ratio {ratio:.2})",
        summary.frames,
        out.display(),
        summary.bytes_in,
        summary.bytes_json,
    );
    let channels: Vec<String> = summary
        .per_channel
        .iter()
        .map(|(ch, n)| format!("{ch}={n}"))
        .collect();
    println!("per channel: {}", channels.join(" "));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_fixtures() {
        assert_eq!(
            parse(&args("fixtures")),
            Ok(Command::Fixtures { check: false })
        );
        assert_eq!(
            parse(&args("fixtures --check")),
            Ok(Command::Fixtures { check: true })
        );
        assert_eq!(
            parse(&args("fixtures --force")),
            Err("fixtures: unexpected arguments [\"--force\"]".to_owned())
        );
    }

    #[test]
    fn parses_corpus_with_defaults() {
        assert_eq!(
            parse(&args("corpus --messages 1000 --out /tmp/c")),
            Ok(Command::Corpus {
                messages: 1000,
                out: PathBuf::from("/tmp/c"),
                mode: SimReceiveType::ZstdDict,
                seed: 1,
                level: 3,
                shape: CorpusShape::Ours,
            })
        );
        assert_eq!(
            parse(&args(
                "corpus --out d --mode binary --seed 9 --messages 5 --level 7 --shape other"
            )),
            Ok(Command::Corpus {
                messages: 5,
                out: PathBuf::from("d"),
                mode: SimReceiveType::Binary,
                seed: 9,
                level: 7,
                shape: CorpusShape::Other,
            })
        );
    }

    #[test]
    fn rejects_bad_corpus_arguments() {
        assert_eq!(
            parse(&args("corpus --out d")),
            Err("corpus: --messages N is required".to_owned())
        );
        assert_eq!(
            parse(&args("corpus --messages x --out d")),
            Err("--messages: \"x\" is not a valid number".to_owned())
        );
        assert_eq!(
            parse(&args("corpus --messages 1 --out d --mode gzip")),
            Err(
                "corpus: unknown receive type \"gzip\" (expected json, binary, zstd or zstd-dict)"
                    .to_owned()
            )
        );
        assert_eq!(
            parse(&args("corpus --messages")),
            Err("corpus: --messages needs a value".to_owned())
        );
        assert_eq!(parse(&args("")), Err("missing command".to_owned()));
        assert_eq!(
            parse(&args("frobnicate")),
            Err("unknown command \"frobnicate\"".to_owned())
        );
    }
}
