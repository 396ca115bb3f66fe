//! A frame naming a dictionary the store lacks is refused with the id and
//! the ids the store does hold, before any decoding.

mod common;

use common::{FIXTURES_ID, ODDS_ID, compress, corpus, trained_dict};
use oddsfeed_zstd::{Decompressor, DictStore, ZstdError};

#[test]
fn unknown_dict_names_the_id_and_the_known_ids() {
    let mut dicts = DictStore::new();
    dicts
        .insert_raw(ODDS_ID, &trained_dict(ODDS_ID, 10))
        .unwrap();
    dicts
        .insert_raw(FIXTURES_ID, &trained_dict(FIXTURES_ID, 11))
        .unwrap();

    let message = corpus(7, 1).remove(0);
    let frame = compress(&message, Some(&trained_dict(99, 12)));
    let mut decoder = Decompressor::new(1 << 20);
    let err = decoder.decompress(&frame, &dicts).unwrap_err();
    assert_eq!(
        err,
        ZstdError::UnknownDict {
            id: 99,
            known: vec![FIXTURES_ID, ODDS_ID],
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown zstd dictionary id 99 (known: 1102, 740826216)"
    );
    assert_eq!(err.reason(), "unknown_dict");
    assert_eq!(err.dict_id(), Some(99));
    assert_eq!(decoder.stats().unknown_dict, 1);
}

#[test]
fn unknown_dict_with_empty_store() {
    let frame = compress(b"{\"channel\":\"odds\"}", Some(&trained_dict(ODDS_ID, 10)));
    let mut decoder = Decompressor::new(1 << 20);
    let err = decoder.decompress(&frame, &DictStore::new()).unwrap_err();
    assert_eq!(
        err,
        ZstdError::UnknownDict {
            id: ODDS_ID,
            known: vec![],
        }
    );
    assert_eq!(
        err.to_string(),
        "unknown zstd dictionary id 740826216 (known: none)"
    );
}

#[test]
fn unknown_dict_is_reported_even_for_a_truncated_body() {
    // The dictId comes from the header alone; the lookup happens before the
    // body is examined, so the report names the missing dictionary.
    let frame = compress(&corpus(8, 1).remove(0), Some(&trained_dict(ODDS_ID, 10)));
    let mut decoder = Decompressor::new(1 << 20);
    let err = decoder
        .decompress(&frame[..frame.len() - 3], &DictStore::new())
        .unwrap_err();
    assert_eq!(
        err,
        ZstdError::UnknownDict {
            id: ODDS_ID,
            known: vec![],
        }
    );
}
