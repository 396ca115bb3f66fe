use base64::Engine as _;
use serde_json::Value;
use zstd_safe::{DCtx, InBuffer, OutBuffer};

use super::*;
use crate::dicts::{BOOKMAKERS_DICT_ID, FIXTURES_DICT_ID, ODDS_DICT_ID, builtin_dicts};
use crate::ws_gen::{GeneratedMessage, WsGenerator};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

fn sample(channel: &str) -> GeneratedMessage {
    let mut generator = WsGenerator::new(77)
        .with_channels(&[channel])
        .expect("channel");
    generator.next(1_766_400_000_000)
}

fn messages(n: usize) -> Vec<GeneratedMessage> {
    let mut generator = WsGenerator::new(99);
    (0..n as u64)
        .map(|i| generator.next(1_766_400_000_000 + i * 7))
        .collect()
}

/// Decompresses one size-less frame, with the built-in dictionary its header
/// names (if any).
fn decompress(frame: &[u8]) -> Vec<u8> {
    let mut dctx = DCtx::create();
    if let Some(id) = zstd_safe::get_dict_id_from_frame(frame) {
        let dict = builtin_dicts()
            .iter()
            .find(|d| d.id == id.get())
            .unwrap_or_else(|| panic!("unknown dictId {id}"));
        dctx.load_dictionary(dict.bytes).expect("load dictionary");
    }
    let mut out = Vec::new();
    let mut input = InBuffer::around(frame);
    let mut chunk: Vec<u8> = Vec::with_capacity(DCtx::out_size());
    loop {
        chunk.clear();
        let mut output = OutBuffer::around(&mut chunk);
        let hint = dctx
            .decompress_stream(&mut output, &mut input)
            .unwrap_or_else(|c| panic!("{}", zstd_safe::get_error_name(c)));
        out.extend_from_slice(output.as_slice());
        if hint == 0 {
            assert_eq!(input.pos(), frame.len(), "trailing bytes");
            return out;
        }
        assert!(out.len() < 8 << 20, "unexpectedly large output");
    }
}

/// The header facts every simulator zstd frame must have.
fn assert_sizeless_unchecked(frame: &[u8]) {
    assert_eq!(frame.get(..4), Some(&ZSTD_MAGIC[..]));
    assert_eq!(zstd_safe::get_frame_content_size(frame).ok(), Some(None));
    // Frame_Header_Descriptor: bit 2 is Content_Checksum_flag.
    assert_eq!(frame.get(4).map(|d| d & 0x04), Some(0), "checksum flag set");
}

fn msgpack_to_json(v: rmpv::Value) -> Value {
    match v {
        rmpv::Value::Nil => Value::Null,
        rmpv::Value::Boolean(b) => Value::Bool(b),
        rmpv::Value::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(s)) => Value::from(s),
            (None, None) => panic!("integer out of range"),
        },
        rmpv::Value::F64(f) => Value::from(f),
        rmpv::Value::String(s) => Value::String(s.into_str().expect("UTF-8 string")),
        rmpv::Value::Array(items) => Value::Array(items.into_iter().map(msgpack_to_json).collect()),
        rmpv::Value::Map(entries) => Value::Object(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let rmpv::Value::String(k) = k else {
                        panic!("non-string key {k:?}")
                    };
                    (k.into_str().expect("UTF-8 key"), msgpack_to_json(v))
                })
                .collect(),
        ),
        other => panic!("forbidden MessagePack type: {other:?}"),
    }
}

#[test]
fn receive_type_names_round_trip() {
    for mode in SimReceiveType::ALL {
        assert_eq!(mode.as_str().parse::<SimReceiveType>().ok(), Some(mode));
        assert_eq!(mode.to_string(), mode.as_str());
    }
    assert_eq!(
        SimReceiveType::ALL.map(SimReceiveType::as_str),
        ["json", "binary", "zstd", "zstd-dict"]
    );
    match "zstd_dict".parse::<SimReceiveType>() {
        Err(SimError::UnknownReceiveType(name)) => assert_eq!(name, "zstd_dict"),
        other => panic!("expected UnknownReceiveType, got {other:?}"),
    }
}

