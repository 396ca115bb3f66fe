//! The IMG book's rules, one by one, on pushes parsed by the model.

use std::time::{Duration, Instant};

use oddsfeed_book::img::{ImgBook, ImgChange, ImgNotTradable, SelectionWhy};
use oddsfeed_model::img::{ImgMessage, MarketStatus, Push, parse_img_line};
use serde_json::{Value, json};

fn push(kind: &str, msg: Value) -> Push {
    let line = json!({"mode": "push", "type": kind, "publish_time": "2026-12-06T10:00:00.000Z", "msg": msg});
    match parse_img_line(&line.to_string()) {
        Ok(ImgMessage::Push(p)) => p,
        other => panic!("not a push: {other:?}"),
    }
}

fn update(id: &str, status: &str, selections: Value) -> Push {
    push(
        "market_update",
        json!({"id": id, "status": status, "selections": selections}),
    )
}

fn live_book() -> ImgBook {
    let mut book = ImgBook::new();
    book.session_initialized(Some("s1"), false);
    book
}

#[test]
fn market_update_creates_sets_status_and_upserts_selections() {
    let mut book = live_book();
    let t = Instant::now();
    book.apply(
        &update(
            "m1",
            "open",
            json!([{"id": "a", "price": 2.5}, {"id": "b", "price": 3.0, "name": "B"}]),
        ),
        t,
    );
    book.apply(
        &update("m1", "suspended", json!([{"id": "b", "price": null}])),
        t,
    );
    assert_eq!(
        book.dump(),
        json!({"feed": "img", "session_id": "s1", "stale": false, "markets": {"m1": {
            "status": "suspended",
            "selections": {"a": {"price": 2.5}, "b": {"price": null}},
            "settlements": {},
        }}})
    );
    assert_eq!(book.status("m1"), Some(&MarketStatus::Suspended));
    assert_eq!(book.selection("m1", "a").and_then(|s| s.price), Some(2.5));
    assert_eq!(book.selection("m1", "b").and_then(|s| s.price), None);
    assert_eq!(
        book.tradable("m1"),
        Err(ImgNotTradable::Status(Some(MarketStatus::Suspended)))
    );
}

#[test]
fn only_market_update_creates_a_market() {
    let mut book = live_book();
    let t = Instant::now();
    book.apply(
        &push(
            "market",
            json!({"id": "m1", "name": "Winner", "selections": [{"id": "a"}]}),
        ),
        t,
    );
    book.apply(
        &push(
            "settlement",
            json!({"market_id": "m1", "selection_id": "a", "settlement": {"stake_returned": 0.0}}),
        ),
        t,
    );
    book.apply(&push("event", json!({"id": "e1"})), t);
    book.apply(
        &push(
            "heartbeat",
            json!({"timestamp": "2026-12-06T10:00:00.000Z"}),
        ),
        t,
    );
    assert_eq!(book.dump()["markets"], json!({}));
    assert_eq!(book.tradable("m1"), Err(ImgNotTradable::UnknownMarket));
}

#[test]
fn settlements_and_removal() {
    let mut book = live_book();
    let t = Instant::now();
    book.apply(&update("m1", "open", json!([{"id": "a", "price": 2.5}])), t);
    book.apply(&update("m2", "open", json!([{"id": "x", "price": 1.5}])), t);
    let amounts = json!({"stake_returned": 0.0, "payout_returned": 0.5});
    book.apply(
        &push(
            "settlement",
            json!({"market_id": "m1", "selection_id": "a", "settlement": amounts}),
        ),
        t,
    );
    assert_eq!(
        book.dump()["markets"]["m1"]["settlements"],
        json!({"a": amounts})
    );
    assert_eq!(book.settlement("m1", "a"), Some(&amounts));
    book.apply(&push("remove_markets", json!(["m1", "nope"])), t);
    assert_eq!(book.market_count(), 1);
    assert_eq!(book.dump()["markets"]["m1"], Value::Null);
}

#[test]
fn stale_heartbeats_suspend_everything_without_rewriting_statuses() {
    let mut book = live_book();
    let t = Instant::now();
    book.apply(&update("m1", "open", json!([{"id": "a", "price": 2.5}])), t);
    assert_eq!(book.tradable("m1"), Ok(()));
    book.heartbeat_stale();
    assert!(book.is_stale());
    assert_eq!(book.tradable("m1"), Err(ImgNotTradable::HeartbeatStale));
    let dump = book.dump();
    assert_eq!(
        (
            dump["stale"].clone(),
            dump["markets"]["m1"]["status"].clone()
        ),
        (json!(true), json!("open"))
    );
    book.heartbeat_ok();
    assert_eq!(book.tradable("m1"), Ok(()));
    book.disconnected();
    assert_eq!(book.tradable("m1"), Err(ImgNotTradable::NotConnected));
}

#[test]
fn a_reinitialised_session_empties_the_markets() {
    let mut book = live_book();
    let t = Instant::now();
    book.apply(&update("m1", "open", json!([{"id": "a", "price": 2.5}])), t);
    book.session_initialized(Some("s2"), true);
    assert_eq!(
        book.dump(),
        json!({"feed": "img", "session_id": "s2", "stale": false, "markets": {}})
    );
    book.apply(&update("m1", "open", json!([])), t);
    assert_eq!(book.tradable("m1"), Err(ImgNotTradable::NoPrice));
}

#[test]
fn changes_and_ages() {
    let mut book = live_book();
    let t = Instant::now();
    let mut changes = Vec::new();
    book.apply_with_changes(
        &update("m1", "open", json!([{"id": "a", "price": 2.5}])),
        t,
        &mut changes,
    );
    book.apply_with_changes(
        &update("m1", "open", json!([{"id": "a", "price": 2.5}])),
        t,
        &mut changes,
    );
    let later = t + Duration::from_millis(1500);
    book.apply_with_changes(
        &update("m1", "closed", json!([{"id": "a", "price": 3.0}])),
        later,
        &mut changes,
    );
    book.apply_with_changes(&push("remove_markets", json!(["m1"])), later, &mut changes);
    assert_eq!(
        changes,
        [
            ImgChange::MarketStatus {
                market_id: "m1".into(),
                old: None,
                new: Some(MarketStatus::Open)
            },
            ImgChange::Selection {
                market_id: "m1".into(),
                selection_id: "a".into(),
                old_price: None,
                new_price: Some(2.5),
                why: SelectionWhy::New
            },
            ImgChange::MarketStatus {
                market_id: "m1".into(),
                old: Some(MarketStatus::Open),
                new: Some(MarketStatus::Closed)
            },
            ImgChange::Selection {
                market_id: "m1".into(),
                selection_id: "a".into(),
                old_price: Some(2.5),
                new_price: Some(3.0),
                why: SelectionWhy::Price
            },
            ImgChange::MarketRemoved {
                market_id: "m1".into()
            },
        ]
    );
    book.apply(
        &update(
            "m2",
            "open",
            json!([{"id": "a", "price": 2.5}, {"id": 7, "price": 4}]),
        ),
        t,
    );
    let ages: Vec<(String, Duration)> = book
        .market("m2")
        .map(|s| (s.id.to_owned(), s.age(later)))
        .collect();
    assert_eq!(
        ages,
        [
            ("a".to_owned(), Duration::from_millis(1500)),
            ("7".to_owned(), Duration::from_millis(1500))
        ]
    );
}
