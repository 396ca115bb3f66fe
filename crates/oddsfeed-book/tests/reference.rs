//! Property: applying any sequence of messages and health events gives the same dump as a
//! plain map-of-maps reference built from the same messages' JSON, written here apart from
//! the book's code.

use std::collections::BTreeMap;
use std::time::Instant;

use oddsfeed_book::img::ImgBook;
use oddsfeed_book::ws::WsBook;
use oddsfeed_model::img::{ImgMessage, parse_img_line};
use oddsfeed_model::ws::{WsMessage, parse_ws_text};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const CHANNELS: [&str; 7] = [
    "odds",
    "fixtures",
    "bookmakers",
    "scores",
    "clocks",
    "futures",
    "bookmakersFutures",
];

#[derive(Debug, Clone)]
enum WsOp {
    Message {
        channel: usize,
        update: bool,
        fixture: u8,
        entries: Vec<(u8, u8, u8)>,
    },
    Snapshot {
        reason: u8,
        channels: Vec<usize>,
    },
    Fresh {
        channel: usize,
    },
}

fn ws_op() -> impl Strategy<Value = WsOp> {
    prop_oneof![
        8 => (0..CHANNELS.len(), prop::bool::weighted(0.9), 0u8..3, prop::collection::vec((0u8..3, 0u8..4, 0u8..6), 0..5))
            .prop_map(|(channel, update, fixture, entries)| WsOp::Message { channel, update, fixture, entries }),
        1 => (0u8..3, prop::collection::vec(0..CHANNELS.len(), 1..3))
            .prop_map(|(reason, channels)| WsOp::Snapshot { reason, channels }),
        1 => (0..CHANNELS.len()).prop_map(|channel| WsOp::Fresh { channel }),
    ]
}

/// The message text an op stands for. Value 5 makes an object that does not fit the typed
/// view (the book must store it all the same).
fn ws_text(channel: usize, update: bool, fixture: u8, entries: &[(u8, u8, u8)]) -> String {
    let fixture_id = format!("f{fixture}");
    let mut nested = Map::new();
    for &(a, b, v) in entries {
        let bk = format!("bk{a}");
        let (key, object) = match CHANNELS[channel] {
            "odds" => {
                let id = format!("{fixture_id}:{bk}:{b}:0");
                let object = if v == 5 {
                    json!({"bookmaker": bk, "price": "bad"})
                } else {
                    json!({"bookmaker": bk, "outcomeId": b, "playerId": 0, "marketId": 1,
                           "price": 1.5 + f64::from(v), "active": v.is_multiple_of(2), "v": v})
                };
                let by_id = nested.entry(bk).or_insert_with(|| json!({}));
                if let Some(by_id) = by_id.as_object_mut() {
                    by_id.insert(id, object);
                }
                continue;
            }
            "scores" => (
                format!("p{b}"),
                json!({"period": format!("p{b}"), "participant1Score": v}),
            ),
            _ => (
                bk.clone(),
                json!({"bookmaker": bk, "staleOdds": v.is_multiple_of(2), "suspended": v == 3, "v": b}),
            ),
        };
        nested.insert(key, object);
    }
    let v = entries.first().map_or(0, |e| e.2);
    let payload = match CHANNELS[channel] {
        "odds" => json!({"fixtureId": fixture_id, "odds": nested}),
        "fixtures" => {
            json!({"fixtureId": fixture_id, "status": {"live": v.is_multiple_of(2)}, "v": v})
        }
        "scores" => json!({"fixtureId": fixture_id, "scores": nested}),
        "clocks" if v == 5 => json!({"fixtureId": fixture_id}),
        "clocks" => json!({"fixtureId": fixture_id, "clock": {"currentTime": v, "stopped": false}}),
        "bookmakersFutures" => json!({"futureId": fixture_id, "bookmakers": nested}),
        _ => json!({"fixtureId": fixture_id, "bookmakers": nested}),
    };
    let kind = if update { "UPDATE" } else { "SNAPSHOT" };
    json!({"channel": CHANNELS[channel], "type": kind, "payload": payload, "ts": 1, "entryId": "1-0"})
        .to_string()
}

/// The reference: a map of maps, from each line's JSON.
#[derive(Default)]
struct WsReference {
    fixtures: BTreeMap<String, Value>,
    stale: BTreeMap<String, String>,
}

