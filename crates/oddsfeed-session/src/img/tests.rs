//! Virtual-time tests of every rule of the IMG session: time moves only when a test moves it.

use std::time::{Duration, Instant};

use oddsfeed_model::img::{DisconnectReason, PushKind, Request, ResponseStatus};
use serde_json::json;

use super::*;
use crate::common::RAW_CAP;
use crate::img::{DecodeErrorKind, DisconnectedReason, Event, ImgRequestError, ImgSessionConfig};

fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

fn session() -> (ImgSession, Instant) {
    with(ImgSessionConfig::default())
}

/// A session whose first action (open a connection) was taken.
fn with(config: ImgSessionConfig) -> (ImgSession, Instant) {
    let mut s = ImgSession::new(config);
    assert_eq!(s.poll_action(), Some(Action::OpenConnection));
    (s, Instant::now())
}

/// Every queued line, without its `\n`.
fn sent(s: &mut ImgSession) -> Vec<String> {
    std::iter::from_fn(|| s.poll_transmit())
        .map(|line| {
            assert_eq!(line.last(), Some(&b'\n'), "every line ends with a newline");
            String::from_utf8(line[..line.len() - 1].to_vec()).expect("UTF-8")
        })
        .collect()
}

fn events(s: &mut ImgSession) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

fn names(s: &mut ImgSession) -> Vec<&'static str> {
    events(s).iter().map(Event::name).collect()
}

fn actions(s: &mut ImgSession) -> Vec<Action> {
    std::iter::from_fn(|| s.poll_action()).collect()
}

fn init_ok(id: &str, session_id: &str) -> String {
    format!(
        "{{\"mode\":\"resp\",\"status\":\"session initialized\",\"session_id\":\"{session_id}\",\"publish_time\":\"2025-03-14 08:50:11.331473\",\"reason\":null,\"request_id\":\"{id}\"}}\n"
    )
}

fn ok(id: &str) -> String {
    format!("{{\"mode\":\"resp\",\"status\":\"ok\",\"request_id\":\"{id}\"}}\n")
}

fn heartbeat(ts: &str) -> String {
    format!(
        "{{\"mode\":\"push\",\"type\":\"heartbeat\",\"publish_time\":\"{ts}\",\"msg\":{{\"timestamp\":\"{ts}\"}}}}\n"
    )
}

const SPORT: &str = "{\"mode\":\"push\",\"type\":\"sport\",\"publish_time\":\"2025-03-14 08:50:11.331473\",\"is_recovery\":false,\"msg\":{\"id\":\"sp.golf\",\"name\":\"Golf\"}}\n";

fn notice(reason: &str) -> String {
    format!(
        "{{\"mode\":\"push\",\"status\":\"error\",\"session_id\":\"s1\",\"reason\":\"{reason}\"}}\n"
    )
}

/// Connects at `at` and answers the init (tagged `r<init_n>`).
fn initialized(s: &mut ImgSession, at: Instant) {
    s.handle_connected(at);
    let lines = sent(s);
    let init: serde_json::Value = serde_json::from_str(&lines[0]).expect("init is JSON");
    let id = init["request_id"].as_str().expect("tagged init").to_owned();
    s.handle_bytes(init_ok(&id, "sess-1").as_bytes(), at);
    let _ = events(s);
}

// ---------------------------------------------------------------------------------------------
// Connect and requests
// ---------------------------------------------------------------------------------------------

#[test]
fn connect_sends_init_then_standing_requests_in_order_with_fresh_ids() {
    let (mut s, t0) = session();
    s.add_standing_request(Request::subscribe(&Default::default()))
        .unwrap();
    s.add_standing_request(Request::new("custom").with_request_id("mine"))
        .unwrap();
    assert!(
        sent(&mut s).is_empty(),
        "nothing is sent before a connection"
    );
    s.handle_connected(t0);
    assert_eq!(
        sent(&mut s),
        [
            r#"{"request":"init","msg":{},"request_id":"r1"}"#,
            r#"{"request":"subscribe","msg":{},"request_id":"r2"}"#,
            r#"{"request":"custom","msg":{},"request_id":"mine"}"#,
        ]
    );
    // A reconnect re-sends everything with fresh ids (a given id is kept).
    s.handle_closed(t0 + ms(5));
    let _ = (events(&mut s), actions(&mut s));
    s.handle_connected(t0 + ms(10));
    assert_eq!(
        sent(&mut s),
        [
            r#"{"request":"init","msg":{},"request_id":"r3"}"#,
            r#"{"request":"subscribe","msg":{},"request_id":"r4"}"#,
            r#"{"request":"custom","msg":{},"request_id":"mine"}"#,
        ]
    );
}

