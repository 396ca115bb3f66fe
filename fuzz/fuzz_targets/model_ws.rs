//! Fuzz target: the WebSocket parsers of `oddsfeed_model` (docs/PROTOCOL.md B.5,
//! "Robustness rules"): `parse_ws_fast` (simd-json, on a copy of the input),
//! `parse_ws_json` (serde_json), `parse_ws_text`, `msgpack_to_json` and
//! `parse_ws_msgpack`.
//!
//! The whole input is one frame, fed to every parser. Invariants checked:
//! - no parser panics, and no error is fatal or keeps more than `RAW_CAP`
//!   bytes;
//! - the fast and the plain path both succeed or both fail (with the same
//!   reason); when they succeed they agree on the classification (control
//!   kind or data), for data on the channel, the entry id and the raw text
//!   read as a JSON value, and in fact on the whole value (as documented);
//! - a data message's `raw` is JSON;
//! - the envelope-only mode (`PayloadMode::Envelope`) gives the typed mode's
//!   result with the payload dropped: the same errors, control frames and
//!   envelope fields; the payload ids it notes are serde_json's reading;
//! - a frame one plain parse accepts is, as a text frame, that one message;
//! - MessagePack: the converted value survives a JSON text round trip, and
//!   `parse_ws_msgpack` succeeds exactly on maps.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oddsfeed_model::ws::{
    Control, FastParser, Payload, PayloadMode, WsMessage, parse_ws_fast, parse_ws_json,
    parse_ws_text,
};
use oddsfeed_model::{ModelError, RAW_CAP, msgpack_to_json, parse_ws_msgpack};
use serde_json::Value;

/// The classification of a message: the control kind or `"data"`.
fn class(message: &WsMessage) -> &'static str {
    match message {
        WsMessage::Control(control) => control.kind(),
        WsMessage::Data(_) => "data",
        // A kind the model learns later (WsMessage is non_exhaustive).
        _ => "other",
    }
}

/// Reads `raw` as JSON; a data message's raw text must be JSON.
fn raw_value(raw: &str) -> Value {
    serde_json::from_str(raw).unwrap_or_else(|e| panic!("raw is not JSON ({e}): {raw:?}"))
}

fn check_error(error: &ModelError) {
    assert!(!error.is_fatal());
    assert!(
        error.raw().len() <= RAW_CAP,
        "error keeps {} bytes",
        error.raw().len()
    );
}

fn check_message(result: &Result<WsMessage, ModelError>) {
    match result {
        Ok(WsMessage::Data(data)) => {
            raw_value(&data.raw);
            assert!(!data.raw.contains(['\n', '\r']), "raw is one line");
        }
        Ok(WsMessage::Control(Control::Unknown(value))) => assert!(value.is_object()),
        Ok(WsMessage::Control(_)) => {}
        // A kind the model learns later (WsMessage is non_exhaustive).
        Ok(_) => {}
        Err(e) => check_error(e),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut copy = data.to_vec();
    let fast = parse_ws_fast(&mut copy);
    let plain = parse_ws_json(data);
    check_message(&fast);
    check_message(&plain);
    match (&fast, &plain) {
        (Ok(f), Ok(p)) => {
            assert_eq!(class(f), class(p), "fast and plain classify differently");
            if let (WsMessage::Data(f), WsMessage::Data(p)) = (f, p) {
                assert_eq!(f.channel, p.channel);
                assert_eq!(f.entry_id, p.entry_id);
                assert_eq!(raw_value(&f.raw), raw_value(&p.raw));
            }
            // The crate promises the very same value from both paths.
            assert_eq!(f, p, "fast and plain parse differ");
        }
        (Err(f), Err(p)) => assert_eq!(f.reason(), p.reason(), "fast and plain fail differently"),
        _ => panic!("one path accepts, the other refuses: fast {fast:?}, plain {plain:?}"),
    }
    let mut envelope = FastParser::new()
        .with_payload_mode(PayloadMode::Envelope)
        .parse(&mut data.to_vec());
    // The payload ids envelope mode notes are serde_json's reading of `payload` in `raw`; then
    // they are dropped for the comparison (the typed path does not note them).
    if let Ok(WsMessage::Data(d)) = &mut envelope {
        if let Payload::Unparsed(Some(ids)) = &d.payload {
            let doc = raw_value(&d.raw);
            let id = |key: &str| doc["payload"].get(key).and_then(Value::as_str);
            assert_eq!(ids.fixture_id.as_deref(), id("fixtureId"), "noted fixtureId");
            assert_eq!(ids.future_id.as_deref(), id("futureId"), "noted futureId");
        }
        d.payload = Payload::Unparsed(None);
    }
    assert_eq!(
        envelope,
        fast.clone()
            .map(|message| message.with_payload_mode(PayloadMode::Envelope)),
        "envelope-only and typed modes disagree"
    );

    if let Ok(text) = std::str::from_utf8(data) {
        let messages = parse_ws_text(text);
        assert!(
            !messages.is_empty(),
            "a text frame gives at least one result"
        );
        messages.iter().for_each(check_message);
        if let Ok(p) = &plain {
            assert_eq!(messages.len(), 1, "one document, one message");
            if let Some(Ok(t)) = messages.first() {
                assert_eq!(t, p, "text frame and plain parse disagree");
            }
        }
    }

    let converted = msgpack_to_json(data);
    let message = parse_ws_msgpack(data);
    check_message(&message);
    match converted {
        Ok(value) => {
            let text = value.to_string();
            let back: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("converted MessagePack is not JSON text ({e})"));
            assert_eq!(back, value, "JSON round trip changed the value");
            assert_eq!(
                message.is_ok(),
                value.is_object(),
                "msgpack map <=> message"
            );
            if let Ok(WsMessage::Data(d)) = &message {
                assert_eq!(d.raw, text);
            }
        }
        Err(e) => {
            check_error(&e);
            assert!(matches!(e.reason(), "bad_msgpack" | "too_complex"), "{e}");
            assert!(message.is_err());
        }
    }
    // The direct MessagePack reader and the converting path agree exactly.
    assert_eq!(
        message,
        oddsfeed_model::ws::parse_ws_msgpack_converting(data),
        "direct and converting MessagePack paths disagree"
    );
});
