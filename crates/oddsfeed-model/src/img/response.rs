//! Responses (docs/PROTOCOL.md A.3) and disconnect notices (A.7).

use std::fmt;
use std::str::FromStr;

use serde_json::{Map, Value};

use super::time::{self, ImgTime};
use crate::fields;

/// A response's `status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResponseStatus {
    /// `session initialized`: the answer to `init`.
    SessionInitialized,
    /// `ok`: any other success.
    Ok,
    /// `error`.
    Error,
    /// Anything else, as sent (empty when `status` is missing or not a string).
    Other(String),
}

impl ResponseStatus {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SessionInitialized => "session initialized",
            Self::Ok => "ok",
            Self::Error => "error",
            Self::Other(text) => text,
        }
    }

    /// Maps the wire text; never fails.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "session initialized" => Self::SessionInitialized,
            "ok" => Self::Ok,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for ResponseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response line (`"mode":"resp"`). Read leniently: fields of the wrong type read as
/// `None`; the line itself is in `raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// `status`.
    pub status: ResponseStatus,
    /// `session_id` (the `init` response).
    pub session_id: Option<String>,
    /// `publish_time`.
    pub publish_time: Option<ImgTime>,
    /// `reason` (string or null).
    pub reason: Option<String>,
    /// `msg`: the error text for errors; any JSON (null reads as `None`).
    pub msg: Option<Value>,
    /// `request_id`, echoed from the request.
    pub request_id: Option<String>,
    /// The line as received.
    pub raw: String,
}

impl Response {
    pub(crate) fn from_object(map: &Map<String, Value>, raw: String) -> Self {
        Self {
            status: match map.get("status") {
                Some(Value::String(s)) => ResponseStatus::from_wire(s),
                _ => ResponseStatus::Other(String::new()),
            },
            session_id: fields::text(map, "session_id"),
            publish_time: time::from_field(map.get("publish_time")),
            reason: fields::string(map, "reason"),
            msg: map.get("msg").filter(|v| !v.is_null()).cloned(),
            request_id: fields::text(map, "request_id"),
            raw,
        }
    }

    /// The error text of an error response: `msg` if it is a string, else `reason`.
    pub fn error_text(&self) -> Option<&str> {
        self.msg
            .as_ref()
            .and_then(Value::as_str)
            .or(self.reason.as_deref())
    }
}

/// Why the server is about to close the connection (A.7).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// `no init sent`.
    NoInitSent,
    /// `max connections hit`.
    MaxConnectionsHit,
    /// `connection rate limit hit`.
    ConnectionRateLimitHit,
    /// `slow reader`.
    SlowReader,
    /// `internal disconnection requested`.
    InternalDisconnectionRequested,
    /// `service error`.
    ServiceError,
    /// Anything else, as sent (empty when `reason` is missing or not a string).
    Other(String),
}

impl DisconnectReason {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NoInitSent => "no init sent",
            Self::MaxConnectionsHit => "max connections hit",
            Self::ConnectionRateLimitHit => "connection rate limit hit",
            Self::SlowReader => "slow reader",
            Self::InternalDisconnectionRequested => "internal disconnection requested",
            Self::ServiceError => "service error",
            Self::Other(text) => text,
        }
    }
}

impl FromStr for DisconnectReason {
    type Err = std::convert::Infallible;

    /// Maps the exact PROTOCOL strings; anything else becomes [`DisconnectReason::Other`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "no init sent" => Self::NoInitSent,
            "max connections hit" => Self::MaxConnectionsHit,
            "connection rate limit hit" => Self::ConnectionRateLimitHit,
            "slow reader" => Self::SlowReader,
            "internal disconnection requested" => Self::InternalDisconnectionRequested,
            "service error" => Self::ServiceError,
            other => Self::Other(other.to_owned()),
        })
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The notice the server sends before closing (A.7):
/// `{"mode":"push","status":"error","session_id":..,"reason":..}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisconnectNotice {
    /// `session_id`.
    pub session_id: Option<String>,
    /// `reason`.
    pub reason: DisconnectReason,
    /// The line as received.
    pub raw: String,
}

impl DisconnectNotice {
    pub(crate) fn from_object(map: &Map<String, Value>, raw: String) -> Self {
        let reason = match map.get("reason") {
            Some(Value::String(s)) => s.parse().unwrap_or(DisconnectReason::Other(s.clone())),
            _ => DisconnectReason::Other(String::new()),
        };
        Self {
            session_id: fields::text(map, "session_id"),
            reason,
            raw,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_reasons_round_trip() {
        let all = [
            DisconnectReason::NoInitSent,
            DisconnectReason::MaxConnectionsHit,
            DisconnectReason::ConnectionRateLimitHit,
            DisconnectReason::SlowReader,
            DisconnectReason::InternalDisconnectionRequested,
            DisconnectReason::ServiceError,
        ];
        let names = [
            "no init sent",
            "max connections hit",
            "connection rate limit hit",
            "slow reader",
            "internal disconnection requested",
            "service error",
        ];
        for (reason, name) in all.iter().zip(names) {
            assert_eq!(reason.as_str(), name);
            assert_eq!(name.parse::<DisconnectReason>(), Ok(reason.clone()));
            assert_eq!(reason.to_string(), name);
        }
        assert_eq!(
            "Slow Reader".parse::<DisconnectReason>(),
            Ok(DisconnectReason::Other("Slow Reader".into()))
        );
    }

    #[test]
    fn response_statuses() {
        assert_eq!(
            ResponseStatus::from_wire("session initialized"),
            ResponseStatus::SessionInitialized
        );
        assert_eq!(ResponseStatus::from_wire("ok"), ResponseStatus::Ok);
        assert_eq!(ResponseStatus::from_wire("error"), ResponseStatus::Error);
        assert_eq!(
            ResponseStatus::from_wire("queued"),
            ResponseStatus::Other("queued".into())
        );
        assert_eq!(
            ResponseStatus::SessionInitialized.as_str(),
            "session initialized"
        );
    }
}
