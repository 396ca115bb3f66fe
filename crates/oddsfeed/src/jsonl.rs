//! The CLI's line formats, shared by every front end (the `oddsfeed` binary, the Python package).
//!
//! A data message is printed as the JSON text it arrived as ([`DataMessage::raw`] for the
//! WebSocket feed, [`img_data_line`] for the IMG feed); an event is one JSON object with an
//! `"event"` key naming it plus the fields these functions give ([`ws_event_object`],
//! [`img_event_object`]). Keeping them here means a Python `dict` and a CLI line cannot drift
//! apart.
//!
//! [`DataMessage::raw`]: oddsfeed_model::ws::DataMessage::raw

use std::time::Duration;

use oddsfeed_model::img::{PushKind, Request};
use oddsfeed_session::img::Event as ImgSessionEvent;
use serde_json::{Map, Value, json};

use crate::img::ImgEvent;
use crate::ws::WsEvent;

/// Most characters of an undecodable IMG line quoted in a `decode_error` event.
const RAW_IN_EVENT: usize = 256;

/// The text the CLI prints on stdout for a WebSocket event: the message's JSON as received for
/// data, `None` for everything else.
#[must_use]
pub fn ws_data_line(event: &WsEvent) -> Option<&str> {
    match event {
        WsEvent::Data(msg) => Some(&msg.raw),
        _ => None,
    }
}

/// The line the CLI prints on stdout for an IMG item: the server's JSON object as received
/// (responses, pushes, disconnect notices, unknown objects), heartbeat pushes only when
/// `heartbeats` is set; `None` for everything else.
#[must_use]
pub fn img_data_line(event: &ImgEvent, heartbeats: bool) -> Option<&str> {
    let ImgEvent::Session(session) = event else {
        return None;
    };
    let raw = session.raw_line()?;
    let heartbeat =
        matches!(session, ImgSessionEvent::Push(push) if push.kind == PushKind::Heartbeat);
    (heartbeats || !heartbeat).then_some(raw)
}

/// An IMG request given as text (the CLI's `--request`, the Python `requests=`): a JSON object with a string `request` (and optional `msg`, `request_id`).
///
/// # Errors
///
/// A one-line reason when the text is not such an object.
pub fn img_request(text: &str) -> Result<Request, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("request") {
        Some(Value::String(_)) => {}
        _ => return Err("expected a JSON object with a string \"request\"".to_owned()),
    }
    if value.get("msg").is_some_and(|msg| !msg.is_object()) {
        return Err("\"msg\" must be a JSON object".to_owned());
    }
    if value.get("request_id").is_some_and(|id| !id.is_string()) {
        return Err("\"request_id\" must be a string".to_owned());
    }
    serde_json::from_value(value).map_err(|e| format!("not a request: {e}"))
}

/// A whole `--events jsonl` object for a WebSocket event: `{"event": name, ...fields}`.
#[must_use]
pub fn ws_event_object(event: &WsEvent) -> Option<Map<String, Value>> {
    ws_event_fields(event).map(|(name, fields)| with_name(name, fields))
}

/// A whole `--events jsonl` object for an IMG item: `{"event": name, ...fields}`.
#[must_use]
pub fn img_event_object(event: &ImgEvent) -> Option<Map<String, Value>> {
    img_event_fields(event).map(|(name, fields)| with_name(name, fields))
}

fn with_name(name: &str, fields: Map<String, Value>) -> Map<String, Value> {
    let mut obj = Map::with_capacity(fields.len() + 1);
    obj.insert("event".to_owned(), Value::String(name.to_owned()));
    obj.extend(fields);
    obj
}

/// The CLI.md name and fields of a WebSocket client event (the `--events jsonl` object without
/// its `event` key); `None` for data, which is not an event.
#[must_use]
pub fn ws_event_fields(event: &WsEvent) -> Option<(&'static str, Map<String, Value>)> {
    // One mapping for the relay, the Python package and this module: `WsEvent::json_fields`.
    event.json_fields().map(|fields| (event.name(), fields))
}

