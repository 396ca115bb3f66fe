//! The bad-input table of docs/PROTOCOL.md ("Robustness rules"), one test per row, against the
//! sans-IO sessions of both feeds (docs/RELIABILITY.md, "Bad-input table").
//!
//! Every row feeds a realistic stream in virtual time: the handshake (`login_ok` and the `odds`
//! dictionary, or the IMG init response, snapshot and subscription), several good messages,
//! the bad input, more good messages. Each then checks three things:
//!
//! 1. the specific report (decode reason, warning or event, with its details), counted;
//! 2. the session goes on: no close, reconnect or stop caused by the bad input, the same
//!    connection still streaming;
//! 3. every good message arrives exactly once, in order (entryIds for the WebSocket feed, the
//!    server's lines for the IMG feed).
//!
//! Peak-memory checks live in `bad_input_memory.rs` (their own process: `VmHWM` is per
//! process and these tests run in parallel threads).

mod support;

use std::time::Duration;

use oddsfeed_model::img::{PushBody, PushKind};
use oddsfeed_model::ws::Payload;
use oddsfeed_model::{ApiKey, EntryId};
use oddsfeed_session::img::{Event as ImgEvent, ImgSessionConfig};
use oddsfeed_session::ws::{
    Action, CloseInfo, ConnPhase, DecodeError, DecodeErrorKind, Event, FrameKind, RAW_CAP,
    ReconnectDelay, WarningKind, WsConfig,
};

use support::*;

const MIB: usize = 1 << 20;

/// The only non-data event must be one decode error; returns it.
fn single_decode_error(events: &[Event]) -> &DecodeError {
    match non_data(events).as_slice() {
        [Event::DecodeError(e)] => e,
        other => panic!("expected exactly one decode_error, got {other:?}"),
    }
}

fn decode_errors(events: &[Event]) -> Vec<&DecodeError> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DecodeError(d) => Some(d),
            _ => None,
        })
        .collect()
}

fn entry(s: &str) -> EntryId {
    s.parse().expect("test entryId")
}

// ================================================================================================
// WebSocket feed (docs/PROTOCOL.md Part B)
// ================================================================================================

