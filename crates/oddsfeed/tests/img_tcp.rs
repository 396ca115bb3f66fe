//! The IMG client against the in-process simulator over plain TCP, with short timings.

use std::time::Duration;

use oddsfeed::health::Health;
use oddsfeed::img::{
    ImgClient, ImgClientConfig, ImgClientConfigBuilder, ImgError, ImgEvent, Transport,
};
use oddsfeed_model::img::{DisconnectReason, PushKind, Request};
use oddsfeed_session::backoff::BackoffConfig;
use oddsfeed_session::img::{DecodeErrorKind, DisconnectedReason, Event};
use oddsfeed_sim::img::{ImgSimConfig, run_tcp};
use tokio::net::TcpListener;

/// Guard against a hang; never an assertion about speed.
const HANG_GUARD: Duration = Duration::from_secs(20);

fn sim_config() -> ImgSimConfig {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.init_deadline = Duration::from_millis(2_000);
    cfg.update_interval = Duration::from_millis(5);
    cfg
}

async fn start_sim(cfg: ImgSimConfig) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(run_tcp(listener, cfg));
    addr
}

fn client_config(addr: &str) -> ImgClientConfigBuilder {
    ImgClientConfig::builder(Transport::Tcp {
        addr: addr.to_owned(),
    })
    .backoff(BackoffConfig {
        initial: Duration::from_millis(20),
        multiplier: 2,
        max: Duration::from_millis(200),
        reset_after: Duration::from_secs(60),
    })
    .with_session(|s| {
        s.heartbeat_stale_after = Duration::from_secs(2);
        s.dead_after = Duration::from_secs(5);
        s.init_response_timeout = Duration::from_secs(5);
    })
}

/// The checked configuration of `builder`.
fn built(builder: ImgClientConfigBuilder) -> ImgClientConfig {
    builder.build().expect("valid config")
}

async fn next(client: &mut ImgClient) -> Result<ImgEvent, ImgError> {
    match tokio::time::timeout(HANG_GUARD, client.next()).await {
        Ok(Some(ImgEvent::Fatal(error))) => Err(error),
        Ok(Some(event)) => Ok(event),
        Ok(None) => panic!("the client ended"),
        Err(_) => panic!("no item within the hang guard"),
    }
}

/// Collects items until `stop` matches one (included).
async fn until(client: &mut ImgClient, stop: impl Fn(&ImgEvent) -> bool) -> Vec<ImgEvent> {
    let mut seen = Vec::new();
    loop {
        let event = next(client).await.expect("no error expected");
        // Health restates session events; `health_follows_the_session` checks it.
        if matches!(event, ImgEvent::Health(_)) {
            continue;
        }
        let done = stop(&event);
        seen.push(event);
        if done {
            return seen;
        }
    }
}

fn is_initialized(event: &ImgEvent) -> bool {
    matches!(event, ImgEvent::Session(Event::SessionInitialized { .. }))
}

fn push_kind(event: &ImgEvent) -> Option<&PushKind> {
    match event {
        ImgEvent::Session(Event::Push(push)) => Some(&push.kind),
        _ => None,
    }
}

