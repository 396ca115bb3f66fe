//! `oddsfeed img` and `oddsfeed sim img` as separate processes (docs/CLI.md contract): stdout
//! lines, heartbeat filtering, `--limit`, `--once`, reconnects, exit codes 0/1/2/3, the
//! simulator's listen line, its init deadline and its `--stdio` mode.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{
    BIN, HANG_GUARD, Sim, SshSim, as_strs, converse, keygen, kind, public_key, run, stderr_text,
    stdout_json, write_known_hosts,
};
use serde_json::Value;

/// Starts `oddsfeed sim img ARGS --port 0` and returns it with its port.
fn start_sim(args: &[&str]) -> (Sim, u16) {
    let sim = Sim::start(&[&["img"], args].concat(), &[]);
    let port = sim.port;
    (sim, port)
}

#[test]
fn tcp_limit_5_once_prints_the_init_response_and_the_first_snapshot_pushes() {
    let (_sim, port) = start_sim(&["--tcp", "--heartbeat-ms", "200"]);
    let addr = format!("127.0.0.1:{port}");
    let output = run(&["img", "--addr", &addr, "--tcp", "--limit", "5", "--once"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    let kinds: Vec<&str> = lines.iter().map(kind).collect();
    assert_eq!(
        kinds,
        [
            "session initialized",
            "sport",
            "competition",
            "competition",
            "competition"
        ]
    );
    assert_eq!(lines[0]["mode"], "resp");
    assert_eq!(lines[0]["request_id"], "r1");
    assert!(
        lines[0]["session_id"]
            .as_str()
            .is_some_and(|s| !s.is_empty())
    );
    assert_eq!(lines[1]["msg"]["id"], "sp.golf");
}

#[test]
fn heartbeats_are_printed_only_when_asked() {
    // After the snapshot only heartbeats flow (no subscription), every 10 ms.
    let (_sim, port) = start_sim(&["--tcp", "--heartbeat-ms", "10"]);
    let addr = format!("127.0.0.1:{port}");

    let with = run(&[
        "img",
        "--addr",
        &addr,
        "--tcp",
        "--limit",
        "120",
        "--once",
        "--heartbeats",
    ]);
    assert_eq!(with.status.code(), Some(0), "{}", stderr_text(&with));
    let lines = stdout_json(&with);
    assert_eq!(lines.len(), 120);
    let snapshot: Vec<&Value> = lines.iter().filter(|l| kind(l) != "heartbeat").collect();
    let beats = lines.len() - snapshot.len();
    assert!(beats >= 1, "heartbeats are printed with --heartbeats");
    assert_eq!(kind(&lines[119]), "heartbeat");
    assert!(
        lines
            .iter()
            .filter(|l| kind(l) == "heartbeat")
            .all(|b| b["msg"]["timestamp"].is_string())
    );

    // The same feed without --heartbeats: exactly the non-heartbeat lines.
    let limit = snapshot.len().to_string();
    let plain = run(&["img", "--addr", &addr, "--tcp", "--limit", &limit, "--once"]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr_text(&plain));
    let plain_lines = stdout_json(&plain);
    let plain_kinds: Vec<&str> = plain_lines.iter().map(kind).collect();
    let expected: Vec<&str> = snapshot.iter().map(|l| kind(l)).collect();
    assert_eq!(plain_kinds, expected);
}

#[test]
fn requests_are_sent_after_init_and_answered_in_order() {
    // Pushes may come before the responses (docs/PROTOCOL.md A.2): read well past them.
    let (_sim, port) = start_sim(&[
        "--tcp",
        "--heartbeat-ms",
        "200",
        "--update-interval-ms",
        "2",
    ]);
    let addr = format!("127.0.0.1:{port}");
    let output = run(&[
        "img",
        "--addr",
        &addr,
        "--tcp",
        "--request",
        r#"{"request":"subscribe","msg":{"event_ids":["ev.golf_1_1"]},"request_id":"mine"}"#,
        "--request",
        r#"{"request":"bogus"}"#,
        "--limit",
        "150",
        "--once",
        "--events",
        "jsonl",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    let responses: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["mode"] == "resp")
        .map(|l| (kind(l), l["request_id"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(
        responses,
        [
            ("session initialized", "r1"),
            ("ok", "mine"),
            ("error", "r2")
        ]
    );
    let events: Vec<Value> = stderr_text(&output)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSONL stderr"))
        .collect();
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert_eq!(
        &names[..4],
        ["connecting", "connected", "response", "session_initialized"]
    );
}

#[test]
fn without_once_the_client_reconnects_and_resends_init() {
    // The simulator drops every connection after 10 pushes.
    let (_sim, port) = start_sim(&["--tcp", "--heartbeat-ms", "200", "--drop-after", "10"]);
    let addr = format!("127.0.0.1:{port}");
    let output = run(&["img", "--addr", &addr, "--tcp", "--limit", "25"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    let inits: Vec<usize> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| kind(l) == "session initialized")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        inits,
        [0, 11, 22],
        "three connections of 1 response + 10 pushes"
    );
    let stderr = stderr_text(&output);
    assert!(stderr.contains("session_initialized"), "{stderr}");
    assert!(stderr.contains("reconnect=true"), "{stderr}");
    assert!(stderr.contains("backoff"), "{stderr}");
}

#[test]
fn command_line_mistakes_exit_2() {
    let none = run(&["img", "--addr", "127.0.0.1:1"]);
    assert_eq!(none.status.code(), Some(2));
    let bad_request = run(&["img", "--addr", "127.0.0.1:1", "--tcp", "--request", "[1]"]);
    assert_eq!(bad_request.status.code(), Some(2));
    assert!(stderr_text(&bad_request).contains("--request #1"));
    let sim_without_mode = run(&["sim", "img", "--port", "0"]);
    assert_eq!(sim_without_mode.status.code(), Some(2));
}

#[test]
fn an_unreachable_server_with_once_exits_1_with_one_reason_line() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr").to_string();
    drop(free);
    let output = run(&["img", "--addr", &addr, "--tcp", "--once"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = stderr_text(&output);
    let last = stderr.lines().last().expect("a reason");
    assert!(last.contains("could not connect"), "{stderr}");
}

#[test]
fn the_simulator_enforces_its_init_deadline() {
    let (_sim, port) = start_sim(&["--tcp", "--init-deadline-ms", "300"]);
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(HANG_GUARD)).expect("timeout");
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .expect("read until the server closes");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["mode"], "push");
    assert_eq!(lines[0]["status"], "error");
    assert_eq!(lines[0]["reason"], "no init sent");
}

#[test]
fn sim_stdio_serves_one_session_on_stdin_and_stdout() {
    let child = Command::new(BIN)
        .args([
            "sim",
            "img",
            "--stdio",
            "--heartbeat-ms",
            "200",
            "--messages",
            "3",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let parsed = converse(
        child,
        b"{\"request\":\"init\",\"msg\":{},\"request_id\":\"a\"}\n",
    );
    let kinds: Vec<&str> = parsed
        .iter()
        .map(kind)
        .filter(|k| *k != "heartbeat")
        .collect();
    assert_eq!(
        kinds,
        ["session initialized", "sport", "competition", "competition"]
    );
    assert_eq!(parsed[0]["request_id"], "a");
}

// ---------------------------------------------------------------------------------------------
// SSH through the CLI (keys generated in-process)
// ---------------------------------------------------------------------------------------------

fn start_ssh_sim() -> SshSim {
    common::start_ssh_sim("client_ed25519")
}

fn known_hosts(sim: &SshSim, public_key: &str) -> PathBuf {
    let path = sim.dir.path().join("known_hosts");
    write_known_hosts(&path, sim.sim.port, public_key);
    path
}

fn ssh_img(sim: &SshSim, identity: &Path, known: &Path) -> Output {
    let known = known.to_str().expect("path");
    run(&as_strs(&sim.img_args(identity, &["--known-hosts", known])))
}

#[test]
fn ssh_with_a_known_host_key_works() {
    let sim = start_ssh_sim();
    let known = known_hosts(&sim, &sim.host_pub);
    let output = ssh_img(&sim, &sim.dir.path().join("client_ed25519"), &known);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let kinds: Vec<String> = stdout_json(&output)
        .iter()
        .map(|l| kind(l).to_owned())
        .collect();
    assert_eq!(kinds, ["session initialized", "sport", "competition"]);
}

#[test]
fn an_unknown_host_key_exits_1_with_a_host_key_error_and_no_output() {
    let sim = start_ssh_sim();
    let other = keygen(sim.dir.path(), "other_ed25519", "ed25519");
    // The file knows the port, but with another key: changed. Without any entry: unknown.
    for (case, contents) in [("unknown", String::new()), ("changed", public_key(&other))] {
        let known = if contents.is_empty() {
            let path = sim.dir.path().join("empty_known_hosts");
            std::fs::write(&path, "").expect("write");
            path
        } else {
            known_hosts(&sim, &contents)
        };
        let output = ssh_img(&sim, &sim.dir.path().join("client_ed25519"), &known);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{case}: {}",
            stderr_text(&output)
        );
        assert!(output.stdout.is_empty(), "{case}: nothing was received");
        let stderr = stderr_text(&output);
        let mentions: Vec<&str> = stderr.lines().filter(|l| l.contains("host key")).collect();
        assert_eq!(mentions.len(), 1, "{case}: {stderr}");
        assert_eq!(stderr.lines().last(), Some(mentions[0]), "{case}");
        assert!(
            !stderr.contains("session_initialized"),
            "{case}: no request was sent"
        );
    }
}

#[test]
fn refused_ssh_authentication_exits_3() {
    let sim = start_ssh_sim();
    let stranger = keygen(sim.dir.path(), "stranger_ed25519", "ed25519");
    let known = known_hosts(&sim, &sim.host_pub);
    let output = ssh_img(&sim, &stranger, &known);
    assert_eq!(output.status.code(), Some(3), "{}", stderr_text(&output));
    assert!(output.stdout.is_empty());
    let stderr = stderr_text(&output);
    assert!(
        stderr
            .lines()
            .last()
            .is_some_and(|l| l.contains("authentication refused")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("stranger_ed25519"),
        "the key path never appears"
    );
}
