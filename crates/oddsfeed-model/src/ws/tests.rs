//! Tests of the WebSocket decode rules.

use super::*;
use crate::EntryId;
use serde_json::json;

/// Parses `text` by both paths, checks they agree, and returns the result.
fn both(text: &str) -> Result<WsMessage, ModelError> {
    let plain = parse_ws_json(text.as_bytes());
    let mut buf = text.as_bytes().to_vec();
    let fast = parse_ws_fast(&mut buf);
    assert_eq!(fast, plain, "fast and plain paths differ on {text:?}");
    plain
}

fn data(text: &str) -> DataMessage {
    match both(text) {
        Ok(WsMessage::Data(d)) => d,
        other => panic!("expected data from {text:?}, got {other:?}"),
    }
}

fn control(text: &str) -> Control {
    match both(text) {
        Ok(WsMessage::Control(c)) => c,
        other => panic!("expected control from {text:?}, got {other:?}"),
    }
}

const B7: &str = r#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"id1500025662664057","scores":{"result":{"period":"result","participant1Score":2,"participant2Score":1,"updatedAt":"2025-12-28T16:24:11.426852+00:00"}}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#;

#[test]
fn b7_example_is_fully_typed() {
    let d = data(B7);
    assert_eq!(d.channel, "scores");
    assert_eq!(d.kind, "UPDATE");
    assert_eq!(d.ts, Some(1_766_939_805_321));
    assert_eq!(d.entry_id, Some(EntryId::new(1_766_939_805_321, 3077)));
    assert_eq!(d.entry_id_raw, None);
    assert_eq!(d.typed_error, None);
    assert_eq!(d.raw, B7);
    let Payload::Scores(s) = &d.payload else {
        panic!("{:?}", d.payload)
    };
    assert_eq!(s.fixture_id.as_deref(), Some("id1500025662664057"));
    assert_eq!(
        s.scores.get("result"),
        Some(&PeriodScore {
            period: Some("result".into()),
            participant1_score: Some(2),
            participant2_score: Some(1),
            updated_at: Some("2025-12-28T16:24:11.426852+00:00".into()),
        })
    );
}

