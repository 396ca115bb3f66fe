//! The WebSocket book's rules, one by one, on messages parsed by the model as the client
//! parses them.

use std::time::{Duration, Instant};

use oddsfeed_book::ws::{NotTradable, OutcomeWhy, WsBook, WsChange};
use oddsfeed_model::ws::{DataMessage, WsMessage, parse_ws_text};
use serde_json::{Value, json};

fn msg(value: &Value) -> DataMessage {
    let text = value.to_string();
    let mut messages = parse_ws_text(&text);
    match messages.pop() {
        Some(Ok(WsMessage::Data(data))) => data,
        other => panic!("not a data message: {other:?}"),
    }
}

fn data(channel: &str, payload: Value) -> DataMessage {
    msg(
        &json!({"channel": channel, "type": "UPDATE", "payload": payload, "ts": 1, "entryId": "1-0"}),
    )
}

fn outcome(bk: &str, market: u64, outcome: u64, price: f64, active: bool) -> Value {
    json!({"bookmaker": bk, "outcomeId": outcome, "playerId": 0, "marketId": market,
           "price": price, "active": active, "marketActive": true, "changedAt": 1})
}

fn odds(fixture: &str, entries: &[(&str, &str, Value)]) -> DataMessage {
    let mut by_bk = serde_json::Map::new();
    for (bk, id, o) in entries {
        by_bk
            .entry(bk.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .map(|m| m.insert(id.to_string(), o.clone()));
    }
    data("odds", json!({"fixtureId": fixture, "odds": by_bk}))
}

#[test]
fn odds_upsert_each_outcome_and_keep_the_others() {
    let mut book = WsBook::new();
    let t = Instant::now();
    let a = outcome("bk1", 101, 101, 2.0, true);
    let b = outcome("bk1", 101, 102, 3.0, true);
    book.apply(
        &odds(
            "f1",
            &[
                ("bk1", "f1:bk1:101:0", a.clone()),
                ("bk1", "f1:bk1:102:0", b.clone()),
            ],
        ),
        t,
    );
    // The second message carries only one outcome, with a field less: its object is replaced
    // as a whole, the other outcome stays.
    let a2 = json!({"bookmaker": "bk1", "outcomeId": 101, "marketId": 101, "price": 2.2, "active": true});
    book.apply(&odds("f1", &[("bk1", "f1:bk1:101:0", a2.clone())]), t);
    let dump = book.dump();
    assert_eq!(dump["fixtures"]["f1"]["odds"]["bk1"]["f1:bk1:101:0"], a2);
    assert_eq!(dump["fixtures"]["f1"]["odds"]["bk1"]["f1:bk1:102:0"], b);
    assert_eq!(
        book.outcome("f1", "bk1", "f1:bk1:101:0")
            .and_then(|o| o.price()),
        Some(2.2)
    );
    assert_eq!(book.outcome_count(), 2);
}

#[test]
fn objects_are_stored_as_the_message_carried_them() {
    let mut book = WsBook::new();
    // A string marketId, an unknown field and nulls survive untouched.
    let o = json!({"bookmaker": "bk", "outcomeId": "7", "marketId": "101", "price": 1.5,
                   "active": true, "limit": null, "extra": {"deep": [1, 2]}});
    book.apply(&odds("f1", &[("bk", "x", o.clone())]), Instant::now());
    assert_eq!(book.dump()["fixtures"]["f1"]["odds"]["bk"]["x"], o);
    assert_eq!(
        book.outcome("f1", "bk", "x")
            .and_then(|v| v.facts)
            .map(|f| f.market_id),
        Some(101)
    );
}

#[test]
fn an_outcome_that_does_not_fit_the_typed_view_is_still_stored() {
    let mut book = WsBook::new();
    let good = outcome("bk", 1, 1, 2.0, true);
    let bad = json!({"bookmaker": "bk", "price": "high"});
    let message = odds(
        "f1",
        &[("bk", "good", good.clone()), ("bk", "bad", bad.clone())],
    );
    assert!(
        message.payload.is_other(),
        "the whole payload falls back to JSON"
    );
    book.apply(&message, Instant::now());
    let dump = book.dump();
    assert_eq!(dump["fixtures"]["f1"]["odds"]["bk"]["good"], good);
    assert_eq!(dump["fixtures"]["f1"]["odds"]["bk"]["bad"], bad);
    assert_eq!(
        book.outcome("f1", "bk", "good").and_then(|o| o.price()),
        Some(2.0)
    );
    assert_eq!(
        book.outcome("f1", "bk", "bad").and_then(|o| o.price()),
        None
    );
}

#[test]
fn fixtures_replace_bookmakers_and_scores_upsert_clocks_replace() {
    let mut book = WsBook::new();
    let t = Instant::now();
    let f1 = json!({"fixtureId": "f1", "status": {"live": false}, "participants": {"a": 1}});
    let f2 = json!({"fixtureId": "f1", "status": {"live": true}});
    book.apply(&data("fixtures", f1), t);
    book.apply(&data("fixtures", f2.clone()), t);
    let pin = json!({"bookmaker": "pin", "staleOdds": false, "suspended": false});
    let stake = json!({"bookmaker": "stake", "staleOdds": true, "suspended": false});
    let stake2 = json!({"bookmaker": "stake", "suspended": true});
    book.apply(
        &data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"pin": pin, "stake": stake}}),
        ),
        t,
    );
    book.apply(
        &data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"stake": stake2}}),
        ),
        t,
    );
    let r1 = json!({"period": "result", "participant1Score": 0, "participant2Score": 0});
    let s1 = json!({"period": "set1", "participant1Score": 1, "participant2Score": 0});
    let r2 = json!({"period": "result", "participant1Score": 1, "participant2Score": 0});
    book.apply(
        &data(
            "scores",
            json!({"fixtureId": "f1", "scores": {"result": r1, "set1": s1}}),
        ),
        t,
    );
    book.apply(
        &data(
            "scores",
            json!({"fixtureId": "f1", "scores": {"result": r2}}),
        ),
        t,
    );
    let c1 = json!({"currentPeriod": "1H", "currentTime": 10, "stopped": false});
    let c2 = json!({"currentPeriod": "2H", "currentTime": 2800});
    book.apply(&data("clocks", json!({"fixtureId": "f1", "clock": c1})), t);
    book.apply(&data("clocks", json!({"fixtureId": "f1", "clock": c2})), t);
    let expected = json!({"feed": "ws", "stale": {}, "fixtures": {"f1": {
        "fixture": f2,
        "odds": {},
        "bookmakers": {"pin": pin, "stake": stake2},
        "scores": {"result": r2, "set1": s1},
        "clock": c2,
    }}});
    assert_eq!(book.dump(), expected);
    assert_eq!(
        book.fixture("f1").and_then(|f| f.status.as_ref()?.live),
        Some(true)
    );
    assert_eq!(
        book.score("f1", "result")
            .and_then(|s| s.participant1_score),
        Some(1)
    );
    assert_eq!(
        book.clock("f1").and_then(|c| c.current_period.as_deref()),
        Some("2H")
    );
    let stake = book
        .bookmaker("f1", "stake")
        .map(|b| (b.stale, b.suspended));
    assert_eq!(stake, Some((false, true)));
}

