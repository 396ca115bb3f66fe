//! Typed messages for two real-time sports-odds feeds, with nothing lost.
//!
//! This crate turns bytes into values and values into bytes. It does no I/O, starts no
//! runtime and reads no clock. It covers:
//!
//! - the **WebSocket feed** (OddsPapi v5 style, docs/PROTOCOL.md Part B) in [`ws`]: the
//!   [`Login`](ws::Login) frame, server [`Control`](ws::Control) frames, and
//!   [`DataMessage`](ws::DataMessage)s with payloads typed by channel, parsed from JSON
//!   (simd-json fast path or serde_json) or MessagePack;
//! - the **newline-JSON feed** (IMG Arena style, Part A) in [`img`]: requests, responses,
//!   pushes and disconnect notices, one line at a time;
//! - shared types: [`ApiKey`] (redacted in `Debug`/`Display`), [`EntryId`] (ordered
//!   numerically) and [`ResumeState`] (the persisted resume cursor).
//!
//! What it deliberately does not do: framing, decompression, session state and I/O live in
//! the crates above it. And it never drops a message it can parse as JSON: unknown message
//! types and fields are kept raw (`raw` text, `Unknown`/`Other` variants), and a payload that
//! does not fit its typed view is delivered as JSON with the reason attached. Only input
//! that is not JSON (or MessagePack) at all is an error, and no [`ModelError`] is fatal.
//!
//! ```
//! use oddsfeed_model::ws::{parse_ws_text, Payload, WsMessage};
//! use oddsfeed_model::EntryId;
//!
//! let frame = r#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"id1500025662664057","scores":{"result":{"period":"result","participant1Score":2,"participant2Score":1}}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#;
//! for message in parse_ws_text(frame) {
//!     let WsMessage::Data(data) = message? else { continue };
//!     assert_eq!(data.entry_id, Some(EntryId::new(1766939805321, 3077)));
//!     let Payload::Scores(scores) = &data.payload else { panic!("typed by channel") };
//!     assert_eq!(scores.scores["result"].participant1_score, Some(2));
//!     assert_eq!(data.raw, frame); // what a CLI prints
//! }
//! # Ok::<(), oddsfeed_model::ModelError>(())
//! ```

mod api_key;
mod entry_id;
mod error;
mod fields;
pub mod img;
mod lenient;
mod limits;
mod msgpack;
mod resume;
pub mod ws;

pub use api_key::ApiKey;
pub use entry_id::EntryId;
pub use error::{ModelError, RAW_CAP};
pub use img::{ImgMessage, parse_img_line};
pub use msgpack::msgpack_to_json;
pub use resume::ResumeState;
pub use ws::{
    FastParser, ReceiveType, WsMessage, parse_ws_fast, parse_ws_json, parse_ws_msgpack,
    parse_ws_text,
};
