//! The oddsfeed recording format: what a feed client received, as it arrived.
//!
//! A recording is a header (magic, format version, feed, start time, a small JSON object of
//! client settings) followed by length-prefixed, CRC-32-checksummed records: a connection
//! start, the negotiated receive type (WebSocket), every WebSocket frame or IMG line exactly as
//! it travelled (zstd frames still compressed), Ping/Pong activity, and a connection end. Each
//! record carries its arrival time (UTC, nanoseconds since the Unix epoch) and the number of
//! its connection. The byte layout, the versioning rule and the crash-safety argument are in
//! `docs/RECORDING.md`.
//!
//! # Main types
//!
//! - [`Writer`]: appends records to any [`std::io::Write`] through a bounded buffer; the
//!   header is written and flushed at once. [`encode_header`] and [`encode_record`] give the
//!   same bytes for callers that batch records themselves (the `oddsfeed` facade's writer
//!   thread).
//! - [`SliceReader`] (zero-copy over a byte slice) and [`StreamReader`] (over any
//!   [`std::io::Read`], one reused buffer): both yield [`Item::Record`] for every complete
//!   record, then at most one [`Item::Truncated`] when the file ends in a torn or corrupt
//!   record, then nothing.
//! - [`RecordError`]: a file that is not a recording (bad magic), an unknown format version,
//!   a corrupt header, or an I/O error.
//!
//! The crate has no async runtime and reads no clock (arrival times are the caller's); it sits
//! beside the model layer, below the session, and depends on nothing of ours.

mod error;
mod format;
mod reader;
mod writer;

pub use error::RecordError;
pub use format::{
    CloseRecord, DEFAULT_MAX_RECORD, FORMAT_VERSION, Feed, HEADER_FIXED_LEN, Header, MAGIC,
    MAX_META, RECORD_OVERHEAD, RecordKind, RecordRef, encode_header, encode_record, unix_nanos,
};
pub use reader::{Item, SliceReader, StreamReader, Truncation, TruncationReason};
pub use writer::{DEFAULT_BUFFER, Writer};
