//! The recording format: round trips, torn tails at every byte, corrupt bytes, bad headers.

use std::io::Cursor;

use oddsfeed_record::{
    Feed, Header, Item, RecordError, RecordKind, RecordRef, SliceReader, StreamReader,
    TruncationReason, Writer, encode_header,
};
use proptest::prelude::*;

/// Owned copy of a record for comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owned {
    kind: u8,
    conn: u64,
    time_ns: i64,
    payload: Vec<u8>,
}

impl Owned {
    fn of(record: &RecordRef<'_>) -> Self {
        Self {
            kind: record.kind.code(),
            conn: record.conn,
            time_ns: record.time_ns,
            payload: record.payload.to_vec(),
        }
    }

    fn as_ref(&self) -> RecordRef<'_> {
        RecordRef::new(
            RecordKind::from_code(self.kind),
            self.conn,
            self.time_ns,
            &self.payload,
        )
    }
}

fn sample_records() -> Vec<Owned> {
    let mut records = vec![Owned {
        kind: RecordKind::ConnStart.code(),
        conn: 1,
        time_ns: 1_000,
        payload: vec![],
    }];
    records.push(Owned {
        kind: RecordKind::ReceiveType.code(),
        conn: 1,
        time_ns: 1_001,
        payload: b"zstd-dict".to_vec(),
    });
    records.push(Owned {
        kind: RecordKind::Text.code(),
        conn: 1,
        time_ns: 1_002,
        payload: br#"{"type":"login_ok"}"#.to_vec(),
    });
    records.push(Owned {
        kind: RecordKind::Binary.code(),
        conn: 1,
        time_ns: 1_003,
        payload: vec![0x28, 0xb5, 0x2f, 0xfd, 0, 1, 2, 3],
    });
    records.push(Owned {
        kind: RecordKind::ConnEnd.code(),
        conn: 1,
        time_ns: 1_004,
        payload: RecordRef::close_payload(1001, "going away"),
    });
    records
}

fn write(header: &Header, records: &[Owned], buffer: usize) -> Vec<u8> {
    let mut writer = match Writer::with_buffer(Vec::new(), header, buffer) {
        Ok(writer) => writer,
        Err(e) => panic!("writing to a Vec cannot fail: {e}"),
    };
    for record in records {
        if let Err(e) = writer.append(&record.as_ref()) {
            panic!("writing to a Vec cannot fail: {e}");
        }
    }
    match writer.finish() {
        Ok(bytes) => bytes,
        Err(e) => panic!("writing to a Vec cannot fail: {e}"),
    }
}

/// Every item of a slice reader, records owned.
fn read_slice(bytes: &[u8]) -> Result<(Header, Vec<Owned>, Vec<Item<'static>>), RecordError> {
    let mut reader = SliceReader::new(bytes)?;
    let mut records = Vec::new();
    let mut truncations = Vec::new();
    while let Some(item) = reader.next() {
        match item {
            Item::Record(record) => records.push(Owned::of(&record)),
            Item::Truncated(t) => truncations.push(Item::Truncated(t)),
        }
    }
    Ok((reader.header().clone(), records, truncations))
}

/// Every item of a stream reader (reading in small pieces), records owned.
fn read_stream(bytes: &[u8]) -> Result<(Header, Vec<Owned>, Vec<Item<'static>>), RecordError> {
    let mut reader = StreamReader::new(Trickle(Cursor::new(bytes)))?;
    let mut records = Vec::new();
    let mut truncations = Vec::new();
    while let Some(item) = reader.next()? {
        match item {
            Item::Record(record) => records.push(Owned::of(&record)),
            Item::Truncated(t) => truncations.push(Item::Truncated(t)),
        }
    }
    Ok((reader.header().clone(), records, truncations))
}

/// A reader that returns at most 7 bytes per call, to exercise refills.
struct Trickle<R>(R);

impl<R: std::io::Read> std::io::Read for Trickle<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(7);
        self.0.read(&mut buf[..n])
    }
}

