//! `FrameDecoder`: every mode and every error reason.

use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::{Control, WsMessage};

use super::{DICT_ID, base64, data, dict_frame, msgpack_data, test_dict, zstd_frame};
use crate::ws::{DecodeError, DecodeErrorKind, FrameDecoder, FrameKind, RAW_CAP};

type Out = Vec<Result<WsMessage, DecodeError>>;

fn decoder(mode: Option<ReceiveType>) -> FrameDecoder {
    FrameDecoder::new(4 << 20, 1 << 20).with_mode(mode)
}

fn run(d: &mut FrameDecoder, kind: FrameKind, frame: &[u8]) -> Out {
    let mut out = Vec::new();
    d.decode(kind, frame, &mut out);
    out
}

/// `channel entryId` for data, `control:<kind>` for control, `err:<reason>` for errors.
fn summary(out: &Out) -> Vec<String> {
    out.iter()
        .map(|r| match r {
            Ok(WsMessage::Data(m)) => format!(
                "{} {}",
                m.channel,
                m.entry_id.map(|i| i.to_string()).unwrap_or_default()
            ),
            Ok(WsMessage::Control(c)) => format!("control:{}", c.kind()),
            Ok(other) => format!("other:{other:?}"),
            Err(e) => format!("err:{}", e.kind),
        })
        .collect()
}

fn only_error(out: &Out) -> &DecodeError {
    match &out[..] {
        [Err(e)] => e,
        other => panic!(
            "expected exactly one error, got {:?}",
            summary(&other.to_vec())
        ),
    }
}

fn load_test_dict(d: &mut FrameDecoder) {
    let size = d
        .load_dict(DICT_ID, "base64", &base64(test_dict()), Some("odds"))
        .unwrap();
    assert_eq!(size, test_dict().len());
}

// ----- text frames --------------------------------------------------------------------------

#[test]
fn text_frame_with_one_document() {
    let mut d = decoder(None);
    let out = run(&mut d, FrameKind::Text, data("scores", "5-1").as_bytes());
    assert_eq!(summary(&out), ["scores 5-1"]);
    let Ok(WsMessage::Data(m)) = &out[0] else {
        unreachable!()
    };
    assert_eq!(m.raw, data("scores", "5-1"));
}

#[test]
fn text_frame_with_several_documents_and_a_bad_line() {
    let mut d = decoder(Some(ReceiveType::Json));
    let frame = format!(
        "{}\n{{not json\n{}\r\n{{\"type\":\"resume_complete\"}}",
        data("odds", "1-1"),
        data("odds", "1-2")
    );
    let out = run(&mut d, FrameKind::Text, frame.as_bytes());
    assert_eq!(
        summary(&out),
        [
            "odds 1-1",
            "err:bad_json",
            "odds 1-2",
            "control:resume_complete"
        ]
    );
    let Err(e) = &out[1] else { unreachable!() };
    assert_eq!(e.raw, b"{not json");
    assert_eq!(d.stats().messages, 3);
    assert_eq!(d.stats().errors, 1);
}

#[test]
fn text_frame_that_is_not_an_object_is_bad_json() {
    let mut d = decoder(None);
    let out = run(&mut d, FrameKind::Text, b"[1,2,3]");
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::BadJson);
    assert_eq!(e.raw, b"[1,2,3]");
}

#[test]
fn text_frame_with_invalid_utf8() {
    let mut d = decoder(None);
    let out = run(&mut d, FrameKind::Text, b"{\"a\":\"\xff\xfe\"}");
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8);
    assert_eq!(e.raw, b"{\"a\":\"\xff\xfe\"}");
    assert_eq!(e.channel, None);
}

#[test]
fn control_and_unknown_objects_in_text_frames() {
    let mut d = decoder(None);
    let out = run(
        &mut d,
        FrameKind::Text,
        br#"{"type":"reconnect","reason":"server_upgrade"} {"hello":1}"#,
    );
    assert_eq!(summary(&out), ["control:reconnect", "control:unknown"]);
}

#[test]
fn oversize_frames_are_refused_before_looking_at_them() {
    let mut d = FrameDecoder::new(64, 1 << 20).with_mode(Some(ReceiveType::Zstd));
    let big = vec![b' '; 65];
    for kind in [FrameKind::Text, FrameKind::Binary] {
        let out = run(&mut d, kind, &big);
        let e = only_error(&out);
        assert_eq!(e.kind, DecodeErrorKind::FrameTooLarge);
        assert_eq!(e.len, 65);
    }
    let exactly = vec![b' '; 64];
    let out = run(&mut d, FrameKind::Text, &exactly);
    assert_eq!(only_error(&out).kind, DecodeErrorKind::BadJson);
}

