//! `oddsfeed bench decode` on the checked-in corpora (fixtures/corpus/<mode>/): one JSON line
//! with exactly the docs/CLI.md fields, counts that match the corpus files, and the failure modes.
//! No timing is asserted beyond "positive and consistent".

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const MODES: [&str; 4] = ["json", "binary", "zstd", "zstd-dict"];
const FIELDS: [&str; 7] = [
    "mode",
    "frames",
    "bytes_in",
    "bytes_out",
    "passes",
    "frames_per_s",
    "mb_per_s",
];

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus")
}

fn oddsfeed(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_oddsfeed"))
        .args(args)
        .output()
        .expect("run oddsfeed")
}

/// Frame count and summed record lengths of a `frames.bin`, read independently of the CLI.
fn records(path: &Path) -> (u64, u64) {
    let data = fs::read(path).expect("frames.bin");
    let (mut frames, mut bytes, mut at) = (0, 0, 0);
    while at < data.len() {
        let len = u32::from_le_bytes(data[at..at + 4].try_into().expect("length")) as usize;
        at += 4 + len;
        frames += 1;
        bytes += len as u64;
    }
    assert_eq!(at, data.len(), "{} ends inside a record", path.display());
    (frames, bytes)
}

/// Summed lengths of the corpus' JSON messages (what decompression yields).
fn json_bytes() -> u64 {
    let text = fs::read_to_string(corpus_root().join("messages.jsonl")).expect("messages.jsonl");
    text.lines().map(|l| l.len() as u64).sum()
}

/// Runs the benchmark and returns its single stdout line, parsed.
fn bench(dir: &Path, mode: &str, extra: &[&str]) -> Value {
    let dir = dir.to_str().expect("utf-8 path");
    let mut args = vec!["bench", "decode", "--corpus", dir, "--mode", mode];
    args.extend_from_slice(extra);
    let out = oddsfeed(&args);
    let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
    assert!(
        out.status.success(),
        "{mode}: exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "{mode}: stdout must be one line: {stdout:?}"
    );
    assert!(stdout.ends_with('\n'));
    serde_json::from_str(lines[0]).expect("JSON line")
}

fn check_report(report: &Value, mode: &str, passes: u64) {
    let obj = report.as_object().expect("an object");
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, FIELDS, "{mode}: keys and their order");

    let dir = corpus_root().join(mode);
    let (frames, bytes_in) = records(&dir.join("frames.bin"));
    assert_eq!(frames, 500);
    let bytes_out = if mode == "binary" {
        bytes_in // MessagePack goes to the parser as received
    } else {
        json_bytes()
    };
    assert_eq!(report["mode"], mode);
    assert_eq!(report["frames"].as_u64(), Some(frames), "{mode}: frames");
    assert_eq!(
        report["bytes_in"].as_u64(),
        Some(bytes_in),
        "{mode}: bytes_in"
    );
    assert_eq!(
        report["bytes_out"].as_u64(),
        Some(bytes_out),
        "{mode}: bytes_out"
    );
    assert_eq!(report["passes"].as_u64(), Some(passes));

    let fps = report["frames_per_s"]
        .as_f64()
        .expect("frames_per_s is a number");
    let mbps = report["mb_per_s"].as_f64().expect("mb_per_s is a number");
    assert!(fps > 0.0 && mbps > 0.0, "{mode}: {report}");
    // Both figures come from the same (best) pass: MB/s = frames/s × bytes per frame / 10^6.
    let expected = fps * bytes_out as f64 / frames as f64 / 1e6;
    assert!(
        (mbps - expected).abs() <= 0.001 + expected * 1e-3,
        "{mode}: mb_per_s {mbps} vs {expected} from frames_per_s"
    );
}

#[test]
fn every_mode_reports_the_cli_fields_and_the_corpus_counts() {
    for mode in MODES {
        let report = bench(&corpus_root().join(mode), mode, &["--passes", "1"]);
        check_report(&report, mode, 1);
    }
}

