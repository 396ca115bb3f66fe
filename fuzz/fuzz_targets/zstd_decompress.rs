//! Fuzz target: `oddsfeed_zstd::Decompressor` and `DictStore` (docs/PROTOCOL.md
//! B.5 "zstd steps", B.6, "Robustness rules").
//!
//! The store starts with the three fixture dictionaries (odds 740826216,
//! fixtures 740826217, bookmakers 740826218) and the decompressor has a 1 MiB
//! output bound. Byte 0 picks the operation, the rest is its input:
//!
//! - `0`: decompress the rest as one frame, twice (same output, or an error
//!   both times),
//!   then a known-good fixture frame (the decoder recovered);
//! - `1`: decompress the rest with an empty store: a frame naming a
//!   dictionary must fail with `unknown_dict`;
//! - `2`: `insert_base64(id, encoding, text)` with a little-endian id (4
//!   bytes), an encoding picked by one byte, and the lossy UTF-8 of the rest;
//!   then decode every fixture frame with the resulting store;
//! - `3`: `insert_raw(id, bytes)` with the id from the dictionary header
//!   (bytes 4..8, as a real `dict` frame would announce it) or, when the
//!   input is too short, 740826216; then decode every fixture frame.
//!
//! Invariants: output and the reused buffer never exceed the bound; errors
//! are never fatal; a refused dictionary leaves the store unchanged; an
//! accepted one is stored under its id and is at most `MAX_DICT_SIZE`.
#![no_main]

use std::sync::{Arc, LazyLock};

use libfuzzer_sys::fuzz_target;
use oddsfeed_zstd::{Decompressor, DictStore, MAX_DICT_SIZE, ZstdError, frame_dict_id};

/// Output bound for the fuzzer: small, so bombs are refused quickly.
const BOUND: usize = 1 << 20;

const ODDS_ID: u32 = 740_826_216;

const DICTS: [(u32, &[u8]); 3] = [
    (ODDS_ID, include_bytes!("../../fixtures/dicts/odds.dict")),
    (
        740_826_217,
        include_bytes!("../../fixtures/dicts/fixtures.dict"),
    ),
    (
        740_826_218,
        include_bytes!("../../fixtures/dicts/bookmakers.dict"),
    ),
];

/// `(frame, expected output)` for every fixture frame, dictless and with dictionaries.
const FRAMES: [(&[u8], &[u8]); 6] = [
    (
        include_bytes!("../../fixtures/frames/zstd-dict/data_odds.bin"),
        include_bytes!("../../fixtures/frames/json/data_odds.bin"),
    ),
    (
        include_bytes!("../../fixtures/frames/zstd-dict/data_fixtures.bin"),
        include_bytes!("../../fixtures/frames/json/data_fixtures.bin"),
    ),
    (
        include_bytes!("../../fixtures/frames/zstd-dict/data_bookmakers.bin"),
        include_bytes!("../../fixtures/frames/json/data_bookmakers.bin"),
    ),
    (
        include_bytes!("../../fixtures/frames/zstd/data_odds.bin"),
        include_bytes!("../../fixtures/frames/json/data_odds.bin"),
    ),
    (
        include_bytes!("../../fixtures/frames/zstd/data_scores.bin"),
        include_bytes!("../../fixtures/frames/json/data_scores.bin"),
    ),
    (
        include_bytes!("../../fixtures/frames/zstd-dict/data_clocks.bin"),
        include_bytes!("../../fixtures/frames/json/data_clocks.bin"),
    ),
];

static STORE: LazyLock<DictStore> = LazyLock::new(|| {
    let mut store = DictStore::new();
    for (id, bytes) in DICTS {
        if let Err(e) = store.insert_raw(id, bytes) {
            panic!("fixture dictionary {id} refused: {e}");
        }
    }
    store
});

/// Decodes `frame` and checks the bound and the error invariants; returns the
/// output or the error.
fn decode(dec: &mut Decompressor, frame: &[u8], store: &DictStore) -> Result<Vec<u8>, ZstdError> {
    let result = dec.decompress(frame, store).map(|out| out.to_vec());
    assert!(
        dec.buffer_capacity() <= BOUND,
        "buffer {} > bound",
        dec.buffer_capacity()
    );
    match &result {
        Ok(out) => {
            assert!(out.len() <= BOUND, "output {} > bound", out.len());
            let id = frame_dict_id(frame).unwrap_or_else(|e| panic!("decoded, yet header: {e}"));
            assert!(
                id == 0 || store.contains(id),
                "decoded with unknown dict {id}"
            );
        }
        Err(e) => {
            assert!(!e.is_fatal());
            assert_ne!(
                e.reason(),
                "dict_rejected",
                "decompress never rejects dicts"
            );
            match e {
                ZstdError::OutputBoundExceeded { bound } => assert_eq!(*bound, BOUND),
                ZstdError::UnknownDict { id, known } => {
                    assert!(!store.contains(*id));
                    assert_eq!(known, &store.ids());
                }
                _ => {}
            }
        }
    }
    result
}

