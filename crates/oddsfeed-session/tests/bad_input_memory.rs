//! Peak memory of the bad-input rows that are about memory: the zstd bomb, the oversize
//! WebSocket frame and an over-long IMG line (docs/RELIABILITY.md, "Bad-input table").
//!
//! `VmHWM` (the peak resident set in `/proc/self/status`) is per process, so these checks are
//! one `#[test]` in their own test binary, run one after the other: nothing else allocates
//! while they are measured. Before each measurement the peak is reset to the current resident
//! set (`echo 5 > /proc/self/clear_refs`); the growth is then `VmHWM - VmRSS(before)`.
//! Inputs are built before the measurement starts, so only what the session does counts.

mod support;

use oddsfeed_session::img::Event as ImgEvent;
use oddsfeed_session::ws::{DecodeErrorKind, Event};

use oddsfeed_testkit::{Tool, missing};
use support::*;

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;

/// Slack allowed on top of each bound: allocator rounding, the decoder's scratch buffers,
/// libzstd's context, the test's own event vectors.
const SLACK: u64 = 16 * MIB;

/// Runs `f` and returns how far the process's peak resident set rose above its resident set
/// before `f`, in bytes.
fn peak_growth(f: impl FnOnce()) -> u64 {
    reset_hwm().expect("reset VmHWM");
    let (_, rss_before) = vm_hwm_rss_kib().expect("VmRSS");
    f();
    let (hwm_after, _) = vm_hwm_rss_kib().expect("VmHWM");
    hwm_after.saturating_sub(rss_before) * KIB
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / MIB as f64)
}

#[test]
fn bad_input_peak_memory_stays_within_bounds() {
    if vm_hwm_rss_kib().is_none() {
        missing(Tool::Procfs, "no VmHWM in /proc/self/status (not Linux)");
        return;
    }
    if let Err(e) = reset_hwm() {
        missing(
            Tool::Procfs,
            format!("cannot reset VmHWM through /proc/self/clear_refs: {e}"),
        );
        return;
    }

    // Order matters: memory an earlier run freed may stay resident in the allocator and be
    // reused unseen by a later one, so the run with the smallest footprint goes first and the
    // 32 MiB self-check last.

    // ----- over-long IMG line: 64 MiB in 64 KiB reads against the default 4 MiB max_line -----
    let mut img = ImgRig::streaming();
    let max_line = img.s.config().max_line as u64;
    // A market push that never ends: its header, then selections, read after read.
    let selections: Vec<u8> = br#"{"id":"1544","name":"Rory McIlroy"},"#
        .iter()
        .copied()
        .cycle()
        .take(64 * KIB as usize)
        .collect();
    let mut first = br#"{"mode":"push","type":"market","publish_time":"2025-03-20 10:00:05.000000","is_recovery":false,"msg":{"id":"golf.ev1001.giant","selections":["#.to_vec();
    first.extend_from_slice(&selections[first.len()..]);
    let reads = 64 * MIB / (64 * KIB);
    let after = img_market_update(1);
    let line_growth = peak_growth(|| {
        img.bytes_after(1, &first);
        for _ in 1..reads {
            img.bytes_after(1, &selections);
        }
        img.bytes_after(1, b"\n");
        img.line(&after);
    });
    let events = img.take_events();
    assert_eq!(img_delivered(&events), [after]);
    assert!(
        matches!(img_non_data(&events).as_slice(),
            [ImgEvent::DecodeError(e)] if e.kind == DecodeErrorKind::LineTooLong),
        "{:?}",
        img_non_data(&events)
    );
    img.assert_still_streaming();

    // ----- zstd bomb: 128 MiB of output against the default 64 MiB bound --------------------
    let bomb = zstd_bomb(128 * MIB as usize);
    let mut ws = WsRig::streaming();
    let bound = ws.s.config().max_decompressed as u64;
    assert_eq!(bound, 64 * MIB);
    let good = ws_msgs(0..6);
    ws.send(&good[..3]);
    let bomb_growth = peak_growth(|| ws.binary(&bomb));
    ws.send(&good[3..]);
    let events = ws.take_events();
    assert_eq!(delivered(&events), keys(&good));
    assert!(
        matches!(non_data(&events).as_slice(),
            [Event::DecodeError(e)] if e.kind == DecodeErrorKind::OutputBoundExceeded),
        "{:?}",
        non_data(&events)
    );
    ws.assert_still_streaming();

    // ----- oversize frame: 4 MiB + 1 against the default 4 MiB max_frame --------------------
    // The frame is what the WebSocket layer hands over; it exists before the session sees it.
    let max_frame = ws.s.config().max_frame as u64;
    let mut big = vec![b'x'; (max_frame + 1) as usize];
    big[..4].copy_from_slice(&[0x28, 0xB5, 0x2F, 0xFD]);
    let frame_growth = peak_growth(|| ws.binary(&big));
    drop(big);
    ws.send(&ws_msgs(6..9));
    let events = ws.take_events();
    assert_eq!(delivered(&events), keys(&ws_msgs(6..9)));
    assert!(
        matches!(non_data(&events).as_slice(),
            [Event::DecodeError(e)] if e.kind == DecodeErrorKind::FrameTooLarge),
        "{:?}",
        non_data(&events)
    );
    ws.assert_still_streaming();

    // The method itself: touching 32 MiB must show as at least that much growth. (Last, so
    // that its large block does not change how the allocator serves the measured runs.)
    let probe = peak_growth(|| {
        let touched = vec![1u8; 32 * MIB as usize];
        std::hint::black_box(&touched);
    });
    assert!(
        probe >= 31 * MIB,
        "VmHWM does not see a 32 MiB allocation: {probe}"
    );

    eprintln!("| input | limit | measured peak growth | asserted bound |");
    eprintln!("|---|---|---|---|");
    eprintln!(
        "| zstd bomb (128 MiB output) | max_decompressed {} | {} | {} |",
        mib(bound),
        mib(bomb_growth),
        mib(bound + SLACK)
    );
    eprintln!(
        "| frame of max_frame + 1 bytes | max_frame {} | {} | {} |",
        mib(max_frame),
        mib(frame_growth),
        mib(MIB)
    );
    eprintln!(
        "| 64 MiB line in 64 KiB reads | max_line {} | {} | {} |",
        mib(max_line),
        mib(line_growth),
        mib(max_line + SLACK)
    );

    assert!(
        bomb_growth <= bound + SLACK,
        "zstd bomb: peak grew by {} (bound {} + {})",
        mib(bomb_growth),
        mib(bound),
        mib(SLACK)
    );
    assert!(
        frame_growth <= MIB,
        "oversize frame: the session itself used {} on top of the frame",
        mib(frame_growth)
    );
    assert!(
        line_growth <= max_line + SLACK,
        "over-long line: peak grew by {} (max_line {} + {})",
        mib(line_growth),
        mib(max_line),
        mib(SLACK)
    );
}
