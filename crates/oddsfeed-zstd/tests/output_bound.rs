//! A "zstd bomb" (a few KiB that inflate to 128 MiB, no content size) is
//! refused with `OutputBoundExceeded` once the output would pass the bound,
//! and the process never holds much more than the bound while refusing it.
//!
//! This file holds a single test on purpose: the test binary is its own
//! process, so its peak resident size (VmHWM) measures this test alone.

mod common;

use std::io::Write as _;

use oddsfeed_zstd::{
    DEFAULT_MAX_DECOMPRESSED, Decompressor, DictStore, INITIAL_OUTPUT_CAPACITY, ZstdError,
};

const BOMB_OUTPUT: usize = 128 << 20;
const MIB: u64 = 1 << 20;

/// Compresses `BOMB_OUTPUT` zero bytes as one size-less frame, streaming a
/// 1 MiB chunk so the 128 MiB never exist in memory.
fn bomb() -> Vec<u8> {
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.include_contentsize(false).unwrap();
    let chunk = vec![0_u8; 1 << 20];
    for _ in 0..BOMB_OUTPUT / chunk.len() {
        encoder.write_all(&chunk).unwrap();
    }
    encoder.finish().unwrap()
}

/// Peak resident set size of this process so far, in bytes (Linux only).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn bomb_is_refused_at_the_bound_with_bounded_memory() {
    let frame = bomb();
    assert!(frame.len() < 16 << 10, "bomb is {} bytes", frame.len());
    assert_eq!(zstd_safe::get_frame_content_size(&frame).unwrap(), None);
    let good = common::compress(br#"{"channel":"scores","payload":{}}"#, None);
    let dicts = DictStore::new();

    let mut decoder = Decompressor::new(DEFAULT_MAX_DECOMPRESSED);
    // Warm up libzstd's context so its own allocations are in the baseline.
    assert_eq!(
        decoder.decompress(&good, &dicts).unwrap(),
        br#"{"channel":"scores","payload":{}}"#
    );
    let before = peak_rss();

    let err = decoder.decompress(&frame, &dicts).unwrap_err();
    assert_eq!(
        err,
        ZstdError::OutputBoundExceeded {
            bound: DEFAULT_MAX_DECOMPRESSED
        }
    );
    assert_eq!(err.reason(), "output_bound_exceeded");

    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let growth = after.saturating_sub(before);
        eprintln!(
            "peak RSS growth {} MiB for a {}-byte bomb",
            growth / MIB,
            frame.len()
        );
        let limit = DEFAULT_MAX_DECOMPRESSED as u64 + 16 * MIB;
        assert!(
            growth < limit,
            "peak RSS grew by {} MiB (limit {} MiB)",
            growth / MIB,
            limit / MIB
        );
    }

    // The big buffer is released at once, and the decoder carries on.
    assert_eq!(decoder.buffer_capacity(), INITIAL_OUTPUT_CAPACITY);
    assert_eq!(
        decoder.decompress(&good, &dicts).unwrap(),
        br#"{"channel":"scores","payload":{}}"#
    );
    assert_eq!(decoder.stats().output_bound_exceeded, 1);
    assert_eq!(decoder.stats().frames_ok, 2);
}