/// Row "oversize frame (B)": never buffer more than `max_frame`; skip with `frame_too_large`.
#[test]
fn ws_oversize_frame_is_skipped_as_frame_too_large() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..8);
    rig.send(&good[..4]);

    // What `sim ws --bomb-at` sends in the non-zstd modes: one byte over 4 MiB. Here it even
    // starts like a zstd frame; the size check comes first, so nothing is decompressed.
    let mut big = vec![b'x'; 4 * MIB + 1];
    big[..4].copy_from_slice(&[0x28, 0xB5, 0x2F, 0xFD]);
    rig.binary(&big);
    // A text frame of the same size (a server flooding control frames) is refused the same way.
    let mut text = vec![b' '; 4 * MIB + 1];
    text[0] = b'{';
    text[4 * MIB] = b'}';
    rig.frame(FrameKind::Text, &text);
    rig.send(&good[4..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(errors.len(), 2, "{:?}", non_data(&events));
    for e in &errors {
        assert_eq!(e.kind, DecodeErrorKind::FrameTooLarge);
        assert_eq!(e.kind.as_str(), "frame_too_large");
        assert_eq!(
            e.detail(),
            "frame too large: 4194305 bytes exceed the 4194304-byte limit; skipped"
        );
        assert_eq!(e.len, 4 * MIB + 1);
        assert_eq!(
            e.raw.len(),
            RAW_CAP,
            "the report keeps 4 KiB, not the frame"
        );
        assert_eq!(e.dict_id, None);
    }
    assert_eq!(errors[0].raw[..4], [0x28, 0xB5, 0x2F, 0xFD]);
    assert_eq!(non_data(&events).len(), 2);
    assert_eq!(
        rig.s
            .stats()
            .decode_errors_for(DecodeErrorKind::FrameTooLarge),
        2
    );
    // The decompressor never saw it.
    assert_eq!(rig.s.decoder().decompressor().stats().errors(), 0);
    rig.assert_still_streaming();
}

/// Row "invalid UTF-8": `invalid_utf8`, skipped; in a text frame and inside a zstd frame.
#[test]
fn ws_invalid_utf8_is_skipped() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);

    // A control-looking text frame with a Latin-1 byte (0xE9) in it.
    let mut bad_text = br#"{"type":"resume_complete","serverEpoch":"caf"#.to_vec();
    bad_text.extend_from_slice(&[0xE9, b'"', b'}']);
    rig.frame(FrameKind::Text, &bad_text);
    rig.send(&good[3..6]);

    // An odds message whose decompressed bytes are not UTF-8 (a truncated multi-byte sequence).
    let mut doc = odds_json(900, 1_766_400_050_000, 900).into_bytes();
    let at = doc.len() - 10;
    doc.insert(at, 0xC3);
    let bad_zstd = zstd_frame(&doc, Some(odds_dict()));
    rig.binary(&bad_zstd);
    rig.send(&good[6..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(non_data(&events).len(), 2, "{:?}", non_data(&events));

    assert_eq!(errors[0].kind, DecodeErrorKind::InvalidUtf8);
    assert_eq!(
        errors[0].detail(),
        format!(
            "invalid UTF-8: valid up to byte {} of {}; skipped",
            bad_text.len() - 3,
            bad_text.len()
        )
    );
    assert_eq!(errors[0].raw, bad_text);
    assert_eq!(
        (errors[0].channel.as_deref(), errors[0].dict_id),
        (None, None)
    );

    assert_eq!(errors[1].kind, DecodeErrorKind::InvalidUtf8);
    assert_eq!(
        errors[1].channel.as_deref(),
        Some("odds"),
        "named by its dictionary"
    );
    assert_eq!(errors[1].dict_id, Some(ODDS_DICT_ID));
    assert_eq!(errors[1].raw, doc, "the decompressed document is kept");

    assert_eq!(
        rig.s
            .stats()
            .decode_errors_for(DecodeErrorKind::InvalidUtf8),
        2
    );
    assert_eq!(rig.s.stats().decode_errors_total(), 2);
    rig.assert_still_streaming();
}

/// Row "not JSON": `bad_json`, in a text frame and inside a zstd frame.
#[test]
fn ws_non_json_is_skipped_as_bad_json() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);

    // What `sim ws --bad-json-at` puts in a text frame / in a zstd frame.
    rig.text("this is not JSON");
    rig.send(&good[3..6]);
    let cut = odds_json(901, 1_766_400_060_000, 901);
    let cut = &cut[..cut.len() / 2];
    rig.binary(&zstd_frame(cut.as_bytes(), Some(odds_dict())));
    rig.send(&good[6..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(non_data(&events).len(), 2, "{:?}", non_data(&events));
    assert_eq!(errors[0].kind, DecodeErrorKind::BadJson);
    assert!(
        errors[0].detail().starts_with("bad JSON: "),
        "{}",
        errors[0].detail()
    );
    assert_eq!(errors[0].raw, b"this is not JSON");
    assert_eq!(errors[1].kind, DecodeErrorKind::BadJson);
    assert_eq!(errors[1].channel.as_deref(), Some("odds"));
    assert_eq!(errors[1].dict_id, Some(ODDS_DICT_ID));
    assert_eq!(errors[1].raw, cut.as_bytes());
    assert_eq!(rig.s.stats().decode_errors_for(DecodeErrorKind::BadJson), 2);
    rig.assert_still_streaming();
}

/// Row "not an object" and "typed-view mismatch; bad entryId": `[1,2]` is `bad_json`; a data
/// message whose payload has the wrong types is delivered as JSON with `typed_error` (it has a
/// good entryId, so it moves the cursor like any delivered message, B.9 step 1); a data
/// message with a bad entryId is delivered, warned about, and leaves the cursor alone.
#[test]
fn ws_wrong_shape_json() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..12);
    rig.send(&good[..3]);

    // Valid JSON, not an object: in a text frame and in a dictless zstd frame.
    rig.text("[1,2]");
    rig.binary(&zstd_frame(b"[1,2]", None));
    rig.send(&good[3..6]);

    // An odds message (entryId after good[5]) whose payload has the wrong types.
    let mistyped = r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":12345,"odds":"suspended"},"ts":1766400000550,"entryId":"1766400000550-550"}"#;
    rig.binary(&zstd_frame(mistyped.as_bytes(), Some(odds_dict())));
    let cursor_after_mistyped = rig.s.delivered_cursors().get("odds").copied();
    rig.send(&good[6..9]);

    // A scores message whose entryId cannot be parsed.
    let bad_id = scores_json(902, 1_766_400_000_890, 0)
        .replace(r#""entryId":"1766400000890-0""#, r#""entryId":"soon""#);
    let scores_cursor = rig.s.delivered_cursors().get("scores").copied();
    rig.binary(&zstd_frame(bad_id.as_bytes(), None));
    assert_eq!(
        rig.s.delivered_cursors().get("scores").copied(),
        scores_cursor,
        "a bad entryId leaves the cursor unchanged"
    );
    rig.send(&good[9..]);

    let events = rig.take_events();
    // Good messages in order, plus the two that are delivered despite their problems.
    let mut want = keys(&good);
    want.insert(6, "odds 1766400000550-550".to_owned());
    want.insert(10, "scores ".to_owned());
    assert_eq!(delivered(&events), want);

    let data: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::Data(m) => Some(m),
            _ => None,
        })
        .collect();
    let m = data[6];
    assert_eq!(m.entry_id, Some(entry("1766400000550-550")));
    assert!(matches!(m.payload, Payload::Other(_)), "{:?}", m.payload);
    let typed_error = m.typed_error.as_deref().unwrap_or_default();
    assert!(typed_error.starts_with("odds payload: "), "{typed_error}");
    assert_eq!(m.raw, mistyped, "delivered as the JSON received");
    assert_eq!(cursor_after_mistyped, Some(entry("1766400000550-550")));
    let m = data[10];
    assert_eq!(
        (m.entry_id, m.entry_id_raw.as_deref()),
        (None, Some("soon"))
    );
    assert_eq!(m.raw, bad_id);
    assert_eq!(m.typed_error, None);

    let problems = non_data(&events);
    assert_eq!(problems.len(), 3, "{problems:?}");
    for (p, dict_id) in problems[..2].iter().zip([None, Some(0)]) {
        let Event::DecodeError(e) = p else {
            panic!("expected decode_error, got {p:?}")
        };
        assert_eq!(e.kind, DecodeErrorKind::BadJson);
        assert_eq!(
            e.detail(),
            "wrong shape: expected a JSON object, found an array"
        );
        assert_eq!(e.raw, b"[1,2]");
        assert_eq!(e.dict_id, dict_id);
    }
    assert!(
        matches!(problems[2], Event::Warning { kind: WarningKind::BadEntryId, detail }
            if detail == r#"scores message with entryId "soon": delivered, cursor unchanged"#),
        "{:?}",
        problems[2]
    );
    // Cursors: the last good entry of each channel.
    assert_eq!(
        rig.s.delivered_cursors().get("odds"),
        Some(&entry(&good[10].entry_id))
    );
    assert_eq!(
        rig.s.delivered_cursors().get("scores"),
        Some(&entry(&good[11].entry_id))
    );
    assert_eq!(rig.s.stats().decode_errors_for(DecodeErrorKind::BadJson), 2);
    assert_eq!(rig.s.stats().data_delivered, 14);
    rig.assert_still_streaming();
}

