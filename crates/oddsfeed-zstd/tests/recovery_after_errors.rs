//! After any error, the same `Decompressor` decodes the next good frame.

mod common;

use std::io::Write as _;

use common::{ODDS_ID, Opts, compress, compress_with, corpus, trained_dict};
use oddsfeed_zstd::{Decompressor, DictStore, ZstdError};

#[test]
fn every_error_kind_is_followed_by_a_good_frame() {
    let dict = trained_dict(ODDS_ID, 10);
    let mut dicts = DictStore::new();
    dicts.insert_raw(ODDS_ID, &dict).unwrap();
    let messages = corpus(40, 8);
    let good = |i: usize| compress(&messages[i % messages.len()], Some(&dict));

    let dictless = compress(&messages[0], None);
    let with_dict = good(1);
    let checksummed = compress_with(
        &messages[2],
        None,
        Opts {
            checksum: true,
            ..Opts::default()
        },
    );
    let mut checksum_bad = checksummed.clone();
    *checksum_bad.last_mut().unwrap() ^= 1;
    let mut reserved_block = dictless.clone();
    reserved_block[6] |= 0b110;
    let mut trailing = with_dict.clone();
    trailing.push(0);
    let mut big = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    big.write_all(&vec![b'x'; 2 << 20]).unwrap();
    let over_bound = big.finish().unwrap();

    let bad: Vec<(Vec<u8>, ZstdError)> = vec![
        (
            b"{}".to_vec(),
            ZstdError::BadMagic {
                prefix: b"{}".to_vec(),
            },
        ),
        (
            compress(&messages[3], Some(&trained_dict(5, 10))),
            ZstdError::UnknownDict {
                id: 5,
                known: vec![ODDS_ID],
            },
        ),
        (
            with_dict[..with_dict.len() / 2].to_vec(),
            ZstdError::Truncated,
        ),
        (
            checksum_bad,
            ZstdError::Corrupt {
                reason: "Restored data doesn't match checksum".to_owned(),
            },
        ),
        (
            reserved_block,
            ZstdError::Corrupt {
                reason: "Data corruption detected".to_owned(),
            },
        ),
        (trailing, ZstdError::TrailingBytes { extra: 1 }),
        (
            over_bound,
            ZstdError::OutputBoundExceeded { bound: 1 << 20 },
        ),
    ];

    let mut decoder = Decompressor::new(1 << 20);
    for (i, (frame, expected)) in bad.iter().enumerate() {
        assert_eq!(&decoder.decompress(frame, &dicts).unwrap_err(), expected);
        let next = good(i);
        assert_eq!(
            decoder.decompress(&next, &dicts).unwrap(),
            &messages[i % messages.len()][..],
            "good frame after {expected:?}"
        );
        // Dictless too, so both decoding paths are checked after each error.
        assert_eq!(
            decoder.decompress(&dictless, &dicts).unwrap(),
            &messages[0][..]
        );
    }
    let stats = decoder.stats();
    assert_eq!(stats.frames_ok, 2 * bad.len() as u64);
    assert_eq!(
        (
            stats.bad_magic,
            stats.unknown_dict,
            stats.truncated,
            stats.corrupt,
            stats.trailing_bytes,
            stats.output_bound_exceeded
        ),
        (1, 1, 1, 2, 1, 1)
    );
    assert_eq!(stats.errors(), bad.len() as u64);
}

#[test]
fn a_bomb_mid_stream_does_not_disturb_later_dictionary_frames() {
    let dict = trained_dict(ODDS_ID, 10);
    let mut dicts = DictStore::new();
    dicts.insert_raw(ODDS_ID, &dict).unwrap();
    let mut bomb = zstd::stream::write::Encoder::new(Vec::new(), 1).unwrap();
    bomb.include_contentsize(false).unwrap();
    bomb.write_all(&vec![0_u8; 4 << 20]).unwrap();
    let bomb = bomb.finish().unwrap();

    let mut decoder = Decompressor::new(1 << 20);
    for (i, message) in corpus(41, 20).into_iter().enumerate() {
        if i % 5 == 2 {
            assert_eq!(
                decoder.decompress(&bomb, &dicts).unwrap_err(),
                ZstdError::OutputBoundExceeded { bound: 1 << 20 }
            );
        }
        let frame = compress(&message, Some(&dict));
        assert_eq!(decoder.decompress(&frame, &dicts).unwrap(), &message[..]);
    }
}
