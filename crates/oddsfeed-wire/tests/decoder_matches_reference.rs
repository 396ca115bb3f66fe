//! Property: however the input is chunked, `LineDecoder` produces exactly what
//! a simple one-shot split of the whole input produces, and never buffers more
//! than `max_line + 1` bytes of an unfinished line.

use oddsfeed_wire::{LineDecoder, MAX_SEEN_PREFIX, RAW_CAP, WireError};
use proptest::prelude::*;

/// A comparable view of one decoder output.
#[derive(Debug, Clone, PartialEq, Eq)]
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

fn view(item: Result<oddsfeed_wire::Line, WireError>) -> Out {
    match item {
        Ok(line) => Out::Line(line.as_bytes().to_vec()),
        Err(WireError::LineTooLong { limit, seen_prefix }) => Out::TooLong {
            limit,
            prefix: seen_prefix.to_vec(),
        },
        Err(WireError::InvalidUtf8 {
            raw,
            valid_up_to,
            len,
        }) => Out::Utf8 {
            raw: raw.to_vec(),
            valid_up_to,
            len,
        },
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// The obvious whole-input implementation of docs/PROTOCOL.md A.1.
fn reference(input: &[u8], max_line: usize, cr_mode: bool) -> (Vec<Out>, u64) {
    let mut out = Vec::new();
    let mut discarded = 0u64;
    let is_end = |b: &u8| *b == b'\n' || (cr_mode && *b == b'\r');
    for raw in input.split(is_end) {
        let content = if cr_mode {
            raw
        } else {
            raw.strip_suffix(b"\r").unwrap_or(raw)
        };
        if content.is_empty() {
            continue;
        }
        if content.len() > max_line {
            let keep = MAX_SEEN_PREFIX.min(max_line + 1);
            out.push(Out::TooLong {
                limit: max_line,
                prefix: raw[..keep].to_vec(),
            });
            discarded += raw.len() as u64;
        } else {
            match std::str::from_utf8(content) {
                Ok(_) => out.push(Out::Line(content.to_vec())),
                Err(e) => out.push(Out::Utf8 {
                    raw: content[..content.len().min(RAW_CAP)].to_vec(),
                    valid_up_to: e.valid_up_to(),
                    len: content.len(),
                }),
            }
        }
    }
    (out, discarded)
}

fn input_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        4 => Just(b'\n'),
        4 => Just(b'\r'),
        8 => Just(b'a'),
        2 => Just(b'{'),
        1 => Just(b' '),
        // "é" as two bytes, and bytes that break UTF-8 on their own.
        1 => Just(0xC3),
        1 => Just(0xA9),
        1 => Just(0xFF),
    ];
    prop::collection::vec(byte, 0..160)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn chunked_decoding_equals_one_shot_split(
        input in input_bytes(),
        max_line in 0usize..12,
        cr_mode in any::<bool>(),
        mut cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..40),
        drain_each_push in any::<bool>(),
    ) {
        let mut positions: Vec<usize> = cuts.drain(..).map(|i| i.index(input.len() + 1)).collect();
        positions.push(0);
        positions.push(input.len());
        positions.sort_unstable();
        positions.dedup();

        let mut dec = LineDecoder::new(max_line).with_cr_terminator(cr_mode);
        let mut got = Vec::new();
        for pair in positions.windows(2) {
            dec.push(&input[pair[0]..pair[1]]);
            prop_assert!(
                dec.buffered_len() <= max_line + 1,
                "buffered {} > max_line + 1 = {}", dec.buffered_len(), max_line + 1
            );
            if drain_each_push {
                got.extend(dec.drain().map(view));
            }
        }
        got.extend(dec.drain().map(view));
        got.extend(std::iter::from_fn(|| dec.finish()).map(view));
        prop_assert_eq!(dec.buffered_len(), 0);
        prop_assert_eq!(dec.queued_len(), 0);

        let (expected, discarded) = reference(&input, max_line, cr_mode);
        prop_assert_eq!(&got, &expected);

        let stats = dec.stats();
        let lines = expected.iter().filter(|o| matches!(o, Out::Line(_))).count() as u64;
        prop_assert_eq!(stats.lines, lines);
        prop_assert_eq!(stats.errors, expected.len() as u64 - lines);
        prop_assert_eq!(stats.discarded_bytes, discarded);
    }

    #[test]
    fn byte_at_a_time_equals_one_push(
        input in input_bytes(),
        max_line in 0usize..12,
        cr_mode in any::<bool>(),
    ) {
        let mut whole = LineDecoder::new(max_line).with_cr_terminator(cr_mode);
        whole.push(&input);
        let mut a: Vec<Out> = whole.drain().map(view).collect();
        a.extend(std::iter::from_fn(|| whole.finish()).map(view));

        let mut bytewise = LineDecoder::new(max_line).with_cr_terminator(cr_mode);
        let mut b = Vec::new();
        for byte in &input {
            b.extend(bytewise.decode(std::slice::from_ref(byte)).map(view));
        }
        b.extend(std::iter::from_fn(|| bytewise.finish()).map(view));
        prop_assert_eq!(a, b);
        prop_assert_eq!(whole.stats(), bytewise.stats());
    }
}