/// Row "unknown `type` or fields": a control frame of an unknown type, and an object that is
/// neither control nor data, are kept raw (`unknown_control`) and never fatal; unknown fields
/// of a data message ride along in its raw JSON.
#[test]
fn ws_unknown_control_type_is_kept_raw() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);
    let notice = r#"{"type":"maintenance_notice","message":"scheduled maintenance 2026-01-05 03:00 UTC","startsAt":1767582000000}"#;
    rig.text(notice);
    rig.send(&good[3..6]);
    let odd = r#"{"status":"degraded","components":["odds"]}"#;
    rig.text(odd);
    // A data message with a field nobody documented.
    let extra = odds_json(6, 1_766_400_000_600, 6)
        .replace(r#","ts":"#, r#","sequenceHint":{"shard":3},"ts":"#);
    rig.binary(&zstd_frame(extra.as_bytes(), Some(odds_dict())));
    rig.send(&good[7..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    assert_eq!(
        non_data(&events),
        [
            &Event::UnknownControl {
                raw: notice.to_owned()
            },
            &Event::UnknownControl {
                raw: odd.to_owned()
            },
        ]
    );
    let kept = events.iter().find_map(|e| match e {
        Event::Data(m) if m.entry_id == Some(entry(&good[6].entry_id)) => Some(m.raw.clone()),
        _ => None,
    });
    assert_eq!(kept.as_deref(), Some(extra.as_str()));
    assert_eq!(rig.s.stats().decode_errors_total(), 0);
    rig.assert_still_streaming();
}

/// Row "unknown dictId": `unknown_dict` with the id, skipped; no reconnect (the optional
/// reconnect-after-N is off by default).
#[test]
fn ws_unknown_dict_id_is_skipped() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);
    // A bookmakers message compressed with the bookmakers dictionary, never announced here.
    let doc = r#"{"channel":"bookmakers","type":"UPDATE","payload":{"bookmakers":{"stake":{"bookmaker":"stake","hasOdds":true,"staleOdds":false,"suspended":false,"updatedAt":1766400000300}}},"ts":1766400000300,"entryId":"1766400000300-1"}"#;
    let frame = zstd_frame(doc.as_bytes(), Some(bookmakers_dict()));
    for _ in 0..3 {
        rig.binary(&frame);
    }
    rig.send(&good[3..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(non_data(&events).len(), 3);
    for e in errors {
        assert_eq!(e.kind, DecodeErrorKind::UnknownDict);
        assert_eq!(e.dict_id, Some(BOOKMAKERS_DICT_ID));
        assert_eq!(
            e.detail(),
            "unknown zstd dictionary id 740826218 (known: 740826216)"
        );
        assert_eq!(e.channel, None);
        assert_eq!(e.raw, frame);
    }
    assert_eq!(
        rig.s
            .stats()
            .decode_errors_for(DecodeErrorKind::UnknownDict),
        3
    );
    rig.assert_still_streaming();
}

/// Row "output over the bound (zstd bomb)": `output_bound_exceeded`, with the default 64 MiB
/// bound, against what `sim ws --bomb-at` sends (a dictless frame inflating to 128 MiB, no
/// content size). The decompressor's buffer goes back to its retained size afterwards.
#[test]
fn ws_zstd_bomb_is_stopped_at_the_bound() {
    let mut rig = WsRig::streaming();
    assert_eq!(rig.s.config().max_decompressed, 64 * MIB);
    let good = ws_msgs(0..8);
    rig.send(&good[..4]);
    let bomb = zstd_bomb(128 * MIB);
    assert!(
        bomb.len() < 64 << 10,
        "the bomb is small on the wire: {}",
        bomb.len()
    );
    rig.binary(&bomb);
    rig.send(&good[4..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let e = single_decode_error(&events);
    assert_eq!(e.kind, DecodeErrorKind::OutputBoundExceeded);
    assert_eq!(
        e.detail(),
        "zstd output would exceed the bound of 67108864 bytes"
    );
    assert_eq!(e.dict_id, Some(0));
    assert_eq!(e.len, bomb.len());
    let zstd = rig.s.decoder().decompressor();
    assert_eq!(zstd.stats().output_bound_exceeded, 1);
    assert!(
        zstd.buffer_capacity() <= oddsfeed_zstd::RETAINED_OUTPUT_CAPACITY,
        "buffer kept after the bomb: {}",
        zstd.buffer_capacity()
    );
    rig.assert_still_streaming();
}

/// Row "dense document": a dictless zstd frame of 60 KiB inflating to 8 MiB of one valid
/// document, `{"type":"dense","items":[0,0,…]}` with 4 million elements, inside every byte bound.
/// It is refused as `too_complex` after a scan of its first 2 MiB, before simd-json allocates a
/// tape for it; nothing else is lost and the parser keeps no memory for it.
#[test]
fn ws_dense_document_is_too_complex() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..8);
    rig.send(&good[..4]);
    let mut doc = br#"{"type":"dense","items":[0"#.to_vec();
    while doc.len() < 8 * MIB {
        doc.extend_from_slice(b",0");
    }
    doc.extend_from_slice(b"]}");
    let frame = zstd_frame(&doc, None);
    assert!(frame.len() < 64 << 10, "small on the wire: {}", frame.len());
    rig.binary(&frame);
    rig.send(&good[4..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let e = single_decode_error(&events);
    assert_eq!(e.kind, DecodeErrorKind::TooComplex);
    assert_eq!(e.kind.as_str(), "too_complex");
    assert_eq!(
        e.detail(),
        "too complex: more than 1048576 values and keys in one document"
    );
    assert_eq!(e.dict_id, Some(0));
    assert_eq!(e.raw, &doc[..4096]);
    assert_eq!(e.len, 4096, "the capped copy of the decompressed document");
    let parser = rig.s.decoder().parser();
    assert_eq!(parser.retained_input_capacity(), 64 << 10);
    assert!(
        parser.retained_tape_capacity() < 4096,
        "only the good messages' tape: {}",
        parser.retained_tape_capacity()
    );
    rig.assert_still_streaming();
}

/// Row "truncated/corrupt zstd; trailing bytes": a frame cut short is `zstd_truncated`; the
/// same decompressor decodes the next frame.
#[test]
fn ws_truncated_zstd_is_skipped() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);
    let whole = zstd_frame(
        odds_json(903, 1_766_400_000_330, 903).as_bytes(),
        Some(odds_dict()),
    );
    let cut = &whole[..whole.len() - 7];
    rig.binary(cut);
    rig.send(&good[3..6]);
    // The same frame with bytes after it (another frame's start).
    let mut trailing = whole.clone();
    trailing.extend_from_slice(&good[0].frame[..12]);
    rig.binary(&trailing);
    rig.send(&good[6..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(non_data(&events).len(), 2);
    assert_eq!(errors[0].kind, DecodeErrorKind::ZstdTruncated);
    assert_eq!(errors[0].detail(), "zstd frame is truncated");
    assert_eq!(errors[0].dict_id, Some(ODDS_DICT_ID));
    assert_eq!(errors[0].channel.as_deref(), Some("odds"));
    assert_eq!(errors[0].raw, cut);
    assert_eq!(errors[1].kind, DecodeErrorKind::TrailingBytes);
    assert_eq!(errors[1].detail(), "12 trailing bytes after the zstd frame");
    assert_eq!(rig.s.stats().decode_errors_total(), 2);
    rig.assert_still_streaming();
}

/// Row "bad magic" (B.5 zstd step 1): a binary frame in `zstd-dict` mode that is not zstd (here
/// the uncompressed JSON) is `bad_magic`.
#[test]
fn ws_bad_magic_is_skipped() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);
    let plain = odds_json(904, 1_766_400_000_350, 904);
    rig.binary(plain.as_bytes());
    rig.send(&good[3..6]);
    // A MessagePack map (another mode's framing) is not zstd either.
    let msgpack = [
        0x81, 0xA7, b'c', b'h', b'a', b'n', b'n', b'e', b'l', 0xA4, b'o', b'd', b'd', b's',
    ];
    rig.binary(&msgpack);
    rig.send(&good[6..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let errors = decode_errors(&events);
    assert_eq!(non_data(&events).len(), 2);
    assert_eq!(errors[0].kind, DecodeErrorKind::BadMagic);
    assert_eq!(
        errors[0].detail(),
        "not a zstd frame: bad magic (first bytes: 7b 22 63 68 61 6e 6e 65 6c 22 3a 22 6f 64 64 73)"
    );
    assert_eq!(errors[0].raw, plain.as_bytes());
    assert_eq!(errors[1].kind, DecodeErrorKind::BadMagic);
    assert_eq!(errors[1].raw, msgpack);
    assert_eq!(
        rig.s.stats().decode_errors_for(DecodeErrorKind::BadMagic),
        2
    );
    rig.assert_still_streaming();
}

/// Row "dict frame: bad base64": `dict_rejected`; the dictionary stored under that id before
/// is kept and still decodes the frames that follow.
#[test]
fn ws_dict_frame_with_bad_base64_keeps_the_previous_dictionary() {
    let mut rig = WsRig::streaming();
    let good = ws_msgs(0..9);
    rig.send(&good[..3]);
    let mut data = base64(odds_dict_v2());
    data.replace_range(100..104, "!*~%");
    rig.text(&dict_frame("odds", "odds-v2", ODDS_DICT_ID, &data));
    rig.send(&good[3..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    assert_eq!(
        non_data(&events),
        [&Event::DictRejected {
            channel: Some("odds".to_owned()),
            dict_id: ODDS_DICT_ID,
            reason: "zstd dictionary 740826216 rejected: data is not valid base64".to_owned(),
        }]
    );
    let dicts = rig.s.decoder().dicts();
    assert_eq!(dicts.ids(), [ODDS_DICT_ID]);
    assert_eq!(
        dicts.get(ODDS_DICT_ID).map(|d| d.len()),
        Some(odds_dict().len()),
        "the v1 dictionary is still the one stored"
    );
    assert_eq!(
        (rig.s.stats().dicts_loaded, rig.s.stats().dicts_rejected),
        (1, 1)
    );
    rig.assert_still_streaming();
}

/// Row "dict frame mid-stream": accepted, replaces that dictId; the frames compressed with the
/// new dictionary decode.
#[test]
fn ws_dict_frame_mid_stream_replaces_the_dictionary() {
    let mut rig = WsRig::streaming();
    let before = ws_msgs(0..6);
    rig.send(&before);
    rig.text(&dict_frame(
        "odds",
        "odds-v2",
        ODDS_DICT_ID,
        &base64(odds_dict_v2()),
    ));
    // From here on the server compresses odds with v2 (scores stay dictless).
    let after: Vec<WsMsg> = ws_msgs(6..12)
        .into_iter()
        .map(|mut m| {
            if m.channel == "odds" {
                m.frame = zstd_frame(m.json.as_bytes(), Some(odds_dict_v2()));
            }
            m
        })
        .collect();
    rig.send(&after);

    let events = rig.take_events();
    let mut want = keys(&before);
    want.extend(keys(&after));
    assert_eq!(delivered(&events), want);
    let raws: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Data(m) => Some(m.raw.as_str()),
            _ => None,
        })
        .collect();
    let want_raws: Vec<&str> = before
        .iter()
        .chain(&after)
        .map(|m| m.json.as_str())
        .collect();
    assert_eq!(
        raws, want_raws,
        "the v2 frames decode to exactly what was sent"
    );
    assert_eq!(
        non_data(&events),
        [&Event::Dict {
            channel: Some("odds".to_owned()),
            dict_id: ODDS_DICT_ID,
            dict_version: Some("odds-v2".to_owned()),
            size: odds_dict_v2().len(),
        }]
    );
    let dicts = rig.s.decoder().dicts();
    assert_eq!(dicts.ids(), [ODDS_DICT_ID]);
    assert_eq!(
        dicts.get(ODDS_DICT_ID).map(|d| d.len()),
        Some(odds_dict_v2().len())
    );
    assert_eq!(rig.s.stats().dicts_loaded, 2);
    assert_eq!(rig.s.stats().decode_errors_total(), 0);
    rig.assert_still_streaming();
}

/// Row "data before `login_ok`": `before_login_ok`, dropped (and it moves no cursor: the same
/// message arriving after `login_ok` is delivered).
#[test]
fn ws_data_before_login_ok_is_dropped() {
    let mut config = WsConfig::new(ApiKey::new("test-api-key"));
    config.channels = Some(vec!["odds".to_owned(), "scores".to_owned()]);
    let mut rig = WsRig::connected(config);
    let good = ws_msgs(0..8);
    // A server that starts streaming before answering the login: a JSON data message in a text
    // frame and a zstd frame.
    rig.text(&good[2].json);
    rig.binary(&good[0].frame);
    assert_eq!(
        rig.s.connection_phase(rig.conn),
        Some(ConnPhase::AwaitingLoginOk)
    );
    rig.text(&login_ok());
    rig.text(&odds_dict_frame());
    rig.send(&good);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&good));
    let names: Vec<&str> = non_data(&events).iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "connected",
            "before_login_ok",
            "before_login_ok",
            "login_ok",
            "dict"
        ]
    );
    let details: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Warning {
                kind: WarningKind::BeforeLoginOk,
                detail,
            } => Some(detail.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        details,
        [
            "scores data on #1 before login_ok; dropped",
            &*format!(
                "binary frame of {} bytes on #1 before login_ok; dropped",
                good[0].frame.len()
            ),
        ]
    );
    assert_eq!(rig.s.stats().dropped_before_login_ok, 2);
    assert_eq!(rig.s.stats().data_delivered, 8);
    rig.assert_still_streaming();
}