/// The CLI.md name and fields of an IMG client item (the `--events jsonl` object without its
/// `event` key); `None` for pure data (pushes, unknown objects), which are not events.
#[must_use]
pub fn img_event_fields(event: &ImgEvent) -> Option<(&'static str, Map<String, Value>)> {
    let mut f = Map::new();
    let mut put = |key: &str, value: Value| {
        f.insert(key.to_owned(), value);
    };
    match event {
        ImgEvent::Connecting { addr, attempt } => {
            put("addr", json!(addr));
            put("attempt", json!(attempt));
        }
        ImgEvent::Connected { addr } => put("addr", json!(addr)),
        ImgEvent::ConnectFailed { error } => put("error", json!(error)),
        ImgEvent::Backoff { delay, attempt } => {
            put(
                "delay_ms",
                json!(u64::try_from(delay.as_millis()).unwrap_or(u64::MAX)),
            );
            put("attempt", json!(attempt));
        }
        ImgEvent::Finished => {}
        // Health restates session events; a fatal error ends the run (the caller reports it);
        // the rest are warnings this mapping does not carry yet.
        ImgEvent::Health(_) | ImgEvent::Fatal(_) => return None,
        ImgEvent::InsecureSha1Rsa { addr } => {
            put("addr", json!(addr));
            put(
                "detail",
                json!(
                    "the RSA identity signed with SHA-1 (ssh-rsa): the server announced no \
                     rsa-sha2-512 or rsa-sha2-256, and SHA-1 signatures can be forged"
                ),
            );
        }
        ImgEvent::RecordFailed { error } => put("error", json!(error)),
        ImgEvent::RecordingTruncated(t) => {
            put("offset", json!(t.offset));
            put("ignored_bytes", json!(t.ignored_bytes));
            put("reason", json!(t.reason.as_str()));
        }
        ImgEvent::Session(session) => match session {
            ImgSessionEvent::Push(_) | ImgSessionEvent::Unknown { .. } => return None,
            ImgSessionEvent::SessionInitialized {
                session_id,
                reconnect,
            } => {
                put("session_id", json!(session_id));
                put("reconnect", json!(reconnect));
            }
            ImgSessionEvent::Response { response, request } => {
                put("status", json!(response.status.as_str()));
                put("request_id", json!(response.request_id));
                put(
                    "request",
                    json!(request.as_ref().map(|r| r.request.as_str())),
                );
                if let Some(text) = response.error_text() {
                    put("msg", json!(text));
                }
            }
            ImgSessionEvent::Disconnect(notice) => {
                put("status", json!("error"));
                put("reason", json!(notice.reason.as_str()));
                put("session_id", json!(notice.session_id));
            }
            ImgSessionEvent::HeartbeatStale { silent_for } => {
                put("silent_ms", json!(millis(*silent_for)))
            }
            ImgSessionEvent::HeartbeatOk { stale_for } => {
                put("stale_ms", json!(millis(*stale_for)))
            }
            ImgSessionEvent::UnmatchedResponse { request_id } => {
                put("request_id", json!(request_id))
            }
            ImgSessionEvent::HeartbeatTimeBackwards { previous, current } => {
                put("previous", json!(previous));
                put("current", json!(current));
            }
            ImgSessionEvent::DecodeError(error) => {
                put("reason", json!(error.kind.as_str()));
                put("detail", json!(error.detail()));
                let raw: String = error.raw_lossy().chars().take(RAW_IN_EVENT).collect();
                put("raw", json!(raw));
            }
            ImgSessionEvent::Disconnected { reason } => {
                put("code", json!(reason.code()));
                put("reason", json!(reason.to_string()));
            }
            _ => {}
        },
    }
    Some((event.name(), f))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}
