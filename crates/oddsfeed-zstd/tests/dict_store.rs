//! Dictionary frames: accepted ones are stored by id and replace an older
//! one with the same id; rejected ones say why and keep the previous one.

mod common;

use std::sync::Arc;

use common::{FIXTURES_ID, ODDS_ID, b64, compress, corpus, trained_dict};
use oddsfeed_zstd::{Decompressor, DictRejection, DictStore, MAX_DICT_SIZE, MAX_DICTS, ZstdError};

/// A store holding the `ODDS_ID` dictionary, plus that dictionary's bytes.
fn store_with_odds() -> (DictStore, Vec<u8>) {
    let dict = trained_dict(ODDS_ID, 10);
    let mut store = DictStore::new();
    store.insert_base64(ODDS_ID, "base64", &b64(&dict)).unwrap();
    (store, dict)
}

/// Asserts `result` is a rejection of `id` for `why`, and that the store
/// still holds exactly `before` under `id` and decodes with it.
fn assert_rejected_and_kept(
    store: &DictStore,
    result: Result<Arc<oddsfeed_zstd::Dictionary>, ZstdError>,
    id: u32,
    why: DictRejection,
    before: &Arc<oddsfeed_zstd::Dictionary>,
    dict_bytes: &[u8],
) {
    let err = result.unwrap_err();
    assert_eq!(err, ZstdError::DictRejected { id, why });
    assert_eq!(err.reason(), "dict_rejected");
    assert_eq!(err.dict_id(), Some(id));
    assert!(!err.is_fatal());
    assert!(
        Arc::ptr_eq(&store.get(id).unwrap(), before),
        "previous dictionary replaced"
    );
    let message = corpus(30, 1).remove(0);
    let frame = compress(&message, Some(dict_bytes));
    let mut decoder = Decompressor::new(1 << 20);
    assert_eq!(decoder.decompress(&frame, store).unwrap(), &message[..]);
}

#[test]
fn bad_base64_keeps_previous() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let result = store.insert_base64(ODDS_ID, "base64", "N6Qw7G*p!!");
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::BadBase64,
        &before,
        &dict,
    );
}

#[test]
fn url_safe_alphabet_is_bad_base64() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let url_safe = b64(&dict).replace('+', "-").replace('/', "_");
    assert_ne!(url_safe, b64(&dict), "test data must contain + or /");
    let result = store.insert_base64(ODDS_ID, "base64", &url_safe);
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::BadBase64,
        &before,
        &dict,
    );
}

#[test]
fn wrong_encoding_keeps_previous() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    for encoding in ["hex", "BASE64", "", "base64url"] {
        let result = store.insert_base64(ODDS_ID, encoding, &b64(&dict));
        assert_rejected_and_kept(
            &store,
            result,
            ODDS_ID,
            DictRejection::BadEncoding(encoding.to_owned()),
            &before,
            &dict,
        );
    }
}

#[test]
fn id_mismatch_keeps_previous() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let other = trained_dict(FIXTURES_ID, 11);
    let result = store.insert_base64(ODDS_ID, "base64", &b64(&other));
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::IdMismatch {
            header: FIXTURES_ID,
        },
        &before,
        &dict,
    );
    assert_eq!(store.ids(), vec![ODDS_ID]);
}

#[test]
fn too_large_keeps_previous() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let mut huge = dict.clone();
    huge.resize(MAX_DICT_SIZE + 1, 0);
    let result = store.insert_raw(ODDS_ID, &huge);
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::TooLarge(MAX_DICT_SIZE + 1),
        &before,
        &dict,
    );
    // Through base64 the size is judged before decoding (an estimate).
    let result = store.insert_base64(ODDS_ID, "base64", &b64(&vec![0x55; MAX_DICT_SIZE + 3]));
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::TooLarge(MAX_DICT_SIZE + 3),
        &before,
        &dict,
    );
    // Exactly at the limit after decoding, but not a dictionary: size passes.
    let result = store.insert_base64(ODDS_ID, "base64", &b64(&vec![0x55; MAX_DICT_SIZE]));
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::NotADictionary,
        &before,
        &dict,
    );
}

