//! Property tests: the fast and plain JSON paths agree on generated data messages,
//! MessagePack encodings of JSON envelopes decode back to the same value, and the
//! envelope-only mode accepts, refuses and reads envelopes exactly as the typed mode does.

use oddsfeed_model::ModelError;
use oddsfeed_model::ws::{
    FastParser, Payload, PayloadMode, WsMessage, parse_ws_fast, parse_ws_json, parse_ws_msgpack,
};
use oddsfeed_model::{EntryId, msgpack_to_json};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn finite() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("finite", |f| f.is_finite()),
        (1u32..100_000).prop_map(|n| f64::from(n) / 100.0),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._:-]{0,12}",
        "[ -~]{0,8}",
        "[\u{0}-\u{1f}\"\\\\é€😀\u{2028}]{0,6}",
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        finite().prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

fn any_json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..5)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// A numeric id spelled as a number or as a string.
fn numeric_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<u32>().prop_map(Value::from),
        any::<u32>().prop_map(|n| Value::String(n.to_string())),
    ]
}

fn nullable<S: Strategy<Value = Value>>(inner: S) -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), inner]
}

fn outcome() -> impl Strategy<Value = Value> {
    (
        (
            "[a-z]{3,8}",
            numeric_id(),
            numeric_id(),
            numeric_id(),
            finite(),
        ),
        (
            "[0-9]{1,3}/[0-9]{1,3}",
            any::<i32>(),
            any::<bool>(),
            any::<u64>(),
            nullable(any::<bool>().prop_map(Value::Bool)),
        ),
        (
            nullable(finite().prop_map(Value::from)),
            any_json(),
            any_json(),
            nullable(numeric_id()),
            any::<u64>(),
        ),
    )
        .prop_map(|(a, b, c)| {
            json!({
                "bookmaker": a.0, "outcomeId": a.1, "playerId": a.2, "marketId": a.3, "price": a.4,
                "priceFractional": b.0, "priceAmerican": b.1, "active": b.2, "changedAt": b.3,
                "marketActive": b.4, "mainLine": null, "limit": c.0, "betslip": c.1, "meta": c.2,
                "bookmakerMarketId": c.3, "bookmakerOutcomeId": "home", "bookmakerChangedAt": c.4,
                "unmodelled": "kept in raw",
            })
        })
}

fn odds() -> impl Strategy<Value = Value> {
    (
        "id[0-9]{6,16}",
        prop::collection::btree_map(
            "[a-z]{3,8}",
            prop::collection::btree_map("[a-z0-9:]{4,20}", outcome(), 0..3),
            0..3,
        ),
    )
        .prop_map(|(fixture, odds)| json!({"fixtureId": fixture, "odds": odds}))
}

fn scores() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        "[a-z0-9]{1,8}",
        (any::<u8>(), any::<u8>(), "[0-9T:.+-]{0,30}"),
        0..4,
    )
    .prop_map(|periods| {
        let scores: Map<String, Value> = periods
            .into_iter()
            .map(|(period, (a, b, at))| {
                let score = json!({"period": period, "participant1Score": a,
                    "participant2Score": b, "updatedAt": at});
                (period, score)
            })
            .collect();
        json!({"fixtureId": "id1500025662664057", "scores": scores})
    })
}

fn fixtures() -> impl Strategy<Value = Value> {
    (any::<bool>(), any::<i16>(), any_json(), any::<u32>(), any_json()).prop_map(
        |(live, status, sport, start, participants)| {
            json!({"fixtureId": "id1", "status": {"live": live, "statusId": status, "statusName": "x"},
                "sport": sport, "tournament": {"tournamentId": 1}, "season": null, "venue": null,
                "participants": participants, "startTime": start, "trueStartTime": null})
        },
    )
}

fn clocks() -> impl Strategy<Value = Value> {
    (any_json(), nullable(any::<bool>().prop_map(Value::Bool))).prop_map(|(time, stopped)| {
        json!({"fixtureId": "f", "clock": {"currentPeriod": "1H", "currentTime": time,
            "remainingTime": null, "remainingTimeInPeriod": null, "stopped": stopped}})
    })
}

fn bookmakers() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(
        "[a-z]{3,8}",
        (any::<bool>(), any::<bool>(), any_json()),
        0..4,
    )
    .prop_map(|books| {
        let books: Map<String, Value> = books
            .into_iter()
            .map(|(bk, (has, stale, at))| {
                let state = json!({"bookmaker": bk, "hasOdds": has, "staleOdds": stale,
                        "suspended": false, "updatedAt": at});
                (bk, state)
            })
            .collect();
        json!({"fixtureId": "f", "bookmakers": books})
    })
}