#[test]
fn json_mode_sends_the_text_as_is() {
    let msg = sample("odds");
    let mut encoder = FrameEncoder::new(SimReceiveType::Json).expect("encoder");
    let frame = encoder.encode(msg.channel, &msg.json).expect("encode");
    assert_eq!(frame, SimFrame::Text(msg.json.clone()));
    assert!(frame.is_text());
    assert_eq!(frame.as_bytes(), msg.json.as_bytes());
}

#[test]
fn binary_mode_is_one_msgpack_map_with_the_same_content() {
    let mut encoder = FrameEncoder::new(SimReceiveType::Binary).expect("encoder");
    for msg in messages(400) {
        let SimFrame::Binary(frame) = encoder.encode(msg.channel, &msg.json).expect("encode")
        else {
            panic!("binary mode makes binary frames");
        };
        // A fixmap of the five envelope keys.
        assert_eq!(frame.first(), Some(&0x85));
        let mut rest = frame.as_slice();
        let value = rmpv::decode::read_value(&mut rest).expect("valid MessagePack");
        assert!(rest.is_empty(), "one value per frame");
        let back = msgpack_to_json(value);
        let original: Value = serde_json::from_str(&msg.json).expect("json");
        assert_eq!(back, original);
        // Key order survives too.
        assert_eq!(serde_json::to_string(&back).ok(), Some(msg.json.clone()));
    }
}

#[test]
fn binary_mode_keeps_floats_as_float64() {
    let mut encoder = FrameEncoder::new(SimReceiveType::Binary).expect("encoder");
    let frame = encoder
        .encode(
            "odds",
            r#"{"a":3.0,"b":-2,"c":18446744073709551615,"d":null}"#,
        )
        .expect("encode");
    let value = rmpv::decode::read_value(&mut frame.as_bytes()).expect("decode");
    let rmpv::Value::Map(entries) = value else {
        panic!("a map")
    };
    assert!(matches!(entries[0].1, rmpv::Value::F64(f) if f == 3.0));
    assert_eq!(entries[1].1.as_i64(), Some(-2));
    assert_eq!(entries[2].1.as_u64(), Some(u64::MAX));
    assert!(entries[3].1.is_nil());
}

#[test]
fn binary_mode_rejects_invalid_json_without_being_fatal() {
    let mut encoder = FrameEncoder::new(SimReceiveType::Binary).expect("encoder");
    match encoder.encode("odds", BAD_JSON) {
        Err(e @ SimError::InvalidJson { .. }) => assert!(!e.is_fatal()),
        other => panic!("expected InvalidJson, got {other:?}"),
    }
}

#[test]
fn zstd_mode_frames_are_dictless_sizeless_and_unchecked() {
    let mut encoder = FrameEncoder::new(SimReceiveType::Zstd).expect("encoder");
    for msg in messages(300) {
        let frame = encoder.encode(msg.channel, &msg.json).expect("encode");
        let SimFrame::Binary(frame) = frame else {
            panic!("zstd makes binary frames")
        };
        assert_sizeless_unchecked(&frame);
        assert_eq!(zstd_safe::get_dict_id_from_frame(&frame), None);
        assert_eq!(decompress(&frame), msg.json.as_bytes());
    }
}