#[tokio::test]
async fn init_response_snapshot_then_subscribe_gives_ok_and_market_updates() {
    let addr = start_sim(sim_config()).await;
    let mut client = ImgClient::start(built(client_config(&addr))).expect("start the IMG client");
    let first = until(&mut client, is_initialized).await;
    let names: Vec<&str> = first.iter().map(ImgEvent::name).collect();
    assert_eq!(
        names,
        ["connecting", "connected", "response", "session_initialized"]
    );
    match &first[2] {
        ImgEvent::Session(Event::Response {
            response,
            request: Some(request),
        }) => {
            assert_eq!(request.request, "init");
            assert_eq!(response.status.as_str(), "session initialized");
            assert!(response.session_id.is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
    match &first[3] {
        ImgEvent::Session(Event::SessionInitialized {
            reconnect,
            session_id,
        }) => {
            assert!(!reconnect);
            assert!(session_id.is_some());
        }
        other => panic!("unexpected {other:?}"),
    }
    // The snapshot starts with the sport, then competitions.
    let snapshot = until(&mut client, |e| push_kind(e) == Some(&PushKind::Market)).await;
    let kinds: Vec<&PushKind> = snapshot
        .iter()
        .filter_map(push_kind)
        .filter(|k| **k != PushKind::Heartbeat)
        .collect();
    assert_eq!(kinds.first(), Some(&&PushKind::Sport));
    assert_eq!(kinds.get(1), Some(&&PushKind::Competition));

    // A subscribe at run time: `ok`, then market updates.
    let id = client
        .send_request(Request::new("subscribe"))
        .await
        .expect("queued");
    let answered = until(&mut client, |e| {
        matches!(e, ImgEvent::Session(Event::Response { request: Some(r), .. }) if r.request == "subscribe")
    })
    .await;
    match answered.last() {
        Some(ImgEvent::Session(Event::Response {
            response,
            request: Some(request),
        })) => {
            assert_eq!(response.status.as_str(), "ok");
            assert_eq!(response.request_id.as_deref(), Some(id.as_str()));
            assert_eq!(request.request_id.as_deref(), Some(id.as_str()));
        }
        other => panic!("unexpected {other:?}"),
    }
    until(&mut client, |e| {
        push_kind(e) == Some(&PushKind::MarketUpdate)
    })
    .await;
}

#[tokio::test]
async fn stalled_heartbeats_raise_heartbeat_stale() {
    let mut sim = sim_config();
    sim.heartbeat_ms = 50;
    sim.faults.stall_heartbeats_after = Some(Duration::from_millis(300));
    let addr = start_sim(sim).await;
    let mut config = client_config(&addr);
    config = config.with_session(|s| s.heartbeat_stale_after = Duration::from_millis(400));
    // Live pushes keep the connection alive while the heartbeats are stalled.
    config = config.request(Request::new("subscribe"));
    let mut client = ImgClient::start(built(config)).expect("start the IMG client");
    let seen = until(&mut client, |e| {
        matches!(e, ImgEvent::Session(Event::HeartbeatStale { .. }))
    })
    .await;
    let heartbeats = seen
        .iter()
        .filter(|e| push_kind(e) == Some(&PushKind::Heartbeat))
        .count();
    assert!(heartbeats >= 1, "heartbeats flowed before the stall");
    match seen.last() {
        Some(ImgEvent::Session(Event::HeartbeatStale { silent_for })) => {
            assert!(*silent_for >= Duration::from_millis(400), "{silent_for:?}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        !seen.iter().any(|e| e.name() == "disconnected"),
        "stale is not dead"
    );
}

#[tokio::test]
async fn a_dropped_connection_reconnects_and_resends_init_and_subscriptions() {
    let mut sim = sim_config();
    // Past the snapshot and the subscription image of the first connection.
    sim.faults.drop_after = Some(150);
    let addr = start_sim(sim).await;
    let mut subscribe = Request::new("subscribe");
    subscribe.msg = serde_json::json!({});
    let config = client_config(&addr).request(subscribe);
    let mut client = ImgClient::start(built(config)).expect("start the IMG client");
    until(&mut client, is_initialized).await;
    let dropped = until(&mut client, |e| e.name() == "disconnected").await;
    assert!(
        dropped.iter().any(|e| matches!(e, ImgEvent::Session(Event::Response { request: Some(r), .. }) if r.request == "subscribe")),
        "the first connection's subscribe was answered"
    );
    match dropped.last() {
        Some(ImgEvent::Session(Event::Disconnected { reason })) => {
            assert_eq!(*reason, DisconnectedReason::ServerClosed);
        }
        other => panic!("unexpected {other:?}"),
    }
    let again = until(&mut client, is_initialized).await;
    let names: Vec<&str> = again.iter().map(ImgEvent::name).collect();
    assert_eq!(
        names,
        [
            "backoff",
            "connecting",
            "connected",
            "response",
            "session_initialized"
        ]
    );
    match (&again[1], &again[4]) {
        (
            ImgEvent::Connecting { attempt, .. },
            ImgEvent::Session(Event::SessionInitialized { reconnect, .. }),
        ) => {
            assert_eq!(*attempt, 2);
            assert!(
                *reconnect,
                "the snapshot after a reconnect replaces the state"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    // The standing subscribe went out again and is answered on the new connection.
    let resent = until(&mut client, |e| {
        matches!(e, ImgEvent::Session(Event::Response { request: Some(r), .. }) if r.request == "subscribe")
    })
    .await;
    match resent.last() {
        Some(ImgEvent::Session(Event::Response { response, .. })) => {
            assert_eq!(response.status.as_str(), "ok");
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn bad_json_is_reported_once_and_nothing_else_is_lost() {
    let mut sim = sim_config();
    sim.messages = Some(20);
    sim.faults.bad_json_at = Some(5);
    let addr = start_sim(sim).await;
    let config = client_config(&addr).once(true);
    let mut client = ImgClient::start(built(config)).expect("start the IMG client");
    let mut pushes = 0;
    let mut decode_errors = Vec::new();
    loop {
        match next(&mut client).await.expect("no error") {
            ImgEvent::Finished => break,
            ImgEvent::Session(Event::Push(push)) if push.kind != PushKind::Heartbeat => pushes += 1,
            ImgEvent::Session(Event::DecodeError(error)) => decode_errors.push(error),
            _ => {}
        }
    }
    assert_eq!(pushes, 20, "every non-heartbeat push arrived");
    assert_eq!(decode_errors.len(), 1);
    assert_eq!(decode_errors[0].kind, DecodeErrorKind::BadJson);
    assert!(client.next().await.is_none(), "nothing after Finished");
}

#[tokio::test]
async fn slow_reader_kick_is_reported_then_the_client_reconnects() {
    let mut sim = sim_config();
    sim.faults.slow_reader_kick = true;
    let addr = start_sim(sim).await;
    let mut client = ImgClient::start(built(client_config(&addr))).expect("start the IMG client");
    let kicked = until(&mut client, |e| e.name() == "disconnected").await;
    let notice = kicked
        .iter()
        .find_map(|e| match e {
            ImgEvent::Session(Event::Disconnect(notice)) => Some(notice),
            _ => None,
        })
        .expect("a server_error notice");
    assert_eq!(notice.reason, DisconnectReason::SlowReader);
    match kicked.last() {
        Some(ImgEvent::Session(Event::Disconnected { reason })) => {
            assert_eq!(
                *reason,
                DisconnectedReason::Notice(DisconnectReason::SlowReader)
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    let again = until(&mut client, is_initialized).await;
    assert!(matches!(
        again.last(),
        Some(ImgEvent::Session(Event::SessionInitialized {
            reconnect: true,
            ..
        }))
    ));
}

#[tokio::test]
async fn once_finishes_when_the_server_closes() {
    let mut sim = sim_config();
    sim.messages = Some(3);
    let addr = start_sim(sim).await;
    let mut client =
        ImgClient::start(built(client_config(&addr).once(true))).expect("start the IMG client");
    let seen = until(&mut client, |e| matches!(e, ImgEvent::Finished)).await;
    let names: Vec<&str> = seen.iter().map(ImgEvent::name).collect();
    assert_eq!(names.last(), Some(&"finished"));
    assert_eq!(names[names.len() - 2], "disconnected");
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn unreachable_server_backs_off_or_fails_once() {
    // A port nobody listens on: bind, note it, close.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);

    let mut client = ImgClient::start(built(client_config(&addr))).expect("start the IMG client");
    let seen = until(&mut client, |e| {
        matches!(e, ImgEvent::Connecting { attempt: 2, .. })
    })
    .await;
    let names: Vec<&str> = seen.iter().map(ImgEvent::name).collect();
    assert_eq!(
        names,
        ["connecting", "connect_failed", "backoff", "connecting"]
    );
    drop(client);

    let mut client =
        ImgClient::start(built(client_config(&addr).once(true))).expect("start the IMG client");
    assert_eq!(next(&mut client).await.map(|e| e.name()), Ok("connecting"));
    match next(&mut client).await {
        Err(ImgError::Connect { addr: failed, .. }) => assert_eq!(failed, addr),
        other => panic!("unexpected {other:?}"),
    }
    assert!(client.next().await.is_none());
}

#[tokio::test]
async fn the_server_answers_nothing_and_the_init_deadline_drops_the_connection() {
    // A TCP server that accepts and then stays silent.
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let mut config = client_config(&addr).once(true);
    config = config.with_session(|s| s.init_response_timeout = Duration::from_millis(200));
    let mut client = ImgClient::start(built(config)).expect("start the IMG client");
    let mut names = Vec::new();
    let error = loop {
        match next(&mut client).await {
            Ok(event) => names.push(event.name()),
            Err(error) => break error,
        }
    };
    assert_eq!(names, ["connecting", "connected", "disconnected"]);
    assert_eq!(
        error,
        ImgError::Stopped {
            reason: "no init response within 200 ms".into()
        }
    );
    assert!(!error.is_auth_refused());
}

#[tokio::test]
async fn a_one_slot_event_queue_slows_the_driver_but_loses_nothing() {
    let mut sim = sim_config();
    sim.messages = Some(120);
    sim.update_interval = Duration::ZERO;
    let addr = start_sim(sim).await;
    let mut config = client_config(&addr)
        .once(true)
        .request(Request::new("subscribe"));
    config = config.event_queue(1);
    let mut client = ImgClient::start(built(config)).expect("start the IMG client");
    let mut pushes = Vec::new();
    loop {
        match next(&mut client).await.expect("no error") {
            ImgEvent::Finished => break,
            ImgEvent::Session(Event::Push(push)) if push.kind != PushKind::Heartbeat => {
                pushes.push(push.kind);
                // A slow consumer: the driver waits for it instead of dropping items.
                if pushes.len() % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            _ => {}
        }
    }
    assert_eq!(pushes.len(), 120);
    assert_eq!(pushes[0], PushKind::Sport);
    assert_eq!(pushes.last(), Some(&PushKind::MarketUpdate));
}

#[tokio::test]
async fn connect_waits_for_the_session_and_health_follows_it() {
    let mut sim = sim_config();
    // Past the snapshot and the subscription image of the first connection.
    sim.faults.drop_after = Some(150);
    let addr = start_sim(sim).await;
    let mut subscribe = Request::new("subscribe");
    subscribe.msg = serde_json::json!({});
    let config = client_config(&addr).request(subscribe);
    let mut client = tokio::time::timeout(HANG_GUARD, ImgClient::connect(built(config)))
        .await
        .expect("connect answers in time")
        .expect("the session initialises");
    let mut names = Vec::new();
    let mut health = Vec::new();
    while health.len() < 3 {
        let event = next(&mut client).await.expect("no error expected");
        names.push(event.name());
        if let ImgEvent::Health(h) = event {
            health.push(h);
        }
    }
    // What connect read while waiting comes first, in order.
    assert_eq!(&names[..2], ["connecting", "connected"], "{names:?}");
    assert_eq!(health, [Health::Up, Health::Down, Health::Recovered]);
}

#[tokio::test]
async fn connect_returns_the_error_that_ends_a_once_run() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let config = client_config(&addr).once(true);
    let result = tokio::time::timeout(HANG_GUARD, ImgClient::connect(built(config)))
        .await
        .expect("connect answers in time");
    assert!(result.is_err(), "nothing listens at {addr}");
}