#[test]
fn include_finished_and_untagged_init() {
    let config = ImgSessionConfig {
        include_finished: true,
        tag_init: false,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    s.handle_connected(t0);
    assert_eq!(
        sent(&mut s),
        [r#"{"request":"init","msg":{"include_finished":true}}"#]
    );
    // The untagged init response matches in order.
    s.handle_bytes(
        b"{\"mode\":\"resp\",\"status\":\"session initialized\",\"session_id\":\"abc\"}\n",
        t0 + ms(1),
    );
    let evs = events(&mut s);
    match &evs[..] {
        [
            Event::Response {
                request: Some(request),
                ..
            },
            Event::SessionInitialized {
                session_id,
                reconnect: false,
            },
        ] => {
            assert_eq!(request.request, "init");
            assert_eq!(session_id.as_deref(), Some("abc"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(s.is_initialized());
    assert_eq!(s.session_id(), Some("abc"));
}

#[test]
fn session_initialized_says_reconnect_on_the_second_connection() {
    let (mut s, t0) = session();
    s.handle_connected(t0);
    let _ = sent(&mut s);
    s.handle_bytes(init_ok("r1", "first").as_bytes(), t0 + ms(1));
    let evs = events(&mut s);
    assert!(matches!(
        evs.last(),
        Some(Event::SessionInitialized {
            reconnect: false,
            ..
        })
    ));
    s.handle_closed(t0 + ms(2));
    let _ = (events(&mut s), actions(&mut s));
    s.handle_connected(t0 + ms(3));
    let _ = sent(&mut s);
    s.handle_bytes(init_ok("r2", "second").as_bytes(), t0 + ms(4));
    match events(&mut s).last() {
        Some(Event::SessionInitialized {
            session_id,
            reconnect: true,
        }) => {
            assert_eq!(session_id.as_deref(), Some("second"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn responses_correlate_by_request_id_with_pushes_in_between() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    let a = s.send_request(Request::new("a")).unwrap();
    let b = s.send_request(Request::new("b")).unwrap();
    assert_eq!((a.as_str(), b.as_str()), ("r2", "r3"));
    assert_eq!(
        sent(&mut s),
        [
            r#"{"request":"a","msg":{},"request_id":"r2"}"#,
            r#"{"request":"b","msg":{},"request_id":"r3"}"#
        ]
    );
    let input = format!("{}{SPORT}{}", ok("r3"), ok("r2"));
    s.handle_bytes(input.as_bytes(), t0 + ms(5));
    let evs = events(&mut s);
    assert_eq!(evs.len(), 3);
    match (&evs[0], &evs[1], &evs[2]) {
        (
            Event::Response {
                request: Some(first),
                response,
            },
            Event::Push(push),
            Event::Response {
                request: Some(second),
                ..
            },
        ) => {
            assert_eq!(first.request, "b");
            assert_eq!(response.status, ResponseStatus::Ok);
            assert_eq!(push.kind, PushKind::Sport);
            assert_eq!(second.request, "a");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.outstanding_len(), 0);
}

#[test]
fn responses_without_request_id_match_the_oldest_outstanding() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.send_request(Request::new("first")).unwrap();
    s.send_request(Request::new("second")).unwrap();
    let _ = sent(&mut s);
    s.handle_bytes(b"{\"mode\":\"resp\",\"status\":\"ok\"}\n", t0 + ms(1));
    match &events(&mut s)[..] {
        [
            Event::Response {
                request: Some(request),
                ..
            },
        ] => assert_eq!(request.request, "first"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.outstanding_len(), 1);
}

#[test]
fn unmatched_responses_are_delivered_and_warned_about() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(ok("r99").as_bytes(), t0 + ms(1));
    s.handle_bytes(b"{\"mode\":\"resp\",\"status\":\"ok\"}\n", t0 + ms(2));
    let evs = events(&mut s);
    match &evs[..] {
        [
            Event::Response {
                request: None,
                response: first,
            },
            Event::UnmatchedResponse {
                request_id: Some(id),
            },
            Event::Response { request: None, .. },
            Event::UnmatchedResponse { request_id: None },
        ] => {
            assert_eq!(id, "r99");
            assert_eq!(first.raw, ok("r99").trim_end());
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.stats().unmatched_responses, 2);
}

#[test]
fn subscribe_becomes_standing_and_unsubscribe_removes_the_equal_filter() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    let f1 = json!({"event_ids": ["ev.1"]});
    let f2 = json!({"market_ids": ["m.2"]});
    let mut sub1 = Request::new("subscribe");
    sub1.msg = f1.clone();
    let mut sub2 = Request::new("subscribe");
    sub2.msg = f2.clone();
    s.send_request(sub1).unwrap();
    s.send_request(sub2).unwrap();
    assert_eq!(s.standing_requests().count(), 2);
    let mut unsub = Request::new("unsubscribe");
    unsub.msg = f1;
    s.send_request(unsub).unwrap();
    let standing: Vec<_> = s.standing_requests().map(|r| r.msg.clone()).collect();
    assert_eq!(standing, [f2]);
    assert_eq!(sent(&mut s).len(), 3, "all three go out at once");
    // `{}` removes every subscription.
    let mut all = Request::new("unsubscribe");
    all.msg = json!({});
    s.send_request(all).unwrap();
    assert_eq!(s.standing_requests().count(), 0);
}

#[test]
fn standing_subscribe_is_resent_after_reconnect() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    let mut sub = Request::new("subscribe");
    sub.msg = json!({"event_ids": ["ev.1"]});
    s.send_request(sub).unwrap();
    let _ = sent(&mut s);
    s.handle_closed(t0 + ms(1));
    let _ = (events(&mut s), actions(&mut s));
    s.handle_connected(t0 + ms(2));
    assert_eq!(
        sent(&mut s),
        [
            r#"{"request":"init","msg":{},"request_id":"r3"}"#,
            r#"{"request":"subscribe","msg":{"event_ids":["ev.1"]},"request_id":"r4"}"#,
        ]
    );
}

#[test]
fn requests_sent_while_disconnected_go_out_after_init_and_standing() {
    let (mut s, t0) = session();
    s.add_standing_request(Request::new("standing")).unwrap();
    let one_shot = s.send_request(Request::new("ping")).unwrap();
    let mut sub = Request::new("subscribe");
    sub.msg = json!({"market_ids": ["m.1"]});
    let promised = s.send_request(sub).unwrap();
    assert_eq!((one_shot.as_str(), promised.as_str()), ("r1", "r2"));
    assert!(sent(&mut s).is_empty());
    s.handle_connected(t0);
    assert_eq!(
        sent(&mut s),
        [
            r#"{"request":"init","msg":{},"request_id":"r3"}"#,
            r#"{"request":"standing","msg":{},"request_id":"r4"}"#,
            r#"{"request":"subscribe","msg":{"market_ids":["m.1"]},"request_id":"r2"}"#,
            r#"{"request":"ping","msg":{},"request_id":"r1"}"#,
        ]
    );
}

#[test]
fn max_outstanding_bounds_requests() {
    let config = ImgSessionConfig {
        max_outstanding: 3,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    s.handle_connected(t0);
    s.send_request(Request::new("a")).unwrap();
    s.send_request(Request::new("b")).unwrap();
    assert_eq!(
        s.send_request(Request::new("c")),
        Err(ImgRequestError::TooMany { limit: 3 })
    );
    assert_eq!(
        s.add_standing_request(Request::new("d")),
        Err(ImgRequestError::TooMany { limit: 3 })
    );
    assert_eq!(s.outstanding_len(), 3, "init, a, b");
}

/// Found by the `session_img` fuzz target: requests accepted while disconnected, plus the
/// `init` sent on connect, must not exceed `max_outstanding`.
#[test]
fn max_outstanding_counts_the_init_sent_on_connect() {
    let config = ImgSessionConfig {
        max_outstanding: 4,
        tag_init: false,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    let all = oddsfeed_model::img::SubscriptionFilter::default();
    s.send_request(Request::subscribe(&all)).unwrap();
    s.send_request(Request::subscribe(&all)).unwrap();
    s.add_standing_request(Request::unsubscribe(&all).with_request_id("r5"))
        .unwrap();
    assert_eq!(
        s.send_request(Request::init(true)),
        Err(ImgRequestError::TooMany { limit: 4 })
    );
    s.handle_connected(t0);
    assert_eq!(
        s.outstanding_len(),
        4,
        "init, unsubscribe, subscribe, subscribe"
    );
}

// ---------------------------------------------------------------------------------------------
// Liveness
// ---------------------------------------------------------------------------------------------

#[test]
fn heartbeat_stale_fires_on_the_timer_from_the_init_response() {
    let (mut s, t0) = session();
    s.handle_connected(t0);
    let _ = sent(&mut s);
    let init_at = t0 + ms(300);
    s.handle_bytes(init_ok("r1", "x").as_bytes(), init_at);
    let _ = events(&mut s);
    // Other pushes keep the connection alive but are not heartbeats.
    s.handle_bytes(SPORT.as_bytes(), init_at + ms(9_000));
    let _ = events(&mut s);
    assert_eq!(s.poll_timeout(), Some(init_at + ms(10_000)));
    s.handle_timeout(init_at + ms(9_999));
    assert!(events(&mut s).is_empty());
    s.handle_timeout(init_at + ms(10_000));
    match &events(&mut s)[..] {
        [Event::HeartbeatStale { silent_for }] => assert_eq!(*silent_for, ms(10_000)),
        other => panic!("unexpected {other:?}"),
    }
    assert!(s.is_stale());
    // Reported once.
    s.handle_timeout(init_at + ms(10_500));
    assert!(events(&mut s).is_empty());
    // The next heartbeat clears it.
    s.handle_bytes(
        heartbeat("2025-03-20 10:05:18.924114").as_bytes(),
        init_at + ms(12_000),
    );
    match &events(&mut s)[..] {
        [Event::Push(push), Event::HeartbeatOk { stale_for }] => {
            assert_eq!(push.kind, PushKind::Heartbeat);
            assert_eq!(*stale_for, ms(2_000));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(!s.is_stale());
    assert_eq!(s.poll_timeout(), Some(init_at + ms(22_000)));
}

#[test]
fn heartbeats_reset_the_stale_clock_on_arrival_time() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    for i in 1..=5u64 {
        // The server's timestamp is far in the past: only arrival time counts.
        s.handle_bytes(
            heartbeat("2001-01-01 00:00:00.000000").as_bytes(),
            t0 + ms(3_000 * i),
        );
        s.handle_timeout(t0 + ms(3_000 * i));
    }
    assert!(names(&mut s).iter().all(|n| *n == "push"));
    assert_eq!(s.poll_timeout(), Some(t0 + ms(25_000)));
}

#[test]
fn backwards_heartbeat_time_still_counts_and_warns() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(
        heartbeat("2025-03-20 10:05:18.924114").as_bytes(),
        t0 + ms(3_000),
    );
    s.handle_bytes(
        heartbeat("2025-03-20 10:05:15.000000").as_bytes(),
        t0 + ms(6_000),
    );
    let evs = events(&mut s);
    match &evs[..] {
        [
            Event::Push(_),
            Event::Push(_),
            Event::HeartbeatTimeBackwards { previous, current },
        ] => {
            assert_eq!(previous, "2025-03-20 10:05:18.924114");
            assert_eq!(current, "2025-03-20 10:05:15.000000");
        }
        other => panic!("unexpected {other:?}"),
    }
    // It counted: the stale deadline moved to 6 s + 10 s.
    assert_eq!(s.poll_timeout(), Some(t0 + ms(16_000)));
}

#[test]
fn silence_makes_the_connection_dead() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(
        heartbeat("2025-03-20 10:05:18.924114").as_bytes(),
        t0 + ms(2_000),
    );
    let _ = events(&mut s);
    // Stale first (10 s after the last heartbeat), dead at the same instant since the
    // heartbeat was also the last byte: dead wins and ends the connection.
    s.handle_timeout(t0 + ms(12_000));
    match &events(&mut s)[..] {
        [
            Event::Disconnected {
                reason: DisconnectedReason::Dead { silent_for },
            },
        ] => {
            assert_eq!(*silent_for, ms(10_000));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        actions(&mut s),
        [Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
    assert!(!s.is_connected());
    let next = s
        .scheduled_reconnect()
        .expect("the session scheduled the reconnect");
    assert_eq!(s.poll_timeout(), Some(next.at));
    assert_eq!(next.at, t0 + ms(12_000) + next.delay);
}

#[test]
fn any_bytes_keep_the_connection_alive() {
    let config = ImgSessionConfig {
        heartbeat_stale_after: ms(60_000),
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    initialized(&mut s, t0);
    s.handle_bytes(SPORT.as_bytes(), t0 + ms(9_000));
    s.handle_timeout(t0 + ms(10_000));
    assert!(s.is_connected());
    assert_eq!(s.poll_timeout(), Some(t0 + ms(19_000)));
}

#[test]
fn no_init_response_in_time_drops_and_reconnects() {
    let (mut s, t0) = session();
    s.handle_connected(t0);
    let _ = sent(&mut s);
    assert_eq!(s.poll_timeout(), Some(t0 + ms(10_000)));
    // Bytes keep the dead clock at bay but not the init deadline.
    s.handle_bytes(SPORT.as_bytes(), t0 + ms(9_000));
    let _ = events(&mut s);
    s.handle_timeout(t0 + ms(10_000));
    match &events(&mut s)[..] {
        [
            Event::Disconnected {
                reason: DisconnectedReason::InitTimeout { timeout },
            },
        ] => {
            assert_eq!(*timeout, ms(10_000));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        actions(&mut s),
        [Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
}

#[test]
fn refused_init_drops_and_reconnects() {
    let (mut s, t0) = session();
    s.handle_connected(t0);
    let _ = sent(&mut s);
    s.handle_bytes(
        b"{\"mode\":\"resp\",\"status\":\"error\",\"msg\":\"API limit breached\",\"request_id\":\"r1\"}\n",
        t0 + ms(1),
    );
    match &events(&mut s)[..] {
        [Event::Response { .. }, Event::Disconnected { reason }] => {
            assert_eq!(
                *reason,
                DisconnectedReason::InitRefused {
                    status: "error".into(),
                    detail: Some("API limit breached".into())
                }
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        actions(&mut s),
        [Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Disconnect notices and closes
// ---------------------------------------------------------------------------------------------

#[test]
fn notices_map_to_the_a7_actions() {
    let cases = [
        (
            "no init sent",
            DisconnectReason::NoInitSent,
            ReconnectDelay::Backoff,
        ),
        (
            "max connections hit",
            DisconnectReason::MaxConnectionsHit,
            ReconnectDelay::BackoffAtLeast(ms(10_000)),
        ),
        (
            "connection rate limit hit",
            DisconnectReason::ConnectionRateLimitHit,
            ReconnectDelay::BackoffAtLeast(ms(10_000)),
        ),
        (
            "slow reader",
            DisconnectReason::SlowReader,
            ReconnectDelay::Backoff,
        ),
        (
            "internal disconnection requested",
            DisconnectReason::InternalDisconnectionRequested,
            ReconnectDelay::Backoff,
        ),
        (
            "service error",
            DisconnectReason::ServiceError,
            ReconnectDelay::Backoff,
        ),
        (
            "cosmic rays",
            DisconnectReason::Other("cosmic rays".into()),
            ReconnectDelay::Backoff,
        ),
    ];
    for (text, reason, delay) in cases {
        let (mut s, t0) = session();
        initialized(&mut s, t0);
        s.handle_bytes(notice(text).as_bytes(), t0 + ms(1));
        let evs = events(&mut s);
        match &evs[..] {
            [
                Event::Disconnect(n),
                Event::Disconnected {
                    reason: DisconnectedReason::Notice(r),
                },
            ] => {
                assert_eq!(n.reason, reason, "{text}");
                assert_eq!(*r, reason, "{text}");
                assert_eq!(n.raw, notice(text).trim_end());
            }
            other => panic!("{text}: unexpected {other:?}"),
        }
        assert_eq!(evs[0].name(), "server_error");
        assert_eq!(actions(&mut s), [Action::Reconnect { delay }], "{text}");
        // The server's close after the notice changes nothing.
        s.handle_closed(t0 + ms(2));
        assert!(events(&mut s).is_empty());
        assert!(actions(&mut s).is_empty());
    }
}

#[test]
fn server_close_reconnects_with_backoff() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_closed(t0 + ms(1));
    assert_eq!(names(&mut s), ["disconnected"]);
    assert_eq!(
        actions(&mut s),
        [Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
}

#[test]
fn the_unterminated_last_line_is_decoded_at_eof() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(SPORT.trim_end().as_bytes(), t0 + ms(1));
    assert!(events(&mut s).is_empty());
    s.handle_closed(t0 + ms(2));
    assert_eq!(names(&mut s), ["push", "disconnected"]);
}

#[test]
fn once_finishes_when_the_server_closes_and_stops_on_client_side_failures() {
    let config = ImgSessionConfig {
        once: true,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config.clone());
    initialized(&mut s, t0);
    s.handle_closed(t0 + ms(1));
    assert_eq!(actions(&mut s), [Action::Finished]);

    let (mut s, t0) = with(config.clone());
    initialized(&mut s, t0);
    s.handle_bytes(notice("slow reader").as_bytes(), t0 + ms(1));
    assert_eq!(actions(&mut s), [Action::Finished]);

    let (mut s, t0) = with(config.clone());
    s.handle_connected(t0);
    s.handle_timeout(t0 + ms(10_000));
    assert_eq!(
        actions(&mut s),
        [Action::Stop {
            exit: ExitHint::Failure,
            reason: "no init response within 10000 ms".into()
        }]
    );

    let (mut s, t0) = with(config);
    initialized(&mut s, t0);
    s.handle_transport_error("connection reset", t0 + ms(1));
    assert_eq!(
        actions(&mut s),
        [Action::Stop {
            exit: ExitHint::Failure,
            reason: "transport error: connection reset".into()
        }]
    );
}

#[test]
fn lines_of_an_ended_connection_are_never_sent_on_the_next() {
    let (mut s, t0) = session();
    s.handle_connected(t0);
    // The transport failed before the init could be written.
    s.handle_transport_error("broken pipe", t0);
    assert!(s.poll_transmit().is_none());
    let _ = (events(&mut s), actions(&mut s));
    s.handle_connected(t0 + ms(1));
    assert_eq!(
        sent(&mut s),
        [r#"{"request":"init","msg":{},"request_id":"r2"}"#]
    );
}

#[test]
fn input_without_a_connection_is_ignored() {
    let (mut s, t0) = session();
    s.handle_bytes(SPORT.as_bytes(), t0);
    s.handle_closed(t0);
    s.handle_timeout(t0 + ms(60_000));
    s.handle_transport_error("x", t0);
    assert!(events(&mut s).is_empty());
    assert!(actions(&mut s).is_empty());
    assert_eq!(s.poll_timeout(), None);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

#[test]
fn bad_lines_are_reported_and_the_next_ones_still_arrive() {
    let config = ImgSessionConfig {
        max_line: 256,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    initialized(&mut s, t0);
    let long = format!("{{\"x\":\"{}\"}}\n", "a".repeat(1000));
    let mut input = Vec::new();
    input.extend_from_slice(long.as_bytes());
    input.extend_from_slice(SPORT.as_bytes());
    input.extend_from_slice(b"{\"bad\xff\":1}\n");
    input.extend_from_slice(b"{not json\n");
    input.extend_from_slice(b"[1,2]\n");
    input.extend_from_slice(b"{\"hello\":\"world\"}\n");
    input.extend_from_slice(SPORT.as_bytes());
    s.handle_bytes(&input, t0 + ms(1));
    let evs = events(&mut s);
    let summary: Vec<String> = evs
        .iter()
        .map(|e| match e {
            Event::DecodeError(d) => format!("decode_error:{}", d.kind.as_str()),
            other => other.name().to_owned(),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "decode_error:line_too_long",
            "push",
            "decode_error:invalid_utf8",
            "decode_error:bad_json",
            "decode_error:wrong_shape",
            "unknown",
            "push",
        ]
    );
    match &evs[3] {
        Event::DecodeError(d) => assert_eq!(d.raw, b"{not json"),
        other => panic!("unexpected {other:?}"),
    }
    match &evs[5] {
        Event::Unknown { raw } => assert_eq!(raw, "{\"hello\":\"world\"}"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(s.stats().decode_errors, 4);
    assert_eq!(s.stats().pushes, 2);
    assert!(s.is_connected(), "bad input is never fatal");
}

#[test]
fn decode_error_raw_is_capped() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    let junk = format!("{}\n", "z".repeat(RAW_CAP + 100));
    s.handle_bytes(junk.as_bytes(), t0 + ms(1));
    match &events(&mut s)[..] {
        [Event::DecodeError(d)] => {
            assert_eq!(d.kind, DecodeErrorKind::BadJson);
            assert_eq!(d.raw, &junk.as_bytes()[..RAW_CAP]);
            assert_eq!(d.len, RAW_CAP + 100);
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn lines_split_across_reads_are_reassembled() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    let bytes = SPORT.as_bytes();
    for chunk in bytes.chunks(7) {
        s.handle_bytes(chunk, t0 + ms(1));
    }
    assert_eq!(names(&mut s), ["push"]);
}

#[test]
fn raw_lines_are_what_the_server_sent() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(format!("{}\r\n", SPORT.trim_end()).as_bytes(), t0 + ms(1));
    let evs = events(&mut s);
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].raw_line(), Some(SPORT.trim_end()));
}

// ---------------------------------------------------------------------------------------------
// The reconnect deadline (owned by the session, in virtual time)
// ---------------------------------------------------------------------------------------------

/// Fails `n` connection attempts in a row, each when the session asks; returns the delays.
fn fail_connects(s: &mut ImgSession, mut now: Instant, n: usize) -> (Vec<Duration>, Instant) {
    let mut delays = Vec::new();
    for _ in 0..n {
        s.handle_connect_failed("connection refused", now);
        assert_eq!(
            actions(s),
            [Action::Reconnect {
                delay: ReconnectDelay::Backoff
            }]
        );
        let next = s.scheduled_reconnect().expect("scheduled");
        delays.push(next.delay);
        now = next.at;
        s.handle_timeout(now);
        assert_eq!(actions(s), [Action::OpenConnection]);
    }
    (delays, now)
}

#[test]
fn the_session_asks_for_a_connection_only_when_its_deadline_passes() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_closed(t0 + ms(1_000));
    let _ = events(&mut s);
    assert_eq!(
        actions(&mut s),
        [Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
    let next = s.scheduled_reconnect().expect("scheduled");
    assert_eq!(next.attempt, 1);
    assert!(next.delay <= ms(500));
    assert_eq!(next.at, t0 + ms(1_000) + next.delay);
    assert_eq!(s.poll_timeout(), Some(next.at));
    // A request while waiting is queued; it opens nothing.
    s.send_request(Request::new("subscribe")).expect("room");
    if next.delay > Duration::ZERO {
        s.handle_timeout(next.at - Duration::from_nanos(1));
        assert!(actions(&mut s).is_empty());
    }
    s.handle_timeout(next.at);
    assert_eq!(actions(&mut s), [Action::OpenConnection]);
    assert_eq!(s.poll_timeout(), None);
    s.handle_timeout(next.at + ms(60_000));
    assert!(actions(&mut s).is_empty(), "asked once");
    s.handle_connected(next.at + ms(5));
    assert_eq!(sent(&mut s).len(), 2, "init, then the queued subscribe");
}

#[test]
fn reconnect_delays_grow_under_a_capped_ceiling() {
    let (mut s, t0) = session();
    let mut ceilings = Vec::new();
    let mut now = t0;
    for attempt in 1..=10u32 {
        ceilings.push(s.backoff().ceiling());
        let (delays, then) = fail_connects(&mut s, now, 1);
        now = then;
        assert!(delays[0] <= *ceilings.last().expect("pushed"));
        assert_eq!(s.backoff().attempt(), attempt);
    }
    assert_eq!(
        ceilings,
        [
            500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000
        ]
        .map(ms)
    );
}

#[test]
fn the_same_seed_gives_the_same_delays() {
    let draw = |seed: u64| {
        let config = ImgSessionConfig {
            jitter_seed: seed,
            ..ImgSessionConfig::default()
        };
        let (mut s, t0) = with(config);
        fail_connects(&mut s, t0, 8).0
    };
    assert_eq!(draw(3), draw(3));
    assert_ne!(draw(3), draw(4));
}

#[test]
fn a_connection_up_long_enough_resets_the_backoff() {
    let (mut s, t0) = session();
    let (_, now) = fail_connects(&mut s, t0, 3);
    assert_eq!(s.backoff().attempt(), 3);
    // Up for 5 s: no reset.
    initialized(&mut s, now);
    s.handle_bytes(
        heartbeat("2025-03-20 10:05:18.924114").as_bytes(),
        now + ms(5_000),
    );
    s.handle_transport_error("reset", now + ms(5_001));
    let _ = (events(&mut s), actions(&mut s));
    assert_eq!(s.scheduled_reconnect().expect("scheduled").attempt, 4);
    let now = s.scheduled_reconnect().expect("scheduled").at;
    s.handle_timeout(now);
    assert_eq!(actions(&mut s), [Action::OpenConnection]);
    // Up for 60 s (heartbeats keep it alive): the next delay starts from the first ceiling.
    initialized(&mut s, now);
    for k in 1..=12u64 {
        s.handle_bytes(
            heartbeat("2025-03-20 10:05:18.924114").as_bytes(),
            now + ms(k * 5_000),
        );
        s.handle_timeout(now + ms(k * 5_000));
    }
    s.handle_closed(now + ms(60_000));
    let _ = (events(&mut s), actions(&mut s));
    let next = s.scheduled_reconnect().expect("scheduled");
    assert_eq!(next.attempt, 1);
    assert!(next.delay <= ms(500));
}

#[test]
fn a_rate_limit_notice_waits_at_least_the_floor() {
    let (mut s, t0) = session();
    initialized(&mut s, t0);
    s.handle_bytes(notice("max connections hit").as_bytes(), t0 + ms(1));
    let _ = (events(&mut s), actions(&mut s));
    let next = s.scheduled_reconnect().expect("scheduled");
    assert!(
        next.delay >= ms(10_000) && next.delay <= ms(10_500),
        "{next:?}"
    );
}

#[test]
fn once_stops_when_the_connection_cannot_be_opened() {
    let config = ImgSessionConfig {
        once: true,
        ..ImgSessionConfig::default()
    };
    let (mut s, t0) = with(config);
    s.handle_connect_failed("connection refused", t0);
    assert_eq!(
        actions(&mut s),
        [Action::Stop {
            exit: ExitHint::Failure,
            reason: "could not connect: connection refused".into()
        }]
    );
    assert_eq!(s.poll_timeout(), None);
}
