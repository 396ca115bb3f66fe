//! Refusals, limits and timeouts: a bad key ends the run (exit 3) without the key showing
//! anywhere, the sixth connection of a key waits at least 10 s, login and liveness timeouts drop
//! the connection and reconnect, and a slow application loses nothing.

mod ws_common;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oddsfeed::model::{ApiKey, ReceiveType};
use oddsfeed::ws::{CloseCode, Event, WsClient, WsError, WsEvent};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use ws_common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_returns_a_refused_login_as_its_error() {
    let mut cfg = sim_config(100);
    cfg.api_key = Some("the-right-key".into());
    let sim = start_sim(cfg);
    let builder = oddsfeed::ws::WsClientConfig::builder(url(&sim), ApiKey::new("wrong"));
    let config = builder.build().expect("config");
    let result = tokio::time::timeout(Duration::from_secs(10), WsClient::connect(config))
        .await
        .expect("connect answers in time");
    match result {
        Err(error) => assert!(error.is_auth_refused(), "{error:?}"),
        Ok(_) => panic!("a refused key must fail connect"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_waits_for_login_ok_and_replays_what_it_read() {
    let sim = start_sim(sim_config(50));
    let config = client(&url(&sim), ReceiveType::Json)
        .build()
        .expect("config");
    let mut client = tokio::time::timeout(Duration::from_secs(10), WsClient::connect(config))
        .await
        .expect("connect answers in time")
        .expect("the login succeeds");
    let mut names = Vec::new();
    while names.len() < 5 {
        match client.next().await {
            Some(event) => names.push(event.name()),
            None => break,
        }
    }
    assert_eq!(
        names,
        ["connecting", "connected", "login_ok", "health", "data"][..names.len().min(5)]
    );
    assert!(names.contains(&"data"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_key_is_fatal_with_exit_3_and_never_shown() {
    const KEY: &str = "wrong-key-s3cr3t-0123456789";
    let mut cfg = sim_config(100);
    cfg.api_key = Some("the-right-key".into());
    let sim = start_sim(cfg);
    let builder = oddsfeed::ws::WsClientConfig::builder(url(&sim), ApiKey::new(KEY));
    assert!(!format!("{builder:?}").contains(KEY));
    let mut client = connect(builder);
    let run = collect_all(&mut client, Duration::from_secs(10)).await;

    let Some(WsEvent::Fatal(error)) = run.events.last() else {
        panic!("no fatal event: {:?}", run.names());
    };
    assert!(matches!(error, WsError::Session(_)), "{error:?}");
    assert!(error.is_auth_refused());
    assert_eq!(
        error.to_string(),
        "server refused the login: login_failed: invalid apiKey"
    );
    let errors = run.session_events("server_error");
    assert!(
        matches!(errors.as_slice(), [Event::ServerError { code: Some(code), .. }] if code == "login_failed"),
        "{errors:?}"
    );
    // Only one connection: a refusal is not retried.
    assert_eq!(run.session_events("connected").len(), 1);
    assert!(run.data.is_empty());
    let everything = format!("{:?} {:?} {client:?}", run.events, client.detailed_stats());
    assert!(!everything.contains(KEY));
    assert!(
        client.next().await.is_none(),
        "nothing after the fatal event"
    );
    let _ = sim.shutdown().await;
}

/// Logs in with a raw WebSocket client and waits for `login_ok`.
async fn raw_login(
    url: &str,
    key: &str,
) -> tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>> {
    let (mut ws, _) = match tokio_tungstenite::connect_async(url).await {
        Ok(pair) => pair,
        Err(e) => panic!("raw connect: {e}"),
    };
    let login = format!(r#"{{"type":"login","apiKey":"{key}","receiveType":"json"}}"#);
    if let Err(e) = ws.send(Message::text(login)).await {
        panic!("raw login: {e}");
    }
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) if text.as_str().contains("\"login_ok\"") => return ws,
            Some(Ok(_)) => {}
            other => panic!("no login_ok: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixth_connection_of_a_key_backs_off_at_least_ten_seconds() {
    let mut cfg = sim_config(0);
    cfg.messages = None;
    cfg.rate = Some(5.0);
    let sim = start_sim(cfg);
    let url = url(&sim);
    let mut held = Vec::new();
    for _ in 0..5 {
        held.push(raw_login(&url, "shared-key").await);
    }
    let builder = oddsfeed::ws::WsClientConfig::builder(&url, ApiKey::new("shared-key"))
        .receive_type(ReceiveType::Json);
    let mut client = connect(builder);
    let (deadline, events) = events_until(&mut client, Duration::from_secs(10), |event| {
        matches!(event, WsEvent::Backoff { .. })
    })
    .await;
    assert!(deadline.is_ok(), "no backoff: {events:?}");
    let names: Vec<&str> = events.iter().map(WsEvent::name).collect();
    assert_eq!(
        names,
        [
            "connecting",
            "connected",
            "server_error",
            "disconnected",
            "backoff"
        ]
    );
    assert!(
        matches!(&events[2], WsEvent::Session(Event::ServerError { code: Some(c), .. }) if c == "too_many_connections"),
        "{:?}",
        events[2]
    );
    assert!(
        matches!(
            &events[3],
            WsEvent::Session(Event::Disconnected {
                code: Some(CloseCode::TooManyConnections),
                ..
            })
        ),
        "{:?}",
        events[3]
    );
    let WsEvent::Backoff { delay, .. } = events[4] else {
        panic!("{:?}", events[4]);
    };
    assert!(
        delay >= Duration::from_secs(10),
        "backoff after 4003 was only {delay:?}"
    );
    drop(client);
    drop(held);
    let _ = sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_closes_a_silent_client_with_4001() {
    let mut cfg = sim_config(10);
    cfg.login_timeout = Duration::from_millis(300);
    let sim = start_sim(cfg);
    let (mut ws, _) = match tokio_tungstenite::connect_async(url(&sim)).await {
        Ok(pair) => pair,
        Err(e) => panic!("raw connect: {e}"),
    };
    let mut error_frame = None;
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => error_frame = Some(parse(text.as_str())),
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => {}
                other => panic!("connection ended without a close frame: {other:?}"),
            }
        }
    })
    .await;
    assert_eq!(close.ok().flatten(), Some(4001));
    let Some(frame) = error_frame else {
        panic!("no error frame before the close");
    };
    assert_eq!(frame["type"], "error");
    assert_eq!(frame["code"], "login_timeout");
    let _ = sim.shutdown().await;
}

/// A test server that completes the WebSocket handshake, reads the login, optionally answers
/// `login_ok`, and then says nothing (and reads nothing, so Pings go unanswered).
async fn silent_server(answer_login: bool) -> SocketAddr {
    let listener = match TcpListener::bind("127.0.0.1:0").await {
        Ok(l) => l,
        Err(e) => panic!("bind: {e}"),
    };
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                continue;
            };
            let _login = ws.next().await;
            if answer_login {
                let ok = r#"{"type":"login_ok","receiveType":"json","channels":["scores"],"resume":{"serverEpoch":"e1","replayChannels":["scores"]}}"#;
                let _ = ws.send(Message::text(ok)).await;
            }
            held.push(ws);
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_login_ok_in_time_drops_and_reconnects() {
    let addr = silent_server(false).await;
    let builder = client(&format!("ws://{addr}/ws"), ReceiveType::Json)
        .login_timeout(Duration::from_millis(300));
    let mut client = connect(builder);
    let (done, events) = events_until(
        &mut client,
        Duration::from_secs(10),
        |event| matches!(event, WsEvent::Session(Event::Connected { conn, .. }) if conn.get() == 2),
    )
    .await;
    assert!(done.is_ok(), "{events:?}");
    let names: Vec<&str> = events.iter().map(WsEvent::name).collect();
    assert_eq!(
        names,
        [
            "connecting",
            "connected",
            "disconnected",
            "backoff",
            "connecting",
            "connected"
        ]
    );
    let WsEvent::Session(Event::Disconnected { reason, .. }) = &events[2] else {
        panic!("{:?}", events[2]);
    };
    assert_eq!(reason, "no login_ok within 300 ms of connecting");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connection_is_pinged_then_declared_dead() {
    let addr = silent_server(true).await;
    let builder = client(&format!("ws://{addr}/ws"), ReceiveType::Json).with_session(|s| {
        s.ping_after_idle = Duration::from_millis(150);
        s.dead_after = Duration::from_millis(400);
    });
    let mut client = connect(builder);
    let (done, events) = events_until(&mut client, Duration::from_secs(10), |event| {
        matches!(event, WsEvent::Backoff { .. })
    })
    .await;
    assert!(done.is_ok(), "{events:?}");
    let names: Vec<&str> = events.iter().map(WsEvent::name).collect();
    assert_eq!(
        names,
        [
            "connecting",
            "connected",
            "login_ok",
            "disconnected",
            "backoff"
        ]
    );
    let WsEvent::Session(Event::Disconnected { reason, .. }) = &events[3] else {
        panic!("{:?}", events[3]);
    };
    assert!(reason.ends_with("connection considered dead"), "{reason}");
}

/// A tiny event queue and an application that pauses: the driver waits instead of buffering,
/// and every message still arrives once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_application_with_a_tiny_queue_loses_nothing() {
    const N: u64 = 300;
    let sim = start_sim(sim_config(N));
    let mut client = connect(
        client(&url(&sim), ReceiveType::ZstdDict)
            .once(true)
            .event_queue(2),
    );
    let mut run = Run::default();
    let done = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(event) = client.next().await {
            match event {
                WsEvent::Data(msg) => {
                    run.data.push(msg);
                    if run.data.len() % 50 == 0 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
                WsEvent::Finished => {
                    run.finished = true;
                    break;
                }
                other => run.events.push(other),
            }
        }
    })
    .await;
    assert!(done.is_ok(), "timed out with {} messages", run.data.len());
    assert!(run.finished, "{:?}", run.names());
    assert_eq!(run.data.len() as u64, N);
    assert_matches_generator(SEED, &run.data);
    drop(client);
    let _ = sim.shutdown().await;
}