#[test]
fn other_channels_and_types_are_not_applied() {
    let mut book = WsBook::new();
    let t = Instant::now();
    let o = outcome("bk", 1, 1, 2.0, true);
    let mut delete = json!({"channel": "odds", "type": "DELETE", "ts": 1, "entryId": "1-0",
                            "payload": {"fixtureId": "f1", "odds": {"bk": {"x": o}}}});
    book.apply(&msg(&delete), t);
    delete["type"] = json!(null);
    book.apply(&msg(&delete), t);
    book.apply(&data("futures", json!({"fixtureId": "f2", "odds": {}})), t);
    book.apply(
        &data(
            "bookmakersFutures",
            json!({"futureId": "f3", "bookmakers": {}}),
        ),
        t,
    );
    assert_eq!(
        book.dump(),
        json!({"feed": "ws", "fixtures": {}, "stale": {}})
    );
}

#[test]
fn a_fixture_appears_with_its_first_applied_message() {
    let mut book = WsBook::new();
    book.apply(
        &data("clocks", json!({"fixtureId": "f9", "clock": null})),
        Instant::now(),
    );
    assert_eq!(
        book.dump()["fixtures"]["f9"],
        json!({"fixture": null, "odds": {}, "bookmakers": {}, "scores": {}, "clock": null})
    );
}

