//! The IMG simulator over plain TCP on loopback: session flow, responses,
//! subscriptions and the fault flags of docs/PROTOCOL.md A.9.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use oddsfeed_sim::img::{ImgSimConfig, SimShared, run_tcp};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Guard against a hung test, not a performance assertion.
const GUARD: Duration = Duration::from_secs(10);

fn fast_cfg() -> ImgSimConfig {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.init_deadline = Duration::from_millis(300);
    cfg.update_interval = Duration::from_millis(5);
    cfg
}

async fn start(cfg: ImgSimConfig) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(run_tcp(listener, cfg));
    addr
}

struct Client {
    lines: tokio::io::Lines<BufReader<OwnedReadHalf>>,
    tx: OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).await.expect("connect");
        let (r, tx) = stream.into_split();
        Self {
            lines: BufReader::new(r).lines(),
            tx,
        }
    }

    async fn send(&mut self, line: &str) {
        self.tx.write_all(line.as_bytes()).await.expect("write");
        self.tx.write_all(b"\n").await.expect("write");
    }

    /// Next raw line, `None` at EOF.
    async fn raw(&mut self) -> Option<String> {
        tokio::time::timeout(GUARD, self.lines.next_line())
            .await
            .expect("server went silent")
            .expect("read")
    }

    async fn json(&mut self) -> Value {
        let line = self.raw().await.expect("unexpected EOF");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad JSON {line:?}: {e}"))
    }

    /// Next line that is not a heartbeat.
    async fn next_non_heartbeat(&mut self) -> Value {
        loop {
            let v = self.json().await;
            if v["type"] != "heartbeat" {
                return v;
            }
        }
    }

    /// Lines until EOF, parsed where possible.
    async fn rest(&mut self) -> Vec<Result<Value, String>> {
        let mut out = Vec::new();
        while let Some(line) = self.raw().await {
            out.push(serde_json::from_str(&line).map_err(|_| line));
        }
        out
    }

    /// Lines received during `d` (stops early at EOF).
    async fn during(&mut self, d: Duration) -> Vec<Value> {
        let mut out = Vec::new();
        let stop = tokio::time::Instant::now() + d;
        while let Ok(line) = tokio::time::timeout_at(stop, self.lines.next_line()).await {
            match line.expect("read") {
                Some(l) => out.push(serde_json::from_str(&l).expect("json")),
                None => break,
            }
        }
        out
    }

    async fn init(&mut self, include_finished: bool) -> (Value, Vec<Value>) {
        let msg = if include_finished {
            json!({"include_finished": true})
        } else {
            json!({})
        };
        self.send(&json!({"request": "init", "msg": msg}).to_string())
            .await;
        let resp = self.json().await;
        (resp, Vec::new())
    }

    /// Reads `n` non-heartbeat pushes.
    async fn pushes(&mut self, n: usize) -> Vec<Value> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            out.push(self.next_non_heartbeat().await);
        }
        out
    }
}

fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    b.len() == 26
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            _ => c.is_ascii_digit(),
        })
}

fn world(cfg: &ImgSimConfig) -> SimShared {
    SimShared::new(cfg)
}

