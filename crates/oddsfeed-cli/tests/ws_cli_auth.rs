//! A refused key: exit 3, the reason quotes the `error` frame, the key never appears; the key may
//! come from `ODDSPAPI_API_KEY`.

mod common;
mod ws_cli_common;

use std::time::Duration;

use ws_cli_common::*;

const SECRET: &str = "wrong-KEY-9f8e7d6c5b4a";

#[test]
fn refused_key_exits_3_without_showing_the_key() {
    let sim = SimProcess::start(&["--messages", "50", "--api-key", "the-right-one"]);
    for events in ["human", "jsonl"] {
        let out = run(
            &[
                "ws",
                "--url",
                &sim.url,
                "--api-key",
                SECRET,
                "--events",
                events,
            ],
            &[],
            Duration::from_secs(20),
        );
        assert_eq!(out.code(), 3, "stderr:\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{}", out.stdout);
        assert!(out.stderr.contains("login_failed"), "{}", out.stderr);
        assert!(
            out.stderr
                .contains("server refused the login: login_failed: invalid apiKey"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains(SECRET), "key leaked:\n{}", out.stderr);
    }
}

#[test]
fn key_from_the_environment_works_and_stays_hidden() {
    let sim = SimProcess::start(&["--messages", "20", "--api-key", "env-key-123456"]);
    let ok = run(
        &["ws", "--url", &sim.url, "--once", "--receive-type", "json"],
        &[("ODDSPAPI_API_KEY", "env-key-123456")],
        Duration::from_secs(20),
    );
    assert_eq!(ok.code(), 0, "stderr:\n{}", ok.stderr);
    assert_eq!(ok.json_lines().len(), 20);
    assert!(!ok.stderr.contains("env-key-123456"), "{}", ok.stderr);

    let refused = run(
        &["ws", "--url", &sim.url, "--once"],
        &[("ODDSPAPI_API_KEY", SECRET)],
        Duration::from_secs(20),
    );
    assert_eq!(refused.code(), 3, "stderr:\n{}", refused.stderr);
    assert!(!refused.stderr.contains(SECRET), "{}", refused.stderr);
}

#[test]
fn unreachable_server_with_once_exits_1_with_one_reason_line() {
    // Port 9 (discard) on loopback: nothing listens there in the test environment.
    let out = run(
        &[
            "ws",
            "--url",
            "ws://127.0.0.1:9/ws",
            "--api-key",
            SECRET,
            "--once",
        ],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), 1, "stderr:\n{}", out.stderr);
    let last = out.stderr.lines().last().unwrap_or_default();
    assert!(last.contains("could not connect"), "{}", out.stderr);
    assert!(!out.stderr.contains(SECRET));
}

#[test]
fn missing_key_is_a_usage_error() {
    let out = run(
        &["ws", "--url", "ws://127.0.0.1:9/ws"],
        &[],
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), 2, "stderr:\n{}", out.stderr);
}