/// A channel with a payload that fits its typed view (`true`) or arbitrary JSON (`false`).
fn channel_and_payload() -> impl Strategy<Value = (String, Value, bool)> {
    prop_oneof![
        odds().prop_map(|p| ("odds".to_owned(), p, true)),
        scores().prop_map(|p| ("scores".to_owned(), p, true)),
        fixtures().prop_map(|p| ("fixtures".to_owned(), p, true)),
        clocks().prop_map(|p| ("clocks".to_owned(), p, true)),
        bookmakers().prop_map(|p| ("bookmakers".to_owned(), p, true)),
        (
            prop::sample::select(vec![
                "odds",
                "scores",
                "fixtures",
                "clocks",
                "bookmakers",
                "futures"
            ]),
            any_json()
        )
            .prop_map(|(c, p)| (c.to_owned(), p, false)),
    ]
}

fn envelope() -> impl Strategy<Value = (Value, bool)> {
    (
        channel_and_payload(),
        prop_oneof![
            Just(None),
            Just(Some(json!("UPDATE"))),
            Just(Some(json!("deleted"))),
            Just(Some(json!(3)))
        ],
        prop_oneof![
            Just(None),
            any::<u64>().prop_map(|t| Some(json!(t))),
            Just(Some(json!("1")))
        ],
        prop_oneof![
            Just(None),
            (any::<u64>(), any::<u64>()).prop_map(|(t, s)| Some(json!(format!("{t}-{s}")))),
            text().prop_map(|t| Some(json!(t))),
            any::<u64>().prop_map(|n| Some(json!(n))),
        ],
        prop::collection::vec(("x[a-z]{0,6}", any_json()), 0..3),
    )
        .prop_flat_map(|((channel, payload, typed), kind, ts, entry, extra)| {
            let mut fields = vec![
                ("channel".to_owned(), Value::String(channel)),
                ("payload".to_owned(), payload),
            ];
            if let Some(kind) = kind {
                fields.push(("type".to_owned(), kind));
            }
            if let Some(ts) = ts {
                fields.push(("ts".to_owned(), ts));
            }
            if let Some(entry) = entry {
                fields.push(("entryId".to_owned(), entry));
            }
            fields.extend(extra);
            (Just(fields).prop_shuffle(), Just(typed))
        })
        .prop_map(|(fields, typed)| (Value::Object(fields.into_iter().collect()), typed))
}

/// Writes a JSON value the way another producer might: numbers, strings and separators
/// spelled differently, chosen by a seeded generator (SplitMix64). With `keep_values`
/// every spelling reads back as the same value (exponents, trailing zeros, `\/` and
/// `\uXXXX` escapes, spaces); without it integers may also become floats (`7.0`, `7e0`)
/// and zero may be written `-0`.
struct Respell {
    state: u64,
    keep_values: bool,
    out: String,
}

impl Respell {
    fn text(value: &Value, seed: u64, keep_values: bool) -> String {
        let mut r = Respell {
            state: seed,
            keep_values,
            out: String::new(),
        };
        r.value(value);
        r.out
    }

