//! Recordings (docs/RECORDING.md), from `oddsfeed-record`: what a `--record` run wrote, read
//! back record by record, or replayed through the session with [`crate::replay`].
//!
//! The encoding helpers (`encode_header`, `encode_record`, the format constants) stay in
//! `oddsfeed-record`: the clients' tee writes recordings, an application reads them.

pub use oddsfeed_record::{
    CloseRecord, Feed, Header, Item, RecordError, RecordKind, RecordRef, SliceReader, StreamReader,
    Truncation, TruncationReason, Writer,
};
