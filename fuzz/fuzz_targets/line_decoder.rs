//! Fuzz target: `oddsfeed_wire::LineDecoder` (docs/PROTOCOL.md A.1, "Robustness rules").
//!
//! Input layout: byte 0 picks the line limit (low 7 bits, 0..=127) and the CR
//! mode (top bit); bytes 1..=4 are a cycle of chunk sizes (each 1..=256); the
//! rest is the stream. The stream is pushed in those chunks, draining after
//! each push, then finished.
//!
//! Invariants checked:
//! - after every push the unfinished line holds at most `max_line + 1` bytes;
//! - every line is non-empty, at most `max_line` bytes, holds no `\n` (and no
//!   `\r` in CR mode); errors are bounded (`seen_prefix`, `raw`);
//! - chunking does not matter: the same stream pushed in one piece gives the
//!   same lines, errors and stats;
//! - after `finish` returns `None` the decoder holds nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oddsfeed_wire::{Line, LineDecoder, MAX_SEEN_PREFIX, RAW_CAP, WireError};

/// One decoder output, in a comparable form.
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Line(Vec<u8>),
    TooLong {
        limit: usize,
        prefix: Vec<u8>,
    },
    Utf8 {
        raw: Vec<u8>,
        valid_up_to: usize,
        len: usize,
    },
}

fn check(item: Result<Line, WireError>, max_line: usize, cr_mode: bool) -> Out {
    match item {
        Ok(line) => {
            let bytes = line.as_bytes();
            assert!(!bytes.is_empty(), "blank lines are skipped");
            assert!(
                bytes.len() <= max_line,
                "line of {} > {max_line}",
                bytes.len()
            );
            assert!(!bytes.contains(&b'\n'), "line holds a newline");
            if cr_mode {
                assert!(!bytes.contains(&b'\r'), "CR mode line holds a CR");
            }
            assert_eq!(line.len(), bytes.len());
            assert_eq!(line.as_str().as_bytes(), bytes);
            Out::Line(bytes.to_vec())
        }
        Err(WireError::LineTooLong { limit, seen_prefix }) => {
            assert_eq!(limit, max_line);
            assert!(seen_prefix.len() <= MAX_SEEN_PREFIX.min(max_line + 1));
            Out::TooLong {
                limit,
                prefix: seen_prefix.to_vec(),
            }
        }
        Err(WireError::InvalidUtf8 {
            raw,
            valid_up_to,
            len,
        }) => {
            assert!(raw.len() <= RAW_CAP);
            assert!(valid_up_to < len && len <= max_line);
            assert!(std::str::from_utf8(&raw).is_err() || raw.len() < len);
            Out::Utf8 {
                raw: raw.to_vec(),
                valid_up_to,
                len,
            }
        }
        Err(other) => panic!("decoder returned an encoder-side error: {other:?}"),
    }
}

/// Runs `stream` through a fresh decoder in the given chunk sizes.
fn run(
    stream: &[u8],
    max_line: usize,
    cr_mode: bool,
    sizes: &[usize],
) -> (Vec<Out>, oddsfeed_wire::Stats) {
    let mut dec = LineDecoder::new(max_line).with_cr_terminator(cr_mode);
    let mut out = Vec::new();
    let mut rest = stream;
    let mut sizes = sizes.iter().copied().cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(usize::MAX).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        dec.push(chunk);
        assert!(
            dec.buffered_len() <= max_line + 1,
            "buffered {} > max_line + 1 = {}",
            dec.buffered_len(),
            max_line + 1
        );
        out.extend(dec.drain().map(|item| check(item, max_line, cr_mode)));
        assert_eq!(dec.queued_len(), 0, "drain leaves nothing queued");
    }
    let mut finished = 0usize;
    while let Some(item) = dec.finish() {
        out.push(check(item, max_line, cr_mode));
        finished += 1;
        assert!(finished <= 1, "finish yields at most the unterminated tail");
    }
    assert_eq!(dec.buffered_len(), 0);
    assert_eq!(dec.queued_len(), 0);
    assert!(!dec.is_discarding());
    assert!(dec.finish().is_none(), "finish stays None");
    (out, dec.stats())
}

fuzz_target!(|data: &[u8]| {
    let Some((&[config, a, b, c, d], stream)) = data.split_first_chunk::<5>() else {
        return;
    };
    let max_line = usize::from(config & 0x7f);
    let cr_mode = config & 0x80 != 0;
    let sizes = [a, b, c, d].map(|s| usize::from(s) + 1);

    let (chunked, chunked_stats) = run(stream, max_line, cr_mode, &sizes);
    let (whole, whole_stats) = run(stream, max_line, cr_mode, &[usize::MAX]);
    assert_eq!(chunked, whole, "chunking changed the output");
    assert_eq!(chunked_stats, whole_stats, "chunking changed the stats");
    let lines = whole.iter().filter(|o| matches!(o, Out::Line(_))).count();
    assert_eq!(whole_stats.lines, lines as u64);
    assert_eq!(whole_stats.errors, (whole.len() - lines) as u64);
});
