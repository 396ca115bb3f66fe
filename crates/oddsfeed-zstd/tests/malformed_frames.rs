//! Frames that are not exactly one valid zstd frame are refused with the
//! specific error: bad magic, truncated, corrupt, trailing bytes.

mod common;

use common::{ODDS_ID, Opts, compress, compress_with, corpus, trained_dict};
use oddsfeed_zstd::{Decompressor, DictStore, ZstdError};

fn decoder() -> Decompressor {
    Decompressor::new(1 << 20)
}

// ---- bad magic ------------------------------------------------------------

#[test]
fn json_bytes_are_bad_magic_with_prefix() {
    let err = decoder()
        .decompress(br#"{"a":1}"#, &DictStore::new())
        .unwrap_err();
    assert_eq!(
        err,
        ZstdError::BadMagic {
            prefix: br#"{"a":1}"#.to_vec()
        }
    );
    assert_eq!(err.reason(), "bad_magic");
    assert_eq!(
        err.to_string(),
        "not a zstd frame: bad magic (first bytes: 7b 22 61 22 3a 31 7d)"
    );
}

#[test]
fn bad_magic_prefix_is_capped_at_16_bytes() {
    let input = [0x42_u8; 1000];
    assert_eq!(
        decoder().decompress(&input, &DictStore::new()).unwrap_err(),
        ZstdError::BadMagic {
            prefix: vec![0x42; 16]
        }
    );
}

#[test]
fn fewer_than_four_bytes_is_bad_magic() {
    // Documented choice: without a whole magic there is no zstd frame to be
    // truncated, so 0..=3 bytes (even a prefix of the magic) are bad_magic.
    let frame = compress(b"hello", None);
    for cut in 0..4 {
        assert_eq!(
            decoder()
                .decompress(&frame[..cut], &DictStore::new())
                .unwrap_err(),
            ZstdError::BadMagic {
                prefix: frame[..cut].to_vec()
            },
            "cut at {cut}"
        );
    }
}

#[test]
fn one_flipped_magic_byte_is_bad_magic() {
    let mut frame = compress(b"hello", None);
    frame[3] = 0xFE;
    assert!(matches!(
        decoder().decompress(&frame, &DictStore::new()),
        Err(ZstdError::BadMagic { .. })
    ));
}

// ---- truncated -------------------------------------------------------------

#[test]
fn every_cut_after_the_magic_is_truncated() {
    let messages = corpus(20, 3);
    let dict = trained_dict(ODDS_ID, 10);
    let mut dicts = DictStore::new();
    dicts.insert_raw(ODDS_ID, &dict).unwrap();
    let big: Vec<u8> = messages.concat().repeat(200); // several blocks
    let frames = [
        compress(&messages[0], None),
        compress(&messages[1], Some(&dict)),
        compress(&big, None),
        compress_with(
            &messages[2],
            Some(&dict),
            Opts {
                checksum: true,
                ..Opts::default()
            },
        ),
    ];
    let mut decoder = decoder();
    for frame in &frames {
        for cut in 4..frame.len() {
            assert_eq!(
                decoder.decompress(&frame[..cut], &dicts).unwrap_err(),
                ZstdError::Truncated,
                "cut at {cut} of {}",
                frame.len()
            );
        }
        assert!(decoder.decompress(frame, &dicts).is_ok());
    }
    assert_eq!(ZstdError::Truncated.reason(), "zstd_truncated");
}

// ---- corrupt ---------------------------------------------------------------

/// Header of a dictless, size-less, multi-segment frame: magic, descriptor,
/// window descriptor. The first block header follows.
const DICTLESS_HEADER_LEN: usize = 6;

#[test]
fn reserved_block_type_is_corrupt() {
    let mut frame = compress(&corpus(21, 1).remove(0), None);
    // Block_Type is bits 1-2 of the block header's first byte; 3 is reserved.
    frame[DICTLESS_HEADER_LEN] |= 0b110;
    assert_eq!(
        decoder().decompress(&frame, &DictStore::new()).unwrap_err(),
        ZstdError::Corrupt {
            reason: "Data corruption detected".to_owned()
        }
    );
}

#[test]
fn checksum_mismatch_is_corrupt() {
    let message = corpus(22, 1).remove(0);
    let mut frame = compress_with(
        &message,
        None,
        Opts {
            checksum: true,
            ..Opts::default()
        },
    );
    let last = frame.len() - 1;
    frame[last] ^= 0xFF;
    let err = decoder().decompress(&frame, &DictStore::new()).unwrap_err();
    assert_eq!(
        err,
        ZstdError::Corrupt {
            reason: "Restored data doesn't match checksum".to_owned()
        }
    );
    assert_eq!(err.reason(), "zstd_error");
}

#[test]
fn garbage_block_body_is_corrupt() {
    // A compressed block whose entropy tables are garbage.
    let message = corpus(23, 40).concat();
    let mut frame = compress(&message, None);
    let body_start = DICTLESS_HEADER_LEN + 3;
    assert_eq!(
        (frame[DICTLESS_HEADER_LEN] >> 1) & 0b11,
        2,
        "expected a compressed block"
    );
    for byte in &mut frame[body_start..body_start + 16] {
        *byte = 0xFF;
    }
    let err = decoder().decompress(&frame, &DictStore::new()).unwrap_err();
    assert!(matches!(err, ZstdError::Corrupt { .. }), "{err:?}");
}

#[test]
fn invalid_frame_header_is_corrupt() {
    let mut frame = compress(b"hello hello", None);
    frame[4] |= 0b1000; // reserved bit of the Frame_Header_Descriptor
    assert_eq!(
        decoder().decompress(&frame, &DictStore::new()).unwrap_err(),
        ZstdError::Corrupt {
            reason: "Unsupported frame parameter".to_owned()
        }
    );
}

#[test]
fn frame_made_with_another_dictionary_under_the_same_id_is_corrupt() {
    // Same id, different dictionary content: the header cannot tell, the
    // decoding does (for this fixed corpus; in general a mismatch may also
    // decode to garbage, which the JSON layer then refuses).
    let ours = trained_dict(ODDS_ID, 10);
    let theirs = trained_dict(ODDS_ID, 99);
    let mut dicts = DictStore::new();
    dicts.insert_raw(ODDS_ID, &ours).unwrap();
    let message = corpus(24, 1).remove(0);
    let frame = compress(&message, Some(&theirs));
    assert_eq!(
        decoder().decompress(&frame, &dicts).unwrap_err(),
        ZstdError::Corrupt {
            reason: "Data corruption detected".to_owned()
        }
    );
}

// ---- trailing bytes ----------------------------------------------------------

#[test]
fn bytes_after_the_frame_are_trailing() {
    let mut frame = compress(b"{\"channel\":\"scores\"}", None);
    frame.extend_from_slice(b"xyz");
    let err = decoder().decompress(&frame, &DictStore::new()).unwrap_err();
    assert_eq!(err, ZstdError::TrailingBytes { extra: 3 });
    assert_eq!(err.reason(), "trailing_bytes");
}

#[test]
fn two_concatenated_frames_are_trailing_bytes() {
    let first = compress(b"{\"n\":1}", None);
    let second = compress(b"{\"n\":2}", None);
    let both = [first.clone(), second.clone()].concat();
    assert_eq!(
        decoder().decompress(&both, &DictStore::new()).unwrap_err(),
        ZstdError::TrailingBytes {
            extra: second.len()
        }
    );
}