    fn roll(&mut self, n: u64) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }

    fn separator(&mut self, c: char) {
        self.out.push(c);
        if self.roll(4) == 0 {
            self.out.push(' ');
        }
    }

    fn value(&mut self, value: &Value) {
        match value {
            Value::Object(map) => {
                self.out.push('{');
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        self.separator(',');
                    }
                    self.string(k);
                    self.separator(':');
                    self.value(v);
                }
                self.out.push('}');
            }
            Value::Array(items) => {
                self.out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        self.separator(',');
                    }
                    self.value(v);
                }
                self.out.push(']');
            }
            Value::String(s) => self.string(s),
            Value::Number(n) => self.number(n),
            other => self.out.push_str(&other.to_string()),
        }
    }

    fn number(&mut self, n: &serde_json::Number) {
        let plain = n.to_string();
        let text = match (n.as_f64(), n.is_f64(), self.roll(5)) {
            (Some(f), true, 0) => format!("{f:e}"),
            (Some(f), true, 1) => format!("{f:E}"),
            (Some(_), true, 2) if plain.contains('.') && !plain.contains('e') => {
                format!("{plain}000")
            }
            (_, false, 3) if !self.keep_values && n.as_u64() == Some(0) => "-0".to_owned(),
            (_, false, 4) if !self.keep_values => format!("{plain}.0"),
            (_, false, 0) if !self.keep_values && plain.len() < 15 => format!("{plain}e0"),
            _ => plain,
        };
        self.out.push_str(&text);
    }

    fn string(&mut self, s: &str) {
        let style = self.roll(3);
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '/' if style == 1 => self.out.push_str("\\/"),
                c if (c as u32) < 0x20 || (style == 2 && !c.is_ascii()) => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

proptest! {
    #[test]
    fn other_spellings_agree_and_keep_raw(
        (message, typed) in envelope(),
        seed in any::<u64>(),
        keep_values in any::<bool>(),
    ) {
        let text = Respell::text(&message, seed, keep_values);
        let plain = parse_ws_json(text.as_bytes());
        let fast = parse_ws_fast(&mut text.clone().into_bytes());
        prop_assert_eq!(&fast, &plain);
        let Ok(WsMessage::Data(data)) = plain else {
            return Err(TestCaseError::fail(format!("not a data message: {plain:?}")));
        };
        // raw is the text as received: it is on one line
        prop_assert_eq!(&data.raw, &text);
        if keep_values {
            let want = parse_ws_json(message.to_string().as_bytes());
            let Ok(WsMessage::Data(want)) = want else {
                return Err(TestCaseError::fail(format!("not a data message: {want:?}")));
            };
            prop_assert_eq!(&data.payload, &want.payload);
            prop_assert_eq!((&data.ts, &data.entry_id, &data.kind), (&want.ts, &want.entry_id, &want.kind));
            if typed {
                prop_assert_eq!(data.typed_error.as_deref(), None);
            }
        }
    }

    #[test]
    fn fast_and_plain_paths_agree((message, typed) in envelope(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&message).unwrap_or_default()
        } else {
            message.to_string()
        };
        let plain = parse_ws_json(text.as_bytes());
        let fast = parse_ws_fast(&mut text.clone().into_bytes());
        prop_assert_eq!(&fast, &plain);
        let Ok(WsMessage::Data(data)) = plain else {
            return Err(TestCaseError::fail(format!("not a data message: {plain:?}")));
        };
        // raw is the compact one-line form
        prop_assert_eq!(&data.raw, &message.to_string());
        if typed {
            prop_assert_eq!(data.typed_error.as_deref(), None);
            prop_assert!(!matches!(data.payload, Payload::Other(_)));
        }
        let entry = message.get("entryId");
        match entry.and_then(Value::as_str).map(str::parse::<EntryId>) {
            Some(Ok(id)) => prop_assert_eq!(data.entry_id, Some(id)),
            _ => prop_assert_eq!(data.entry_id, None),
        }
    }

    #[test]
    fn msgpack_encoding_decodes_to_the_same_value((message, _typed) in envelope()) {
        let bytes = rmp_serde::to_vec_named(&message).unwrap_or_default();
        prop_assert_eq!(msgpack_to_json(&bytes), Ok(message.clone()));
        prop_assert_eq!(parse_ws_msgpack(&bytes), parse_ws_json(message.to_string().as_bytes()));
    }

    #[test]
    fn msgpack_of_any_json_round_trips(value in any_json()) {
        let bytes = rmp_serde::to_vec_named(&value).unwrap_or_default();
        prop_assert_eq!(msgpack_to_json(&bytes), Ok(value));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_paths_agree(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let plain = parse_ws_json(&bytes);
        let fast = parse_ws_fast(&mut bytes.clone());
        prop_assert_eq!(fast, plain);
        let _ = msgpack_to_json(&bytes);
        let _ = oddsfeed_model::parse_ws_text(&String::from_utf8_lossy(&bytes));
    }
}

/// The payload ids envelope mode noted are what serde_json reads under `payload` in `raw`.
fn check_ids(message: &Result<WsMessage, ModelError>) -> Result<(), TestCaseError> {
    let Ok(WsMessage::Data(data)) = message else {
        return Ok(());
    };
    let Payload::Unparsed(Some(ids)) = &data.payload else {
        return Ok(());
    };
    let doc: serde_json::Value = serde_json::from_str(&data.raw)
        .map_err(|e| TestCaseError::fail(format!("raw is not JSON: {e}")))?;
    let id = |key: &str| {
        doc["payload"]
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    prop_assert_eq!(
        ids.fixture_id.as_deref().map(str::to_owned),
        id("fixtureId"),
        "{}",
        &data.raw
    );
    prop_assert_eq!(
        ids.future_id.as_deref().map(str::to_owned),
        id("futureId"),
        "{}",
        &data.raw
    );
    Ok(())
}

/// The message with the payload ids envelope mode noted dropped, as the typed path gives it.
fn without_ids(message: Result<WsMessage, ModelError>) -> Result<WsMessage, ModelError> {
    message.map(|m| match m {
        WsMessage::Data(mut data) if data.payload.is_unparsed() => {
            data.payload = Payload::Unparsed(None);
            WsMessage::Data(data)
        }
        other => other,
    })
}

/// Parses `bytes` typed and envelope-only (each on its own copy, with a fresh parser and one
/// reused across calls) and checks that envelope mode is the typed result without the payload.
fn check_envelope_mode(
    bytes: &[u8],
    reused: &mut FastParser,
) -> Result<Result<WsMessage, ModelError>, TestCaseError> {
    let typed = FastParser::new().parse(&mut bytes.to_vec());
    let envelope = FastParser::new()
        .with_payload_mode(PayloadMode::Envelope)
        .parse(&mut bytes.to_vec());
    let again = reused.parse(&mut bytes.to_vec());
    check_ids(&envelope)?;
    check_ids(&again)?;
    let (envelope, again) = (without_ids(envelope), without_ids(again));
    let expected = typed
        .clone()
        .map(|m| m.with_payload_mode(PayloadMode::Envelope));
    prop_assert_eq!(
        &envelope,
        &expected,
        "input {:?}",
        String::from_utf8_lossy(bytes)
    );
    prop_assert_eq!(&again, &expected);
    if let Ok(WsMessage::Data(data)) = &envelope {
        prop_assert!(data.payload.is_unparsed());
    }
    // The node limit is checked before either mode parses (`too_complex` alike).
    let tight = FastParser::new()
        .with_max_nodes(8)
        .parse(&mut bytes.to_vec());
    let tight_envelope = FastParser::new()
        .with_max_nodes(8)
        .with_payload_mode(PayloadMode::Envelope)
        .parse(&mut bytes.to_vec());
    check_ids(&tight_envelope)?;
    prop_assert_eq!(
        without_ids(tight_envelope),
        tight.map(|m| m.with_payload_mode(PayloadMode::Envelope))
    );
    Ok(typed)
}

/// A few control frames and near-misses of data messages, for the envelope-mode comparison.
fn odd_documents() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        r#"{"type":"reconnect","reason":"server_upgrade"}"#,
        r#"{"channel":"odds","type":"login_ok","payload":{}}"#,
        r#"{"channel":"odds","channel":"odds","payload":{}}"#,
        r#"{"channel":"odds","payload":{},"payload":{"fixtureId":"a"}}"#,
        r#"{"channel":"odds","payload":{},"entryId":"1-1","entryId":"2-2"}"#,
        r#"{"channel":7,"payload":{}}"#,
        r#"{"channel":"odds"}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{}},"ts":-0,"entryId":"1-1"}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{}},"ts":1.5,"entryId":[1,{"a":-0.0}]}"#,
        r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{}},"ts":18446744073709551616}"#,
        r#"{"channel":"odds","payload":{"odds":7},"type":null,"entryId":"x"}"#,
        "{\"channel\":\"odds\",\n\"payload\":{}}",
        r#"[{"channel":"odds","payload":{}}]"#,
        r#"{"channel":"odds","payload":{"fixtureId":"a","fixtureId":"b"},"entryId":"1-1"}"#,
        r#"{"channel":"bookmakersFutures","payload":{"futureId":"f\u002e1","fixtureId":12}}"#,
        r#"{"channel":"odds","payload":{"fixtureId":null,"futureId":"","odds":{"fixtureId":"no"}}}"#,
        r#"{"channel":"odds","payload":{"fixture\u0049d":"esc aped"}}"#,
        r#"{"channel":"odds","payload":[{"fixtureId":"a"}]}"#,
        r#"{"channel":"odds","payload":{}} {"channel":"odds","payload":{}}"#,
    ])
    .prop_map(str::to_owned)
}

