//! `--book-out FILE` on `ws` and `img` against the simulators (loopback, separate
//! processes): the dump equals the book a reference builds here from the very lines the run
//! printed on stdout (and, for staleness, the events it printed on stderr).

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{BIN, Guard, Sim, json_lines, run, stderr_text, stdout_json};
use serde_json::{Value, json};

fn read_book(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no book at {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("book is not JSON: {e}"))
}

/// The WebSocket rules of CLI.md "The live book", as a map of maps over printed lines and
/// `snapshot_required` events.
fn ws_reference(lines: &[Value], events: &[Value]) -> Value {
    let mut fixtures: BTreeMap<String, Value> = BTreeMap::new();
    for m in lines {
        let channel = m["channel"].as_str().unwrap_or("");
        if m["type"] != "UPDATE"
            || !["odds", "fixtures", "bookmakers", "scores", "clocks"].contains(&channel)
        {
            continue;
        }
        let payload = &m["payload"];
        let Some(id) = payload["fixtureId"].as_str() else {
            continue;
        };
        let f = fixtures.entry(id.to_owned()).or_insert_with(
            || json!({"fixture": null, "odds": {}, "bookmakers": {}, "scores": {}, "clock": null}),
        );
        match channel {
            "odds" => {
                for (bk, by_id) in payload["odds"].as_object().into_iter().flatten() {
                    for (odds_id, o) in by_id.as_object().into_iter().flatten() {
                        f["odds"][bk][odds_id] = o.clone();
                    }
                }
            }
            "fixtures" => f["fixture"] = payload.clone(),
            "bookmakers" | "scores" => {
                for (k, o) in payload[channel].as_object().into_iter().flatten() {
                    f[channel][k] = o.clone();
                }
            }
            _ => f["clock"] = payload.get("clock").cloned().unwrap_or(Value::Null),
        }
    }
    let mut stale = BTreeMap::new();
    for e in events.iter().filter(|e| e["event"] == "snapshot_required") {
        let reason = e["reason"].as_str().unwrap_or_default();
        for channel in e["channels"].as_str().unwrap_or_default().split(',') {
            stale.insert(channel.to_owned(), reason.to_owned());
        }
    }
    json!({"feed": "ws", "fixtures": fixtures, "stale": stale})
}

/// The IMG rules, over printed lines and the heartbeat events.
fn img_reference(lines: &[Value], events: &[Value]) -> Value {
    let mut session_id = Value::Null;
    let mut markets: BTreeMap<String, Value> = BTreeMap::new();
    let mut initialized = false;
    for line in lines {
        // The init response (the only response with a session_id) starts a session.
        if line["mode"] == "resp" && line["session_id"].is_string() {
            if initialized {
                markets.clear();
            }
            initialized = true;
            session_id = line["session_id"].clone();
            continue;
        }
        let msg = &line["msg"];
        match line["type"].as_str() {
            Some("market_update") => {
                let Some(id) = msg["id"].as_str() else {
                    continue;
                };
                let m = markets.entry(id.to_owned()).or_insert_with(
                    || json!({"status": null, "selections": {}, "settlements": {}}),
                );
                if let Some(status) = msg.get("status") {
                    m["status"] = status.clone();
                }
                for s in msg["selections"].as_array().into_iter().flatten() {
                    let mut object = s.clone();
                    if let Some(Value::String(sid)) =
                        object.as_object_mut().and_then(|o| o.remove("id"))
                    {
                        m["selections"][sid.as_str()] = object;
                    }
                }
            }
            Some("remove_markets") => {
                for id in msg.as_array().into_iter().flatten() {
                    markets.remove(id.as_str().unwrap_or_default());
                }
            }
            Some("settlement") => {
                if let (Some(m), Some(s)) =
                    (msg["market_id"].as_str(), msg["selection_id"].as_str())
                    && let Some(market) = markets.get_mut(m)
                {
                    market["settlements"][s] = msg["settlement"].clone();
                }
            }
            _ => {}
        }
    }
    let stale = events
        .iter()
        .rev()
        .find_map(|e| match e["event"].as_str() {
            Some("heartbeat_stale") => Some(true),
            Some("heartbeat_ok") => Some(false),
            _ => None,
        })
        .unwrap_or(false);
    json!({"feed": "img", "session_id": session_id, "stale": stale, "markets": markets})
}

fn events(stderr: &str) -> Vec<Value> {
    json_lines(stderr.as_bytes())
}

