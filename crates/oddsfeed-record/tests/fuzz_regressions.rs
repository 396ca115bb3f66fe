//! Inputs the `record_reader` fuzz target found (docs/RELIABILITY.md, "Fuzzing", findings),
//! kept as tests. The inputs themselves are in `fuzz/regressions/record_reader/`.

use oddsfeed_record::{Feed, Header, Item, StreamReader, TruncationReason, encode_header};

/// This process's peak resident memory (`VmHWM`), in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmHWM line")
}

/// Found by `record_reader`: a few bytes declaring a record of ~250 MB (under the default
/// record bound, 256 MiB) made `StreamReader` allocate and zero the whole declared length
/// before reading, so a torn or hostile file cost hundreds of MB. Now the buffer grows only
/// as the bytes arrive: the file is reported torn, and the peak resident memory barely moves.
#[test]
fn a_declared_record_length_is_not_allocated_before_its_bytes_arrive() {
    let input = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fuzz/regressions/record_reader/huge-declared-record-length"
    ))
    .expect("the regression input");
    let declared = 250_000_000_usize;
    let mut expected_header = Vec::new();
    encode_header(&Header::new(Feed::Ws, 0), &mut expected_header);
    assert_eq!(&input[..expected_header.len()], &expected_header[..]);
    let prefix = &input[expected_header.len()..];
    assert_eq!(prefix[..4], (declared as u32).to_le_bytes());

    let before = peak_rss_kib();
    let mut reader = StreamReader::new(&input[..]).expect("a valid header");
    match reader.next().expect("in-memory reads do not fail") {
        Some(Item::Truncated(t)) => {
            assert_eq!(t.reason, TruncationReason::Incomplete);
            assert_eq!(t.offset, expected_header.len() as u64);
            assert_eq!(t.ignored_bytes, prefix.len() as u64);
        }
        other => panic!("expected a torn tail, got {other:?}"),
    }
    assert!(reader.next().expect("no more reads").is_none());
    // Before the fix the peak grew by the declared 250 MB (the buffer was zeroed).
    let grown = peak_rss_kib().saturating_sub(before);
    assert!(
        grown < 32 << 10,
        "peak RSS grew by {grown} KiB reading a {}-byte file",
        input.len()
    );
}
