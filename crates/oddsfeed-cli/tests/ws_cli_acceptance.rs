//! The acceptance run: `oddsfeed ws ... --receive-type zstd-dict --limit 100000 --once` against
//! `oddsfeed sim ws --messages 100000` prints exactly the messages the simulator sent.
//!
//! `ODDSFEED_ACCEPTANCE_MESSAGES` overrides the count (e.g. a quick local run with 5000).

mod common;
mod ws_cli_common;

use std::time::Duration;

use ws_cli_common::*;

fn messages() -> u64 {
    std::env::var("ODDSFEED_ACCEPTANCE_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

#[test]
fn ws_prints_exactly_what_the_simulator_sent() {
    let n = messages().to_string();
    let sim = SimProcess::start(&["--messages", &n, "--api-key", "K"]);
    let out = run(
        &[
            "ws",
            "--url",
            &sim.url,
            "--api-key",
            "K",
            "--receive-type",
            "zstd-dict",
            "--limit",
            &n,
            "--once",
        ],
        &[],
        Duration::from_secs(300),
    );
    assert_eq!(out.code(), 0, "stderr:\n{}", out.stderr);
    assert!(out.stdout.ends_with('\n'));
    let lines = out.json_lines();
    assert_eq!(lines.len().to_string(), n);
    assert_is_the_generated_stream(DEFAULT_SEED, &lines);
    // stdout is data only; the events went to stderr.
    assert!(out.stderr.contains("login_ok"), "{}", out.stderr);
    assert!(!out.stderr.contains("decode_error"), "{}", out.stderr);
}