/// Row "duplicate/old entryId after resume": after a resuming reconnect the server replays
/// from a cursor older than the client's; entries at or below the cursor are dropped and
/// counted, never an error, and every entry arrives exactly once across both connections.
#[test]
fn ws_duplicate_and_old_entry_ids_after_resume_are_dropped() {
    let mut rig = WsRig::streaming();
    // Connection 1: scores only (a replay channel), 6 messages.
    let scores: Vec<WsMsg> = (0..10u64)
        .map(|i| {
            let ts = 1_766_400_000_000 + i * 1000;
            let json = scores_json(i, ts, i);
            WsMsg {
                channel: "scores",
                entry_id: format!("{ts}-{i}"),
                frame: zstd_frame(json.as_bytes(), None),
                json,
            }
        })
        .collect();
    rig.send(&scores[..6]);
    // The gateway goes away for an upgrade: close 1001 → reconnect at once, resuming.
    let first = rig.conn;
    rig.advance(20);
    let now = rig.instant();
    rig.s
        .handle_closed(first, Some(CloseInfo::new(1001, "server upgrade")), now);
    rig.drain();
    assert_eq!(
        rig.take_actions(),
        [Action::Reconnect {
            delay: ReconnectDelay::Immediate
        }]
    );
    // The session's reconnect deadline is now: the next timer check asks for the connection.
    rig.advance(5);
    assert_eq!(rig.take_actions(), [Action::OpenConnection]);
    rig.conn = rig.s.handle_connected(rig.instant());
    rig.drain();
    let login = rig.logins.last().cloned().expect("a second login");
    assert_eq!(login["serverEpoch"], EPOCH);
    assert_eq!(
        login["lastSeenId"],
        serde_json::json!({"scores": scores[5].entry_id})
    );

    // Connection 2: login_ok, dicts again, then a replay that starts too early (entries 2..=5
    // were delivered already; 0 is older still), then new entries, resume_complete, live.
    rig.text(&login_ok());
    rig.text(&odds_dict_frame());
    for m in [&scores[2], &scores[3], &scores[4], &scores[5], &scores[0]] {
        rig.binary(&m.frame);
    }
    rig.send(&scores[6..8]);
    rig.binary(&scores[5].frame);
    rig.text(&format!(
        r#"{{"type":"resume_complete","serverEpoch":"{EPOCH}"}}"#
    ));
    rig.send(&scores[8..]);

    let events = rig.take_events();
    assert_eq!(delivered(&events), keys(&scores));
    let names: Vec<&str> = non_data(&events).iter().map(|e| e.name()).collect();
    assert_eq!(
        names,
        [
            "disconnected",
            "connected",
            "login_ok",
            "dict",
            "resume_complete"
        ],
        "duplicates are counted, not reported"
    );
    assert_eq!(rig.s.stats().duplicates_dropped, 6);
    assert_eq!(rig.s.stats().decode_errors_total(), 0);
    assert_eq!(
        rig.s.delivered_cursors().get("scores"),
        Some(&entry(&scores[9].entry_id))
    );
    assert_eq!(rig.s.stats().connections, 2);
    // Nothing after the planned reconnect: no further close, reconnect or stop.
    let actions = rig.take_actions();
    assert!(actions.is_empty(), "{actions:?}");
    assert_eq!(rig.s.connections(), vec![rig.conn]);
    assert_eq!(rig.s.connection_phase(rig.conn), Some(ConnPhase::Streaming));
    assert_eq!(rig.s.connection_phase(first), None);
}