/// Decodes every fixture frame with `store`; checks the output where the
/// dictionaries are the fixture ones.
fn decode_fixtures(dec: &mut Decompressor, store: &DictStore) {
    for (frame, expected) in FRAMES {
        let id = frame_dict_id(frame).unwrap_or_else(|e| panic!("fixture frame: {e}"));
        let pristine = match (store.get(id), STORE.get(id)) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a, &b),
            (None, None) => true,
            _ => false,
        };
        let result = decode(dec, frame, store);
        if pristine {
            assert_eq!(
                result.as_deref(),
                Ok(expected),
                "fixture frame with fixture dict"
            );
        }
    }
}

/// The store's observable state, to check that refusals change nothing.
fn snapshot(store: &DictStore) -> Vec<(u32, usize)> {
    store
        .ids()
        .into_iter()
        .map(|id| (id, store.get(id).map_or(usize::MAX, |d| d.len())))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, rest)) = data.split_first() else {
        return;
    };
    let mut dec = Decompressor::new(BOUND);
    match op % 4 {
        0 => {
            let first = decode(&mut dec, rest, &STORE);
            let second = decode(&mut dec, rest, &STORE);
            // A frame that decodes decodes the same again. A corrupt one fails
            // again, but not always with the same error: libzstd may detect the
            // corruption at once with a DDict it has not used yet and only run
            // out of room (`output_bound_exceeded`) with one it has.
            match (&first, &second) {
                (Ok(a), Ok(b)) => assert_eq!(a, b, "same frame, different output"),
                (Err(_), Err(_)) => {}
                _ => panic!("same frame, one success: {first:?} then {second:?}"),
            }
            decode_fixtures(&mut dec, &STORE);
        }
        1 => {
            let empty = DictStore::new();
            let header = frame_dict_id(rest);
            let result = decode(&mut dec, rest, &empty);
            if let Ok(id @ 1..) = header {
                assert_eq!(
                    result,
                    Err(ZstdError::UnknownDict { id, known: vec![] }),
                    "a frame naming a dictionary needs it"
                );
            }
            decode_fixtures(&mut dec, &empty);
        }
        2 => {
            let Some((&[a, b, c, d, enc], text)) = rest.split_first_chunk::<5>() else {
                return;
            };
            let id = u32::from_le_bytes([a, b, c, d]);
            let encoding = match enc % 4 {
                0 | 1 => "base64",
                2 => "Base64",
                _ => "",
            };
            let text = String::from_utf8_lossy(text);
            insert_and_decode(&mut dec, id, |store| {
                store.insert_base64(id, encoding, &text)
            });
        }
        _ => {
            let id = rest
                .get(4..8)
                .and_then(|b| b.try_into().ok())
                .map_or(ODDS_ID, u32::from_le_bytes);
            insert_and_decode(&mut dec, id, |store| store.insert_raw(id, rest));
        }
    }
});

/// Runs one insertion on a copy of the fixture store, checks its outcome,
/// then decodes every fixture frame with the result.
fn insert_and_decode(
    dec: &mut Decompressor,
    id: u32,
    insert: impl FnOnce(&mut DictStore) -> Result<Arc<oddsfeed_zstd::Dictionary>, ZstdError>,
) {
    let mut store = STORE.clone();
    let before = snapshot(&store);
    match insert(&mut store) {
        Ok(dict) => {
            assert_ne!(id, 0);
            assert_eq!(dict.id(), id);
            assert!(dict.len() <= MAX_DICT_SIZE);
            assert!(store.get(id).is_some_and(|d| Arc::ptr_eq(&d, &dict)));
        }
        Err(e) => {
            assert!(!e.is_fatal());
            assert_eq!(e.reason(), "dict_rejected");
            assert_eq!(e.dict_id(), Some(id));
            assert_eq!(
                snapshot(&store),
                before,
                "a refused dictionary changed the store"
            );
        }
    }
    // The shared fixture store is untouched whatever happened to the copy.
    assert_eq!(snapshot(&STORE), before);
    decode_fixtures(dec, &store);
}
