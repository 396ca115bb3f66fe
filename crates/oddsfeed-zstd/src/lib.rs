//! zstd decompression for the OddsPapi-style WebSocket feed: a dictionary
//! store keyed by dictId, one decoder per connection, and a hard bound on
//! decompressed output.
//!
//! This crate implements the "zstd steps" of docs/PROTOCOL.md B.5 and the
//! dictionary rules of B.6. It takes byte slices and returns byte slices: no
//! I/O, no async runtime, no clock, no JSON. What the decompressed bytes mean
//! is `oddsfeed-model`'s business; when to call what is `oddsfeed-session`'s.
//!
//! # Main types
//!
//! - [`DictStore`]: the dictionaries announced by `dict` frames, keyed by
//!   dictId ([`DictStore::insert_base64`] takes the frame's fields as they
//!   arrive). At most [`MAX_DICTS`] of at most [`MAX_DICT_SIZE`] bytes;
//!   cheap to clone; meant to survive reconnects.
//! - [`Decompressor`]: one per connection. Decodes one zstd frame per call
//!   into a reused buffer and hands it back as `&mut [u8]` (so simd-json can
//!   parse in place). Output never exceeds the bound given to
//!   [`Decompressor::new`] ([`DEFAULT_MAX_DECOMPRESSED`], 64 MiB, by
//!   default) and the bound is never allocated up front: a "zstd bomb" fails
//!   with [`ZstdError::OutputBoundExceeded`] having used at most the bound.
//! - [`frame_dict_id`]: the dictId of a frame without decoding it (for
//!   reports).
//! - [`ZstdError`]: every failure, with [`ZstdError::reason`] giving the
//!   docs/PROTOCOL.md name (`bad_magic`, `unknown_dict`, ...). None is fatal: the
//!   caller reports the frame it still holds, skips it and goes on.
//!
//! # What it deliberately does not do
//!
//! - Decode skippable frames, legacy formats, or several frames in one
//!   message (the feed sends exactly one frame per WebSocket message; extra
//!   bytes are [`ZstdError::TrailingBytes`]).
//! - Accept raw-content dictionaries: a dictionary must be a full zstd
//!   dictionary (`37 A4 30 EC` magic) whose header id is the announced id.
//! - Enforce `max_frame` (the compressed size limit): the transport does
//!   that before the frame gets here.
//! - Compress. Tests and the simulator use the `zstd` crate for that.
//!
//! # Example
//!
//! ```
//! use oddsfeed_zstd::{DEFAULT_MAX_DECOMPRESSED, Decompressor, DictStore, ZstdError};
//!
//! // One store for the session, one decompressor per connection.
//! let mut dicts = DictStore::new();
//! let mut decoder = Decompressor::new(DEFAULT_MAX_DECOMPRESSED);
//!
//! // A `dict` frame: {"type":"dict","dictId":...,"encoding":"base64","data":...}
//! // Here the data is not a dictionary, so it is rejected (and counted).
//! let err = dicts.insert_base64(740826216, "base64", "aGVsbG8=").unwrap_err();
//! assert_eq!(err.reason(), "dict_rejected");
//!
//! // A dictless data frame (what `scores` and `clocks` use).
//! let message = br#"{"channel":"scores","type":"UPDATE","payload":{}}"#;
//! let frame = zstd::bulk::compress(message, 3)?;
//! let json: &mut [u8] = decoder.decompress(&frame, &dicts)?;
//! assert_eq!(json, message);
//!
//! // Bad frames are reported and skipped; the decoder carries on.
//! let bad = decoder.decompress(b"{\"not\":\"zstd\"}", &dicts).unwrap_err();
//! assert_eq!(bad.reason(), "bad_magic");
//! assert!(!bad.is_fatal());
//! assert_eq!(decoder.decompress(&frame, &dicts)?, message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// Compiles the README's example as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;

mod decompressor;
mod dict;
mod error;
mod frame;

pub use decompressor::{
    DEFAULT_WINDOW_LOG_MAX, DecompressStats, Decompressor, INITIAL_OUTPUT_CAPACITY,
    RETAINED_OUTPUT_CAPACITY,
};
pub use dict::{DICT_MAGIC, DictStore, Dictionary};
pub use error::{DictRejection, ZstdError};
pub use frame::{BAD_MAGIC_PREFIX_LEN, ZSTD_MAGIC, frame_dict_id};

/// Default bound on one frame's decompressed output, 64 MiB (docs/PROTOCOL.md
/// B.12 `max_decompressed`, as in the vendor's example).
///
/// Risk it covers: feed frames carry no content size, so without a bound a
/// few-KiB frame can inflate to gigabytes ("zstd bomb"). Lower it if
/// messages are known to be small; each connection may hold up to this much
/// while decoding one frame.
pub const DEFAULT_MAX_DECOMPRESSED: usize = 64 << 20;

/// Largest dictionary accepted, 1 MiB (docs/PROTOCOL.md B.6). Real ones are
/// ~32 KiB; the limit stops a `dict` frame from pinning arbitrary memory.
pub const MAX_DICT_SIZE: usize = 1 << 20;

/// Most dictionaries a [`DictStore`] holds, 64 (docs/PROTOCOL.md B.6). A new id
/// beyond that is rejected ([`DictRejection::StoreFull`]); replacing an
/// existing id is always allowed.
pub const MAX_DICTS: usize = 64;
