//! `serve_session` over in-memory pipes: transport details (PTY line ends,
//! over-long lines, EOF) and the outbound-queue overflow (`slow reader`).

use std::sync::Arc;
use std::time::Duration;

use oddsfeed_sim::img::{
    ImgSimConfig, SessionEnd, SessionOptions, SimShared, serve_session, serve_session_with,
};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, DuplexStream};

const GUARD: Duration = Duration::from_secs(10);

fn cfg() -> ImgSimConfig {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.init_deadline = Duration::from_secs(5);
    cfg
}

/// Starts a session on two pipes; returns the client ends and the session.
fn spawn(
    cfg: ImgSimConfig,
    opts: SessionOptions,
    pipe_bytes: usize,
) -> (
    DuplexStream,
    DuplexStream,
    tokio::task::JoinHandle<oddsfeed_sim::img::SessionReport>,
) {
    let (client_tx, server_rx) = tokio::io::duplex(64 << 10);
    let (server_tx, client_rx) = tokio::io::duplex(pipe_bytes);
    let shared = Arc::new(SimShared::new(&cfg));
    let task = tokio::spawn(serve_session_with(
        server_rx,
        server_tx,
        Arc::new(cfg),
        shared,
        opts,
    ));
    (client_tx, client_rx, task)
}

async fn first_line(rx: &mut DuplexStream) -> Value {
    let mut reader = BufReader::new(rx);
    let mut line = String::new();
    tokio::time::timeout(GUARD, reader.read_line(&mut line))
        .await
        .expect("guard")
        .expect("read");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[tokio::test]
async fn pty_sessions_end_lines_on_a_lone_cr() {
    let mut opts = SessionOptions::default();
    opts.pty = true;
    let (mut tx, mut rx, _task) = spawn(cfg(), opts, 1 << 20);
    tx.write_all(br#"{"request":"init","msg":{},"request_id":"cr"}"#)
        .await
        .expect("write");
    tx.write_all(b"\r").await.expect("write");
    let r = first_line(&mut rx).await;
    assert_eq!(
        (r["status"].as_str(), r["request_id"].as_str()),
        (Some("session initialized"), Some("cr"))
    );
}

#[tokio::test]
async fn without_pty_a_lone_cr_does_not_end_the_line() {
    let (mut tx, mut rx, task) = spawn(cfg(), SessionOptions::default(), 1 << 20);
    // `{...}\r{...}\n` is one line here: not a JSON object, so invalid.
    tx.write_all(b"{\"request\":\"init\",\"msg\":{}}\r{\"request\":\"init\",\"msg\":{}}\n")
        .await
        .expect("write");
    let r = first_line(&mut rx).await;
    assert_eq!(
        (r["status"].as_str(), r["msg"].as_str()),
        (Some("error"), Some("invalid request"))
    );
    drop(tx);
    let report = tokio::time::timeout(GUARD, task)
        .await
        .expect("guard")
        .expect("join");
    assert_eq!(report.end, SessionEnd::ReaderClosed);
    assert!(report.flushed);
}

#[tokio::test]
async fn over_long_request_line_is_answered_invalid_and_skipped() {
    let mut c = cfg();
    c.max_line_bytes = 64;
    let (mut tx, rx, _task) = spawn(c, SessionOptions::default(), 1 << 20);
    let long = format!(
        "{{\"request\":\"init\",\"msg\":{{}},\"pad\":\"{}\"}}\n",
        "x".repeat(100)
    );
    tx.write_all(long.as_bytes()).await.expect("write");
    tx.write_all(b"{\"request\":\"init\",\"msg\":{}}\n")
        .await
        .expect("write");
    let mut lines = BufReader::new(rx).lines();
    let mut next = async || -> Value {
        let l = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("guard")
            .expect("read")
            .expect("eof");
        serde_json::from_str(&l).expect("json")
    };
    let first = next().await;
    assert_eq!(first["msg"], "invalid request");
    assert_eq!(next().await["status"], "session initialized");
}

#[tokio::test]
async fn messages_zero_closes_right_after_the_init_response() {
    let mut c = cfg();
    c.messages = Some(0);
    let (mut tx, mut rx, task) = spawn(c, SessionOptions::default(), 1 << 20);
    tx.write_all(b"{\"request\":\"init\",\"msg\":{}}\n")
        .await
        .expect("write");
    let mut all = String::new();
    tokio::time::timeout(GUARD, rx.read_to_string(&mut all))
        .await
        .expect("guard")
        .expect("read");
    let lines: Vec<Value> = all
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], "session initialized");
    let report = task.await.expect("join");
    assert_eq!((report.end, report.pushes), (SessionEnd::MessagesLimit, 0));
}