#[test]
fn raw_bytes_in_errors_are_capped() {
    let mut d = decoder(Some(ReceiveType::Binary));
    let junk = vec![0x01; RAW_CAP * 2];
    let out = run(&mut d, FrameKind::Binary, &junk);
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::BadMsgpack);
    assert_eq!(e.raw.len(), RAW_CAP);
    assert_eq!(e.len, RAW_CAP * 2);
}

// ----- binary frames by mode ----------------------------------------------------------------

#[test]
fn json_mode_binary_frame_warns_then_sniffs() {
    let mut d = decoder(Some(ReceiveType::Json));
    let out = run(&mut d, FrameKind::Binary, &msgpack_data("odds", "9-9"));
    assert_eq!(summary(&out), ["err:unexpected_binary", "odds 9-9"]);
    let Err(e) = &out[0] else { unreachable!() };
    assert!(!e.kind.drops_frame());

    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(data("scores", "1-0").as_bytes(), None),
    );
    assert_eq!(summary(&out), ["err:unexpected_binary", "scores 1-0"]);

    let out = run(&mut d, FrameKind::Binary, b"\x00\x01garbage");
    assert_eq!(summary(&out), ["err:unexpected_binary", "err:bad_format"]);
}

#[test]
fn binary_mode_messagepack_and_json() {
    let mut d = decoder(Some(ReceiveType::Binary));
    let out = run(&mut d, FrameKind::Binary, &msgpack_data("odds", "3-4"));
    assert_eq!(summary(&out), ["odds 3-4"]);
    let Ok(WsMessage::Data(m)) = &out[0] else {
        unreachable!()
    };
    assert_eq!(
        m.raw,
        r#"{"channel":"odds","type":"UPDATE","payload":{},"entryId":"3-4"}"#
    );

    let out = run(
        &mut d,
        FrameKind::Binary,
        data("fixtures", "7-1").as_bytes(),
    );
    assert_eq!(summary(&out), ["fixtures 7-1"]);
}

#[test]
fn binary_mode_rejects_what_is_not_a_map() {
    let mut d = decoder(Some(ReceiveType::Binary));
    // A MessagePack array, a zstd frame, and a map cut short.
    for frame in [
        vec![0x92, 0x01, 0x02],
        zstd_frame(b"{}", None),
        msgpack_data("odds", "1-1")[..10].to_vec(),
    ] {
        let out = run(&mut d, FrameKind::Binary, &frame);
        assert_eq!(
            only_error(&out).kind,
            DecodeErrorKind::BadMsgpack,
            "{frame:?}"
        );
    }
}

#[test]
fn sniffing_without_a_mode() {
    let mut d = decoder(None);
    let frames: Vec<Vec<u8>> = vec![
        zstd_frame(data("scores", "1-1").as_bytes(), None),
        msgpack_data("odds", "1-2"),
        data("clocks", "1-3").into_bytes(),
    ];
    let got: Vec<Vec<String>> = frames
        .iter()
        .map(|f| summary(&run(&mut d, FrameKind::Binary, f)))
        .collect();
    assert_eq!(got, [["scores 1-1"], ["odds 1-2"], ["clocks 1-3"]]);
    let out = run(&mut d, FrameKind::Binary, b"\x05\x06");
    assert_eq!(only_error(&out).kind, DecodeErrorKind::BadFormat);
}

// ----- zstd ---------------------------------------------------------------------------------

#[test]
fn zstd_dictless_frame_round_trip_and_byte_counts() {
    let mut d = decoder(Some(ReceiveType::Zstd));
    let json = data("scores", "1766939805321-3077");
    let frame = zstd_frame(json.as_bytes(), None);
    let out = run(&mut d, FrameKind::Binary, &frame);
    assert_eq!(summary(&out), ["scores 1766939805321-3077"]);
    let Ok(WsMessage::Data(m)) = &out[0] else {
        unreachable!()
    };
    assert_eq!(m.raw, json);
    assert_eq!(d.stats().bytes_in, frame.len() as u64);
    assert_eq!(d.stats().bytes_out, json.len() as u64);
}

