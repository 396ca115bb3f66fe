//! Tests of IMG line classification and typed pushes.

use super::*;
use chrono::NaiveDate;
use serde_json::json;

fn parse(line: &str) -> ImgMessage {
    match parse_img_line(line) {
        Ok(m) => m,
        Err(e) => panic!("{line}: {e}"),
    }
}

fn push(line: &str) -> Push {
    match parse(line) {
        ImgMessage::Push(p) => p,
        other => panic!("expected a push from {line}, got {other:?}"),
    }
}

#[test]
fn classification_table() {
    let cases: &[(&str, &str)] = &[
        (r#"{"mode":"resp","status":"ok"}"#, "response"),
        (r#"{"mode":"resp"}"#, "response"),
        (
            r#"{"mode":"resp","type":"sport","status":"error"}"#,
            "response",
        ),
        (
            r#"{"mode":"push","status":"error","session_id":"s","reason":"slow reader"}"#,
            "disconnect",
        ),
        (
            r#"{"mode":"push","status":"error","type":null,"reason":"x"}"#,
            "disconnect",
        ),
        (r#"{"mode":"push","type":"heartbeat","msg":{}}"#, "push"),
        (
            r#"{"mode":"push","type":"sport","status":"error","msg":{"id":"sp.golf"}}"#,
            "push",
        ),
        (r#"{"mode":"push","type":"brand_new","msg":{}}"#, "push"),
        (r#"{"mode":"push"}"#, "unknown"),
        (r#"{"mode":"push","status":"ok"}"#, "unknown"),
        (r#"{"mode":"push","type":5,"msg":{}}"#, "unknown"),
        (r#"{"mode":"push","type":5,"status":"error"}"#, "unknown"),
        (r#"{"mode":"stream","type":"sport"}"#, "unknown"),
        (r#"{"status":"error"}"#, "unknown"),
        ("{}", "unknown"),
    ];
    for (line, want) in cases {
        let got = match parse(line) {
            ImgMessage::Response(_) => "response",
            ImgMessage::Push(_) => "push",
            ImgMessage::Disconnect(_) => "disconnect",
            ImgMessage::Unknown { .. } => "unknown",
        };
        assert_eq!(got, *want, "{line}");
        assert_eq!(parse(line).raw(), *line);
    }
}

#[test]
fn bad_lines() {
    assert_eq!(
        parse_img_line("[1,2]"),
        Err(ModelError::WrongShape {
            what: "expected a JSON object, found an array".into(),
            raw: b"[1,2]".to_vec()
        })
    );
    assert_eq!(
        parse_img_line("\"x\"").map_err(|e| e.reason()),
        Err("wrong_shape")
    );
    for bad in ["{", "not json", "", r#"{"mode":"resp"} {"mode":"resp"}"#] {
        match parse_img_line(bad) {
            Err(ModelError::BadJson { raw, .. }) => assert_eq!(raw, bad.as_bytes()),
            other => panic!("{bad:?}: {other:?}"),
        }
    }
    assert_eq!(
        parse_img_bytes(b"{\"mode\":\"resp\xff\"}"),
        Err(ModelError::InvalidUtf8 {
            raw: b"{\"mode\":\"resp\xff\"}".to_vec()
        })
    );
    assert!(matches!(
        parse_img_bytes(br#"{"mode":"resp"}"#),
        Ok(ImgMessage::Response(_))
    ));
}

#[test]
fn raw_is_the_line_without_surrounding_whitespace() {
    let line = r#"{"mode":"resp", "status":"ok", "extra":{"kept":true}}"#;
    let padded = format!("  {line}\r");
    assert_eq!(parse(&padded).raw(), line);
}

#[test]
fn init_response() {
    let line = r#"{"mode":"resp","status":"session initialized","session_id":"66193235-937c-4591-a301-33d7251ce8b6","publish_time":"2025-03-14 08:50:11.331473","reason":null}"#;
    let ImgMessage::Response(r) = parse(line) else {
        panic!()
    };
    let at = NaiveDate::from_ymd_opt(2025, 3, 14)
        .and_then(|d| d.and_hms_micro_opt(8, 50, 11, 331_473))
        .unwrap();
    assert_eq!(
        r,
        Response {
            status: ResponseStatus::SessionInitialized,
            session_id: Some("66193235-937c-4591-a301-33d7251ce8b6".into()),
            publish_time: Some(ImgTime::Parsed(at)),
            reason: None,
            msg: None,
            request_id: None,
            raw: line.into(),
        }
    );
}

#[test]
fn error_and_ok_responses() {
    let ImgMessage::Response(r) =
        parse(r#"{"mode":"resp","status":"error","msg":"API limit breached","request_id":"r7"}"#)
    else {
        panic!()
    };
    assert_eq!(r.status, ResponseStatus::Error);
    assert_eq!(r.error_text(), Some("API limit breached"));
    assert_eq!(r.request_id.as_deref(), Some("r7"));
    let ImgMessage::Response(r) = parse(
        r#"{"mode":"resp","status":"ok","request_id":12,"publish_time":"soon","reason":"fine"}"#,
    ) else {
        panic!()
    };
    assert_eq!(r.status, ResponseStatus::Ok);
    assert_eq!(r.request_id.as_deref(), Some("12"));
    assert_eq!(r.publish_time, Some(ImgTime::Raw("soon".into())));
    assert_eq!(r.error_text(), Some("fine"));
    let ImgMessage::Response(r) = parse(r#"{"mode":"resp","status":7}"#) else {
        panic!()
    };
    assert_eq!(r.status, ResponseStatus::Other(String::new()));
}

#[test]
fn disconnect_notice() {
    let line = r#"{"mode":"push","status":"error","session_id":"66193235-937c-4591-a301-33d7251ce8b6","reason":"slow reader"}"#;
    assert_eq!(
        parse(line),
        ImgMessage::Disconnect(DisconnectNotice {
            session_id: Some("66193235-937c-4591-a301-33d7251ce8b6".into()),
            reason: DisconnectReason::SlowReader,
            raw: line.into(),
        })
    );
    let ImgMessage::Disconnect(d) =
        parse(r#"{"mode":"push","status":"error","reason":"gremlins"}"#)
    else {
        panic!()
    };
    assert_eq!(d.reason, DisconnectReason::Other("gremlins".into()));
    assert_eq!(d.session_id, None);
    let ImgMessage::Disconnect(d) = parse(r#"{"mode":"push","status":"error"}"#) else {
        panic!()
    };
    assert_eq!(d.reason, DisconnectReason::Other(String::new()));
}

#[test]
fn competition_push() {
    let line = r#"{"mode":"push","type":"competition","publish_time":"2025-03-14 08:50:11.331473","is_recovery":false,"msg":{"id":"comp.golf_1","name":"PGA Tour","sport_id":"sp.golf","arena_id":"1"}}"#;
    let p = push(line);
    assert_eq!(p.kind, PushKind::Competition);
    assert_eq!(p.is_recovery, Some(false));
    assert_eq!(
        p.publish_time
            .as_ref()
            .and_then(ImgTime::as_utc)
            .map(|t| t.timestamp()),
        Some(1_741_942_211)
    );
    assert_eq!(p.typed_error, None);
    assert_eq!(
        p.body,
        PushBody::Competition(Competition {
            id: "comp.golf_1".into(),
            name: Some("PGA Tour".into()),
            sport_id: Some("sp.golf".into()),
            arena_id: Some("1".into()),
            start_time: None,
        })
    );
    assert_eq!(p.raw, line);
}

#[test]
fn every_typed_push() {
    let p = push(r#"{"mode":"push","type":"sport","msg":{"id":"sp.golf","name":"Golf"}}"#);
    assert_eq!(
        p.body,
        PushBody::Sport(Sport {
            id: "sp.golf".into(),
            name: Some("Golf".into())
        })
    );

    let p = push(
        r#"{"mode":"push","type":"event","msg":{"id":"ev.1","name":"Round 1","competition_id":"comp.golf_1","start_time":"2025-03-14 09:00:00","stage":"in_play","meta":{"round":1}}}"#,
    );
    let PushBody::Event(e) = p.body else { panic!() };
    assert_eq!(e.stage, Some(EventStage::InPlay));
    assert_eq!(e.meta, Some(json!({"round": 1})));
    assert_eq!(
        e.start_time
            .and_then(|t| t.as_utc())
            .map(|t| t.to_rfc3339()),
        Some("2025-03-14T09:00:00+00:00".into())
    );
    for (stage, want) in [
        (json!("pre_play"), Some(EventStage::PrePlay)),
        (json!("ended"), Some(EventStage::Ended)),
        (
            json!("abandoned"),
            Some(EventStage::Other("abandoned".into())),
        ),
        (json!(null), None),
    ] {
        let line = json!({"mode":"push","type":"event","msg":{"id":"ev.1","stage":stage}});
        let PushBody::Event(e) = push(&line.to_string()).body else {
            panic!()
        };
        assert_eq!(e.stage, want);
    }

    let p = push(
        r#"{"mode":"push","type":"market_type","msg":{"id":"mt.golf_threeball_hole","name":"3-Ball Hole"}}"#,
    );
    assert_eq!(
        p.body,
        PushBody::MarketType(MarketType {
            id: "mt.golf_threeball_hole".into(),
            name: Some("3-Ball Hole".into())
        })
    );

    let p = push(
        r#"{"mode":"push","type":"market","msg":{"id":"m-1.a","name":"3-Ball","event_id":"ev.1","market_type_id":"mt.x","selections":[{"id":"1544","name":"A"},{"id":1545}]}}"#,
    );
    assert_eq!(
        p.body,
        PushBody::Market(Market {
            id: "m-1.a".into(),
            name: Some("3-Ball".into()),
            event_id: Some("ev.1".into()),
            market_type_id: Some("mt.x".into()),
            selections: vec![
                Selection {
                    id: "1544".into(),
                    name: Some("A".into())
                },
                Selection {
                    id: "1545".into(),
                    name: None
                },
            ],
        })
    );

    let p = push(
        r#"{"mode":"push","type":"market_update","msg":{"id":"m-1.a","status":"suspended","selections":[{"id":"1544","price":2.5},{"id":"1545","price":null}]}}"#,
    );
    assert_eq!(
        p.body,
        PushBody::MarketUpdate(MarketUpdate {
            id: "m-1.a".into(),
            status: Some(MarketStatus::Suspended),
            selections: vec![
                PricedSelection {
                    id: "1544".into(),
                    price: Some(2.5)
                },
                PricedSelection {
                    id: "1545".into(),
                    price: None
                },
            ],
        })
    );
    for (status, want) in [
        ("open", MarketStatus::Open),
        ("closed", MarketStatus::Closed),
        ("voided", MarketStatus::Other("voided".into())),
    ] {
        let line = json!({"mode":"push","type":"market_update","msg":{"id":"m","status":status}});
        let PushBody::MarketUpdate(m) = push(&line.to_string()).body else {
            panic!()
        };
        assert_eq!(m.status, Some(want));
    }

    let p = push(r#"{"mode":"push","type":"remove_markets","msg":["m-1.a","m-2",7]}"#);
    assert_eq!(
        p.body,
        PushBody::RemoveMarkets(vec!["m-1.a".into(), "m-2".into(), "7".into()])
    );

    let p = push(
        r#"{"mode":"push","type":"heartbeat","msg":{"timestamp":"2025-03-20 10:05:18.924114"}}"#,
    );
    assert_eq!(p.kind, PushKind::Heartbeat);
    let PushBody::Heartbeat { timestamp } = &p.body else {
        panic!()
    };
    assert_eq!(
        timestamp.as_ref().map(ToString::to_string).as_deref(),
        Some("2025-03-20 10:05:18.924114")
    );
    assert!(parse(&p.raw).is_heartbeat());

    let p = push(
        r#"{"mode":"push","type":"settlement","msg":{"market_id":"m-1.a","selection_id":"1544","settlement":{"stake_returned":0.0,"payout_returned":0.5}}}"#,
    );
    assert_eq!(
        p.body,
        PushBody::Settlement(Settlement {
            market_id: Some("m-1.a".into()),
            selection_id: Some("1544".into()),
            settlement: Some(SettlementAmounts {
                stake_returned: Some(0.0),
                payout_returned: Some(0.5)
            }),
        })
    );
}

#[test]
fn typed_mismatch_and_unknown_types_stay_json() {
    let p = push(
        r#"{"mode":"push","type":"market_update","msg":{"id":"m","selections":[{"id":"1","price":"2.5"}]}}"#,
    );
    assert_eq!(
        p.body,
        PushBody::Other(json!({"id":"m","selections":[{"id":"1","price":"2.5"}]}))
    );
    let reason = p.typed_error.unwrap_or_default();
    assert!(reason.starts_with("market_update msg: "), "{reason}");

    let p = push(r#"{"mode":"push","type":"sport"}"#);
    assert_eq!(p.body, PushBody::Other(json!(null)));
    assert!(p.typed_error.is_some_and(|e| e.starts_with("sport msg: ")));

    let p = push(r#"{"mode":"push","type":"remove_markets","msg":{"ids":[]}}"#);
    assert_eq!(p.body, PushBody::Other(json!({"ids": []})));
    let reason = p.typed_error.unwrap_or_default();
    assert!(reason.starts_with("remove_markets msg: "), "{reason}");

    let p = push(r#"{"mode":"push","type":"weather","msg":{"wind":12}}"#);
    assert_eq!(p.kind, PushKind::Other("weather".into()));
    assert_eq!(p.body, PushBody::Other(json!({"wind": 12})));
    assert_eq!(p.typed_error, None);
}

#[test]
fn push_kind_names() {
    for name in [
        "sport",
        "competition",
        "event",
        "market_type",
        "market",
        "market_update",
        "remove_markets",
        "heartbeat",
        "settlement",
        "other_thing",
    ] {
        let kind = PushKind::from_wire(name);
        assert_eq!(kind.as_str(), name);
        assert_eq!(kind.to_string(), name);
        assert_eq!(
            matches!(kind, PushKind::Other(_)),
            name == "other_thing",
            "{name}"
        );
    }
}