// ================================================================================================
// IMG feed (docs/PROTOCOL.md Part A)
// ================================================================================================

fn img_single_decode_error(events: &[ImgEvent]) -> &oddsfeed_session::img::DecodeError {
    match img_non_data(events).as_slice() {
        [ImgEvent::DecodeError(e)] => e,
        other => panic!("expected exactly one decode_error, got {other:?}"),
    }
}

/// Row "oversize line (A)": keep at most `max_line` (4 MiB), discard to the next `\n`:
/// `line_too_long`. The line arrives in 64 KiB reads; the good line after it shares the last
/// read.
#[test]
fn img_oversize_line_is_discarded_to_the_next_newline() {
    let mut rig = ImgRig::streaming();
    assert_eq!(rig.s.config().max_line, 4 * MIB);
    let good = img_lives(0..16);
    rig.lines(&good[..8]);

    // A 6 MiB market push (a market with far too many selections), in 64 KiB reads.
    let head = r#"{"mode":"push","type":"market","publish_time":"2025-03-20 10:00:05.000000","is_recovery":false,"msg":{"id":"golf.ev1001.giant","selections":["#;
    let mut long = head.as_bytes().to_vec();
    while long.len() < 6 * MIB {
        long.extend_from_slice(br#"{"id":"1544","name":"Rory McIlroy"},"#);
    }
    long.extend_from_slice(b"{}]}}\n");
    long.extend_from_slice(good[8].as_bytes());
    long.push(b'\n');
    // Reads come 2 ms apart (the whole line takes under 0.2 s, as on a real link).
    for chunk in long.chunks(64 << 10) {
        rig.bytes_after(2, chunk);
    }
    rig.lines(&good[9..]);

    let events = rig.take_events();
    assert_eq!(img_delivered(&events), good);
    let e = img_single_decode_error(&events);
    assert_eq!(e.kind, DecodeErrorKind::LineTooLong);
    assert_eq!(e.kind.as_str(), "line_too_long");
    assert_eq!(
        e.detail(),
        "line too long: exceeded the 4194304-byte limit; discarded up to the next newline"
    );
    assert_eq!(e.raw.len(), 256, "only a prefix of the line is kept");
    assert_eq!(e.raw, long[..256]);
    assert_eq!(rig.s.stats().decode_errors, 1);
    rig.assert_still_streaming();
}

/// Row "invalid UTF-8" (A): `invalid_utf8`, skipped.
#[test]
fn img_invalid_utf8_is_skipped() {
    let mut rig = ImgRig::streaming();
    let good = img_lives(0..16);
    rig.lines(&good[..8]);
    // A market push whose selection name is Latin-1 ("Åberg" with 0xC5).
    let mut bad = br#"{"mode":"push","type":"market","publish_time":"2025-03-20 10:00:02.000000","is_recovery":false,"msg":{"id":"golf.ev1001.2ball.h1.g3","selections":[{"id":"1601","name":"Ludvig "#.to_vec();
    bad.push(0xC5);
    bad.extend_from_slice(br#"berg"}]}}"#);
    let mut with_nl = bad.clone();
    with_nl.push(b'\n');
    rig.bytes(&with_nl);
    rig.lines(&good[8..]);

    let events = rig.take_events();
    assert_eq!(img_delivered(&events), good);
    let e = img_single_decode_error(&events);
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8);
    assert_eq!(
        e.detail(),
        format!(
            "invalid UTF-8: valid up to byte {} of {}; skipped",
            bad.len() - 10,
            bad.len()
        )
    );
    assert_eq!(e.raw, bad);
    assert_eq!(rig.s.stats().decode_errors, 1);
    rig.assert_still_streaming();
}

/// Row "not JSON" (A): `bad_json`, skipped (what `sim img --bad-json-at` inserts, and a line cut
/// in the middle).
#[test]
fn img_non_json_is_skipped_as_bad_json() {
    let mut rig = ImgRig::streaming();
    let good = img_lives(0..16);
    rig.lines(&good[..5]);
    let cut = &good[5][..good[5].len() / 2];
    rig.line(cut);
    rig.lines(&good[5..10]);
    rig.line("<html><body>502 Bad Gateway</body></html>");
    rig.lines(&good[10..]);

    let events = rig.take_events();
    assert_eq!(img_delivered(&events), good);
    let problems = img_non_data(&events);
    assert_eq!(problems.len(), 2, "{problems:?}");
    for (p, raw) in problems
        .iter()
        .zip([cut, "<html><body>502 Bad Gateway</body></html>"])
    {
        let ImgEvent::DecodeError(e) = p else {
            panic!("expected decode_error, got {p:?}")
        };
        assert_eq!(e.kind, DecodeErrorKind::BadJson);
        assert!(e.detail().starts_with("bad JSON: "), "{}", e.detail());
        assert_eq!(e.raw, raw.as_bytes());
    }
    assert_eq!(rig.s.stats().decode_errors, 2);
    rig.assert_still_streaming();
}

/// Row "not an object" and "typed-view mismatch" (A): `[1,2]` is `wrong_shape`; a push whose
/// `msg` has the wrong types is delivered as received with `typed_error`.
#[test]
fn img_wrong_shape_json() {
    let mut rig = ImgRig::streaming();
    let good = img_lives(0..16);
    rig.lines(&good[..6]);
    rig.line("[1,2]");
    rig.lines(&good[6..10]);
    let mistyped = r#"{"mode":"push","type":"market_update","publish_time":"2025-03-20 10:00:03.000000","is_recovery":false,"msg":{"id":"golf.ev1001.3ball.h1.g7","status":"open","selections":"all suspended"}}"#;
    rig.line(mistyped);
    rig.lines(&good[10..]);

    let events = rig.take_events();
    let mut want = good.clone();
    want.insert(10, mistyped.to_owned());
    assert_eq!(img_delivered(&events), want);
    let e = img_single_decode_error(&events);
    assert_eq!(e.kind, DecodeErrorKind::WrongShape);
    assert_eq!(e.kind.as_str(), "wrong_shape");
    assert_eq!(
        e.detail(),
        "wrong shape: expected a JSON object, found an array"
    );
    assert_eq!(e.raw, b"[1,2]");
    let push = events
        .iter()
        .find_map(|e| match e {
            ImgEvent::Push(p) if p.raw == mistyped => Some(p),
            _ => None,
        })
        .expect("the mistyped push is delivered");
    assert_eq!(push.kind, PushKind::MarketUpdate);
    assert!(matches!(push.body, PushBody::Other(_)), "{:?}", push.body);
    let typed_error = push.typed_error.as_deref().unwrap_or_default();
    assert!(
        typed_error.starts_with("market_update msg: "),
        "{typed_error}"
    );
    assert_eq!(rig.s.stats().decode_errors, 1);
    rig.assert_still_streaming();
}

/// Row "unknown `type` or fields" (A): a push of an unknown type is delivered as a push with
/// its raw line; an object that is neither response, push nor notice is delivered raw
/// (`unknown`). Neither is an error.
#[test]
fn img_unknown_push_type_is_kept_raw() {
    let mut rig = ImgRig::streaming();
    let good = img_lives(0..16);
    rig.lines(&good[..6]);
    let weather = r#"{"mode":"push","type":"weather_delay","publish_time":"2025-03-20 10:00:02.500000","is_recovery":false,"msg":{"event_id":"ev.golf_1001","minutes":45,"reason":"lightning"}}"#;
    rig.line(weather);
    rig.lines(&good[6..10]);
    let notice = r#"{"mode":"notice","message":"scheduled maintenance 2025-03-20 02:00 UTC"}"#;
    rig.line(notice);
    rig.lines(&good[10..]);

    let events = rig.take_events();
    let mut want = good.clone();
    want.insert(6, weather.to_owned());
    want.insert(11, notice.to_owned());
    assert_eq!(img_delivered(&events), want);
    let push = events
        .iter()
        .find_map(|e| match e {
            ImgEvent::Push(p) if p.raw == weather => Some(p),
            _ => None,
        })
        .expect("the unknown push is delivered");
    assert_eq!(push.kind, PushKind::Other("weather_delay".to_owned()));
    assert_eq!(
        push.body,
        PushBody::Other(
            serde_json::json!({"event_id":"ev.golf_1001","minutes":45,"reason":"lightning"})
        )
    );
    assert_eq!(push.typed_error, None);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, ImgEvent::Unknown { raw } if raw == notice))
    );
    assert!(
        img_non_data(&events).is_empty(),
        "{:?}",
        img_non_data(&events)
    );
    assert_eq!(rig.s.stats().unknown, 1);
    assert_eq!(rig.s.stats().decode_errors, 0);
    rig.assert_still_streaming();
}