#[test]
fn zero_id_is_rejected() {
    let mut store = DictStore::new();
    let dict = trained_dict(0, 10);
    assert_eq!(
        store.insert_raw(0, &dict).unwrap_err(),
        ZstdError::DictRejected {
            id: 0,
            why: DictRejection::ZeroId
        }
    );
    assert_eq!(
        store.insert_base64(0, "base64", &b64(&dict)).unwrap_err(),
        ZstdError::DictRejected {
            id: 0,
            why: DictRejection::ZeroId
        }
    );
    assert!(store.is_empty());
}

#[test]
fn raw_content_is_not_a_dictionary() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let result = store.insert_raw(ODDS_ID, b"{\"channel\":\"odds\",\"payload\":{}}");
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::NotADictionary,
        &before,
        &dict,
    );
}

#[test]
fn corrupt_tables_are_invalid_and_keep_previous() {
    let (mut store, dict) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    // Right magic and id, garbage entropy tables.
    let mut bad = dict[..8].to_vec();
    bad.extend(std::iter::repeat_n(0xFF, 256));
    let result = store.insert_raw(ODDS_ID, &bad);
    assert_rejected_and_kept(
        &store,
        result,
        ODDS_ID,
        DictRejection::Invalid,
        &before,
        &dict,
    );
}

#[test]
fn padding_is_optional() {
    let dict = trained_dict(ODDS_ID, 10);
    let padded = b64(&dict);
    let unpadded = padded.trim_end_matches('=');
    let mut store = DictStore::new();
    let a = store.insert_base64(ODDS_ID, "base64", &padded).unwrap();
    let b = store.insert_base64(ODDS_ID, "base64", unpadded).unwrap();
    assert_eq!((a.id(), a.len()), (b.id(), b.len()));
    // Pick a dictionary size that needs padding, so the test means something.
    let mut odd = dict.clone();
    while odd.len().is_multiple_of(3) {
        odd.pop();
    }
    let padded = b64(&odd);
    assert!(padded.ends_with('='));
    // Truncating a trained dictionary's content keeps its tables loadable.
    store
        .insert_base64(ODDS_ID, "base64", padded.trim_end_matches('='))
        .unwrap();
}

#[test]
fn new_dictionary_with_same_id_replaces() {
    let (mut store, first) = store_with_odds();
    let before = store.get(ODDS_ID).unwrap();
    let second = trained_dict(ODDS_ID, 77);
    assert_ne!(first, second);
    let after = store
        .insert_base64(ODDS_ID, "base64", &b64(&second))
        .unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert!(Arc::ptr_eq(&store.get(ODDS_ID).unwrap(), &after));
    assert_eq!(store.len(), 1);

    // Frames made with the new dictionary decode.
    let mut decoder = Decompressor::new(1 << 20);
    for message in corpus(31, 10) {
        let frame = compress(&message, Some(&second));
        assert_eq!(decoder.decompress(&frame, &store).unwrap(), &message[..]);
    }
    // The old Arc stays usable by whoever still holds it.
    assert_eq!(before.id(), ODDS_ID);
}

#[test]
fn store_full_rejects_new_ids_but_allows_replacement() {
    let base = trained_dict(1, 10);
    let with_id = |id: u32| {
        let mut d = base.clone();
        d[4..8].copy_from_slice(&id.to_le_bytes());
        d
    };
    let mut store = DictStore::new();
    for id in 1..=MAX_DICTS as u32 {
        store.insert_raw(id, &with_id(id)).unwrap();
    }
    assert_eq!(store.len(), MAX_DICTS);
    let new_id = MAX_DICTS as u32 + 1;
    assert_eq!(
        store.insert_raw(new_id, &with_id(new_id)).unwrap_err(),
        ZstdError::DictRejected {
            id: new_id,
            why: DictRejection::StoreFull
        }
    );
    assert!(!store.contains(new_id));
    let before = store.get(5).unwrap();
    let after = store.insert_raw(5, &with_id(5)).unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(store.len(), MAX_DICTS);
    assert_eq!(store.ids(), (1..=MAX_DICTS as u32).collect::<Vec<_>>());
}

#[test]
fn ids_are_sorted() {
    let mut store = DictStore::new();
    for id in [900_u32, 3, 740_826_216, 44] {
        store.insert_raw(id, &trained_dict(id, 10)).unwrap();
    }
    assert_eq!(store.ids(), vec![3, 44, 900, 740_826_216]);
    assert_eq!(
        format!("{store:?}"),
        "DictStore { ids: [3, 44, 900, 740826216] }"
    );
}