fn header() -> Header {
    Header::new(Feed::Ws, 1_765_000_000_000_000_000).with_meta(r#"{"receiveType":"zstd-dict"}"#)
}

#[test]
fn round_trip_slice_and_stream() {
    let records = sample_records();
    let bytes = write(&header(), &records, 16);
    for read in [read_slice, read_stream] {
        let (got_header, got, truncations) =
            read(&bytes).unwrap_or_else(|e| panic!("a fresh recording reads: {e}"));
        assert_eq!(got_header, header());
        assert_eq!(got, records);
        assert!(truncations.is_empty());
    }
}

#[test]
fn close_payload_reads_back() {
    let payload = RecordRef::close_payload(4002, "slow");
    let record = RecordRef::new(RecordKind::ConnEnd, 3, 5, &payload);
    let close = record.close();
    assert_eq!(close.map(|c| (c.code, c.reason)), Some((4002, "slow")));
    let abrupt = RecordRef::new(RecordKind::ConnEnd, 3, 5, &[]);
    assert_eq!(abrupt.close(), None);
}

#[test]
fn truncation_at_every_offset_keeps_every_complete_record() {
    let records = sample_records();
    let bytes = write(&header(), &records, 1 << 16);
    let header_len = header().encoded_len();
    // Where each record ends.
    let mut ends = Vec::new();
    let mut at = header_len;
    for record in &records {
        at += record.as_ref().encoded_len();
        ends.push(at);
    }
    assert_eq!(at, bytes.len());
    for cut in 0..=bytes.len() {
        let torn = &bytes[..cut];
        for read in [read_slice, read_stream] {
            match read(torn) {
                Err(RecordError::NotARecording { .. } | RecordError::BadHeader { .. }) => {
                    assert!(cut < header_len, "cut {cut}: header refused");
                }
                Err(other) => panic!("cut {cut}: unexpected error {other}"),
                Ok((_, got, truncations)) => {
                    assert!(cut >= header_len);
                    let complete = ends.iter().filter(|&&end| end <= cut).count();
                    assert_eq!(got, records[..complete], "cut {cut}");
                    let on_boundary = cut == header_len || ends.contains(&cut);
                    if on_boundary {
                        assert!(truncations.is_empty(), "cut {cut}");
                    } else {
                        let Some(Item::Truncated(t)) = truncations.first() else {
                            panic!("cut {cut}: torn tail not reported");
                        };
                        assert_eq!(truncations.len(), 1);
                        assert_eq!(t.reason, TruncationReason::Incomplete);
                        let start = if complete == 0 {
                            header_len
                        } else {
                            ends[complete - 1]
                        };
                        assert_eq!(t.offset, start as u64);
                        assert_eq!(t.ignored_bytes, (cut - start) as u64);
                    }
                }
            }
        }
    }
}

#[test]
fn flipped_bit_in_a_record_ends_the_file_there() {
    let records = sample_records();
    let bytes = write(&header(), &records, 1 << 16);
    let header_len = header().encoded_len();
    let third =
        header_len + records[0].as_ref().encoded_len() + records[1].as_ref().encoded_len() + 12;
    for bit in 0..8 {
        let mut bad = bytes.clone();
        bad[third] ^= 1 << bit;
        for read in [read_slice, read_stream] {
            let (_, got, truncations) = read(&bad).unwrap_or_else(|e| panic!("header intact: {e}"));
            assert_eq!(got, records[..2]);
            assert!(matches!(
                truncations.as_slice(),
                [Item::Truncated(t)] if t.reason == TruncationReason::ChecksumMismatch
            ));
        }
    }
}

#[test]
fn absurd_length_is_a_bad_length_not_an_allocation() {
    let mut bytes = write(&header(), &[], 16);
    bytes.extend_from_slice(&u32::MAX.to_le_bytes());
    bytes.extend_from_slice(&[0; 30]);
    for read in [read_slice, read_stream] {
        let (_, got, truncations) = read(&bytes).unwrap_or_else(|e| panic!("{e}"));
        assert!(got.is_empty());
        assert!(matches!(
            truncations.as_slice(),
            [Item::Truncated(t)] if t.reason == TruncationReason::BadLength && t.ignored_bytes == 34
        ));
    }
}

#[test]
fn not_a_recording_and_unknown_version_are_refused() {
    let json = br#"{"type":"data"}"#;
    assert!(matches!(
        SliceReader::new(json),
        Err(RecordError::NotARecording { .. })
    ));
    assert!(matches!(
        StreamReader::new(&json[..]),
        Err(RecordError::NotARecording { .. })
    ));
    assert!(matches!(
        SliceReader::new(b""),
        Err(RecordError::NotARecording { .. })
    ));

    let mut bytes = Vec::new();
    encode_header(&header(), &mut bytes);
    bytes[8] = 9;
    let error = SliceReader::new(&bytes).err();
    assert!(matches!(
        error,
        Some(RecordError::UnsupportedVersion {
            found: 9,
            supported: 1
        })
    ));
    let text = error.map(|e| e.to_string()).unwrap_or_default();
    assert!(text.contains("version 9"), "{text}");

    let mut bytes = Vec::new();
    encode_header(&header(), &mut bytes);
    let last = bytes.len() - 5;
    bytes[last] ^= 0x40;
    assert!(matches!(
        SliceReader::new(&bytes),
        Err(RecordError::BadHeader { .. })
    ));
}

#[test]
fn unknown_kinds_are_yielded_not_refused() {
    let records = vec![Owned {
        kind: 200,
        conn: 1,
        time_ns: 5,
        payload: b"future".to_vec(),
    }];
    let bytes = write(&header(), &records, 16);
    let (_, got, _) = read_slice(&bytes).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(got, records);
    assert_eq!(RecordKind::from_code(200), RecordKind::Other(200));
}

#[test]
fn stream_reader_handles_a_record_larger_than_its_buffer() {
    let records = vec![
        Owned {
            kind: RecordKind::Binary.code(),
            conn: 1,
            time_ns: 1,
            payload: vec![7; 1 << 20],
        },
        Owned {
            kind: RecordKind::Text.code(),
            conn: 1,
            time_ns: 2,
            payload: b"after".to_vec(),
        },
    ];
    let bytes = write(&header(), &records, 1 << 16);
    let mut reader = StreamReader::new(Cursor::new(&bytes)).unwrap_or_else(|e| panic!("{e}"));
    let mut got = Vec::new();
    while let Some(item) = reader.next().unwrap_or_else(|e| panic!("{e}")) {
        if let Item::Record(record) = item {
            got.push(Owned::of(&record));
        }
    }
    assert_eq!(got, records);
}

fn arb_record() -> impl Strategy<Value = Owned> {
    (
        1u8..=7,
        any::<u64>(),
        any::<i64>(),
        proptest::collection::vec(any::<u8>(), 0..300),
    )
        .prop_map(|(kind, conn, time_ns, payload)| Owned {
            kind,
            conn,
            time_ns,
            payload,
        })
}

proptest! {
    #[test]
    fn any_records_round_trip(
        records in proptest::collection::vec(arb_record(), 0..40),
        buffer in 1usize..4096,
        meta in "[ -~]{0,64}",
        img in any::<bool>(),
    ) {
        let feed = if img { Feed::Img } else { Feed::Ws };
        let header = Header::new(feed, 42).with_meta(meta);
        let bytes = write(&header, &records, buffer);
        let (h1, got1, t1) = read_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (h2, got2, t2) = read_stream(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&h1, &header);
        prop_assert_eq!(&h2, &header);
        prop_assert_eq!(&got1, &records);
        prop_assert_eq!(&got2, &records);
        prop_assert!(t1.is_empty() && t2.is_empty());
    }

    #[test]
    fn any_bytes_after_a_header_never_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut bytes = Vec::new();
        encode_header(&header(), &mut bytes);
        bytes.extend_from_slice(&tail);
        let (_, _, t1) = read_slice(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let (_, _, t2) = read_stream(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(t1.len() <= 1 && t2.len() <= 1);
    }
}
