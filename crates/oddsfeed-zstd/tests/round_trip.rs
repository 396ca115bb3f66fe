//! Frames as the feed sends them (no content size; dictId in the header for
//! dictionary channels) decode back to the original bytes.

mod common;

use common::{FIXTURES_ID, ODDS_ID, compress, corpus, trained_dict};
use oddsfeed_zstd::{Decompressor, DictStore, frame_dict_id};

#[test]
fn dictless_frames_round_trip() {
    let mut decoder = Decompressor::new(1 << 20);
    let dicts = DictStore::new();
    for message in corpus(1, 50) {
        let frame = compress(&message, None);
        assert_eq!(zstd_safe::get_frame_content_size(&frame).unwrap(), None);
        assert_eq!(frame_dict_id(&frame), Ok(0));
        assert_eq!(decoder.decompress(&frame, &dicts).unwrap(), &message[..]);
    }
    assert_eq!(decoder.stats().frames_ok, 50);
    assert_eq!(decoder.stats().errors(), 0);
}

#[test]
fn trained_dictionary_frames_round_trip() {
    let odds = trained_dict(ODDS_ID, 10);
    let fixtures = trained_dict(FIXTURES_ID, 11);
    let mut dicts = DictStore::new();
    let stored = dicts
        .insert_base64(ODDS_ID, "base64", &common::b64(&odds))
        .unwrap();
    assert_eq!(stored.id(), ODDS_ID);
    assert_eq!(stored.len(), odds.len());
    dicts.insert_raw(FIXTURES_ID, &fixtures).unwrap();
    assert_eq!(dicts.ids(), vec![FIXTURES_ID, ODDS_ID]);

    let mut decoder = Decompressor::new(1 << 20);
    for (i, message) in corpus(2, 60).into_iter().enumerate() {
        let (id, dict) = if i % 2 == 0 {
            (ODDS_ID, &odds)
        } else {
            (FIXTURES_ID, &fixtures)
        };
        let frame = compress(&message, Some(dict));
        assert_eq!(zstd_safe::get_frame_content_size(&frame).unwrap(), None);
        assert_eq!(frame_dict_id(&frame), Ok(id));
        assert_eq!(decoder.decompress(&frame, &dicts).unwrap(), &message[..]);
    }
    assert_eq!(decoder.stats().frames_ok, 60);
}

#[test]
fn dictionary_actually_shrinks_frames() {
    // Guards the test setup: the trained dictionary is a real one, so the
    // dictionary path is really exercised.
    let dict = trained_dict(ODDS_ID, 10);
    let messages = corpus(3, 100);
    let plain: usize = messages.iter().map(|m| compress(m, None).len()).sum();
    let with_dict: usize = messages
        .iter()
        .map(|m| compress(m, Some(&dict)).len())
        .sum();
    assert!(with_dict * 2 < plain, "dict {with_dict} vs plain {plain}");
}

#[test]
fn dictless_and_dict_frames_interleave_on_one_decoder() {
    let odds = trained_dict(ODDS_ID, 10);
    let mut dicts = DictStore::new();
    dicts.insert_raw(ODDS_ID, &odds).unwrap();
    let mut decoder = Decompressor::new(1 << 20);
    for (i, message) in corpus(4, 40).into_iter().enumerate() {
        let frame = compress(&message, (i % 3 == 0).then_some(&odds[..]));
        assert_eq!(decoder.decompress(&frame, &dicts).unwrap(), &message[..]);
    }
}

#[test]
fn output_is_mutable_in_place() {
    let mut decoder = Decompressor::new(1 << 20);
    let frame = compress(br#"{"channel":"scores"}"#, None);
    let out = decoder.decompress(&frame, &DictStore::new()).unwrap();
    out[2] = b'C';
    assert_eq!(out, br#"{"Channel":"scores"}"#);
}

#[test]
fn empty_payload_round_trips() {
    let mut decoder = Decompressor::new(1 << 20);
    let frame = compress(b"", None);
    assert_eq!(decoder.decompress(&frame, &DictStore::new()).unwrap(), b"");
}

#[test]
fn content_size_frames_still_decode() {
    // Not what the feed sends, but a Frame_Content_Size is only a hint.
    let message = corpus(5, 1).remove(0);
    let frame = common::compress_with(
        &message,
        None,
        common::Opts {
            content_size: true,
            checksum: true,
            level: 3,
        },
    );
    let mut decoder = Decompressor::new(1 << 20);
    assert_eq!(
        decoder.decompress(&frame, &DictStore::new()).unwrap(),
        &message[..]
    );
}

#[test]
fn store_clones_share_dictionaries_but_not_later_inserts() {
    let odds = trained_dict(ODDS_ID, 10);
    let mut a = DictStore::new();
    a.insert_raw(ODDS_ID, &odds).unwrap();
    let b = a.clone();
    a.insert_raw(FIXTURES_ID, &trained_dict(FIXTURES_ID, 11))
        .unwrap();
    assert_eq!(b.ids(), vec![ODDS_ID]);
    assert_eq!(a.ids(), vec![FIXTURES_ID, ODDS_ID]);
    assert!(std::sync::Arc::ptr_eq(
        &a.get(ODDS_ID).unwrap(),
        &b.get(ODDS_ID).unwrap()
    ));
}
