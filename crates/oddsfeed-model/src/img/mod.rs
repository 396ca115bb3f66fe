//! The newline-JSON feed over SSH (docs/PROTOCOL.md Part A): requests the client sends and the
//! lines the server sends back.
//!
//! [`parse_img_line`] classifies one line (A.3 "Classify a line"):
//!
//! | line | result |
//! |---|---|
//! | `"mode":"resp"` | [`ImgMessage::Response`] |
//! | `"mode":"push"`, `"status":"error"`, no `type` | [`ImgMessage::Disconnect`] |
//! | `"mode":"push"` with a string `type` | [`ImgMessage::Push`] |
//! | any other JSON object | [`ImgMessage::Unknown`] (never fatal) |
//! | JSON that is not an object | [`ModelError::WrongShape`] |
//! | not JSON | [`ModelError::BadJson`] |
//!
//! Every variant keeps the line in `raw`, so fields the typed views leave out are not lost.

mod push;
mod request;
mod response;
mod time;

use serde_json::{Map, Value};

pub use push::{
    Competition, Event, EventStage, Market, MarketStatus, MarketType, MarketUpdate,
    PricedSelection, Push, PushBody, PushKind, Selection, Settlement, SettlementAmounts, Sport,
};
pub use request::{Request, SubscriptionFilter};
pub use response::{DisconnectNotice, DisconnectReason, Response, ResponseStatus};
pub use time::ImgTime;

use crate::error::ModelError;
use crate::ws::{json_kind, trim_json_ws};

/// One line from the IMG server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImgMessage {
    /// A response to a request.
    Response(Response),
    /// A push.
    Push(Push),
    /// The notice sent before the server closes the connection.
    Disconnect(DisconnectNotice),
    /// Any other JSON object.
    Unknown {
        /// The parsed object.
        value: Value,
        /// The line as received.
        raw: String,
    },
}

impl ImgMessage {
    /// The line as received.
    pub fn raw(&self) -> &str {
        match self {
            Self::Response(r) => &r.raw,
            Self::Push(p) => &p.raw,
            Self::Disconnect(d) => &d.raw,
            Self::Unknown { raw, .. } => raw,
        }
    }

    /// Whether this is a heartbeat push.
    pub fn is_heartbeat(&self) -> bool {
        matches!(self, Self::Push(p) if p.kind == PushKind::Heartbeat)
    }
}

/// Parses and classifies one line (without its `\n`; surrounding whitespace is ignored).
///
/// ```
/// use oddsfeed_model::img::{parse_img_line, DisconnectReason, ImgMessage};
/// let line = r#"{"mode":"push","status":"error","session_id":"66193235","reason":"slow reader"}"#;
/// let ImgMessage::Disconnect(notice) = parse_img_line(line)? else { unreachable!() };
/// assert_eq!(notice.reason, DisconnectReason::SlowReader);
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
///
/// # Errors
/// [`ModelError::BadJson`] if the line is not JSON, [`ModelError::WrongShape`] if it is not
/// an object. Unknown or mistyped content is never an error.
pub fn parse_img_line(line: &str) -> Result<ImgMessage, ModelError> {
    let text = trim_json_ws(line);
    let value: Value = serde_json::from_str(text)
        .map_err(|err| ModelError::bad_json(err.to_string(), line.as_bytes()))?;
    let map = match value {
        Value::Object(map) => map,
        other => {
            return Err(ModelError::wrong_shape(
                format!("expected a JSON object, found {}", json_kind(&other)),
                line.as_bytes(),
            ));
        }
    };
    Ok(classify(map, text.to_owned()))
}

/// Like [`parse_img_line`] for raw bytes.
///
/// # Errors
/// [`ModelError::InvalidUtf8`], or as [`parse_img_line`].
pub fn parse_img_bytes(line: &[u8]) -> Result<ImgMessage, ModelError> {
    match std::str::from_utf8(line) {
        Ok(text) => parse_img_line(text),
        Err(_) => Err(ModelError::invalid_utf8(line)),
    }
}

fn classify(map: Map<String, Value>, raw: String) -> ImgMessage {
    let mode = map.get("mode").and_then(Value::as_str);
    match mode {
        Some("resp") => ImgMessage::Response(Response::from_object(&map, raw)),
        Some("push") => match map.get("type") {
            Some(Value::String(kind)) => {
                let kind = kind.clone();
                ImgMessage::Push(Push::from_object(&kind, map, raw))
            }
            None | Some(Value::Null)
                if map.get("status").and_then(Value::as_str) == Some("error") =>
            {
                ImgMessage::Disconnect(DisconnectNotice::from_object(&map, raw))
            }
            _ => ImgMessage::Unknown {
                value: Value::Object(map),
                raw,
            },
        },
        _ => ImgMessage::Unknown {
            value: Value::Object(map),
            raw,
        },
    }
}

#[cfg(test)]
mod tests;