#[tokio::test]
async fn reader_that_stops_reading_overflows_the_queue_and_gets_slow_reader() {
    let mut c = cfg();
    c.max_outbound_bytes = 8 << 10;
    c.pace_watermark_bytes = 2 << 10;
    c.update_interval = Duration::from_millis(1);
    let snapshot = SimShared::new(&c).world().snapshot_len(false);
    let (mut tx, rx, task) = spawn(c, SessionOptions::default(), 1 << 10);
    let mut lines = BufReader::new(rx).lines();
    tx.write_all(b"{\"request\":\"init\",\"msg\":{}}\n{\"request\":\"subscribe\",\"msg\":{}}\n")
        .await
        .expect("write");
    // Read the paced part: both responses, the snapshot and the image.
    let (mut pushes, mut responses) = (0, 0);
    while responses < 2 || pushes < snapshot + 30 {
        let l = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("guard")
            .expect("read")
            .expect("eof");
        let v: Value = serde_json::from_str(&l).expect("json");
        if v["mode"] == "resp" {
            responses += 1;
        } else if v["type"] != "heartbeat" {
            pushes += 1;
        }
    }
    // Stop reading while live pushes (one per ms) fill the pipe and the queue.
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Then drain: the stream ends with the notice.
    let mut last = None;
    while let Some(l) = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("guard")
        .expect("read")
    {
        last = Some(l);
    }
    let last: Value = serde_json::from_str(&last.expect("some line")).expect("json");
    let report = task.await.expect("join");
    assert_eq!(
        last,
        json!({"mode": "push", "status": "error", "session_id": report.session_id, "reason": "slow reader"})
    );
    assert_eq!(report.end, SessionEnd::SlowReader);
    assert!(report.flushed);
}

#[tokio::test]
async fn serve_session_defaults_work_on_any_stream() {
    let c = cfg();
    let shared = Arc::new(SimShared::new(&c));
    let (client, server) = tokio::io::duplex(1 << 20);
    let (server_rx, server_tx) = tokio::io::split(server);
    let task = tokio::spawn(serve_session(server_rx, server_tx, Arc::new(c), shared));
    let (client_rx, mut client_tx) = tokio::io::split(client);
    client_tx
        .write_all(b"{\"request\":\"init\",\"msg\":{}}\n")
        .await
        .expect("write");
    let mut lines = BufReader::new(client_rx).lines();
    let l = tokio::time::timeout(GUARD, lines.next_line())
        .await
        .expect("guard")
        .expect("read")
        .expect("eof");
    assert_eq!(
        serde_json::from_str::<Value>(&l).expect("json")["status"],
        "session initialized"
    );
    client_tx.shutdown().await.expect("shutdown");
    let report = tokio::time::timeout(GUARD, task)
        .await
        .expect("guard")
        .expect("join");
    assert_eq!(report.end, SessionEnd::ReaderClosed);
    assert_eq!(report.connection, 0);
}

#[tokio::test]
async fn heartbeats_keep_flowing_during_a_long_snapshot() {
    let mut c = cfg();
    c.heartbeat_ms = 30;
    c.pace_watermark_bytes = 2 << 10;
    c.world.competitions = 8;
    let n = SimShared::new(&c).world().snapshot_len(false);
    assert!(n > 100, "snapshot of {n} pushes is not long");
    let (mut tx, rx, _task) = spawn(c, SessionOptions::default(), 1 << 10);
    tx.write_all(b"{\"request\":\"init\",\"msg\":{}}\n")
        .await
        .expect("write");
    let mut lines = BufReader::new(rx).lines();
    // A slow consumer: one line every 3 ms, so the snapshot spans many beats.
    let mut kinds = Vec::new();
    while kinds
        .iter()
        .filter(|k: &&String| k.as_str() != "heartbeat")
        .count()
        < n + 1
    {
        let l = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("guard")
            .expect("read")
            .expect("eof");
        let v: Value = serde_json::from_str(&l).expect("json");
        kinds.push(
            v["type"]
                .as_str()
                .or(v["mode"].as_str())
                .unwrap_or("")
                .to_owned(),
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let first = kinds.iter().position(|k| k == "sport").expect("sport");
    let last = kinds.iter().rposition(|k| k == "market").expect("market");
    let inside = kinds[first..last]
        .iter()
        .filter(|k| *k == "heartbeat")
        .count();
    assert!(inside >= 1, "no heartbeat inside the snapshot: {kinds:?}");
}

#[tokio::test]
async fn non_utf8_line_is_invalid_and_whitespace_line_is_skipped() {
    let (mut tx, rx, _task) = spawn(cfg(), SessionOptions::default(), 1 << 20);
    tx.write_all(b"{\"request\":\"in\xffit\"}\n   \t \n{\"request\":\"init\",\"msg\":{},\"request_id\":\"after\"}\n")
        .await
        .expect("write");
    let mut lines = BufReader::new(rx).lines();
    let mut next = async || -> Value {
        let l = tokio::time::timeout(GUARD, lines.next_line())
            .await
            .expect("guard")
            .expect("read")
            .expect("eof");
        serde_json::from_str(&l).expect("json")
    };
    let first = next().await;
    assert_eq!(
        (first["status"].as_str(), first["msg"].as_str()),
        (Some("error"), Some("invalid request"))
    );
    // The blank line got no answer: the next line is the init response.
    let second = next().await;
    assert_eq!(
        (second["status"].as_str(), second["request_id"].as_str()),
        (Some("session initialized"), Some("after"))
    );
}