#[tokio::test]
async fn init_gets_response_then_ordered_snapshot_then_only_heartbeats() {
    let cfg = fast_cfg();
    let shared = world(&cfg);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.send(r#"{"request":"init","msg":{},"request_id":"r1"}"#)
        .await;
    let resp = c.json().await;
    assert_eq!(resp["mode"], "resp");
    assert_eq!(resp["status"], "session initialized");
    assert_eq!(resp["reason"], Value::Null);
    assert_eq!(resp["request_id"], "r1");
    assert!(is_timestamp(&resp["publish_time"]), "{resp}");
    let sid = resp["session_id"].as_str().expect("session_id").to_owned();
    assert_eq!(
        sid.split('-').map(str::len).collect::<Vec<_>>(),
        [8, 4, 4, 4, 12]
    );

    let n = shared.world().snapshot_len(false);
    let snapshot = c.pushes(n).await;
    let kinds: Vec<&str> = snapshot
        .iter()
        .map(|p| p["type"].as_str().unwrap_or(""))
        .collect();
    let mut expected = vec!["sport"];
    expected.extend(["competition"; 3]);
    expected.extend(["event"; 6]);
    expected.extend(["market_type"; 4]);
    expected.extend(["market"; 30]);
    assert_eq!(kinds, expected);
    assert_eq!(snapshot[0]["msg"], json!({"id": "sp.golf", "name": "Golf"}));
    assert_eq!(snapshot[1]["msg"]["id"], "comp.golf_1");
    assert_eq!(snapshot[1]["msg"]["sport_id"], "sp.golf");
    assert!(
        snapshot
            .iter()
            .all(|p| p["mode"] == "push" && p["is_recovery"] == false)
    );
    assert!(snapshot.iter().all(|p| is_timestamp(&p["publish_time"])));
    // Without include_finished no ended event is sent.
    assert!(
        snapshot
            .iter()
            .filter(|p| p["type"] == "event")
            .all(|p| p["msg"]["stage"] != "ended")
    );
    let mt: Vec<&str> = snapshot
        .iter()
        .filter(|p| p["type"] == "market_type")
        .filter_map(|p| p["msg"]["id"].as_str())
        .collect();
    assert!(mt.contains(&"mt.golf_threeball_hole"));
    let market = &snapshot[n - 1]["msg"];
    for key in ["id", "name", "event_id", "market_type_id", "selections"] {
        assert!(market.get(key).is_some(), "market lacks {key}: {market}");
    }
    assert!(
        market.get("status").is_none(),
        "market definitions carry no prices"
    );

    // After init alone: heartbeats only, no prices.
    let later = c.during(Duration::from_millis(450)).await;
    assert!(later.len() >= 2, "expected heartbeats, got {later:?}");
    for hb in &later {
        assert_eq!(hb["type"], "heartbeat", "{hb}");
        assert_eq!(hb["msg"]["timestamp"], hb["publish_time"]);
        assert!(is_timestamp(&hb["publish_time"]));
    }
}

#[tokio::test]
async fn include_finished_adds_ended_events_and_their_markets() {
    let cfg = fast_cfg();
    let shared = world(&cfg);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    let (resp, _) = c.init(true).await;
    assert_eq!(resp["status"], "session initialized");
    let n = shared.world().snapshot_len(true);
    assert_eq!(n, shared.world().snapshot_len(false) + 3 + 15);
    let snapshot = c.pushes(n).await;
    let ended = snapshot
        .iter()
        .filter(|p| p["type"] == "event" && p["msg"]["stage"] == "ended")
        .count();
    assert_eq!(ended, 3);
}

#[tokio::test]
async fn errors_and_request_id_echo() {
    let addr = start(fast_cfg()).await;
    let mut c = Client::connect(addr).await;
    // Blank lines (with CR) are skipped, never answered.
    c.send("\r").await;
    c.send(r#"{"request":"subscribe","msg":{},"request_id":"a"}"#)
        .await;
    let r = c.json().await;
    assert_eq!(
        r,
        json!({"mode": "resp", "status": "error", "publish_time": r["publish_time"], "reason": null,
               "request_id": "a", "msg": "init required"})
    );
    c.send("[1,2,3]").await;
    let r = c.json().await;
    assert_eq!(
        (r["status"].as_str(), r["msg"].as_str()),
        (Some("error"), Some("invalid request"))
    );
    assert!(r.get("request_id").is_none());
    c.send("this is not json").await;
    assert_eq!(c.json().await["msg"], "invalid request");

    c.send(r#"{"request":"init","msg":{}}"#).await;
    let r = c.json().await;
    assert_eq!(r["status"], "session initialized");
    assert!(
        r.get("request_id").is_none(),
        "no request_id sent, none echoed: {r}"
    );

    // Responses may be interleaved with snapshot pushes: skip those.
    let next_resp = |v: &Value| v["mode"] == "resp";
    c.send(r#"{"request":"init","msg":{},"request_id":42}"#)
        .await;
    c.send(r#"{"request":"bogus","msg":{},"request_id":"z"}"#)
        .await;
    c.send(r#"{"request":"subscribe","msg":{"market_ids":"nope"},"request_id":{"k":[1]}}"#)
        .await;
    c.send(r#"{"request":"unsubscribe","msg":{"event_ids":["ev.none"]},"request_id":"u"}"#)
        .await;
    let mut resps = Vec::new();
    while resps.len() < 4 {
        let v = c.json().await;
        if next_resp(&v) {
            resps.push(v);
        }
    }
    let got: Vec<(Value, Value, Value)> = resps
        .iter()
        .map(|r| {
            (
                r["status"].clone(),
                r.get("msg").cloned().unwrap_or(Value::Null),
                r["request_id"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!("error"), json!("already initialized"), json!(42)),
            (json!("error"), json!("unknown request"), json!("z")),
            (json!("error"), json!("invalid request"), json!({"k": [1]})),
            (json!("ok"), Value::Null, json!("u")),
        ]
    );
}

#[tokio::test]
async fn no_init_within_deadline_gets_notice_then_eof() {
    let addr = start(fast_cfg()).await;
    let mut c = Client::connect(addr).await;
    let notice = c.json().await;
    let sid = notice["session_id"].as_str().unwrap_or("").to_owned();
    assert_eq!(sid.len(), 36);
    assert_eq!(
        notice,
        json!({"mode": "push", "status": "error", "session_id": sid, "reason": "no init sent"})
    );
    assert_eq!(
        c.raw().await,
        None,
        "connection must close after the notice"
    );
}

#[tokio::test]
async fn subscribe_gets_ok_then_image_then_live_pushes_of_matching_markets() {
    let cfg = fast_cfg();
    let shared = world(&cfg);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.init(false).await;
    c.pushes(shared.world().snapshot_len(false)).await;

    c.send(r#"{"request":"subscribe","msg":{"event_ids":["ev.golf_1_1"]},"request_id":"s1"}"#)
        .await;
    let ok = c.next_non_heartbeat().await;
    assert_eq!(
        (ok["mode"].as_str(), ok["status"].as_str()),
        (Some("resp"), Some("ok"))
    );
    assert_eq!(ok["request_id"], "s1");
    let expected: BTreeSet<String> = shared
        .world()
        .markets
        .iter()
        .filter(|m| m.event_id == "ev.golf_1_1")
        .map(|m| m.id.clone())
        .collect();
    assert_eq!(expected.len(), 5);
    let image = c.pushes(expected.len()).await;
    let got: BTreeSet<String> = image
        .iter()
        .filter_map(|p| p["msg"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(got, expected);
    for p in &image {
        assert_eq!(p["type"], "market_update");
        assert_eq!(p["msg"]["status"], "open");
        assert!(p["msg"]["selections"].as_array().is_some_and(|s| {
            s.iter()
                .all(|x| x["price"].as_f64().is_some_and(|f| f >= 1.01))
        }));
    }

    // Live pushes only about markets of the subscribed event.
    let live = c.pushes(40).await;
    for p in &live {
        let id = match p["type"].as_str() {
            Some("market_update" | "market") => p["msg"]["id"].as_str(),
            Some("settlement") => p["msg"]["market_id"].as_str(),
            Some("remove_markets") => p["msg"][0].as_str(),
            other => panic!("unexpected push {other:?}: {p}"),
        };
        assert!(id.is_some_and(|id| id.starts_with("golf_1_1-")), "{p}");
    }
    assert!(live.iter().any(|p| p["type"] == "market_update"));
}

#[tokio::test]
async fn unsubscribe_removes_only_an_equal_filter() {
    let cfg = fast_cfg();
    let shared = world(&cfg);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.init(false).await;
    c.pushes(shared.world().snapshot_len(false)).await;

    c.send(r#"{"request":"subscribe","msg":{"event_ids":["ev.golf_2_1"],"market_type_ids":["mt.golf_outright"]}}"#).await;
    assert_eq!(c.next_non_heartbeat().await["status"], "ok");
    assert_eq!(c.pushes(1).await[0]["type"], "market_update");
    // A different filter: nothing removed, pushes go on.
    c.send(r#"{"request":"unsubscribe","msg":{"event_ids":["ev.golf_2_1"]},"request_id":"u1"}"#)
        .await;
    let mut seen_ok = false;
    let mut after_ok = 0;
    while after_ok < 5 {
        let v = c.next_non_heartbeat().await;
        if v["mode"] == "resp" {
            assert_eq!(
                (v["status"].as_str(), v["request_id"].as_str()),
                (Some("ok"), Some("u1"))
            );
            seen_ok = true;
        } else if seen_ok {
            after_ok += 1;
        }
    }
    // The equal filter, keys in another order: pushes stop after the response.
    c.send(r#"{"request":"unsubscribe","msg":{"market_type_ids":["mt.golf_outright"],"event_ids":["ev.golf_2_1"]},"request_id":"u2"}"#).await;
    loop {
        let v = c.next_non_heartbeat().await;
        if v["mode"] == "resp" {
            assert_eq!(v["request_id"], "u2");
            break;
        }
    }
    let quiet = c.during(Duration::from_millis(300)).await;
    assert!(
        quiet.iter().all(|v| v["type"] == "heartbeat"),
        "pushes after unsubscribe: {quiet:?}"
    );

    // `{}` removes every subscription, however many there are.
    c.send(r#"{"request":"subscribe","msg":{}}"#).await;
    assert_eq!(c.next_non_heartbeat().await["status"], "ok");
    c.pushes(30).await;
    c.send(r#"{"request":"subscribe","msg":{"market_ids":["golf_1_1-outright-1"]}}"#)
        .await;
    loop {
        if c.next_non_heartbeat().await["mode"] == "resp" {
            break;
        }
    }
    c.pushes(5).await;
    c.send(r#"{"request":"unsubscribe","msg":{},"request_id":"all"}"#)
        .await;
    loop {
        let v = c.next_non_heartbeat().await;
        if v["mode"] == "resp" {
            assert_eq!(
                (v["status"].as_str(), v["request_id"].as_str()),
                (Some("ok"), Some("all"))
            );
            break;
        }
    }
    let quiet = c.during(Duration::from_millis(300)).await;
    assert!(
        quiet.iter().all(|v| v["type"] == "heartbeat"),
        "pushes after unsubscribe {{}}: {quiet:?}"
    );
}

#[tokio::test]
async fn messages_limit_closes_after_exactly_n_pushes() {
    let mut cfg = fast_cfg();
    let shared = world(&cfg);
    let n = shared.world().snapshot_len(false) as u64 + 7;
    cfg.messages = Some(n);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.send(r#"{"request":"init","msg":{}}"#).await;
    c.send(r#"{"request":"subscribe","msg":{}}"#).await;
    let rest = c.rest().await;
    let values: Vec<Value> = rest
        .into_iter()
        .map(|r| r.expect("only valid JSON"))
        .collect();
    let pushes = values
        .iter()
        .filter(|v| v["mode"] == "push" && v["type"] != "heartbeat")
        .count();
    assert_eq!(pushes as u64, n);
    assert!(
        values
            .iter()
            .all(|v| v.get("reason").is_none() || v["mode"] == "resp"),
        "no notice expected"
    );
    assert_eq!(values.iter().filter(|v| v["mode"] == "resp").count(), 2);
}

#[tokio::test]
async fn drop_after_closes_without_notice() {
    let mut cfg = fast_cfg();
    cfg.faults.drop_after = Some(5);
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.send(r#"{"request":"init","msg":{}}"#).await;
    let values: Vec<Value> = c
        .rest()
        .await
        .into_iter()
        .map(|r| r.expect("valid JSON"))
        .collect();
    assert_eq!(values[0]["status"], "session initialized");
    let kinds: Vec<&str> = values[1..]
        .iter()
        .filter_map(|v| v["type"].as_str())
        .filter(|t| *t != "heartbeat")
        .collect();
    assert_eq!(
        kinds,
        [
            "sport",
            "competition",
            "competition",
            "competition",
            "event"
        ]
    );
    assert!(
        values.iter().all(|v| v["status"] != "error"),
        "drop_after sends no notice"
    );
}

#[tokio::test]
async fn bad_json_at_inserts_one_bad_line_and_loses_nothing() {
    let run = |bad: Option<u64>| async move {
        let mut cfg = fast_cfg();
        cfg.heartbeat_ms = 0; // keep the two streams comparable line by line
        cfg.messages = Some(12);
        cfg.faults.bad_json_at = bad;
        let addr = start(cfg).await;
        let mut c = Client::connect(addr).await;
        c.send(r#"{"request":"init","msg":{}}"#).await;
        c.rest().await
    };
    let clean = run(None).await;
    let faulty = run(Some(3)).await;
    assert_eq!(faulty.len(), clean.len() + 1);
    let bad: Vec<usize> = faulty
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_err())
        .map(|(i, _)| i)
        .collect();
    // Line 0 is the init response, then pushes 1 and 2, then the bad line.
    assert_eq!(bad, [3]);
    let strip = |lines: &[Result<Value, String>]| -> Vec<Value> {
        lines
            .iter()
            .filter_map(|l| l.as_ref().ok())
            .map(|v| json!([v["mode"], v["type"], v["status"], v["msg"]]))
            .collect()
    };
    assert_eq!(strip(&faulty), strip(&clean));
    assert_eq!(strip(&clean).len(), 13);
}

#[tokio::test]
async fn stalled_heartbeats_stop_while_other_pushes_continue() {
    let mut cfg = fast_cfg();
    cfg.heartbeat_ms = 50;
    cfg.faults.stall_heartbeats_after = Some(Duration::from_millis(300));
    let addr = start(cfg).await;
    let mut c = Client::connect(addr).await;
    c.send(r#"{"request":"init","msg":{}}"#).await;
    c.send(r#"{"request":"subscribe","msg":{}}"#).await;
    let early = c.during(Duration::from_millis(600)).await;
    let late = c.during(Duration::from_millis(400)).await;
    let beats = early.iter().filter(|v| v["type"] == "heartbeat").count();
    // Ticks at 50, 100, ..., 250 ms can be sent; none from 300 ms on.
    assert!(
        (1..=5).contains(&beats),
        "heartbeats before the stall: {beats}"
    );
    assert!(
        late.iter().all(|v| v["type"] != "heartbeat"),
        "heartbeat after the stall"
    );
    assert!(
        late.iter().any(|v| v["type"] == "market_update"),
        "live pushes must continue"
    );
}

#[tokio::test]
async fn slow_reader_kick_hits_only_the_first_connection_after_its_snapshot() {
    let mut cfg = fast_cfg();
    cfg.faults.slow_reader_kick = true;
    let shared = world(&cfg);
    let n = shared.world().snapshot_len(false);
    let addr = start(cfg).await;

    let mut first = Client::connect(addr).await;
    let (resp, _) = first.init(false).await;
    let sid = resp["session_id"].clone();
    let snapshot = first.pushes(n).await;
    assert_eq!(snapshot[n - 1]["type"], "market");
    let notice = first.next_non_heartbeat().await;
    assert_eq!(
        notice,
        json!({"mode": "push", "status": "error", "session_id": sid, "reason": "slow reader"})
    );
    assert!(first.rest().await.is_empty(), "nothing after the notice");

    let mut second = Client::connect(addr).await;
    let (resp, _) = second.init(false).await;
    assert_ne!(resp["session_id"], sid);
    second.pushes(n).await;
    let after = second.during(Duration::from_millis(250)).await;
    assert!(
        !after.is_empty() && after.iter().all(|v| v["type"] == "heartbeat"),
        "{after:?}"
    );
}