proptest! {
    #[test]
    fn envelope_mode_reads_generated_messages_as_typed((message, _typed) in envelope(), pretty in any::<bool>()) {
        let text = if pretty {
            serde_json::to_string_pretty(&message).unwrap_or_default()
        } else {
            message.to_string()
        };
        let mut reused = FastParser::new().with_payload_mode(PayloadMode::Envelope);
        let typed = check_envelope_mode(text.as_bytes(), &mut reused)?;
        prop_assert!(matches!(typed, Ok(WsMessage::Data(_))));
    }

    #[test]
    fn envelope_mode_refuses_exactly_what_typed_mode_refuses(
        (message, _typed) in envelope(),
        odd in odd_documents(),
        which in any::<bool>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 0..4),
    ) {
        let mut bytes = if which { message.to_string().into_bytes() } else { odd.into_bytes() };
        // Damage the document: overwrite, insert or remove bytes (bad JSON, bad UTF-8, ...).
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let at = at.index(bytes.len());
            match op {
                0 => bytes[at] = byte,
                1 => bytes.insert(at, byte),
                _ => {
                    bytes.remove(at);
                }
            }
        }
        let mut reused = FastParser::new().with_payload_mode(PayloadMode::Envelope);
        let _typed = check_envelope_mode(&bytes, &mut reused)?;
    }

    #[test]
    fn envelope_mode_agrees_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut reused = FastParser::new().with_payload_mode(PayloadMode::Envelope);
        let _typed = check_envelope_mode(&bytes, &mut reused)?;
    }
}
