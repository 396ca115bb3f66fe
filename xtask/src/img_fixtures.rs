//! One fixture per IMG newline-JSON message type (docs/PROTOCOL.md A.3–A.7).

use serde_json::{Value, json};

const SESSION: &str = "66193235-937c-4591-a301-33d7251ce8b6";
const PUBLISHED: &str = "2025-03-14 08:50:11.331473";

fn push(kind: &str, msg: Value) -> Value {
    json!({
        "mode": "push",
        "type": kind,
        "publish_time": PUBLISHED,
        "is_recovery": false,
        "msg": msg
    })
}

/// The messages as `(file stem, compact JSON)`.
pub(crate) fn messages() -> Vec<(&'static str, String)> {
    let selections = json!([
        {"id": "1544", "name": "Rory McIlroy"},
        {"id": "1545", "name": "Scottie Scheffler"},
        {"id": "1546", "name": "Xander Schauffele"}
    ]);
    let market = "golf.ev1001.3ball.h1.g7";
    let list: Vec<(&'static str, Value)> = vec![
        (
            "request_init",
            json!({"request": "init", "msg": {"include_finished": true}, "request_id": "r1"}),
        ),
        (
            "request_subscribe",
            json!({
                "request": "subscribe",
                "msg": {
                    "event_ids": ["ev.golf_1001"],
                    "market_type_ids": ["mt.golf_threeball_hole"]
                },
                "request_id": "r2"
            }),
        ),
        (
            "resp_session_initialized",
            json!({
                "mode": "resp",
                "status": "session initialized",
                "session_id": SESSION,
                "publish_time": PUBLISHED,
                "reason": null,
                "request_id": "r1"
            }),
        ),
        (
            "resp_ok",
            json!({
                "mode": "resp",
                "status": "ok",
                "publish_time": PUBLISHED,
                "reason": null,
                "request_id": "r2"
            }),
        ),
        (
            "resp_error",
            json!({
                "mode": "resp",
                "status": "error",
                "msg": "API limit breached",
                "publish_time": PUBLISHED,
                "reason": null,
                "request_id": "r7"
            }),
        ),
        (
            "push_sport",
            push("sport", json!({"id": "sp.golf", "name": "Golf"})),
        ),
        (
            "push_competition",
            push(
                "competition",
                json!({
                    "id": "comp.golf_1",
                    "name": "PGA Tour",
                    "sport_id": "sp.golf",
                    "arena_id": "1",
                    "start_time": null
                }),
            ),
        ),
        (
            "push_event",
            push(
                "event",
                json!({
                    "id": "ev.golf_1001",
                    "name": "The Players Championship - Round 1",
                    "competition_id": "comp.golf_1",
                    "start_time": "2025-03-14 11:40:00.000000",
                    "stage": "pre_play",
                    "meta": {"round": 1, "course": "TPC Sawgrass"}
                }),
            ),
        ),
        (
            "push_market_type",
            push(
                "market_type",
                json!({"id": "mt.golf_threeball_hole", "name": "3-Ball Hole"}),
            ),
        ),
        (
            "push_market",
            push(
                "market",
                json!({
                    "id": market,
                    "name": "3-Ball Hole 1 Group 7",
                    "event_id": "ev.golf_1001",
                    "market_type_id": "mt.golf_threeball_hole",
                    "selections": selections
                }),
            ),
        ),
        (
            "push_market_update",
            push(
                "market_update",
                json!({
                    "id": market,
                    "status": "open",
                    "selections": [
                        {"id": "1544", "price": 2.5},
                        {"id": "1545", "price": 2.25},
                        {"id": "1546", "price": 4.0}
                    ]
                }),
            ),
        ),
        (
            "push_remove_markets",
            push("remove_markets", json!([market, "golf.ev1001.3ball.h1.g8"])),
        ),
        (
            "push_heartbeat",
            push(
                "heartbeat",
                json!({"timestamp": "2025-03-20 10:05:18.924114"}),
            ),
        ),
        (
            "push_settlement",
            push(
                "settlement",
                json!({
                    "market_id": market,
                    "selection_id": "1544",
                    "settlement": {"stake_returned": 0.0, "payout_returned": 0.5}
                }),
            ),
        ),
        (
            "disconnect_slow_reader",
            json!({
                "mode": "push",
                "status": "error",
                "session_id": SESSION,
                "reason": "slow reader"
            }),
        ),
        (
            "unknown",
            json!({
                "mode": "notice",
                "message": "scheduled maintenance 2025-03-20 02:00 UTC"
            }),
        ),
    ];
    list.into_iter().map(|(n, v)| (n, v.to_string())).collect()
}