#[test]
fn zstd_dict_frame_uses_the_dictionary_named_by_its_id() {
    let mut d = decoder(Some(ReceiveType::ZstdDict));
    load_test_dict(&mut d);
    let frame = zstd_frame(data("odds", "5-5").as_bytes(), Some(test_dict()));
    assert_eq!(
        oddsfeed_zstd::frame_dict_id(&frame).unwrap(),
        DICT_ID,
        "test frame carries the dictId"
    );
    let out = run(&mut d, FrameKind::Binary, &frame);
    assert_eq!(summary(&out), ["odds 5-5"]);
    // Dictless frames (scores, clocks) decode in zstd-dict mode too.
    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(data("scores", "6-6").as_bytes(), None),
    );
    assert_eq!(summary(&out), ["scores 6-6"]);
}

#[test]
fn zstd_frame_with_several_documents() {
    let mut d = decoder(Some(ReceiveType::Zstd));
    let text = format!("{}\n{}\n", data("odds", "1-1"), data("odds", "1-2"));
    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(text.as_bytes(), None),
    );
    assert_eq!(summary(&out), ["odds 1-1", "odds 1-2"]);
    // Newline-separated documents go straight to the text path: one decompression.
    assert_eq!(d.decompressor().stats().frames_ok, 1);
    // Space-separated on one line: the fast path refuses, the text path splits.
    let text = format!("{} {}", data("odds", "2-1"), data("odds", "2-2"));
    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(text.as_bytes(), None),
    );
    assert_eq!(summary(&out), ["odds 2-1", "odds 2-2"]);
}

#[test]
fn bad_json_inside_a_dict_frame_names_channel_and_dict() {
    let mut d = decoder(Some(ReceiveType::ZstdDict));
    load_test_dict(&mut d);
    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(b"{\"channel\":\"odds\",", Some(test_dict())),
    );
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::BadJson);
    assert_eq!(e.dict_id, Some(DICT_ID));
    assert_eq!(e.channel.as_deref(), Some("odds"));
    assert_eq!(
        e.raw, b"{\"channel\":\"odds\",",
        "raw is the decompressed text"
    );
}

#[test]
fn invalid_utf8_inside_zstd() {
    let mut d = decoder(Some(ReceiveType::Zstd));
    let out = run(
        &mut d,
        FrameKind::Binary,
        &zstd_frame(b"{\"a\":\"\xff\"}", None),
    );
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::InvalidUtf8);
    assert_eq!(e.dict_id, Some(0));
}

#[test]
fn unknown_dictionary_id() {
    let mut d = decoder(Some(ReceiveType::ZstdDict));
    let frame = zstd_frame(data("odds", "1-1").as_bytes(), Some(test_dict()));
    let out = run(&mut d, FrameKind::Binary, &frame);
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::UnknownDict);
    assert_eq!(e.dict_id, Some(DICT_ID));
    assert_eq!(
        e.detail(),
        format!("unknown zstd dictionary id {DICT_ID} (known: none)")
    );
    assert_eq!(e.raw, frame);
}

#[test]
fn zstd_bomb_stops_at_the_bound() {
    // 1 MiB bound; the frame inflates to 3 MiB and carries no content size.
    let mut d = decoder(Some(ReceiveType::Zstd));
    let frame = zstd_frame(&vec![b' '; 3 << 20], None);
    assert!(frame.len() < 4096, "a small frame: {}", frame.len());
    let out = run(&mut d, FrameKind::Binary, &frame);
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::OutputBoundExceeded);
    assert_eq!(e.dict_id, Some(0));
    assert!(d.decompressor().buffer_capacity() <= 1 << 20);
    // With the content size in the header, it is refused the same way.
    let sized = zstd::bulk::compress(&vec![b' '; 3 << 20], 3).unwrap();
    let out = run(&mut d, FrameKind::Binary, &sized);
    assert_eq!(only_error(&out).kind, DecodeErrorKind::OutputBoundExceeded);
}

#[test]
fn truncated_corrupt_trailing_and_bad_magic() {
    let mut d = decoder(Some(ReceiveType::Zstd));
    let good = zstd_frame(data("scores", "1-1").as_bytes(), None);

    let cut = &good[..good.len() - 3];
    assert_eq!(
        only_error(&run(&mut d, FrameKind::Binary, cut)).kind,
        DecodeErrorKind::ZstdTruncated
    );

    // A frame with a checksum whose checksum is wrong.
    let mut corrupt = {
        use zstd::stream::raw::CParameter;
        let mut c = zstd::bulk::Compressor::new(3).unwrap();
        c.set_parameter(CParameter::ContentSizeFlag(false)).unwrap();
        c.set_parameter(CParameter::ChecksumFlag(true)).unwrap();
        c.compress(data("scores", "1-1").as_bytes()).unwrap()
    };
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xFF;
    let out = run(&mut d, FrameKind::Binary, &corrupt);
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::ZstdError);
    assert_eq!(
        e.detail(),
        "corrupt zstd frame: Restored data doesn't match checksum"
    );

    let mut trailing = good.clone();
    trailing.extend_from_slice(b"xyz");
    let out = run(&mut d, FrameKind::Binary, &trailing);
    let e = only_error(&out);
    assert_eq!(e.kind, DecodeErrorKind::TrailingBytes);
    assert_eq!(e.detail(), "3 trailing bytes after the zstd frame");

    let out = run(&mut d, FrameKind::Binary, &msgpack_data("odds", "1-1"));
    assert_eq!(only_error(&out).kind, DecodeErrorKind::BadMagic);

    // After every failure the same decoder decodes the next good frame.
    assert_eq!(
        summary(&run(&mut d, FrameKind::Binary, &good)),
        ["scores 1-1"]
    );
    assert_eq!(d.stats().errors, 4);
}

