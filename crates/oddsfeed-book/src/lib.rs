//! The live book: the state a feed's messages describe, kept in memory.
//!
//! A trading system does not want the stream of messages but what they add up to: the
//! current price of every outcome at every bookmaker, the fixture, its score and clock,
//! which bookmakers are stale or suspended, and which parts of the feed itself cannot be
//! trusted right now. This crate keeps that state for both feeds:
//!
//! - [`ws::WsBook`] for the WebSocket feed: per fixture the fixture payload, odds by
//!   bookmaker and oddsId, bookmaker status, scores by period and the clock; per channel
//!   whether a `snapshot_required` made it stale.
//! - [`img::ImgBook`] for the IMG feed: markets with status, selections and settlements,
//!   and whether heartbeats are stale.
//!
//! Like the session crate below the facade, the books are sans-IO: they are fed decoded
//! messages and health events together with the time they arrived, never read the clock and
//! never touch a socket. Each `apply` can report what changed (outcome, old and new price,
//! why) into a caller's `Vec`, so an application can react to price moves without diffing;
//! the plain `apply` skips building those reports.
//!
//! The update rules and the `dump()` document are those of `docs/CLI.md`, "The live book".
//! Objects are dumped exactly as the messages carried them; the typed views the queries use
//! are read from the model's typed payloads.
//!
//! ```
//! use std::time::Instant;
//! use oddsfeed_book::ws::WsBook;
//! use oddsfeed_model::ws::{parse_ws_text, WsMessage};
//!
//! let line = r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"f1","odds":{"bk":{"f1:bk:101:0":{"bookmaker":"bk","outcomeId":101,"playerId":0,"marketId":101,"price":2.5,"active":true}}}},"ts":1,"entryId":"1-0"}"#;
//! let mut book = WsBook::new();
//! let now = Instant::now();
//! for message in parse_ws_text(line) {
//!     if let WsMessage::Data(data) = message? {
//!         book.apply(&data, now);
//!     }
//! }
//! let best = book.best_price("f1", 101, 101, 0).expect("one active price");
//! assert_eq!((best.bookmaker, best.price), ("bk", 2.5));
//! assert_eq!(book.dump()["fixtures"]["f1"]["odds"]["bk"]["f1:bk:101:0"]["price"], 2.5);
//! # Ok::<(), oddsfeed_model::ModelError>(())
//! ```

pub mod img;
mod source;
pub mod ws;