#[test]
fn ws_book_out_after_limit_equals_the_reference_of_the_printed_lines() {
    let sim = Sim::start(&["ws", "--messages", "600"], &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let book = dir.path().join("book.json");
    let url = sim.ws_url();
    let args = [
        "ws",
        "--url",
        &url,
        "--api-key",
        "K",
        "--limit",
        "450",
        "--events",
        "jsonl",
        "--book-out",
    ];
    let mut command = Command::new(BIN);
    command.args(args).arg(&book);
    let output = common::run_oddsfeed(&mut command, &args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    assert_eq!(lines.len(), 450);
    let dump = read_book(&book);
    assert!(dump["fixtures"].as_object().is_some_and(|f| !f.is_empty()));
    assert_eq!(dump, ws_reference(&lines, &events(&stderr_text(&output))));
    assert!(!dir.path().join("book.json.tmp").exists());
}

#[test]
fn ws_book_out_lists_channels_a_reconnect_could_not_replay() {
    // Every connection drops after 150 messages; odds, bookmakers and clocks are not
    // replayable by default, so the client raises snapshot_required for them.
    let sim = Sim::start(&["ws", "--messages", "400", "--drop-after", "150"], &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let book = dir.path().join("book.json");
    let url = sim.ws_url();
    let args = [
        "ws",
        "--url",
        &url,
        "--api-key",
        "K",
        "--limit",
        "300",
        "--events",
        "jsonl",
        "--book-out",
    ];
    let mut command = Command::new(BIN);
    command.args(args).arg(&book);
    let output = common::run_oddsfeed(&mut command, &args);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    let events = events(&stderr_text(&output));
    let dump = read_book(&book);
    assert!(
        dump["stale"].as_object().is_some_and(|s| !s.is_empty()),
        "a reconnect leaves stale channels: {}",
        dump["stale"]
    );
    assert_eq!(dump, ws_reference(&lines, &events));
}

#[test]
fn ws_book_out_is_written_on_sigterm() {
    let sim = Sim::start(&["ws", "--forever", "--rate", "400"], &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let book = dir.path().join("book.json");
    let mut child = Command::new(BIN)
        .args([
            "ws",
            "--url",
            &sim.ws_url(),
            "--api-key",
            "K",
            "--events",
            "jsonl",
        ])
        .arg("--book-out")
        .arg(&book)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let pid = child.id().to_string();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let guard = Guard(child);
    let err_reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(mut pipe) = stderr {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
        }
        text
    });
    let mut lines = Vec::new();
    let mut reader = BufReader::new(stdout.unwrap_or_else(|| panic!("no stdout pipe")));
    let started = Instant::now();
    let mut line = String::new();
    let mut signalled = false;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => lines.push(serde_json::from_str::<Value>(&line).unwrap_or(Value::Null)),
            Err(e) => panic!("{e}"),
        }
        if !signalled && lines.len() >= 100 {
            // stdout is block-buffered when piped: the book must match what was printed,
            // which is all we read once the process has exited.
            let status = Command::new("kill").args(["-TERM", &pid]).status();
            assert!(status.is_ok_and(|s| s.success()));
            signalled = true;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no exit after SIGTERM"
        );
    }
    drop(guard);
    let stderr = err_reader.join().unwrap_or_default();
    assert!(signalled, "fewer than 100 lines; stderr:\n{stderr}");
    assert_eq!(read_book(&book), ws_reference(&lines, &events(&stderr)));
}

#[test]
fn img_book_out_over_tcp_with_a_subscription_equals_the_reference() {
    let sim = Sim::start(
        &[
            "img",
            "--tcp",
            "--heartbeat-ms",
            "200",
            "--update-interval-ms",
            "2",
        ],
        &[],
    );
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let book = dir.path().join("img-book.json");
    let addr = sim.tcp_addr();
    let book_arg = book.to_string_lossy().into_owned();
    let output = run(&[
        "img",
        "--addr",
        &addr,
        "--tcp",
        "--request",
        r#"{"request":"subscribe","msg":{"event_ids":["ev.golf_1_1","ev.golf_2_1"]}}"#,
        "--limit",
        "400",
        "--once",
        "--events",
        "jsonl",
        "--book-out",
        &book_arg,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr_text(&output));
    let lines = stdout_json(&output);
    let dump = read_book(&book);
    let markets = dump["markets"].as_object().map_or(0, serde_json::Map::len);
    assert!(markets > 0, "a subscription brings markets: {dump}");
    assert!(dump["session_id"].is_string());
    assert_eq!(dump, img_reference(&lines, &events(&stderr_text(&output))));
}

#[test]
fn replay_book_out_equals_the_live_book_of_the_same_run() {
    // Drops make the client raise snapshot_required, so staleness is replayed too.
    let sim = Sim::start(&["ws", "--messages", "400", "--drop-after", "150"], &[]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    let (recording, live_book, replay_book) =
        (path("run.rec"), path("live.json"), path("replay.json"));
    let url = sim.ws_url();
    let live = run(&[
        "ws",
        "--url",
        &url,
        "--api-key",
        "K",
        "--limit",
        "300",
        "--events",
        "jsonl",
        "--record",
        &recording,
        "--book-out",
        &live_book,
    ]);
    assert_eq!(live.status.code(), Some(0), "{}", stderr_text(&live));
    let replay = run(&[
        "replay",
        &recording,
        "--limit",
        "300",
        "--events",
        "jsonl",
        "--book-out",
        &replay_book,
    ]);
    assert_eq!(replay.status.code(), Some(0), "{}", stderr_text(&replay));
    assert_eq!(stdout_json(&replay), stdout_json(&live));
    let live_dump = read_book(Path::new(&live_book));
    let replay_dump = read_book(Path::new(&replay_book));
    assert!(
        live_dump["stale"]
            .as_object()
            .is_some_and(|s| !s.is_empty()),
        "{}",
        live_dump["stale"]
    );
    assert_eq!(replay_dump, live_dump);
    assert_eq!(
        replay_dump,
        ws_reference(&stdout_json(&replay), &events(&stderr_text(&replay)))
    );
}