#[test]
fn snapshot_required_marks_channels_stale_until_marked_fresh() {
    let mut book = WsBook::new();
    let t = Instant::now();
    book.apply(
        &odds("f1", &[("bk", "x", outcome("bk", 1, 1, 2.0, true))]),
        t,
    );
    assert!(book.best_price("f1", 1, 1, 0).is_some());
    book.snapshot_required("not_replayable", ["odds", "clocks"]);
    book.snapshot_required("server_restarted", ["odds"]);
    assert_eq!(book.stale_reason("odds"), Some("server_restarted"));
    // Entries stay, later messages apply, prices are not offered.
    let y = outcome("bk", 1, 1, 3.0, true);
    book.apply(&odds("f1", &[("bk", "x", y.clone())]), t);
    let dump = book.dump();
    assert_eq!(
        dump["stale"],
        json!({"odds": "server_restarted", "clocks": "not_replayable"})
    );
    assert_eq!(dump["fixtures"]["f1"]["odds"]["bk"]["x"], y);
    assert_eq!(book.best_price("f1", 1, 1, 0), None);
    assert_eq!(
        book.tradable("f1", 1),
        Err(NotTradable::ChannelStale {
            channel: "odds".into(),
            reason: "server_restarted".into()
        })
    );
    assert!(book.mark_fresh("odds"));
    assert!(!book.mark_fresh("odds"));
    assert_eq!(book.best_price("f1", 1, 1, 0).map(|b| b.price), Some(3.0));
    assert_eq!(book.dump()["stale"], json!({"clocks": "not_replayable"}));
}

#[test]
fn best_price_skips_inactive_outcomes_and_unusable_bookmakers() {
    let mut book = WsBook::new();
    let t = Instant::now();
    let mut inactive_market = outcome("d", 1, 1, 9.0, true);
    inactive_market["marketActive"] = json!(false);
    book.apply(
        &odds(
            "f1",
            &[
                ("a", "a1", outcome("a", 1, 1, 2.0, true)),
                ("b", "b1", outcome("b", 1, 1, 2.5, true)),
                ("c", "c1", outcome("c", 1, 1, 8.0, false)),
                ("d", "d1", inactive_market),
                ("e", "e1", outcome("e", 1, 2, 7.0, true)),
            ],
        ),
        t,
    );
    assert_eq!(
        book.best_price("f1", 1, 1, 0)
            .map(|b| (b.bookmaker, b.price)),
        Some(("b", 2.5))
    );
    book.apply(
        &data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"b": {"staleOdds": true}}}),
        ),
        t,
    );
    assert_eq!(
        book.best_price("f1", 1, 1, 0).map(|b| b.bookmaker),
        Some("a")
    );
    book.apply(
        &data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"a": {"suspended": true}}}),
        ),
        t,
    );
    assert_eq!(book.best_price("f1", 1, 1, 0), None);
    assert_eq!(book.tradable("f1", 1), Ok(()), "e still offers outcome 2");
    book.snapshot_required("client_backpressure", ["bookmakers"]);
    assert!(matches!(
        book.tradable("f1", 1),
        Err(NotTradable::ChannelStale { .. })
    ));
    assert_eq!(
        book.best_price("f1", 1, 2, 0),
        None,
        "stale bookmakers channel"
    );
    book.mark_fresh("bookmakers");
    assert_eq!(book.best_price("f1", 1, 2, 0).map(|b| b.price), Some(7.0));
    book.apply(
        &data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"e": {"suspended": true}}}),
        ),
        t,
    );
    assert_eq!(book.tradable("f1", 1), Err(NotTradable::NoUsableBookmaker));
}

