//! Inputs found by the `zstd_decompress` fuzz target (fuzz/), pinned.
//!
//! Each test is named after what the input showed. The inputs use the checked-in
//! fixture dictionaries and frames (fixtures/), as the fuzz target does.

use oddsfeed_zstd::{Decompressor, DictStore, ZstdError};

const FIXTURES_ID: u32 = 740_826_217;
const FIXTURES_DICT: &[u8] = include_bytes!("../../../fixtures/dicts/fixtures.dict");
const GOOD_FRAME: &[u8] = include_bytes!("../../../fixtures/frames/zstd-dict/data_fixtures.bin");
const GOOD_JSON: &[u8] = include_bytes!("../../../fixtures/frames/json/data_fixtures.bin");
const BOUND: usize = 1 << 20;

/// A 64-byte frame naming the `fixtures` dictionary, with a corrupt body.
const CORRUPT_FRAME: [u8; 64] = [
    0x28, 0xb5, 0x2f, 0xfd, 0x03, 0x00, 0x69, 0x1c, 0x28, 0x2c, 0x9d, 0x01, 0x00, 0xb3, 0x81, 0x03,
    0xcd, 0x59, 0x27, 0x91, 0x99, 0xe6, 0x1d, 0x12, 0xe9, 0x51, 0x7d, 0x87, 0xa9, 0x1b, 0x0d, 0xfc,
    0x00, 0x4e, 0xe0, 0xae, 0x29, 0x35, 0x51, 0x2c, 0x24, 0x9b, 0x02, 0xf2, 0xf5, 0x01, 0x10, 0x65,
    0x54, 0x2a, 0xc0, 0x28, 0x9c, 0xfa, 0xad, 0x2e, 0x9c, 0x67, 0x0a, 0xbb, 0xe1, 0x71, 0x50, 0x5e,
];

fn store() -> DictStore {
    let mut dicts = DictStore::new();
    if let Err(e) = dicts.insert_raw(FIXTURES_ID, FIXTURES_DICT) {
        panic!("fixture dictionary refused: {e}");
    }
    dicts
}

/// libzstd spots this corruption at once with a DDict the context has not
/// used yet, but with a "warm" one it decodes on until the output bound. Both
/// are refusals, neither is fatal, the buffer never passes the bound, and the
/// next good frame decodes.
#[test]
fn corrupt_frame_is_refused_whether_the_dictionary_is_cold_or_warm() {
    let dicts = store();
    let mut decoder = Decompressor::new(BOUND);
    let corrupt = ZstdError::Corrupt {
        reason: "Data corruption detected".to_owned(),
    };
    let bound = ZstdError::OutputBoundExceeded { bound: BOUND };

    let first = decoder
        .decompress(&CORRUPT_FRAME, &dicts)
        .map(|out| out.len());
    assert_eq!(first, Err(corrupt.clone()), "cold DDict");
    for attempt in 0..3 {
        let again = decoder
            .decompress(&CORRUPT_FRAME, &dicts)
            .map(|out| out.len());
        match again {
            Err(ref e) if *e == corrupt || *e == bound => assert!(!e.is_fatal()),
            other => panic!("attempt {attempt}: unexpected {other:?}"),
        }
        assert!(decoder.buffer_capacity() <= BOUND);
    }
    let good = decoder
        .decompress(GOOD_FRAME, &dicts)
        .map(|out| out.to_vec());
    assert_eq!(good.as_deref(), Ok(GOOD_JSON));
    assert_eq!(decoder.stats().frames_ok, 1);
    assert_eq!(decoder.stats().errors(), 4);
}

/// After a good frame (the DDict is warm) the corrupt frame is refused too,
/// and the decoder recovers.
#[test]
fn corrupt_frame_after_a_good_one_is_refused_and_recovered_from() {
    let dicts = store();
    let mut decoder = Decompressor::new(BOUND);
    assert_eq!(
        decoder
            .decompress(GOOD_FRAME, &dicts)
            .map(|out| out.to_vec())
            .as_deref(),
        Ok(GOOD_JSON)
    );
    let refused = decoder
        .decompress(&CORRUPT_FRAME, &dicts)
        .map(|out| out.len());
    match refused {
        Err(ZstdError::OutputBoundExceeded { bound: BOUND }) => {}
        Err(ZstdError::Corrupt { ref reason }) => assert_eq!(reason, "Data corruption detected"),
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(
        decoder
            .decompress(GOOD_FRAME, &dicts)
            .map(|out| out.to_vec())
            .as_deref(),
        Ok(GOOD_JSON)
    );
}