#[test]
fn zstd_dict_mode_uses_the_channel_dictionary() {
    let mut encoder = FrameEncoder::new(SimReceiveType::ZstdDict).expect("encoder");
    let expected = [
        ("odds", Some(ODDS_DICT_ID)),
        ("fixtures", Some(FIXTURES_DICT_ID)),
        ("bookmakers", Some(BOOKMAKERS_DICT_ID)),
        ("scores", None),
        ("clocks", None),
    ];
    for (channel, id) in expected {
        let msg = sample(channel);
        let frame = encoder
            .encode(channel, &msg.json)
            .expect("encode")
            .into_bytes();
        assert_sizeless_unchecked(&frame);
        assert_eq!(
            zstd_safe::get_dict_id_from_frame(&frame).map(|d| d.get()),
            id,
            "{channel}"
        );
        assert_eq!(decompress(&frame), msg.json.as_bytes(), "{channel}");
    }
    // Unknown channels get dictless frames.
    let frame = encoder
        .encode("weather", r#"{"channel":"weather"}"#)
        .expect("encode")
        .into_bytes();
    assert_eq!(zstd_safe::get_dict_id_from_frame(&frame), None);
}

#[test]
fn zstd_dict_round_trips_a_generated_stream_and_beats_dictless() {
    let mut dict = FrameEncoder::new(SimReceiveType::ZstdDict).expect("encoder");
    let mut plain = FrameEncoder::new(SimReceiveType::Zstd).expect("encoder");
    let (mut with, mut without, mut raw) = (0, 0, 0);
    for msg in messages(500) {
        let frame = dict
            .encode(msg.channel, &msg.json)
            .expect("encode")
            .into_bytes();
        assert_eq!(decompress(&frame), msg.json.as_bytes());
        with += frame.len();
        without += plain.encode(msg.channel, &msg.json).expect("encode").len();
        raw += msg.json.len();
    }
    assert!(with * 3 < without * 2, "dict {with} vs dictless {without}");
    assert!(raw > with * 5, "dict ratio {:.2}", raw as f64 / with as f64);
}

#[test]
fn level_is_configurable() {
    let msg = sample("odds");
    let fast = FrameEncoder::with_level(SimReceiveType::Zstd, 1)
        .expect("encoder")
        .encode("odds", &msg.json)
        .expect("encode");
    let strong = FrameEncoder::with_level(SimReceiveType::Zstd, 19)
        .expect("encoder")
        .encode("odds", &msg.json)
        .expect("encode");
    assert_eq!(decompress(fast.as_bytes()), decompress(strong.as_bytes()));
    assert!(strong.len() <= fast.len());
}

#[test]
fn custom_dictionaries_must_be_dictionaries() {
    let fake = SimDict {
        channel: "odds",
        version: "odds-v0",
        id: 1,
        bytes: b"plain bytes",
    };
    match FrameEncoder::with_dicts(SimReceiveType::ZstdDict, 3, &[fake]) {
        Err(SimError::InvalidDict { reason }) => {
            assert_eq!(reason, "missing the 37 A4 30 EC magic");
        }
        other => panic!("expected InvalidDict, got {other:?}"),
    }
    // Other modes ignore dictionaries entirely.
    assert!(FrameEncoder::with_dicts(SimReceiveType::Zstd, 3, &[fake]).is_ok());
}

#[test]
fn dict_frame_is_padded_base64_of_the_dictionary() {
    for dict in builtin_dicts() {
        let text = dict_frame_json(dict);
        let v: Value = serde_json::from_str(&text).expect("json");
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "type",
                "channel",
                "dictVersion",
                "dictId",
                "encoding",
                "data"
            ]
        );
        assert_eq!(v["type"], "dict");
        assert_eq!(v["channel"], dict.channel);
        assert_eq!(v["dictVersion"], dict.version);
        assert_eq!(v["dictId"].as_u64(), Some(u64::from(dict.id)));
        assert_eq!(v["encoding"], "base64");
        let data = v["data"].as_str().expect("data");
        assert_eq!(data.len() % 4, 0, "padded to a multiple of 4");
        let pad = data.bytes().rev().take_while(|&b| b == b'=').count();
        assert_eq!(pad, (3 - dict.bytes.len() % 3) % 3);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("standard base64");
        assert_eq!(decoded, dict.bytes);
    }
    // The trained dictionaries' sizes are not multiples of 3, so `=` shows.
    assert!(dict_frame_json(&builtin_dicts()[0]).ends_with("=\"}"));
}