/// Row "response with an unknown `request_id`" (A.4): delivered, completes nothing, warned
/// about (`unmatched_response`); the outstanding request it does not name still gets its own
/// response.
#[test]
fn img_response_with_unknown_request_id_is_delivered_and_warned() {
    let mut rig = ImgRig::streaming();
    let good = img_lives(0..12);
    rig.lines(&good[..4]);
    // The application narrows its interest: an unsubscribe goes out as r3.
    let id = rig
        .s
        .send_request(oddsfeed_model::img::Request::unsubscribe(
            &oddsfeed_model::img::SubscriptionFilter {
                market_ids: Some(vec!["golf.ev1001.3ball.h1.g7".to_owned()]),
                ..Default::default()
            },
        ))
        .expect("queued");
    rig.drain();
    assert_eq!(id.as_str(), "r3");
    assert_eq!(rig.s.outstanding_len(), 1);
    let stray = r#"{"mode":"resp","status":"ok","publish_time":"2025-03-20 10:00:01.000000","reason":null,"request_id":"r99"}"#;
    rig.line(stray);
    rig.lines(&good[4..8]);
    let answer = img_ok("r3");
    rig.line(&answer);
    rig.lines(&good[8..]);

    let events = rig.take_events();
    let mut want = good.clone();
    want.insert(4, stray.to_owned());
    want.insert(9, answer.clone());
    assert_eq!(img_delivered(&events), want);
    let responses: Vec<(Option<String>, Option<String>)> = events
        .iter()
        .filter_map(|e| match e {
            ImgEvent::Response { response, request } => Some((
                response.request_id.clone(),
                request.as_ref().and_then(|r| r.request_id.clone()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        responses,
        [
            (Some("r99".to_owned()), None),
            (Some("r3".to_owned()), Some("r3".to_owned()))
        ]
    );
    assert_eq!(
        img_non_data(&events),
        [&ImgEvent::UnmatchedResponse {
            request_id: Some("r99".to_owned())
        }]
    );
    // The stray response came right before its warning.
    let at = events
        .iter()
        .position(|e| matches!(e, ImgEvent::UnmatchedResponse { .. }))
        .expect("warned");
    assert_eq!(events[at - 1].raw_line(), Some(stray));
    assert_eq!(rig.s.stats().unmatched_responses, 1);
    assert_eq!(rig.s.outstanding_len(), 0);
    rig.assert_still_streaming();
}

/// Row "heartbeat timestamps that go backwards" (A.6): still a heartbeat (the stale clock
/// restarts on its arrival), plus a `heartbeat_time_backwards` warning; never stale.
#[test]
fn img_heartbeat_time_backwards_still_counts() {
    let mut rig = ImgRig::streaming();
    // Setup ended with a heartbeat (timestamp 10:00:00). Market updates every 250 ms keep the
    // connection alive; heartbeats below are placed by hand.
    let mut n = 0;
    let mut updates = |rig: &mut ImgRig, count: u64, want: &mut Vec<String>| {
        for _ in 0..count {
            let line = img_market_update(n);
            rig.line(&line);
            want.push(line);
            n += 1;
        }
    };
    let mut want = Vec::new();
    updates(&mut rig, 8, &mut want);
    let hb1 = img_heartbeat(30);
    rig.line(&hb1);
    want.push(hb1.clone());
    let hb1_at = rig.now;
    // 8 s later: a heartbeat whose server time is 20 s *before* the previous one.
    updates(&mut rig, 31, &mut want);
    let back = img_heartbeat(10);
    rig.line(&back);
    want.push(back.clone());
    let back_at = rig.now;
    assert_eq!(back_at - hb1_at, Duration::from_millis(8000));
    // 9 s more without a heartbeat: 17 s after hb1, 9 s after the backwards one. Had it not
    // counted, the feed would have gone stale at hb1 + 10 s.
    updates(&mut rig, 36, &mut want);
    assert_eq!(rig.now - back_at, Duration::from_millis(9000));
    assert!(!rig.s.is_stale());
    assert_eq!(
        rig.s.poll_timeout(),
        Some(rig.t0 + back_at + Duration::from_secs(10)),
        "the stale deadline runs from the backwards heartbeat's arrival"
    );
    let hb2 = img_heartbeat(40);
    rig.line(&hb2);
    want.push(hb2);
    updates(&mut rig, 4, &mut want);

    let events = rig.take_events();
    assert_eq!(img_delivered(&events), want);
    assert_eq!(
        img_non_data(&events),
        [&ImgEvent::HeartbeatTimeBackwards {
            previous: img_time(30),
            current: img_time(10),
        }]
    );
    let at = events
        .iter()
        .position(|e| matches!(e, ImgEvent::HeartbeatTimeBackwards { .. }))
        .expect("warned");
    assert_eq!(events[at - 1].raw_line(), Some(back.as_str()));
    assert!(matches!(
        &events[at - 1],
        ImgEvent::Push(p) if p.kind == PushKind::Heartbeat
    ));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ImgEvent::HeartbeatStale { .. })),
        "never stale"
    );
    assert_eq!(rig.s.stats().heartbeats, 1 + 3);
    rig.assert_still_streaming();
}

/// A sanity check of the rigs themselves: with no bad input, a stream passes through both
/// sessions untouched (so the rows above measure the bad input, not the rig).
#[test]
fn rigs_pass_a_clean_stream_through() {
    let mut ws = WsRig::streaming();
    let good = ws_msgs(0..30);
    ws.send(&good);
    let events = ws.take_events();
    assert_eq!(delivered(&events), keys(&good));
    assert!(non_data(&events).is_empty());
    ws.assert_still_streaming();

    let mut img = ImgRig::streaming_with(ImgSessionConfig::default());
    let lines = img_lives(0..40);
    img.lines(&lines);
    let events = img.take_events();
    assert_eq!(img_delivered(&events), lines);
    assert!(img_non_data(&events).is_empty());
    img.assert_still_streaming();
}
