//! Fuzz target: the recording readers of `oddsfeed_record` (docs/RECORDING.md).
//!
//! The input is a whole recording file. Both readers run over it: `SliceReader` (zero-copy)
//! and `StreamReader` (reading through a source that returns at most 13 bytes per call).
//!
//! Invariants: no panic; a refused header is refused by both alike; both yield the same
//! records in the same order and at most one `Truncated`, always last; every record's payload
//! lies inside the input; the truncation offset plus the ignored bytes is the input's length.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use oddsfeed_record::{Item, SliceReader, StreamReader};

/// A source that hands out at most 13 bytes per read.
struct Trickle<'a>(&'a [u8]);

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(13).min(self.0.len());
        buf[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

type Owned = (u8, u64, i64, Vec<u8>);

fuzz_target!(|data: &[u8]| {
    let slice = SliceReader::new(data);
    let stream = StreamReader::new(Trickle(data));
    let (mut slice, mut stream) = match (slice, stream) {
        (Ok(slice), Ok(stream)) => (slice, stream),
        (Err(_), Err(_)) => return,
        (a, b) => panic!("readers disagree on the header: {:?} vs {:?}", a.err(), b.err()),
    };
    let mut from_slice: Vec<Owned> = Vec::new();
    let mut slice_tail = None;
    while let Some(item) = slice.next() {
        assert!(slice_tail.is_none(), "an item after Truncated");
        match item {
            Item::Record(r) => {
                let start = r.payload.as_ptr() as usize - data.as_ptr() as usize;
                assert!(start + r.payload.len() <= data.len());
                from_slice.push((r.kind.code(), r.conn, r.time_ns, r.payload.to_vec()));
            }
            Item::Truncated(t) => {
                assert_eq!(t.offset + t.ignored_bytes, data.len() as u64);
                slice_tail = Some(t);
            }
        }
    }
    let mut from_stream: Vec<Owned> = Vec::new();
    let mut stream_tail = None;
    while let Ok(Some(item)) = stream.next() {
        assert!(stream_tail.is_none(), "an item after Truncated");
        match item {
            Item::Record(r) => {
                from_stream.push((r.kind.code(), r.conn, r.time_ns, r.payload.to_vec()));
            }
            Item::Truncated(t) => stream_tail = Some(t),
        }
    }
    assert_eq!(from_slice, from_stream);
    assert_eq!(slice_tail, stream_tail);
});
