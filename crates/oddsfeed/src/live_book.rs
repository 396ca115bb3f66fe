//! Feeding the live book ([`oddsfeed_book`]) from the clients' events: one place for the rule
//! "which event changes which part of the book", used by the clients' opt-in book
//! ([`WsClient::book`](crate::ws::WsClient::book), [`ImgClient::book`](crate::img::ImgClient::book))
//! and by programs that replay a recording (`oddsfeed replay --book-out`).

use std::time::Instant;

use oddsfeed_book::img::ImgBook;
use oddsfeed_book::ws::WsBook;
use oddsfeed_session::img::Event as ImgSessionEvent;
use oddsfeed_session::ws::Event as WsSessionEvent;

use crate::img::ImgEvent;
use crate::ws::WsEvent;

/// Applies a WebSocket client event to `book`: data messages, and `snapshot_required` for
/// channel staleness. `now` is the message's arrival time (for ages).
pub fn apply_ws_event(book: &mut WsBook, event: &WsEvent, now: Instant) {
    match event {
        WsEvent::Data(msg) => book.apply(msg, now),
        WsEvent::Session(WsSessionEvent::SnapshotRequired {
            reason, channels, ..
        }) => book.snapshot_required(reason, channels),
        _ => {}
    }
}

/// Applies an IMG client event to `book`: pushes, `session_initialized` (a re-initialised
/// session empties the markets), heartbeat staleness and disconnects.
pub fn apply_img_event(book: &mut ImgBook, event: &ImgEvent, now: Instant) {
    let ImgEvent::Session(session) = event else {
        return;
    };
    match session {
        ImgSessionEvent::Push(push) => book.apply(push, now),
        ImgSessionEvent::SessionInitialized {
            session_id,
            reconnect,
        } => book.session_initialized(session_id.as_deref(), *reconnect),
        ImgSessionEvent::HeartbeatStale { .. } => book.heartbeat_stale(),
        ImgSessionEvent::HeartbeatOk { .. } => book.heartbeat_ok(),
        ImgSessionEvent::Disconnected { .. } => book.disconnected(),
        _ => {}
    }
}
