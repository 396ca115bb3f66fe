//! Decode benchmarks for the oddsfeed workspace.
//!
//! What it holds:
//!
//! - [`Corpus`]: a decode corpus in the `oddsfeed bench decode` layout (docs/CLI.md), read into
//!   memory, with the checked-in fixture corpora one call away ([`fixture_corpus_dir`]).
//! - [`stages`]: single-layer passes over a corpus that bound what a full decode can reach:
//!   decompression alone (raw `zstd-safe`, no checks), JSON parsing alone (simd-json tape, no
//!   typed values), both back to back (the *ceiling*), and the client's whole pipeline
//!   ([`oddsfeed_session::ws::FrameDecoder`], the same path as `oddsfeed bench decode`).
//! - The `oddsfeed-bench` binary: `oddsfeed-bench stages --corpus DIR [--mode M] [--passes N]`
//!   prints one JSON line per stage (used by `cargo xtask bench`).
//! - `benches/layers.rs`: criterion benches per layer (newline splitting, dictionary lookup and
//!   decompression, simd-json vs serde_json, typed vs raw parsing, the whole pipeline per mode).
//!   Run with `cargo bench -p oddsfeed-bench`.
//!
//! What it does not do: it asserts no timing. Its tests check counts and bytes only; the numbers
//! are for people (docs/BENCHMARKS.md).

mod corpus;
pub mod stages;

pub use corpus::{CORPUS_ENV, Corpus, CorpusError, dict_id_of, fixture_corpus_dir};
/// The one splitter of a corpus `frames.bin`, from `oddsfeed-wire` (the simulator writes
/// corpora with the same framing).
pub use oddsfeed_wire::split_records;
