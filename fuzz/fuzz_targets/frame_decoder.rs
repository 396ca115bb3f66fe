//! Fuzz target: `oddsfeed_session::ws::FrameDecoder`, the B.5 decode rules for
//! one whole WebSocket message (docs/PROTOCOL.md B.5, "Robustness rules").
//!
//! Byte 0 configures the decoder: bits 0-2 the mode (none, json, binary,
//! zstd, zstd-dict), bit 3 a text (else binary) frame, bit 4 preload the
//! fixture dictionaries. The rest of the input is the message; it is decoded
//! twice with the same decoder.
//!
//! Invariants checked:
//! - no panic; every message gives at least one result (a message or a
//!   reported error), and the same messages the second time;
//! - errors are never fatal and keep at most `RAW_CAP` bytes;
//! - frames over `max_frame` give exactly one `frame_too_large`;
//! - the decoder's counters add up.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oddsfeed_model::ReceiveType;
use oddsfeed_session::ws::{DecodeErrorKind, FrameDecoder, FrameKind, RAW_CAP};

const MAX_FRAME: usize = 16 << 10;
const MAX_DECOMPRESSED: usize = 256 << 10;

const DICTS: [(u32, &[u8]); 3] = [
    (
        740_826_216,
        include_bytes!("../../fixtures/dicts/odds.dict"),
    ),
    (
        740_826_217,
        include_bytes!("../../fixtures/dicts/fixtures.dict"),
    ),
    (
        740_826_218,
        include_bytes!("../../fixtures/dicts/bookmakers.dict"),
    ),
];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, payload)) = data.split_first() else {
        return;
    };
    let mode = match flags & 7 {
        0 | 5..=7 => None,
        1 => Some(ReceiveType::Json),
        2 => Some(ReceiveType::Binary),
        3 => Some(ReceiveType::Zstd),
        _ => Some(ReceiveType::ZstdDict),
    };
    let kind = if flags & 8 != 0 {
        FrameKind::Text
    } else {
        FrameKind::Binary
    };
    let mut decoder = FrameDecoder::new(MAX_FRAME, MAX_DECOMPRESSED).with_mode(mode);
    if flags & 16 != 0 {
        for (id, bytes) in DICTS {
            if let Err(e) = decoder.dicts_mut().insert_raw(id, bytes) {
                panic!("fixture dictionary {id} refused: {e}");
            }
        }
    }

    let mut out = Vec::new();
    decoder.decode(kind, payload, &mut out);
    assert!(!out.is_empty(), "a message vanished without a report");
    let mut ok = 0u64;
    for item in &out {
        match item {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(!e.is_fatal());
                assert!(e.raw.len() <= RAW_CAP);
                assert!(e.raw.len() <= e.len);
            }
        }
    }
    if payload.len() > MAX_FRAME {
        assert_eq!(out.len(), 1);
        assert!(matches!(&out[0], Err(e) if e.kind == DecodeErrorKind::FrameTooLarge));
    }
    let stats = *decoder.stats();
    assert_eq!(stats.frames, 1);
    assert_eq!(stats.bytes_in, payload.len() as u64);
    assert_eq!(stats.messages, ok);
    assert_eq!(stats.errors, out.len() as u64 - ok);

    let mut again = Vec::new();
    decoder.decode(kind, payload, &mut again);
    // Same messages again; errors may differ in kind for corrupt zstd (libzstd
    // reports some corruption only with a DDict it has not used before).
    assert_eq!(
        out.len(),
        again.len(),
        "same message, different number of results"
    );
    for (a, b) in out.iter().zip(&again) {
        match (a, b) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "same message, different result"),
            (Err(_), Err(_)) => {}
            _ => panic!("same message, one success: {a:?} then {b:?}"),
        }
    }
});
