//! The WebSocket simulator (`oddsfeed sim ws`, docs/PROTOCOL.md Part B).
//!
//! [`WsSim`] listens on `ws://ADDR/ws` (other paths get a 404; a TCP
//! connection that closes without a handshake is ignored; permessage-deflate
//! is never negotiated) and speaks the protocol in all four receive types:
//! login validation, the full `login_ok` of B.4, dictionaries in `zstd-dict`
//! mode, resume with replay (B.9 "Simulator"), pings and idle detection, and
//! the fault flags of B.13.
//!
//! # The stream
//!
//! The simulator produces **one global stream** of distinct data messages
//! over its lifetime (from [`crate::ws_gen`], stamped with the wall clock).
//! Every logged-in connection has a position in it and gets every message of
//! its channels produced after it went live, encoded with [`crate::encode`]
//! for its receive type, one message per WebSocket message.
//!
//! - **Unpaced** (no `rate`): a connection at the head produces the next
//!   message itself, so production follows the fastest reader and each socket's
//!   backpressure (the sender waits; never a 4002 for that).
//! - **Paced** (`rate`): one producer appends at that pace, connected or not;
//!   connections wait for it.
//!
//! The live tail of the stream is bounded by `outbound_queue_bytes` (JSON
//! bytes): a connection that lags further behind the head is closed with 4002.
//! Replay-channel messages also go to the replay buffer, bounded by the replay
//! window and `replay_max_entries`. With `messages = N` the stream stops at N;
//! a connection that has passed message N is closed with 1000.
//!
//! # Login and resume
//!
//! The first message must be a login (else `first_message_must_be_login`,
//! 1008) within `login_timeout` of the TCP accept (else `login_timeout`,
//! 4001). A missing, empty or wrong key, or no produced channel among those
//! asked for, gets `login_failed` and 1008; more than
//! `max_connections_per_key` logged-in connections for a key get
//! `too_many_connections` and 4003. Filters (`sportIds`, `tournamentIds`,
//! `fixtureIds`, `futureIds`, `bookmakers`, `pregame`, `live`, `lang`) are
//! accepted and **ignored**: every message of a served channel is sent.
//! Frames after the login are ignored.
//!
//! The reply order is `login_ok`, dictionaries (`zstd-dict`), any
//! `snapshot_required` (`server_restarted`, `resume_window_exceeded`), the
//! replay (original entryIds, ascending per channel, merged by `ts`), any
//! `snapshot_required`/`client_backpressure` (when the replay would pass half
//! of `outbound_queue_bytes`), `resume_complete`, then live data.
//! `serverEntryIds` lists the latest entryId produced per served replay
//! channel, taken when the login is read.
//!
//! # Faults
//!
//! `drop_after` / `reconnect_after` count data messages per connection
//! (replayed ones included). `bomb_at`, `unknown_dict_at`, `bad_json_at`, `dense_at` fire
//! once per simulator, before the first message numbered I or later that a
//! connection sends (`unknown_dict_at` only on `zstd`/`zstd-dict`
//! connections); no real message is lost to them.
//!
//! # Serving a recording
//!
//! With [`WsSimConfig::replay`] the stream is a recording's data messages instead of
//! generated ones ([`RecordingSource`]): everything above holds (login, receive types,
//! dictionaries, resume, faults), `ts` and entryIds are the recorded ones, and the replay
//! window is measured on the messages' `ts`.
//!
//! The API key is never logged.

mod channels;
mod config;
mod conn;
mod log;
mod login;
mod recorded;
mod server;
mod stats;

pub use channels::PRODUCED_CHANNELS;
pub use config::{RecordedMessage, StreamRecorder, WsSimConfig};
pub use recorded::{RecordingSource, Skipped};
pub use server::{WsSim, WsSimHandle};
pub use stats::SimStats;
