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
            Payload::Other(json!({"fixtureId":"f","odds":{"bk":{"id":{"price":"high"}}}}))
        );
        let reason = d.typed_error.unwrap_or_default();
        assert!(reason.starts_with("odds payload: "), "{reason}");
        assert_eq!(d.raw, text);
    }
    // a payload of the wrong JSON type
    let d = data(r#"{"channel":"scores","payload":[1,2]}"#);
    assert_eq!(d.payload, Payload::Other(json!([1, 2])));
    assert!(
        d.typed_error
            .is_some_and(|e| e.starts_with("scores payload: "))
    );
    // unknown channels are untyped but not errors
    let d = data(r#"{"channel":"injuries","payload":{"a":1}}"#);
    assert_eq!(
        (d.payload, d.typed_error),
        (Payload::Other(json!({"a":1})), None)
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
    assert_eq!(d.payload, Payload::Other(json!("é😀\"\\/")));
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
        Payload::Other(json!(18_446_744_073_709_551_616.0))
    );
    let d = data(r#"{"channel":"x","payload":-9223372036854775809}"#);
    assert_eq!(
        d.payload,
        Payload::Other(json!(-9_223_372_036_854_775_809.0))
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
            reason: None
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

    fn reject(bytes: &[u8], detail_part: &str) {
        match msgpack_to_json(bytes) {
            Err(ModelError::BadMsgpack { detail, raw }) => {
                assert!(
                    detail.contains(detail_part),
                    "{detail:?} lacks {detail_part:?}"
                );
                assert_eq!(raw, bytes);
            }
            other => panic!("{bytes:02x?} must be bad_msgpack, got {other:?}"),
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

    #[test]
    fn reserved_marker_reads_as_nil() {
        // rmpv maps the never-used marker 0xc1 to nil; pinned so a change is noticed.
        assert_eq!(msgpack_to_json(&[0xc1]), Ok(Value::Null));
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