#[test]
fn bomb_is_small_and_inflates_past_64_mib() {
    let frame = bomb_frame(SimReceiveType::Zstd).expect("bomb").into_bytes();
    assert!(frame.len() < 16 << 10, "bomb is {} bytes", frame.len());
    assert_sizeless_unchecked(&frame);
    assert_eq!(zstd_safe::get_dict_id_from_frame(&frame), None);

    // Count the output in a bounded buffer; stop once past 65 MiB.
    let mut dctx = DCtx::create();
    let mut input = InBuffer::around(&frame);
    let mut chunk: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut produced: u64 = 0;
    while produced <= 65 << 20 {
        chunk.clear();
        let mut output = OutBuffer::around(&mut chunk);
        let hint = dctx
            .decompress_stream(&mut output, &mut input)
            .unwrap_or_else(|c| panic!("{}", zstd_safe::get_error_name(c)));
        produced += output.pos() as u64;
        assert!(output.as_slice().iter().all(|&b| b == 0));
        if hint == 0 {
            break;
        }
    }
    assert!(produced > 64 << 20, "inflated to only {produced} bytes");

    // Cached: both zstd modes get the same bytes.
    assert_eq!(
        bomb_frame(SimReceiveType::ZstdDict)
            .expect("bomb")
            .into_bytes(),
        frame
    );
}

#[test]
fn oversize_frames_are_one_byte_over_the_limit() {
    let text = bomb_frame(SimReceiveType::Json).expect("oversize");
    assert!(text.is_text());
    assert_eq!(text.len(), MAX_DATA_FRAME + 1);
    let v: Value = serde_json::from_slice(text.as_bytes()).expect("valid JSON");
    assert_eq!(v["type"], "oversize");

    let binary = bomb_frame(SimReceiveType::Binary).expect("oversize");
    assert!(!binary.is_text());
    assert_eq!(binary.len(), MAX_DATA_FRAME + 1);
    assert_eq!(binary.as_bytes().first(), Some(&0x82));
    let v = rmpv::decode::read_value(&mut binary.as_bytes()).expect("valid MessagePack");
    assert_eq!(v["type"].as_str(), Some("oversize"));
}

#[test]
fn unknown_dict_frame_names_an_unannounced_id() {
    let frame = unknown_dict_frame().expect("frame").into_bytes();
    assert_sizeless_unchecked(&frame);
    assert_eq!(
        zstd_safe::get_dict_id_from_frame(&frame).map(|d| d.get()),
        Some(UNKNOWN_DICT_ID)
    );
    assert!(builtin_dicts().iter().all(|d| d.id != UNKNOWN_DICT_ID));
    // It is a real frame: with the relabelled dictionary it decodes.
    let mut dict = builtin_dicts()[0].bytes.to_vec();
    crate::dicts::force_dict_id(&mut dict, UNKNOWN_DICT_ID).expect("force");
    let mut out = Vec::with_capacity(1 << 16);
    DCtx::create()
        .decompress_using_dict(&mut out, &frame, &dict)
        .expect("decodes with the throwaway dictionary");
    assert_eq!(out, FAULT_MESSAGE.as_bytes());
}

#[test]
fn bad_json_frames_per_mode() {
    assert!(serde_json::from_str::<Value>(BAD_JSON).is_err());

    let text = bad_json_frame(SimReceiveType::Json).expect("frame");
    assert_eq!(text, SimFrame::Text(BAD_JSON.to_owned()));

    let binary = bad_json_frame(SimReceiveType::Binary).expect("frame");
    assert_eq!(binary, SimFrame::Binary(vec![0x81, 0xC1, 0xC1]));
    // Strict decoders reject the reserved byte; rmpv reads it as nil, which
    // leaves a non-string key, and B.5 rejects that too.
    let lenient = rmpv::decode::read_value(&mut binary.as_bytes()).expect("rmpv reads 0xC1 as nil");
    assert_eq!(
        lenient,
        rmpv::Value::Map(vec![(rmpv::Value::Nil, rmpv::Value::Nil)])
    );

    for (mode, id) in [
        (SimReceiveType::Zstd, None),
        (SimReceiveType::ZstdDict, Some(ODDS_DICT_ID)),
    ] {
        let frame = bad_json_frame(mode).expect("frame").into_bytes();
        assert_sizeless_unchecked(&frame);
        assert_eq!(
            zstd_safe::get_dict_id_from_frame(&frame).map(|d| d.get()),
            id
        );
        assert_eq!(decompress(&frame), BAD_JSON.as_bytes());
    }
}

#[test]
fn encoder_can_move_to_another_task() {
    fn check<T: Send + 'static>() {}
    check::<FrameEncoder>();
    check::<SimFrame>();
}