#[test]
fn two_threads_count_one_pass_over_the_corpus() {
    let report = bench(
        &corpus_root().join("zstd-dict"),
        "zstd-dict",
        &["--passes", "2", "--threads", "2"],
    );
    check_report(&report, "zstd-dict", 2);
}

#[test]
fn mode_defaults_to_zstd_dict_and_other_files_are_ignored() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = corpus_root().join("zstd-dict");
    for entry in fs::read_dir(&src).expect("corpus dir") {
        let entry = entry.expect("entry");
        fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    fs::write(dir.path().join("notes.txt"), "not part of the corpus").expect("write");
    fs::write(dir.path().join("odds.dict"), "not a dictId name").expect("write");
    fs::create_dir(dir.path().join("sub")).expect("mkdir");

    let corpus = dir.path().to_str().expect("utf-8");
    let out = oddsfeed(&["bench", "decode", "--corpus", corpus, "--passes", "1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON line");
    // Same frames and dictionaries as the checked-in corpus, so the same counts.
    check_report(&report, "zstd-dict", 1);
}

#[test]
fn missing_corpus_is_a_one_line_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("nowhere");
    let out = oddsfeed(&[
        "bench",
        "decode",
        "--corpus",
        corpus.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("oddsfeed: error: cannot read ") && stderr.contains("frames.bin"),
        "{stderr}"
    );
}

#[test]
fn frames_that_do_not_decode_fail_the_run() {
    // JSON frames benchmarked as zstd: each is refused by its magic number.
    let corpus = corpus_root().join("json");
    let out = oddsfeed(&[
        "bench",
        "decode",
        "--corpus",
        corpus.to_str().expect("utf-8"),
        "--mode",
        "zstd",
        "--passes",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(
        stderr.starts_with(
            "oddsfeed: error: 500 of 500 frames did not decode to a message (first: bad_magic"
        ),
        "{stderr}"
    );
}

#[test]
fn a_missing_dictionary_fails_the_run_with_unknown_dict() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = corpus_root().join("zstd-dict");
    fs::copy(src.join("frames.bin"), dir.path().join("frames.bin")).expect("copy");
    let out = oddsfeed(&[
        "bench",
        "decode",
        "--corpus",
        dir.path().to_str().expect("utf-8"),
        "--passes",
        "1",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(stderr.contains("(first: unknown_dict"), "{stderr}");
}

#[test]
fn a_bad_dictionary_file_or_truncated_frames_fail_before_timing() {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("frames.bin"), [5u8, 0, 0, 0, b'{', b'}']).expect("write");
    let corpus = dir.path().to_str().expect("utf-8");
    let out = oddsfeed(&["bench", "decode", "--corpus", corpus, "--mode", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(
        stderr.contains("frames.bin: truncated record at byte 0"),
        "{stderr}"
    );

    fs::write(dir.path().join("frames.bin"), [2u8, 0, 0, 0, b'{', b'}']).expect("write");
    fs::write(dir.path().join("7.dict"), b"not a dictionary").expect("write");
    let out = oddsfeed(&["bench", "decode", "--corpus", corpus, "--mode", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).expect("utf-8");
    assert!(stderr.contains("7.dict: dictionary rejected"), "{stderr}");
}

#[test]
fn zero_passes_or_threads_is_a_usage_error() {
    let corpus = corpus_root().join("json");
    let corpus = corpus.to_str().expect("utf-8");
    for flag in ["--passes", "--threads"] {
        let out = oddsfeed(&["bench", "decode", "--corpus", corpus, flag, "0"]);
        assert_eq!(out.status.code(), Some(2), "{flag} 0");
        let stderr = String::from_utf8(out.stderr).expect("utf-8");
        assert_eq!(
            stderr.trim_end(),
            format!("oddsfeed: error: {flag} must be at least 1")
        );
    }
}
