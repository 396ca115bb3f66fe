//! `sim ws` end to end, driven by a plain tokio-tungstenite client: login
//! answers and refusals, every receive type, the stream limit, resume and
//! replay, and the fault flags (docs/PROTOCOL.md Part B).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use base64::Engine as _;
use futures_util::{SinkExt, StreamExt};
use oddsfeed_sim::encode::{BAD_JSON, UNKNOWN_DICT_ID};
use oddsfeed_sim::ws::{WsSim, WsSimConfig, WsSimHandle};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type WsClient = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Longest wait for any single frame; only hit when something is broken.
const STEP: Duration = Duration::from_secs(10);

/// What the client made of one server frame.
#[derive(Debug, Clone, PartialEq)]
enum Got {
    /// A control frame (text JSON that is not data).
    Control(Value),
    /// A data message as JSON, and the dictId of its zstd frame (0 otherwise).
    Data(Value, u32),
    /// A fault frame, named by what is wrong with it.
    Fault(&'static str),
    /// A close frame with its code.
    Close(u16),
    /// The connection ended without a close frame.
    Reset,
}

struct Client {
    ws: WsClient,
    mode: String,
    dicts: HashMap<u32, Vec<u8>>,
    dctx: zstd_safe::DCtx<'static>,
}

fn start(cfg: WsSimConfig) -> WsSimHandle {
    WsSim::bind("127.0.0.1:0".parse().unwrap(), cfg)
        .unwrap()
        .spawn()
}

fn cfg() -> WsSimConfig {
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(200);
    cfg
}

fn start_with(f: impl FnOnce(&mut WsSimConfig)) -> WsSimHandle {
    let mut cfg = WsSimConfig::default();
    f(&mut cfg);
    start(cfg)
}

fn login_msg(mode: &str) -> Value {
    json!({"type": "login", "apiKey": "test-key", "receiveType": mode})
}

impl Client {
    async fn connect(handle: &WsSimHandle) -> Client {
        let url = format!("ws://{}/ws", handle.local_addr());
        let (ws, _) = connect_async(url).await.unwrap();
        Client {
            ws,
            mode: "json".into(),
            dicts: HashMap::new(),
            dctx: zstd_safe::DCtx::create(),
        }
    }

    async fn send(&mut self, value: &Value) {
        self.ws
            .send(Message::text(value.to_string()))
            .await
            .unwrap();
    }

    /// Connects, logs in and returns the `login_ok`.
    async fn login(handle: &WsSimHandle, login: Value) -> (Client, Value) {
        let mut client = Client::connect(handle).await;
        client.send(&login).await;
        let ok = client.control().await;
        assert_eq!(ok["type"], "login_ok", "{ok}");
        client.mode = ok["receiveType"].as_str().unwrap().to_owned();
        (client, ok)
    }

    /// The next frame, which must be a control frame.
    async fn control(&mut self) -> Value {
        match self.next().await {
            Got::Control(v) => v,
            other => panic!("expected a control frame, got {other:?}"),
        }
    }

    /// The next frame (pings and pongs skipped); dict frames are stored.
    async fn next(&mut self) -> Got {
        loop {
            let item = timeout(STEP, self.ws.next()).await.expect("server silent");
            let msg = match item {
                None => return Got::Reset,
                Some(Err(WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake))) => {
                    return Got::Reset;
                }
                Some(Err(e)) => panic!("client error: {e}"),
                Some(Ok(msg)) => msg,
            };
            return match msg {
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
                Message::Close(frame) => {
                    // Reading on sends the close reply and sees the end.
                    let _ = timeout(STEP, self.ws.next()).await;
                    Got::Close(frame.map_or(1005, |f| u16::from(f.code)))
                }
                Message::Text(text) => self.text(text.as_str()),
                Message::Binary(bytes) => self.binary(&bytes),
            };
        }
    }