impl WsReference {
    fn message(&mut self, text: &str) {
        let Ok(m) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if m["type"] != "UPDATE" {
            return;
        }
        let channel = m["channel"].as_str().unwrap_or("");
        if !["odds", "fixtures", "bookmakers", "scores", "clocks"].contains(&channel) {
            return;
        }
        let payload = &m["payload"];
        let Some(id) = payload["fixtureId"].as_str() else {
            return;
        };
        let f = self.fixtures.entry(id.to_owned()).or_insert_with(
            || json!({"fixture": null, "odds": {}, "bookmakers": {}, "scores": {}, "clock": null}),
        );
        match channel {
            "odds" => {
                for (bk, by_id) in payload["odds"].as_object().into_iter().flatten() {
                    for (odds_id, o) in by_id.as_object().into_iter().flatten() {
                        if f["odds"][bk].is_null() {
                            f["odds"][bk] = json!({});
                        }
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

    fn dump(&self) -> Value {
        json!({"feed": "ws", "fixtures": self.fixtures, "stale": self.stale})
    }
}

const REASONS: [&str; 3] = ["not_replayable", "server_restarted", "client_backpressure"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ws_book_equals_the_reference(ops in prop::collection::vec(ws_op(), 0..40)) {
        let mut book = WsBook::new();
        let mut reference = WsReference::default();
        let now = Instant::now();
        for op in &ops {
            match op {
                WsOp::Message { channel, update, fixture, entries } => {
                    let text = ws_text(*channel, *update, *fixture, entries);
                    for message in parse_ws_text(&text) {
                        if let Ok(WsMessage::Data(data)) = message {
                            book.apply(&data, now);
                        }
                    }
                    reference.message(&text);
                }
                WsOp::Snapshot { reason, channels } => {
                    let names: Vec<&str> = channels.iter().map(|&c| CHANNELS[c]).collect();
                    let reason = REASONS[usize::from(*reason)];
                    book.snapshot_required(reason, &names);
                    for name in names {
                        reference.stale.insert(name.to_owned(), reason.to_owned());
                    }
                }
                WsOp::Fresh { channel } => {
                    book.mark_fresh(CHANNELS[*channel]);
                    reference.stale.remove(CHANNELS[*channel]);
                }
            }
        }
        prop_assert_eq!(book.dump(), reference.dump());
    }

    #[test]
    fn img_book_equals_the_reference(ops in prop::collection::vec(img_op(), 0..40)) {
        let mut book = ImgBook::new();
        let mut reference = ImgReference::default();
        let now = Instant::now();
        for op in &ops {
            match op {
                ImgOp::Line(line) => {
                    if let Ok(ImgMessage::Push(push)) = parse_img_line(line) {
                        book.apply(&push, now);
                    }
                    reference.line(line);
                }
                ImgOp::Init { reconnect } => {
                    book.session_initialized(Some("s"), *reconnect);
                    if *reconnect || reference.initialized {
                        reference.markets.clear();
                    }
                    reference.initialized = true;
                    reference.session_id = json!("s");
                }
                ImgOp::Stale(stale) => {
                    if *stale { book.heartbeat_stale() } else { book.heartbeat_ok() }
                    reference.stale = *stale;
                }
            }
        }
        prop_assert_eq!(book.dump(), reference.dump());
    }
}

#[derive(Debug, Clone)]
enum ImgOp {
    Line(String),
    Init { reconnect: bool },
    Stale(bool),
}

fn img_op() -> impl Strategy<Value = ImgOp> {
    let market = || (0u8..4).prop_map(|m| format!("m{m}"));
    let update = (
        market(),
        prop::option::of(0usize..3),
        prop::collection::vec((0u8..4, prop::option::of(0u8..5)), 0..4),
    )
        .prop_map(|(id, status, selections)| {
            let selections: Vec<Value> = selections
                .into_iter()
                .map(
                    |(s, p)| json!({"id": format!("s{s}"), "price": p.map(|p| 1.5 + f64::from(p))}),
                )
                .collect();
            let mut msg = json!({"id": id, "selections": selections});
            if let Some(s) = status {
                msg["status"] = json!(["open", "suspended", "closed"][s]);
            }
            json!({"mode": "push", "type": "market_update", "msg": msg}).to_string()
        });
    let remove = prop::collection::vec(market(), 0..3)
        .prop_map(|ids| json!({"mode": "push", "type": "remove_markets", "msg": ids}).to_string());
    let settle = (market(), 0u8..4, 0u8..3).prop_map(|(m, s, v)| {
        json!({"mode": "push", "type": "settlement", "msg": {"market_id": m, "selection_id": format!("s{s}"),
               "settlement": {"stake_returned": 0.0, "payout_returned": f64::from(v)}}})
        .to_string()
    });
    let other = market().prop_map(|m| {
        json!({"mode": "push", "type": "market", "msg": {"id": m, "selections": []}}).to_string()
    });
    prop_oneof![
        6 => update.prop_map(ImgOp::Line),
        1 => remove.prop_map(ImgOp::Line),
        2 => settle.prop_map(ImgOp::Line),
        1 => other.prop_map(ImgOp::Line),
        1 => any::<bool>().prop_map(|reconnect| ImgOp::Init { reconnect }),
        1 => any::<bool>().prop_map(ImgOp::Stale),
    ]
}

#[derive(Default)]
struct ImgReference {
    session_id: Value,
    initialized: bool,
    stale: bool,
    markets: BTreeMap<String, Value>,
}

impl ImgReference {
    fn line(&mut self, line: &str) {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            return;
        };
        let msg = &v["msg"];
        match v["type"].as_str() {
            Some("market_update") => {
                let Some(id) = msg["id"].as_str() else { return };
                let m = self.markets.entry(id.to_owned()).or_insert_with(
                    || json!({"status": null, "selections": {}, "settlements": {}}),
                );
                if let Some(status) = msg.get("status") {
                    m["status"] = status.clone();
                }
                for s in msg["selections"].as_array().into_iter().flatten() {
                    let mut object = s.clone();
                    let Some(sid) = object.as_object_mut().and_then(|o| o.remove("id")) else {
                        continue;
                    };
                    m["selections"][sid.as_str().unwrap_or_default()] = object;
                }
            }
            Some("remove_markets") => {
                for id in msg.as_array().into_iter().flatten() {
                    self.markets.remove(id.as_str().unwrap_or_default());
                }
            }
            Some("settlement") => {
                let (Some(m), Some(s)) = (msg["market_id"].as_str(), msg["selection_id"].as_str())
                else {
                    return;
                };
                if let Some(market) = self.markets.get_mut(m) {
                    market["settlements"][s] = msg["settlement"].clone();
                }
            }
            _ => {}
        }
    }

    fn dump(&self) -> Value {
        json!({"feed": "img", "session_id": self.session_id, "stale": self.stale, "markets": self.markets})
    }
}