#[test]
fn classification_table() {
    // (input, expected kind: control type name, "data", or an error reason)
    let cases: &[(&str, &str)] = &[
        (r#"{"type":"login_ok"}"#, "login_ok"),
        (r#"{"type":"error","code":"x"}"#, "error"),
        (r#"{"type":"dict","dictId":1}"#, "dict"),
        (r#"{"type":"resume_complete"}"#, "resume_complete"),
        (
            r#"{"type":"snapshot_required","channels":["scores"]}"#,
            "snapshot_required",
        ),
        (r#"{"type":"reconnect"}"#, "reconnect"),
        // a control type wins over channel + payload
        (r#"{"channel":"odds","payload":{},"type":"dict"}"#, "dict"),
        (
            r#"{"type":"reconnect","channel":"odds","payload":{}}"#,
            "reconnect",
        ),
        // data: channel + payload, any other type
        (r#"{"channel":"odds","payload":{"fixtureId":"f"}}"#, "data"),
        (
            r#"{"channel":"odds","type":"deleted","payload":{"fixtureId":"f"}}"#,
            "data",
        ),
        (
            r#"{"channel":"odds","type":"login","payload":{"fixtureId":"f"}}"#,
            "data",
        ),
        (r#"{"channel":"x","type":7,"payload":null}"#, "data"),
        // unknown control: no channel, no payload, non-string channel, unknown type
        (r#"{"type":"pong"}"#, "unknown"),
        (r#"{"channel":"odds"}"#, "unknown"),
        (r#"{"payload":{}}"#, "unknown"),
        (r#"{"channel":5,"payload":{}}"#, "unknown"),
        (r#"{"channel":null,"payload":{}}"#, "unknown"),
        (r#"{"type":"LOGIN_OK"}"#, "unknown"),
        ("{}", "unknown"),
        // not objects, not JSON
        ("[1,2]", "wrong_shape"),
        ("5", "wrong_shape"),
        (r#""login_ok""#, "wrong_shape"),
        ("null", "wrong_shape"),
        ("{", "bad_json"),
        ("", "bad_json"),
        ("{} {}", "bad_json"),
        (r#"{"a":1,}"#, "bad_json"),
        ("{'a':1}", "bad_json"),
    ];
    for (input, want) in cases {
        let got = match both(input) {
            Ok(WsMessage::Data(_)) => "data",
            Ok(WsMessage::Control(c)) => c.kind(),
            Err(e) => e.reason(),
        };
        assert_eq!(got, *want, "{input}");
    }
}

#[test]
fn unknown_control_keeps_the_whole_object() {
    assert_eq!(
        control(r#"{"type":"pong","n":1,"nested":{"a":[1,2]}}"#),
        Control::Unknown(json!({"type":"pong","n":1,"nested":{"a":[1,2]}}))
    );
}

#[test]
fn errors_carry_the_raw_input() {
    assert_eq!(
        both("[1]"),
        Err(ModelError::WrongShape {
            what: "expected a JSON object, found an array".into(),
            raw: b"[1]".to_vec()
        })
    );
    let err = both(r#"{"channel":"odds""#).unwrap_err();
    assert_eq!(err.reason(), "bad_json");
    assert_eq!(err.raw(), br#"{"channel":"odds""#);
}

#[test]
fn invalid_utf8_is_reported_by_both_paths() {
    let bytes = b"{\"channel\":\"odds\xff\",\"payload\":{}}";
    let want = Err(ModelError::InvalidUtf8 {
        raw: bytes.to_vec(),
    });
    assert_eq!(parse_ws_json(bytes), want);
    assert_eq!(parse_ws_fast(&mut bytes.to_vec()), want);
}

#[test]
fn utf8_edge_cases_agree_with_std() {
    // overlong forms, encoded surrogates, out-of-range code points, truncated and stray
    // continuation bytes, and valid multi-byte text, inside a data message
    for inner in [
        &b"\xc0\xaf"[..],
        b"\xe0\x80\xaf",
        b"\xed\xa0\x80",
        b"\xf4\x90\x80\x80",
        b"\xf0\x9f\x98",
        b"\x80",
        b"\xff",
        "é€😀\u{2028}".as_bytes(),
    ] {
        let mut bytes = br#"{"channel":"x","payload":""#.to_vec();
        bytes.extend_from_slice(inner);
        bytes.extend_from_slice(br#""}"#);
        let plain = parse_ws_json(&bytes);
        assert_eq!(
            plain.as_ref().map(|_| ()).map_err(ModelError::reason),
            std::str::from_utf8(&bytes)
                .map(|_| ())
                .map_err(|_| "invalid_utf8"),
            "{inner:02x?}"
        );
        assert_eq!(parse_ws_fast(&mut bytes.clone()), plain, "{inner:02x?}");
    }
}

#[test]
fn entry_id_missing_bad_or_not_a_string() {
    let d = data(r#"{"channel":"x","payload":1}"#);
    assert_eq!((d.entry_id, d.entry_id_raw), (None, None));
    let d = data(r#"{"channel":"x","payload":1,"entryId":null}"#);
    assert_eq!((d.entry_id, d.entry_id_raw), (None, None));
    let d = data(r#"{"channel":"x","payload":1,"entryId":"999-5"}"#);
    assert_eq!(
        (d.entry_id, d.entry_id_raw),
        (Some(EntryId::new(999, 5)), None)
    );
    let d = data(r#"{"channel":"x","payload":1,"entryId":"999_5"}"#);
    assert_eq!(
        (d.entry_id, d.entry_id_raw.as_deref()),
        (None, Some("999_5"))
    );
    let d = data(r#"{"channel":"x","payload":1,"entryId":12345}"#);
    assert_eq!(
        (d.entry_id, d.entry_id_raw.as_deref()),
        (None, Some("12345"))
    );
    let d = data(r#"{"channel":"x","payload":1,"entryId":{"a":1}}"#);
    assert_eq!(
        (d.entry_id, d.entry_id_raw.as_deref()),
        (None, Some(r#"{"a":1}"#))
    );
}

#[test]
fn entry_id_read_in_stream_matches_the_generic_reading() {
    for (entry_id, want_raw) in [
        (r#""12-3""#, None),
        (r#""12\u002d3""#, None),
        (r#""x\"y""#, Some(r#"x"y"#)),
        ("true", Some("true")),
        ("-7", Some("-7")),
        ("2.5", Some("2.5")),
        (r#"[1,"a",{"b":null}]"#, Some(r#"[1,"a",{"b":null}]"#)),
        (r#"{"z":1,"a":[]}"#, Some(r#"{"z":1,"a":[]}"#)),
    ] {
        let text = format!(r#"{{"channel":"x","payload":1,"entryId":{entry_id}}}"#);
        let d = data(&text);
        assert_eq!(d.entry_id_raw.as_deref(), want_raw, "{text}");
        let value: Value = serde_json::from_str(entry_id).unwrap();
        assert_eq!(
            (d.entry_id, d.entry_id_raw),
            data::read_entry_id_for_tests(Some(&value)),
            "{text}"
        );
    }
}

#[test]
fn ts_and_type_are_lenient() {
    let d = data(r#"{"channel":"x","payload":1,"ts":"1766939805321"}"#);
    assert_eq!(d.ts, None);
    let d = data(r#"{"channel":"x","payload":1,"ts":1.5}"#);
    assert_eq!(d.ts, None);
    let d = data(r#"{"channel":"x","payload":1,"ts":-1}"#);
    assert_eq!(d.ts, None);
    let d = data(r#"{"channel":"x","payload":1,"ts":0}"#);
    assert_eq!(d.ts, Some(0));
    assert_eq!(d.kind, "");
    let d = data(r#"{"channel":"x","payload":1,"type":["UPDATE"]}"#);
    assert_eq!(d.kind, "");
}

#[test]
fn payload_before_channel_is_typed_the_same() {
    let after = data(
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{}},"type":"UPDATE","entryId":"1-1"}"#,
    );
    let before = data(
        r#"{"payload":{"fixtureId":"f","odds":{}},"channel":"odds","type":"UPDATE","entryId":"1-1"}"#,
    );
    assert!(matches!(before.payload, Payload::Odds(_)));
    assert_eq!(before.payload, after.payload);
    assert_eq!(before.entry_id, after.entry_id);
    assert_eq!(before.typed_error, None);
}

#[test]
fn typed_view_mismatch_falls_back_to_other() {
    for text in [
        r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"f","odds":{"bk":{"id":{"price":"high"}}}},"entryId":"5-1"}"#,
        r#"{"payload":{"fixtureId":"f","odds":{"bk":{"id":{"price":"high"}}}},"channel":"odds","type":"UPDATE","entryId":"5-1"}"#,
    ] {
        let d = data(text);
        assert_eq!(d.channel, "odds");
        assert_eq!(d.entry_id, Some(EntryId::new(5, 1)));
        assert_eq!(
            d.payload,
            Payload::Other(json!({"fixtureId":"f","odds":{"bk":{"id":{"price":"high"}}}}).into())
        );
        let reason = d.typed_error.unwrap_or_default();
        assert!(reason.starts_with("odds payload: "), "{reason}");
        assert_eq!(d.raw, text);
    }
    // a payload of the wrong JSON type
    let d = data(r#"{"channel":"scores","payload":[1,2]}"#);
    assert_eq!(d.payload, Payload::Other(json!([1, 2]).into()));
    assert!(
        d.typed_error
            .is_some_and(|e| e.starts_with("scores payload: "))
    );
    // unknown channels are untyped but not errors
    let d = data(r#"{"channel":"injuries","payload":{"a":1}}"#);
    assert_eq!(
        (d.payload, d.typed_error),
        (Payload::Other(json!({"a":1}).into()), None)
    );
}

#[test]
fn raw_is_one_line() {
    let spaced = "  {\"channel\": \"x\", \"payload\": 1}\t ";
    assert_eq!(data(spaced).raw, "{\"channel\": \"x\", \"payload\": 1}");
    let pretty = "{\n  \"channel\": \"x\",\r\n  \"payload\": {\"a\": [1, 2.5]}\n}\n";
    let d = data(pretty);
    assert_eq!(d.raw, r#"{"channel":"x","payload":{"a":[1,2.5]}}"#);
    // a `\n` escape inside a string is not a raw line break
    let escaped = r#"{"channel":"x","payload":"a\nb"}"#;
    assert_eq!(data(escaped).raw, escaped);
}

#[test]
fn duplicate_keys_behave_like_serde_json_values() {
    // last value wins, as in serde_json::Value
    let d = data(r#"{"channel":"a","channel":"scores","payload":{"scores":{}}}"#);
    assert_eq!(d.channel, "scores");
    assert!(matches!(d.payload, Payload::Scores(_)));
    let d = data(r#"{"channel":"x","payload":1,"entryId":"1-1","entryId":"2-2"}"#);
    assert_eq!(d.entry_id, Some(EntryId::new(2, 2)));
    let d = data(r#"{"channel":"odds","payload":{"fixtureId":"a","fixtureId":"b"}}"#);
    let Payload::Odds(o) = d.payload else {
        panic!()
    };
    assert_eq!(o.fixture_id, "b");
}

#[test]
fn nesting_limit_is_the_same_on_both_paths() {
    let nested = |depth: usize| {
        format!(
            r#"{{"channel":"x","payload":{}1{}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    };
    // The envelope object is one level, the payload arrays the rest.
    assert!(matches!(
        both(&nested(MAX_JSON_DEPTH - 1)),
        Ok(WsMessage::Data(_))
    ));
    let deep = both(&nested(MAX_JSON_DEPTH));
    assert_eq!(deep.map_err(|e| e.reason()), Err("bad_json"));
    for depth in MAX_JSON_DEPTH - 4..MAX_JSON_DEPTH + 4 {
        let want = if depth < MAX_JSON_DEPTH {
            "ok"
        } else {
            "bad_json"
        };
        let got = both(&nested(depth)).map_or_else(|e| e.reason(), |_| "ok");
        assert_eq!(got, want, "depth {depth}");
    }
    // a data message whose payload would need deeper nesting than allowed is not typed
    // by simd-json while serde_json refuses it: both report bad_json
    let deep_unknown = format!(
        r#"{{"type":"x","a":{}{}}}"#,
        "[".repeat(200),
        "]".repeat(200)
    );
    assert_eq!(both(&deep_unknown).map_err(|e| e.reason()), Err("bad_json"));
}

#[test]
fn escapes_and_surrogates_agree() {
    let d = data(r#"{"channel":"x","payload":"\u00e9\ud83d\ude00\"\\\/"}"#);
    assert_eq!(d.payload, Payload::Other(json!("é😀\"\\/").into()));
    // a lone surrogate is refused by serde_json; both paths must say the same
    let lone = both(r#"{"channel":"x","payload":"\ud800"}"#);
    assert_eq!(lone.map_err(|e| e.reason()), Err("bad_json"));
}

#[test]
fn numbers_agree() {
    let d = data(
        r#"{"channel":"x","payload":[0,-0,1e2,-1.5e-7,18446744073709551615,-9223372036854775808,0.1,2.2250738585072014e-308,1.7976931348623157e308]}"#,
    );
    let Payload::Other(v) = d.payload else {
        panic!()
    };
    assert_eq!(v[2], json!(100.0));
    assert_eq!(v[4], json!(u64::MAX));
    assert_eq!(v[5], json!(i64::MIN));
    assert_eq!(v[8], json!(f64::MAX));
    let d = data(r#"{"channel":"x","payload":[-0,-0.0,-0e0,{"a":-0}]}"#);
    let Payload::Other(v) = d.payload else {
        panic!()
    };
    assert_eq!(v, json!([-0.0, -0.0, -0.0, {"a": -0.0}]));
    // beyond u64: serde_json reads a float; the fast path must agree
    let d = data(r#"{"channel":"x","payload":18446744073709551616}"#);
    assert_eq!(
        d.payload,
        Payload::Other(json!(18_446_744_073_709_551_616.0).into())
    );
    let d = data(r#"{"channel":"x","payload":-9223372036854775809}"#);
    assert_eq!(
        d.payload,
        Payload::Other(json!(-9_223_372_036_854_775_809.0).into())
    );
}

#[test]
fn scan_finds_negative_zero_and_line_breaks() {
    let scan = |text: &str| {
        let s = Scan::of(text.as_bytes());
        (s.negative_zero, s.line_break)
    };
    for (text, negative_zero) in [
        ("-0", true),
        ("[-0]", true),
        ("-0,", true),
        (r#"{"a":-0}"#, true),
        (r#""x-0""#, true), // inside a string: a harmless false positive
        ("1-0-5 -0", true),
        ("-0.5", false),
        ("-0e1", false),
        ("-0E1", false),
        ("-01", false),
        ("-1", false),
        ("0-", false),
        ("- 0", false),
        ("-", false),
        ("", false),
        ("-0.1 -00 -09 -0", true),
    ] {
        assert_eq!(scan(text), (negative_zero, false), "{text:?}");
    }
    assert_eq!(scan("{\n}"), (false, true));
    assert_eq!(scan("{\r}"), (false, true));
    assert_eq!(scan("-05\r\n"), (false, true));
    assert_eq!(scan("1e-0"), (false, false));
    assert_eq!(scan("[1E-0,2]"), (false, false));
}

#[test]
fn negative_zeros_outside_strings_are_respelled() {
    let respelled = |text: &str| {
        let mut zeros = Vec::new();
        let any = negative_zeros(text.as_bytes(), &mut zeros);
        assert_eq!(any, !zeros.is_empty());
        let mut out = Vec::new();
        respell_zeros(text.as_bytes(), &zeros, &mut out);
        String::from_utf8(out).unwrap_or_default()
    };
    for (text, want) in [
        ("-0", "-0.0"),
        (r#"{"a":-0}"#, r#"{"a":-0.0}"#),
        (r#"[-0, -0 ,-0]"#, r#"[-0.0, -0.0 ,-0.0]"#),
        (
            r#"{"x-0":"a:-0,","b":[1e-0,-0.0,-0e1,-01,-0],"c":"\"-0\\"}"#,
            r#"{"x-0":"a:-0,","b":[1e-0,-0.0,-0e1,-01,-0.0],"c":"\"-0\\"}"#,
        ),
        (r#"{"s":"\\","t":-0}"#, r#"{"s":"\\","t":-0.0}"#),
        (r#"{"s":"-0"}"#, r#"{"s":"-0"}"#),
        (r#""unterminated -0"#, r#""unterminated -0"#),
        ("", ""),
    ] {
        assert_eq!(respelled(text), want, "{text}");
    }
}

#[test]
fn negative_zero_stays_on_the_fast_path_and_agrees() {
    // Typed fields and JSON kept as values, with `-0` among other spellings; each message
    // must give what serde_json gives (a float -0.0 wherever `-0` is written).
    for text in [
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"bookmaker":"b","outcomeId":1,"marketId":1,"price":-0,"active":true,"limit":-0,"meta":{"shift":-0,"s":"-0"}}}}},"ts":5,"entryId":"5-1"}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"bookmaker":"b","outcomeId":-0,"marketId":1,"price":1.5,"active":true}}}}}"#,
        r#"{"channel":"x","payload":{"a":[-0,1e-0,"-0"],"b":-0}}"#,
        r#"{"channel":"scores","payload":{"fixtureId":"f","scores":{"p":{"participant1Score":-0}}}}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f"},"ts":-0,"entryId":-0}"#,
    ] {
        let plain = parse_ws_json(text.as_bytes());
        let fast = FastParser::new().parse(&mut text.as_bytes().to_vec());
        assert_eq!(fast, plain, "{text}");
        let Ok(WsMessage::Data(d)) = fast else {
            panic!("{text}")
        };
        assert_eq!(d.raw, text);
    }
}

#[test]
fn control_frames_through_both_paths() {
    let Control::Error(e) =
        control(r#"{"type":"error","code":"login_failed","message":"invalid apiKey"}"#)
    else {
        panic!()
    };
    assert_eq!(e.to_string(), "login_failed: invalid apiKey");
    let Control::LoginOk(ok) = control(r#"{"receiveType":"json","type":"login_ok"}"#) else {
        panic!()
    };
    assert_eq!(ok.negotiated(), Some(ReceiveType::Json));
}

#[test]
fn fast_parser_reuses_buffers_across_sizes() {
    let mut parser = FastParser::new();
    let big_payload = "x".repeat(200_000);
    let big = format!(r#"{{"channel":"x","payload":"{big_payload}"}}"#);
    for text in [B7, &big, r#"{"type":"reconnect"}"#, B7, "[]", B7] {
        let mut buf = text.as_bytes().to_vec();
        assert_eq!(
            parser.parse(&mut buf),
            parse_ws_json(text.as_bytes()),
            "{text:.40}"
        );
    }
}

#[test]
fn text_frame_value_sequence() {
    let frame = format!(
        "{B7}\n{{\"type\":\"reconnect\",\"reason\":\"server_upgrade\"}}\r\n  {B7} {{\"type\":\"resume_complete\"}}\n"
    );
    let out = parse_ws_text(&frame);
    assert_eq!(out.len(), 4);
    assert!(matches!(&out[0], Ok(WsMessage::Data(d)) if d.raw == B7));
    assert!(
        matches!(&out[1], Ok(WsMessage::Control(Control::Reconnect(r))) if r.reason.as_deref() == Some("server_upgrade"))
    );
    assert!(matches!(&out[2], Ok(WsMessage::Data(d)) if d.raw == B7));
    assert!(matches!(
        &out[3],
        Ok(WsMessage::Control(Control::ResumeComplete(_)))
    ));
    // a sequence with a non-object keeps the others
    let out = parse_ws_text(r#"{"type":"reconnect"} 5 {"type":"reconnect"}"#);
    let reasons: Vec<_> = out
        .iter()
        .map(|r| r.as_ref().map(|_| "ok").unwrap_or_else(|e| e.reason()))
        .collect();
    assert_eq!(reasons, ["ok", "wrong_shape", "ok"]);
}

#[test]
fn text_frame_single_document() {
    let out = parse_ws_text(B7);
    assert_eq!(out, vec![parse_ws_json(B7.as_bytes())]);
    let pretty = "{\n \"type\": \"reconnect\"\n}";
    assert_eq!(
        parse_ws_text(pretty),
        vec![Ok(WsMessage::Control(Control::Reconnect(Reconnect {
            reason: None,
            extra: serde_json::Map::new(),
            raw: r#"{"type":"reconnect"}"#.into(),
        })))]
    );
    assert_eq!(
        parse_ws_text("[1]"),
        vec![Err(ModelError::wrong_shape(
            "expected a JSON object, found an array",
            b"[1]"
        ))]
    );
}

#[test]
fn text_frame_line_fallback_keeps_good_lines() {
    let bad = r#"{"channel":"odds","payload":{"#;
    let frame = format!("{B7}\n{bad}\r\n\n{{\"type\":\"reconnect\"}} {{\"type\":\"reconnect\"}}\n");
    let out = parse_ws_text(&frame);
    assert_eq!(out.len(), 4, "{out:?}");
    assert!(matches!(&out[0], Ok(WsMessage::Data(d)) if d.raw == B7));
    match &out[1] {
        Err(ModelError::BadJson { raw, detail }) => {
            assert_eq!(raw, bad.as_bytes());
            assert!(detail.contains("EOF"), "{detail}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &out[2],
        Ok(WsMessage::Control(Control::Reconnect(_)))
    ));
    assert!(matches!(
        &out[3],
        Ok(WsMessage::Control(Control::Reconnect(_)))
    ));
}

#[test]
fn text_frame_all_bad_and_empty() {
    let out = parse_ws_text("nope\n{also bad");
    let raws: Vec<_> = out
        .iter()
        .map(|r| match r {
            Err(ModelError::BadJson { raw, .. }) => String::from_utf8_lossy(raw).into_owned(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(raws, ["nope", "{also bad"]);
    for empty in ["", " \n\r\n\t"] {
        let out = parse_ws_text(empty);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].as_ref().map_err(|e| e.reason()).err(),
            Some("bad_json")
        );
    }
}

mod msgpack {
    use super::*;
    use crate::msgpack_to_json;
    use crate::ws::{DEFAULT_MAX_NODES, parse_ws_msgpack_converting};

    fn reject(bytes: &[u8], detail_part: &str) {
        match msgpack_to_json(bytes) {
            Err(ModelError::BadMsgpack { detail, raw }) => {
                assert!(
                    detail.contains(detail_part),
                    "{detail:?} lacks {detail_part:?}"
                );
                assert_eq!(raw, &bytes[..bytes.len().min(crate::RAW_CAP)]);
            }
            other => panic!(
                "{:02x?} must be bad_msgpack, got {other:?}",
                &bytes[..bytes.len().min(64)]
            ),
        }
        assert_eq!(
            parse_ws_msgpack(bytes).map_err(|e| e.reason()),
            Err("bad_msgpack")
        );
    }

    #[test]
    fn converts_every_allowed_type() {
        // {"n":nil,"t":true,"u":200,"i":-5,"f":1.5(f64),"g":0.5(f32),"s":"é","a":[1],"m":{}}
        let mut bytes = vec![0x89];
        bytes.extend([0xa1, b'n', 0xc0]);
        bytes.extend([0xa1, b't', 0xc3]);
        bytes.extend([0xa1, b'u', 0xcc, 200]);
        bytes.extend([0xa1, b'i', 0xfb]);
        bytes.extend([0xa1, b'f', 0xcb]);
        bytes.extend(1.5f64.to_be_bytes());
        bytes.extend([0xa1, b'g', 0xca]);
        bytes.extend(0.5f32.to_be_bytes());
        bytes.extend([0xa1, b's', 0xa2, 0xc3, 0xa9]);
        bytes.extend([0xa1, b'a', 0x91, 0x01]);
        bytes.extend([0xa1, b'm', 0x80]);
        assert_eq!(
            msgpack_to_json(&bytes),
            Ok(json!({"n":null,"t":true,"u":200,"i":-5,"f":1.5,"g":0.5,"s":"é","a":[1],"m":{}}))
        );
    }

    #[test]
    fn rejections() {
        reject(&[0x81, 0xa1, b'b', 0xc4, 0x01, 0x00], "bin");
        reject(&[0x81, 0xa1, b'e', 0xd4, 0x01, 0x00], "ext");
        reject(&[0x81, 0xa1, b'e', 0xc7, 0x00, 0x05], "ext");
        let mut nan = vec![0x81, 0xa1, b'f', 0xcb];
        nan.extend(f64::NAN.to_be_bytes());
        reject(&nan, "not a finite number");
        let mut inf = vec![0x81, 0xa1, b'f', 0xca];
        inf.extend(f32::INFINITY.to_be_bytes());
        reject(&inf, "not a finite number");
        reject(&[0x81, 0x01, 0x02], "map keys must be strings");
        reject(&[0x81, 0xc0, 0x02], "map keys must be strings");
        reject(&[0x81, 0xa1, 0xff, 0x02], "not valid UTF-8");
        reject(&[0x81, 0xa1, b'k', 0xa1, 0xff], "not valid UTF-8");
        reject(&[0x80, 0x80], "1 trailing bytes");
        reject(&[0x82, 0xa1, b'k'], "");
        reject(&[], "");
    }

    /// The first byte of a MessagePack value, classified from the format table of the
    /// MessagePack specification ("Overview" of formats): how many bytes a complete value
    /// with that marker takes when it carries no payload, or `None` for a marker that
    /// cannot stand alone in one byte. Written from the spec, not from any library.
    fn spec_one_byte_value(marker: u8) -> Option<bool> {
        match marker {
            // positive fixint, fixmap 0, fixarray 0, fixstr 0, nil, false, true, negative fixint
            0x00..=0x7f | 0x80 | 0x90 | 0xa0 | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => Some(true),
            // "0xc1: (never used)"
            0xc1 => Some(false),
            _ => None,
        }
    }

    #[test]
    fn the_never_used_marker_0xc1_is_bad_msgpack_everywhere() {
        // Every one-byte value the spec allows is accepted at the top level, inside an
        // array, as a map value and as a data message's payload; 0xc1, which the spec
        // says is never used, is refused in each place.
        for marker in 0..=255_u8 {
            let Some(allowed) = spec_one_byte_value(marker) else {
                continue;
            };
            let mut payload = vec![0x82, 0xa7];
            payload.extend(b"channel");
            payload.extend([0xa1, b'x', 0xa7]);
            payload.extend(b"payload");
            payload.push(marker);
            let cases = [
                vec![marker],
                vec![0x92, 0x01, marker],
                vec![0x81, 0xa1, b'k', marker],
                payload,
            ];
            for bytes in cases {
                let json = msgpack_to_json(&bytes).map_err(|e| e.reason());
                let typed = parse_ws_msgpack(&bytes).map_err(|e| e.reason());
                let old = parse_ws_msgpack_converting(&bytes).map_err(|e| e.reason());
                if allowed {
                    assert!(json.is_ok(), "{bytes:02x?}: {json:?}");
                    assert_ne!(typed, Err("bad_msgpack"), "{bytes:02x?}");
                    assert_ne!(old, Err("bad_msgpack"), "{bytes:02x?}");
                } else {
                    assert_eq!(json, Err("bad_msgpack"), "{bytes:02x?}");
                    assert_eq!(typed, Err("bad_msgpack"), "{bytes:02x?}");
                    assert_eq!(old, Err("bad_msgpack"), "{bytes:02x?}");
                }
            }
        }
        reject(&[0xc1], "0xc1 is never used");
    }

    #[test]
    fn too_many_values_is_too_complex_before_anything_is_built() {
        // {"channel":"x","payload":[nil; n]}: one node per byte, the densest MessagePack.
        let message = |n: u32| {
            let mut bytes = vec![0x82, 0xa7];
            bytes.extend(b"channel");
            bytes.extend([0xa1, b'x', 0xa7]);
            bytes.extend(b"payload");
            bytes.push(0xdd);
            bytes.extend(n.to_be_bytes());
            bytes.extend(std::iter::repeat_n(0xc0, n as usize));
            bytes
        };
        // 5 nodes besides the array's elements: the map, two keys, a value, the array.
        let fits = message(u32::try_from(DEFAULT_MAX_NODES).unwrap() - 5);
        assert!(matches!(parse_ws_msgpack(&fits), Ok(WsMessage::Data(_))));
        let dense = message(u32::try_from(DEFAULT_MAX_NODES).unwrap() - 4);
        for parsed in [
            parse_ws_msgpack(&dense),
            parse_ws_msgpack_converting(&dense),
            FastParser::new().parse_msgpack(&dense),
        ] {
            let Err(ModelError::TooComplex { detail, raw }) = parsed else {
                panic!("{:?}", parsed.map(|_| ()))
            };
            assert_eq!(detail, "more than 1048576 values and keys");
            assert_eq!(raw.len(), crate::RAW_CAP);
        }
        assert_eq!(
            msgpack_to_json(&dense).map_err(|e| e.reason()),
            Err("too_complex")
        );
        // A declared length the bytes cannot hold costs nothing: refused at the header.
        let mut liar = vec![0xdd];
        liar.extend(u32::MAX.to_be_bytes());
        reject(&liar, "unexpected end of input");
        let mut map_liar = vec![0xdf];
        map_liar.extend(u32::MAX.to_be_bytes());
        reject(&map_liar, "unexpected end of input");
        // A limit of the parser's own.
        let mut small = FastParser::new().with_max_nodes(1000);
        assert_eq!(
            small
                .parse_msgpack(&message(995))
                .map(|_| ())
                .map_err(|e| e.reason()),
            Ok(())
        );
        assert_eq!(
            small
                .parse_msgpack(&message(996))
                .map(|_| ())
                .map_err(|e| e.reason()),
            Err("too_complex")
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_values_are_built() {
        // 5,000 nested one-element arrays (rmpv alone would recurse to its own limit of
        // 1024 first): the walk stops at depth 128 without building anything.
        let mut deep = vec![0x91; 5_000];
        deep.push(0x01);
        reject(&deep, "nested deeper than 127");
        let mut in_map = vec![0x81, 0xa1, b'k'];
        in_map.extend(&deep);
        reject(&in_map, "nested deeper than 127");
    }

    #[test]
    fn nesting_limit() {
        let mut ok = vec![0x91; MAX_JSON_DEPTH];
        ok.push(0x01);
        assert!(matches!(msgpack_to_json(&ok), Ok(Value::Array(_))));
        let mut deep = vec![0x91; MAX_JSON_DEPTH + 1];
        deep.push(0x01);
        reject(&deep, "nested deeper than 127");
    }

    #[test]
    fn data_message_from_msgpack() {
        let envelope = json!({"channel":"scores","type":"UPDATE","payload":{"fixtureId":"f","scores":{"result":{"participant1Score":3}}},"ts":5,"entryId":"5-1"});
        let bytes = rmp_serde::to_vec_named(&envelope).unwrap();
        let Ok(WsMessage::Data(d)) = parse_ws_msgpack(&bytes) else {
            panic!()
        };
        assert_eq!(d.raw, envelope.to_string());
        assert_eq!(d.entry_id, Some(EntryId::new(5, 1)));
        let Payload::Scores(s) = d.payload else {
            panic!()
        };
        assert_eq!(s.scores["result"].participant1_score, Some(3));
        // the same message as JSON gives the same value
        assert_eq!(
            parse_ws_msgpack(&bytes),
            parse_ws_json(envelope.to_string().as_bytes())
        );
        let list = rmp_serde::to_vec(&json!([1, 2])).unwrap();
        assert_eq!(
            parse_ws_msgpack(&list).map_err(|e| e.reason()),
            Err("wrong_shape")
        );
    }
}

#[test]
fn parser_and_messages_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<FastParser>();
    check::<WsMessage>();
    check::<crate::img::ImgMessage>();
    check::<Login>();
}

mod limits {
    use super::*;

    /// `[0,0,…]` with `n` elements: one node per two bytes, the densest JSON.
    fn dense(n: usize) -> Vec<u8> {
        let mut doc = Vec::with_capacity(2 * n + 1);
        doc.push(b'[');
        for i in 0..n {
            if i > 0 {
                doc.push(b',');
            }
            doc.push(b'0');
        }
        doc.push(b']');
        doc
    }

    fn reason(parsed: Result<WsMessage, ModelError>) -> Result<(), &'static str> {
        parsed.map(|_| ()).map_err(|e| e.reason())
    }

    #[test]
    fn a_dense_document_over_the_node_limit_is_too_complex_on_every_path() {
        // The array node plus n elements.
        let over = dense(DEFAULT_MAX_NODES);
        let at = dense(DEFAULT_MAX_NODES - 1);
        assert_eq!(reason(parse_ws_json(&at)), Err("wrong_shape"));
        assert_eq!(reason(parse_ws_fast(&mut at.clone())), Err("wrong_shape"));
        let text = std::str::from_utf8(&over).unwrap();
        for parsed in [
            parse_ws_json(&over),
            parse_ws_fast(&mut over.clone()),
            FastParser::new().parse(&mut over.clone()),
        ] {
            let Err(ModelError::TooComplex { detail, raw }) = parsed else {
                panic!("{:?}", reason(parsed))
            };
            assert_eq!(detail, "more than 1048576 values and keys in one document");
            assert_eq!(raw, &over[..crate::RAW_CAP]);
        }
        let from_text = parse_ws_text(text);
        assert_eq!(from_text.len(), 1);
        assert_eq!(
            from_text[0].as_ref().map(|_| ()).map_err(|e| e.reason()),
            Err("too_complex")
        );
    }

    #[test]
    fn the_node_bound_counts_separators_outside_strings_only() {
        // 13 nodes: the object, a key, the array, ten numbers.
        let doc = br#"{"a":[1,2,3,4,5,6,7,8,9,10]}"#;
        assert_eq!(check_json_nodes(doc, 13), Ok(()));
        assert_eq!(
            check_json_nodes(doc, 12).map_err(|e| e.reason()),
            Err("too_complex")
        );
        // Separators inside strings (escaped quotes included) are not nodes.
        let doc = br#"{"channel":"x","payload":"a,b:[{\",\\,,,,,,,,,,,,,,,,,,,,,,,,,"}"#;
        assert_eq!(check_json_nodes(doc, 5), Ok(()));
        // Short documents are not scanned at all: they cannot pass the limit.
        assert_eq!(check_json_nodes(b"[0,0,0]", 4), Ok(()));
        assert_eq!(
            check_json_nodes(b"[0,0,0,0]", 4).map_err(|e| e.reason()),
            Err("too_complex")
        );
        // A long message whose bulk is one string parses normally at the default limit.
        let mut long = br#"{"channel":"news","type":"UPDATE","payload":{"text":""#.to_vec();
        long.extend(std::iter::repeat_n(b',', 3 << 20));
        long.extend(br#""},"ts":1,"entryId":"1-1"}"#);
        let Ok(WsMessage::Data(d)) = parse_ws_json(&long) else {
            panic!("a long string is not complex")
        };
        assert_eq!(d.raw.len(), long.len());
        assert!(matches!(
            FastParser::new().parse(&mut long.clone()),
            Ok(WsMessage::Data(_))
        ));
    }

    #[test]
    fn the_parser_gives_back_scratch_space_after_a_large_message() {
        let small = B7.as_bytes().to_vec();
        let mut parser = FastParser::new();
        assert!(parser.parse(&mut small.clone()).is_ok());
        let (input, tape) = (
            parser.retained_input_capacity(),
            parser.retained_tape_capacity(),
        );
        assert_eq!(input, 64 << 10);
        // A 2 MiB message with 200,000 nodes grows simd-json's buffers and tape.
        let mut big = br#"{"channel":"other","type":"UPDATE","payload":{"xs":["#.to_vec();
        for i in 0..200_000 {
            if i > 0 {
                big.push(b',');
            }
            big.extend(format!("\"{i:08}\"").as_bytes());
        }
        big.extend(br#"]},"ts":1,"entryId":"1-2"}"#);
        assert!(big.len() > PARSER_RETAINED_INPUT);
        assert!(matches!(
            parser.parse(&mut big.clone()),
            Ok(WsMessage::Data(_))
        ));
        // ... and gives them back: the same as after the small message.
        assert_eq!(parser.retained_input_capacity(), input);
        assert!(parser.retained_tape_capacity() <= PARSER_RETAINED_NODES.max(tape));
        // A middling message (under the retained size) is kept, so steady traffic of that
        // size does not reallocate every time.
        let mut middling = br#"{"channel":"other","type":"UPDATE","payload":{"s":""#.to_vec();
        middling.extend(std::iter::repeat_n(b'x', 512 << 10));
        middling.extend(br#""},"ts":1,"entryId":"1-3"}"#);
        assert!(parser.parse(&mut middling.clone()).is_ok());
        assert_eq!(parser.retained_input_capacity(), middling.len());
        // The parse still works after giving memory back.
        assert_eq!(parser.parse(&mut small.clone()), both(B7));
    }
}

/// Untyped payloads the fast path keeps as text (parsed on first look) and those it builds
/// (escaped key, unusual numbers, not an object or array): the same value as serde_json's
/// either way.
#[test]
fn untyped_payloads_kept_as_text_agree() {
    let kept = [
        r#"{"channel":"x","payload":{"a":1}}"#,
        r#"{"payload":{"a":[1,2.5,"s"]},"channel":"x","ts":5}"#,
        r#"{"channel":"x", "payload" : [1, {"b":"\u00e9\"}"}] , "ts":1}"#,
        "{ \"channel\": \"x\",\t\"payload\":\t {\"a\": 1} }",
        " {\"channel\":\"x\",\"payload\":[]} ",
        r#"{"channel":"x","payload":{},"type":"UPDATE"}"#,
        r#"{"channel":"x","payload":{"payload":{"payload":1}},"type":"UPDATE","entryId":"1-1"}"#,
        r#"{"channel":"x","payload":{"a":"}],\"payload\":"},"\u0074s":5}"#,
        r#"{"channel":"x","payload":{"a":1,"a":2,"b":18446744073709551615,"c":-1}}"#,
        r#"{"channel":"oddsFutures","payload":{"odds":{"bk":{"k":{"price":1.5e0,"x":null}}}}}"#,
    ];
    for text in kept {
        let mut buf = text.as_bytes().to_vec();
        let fast = parse_ws_fast(&mut buf);
        let Ok(WsMessage::Data(d)) = &fast else {
            panic!("{text}: {fast:?}")
        };
        let Payload::Other(payload) = &d.payload else {
            panic!("{text}: {d:?}")
        };
        assert!(payload.is_unparsed_text(), "{text}: built eagerly");
        assert_eq!(fast, parse_ws_json(text.as_bytes()), "{text}");
        assert!(!payload.is_unparsed_text());
    }
    let built = [
        // line breaks: raw is rewritten on one line by the generic path
        "{\n \"channel\": \"x\",\n\t\"payload\":\r\n {\"a\": 1}\n}\n",
        r#"{"channel":"x","\u0070ayload":{"a":1}}"#,
        r#"{"channel":"x","payload":{"a":-0}}"#,
        r#"{"channel":"x","payload":{"a":1e400}}"#,
        r#"{"channel":"x","payload":[-1e400]}"#,
        r#"{"channel":"x","payload":[18446744073709551616]}"#,
        r#"{"channel":"x","payload":"text"}"#,
        r#"{"channel":"x","payload":5}"#,
        r#"{"channel":"x","payload":null}"#,
        r#"{"channel":"x","payload":{"a":"\ud800"}}"#,
        r#"{"channel":"x","payload":{"a":1},"payload":{"a":2}}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":1}}}}"#,
    ];
    for text in built {
        let mut buf = text.as_bytes().to_vec();
        if let Ok(WsMessage::Data(d)) = parse_ws_fast(&mut buf)
            && let Payload::Other(payload) = &d.payload
        {
            assert!(!payload.is_unparsed_text(), "{text}: kept as text");
        }
        both(text).ok();
    }
    // a payload kept as text owned, cloned, compared and printed like the value
    let mut buf = br#"{"channel":"x","payload":{"b":[true,null]}}"#.to_vec();
    let Ok(WsMessage::Data(DataMessage {
        payload: Payload::Other(payload),
        ..
    })) = parse_ws_fast(&mut buf)
    else {
        panic!()
    };
    let expected = json!({"b":[true,null]});
    assert_eq!(payload.clone().into_value(), expected);
    assert!(payload.is_unparsed_text());
    assert_eq!(Value::from(payload.clone()), expected);
    assert_eq!(format!("{payload:?}"), format!("{expected:?}"));
    assert_eq!(payload["b"][0], true);
    assert_eq!(payload.into_value(), expected);
}