    fn text(&mut self, text: &str) -> Got {
        if text.len() > 4 << 20 {
            return Got::Fault("oversize");
        }
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            assert_eq!(text, BAD_JSON);
            return Got::Fault("bad_json");
        };
        classify(value, 0, &mut self.dicts)
    }

    fn binary(&mut self, bytes: &[u8]) -> Got {
        match self.mode.as_str() {
            "binary" => {
                if bytes.len() > 4 << 20 {
                    return Got::Fault("oversize");
                }
                let first = bytes[0];
                assert!(
                    (0x80..=0x8F).contains(&first) || first == 0xDE || first == 0xDF,
                    "not a MessagePack map: {first:#x}"
                );
                match rmpv::decode::read_value(&mut &bytes[..])
                    .ok()
                    .and_then(msgpack_to_json)
                {
                    Some(value) => classify(value, 0, &mut self.dicts),
                    None => {
                        assert_eq!(bytes, oddsfeed_sim::encode::BAD_MSGPACK);
                        Got::Fault("bad_msgpack")
                    }
                }
            }
            "zstd" | "zstd-dict" => {
                let dict_id = zstd_safe::get_dict_id_from_frame(bytes).map_or(0, |id| id.get());
                let mut out: Vec<u8> = Vec::with_capacity(8 << 20);
                let result = if dict_id == 0 {
                    self.dctx.decompress(&mut out, bytes)
                } else {
                    let Some(dict) = self.dicts.get(&dict_id) else {
                        assert_eq!(dict_id, UNKNOWN_DICT_ID);
                        return Got::Fault("unknown_dict");
                    };
                    self.dctx.decompress_using_dict(&mut out, bytes, dict)
                };
                if let Err(code) = result {
                    assert_eq!(
                        zstd_safe::get_error_name(code),
                        "Destination buffer is too small"
                    );
                    assert!(bytes.len() < 16 << 10, "bomb of {} bytes", bytes.len());
                    self.dctx
                        .reset(zstd_safe::ResetDirective::SessionOnly)
                        .unwrap();
                    return Got::Fault("bomb");
                }
                match serde_json::from_slice::<Value>(&out) {
                    Ok(value) => classify(value, dict_id, &mut self.dicts),
                    Err(_) => {
                        assert_eq!(out, BAD_JSON.as_bytes());
                        Got::Fault("bad_json")
                    }
                }
            }
            mode => panic!("binary frame in {mode} mode"),
        }
    }

    /// Reads until the connection ends; returns what came and how it ended.
    async fn drain(&mut self) -> (Vec<Got>, Got) {
        let mut got = Vec::new();
        loop {
            match self.next().await {
                end @ (Got::Close(_) | Got::Reset) => return (got, end),
                other => got.push(other),
            }
        }
    }
}

/// Control by `type` (docs/PROTOCOL.md B.5 rule 1), data by `channel` + `payload`.
fn classify(value: Value, dict_id: u32, dicts: &mut HashMap<u32, Vec<u8>>) -> Got {
    let control = [
        "login_ok",
        "error",
        "dict",
        "resume_complete",
        "snapshot_required",
        "reconnect",
    ];
    let kind = value["type"].as_str().unwrap_or_default();
    if control.contains(&kind) {
        if kind == "dict" {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value["data"].as_str().unwrap())
                .unwrap();
            let id = u32::try_from(value["dictId"].as_u64().unwrap()).unwrap();
            assert_eq!(
                zstd_safe::get_dict_id_from_dict(&bytes).map(|i| i.get()),
                Some(id)
            );
            dicts.insert(id, bytes);
        }
        Got::Control(value)
    } else if value.get("channel").is_some() && value.get("payload").is_some() {
        Got::Data(value, dict_id)
    } else if kind == "oversize" {
        Got::Fault("oversize")
    } else {
        Got::Control(value)
    }
}

