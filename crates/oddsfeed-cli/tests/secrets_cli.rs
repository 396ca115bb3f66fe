//! Secrets never leak from the command line (issue "Reliability and security hardening",
//! item 4; docs/RELIABILITY.md "Secure defaults").
//!
//! Every test runs the real binary as separate processes with a distinctive secret and then
//! searches everything the processes wrote for it:
//!
//! - `oddsfeed ws` against `oddsfeed sim ws`, with the key given by `--api-key` and by
//!   `ODDSPAPI_API_KEY`, with the human log and with `--events jsonl`, with `RUST_LOG=trace`:
//!   a good run, a run resuming from a `--state` file, and a refused login; stdout, stderr and
//!   the state file never contain the key;
//! - `oddsfeed sim ws` with `RUST_LOG=trace` (it honours `RUST_LOG`): its log never contains
//!   the key a client logged in with;
//! - `oddsfeed img --ssh`: stdout and stderr never contain the private key's base64 body or the
//!   identity file's name, on success, on refused authentication and on an unusable key file;
//! - and one secure default of `oddsfeed img --ssh`: without `--known-hosts` the host key is
//!   checked against `~/.ssh/known_hosts` (unknown and changed keys are fatal); only
//!   `--insecure-accept-host-key` skips the check.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    BIN, Sim, SshSim, as_strs, keygen, public_key, run_oddsfeed, text, write_known_hosts,
};
use serde_json::Value;

/// A key that is easy to search for.
const KEY: &str = "KEY-c0ffee-SECRET";

/// Runs `oddsfeed ARGS` with `envs` (and `RUST_LOG=trace`, in case the command honours it) to
/// completion, killed after the hang guard.
fn run(args: &[&str], envs: &[(&str, &str)]) -> Output {
    run_oddsfeed(
        Command::new(BIN)
            .args(args)
            .env("RUST_LOG", "trace")
            .env_remove("ODDSPAPI_API_KEY")
            .envs(envs.iter().copied()),
        args,
    )
}

/// Asserts that none of `secrets` occurs in `haystack` (named `what` in the message, which
/// quotes the offending lines, shortened).
fn assert_absent(what: &str, haystack: &str, secrets: &[&str]) {
    for secret in secrets {
        let leaks: Vec<String> = haystack
            .lines()
            .filter(|line| line.contains(secret))
            .take(5)
            .map(|line| line.chars().take(300).collect())
            .collect();
        assert!(
            leaks.is_empty(),
            "{what} contains the secret {secret:?} on these lines:\n{}",
            leaks.join("\n")
        );
    }
}

/// `bytes` in lowercase hex, as logs print frame payloads.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ----- oddsfeed ws ----------------------------------------------------------------------------

/// How the key reaches the client.
#[derive(Debug, Clone, Copy)]
enum KeyFrom {
    Flag,
    Env,
}

/// `oddsfeed ws` against `url` with the key from `from`, `--limit limit --once`, events in
/// `events`, state in `state`.
fn ws(url: &str, from: KeyFrom, events: &str, limit: u64, state: &Path) -> Output {
    let limit = limit.to_string();
    let mut args = vec![
        "ws",
        "--url",
        url,
        "--receive-type",
        "zstd-dict",
        "--limit",
        &limit,
        "--once",
        "--events",
        events,
        "--state",
        state.to_str().expect("path"),
    ];
    match from {
        KeyFrom::Flag => {
            args.extend(["--api-key", KEY]);
            run(&args, &[])
        }
        KeyFrom::Env => run(&args, &[("ODDSPAPI_API_KEY", KEY)]),
    }
}

