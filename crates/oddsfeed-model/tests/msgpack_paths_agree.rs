//! The direct MessagePack reader (MessagePack → tape → typed, `parse_ws_msgpack` and
//! `FastParser::parse_msgpack`) against the converting path it replaced (MessagePack →
//! JSON value → typed, `parse_ws_msgpack_converting`): the same result, `raw` included, on
//! every fixture and corpus frame and on random MessagePack, valid or not.

use std::path::Path;

use oddsfeed_model::ws::{FastParser, parse_ws_msgpack, parse_ws_msgpack_converting};
use proptest::prelude::*;
use rmpv::Value as Mp;

/// Checks that all three entry points agree on `bytes`; returns how many were data messages.
fn agree(parser: &mut FastParser, bytes: &[u8]) -> usize {
    let old = parse_ws_msgpack_converting(bytes);
    let direct = parse_ws_msgpack(bytes);
    let reused = parser.parse_msgpack(bytes);
    assert_eq!(
        direct, old,
        "direct and converting paths differ on {bytes:02x?}"
    );
    assert_eq!(reused, old, "the reused parser differs on {bytes:02x?}");
    usize::from(matches!(old, Ok(oddsfeed_model::WsMessage::Data(_))))
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

#[test]
fn fixture_and_corpus_frames_decode_the_same_by_both_paths() {
    let mut parser = FastParser::new();
    let mut data = 0;
    let dir = fixtures().join("frames/binary");
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures/frames/binary") {
        let bytes = std::fs::read(entry.expect("dir entry").path()).expect("fixture");
        data += agree(&mut parser, &bytes);
        files += 1;
    }
    assert_eq!(
        files, 6,
        "fixtures/frames/binary holds the six data messages"
    );
    let corpus = std::fs::read(fixtures().join("corpus/binary/frames.bin")).expect("corpus");
    let mut rest = &corpus[..];
    let mut frames = 0;
    while let Some((len, tail)) = rest.split_first_chunk::<4>() {
        let len = u32::from_le_bytes(*len) as usize;
        let (frame, tail) = tail.split_at(len);
        data += agree(&mut parser, frame);
        frames += 1;
        rest = tail;
    }
    assert_eq!(frames, 500);
    assert_eq!(
        data, 506,
        "every fixture and corpus frame is a data message"
    );
}

fn key() -> impl Strategy<Value = String> {
    // A small alphabet so that maps repeat keys now and then, plus the envelope's names.
    prop_oneof![
        "[a-c]{1,2}",
        Just("channel".to_owned()),
        Just("payload".to_owned()),
        Just("type".to_owned()),
        Just("entryId".to_owned()),
        Just("ts".to_owned()),
        "[\u{0}-\u{1f}\"\\\\é€😀]{0,3}",
    ]
}

fn leaf() -> impl Strategy<Value = Mp> {
    prop_oneof![
        Just(Mp::Nil),
        any::<bool>().prop_map(Mp::Boolean),
        any::<u64>().prop_map(Mp::from),
        any::<i64>().prop_map(Mp::from),
        (0_u8..=255).prop_map(Mp::from),
        any::<f64>().prop_map(Mp::F64),
        any::<f32>().prop_map(Mp::F32),
        "[ -~é]{0,10}".prop_map(Mp::from),
        key().prop_map(Mp::from),
        Just(Mp::Binary(vec![1, 2])),
        Just(Mp::Ext(3, vec![0])),
        Just(Mp::from("1766939805321-3077")),
        Just(Mp::from("odds")),
        Just(Mp::from("scores")),
    ]
}

fn any_mp() -> impl Strategy<Value = Mp> {
    leaf().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Mp::Array),
            prop::collection::vec((key().prop_map(Mp::from), inner.clone()), 0..6)
                .prop_map(Mp::Map),
            // Now and then a non-string key.
            prop::collection::vec((inner.clone(), inner), 0..2).prop_map(Mp::Map),
        ]
    })
}

/// A data-message envelope around a random payload, for one of the typed channels.
fn envelope() -> impl Strategy<Value = Mp> {
    (
        prop::sample::select(vec![
            "odds",
            "fixtures",
            "bookmakers",
            "scores",
            "clocks",
            "news",
        ]),
        any_mp(),
        any::<u64>(),
        prop::collection::vec((key().prop_map(Mp::from), any_mp()), 0..3),
    )
        .prop_map(|(channel, payload, ts, extra)| {
            let mut entries = vec![
                (Mp::from("channel"), Mp::from(channel)),
                (Mp::from("type"), Mp::from("UPDATE")),
                (Mp::from("payload"), payload),
                (Mp::from("ts"), Mp::from(ts)),
                (Mp::from("entryId"), Mp::from(format!("{ts}-1"))),
            ];
            entries.extend(extra);
            Mp::Map(entries)
        })
}

fn encode(value: &Mp) -> Vec<u8> {
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, value).expect("writing to a Vec");
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_messagepack_decodes_the_same_by_both_paths(value in any_mp()) {
        agree(&mut FastParser::new(), &encode(&value));
    }

    #[test]
    fn random_envelopes_decode_the_same_by_both_paths(value in envelope()) {
        agree(&mut FastParser::new(), &encode(&value));
    }

    #[test]
    fn mutated_and_cut_messagepack_decodes_the_same_by_both_paths(
        value in envelope(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<bool>(),
    ) {
        let mut bytes = encode(&value);
        let i = at.index(bytes.len());
        if cut {
            bytes.truncate(i);
        } else {
            bytes[i] = byte;
        }
        agree(&mut FastParser::new(), &bytes);
    }
}
