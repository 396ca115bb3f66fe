//! Property tests: any payload round-trips, with or without a dictionary and
//! at any level; arbitrary input after a valid magic never panics and the
//! decoder stays usable.

mod common;

use std::sync::OnceLock;

use common::{ODDS_ID, Opts, compress_with, trained_dict};
use oddsfeed_zstd::{Decompressor, DictStore, ZSTD_MAGIC, ZstdError};
use proptest::prelude::*;

/// The trained dictionary and a store holding it, built once per binary.
fn fixture() -> &'static (Vec<u8>, DictStore) {
    static FIXTURE: OnceLock<(Vec<u8>, DictStore)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dict = trained_dict(ODDS_ID, 10);
        let mut store = DictStore::new();
        store.insert_raw(ODDS_ID, &dict).unwrap();
        (dict, store)
    })
}

/// Payloads: raw bytes, or JSON-ish text that the dictionary matches well.
fn payload() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20_000),
        (any::<u64>(), 1_usize..40).prop_map(|(seed, n)| common::corpus(seed, n).concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn round_trip(
        data in payload(),
        use_dict in any::<bool>(),
        level in 1_i32..=9,
        checksum in any::<bool>(),
    ) {
        let (dict, store) = fixture();
        let frame = compress_with(
            &data,
            use_dict.then_some(&dict[..]),
            Opts { content_size: false, checksum, level },
        );
        let mut decoder = Decompressor::new(1 << 20);
        let out = decoder.decompress(&frame, store).unwrap();
        prop_assert_eq!(&out[..], &data[..]);
    }

    #[test]
    fn output_bound_holds_for_any_bound(
        len in 0_usize..200_000,
        bound in 0_usize..200_000,
    ) {
        let data: Vec<u8> = (0..len).map(|i| (i % 97) as u8).collect();
        let frame = compress_with(&data, None, Opts::default());
        let mut decoder = Decompressor::new(bound);
        match decoder.decompress(&frame, &DictStore::new()) {
            Ok(out) => {
                prop_assert!(len <= bound);
                prop_assert_eq!(&out[..], &data[..]);
            }
            Err(err) => {
                prop_assert!(len > bound, "{err:?} for len {len} <= bound {bound}");
                prop_assert_eq!(err, ZstdError::OutputBoundExceeded { bound });
            }
        }
        prop_assert!(decoder.buffer_capacity() <= bound.max(1));
    }

    #[test]
    fn garbage_after_magic_never_panics(tail in proptest::collection::vec(any::<u8>(), 0..512)) {
        let (_, store) = fixture();
        let mut frame = ZSTD_MAGIC.to_vec();
        frame.extend_from_slice(&tail);
        let mut decoder = Decompressor::new(1 << 16);
        let first = decoder.decompress(&frame, store).map(|out| out.len());
        if let Ok(len) = first {
            prop_assert!(len <= 1 << 16);
        }
        let good = compress_with(b"{\"ok\":1}", None, Opts::default());
        prop_assert_eq!(decoder.decompress(&good, store).unwrap(), b"{\"ok\":1}");
    }
}
