//! [`Stats`]: counters of one WebSocket session.

use std::collections::BTreeMap;

use super::DecodeErrorKind;

/// Counters of one [`WsSession`](super::WsSession), over all its connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Frames received on live connections (text and binary).
    pub frames: u64,
    /// Bytes in those frames.
    pub bytes: u64,
    /// Frames that arrived for a connection the session no longer knows, ignored.
    pub frames_ignored: u64,
    /// Data messages delivered to the application ([`Event::Data`](super::Event::Data)).
    pub data_delivered: u64,
    /// Data messages dropped as duplicates (entryId not newer than the channel's cursor).
    pub duplicates_dropped: u64,
    /// Data messages dropped because they arrived before `login_ok`.
    pub dropped_before_login_ok: u64,
    /// Decode errors, by kind (`unexpected_binary` included, although those frames were decoded).
    pub decode_errors: BTreeMap<DecodeErrorKind, u64>,
    /// Dictionaries stored.
    pub dicts_loaded: u64,
    /// Dictionaries refused.
    pub dicts_rejected: u64,
    /// Connections opened ([`WsSession::handle_connected`](super::WsSession::handle_connected) calls).
    pub connections: u64,
    /// Warnings emitted.
    pub warnings: u64,
}

impl Stats {
    /// All decode errors that lost a frame (every kind except `unexpected_binary`).
    #[must_use]
    pub fn decode_errors_total(&self) -> u64 {
        self.decode_errors
            .iter()
            .filter(|(reason, _)| reason.drops_frame())
            .map(|(_, n)| n)
            .sum()
    }

    /// The count for one kind.
    #[must_use]
    pub fn decode_errors_for(&self, reason: DecodeErrorKind) -> u64 {
        self.decode_errors.get(&reason).copied().unwrap_or(0)
    }

    pub(crate) fn count_decode_error(&mut self, reason: DecodeErrorKind) {
        *self.decode_errors.entry(reason).or_insert(0) += 1;
    }
}
