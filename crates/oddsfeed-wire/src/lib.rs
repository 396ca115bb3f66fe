//! Sans-IO framing for the odds feeds: bytes in, bounded lines and classified
//! WebSocket messages out.
//!
//! This crate turns raw transport bytes into units the rest of the stack can
//! parse, with a hard bound on memory whatever the peer sends:
//!
//! - [`LineDecoder`] splits the newline-JSON feed (docs/PROTOCOL.md Part A) into
//!   [`Line`]s: `\n` ends a line, one `\r` before it is stripped, blank lines
//!   are skipped, over-long lines are reported once and discarded
//!   ([`WireError::LineTooLong`]), invalid UTF-8 is reported and skipped.
//! - [`encode_json_line`] and [`encode_line`] write the other direction:
//!   compact JSON or a checked payload, plus `\n`.
//! - [`ws`] handles whole WebSocket messages of the OddsPapi feed (Part B):
//!   the size check, splitting text frames into JSON documents, and sniffing
//!   binary frames (zstd, MessagePack, JSON).
//! - [`split_records`] splits a corpus `frames.bin` (length-prefixed frames).
//!
//! What it deliberately does not do:
//!
//! - **No I/O.** No sockets, no SSH, no WebSocket handshake or framing, no
//!   async runtime, no clock. Callers push the bytes they read and pull
//!   results; tests drive it with plain slices.
//! - **No parsing.** Lines and documents come out as bytes/text; JSON and
//!   MessagePack decoding live in `oddsfeed-model`, decompression in
//!   `oddsfeed-zstd`.
//! - **No fatal errors.** Every [`WireError`] describes one bad line, frame or
//!   payload; [`WireError::is_fatal`] is always `false` and decoding goes on.
//!
//! Limits, each with a default and a reason: [`DEFAULT_MAX_LINE`] (4 MiB) for
//! lines, [`ws::DEFAULT_MAX_FRAME`] (4 MiB) for WebSocket messages,
//! [`MAX_SEEN_PREFIX`] and [`RAW_CAP`] for the bytes an error keeps.
//!
//! ```
//! use oddsfeed_wire::{LineDecoder, WireError};
//!
//! let mut dec = LineDecoder::default();
//! let mut lines = Vec::new();
//! for chunk in [&b"{\"mode\":\"push\",\"ty"[..], b"pe\":\"heartbeat\"}\r\n", b"\n{\"mode\""] {
//!     dec.push(chunk);
//!     while let Some(item) = dec.next_line() {
//!         match item {
//!             Ok(line) => lines.push(line.into_string()),
//!             Err(e) => eprintln!("skipped: {} ({})", e, e.reason()),
//!         }
//!     }
//! }
//! while let Some(item) = dec.finish() {
//!     lines.push(item?.into_string());
//! }
//! assert_eq!(lines, [r#"{"mode":"push","type":"heartbeat"}"#, r#"{"mode""#]);
//! # Ok::<(), WireError>(())
//! ```

mod encode;
mod error;
mod line;
mod lines;
mod records;
pub mod ws;

pub use encode::{encode_json_line, encode_line};
pub use error::{MAX_SEEN_PREFIX, RAW_CAP, WireError};
pub use line::Line;
pub use lines::{DEFAULT_MAX_LINE, Drain, LineDecoder, Stats};
pub use records::split_records;