#[test]
fn tradable_names_the_reason() {
    let mut book = WsBook::new();
    let t = Instant::now();
    assert_eq!(book.tradable("f1", 1), Err(NotTradable::UnknownFixture));
    let mut off = outcome("a", 1, 1, 2.0, true);
    off["marketActive"] = json!(false);
    book.apply(&odds("f1", &[("a", "a1", off)]), t);
    assert_eq!(book.tradable("f1", 2), Err(NotTradable::UnknownMarket));
    assert_eq!(book.tradable("f1", 1), Err(NotTradable::MarketInactive));
    book.apply(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.0, false))]),
        t,
    );
    assert_eq!(book.tradable("f1", 1), Err(NotTradable::NoActiveOutcome));
    book.apply(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.0, true))]),
        t,
    );
    assert_eq!(book.tradable("f1", 1), Ok(()));
    assert!(!NotTradable::NoActiveOutcome.to_string().is_empty());
}

#[test]
fn market_lists_every_outcome_and_age_uses_the_time_given() {
    let mut book = WsBook::new();
    let t = Instant::now();
    book.apply(
        &odds(
            "f1",
            &[
                ("a", "a1", outcome("a", 1, 1, 2.0, true)),
                ("a", "a2", outcome("a", 1, 2, 3.0, true)),
                ("b", "b1", outcome("b", 1, 1, 2.1, true)),
                ("b", "b9", outcome("b", 9, 1, 2.1, true)),
            ],
        ),
        t,
    );
    let later = t + Duration::from_secs(3);
    book.apply(
        &odds("f1", &[("b", "b1", outcome("b", 1, 1, 2.2, true))]),
        later,
    );
    let mut ids: Vec<&str> = book.market("f1", 1).map(|o| o.odds_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["a1", "a2", "b1"]);
    let now = t + Duration::from_secs(5);
    let age = |id: &str| {
        book.outcome("f1", id.get(..1).unwrap_or(""), id)
            .map(|o| o.age(now))
    };
    assert_eq!(age("a1"), Some(Duration::from_secs(5)));
    assert_eq!(age("b1"), Some(Duration::from_secs(2)));
    // A marketId that changes moves the outcome between markets.
    book.apply(
        &odds("f1", &[("b", "b9", outcome("b", 1, 3, 4.0, true))]),
        later,
    );
    assert_eq!(book.market("f1", 9).count(), 0);
    assert_eq!(book.market("f1", 1).count(), 4);
}

#[test]
fn changes_say_what_moved_and_why() {
    let mut book = WsBook::new();
    let t = Instant::now();
    let mut changes = Vec::new();
    book.apply_with_changes(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.0, true))]),
        t,
        &mut changes,
    );
    book.apply_with_changes(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.0, true))]),
        t,
        &mut changes,
    );
    book.apply_with_changes(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.4, true))]),
        t,
        &mut changes,
    );
    book.apply_with_changes(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.4, false))]),
        t,
        &mut changes,
    );
    book.apply_with_changes(
        &odds("f1", &[("a", "a1", outcome("a", 1, 1, 2.5, true))]),
        t,
        &mut changes,
    );
    let seen: Vec<(Option<f64>, Option<f64>, OutcomeWhy, bool)> = changes
        .iter()
        .filter_map(|c| match c {
            WsChange::Outcome(o) => Some((o.old_price, o.new_price, o.why, o.live)),
            _ => None,
        })
        .collect();
    assert_eq!(
        seen,
        [
            (None, Some(2.0), OutcomeWhy::New, true),
            (Some(2.0), Some(2.4), OutcomeWhy::Price, true),
            (Some(2.4), Some(2.4), OutcomeWhy::Active, false),
            (Some(2.4), Some(2.5), OutcomeWhy::PriceAndActive, true),
        ]
    );
    changes.clear();
    let bm = |s: bool| {
        data(
            "bookmakers",
            json!({"fixtureId": "f1", "bookmakers": {"a": {"suspended": s}}}),
        )
    };
    book.apply_with_changes(&bm(false), t, &mut changes);
    book.apply_with_changes(&bm(false), t, &mut changes);
    book.apply_with_changes(&bm(true), t, &mut changes);
    assert_eq!(changes.len(), 2);
    assert!(matches!(
        &changes[1],
        WsChange::Bookmaker {
            suspended: true,
            ..
        }
    ));
}
