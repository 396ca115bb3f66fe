//! Fuzz target: the WebSocket message helpers of `oddsfeed_wire::ws`
//! (docs/PROTOCOL.md B.5 rules 1-3): `sniff`, `text_to_utf8`, `text_documents`,
//! `check_frame_size`.
//!
//! The whole input is one WebSocket message. Invariants checked:
//! - `sniff` agrees with the documented magic and first-byte rules;
//! - `text_to_utf8` accepts exactly valid UTF-8 and its error is bounded;
//! - every document of a text frame is non-empty, trimmed, holds no `\n`, and
//!   is a substring of the frame; the documents' bytes never exceed the frame;
//! - `check_frame_size` fails exactly when the length is over the limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oddsfeed_wire::ws::{Sniff, check_frame_size, sniff, text_documents, text_to_utf8};
use oddsfeed_wire::{RAW_CAP, WireError};

fuzz_target!(|data: &[u8]| {
    let kind = sniff(data);
    let expected = if data.starts_with(&[0x28, 0xB5, 0x2F, 0xFD]) {
        Sniff::Zstd
    } else if matches!(data.first(), Some(0x80..=0x8F | 0xDE | 0xDF)) {
        Sniff::MsgPack
    } else if data.trim_ascii_start().first() == Some(&b'{') {
        Sniff::Json
    } else {
        Sniff::Unknown
    };
    assert_eq!(kind, expected);

    // A limit derived from the input, so both sides of the check are hit.
    let limit = usize::from(data.first().copied().unwrap_or(0)) * 8;
    match check_frame_size(data.len(), limit) {
        Ok(()) => assert!(data.len() <= limit),
        Err(WireError::FrameTooLarge { len, limit: l }) => {
            assert_eq!((len, l), (data.len(), limit));
            assert!(len > limit);
        }
        Err(other) => panic!("unexpected {other:?}"),
    }

    match text_to_utf8(data) {
        Ok(text) => {
            assert!(std::str::from_utf8(data).is_ok());
            assert_eq!(text.as_bytes(), data);
            let mut total = 0usize;
            for doc in text_documents(text) {
                assert!(!doc.is_empty());
                assert_eq!(doc, doc.trim_ascii());
                assert!(!doc.contains('\n'));
                assert!(text.contains(doc));
                total += doc.len();
            }
            assert!(total <= text.len());
        }
        Err(WireError::InvalidUtf8 {
            raw,
            valid_up_to,
            len,
        }) => {
            let err = std::str::from_utf8(data).expect_err("rejected text is not UTF-8");
            assert_eq!(valid_up_to, err.valid_up_to());
            assert_eq!(len, data.len());
            assert_eq!(&raw[..], &data[..data.len().min(RAW_CAP)]);
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
});