// ----- dictionaries -------------------------------------------------------------------------

#[test]
fn rejected_dictionary_keeps_the_previous_one() {
    let mut d = decoder(Some(ReceiveType::ZstdDict));
    load_test_dict(&mut d);
    let err = d
        .load_dict(DICT_ID, "base64", "%%%not base64%%%", Some("odds"))
        .unwrap_err();
    assert_eq!(err.reason(), "dict_rejected");
    assert_eq!(err.dict_id(), Some(DICT_ID));
    let err = d.load_dict(DICT_ID, "hex", "00", Some("odds")).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("zstd dictionary {DICT_ID} rejected: encoding \"hex\" is not \"base64\"")
    );
    let err = d
        .load_dict(0, "base64", &base64(test_dict()), None)
        .unwrap_err();
    assert_eq!(err.dict_id(), Some(0));
    let err = d
        .load_dict(99, "base64", &base64(test_dict()), None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("zstd dictionary 99 rejected: the dictionary header carries id {DICT_ID}")
    );
    assert_eq!(d.dicts().ids(), vec![DICT_ID]);
    let frame = zstd_frame(data("odds", "1-1").as_bytes(), Some(test_dict()));
    assert_eq!(
        summary(&run(&mut d, FrameKind::Binary, &frame)),
        ["odds 1-1"]
    );
}

#[test]
fn dict_frame_json_parses_as_control() {
    let mut d = decoder(None);
    let out = run(&mut d, FrameKind::Text, dict_frame().as_bytes());
    let [Ok(WsMessage::Control(Control::Dict(frame)))] = &out[..] else {
        panic!("{:?}", summary(&out))
    };
    assert_eq!(frame.dict_id, DICT_ID);
    assert_eq!(frame.channel.as_deref(), Some("odds"));
}

#[test]
fn debug_output_is_short() {
    let mut d = decoder(Some(ReceiveType::ZstdDict));
    load_test_dict(&mut d);
    let text = format!("{d:?}");
    assert!(text.contains("dict_ids: [740826216]"), "{text}");
    assert!(text.len() < 400, "{text}");
}

#[test]
fn text_frames_read_by_the_fast_path_equal_the_text_path() {
    // Every message of the fixture corpus, plus spellings the fast path hands back to the text
    // path: the decoder's answer for a text frame is always `parse_ws_text`'s.
    let corpus = include_str!("../../../../../fixtures/corpus/messages.jsonl");
    let extra = [
        "  {\"channel\":\"odds\",\"payload\":{\"fixtureId\":\"f\"},\"entryId\":\"1-1\"}  ",
        "{\"channel\":\"odds\",\"payload\":{}} {\"type\":\"reconnect\"}",
        "{\"type\":\"login_ok\",\"serverEpoch\":\"e1\",\"receiveType\":\"json\"}",
        "{\"channel\":\"scores\",\"payload\":-0,\"entryId\":\"5-0\"}",
        "[1,2]",
        "{oops",
        "",
    ];
    let mut d = decoder(Some(ReceiveType::Json));
    let mut lines = 0;
    for line in corpus.lines().chain(extra) {
        let got = run(&mut d, FrameKind::Text, line.as_bytes());
        // Messages must be identical; errors are compared as errors (the decoder maps the
        // model's reasons to its own, as the text path always did).
        let want: Vec<_> = oddsfeed_model::ws::parse_ws_text(line)
            .into_iter()
            .map(|r| r.map_err(drop))
            .collect();
        let got: Vec<_> = got.into_iter().map(|r| r.map_err(drop)).collect();
        assert_eq!(got, want, "frame {line:?}");
        lines += 1;
    }
    assert!(lines > 500, "{lines} frames");
}