#[test]
fn ws_runs_keep_the_key_out_of_stdout_stderr_and_the_state_file() {
    let sim = Sim::start(&["ws", "--api-key", KEY, "--forever"], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    // One state file for every run: the later runs resume from it, so their logins carry a
    // serverEpoch and cursors next to the key.
    let state = dir.path().join("state.json");
    let mut runs = 0;
    for from in [KeyFrom::Flag, KeyFrom::Env] {
        for events in ["human", "jsonl"] {
            let output = ws(&sim.ws_url(), from, events, 40, &state);
            let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
            assert_eq!(output.status.code(), Some(0), "{from:?} {events}: {stderr}");
            assert_eq!(stdout.lines().count(), 40, "{from:?} {events}");
            let login_ok = if events == "jsonl" {
                r#""event":"login_ok""#
            } else {
                "oddsfeed: login_ok"
            };
            assert!(stderr.contains(login_ok), "{from:?} {events}: {stderr}");
            if runs > 0 {
                // Resumed from the state file.
                assert!(stderr.contains("resum"), "{from:?} {events}: {stderr}");
            }
            let saved = std::fs::read_to_string(&state).expect("the state file was written");
            let parsed: Value = serde_json::from_str(&saved).expect("state is JSON");
            assert!(parsed["serverEpoch"].is_string(), "{saved}");
            assert!(parsed["lastSeenId"].is_object(), "{saved}");
            let what = format!("{from:?} {events}");
            assert_absent(&format!("stdout of {what}"), &stdout, &[KEY, "c0ffee"]);
            assert_absent(&format!("stderr of {what}"), &stderr, &[KEY, "c0ffee"]);
            assert_absent(
                &format!("state file after {what}"),
                &saved,
                &[KEY, "c0ffee"],
            );
            runs += 1;
        }
    }
    assert_eq!(runs, 4);
}

#[test]
fn a_refused_login_keeps_the_key_out_of_stderr_and_the_state_file() {
    let sim = Sim::start(&["ws", "--api-key", "some-other-key", "--forever"], &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let before = r#"{"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","lastSeenId":{"scores":"1766418736962-198"}}"#;
    for from in [KeyFrom::Flag, KeyFrom::Env] {
        for events in ["human", "jsonl"] {
            std::fs::write(&state, before).expect("write the state file");
            let output = ws(&sim.ws_url(), from, events, 40, &state);
            let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
            assert_eq!(output.status.code(), Some(3), "{from:?} {events}: {stderr}");
            assert_eq!(stdout, "", "{from:?} {events}");
            assert!(
                stderr.contains("server refused the login: login_failed: invalid apiKey"),
                "{from:?} {events}: {stderr}"
            );
            let after = std::fs::read_to_string(&state).expect("the state file is still there");
            let what = format!("{from:?} {events}");
            assert_absent(&format!("stderr of {what}"), &stderr, &[KEY, "c0ffee"]);
            assert_absent(
                &format!("state file after {what}"),
                &after,
                &[KEY, "c0ffee"],
            );
            let parsed: Value = serde_json::from_str(&after).expect("state is JSON");
            assert_eq!(parsed, serde_json::from_str::<Value>(before).expect("JSON"));
        }
    }
}

#[test]
fn the_websocket_simulators_trace_log_keeps_the_key_out() {
    let sim = Sim::start(
        &["ws", "--api-key", KEY, "--forever"],
        &[("RUST_LOG", "trace")],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let output = ws(
        &sim.ws_url(),
        KeyFrom::Flag,
        "jsonl",
        20,
        &dir.path().join("state.json"),
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // The simulator did log verbosely (so the check below means something). The wire
    // libraries' trace events, which dump whole frames, are capped at debug level.
    let log = sim.log();
    assert!(log.contains("DEBUG"), "no verbose output:\n{log}");
    assert_absent(
        "the simulator's trace log",
        &log,
        &[KEY, "c0ffee", &hex(KEY.as_bytes())],
    );
}

// ----- oddsfeed img --ssh ---------------------------------------------------------------------

/// The secret parts of an OpenSSH private key file: each base64 line of its body except the
/// first (which every unencrypted ed25519 key shares: the format name, `none`, `none`, one key,
/// the key type), and the whole body on one line.
fn private_key_secrets(private: &Path) -> Vec<String> {
    let pem = std::fs::read_to_string(private).expect("read the private key");
    let body: Vec<&str> = pem
        .lines()
        .filter(|line| !line.starts_with("-----") && !line.is_empty())
        .collect();
    assert!(body.len() >= 3, "unexpected key file:\n{pem}");
    let mut secrets: Vec<String> = body.iter().skip(1).map(|l| (*l).to_owned()).collect();
    secrets.push(body.concat());
    secrets
}

/// An SSH simulator whose authorized client key's file name carries `SECRETNAME`.
fn start_ssh_sim() -> SshSim {
    common::start_ssh_sim("id-SECRETNAME-ed25519")
}

impl SshSim {
    /// A known_hosts file in `dir` with the simulator's host key.
    fn known_hosts_in(&self, dir: &Path) -> PathBuf {
        let path = dir.join("known_hosts");
        write_known_hosts(&path, self.sim.port, &self.host_pub);
        path
    }

    /// `oddsfeed img --ssh` with `identity`, `--limit 3 --once`, `extra` flags and `envs`.
    fn img(&self, identity: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Output {
        run(&as_strs(&self.img_args(identity, extra)), envs)
    }
}

#[test]
fn img_ssh_never_shows_the_private_key_or_its_file_name() {
    let sim = start_ssh_sim();
    let known = sim.known_hosts_in(sim.dir.path());
    let known_flag = ["--known-hosts", known.to_str().expect("path")];
    let stranger = keygen(sim.dir.path(), "stranger-SECRETNAME-ed25519", "ed25519");
    for events in ["human", "jsonl"] {
        let flags = [&known_flag[..], &["--events", events]].concat();

        let good = sim.img(&sim.identity, &flags, &[]);
        let stderr = text(&good.stderr);
        assert_eq!(good.status.code(), Some(0), "{events}: {stderr}");
        assert_eq!(text(&good.stdout).lines().count(), 3, "{events}");
        let mut secrets = private_key_secrets(&sim.identity);
        secrets.push("SECRETNAME".to_owned());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_absent(&format!("stderr ({events}, good run)"), &stderr, &secrets);
        assert_absent(
            &format!("stdout ({events}, good run)"),
            &text(&good.stdout),
            &secrets,
        );

        let refused = sim.img(&stranger, &flags, &[]);
        let stderr = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(3), "{events}: {stderr}");
        assert!(
            stderr.contains("SSH authentication refused for user feed"),
            "{events}: {stderr}"
        );
        assert_eq!(text(&refused.stdout), "", "{events}");
        let mut secrets = private_key_secrets(&stranger);
        secrets.push("SECRETNAME".to_owned());
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_absent(&format!("stderr ({events}, refused)"), &stderr, &secrets);
    }
}

#[test]
fn img_ssh_never_quotes_an_unusable_key_file() {
    let sim = start_ssh_sim();
    let known = sim.known_hosts_in(sim.dir.path());
    // Armoured like a key, but the body does not decode to one.
    let body = "U0VDUkVULUJPRFktZG8tbm90LXByaW50LXRoaXMtYW55d2hlcmUtMTIzNDU2Nzg5";
    let bad = sim.dir.path().join("broken-SECRETNAME-key");
    std::fs::write(
        &bad,
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n-----END OPENSSH PRIVATE KEY-----\n"),
    )
    .expect("write the broken key");
    for events in ["human", "jsonl"] {
        let output = sim.img(
            &bad,
            &[
                "--known-hosts",
                known.to_str().expect("path"),
                "--events",
                events,
            ],
            &[],
        );
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{events}: {stderr}");
        assert!(
            stderr.contains("cannot load the SSH identity"),
            "{events}: {stderr}"
        );
        assert_absent(
            &format!("stderr ({events})"),
            &stderr,
            &[body, "SECRETNAME", "BEGIN OPENSSH"],
        );
    }
}

#[test]
fn img_ssh_checks_the_users_known_hosts_unless_told_not_to() {
    let sim = start_ssh_sim();
    let home = tempfile::tempdir().expect("tempdir");
    let home_str = home.path().to_str().expect("path");
    let envs = [("HOME", home_str)];

    // No ~/.ssh/known_hosts at all: the key is unknown, and that is fatal.
    let output = sim.img(&sim.identity, &[], &envs);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("host key"), "{stderr}");
    assert_eq!(text(&output.stdout), "", "nothing was received");

    // A ~/.ssh/known_hosts with another key for this host: changed, fatal.
    let ssh_dir = home.path().join(".ssh");
    std::fs::create_dir(&ssh_dir).expect("mkdir ~/.ssh");
    let other = keygen(sim.dir.path(), "other_host_ed25519", "ed25519");
    std::fs::write(
        ssh_dir.join("known_hosts"),
        format!("[127.0.0.1]:{} {}", sim.sim.port, public_key(&other)),
    )
    .expect("write known_hosts");
    let output = sim.img(&sim.identity, &[], &envs);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("host key"), "{stderr}");
    assert!(stderr.contains("changed"), "{stderr}");

    // Only the explicit flag accepts it anyway.
    let output = sim.img(&sim.identity, &["--insecure-accept-host-key"], &envs);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).lines().count(), 3);
    // ... and says so on stderr.
    let stderr = text(&output.stderr);
    assert!(stderr.contains("insecure_host_key"), "{stderr}");
    assert!(
        stderr.contains("host key verification is disabled"),
        "{stderr}"
    );

    // The right key in ~/.ssh/known_hosts: accepted.
    sim.known_hosts_in(&ssh_dir);
    let output = sim.img(&sim.identity, &[], &envs);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(text(&output.stdout).lines().count(), 3);
}