/// MessagePack → JSON with string keys only; anything else (bin, ext,
/// reserved bytes, non-string keys) is `None`.
fn msgpack_to_json(value: rmpv::Value) -> Option<Value> {
    Some(match value {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(i) => i
            .as_u64()
            .map(Value::from)
            .or_else(|| i.as_i64().map(Value::from))?,
        rmpv::Value::F64(f) => json!(f),
        rmpv::Value::String(s) => Value::String(s.into_str()?),
        rmpv::Value::Array(items) => Value::Array(
            items
                .into_iter()
                .map(msgpack_to_json)
                .collect::<Option<_>>()?,
        ),
        rmpv::Value::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| Some((k.as_str()?.to_owned(), msgpack_to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        _ => return None,
    })
}

fn entry_id(data: &Value) -> (u64, u64) {
    let text = data["entryId"].as_str().unwrap();
    let (ts, seq) = text.split_once('-').unwrap();
    (ts.parse().unwrap(), seq.parse().unwrap())
}

fn data_only(got: &[Got]) -> Vec<Value> {
    got.iter()
        .filter_map(|g| match g {
            Got::Data(v, _) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn is_epoch(value: &Value) -> bool {
    value.as_str().is_some_and(|e| {
        e.len() == 32
            && e.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_ok_has_the_full_shape_in_every_mode() {
    let sim = start(cfg());
    for mode in ["json", "binary", "zstd", "zstd-dict"] {
        let mut login = login_msg(mode);
        login["channels"] = json!(["odds", "fixtures", "scores", "futures"]);
        let (_client, ok) = Client::login(&sim, login).await;
        let epoch = ok["resume"]["serverEpoch"].clone();
        assert!(is_epoch(&epoch), "{ok}");
        let mut expected = json!({
            "type": "login_ok",
            "receiveType": mode,
            "channels": ["odds", "fixtures", "scores"],
            "access": {"live": true, "pregame": true},
            "resume": {"serverEpoch": epoch, "resumeWindowMs": 60000,
                       "replayChannels": ["fixtures", "scores"], "serverEntryIds": {}},
        });
        // Earlier connections of this loop may already have produced data.
        expected["resume"]["serverEntryIds"] = ok["resume"]["serverEntryIds"].clone();
        assert_eq!(ok, expected);
        let ids = ok["resume"]["serverEntryIds"].as_object().unwrap();
        assert!(ids.keys().all(|k| k == "fixtures" || k == "scores"), "{ok}");
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_zstd_downgrades_to_json() {
    let sim = start_with(|c| {
        c.no_zstd = true;
        c.messages = Some(20);
    });
    for mode in ["zstd", "zstd-dict"] {
        let (mut client, ok) = Client::login(&sim, login_msg(mode)).await;
        assert_eq!(ok["receiveType"], "json");
        let (got, end) = client.drain().await;
        assert_eq!(end, Got::Close(1000));
        // No dict frame, and data came as text JSON.
        assert!(got.iter().all(|g| matches!(g, Got::Data(_, 0))), "{got:?}");
    }
    // Unknown receive types get json too.
    let (_client, ok) = Client::login(&sim, login_msg("gzip")).await;
    assert_eq!(ok["receiveType"], "json");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_key_gets_login_failed_then_1008() {
    let sim = start_with(|c| {
        c.messages = Some(200);
        c.api_key = Some("right".into());
    });
    for key in ["wrong", ""] {
        let mut client = Client::connect(&sim).await;
        client.send(&json!({"type": "login", "apiKey": key})).await;
        assert_eq!(
            client.control().await,
            json!({"type": "error", "code": "login_failed", "message": "invalid apiKey"})
        );
        assert_eq!(client.next().await, Got::Close(1008));
    }
    // No channel left is a login failure too.
    let mut client = Client::connect(&sim).await;
    client
        .send(&json!({"type": "login", "apiKey": "right", "channels": ["futures"]}))
        .await;
    let err = client.control().await;
    assert_eq!(err["code"], "login_failed");
    assert_eq!(client.next().await, Got::Close(1008));
    // The right key works.
    let (_client, ok) = Client::login(&sim, json!({"type": "login", "apiKey": "right"})).await;
    assert_eq!(ok["receiveType"], "json");
    assert_eq!(sim.stats().logins, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_connection_for_a_key_gets_4003() {
    let sim = start_with(|c| {
        c.rate = Some(5.0);
    });
    let mut five = Vec::new();
    for _ in 0..5 {
        five.push(Client::login(&sim, login_msg("json")).await.0);
    }
    let mut sixth = Client::connect(&sim).await;
    sixth.send(&login_msg("json")).await;
    assert_eq!(
        sixth.control().await,
        json!({"type": "error", "code": "too_many_connections",
               "message": "too many connections for this apiKey"})
    );
    assert_eq!(sixth.next().await, Got::Close(4003));
    // Another key has its own budget.
    let mut other = login_msg("json");
    other["apiKey"] = json!("other-key");
    let (_other, _) = Client::login(&sim, other).await;
    // A slot frees up when a connection ends.
    let mut first = five.remove(0);
    first.ws.close(None).await.unwrap();
    while !matches!(first.next().await, Got::Close(_) | Got::Reset) {}
    let deadline = Instant::now() + STEP;
    while sim.stats().active_connections > 5 {
        assert!(Instant::now() < deadline, "slot never freed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_again, ok) = Client::login(&sim, login_msg("json")).await;
    assert_eq!(ok["type"], "login_ok");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_login_in_time_gets_4001() {
    let sim = start_with(|c| {
        c.messages = Some(200);
        c.login_timeout = Duration::from_millis(300);
    });
    let mut client = Client::connect(&sim).await;
    assert_eq!(
        client.control().await,
        json!({"type": "error", "code": "login_timeout", "message": "no login received in time"})
    );
    assert_eq!(client.next().await, Got::Close(4001));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_message_not_a_login_gets_1008() {
    let sim = start(cfg());
    for first in [
        Message::text(r#"{"type":"subscribe","apiKey":"k"}"#),
        Message::text("not json"),
        Message::binary(vec![0x81, 0xA1, 0x61, 0x01]),
    ] {
        let mut client = Client::connect(&sim).await;
        client.ws.send(first).await.unwrap();
        assert_eq!(
            client.control().await,
            json!({"type": "error", "code": "first_message_must_be_login",
                   "message": "the first message must be a login"})
        );
        assert_eq!(client.next().await, Got::Close(1008));
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_paths_get_404_and_probes_are_ignored() {
    let sim = start(cfg());
    // A readiness probe: connect and hang up.
    drop(TcpStream::connect(sim.local_addr()).await.unwrap());
    let url = format!("ws://{}/other", sim.local_addr());
    match connect_async(url).await {
        Err(WsError::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!("expected a 404, got {other:?}"),
    }
    let (_client, ok) = Client::login(&sim, login_msg("json")).await;
    assert_eq!(ok["type"], "login_ok");
    assert_eq!(sim.stats().connections, 1);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_dict_announces_dicts_before_data() {
    let sim = start_with(|c| {
        c.messages = Some(300);
    });
    let (mut client, _) = Client::login(&sim, login_msg("zstd-dict")).await;
    let mut announced = BTreeMap::new();
    for _ in 0..3 {
        let dict = client.control().await;
        assert_eq!(dict["type"], "dict");
        assert_eq!(dict["encoding"], "base64");
        assert!(
            dict["data"].as_str().unwrap().ends_with('='),
            "padding expected"
        );
        announced.insert(
            dict["channel"].as_str().unwrap().to_owned(),
            dict["dictId"].as_u64().unwrap(),
        );
    }
    assert_eq!(
        announced,
        BTreeMap::from([
            ("bookmakers".to_owned(), 740_826_218),
            ("fixtures".to_owned(), 740_826_217),
            ("odds".to_owned(), 740_826_216),
        ])
    );
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    assert_eq!(got.len(), 300);
    for g in &got {
        let Got::Data(data, dict_id) = g else {
            panic!("expected data, got {g:?}");
        };
        let channel = data["channel"].as_str().unwrap();
        let expected = announced
            .get(channel)
            .map_or(0, |id| u32::try_from(*id).unwrap());
        assert_eq!(*dict_id, expected, "{channel}");
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_mode_carries_the_same_messages() {
    // Four simulators with the same seed; the payloads (not the times) match.
    let mut streams = Vec::new();
    for mode in ["json", "binary", "zstd", "zstd-dict"] {
        let sim = start_with(|c| {
            c.messages = Some(60);
        });
        let (mut client, ok) = Client::login(&sim, login_msg(mode)).await;
        assert_eq!(ok["receiveType"], mode);
        let (got, end) = client.drain().await;
        assert_eq!(end, Got::Close(1000));
        let data = data_only(&got);
        assert_eq!(data.len(), 60, "{mode}");
        for d in &data {
            let keys: Vec<&str> = d.as_object().unwrap().keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                ["channel", "type", "payload", "ts", "entryId"],
                "{mode}"
            );
        }
        streams.push(
            data.into_iter()
                .map(|d| (d["channel"].clone(), d["payload"]["fixtureId"].clone()))
                .collect::<Vec<_>>(),
        );
        sim.shutdown().await.unwrap();
    }
    assert!(streams.iter().all(|s| *s == streams[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_limit_sends_exactly_n_then_1000() {
    let sim = start_with(|c| {
        c.messages = Some(500);
    });
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    let data = data_only(&got);
    assert_eq!(data.len(), 500);
    let mut last: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for d in &data {
        let id = entry_id(d);
        assert_eq!(d["ts"].as_u64(), Some(id.0));
        let prev = last.insert(d["channel"].as_str().unwrap().to_owned(), id);
        assert!(
            prev.is_none_or(|p| p < id),
            "entryIds must increase per channel"
        );
    }
    // A connection after the end gets login_ok, then 1000 at once.
    let (mut late, _) = Client::login(&sim, login_msg("json")).await;
    assert_eq!(late.next().await, Got::Close(1000));
    let stats = sim.stats();
    assert_eq!(stats.messages_generated, 500);
    assert_eq!(stats.per_channel.values().sum::<u64>(), 500);
    assert_eq!(stats.data_frames_sent, 500);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_served_channels_are_sent() {
    let sim = start_with(|c| {
        c.messages = Some(400);
    });
    let mut login = login_msg("binary");
    login["channels"] = json!(["scores", "clocks"]);
    let (mut client, ok) = Client::login(&sim, login).await;
    assert_eq!(ok["channels"], json!(["scores", "clocks"]));
    assert_eq!(ok["resume"]["replayChannels"], json!(["scores"]));
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    let stats = sim.stats();
    let expected = stats.per_channel.get("scores").copied().unwrap_or(0)
        + stats.per_channel.get("clocks").copied().unwrap_or(0);
    let data = data_only(&got);
    assert_eq!(data.len() as u64, expected);
    assert!(
        data.iter()
            .all(|d| d["channel"] == "scores" || d["channel"] == "clocks")
    );
    sim.shutdown().await.unwrap();
}

/// Runs a first connection over the whole (limited) stream and returns it.
async fn full_stream(sim: &WsSimHandle) -> (Value, Vec<Value>) {
    let (mut client, ok) = Client::login(sim, login_msg("json")).await;
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    (ok, data_only(&got))
}

fn last_of(data: &[Value], channel: &str) -> Value {
    data.iter()
        .rev()
        .find(|d| d["channel"] == channel)
        .map(|d| d["entryId"].clone())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_replays_exactly_what_follows_the_cursor() {
    let sim = start_with(|c| {
        c.messages = Some(600);
    });
    let (ok, data) = full_stream(&sim).await;
    let epoch = ok["resume"]["serverEpoch"].clone();
    // Cursors taken a third of the way in.
    let seen = &data[..200];
    let cursors = json!({
        "fixtures": last_of(seen, "fixtures"),
        "scores": last_of(seen, "scores"),
        "odds": last_of(seen, "odds"),
    });
    let mut login = login_msg("zstd-dict");
    login["serverEpoch"] = epoch.clone();
    login["lastSeenId"] = cursors.clone();
    let (mut client, ok) = Client::login(&sim, login).await;
    assert_eq!(ok["resume"]["serverEpoch"], epoch);
    assert_eq!(
        ok["resume"]["serverEntryIds"],
        json!({"fixtures": last_of(&data, "fixtures"), "scores": last_of(&data, "scores")})
    );
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    // Three dicts, the replay, resume_complete; nothing live (the stream ended).
    let dicts: Vec<&Got> = got
        .iter()
        .take_while(|g| matches!(g, Got::Control(v) if v["type"] == "dict"))
        .collect();
    assert_eq!(dicts.len(), 3);
    assert_eq!(
        got.last(),
        Some(&Got::Control(
            json!({"type": "resume_complete", "serverEpoch": epoch})
        ))
    );
    let replayed: Vec<Value> = data_only(&got);
    assert_eq!(got.len(), 3 + replayed.len() + 1);
    let mut expected: Vec<Value> = data
        .iter()
        .filter(|d| {
            let ch = d["channel"].as_str().unwrap();
            (ch == "fixtures" || ch == "scores")
                && entry_id(d) > entry_id(&json!({"entryId": cursors[ch]}))
        })
        .cloned()
        .collect();
    expected.sort_by_key(|d| d["ts"].as_u64());
    assert!(!expected.is_empty());
    assert_eq!(replayed, expected);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_epoch_gets_server_restarted() {
    let sim = start_with(|c| {
        c.messages = Some(100);
    });
    let (ok, data) = full_stream(&sim).await;
    let epoch = ok["resume"]["serverEpoch"].clone();
    let mut login = login_msg("json");
    login["serverEpoch"] = json!("0804ab61513c4681a3afd8afc1fb2f75");
    login["lastSeenId"] = json!({"scores": last_of(&data, "scores"), "odds": "1-1"});
    let (mut client, _) = Client::login(&sim, login).await;
    assert_eq!(
        client.control().await,
        json!({"type": "snapshot_required", "reason": "server_restarted", "channels": ["scores"],
               "serverEpoch": epoch, "resumeWindowMs": 60000,
               "serverEntryIds": {"scores": last_of(&data, "scores")}})
    );
    // No replay and no resume_complete: straight to live, which has ended.
    assert_eq!(client.next().await, Got::Close(1000));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_epoch_changes_the_epoch_on_every_login() {
    let sim = start_with(|c| {
        c.restart_epoch = true;
        c.messages = Some(50);
    });
    let (ok, data) = full_stream(&sim).await;
    let mut login = login_msg("json");
    login["serverEpoch"] = ok["resume"]["serverEpoch"].clone();
    login["lastSeenId"] = json!({"fixtures": last_of(&data, "fixtures")});
    let (mut client, ok2) = Client::login(&sim, login).await;
    assert_ne!(ok2["resume"]["serverEpoch"], ok["resume"]["serverEpoch"]);
    assert!(is_epoch(&ok2["resume"]["serverEpoch"]));
    let snap = client.control().await;
    assert_eq!(snap["reason"], "server_restarted");
    assert_eq!(snap["channels"], json!(["fixtures"]));
    assert_eq!(client.next().await, Got::Close(1000));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evicted_cursor_gets_resume_window_exceeded() {
    let sim = start_with(|c| {
        c.messages = Some(300);
        c.replay_window_ms = 1;
    });
    let (ok, data) = full_stream(&sim).await;
    let epoch = ok["resume"]["serverEpoch"].clone();
    // Let the 1 ms window pass over everything.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let first_scores = data.iter().find(|d| d["channel"] == "scores").unwrap();
    let mut login = login_msg("json");
    login["serverEpoch"] = epoch.clone();
    login["lastSeenId"] = json!({"scores": first_scores["entryId"]});
    let (mut client, _) = Client::login(&sim, login).await;
    let snap = client.control().await;
    assert_eq!(snap["reason"], "resume_window_exceeded");
    assert_eq!(snap["channels"], json!(["scores"]));
    assert_eq!(snap["serverEpoch"], epoch);
    assert_eq!(snap["resumeWindowMs"], 1);
    assert_eq!(client.next().await, Got::Close(1000));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_after_closes_without_a_close_frame() {
    let sim = start_with(|c| {
        c.drop_after = Some(25);
    });
    for mode in ["json", "zstd"] {
        let (mut client, _) = Client::login(&sim, login_msg(mode)).await;
        let (got, end) = client.drain().await;
        assert_eq!(end, Got::Reset);
        assert_eq!(data_only(&got).len(), 25);
        assert_eq!(got.len(), 25);
    }
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconnect_after_sends_reconnect_then_1001() {
    let sim = start_with(|c| {
        c.reconnect_after = Some(10);
        c.reconnect_grace = Duration::from_millis(200);
        c.rate = Some(200.0);
    });
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1001));
    let reconnect = Got::Control(json!({"type": "reconnect", "reason": "server_upgrade"}));
    let at = got
        .iter()
        .position(|g| *g == reconnect)
        .expect("reconnect frame");
    assert_eq!(at, 10, "after exactly 10 data messages");
    assert_eq!(got.iter().filter(|g| **g == reconnect).count(), 1);
    // Data keeps flowing during the grace period.
    assert!(got.len() > 11, "no data after the reconnect frame");
    assert!(got[11..].iter().all(|g| matches!(g, Got::Data(..))));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_frames_fire_once_and_lose_nothing() {
    for (mode, fired) in [
        ("zstd-dict", vec!["bomb", "unknown_dict", "bad_json"]),
        ("zstd", vec!["bomb", "unknown_dict", "bad_json"]),
        ("json", vec!["oversize", "bad_json"]),
        ("binary", vec!["oversize", "bad_msgpack"]),
    ] {
        let sim = start_with(|c| {
            c.messages = Some(30);
            c.bomb_at = Some(3);
            c.unknown_dict_at = Some(5);
            c.bad_json_at = Some(7);
        });
        let (mut client, _) = Client::login(&sim, login_msg(mode)).await;
        let (got, end) = client.drain().await;
        assert_eq!(end, Got::Close(1000));
        let got: Vec<&Got> = got
            .iter()
            .filter(|g| !matches!(g, Got::Control(v) if v["type"] == "dict"))
            .collect();
        assert_eq!(
            data_only(&got.iter().map(|g| (*g).clone()).collect::<Vec<_>>()).len(),
            30
        );
        let faults: Vec<(usize, &str)> = got
            .iter()
            .enumerate()
            .filter_map(|(i, g)| match g {
                Got::Fault(name) => Some((i, *name)),
                _ => None,
            })
            .collect();
        let names: Vec<&str> = faults.iter().map(|(_, n)| *n).collect();
        assert_eq!(names, fired, "{mode}");
        // Each fault sits right before its message: 2 data messages before the
        // bomb, 4 before the unknown dict, 6 before the bad JSON.
        let before: Vec<usize> = faults
            .iter()
            .map(|(i, _)| {
                got[..*i]
                    .iter()
                    .filter(|g| matches!(g, Got::Data(..)))
                    .count()
            })
            .collect();
        let expected_before: Vec<usize> = if fired.len() == 3 {
            vec![2, 4, 6]
        } else {
            vec![2, 6]
        };
        assert_eq!(before, expected_before, "{mode}");
        assert_eq!(sim.stats().faults_fired, fired.len() as u64);
        // A second connection sees no fault.
        let (mut again, _) = Client::login(&sim, login_msg(mode)).await;
        let (got, _) = again.drain().await;
        assert!(!got.iter().any(|g| matches!(g, Got::Fault(_))));
        sim.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paced_stream_follows_the_rate() {
    let sim = start_with(|c| {
        c.rate = Some(200.0);
        c.messages = Some(40);
    });
    let started = Instant::now();
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    // The producer runs from the spawn; the login came a little later, so the
    // client may have missed the first few. 40 messages at 200/s take at
    // least 195 ms from the first one.
    let n = data_only(&got).len();
    assert!(n > 0 && n <= 40, "{n}");
    assert_eq!(sim.stats().messages_generated, 40);
    assert!(started.elapsed() >= Duration::from_millis(150));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_connections_with_1001() {
    let sim = start_with(|c| {
        c.rate = Some(50.0);
    });
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    let stop = tokio::spawn(sim.shutdown());
    let (_, end) = client.drain().await;
    assert_eq!(end, Got::Close(1001));
    stop.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_and_drops_silent_clients() {
    let sim = start_with(|c| {
        c.rate = Some(5.0);
        c.ping_interval = Duration::from_millis(50);
        c.idle_timeout = Duration::from_millis(300);
    });
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    // Not reading means not answering pings: the client is silent.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut pings = 0;
    let mut closes = 0;
    loop {
        match timeout(STEP, client.ws.next())
            .await
            .expect("server silent")
        {
            Some(Ok(Message::Ping(_))) => pings += 1,
            Some(Ok(Message::Close(_))) => closes += 1,
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break,
        }
    }
    assert!(pings >= 1, "no ping seen");
    assert_eq!(closes, 0, "dropped without a close frame");
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_inbound_message_gets_1009() {
    let sim = start_with(|c| c.max_inbound = 1024);
    let mut client = Client::connect(&sim).await;
    client
        .ws
        .send(Message::text("x".repeat(4096)))
        .await
        .unwrap();
    assert_eq!(client.next().await, Got::Close(1009));
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unpaced_slow_reader_waits_instead_of_4002() {
    let sim = start_with(|c| {
        c.messages = Some(3000);
        c.outbound_queue_bytes = 256 << 10;
    });
    let (mut client, _) = Client::login(&sim, login_msg("json")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (got, end) = client.drain().await;
    assert_eq!(end, Got::Close(1000));
    assert_eq!(data_only(&got).len(), 3000);
    sim.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_lagging_behind_the_live_tail_gets_4002() {
    let sim = start_with(|c| {
        c.messages = Some(12000);
        c.outbound_queue_bytes = 256 << 10;
    });
    // The slow reader logs in and reads nothing: its socket fills and its
    // sender blocks. Then a fast reader takes the stream on alone.
    let (mut slow, _) = Client::login(&sim, login_msg("json")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut fast, _) = Client::login(&sim, login_msg("json")).await;
    let (got, end) = fast.drain().await;
    assert_eq!(end, Got::Close(1000));
    assert!(!data_only(&got).is_empty());
    assert_eq!(sim.stats().messages_generated, 12000);
    // By now the stream has moved on by far more than 256 KiB past what the
    // slow reader's socket holds.
    let (got, end) = slow.drain().await;
    assert_eq!(end, Got::Close(4002));
    assert!(data_only(&got).len() < 12000);
    sim.shutdown().await.unwrap();
}
