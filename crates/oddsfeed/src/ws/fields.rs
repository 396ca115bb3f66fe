//! The JSON form of [`WsEvent`]s: the fields of the CLI's `--events jsonl` lines
//! (docs/CLI.md), which the NATS relay publishes. The CLI keeps its own copy with exit codes.

use oddsfeed_session::ws::{CloseCode, Event};
use serde_json::{Map, Value};

use super::event::WsEvent;

impl WsEvent {
    /// The event's fields as the CLI's `--events jsonl` line carries them (CLI.md), without the
    /// `"event"` key (that is [`name`](Self::name)); `None` for [`WsEvent::Data`], which is not
    /// an event. Absent values are left out. The relay publishes the same object.
    #[must_use]
    pub fn json_fields(&self) -> Option<Map<String, Value>> {
        let mut f = Fields::default();
        match self {
            // Health events restate events reported already (login_ok, disconnected, ...).
            WsEvent::Data(_) | WsEvent::Health(_) => return None,
            WsEvent::Session(session) => session_fields(session, &mut f),
            WsEvent::Connecting { url } => f.put("url", url.as_str()),
            WsEvent::Backoff { delay, attempt } => {
                f.put(
                    "delay_ms",
                    u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                );
                f.put("attempt", *attempt);
            }
            WsEvent::Warning { detail, .. } => f.put("detail", detail.as_str()),
            WsEvent::Fatal(error) => f.put("message", error.to_string()),
            WsEvent::Finished => {}
            // Only a replay meets a torn recording; the CLI's replay prints its details.
            WsEvent::RecordingTruncated(_) => {}
        }
        Some(f.0)
    }
}

fn session_fields(event: &Event, f: &mut Fields) {
    match event {
        Event::Connected { conn, resuming } => {
            f.put("conn", conn.get());
            f.put("resuming", *resuming);
        }
        Event::LoginOk {
            conn,
            receive_type,
            channels,
            live,
            pregame,
            server_epoch,
        } => {
            f.put("conn", conn.get());
            f.put(
                "receiveType",
                receive_type.map_or("unknown (sniffing)", |r| r.as_str()),
            );
            f.opt("channels", channels.as_ref().map(|c| c.join(",")));
            f.opt("live", *live);
            f.opt("pregame", *pregame);
            f.opt("serverEpoch", server_epoch.clone());
        }
        Event::Downgraded {
            requested,
            negotiated,
        } => {
            f.put("requested", requested.as_str());
            f.put("negotiated", negotiated.as_str());
        }
        Event::Dict {
            channel,
            dict_id,
            dict_version,
            size,
        } => {
            f.opt("channel", channel.clone());
            f.put("dictId", *dict_id);
            f.opt("dictVersion", dict_version.clone());
            f.put("size", *size);
        }
        Event::DictRejected {
            channel,
            dict_id,
            reason,
        } => {
            f.opt("channel", channel.clone());
            f.put("dictId", *dict_id);
            f.put("reason", reason.as_str());
        }
        Event::ResumeComplete { server_epoch } => f.opt("serverEpoch", server_epoch.clone()),
        Event::SnapshotRequired {
            reason,
            channels,
            raised_by_client,
        } => {
            f.put("reason", reason.as_str());
            f.put("channels", channels.join(","));
            f.put(
                "raisedBy",
                if *raised_by_client {
                    "client"
                } else {
                    "server"
                },
            );
        }
        Event::ReconnectRequested { conn, reason } => {
            f.put("conn", conn.get());
            f.opt("reason", reason.clone());
        }
        Event::Disconnected { conn, code, reason } => {
            f.opt("conn", conn.map(|c| c.get()));
            f.opt("code", code.map(CloseCode::as_u16));
            f.put("reason", reason.as_str());
        }
        Event::DecodeError(error) => {
            f.put("reason", error.kind.as_str());
            f.opt("channel", error.channel.clone());
            f.opt("dictId", error.dict_id);
            f.put("detail", error.detail());
            f.put("len", error.len);
        }
        Event::ServerError { code, message } => {
            f.opt("code", code.clone());
            f.opt("message", message.clone());
        }
        Event::UnknownControl { raw } => {
            let shown: String = raw.chars().take(512).collect();
            f.put("raw", shown);
        }
        Event::Warning { detail, .. } => f.put("detail", detail.as_str()),
        _ => {}
    }
}

/// An ordered field map that leaves out absent values.
#[derive(Default)]
struct Fields(Map<String, Value>);

impl Fields {
    fn put(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.to_owned(), value.into());
    }

    fn opt<T: Into<Value>>(&mut self, key: &str, value: Option<T>) {
        if let Some(value) = value {
            self.put(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed_session::ws::{DecodeError, DecodeErrorKind};
    use oddsfeed_zstd::ZstdError;
    use serde_json::json;

    #[test]
    fn decode_error_fields_name_reason_channel_and_dict() {
        let error = DecodeError::new(DecodeErrorKind::UnknownDict, b"x")
            .with_source(ZstdError::UnknownDict {
                id: 4242,
                known: vec![7],
            })
            .with_dict_id(Some(4242));
        let event = WsEvent::Session(Event::DecodeError(error));
        let (name, fields) = (event.name(), event.json_fields().unwrap_or_default());
        assert_eq!(name, "decode_error");
        assert_eq!(
            Value::Object(fields),
            json!({"reason":"unknown_dict","dictId":4242,"detail":"unknown zstd dictionary id 4242 (known: 7)","len":1})
        );
    }

    #[test]
    fn snapshot_required_says_who_raised_it() {
        let event = WsEvent::Session(Event::SnapshotRequired {
            reason: "not_replayable".into(),
            channels: vec!["odds".into(), "clocks".into()],
            raised_by_client: true,
        });
        let (name, fields) = (event.name(), event.json_fields().unwrap_or_default());
        assert_eq!(name, "snapshot_required");
        assert_eq!(
            Value::Object(fields),
            json!({"reason":"not_replayable","channels":"odds,clocks","raisedBy":"client"})
        );
    }

    #[test]
    fn backoff_and_data() {
        let event = WsEvent::Backoff {
            delay: std::time::Duration::from_millis(420),
            attempt: 2,
        };
        let (name, fields) = (event.name(), event.json_fields().unwrap_or_default());
        assert_eq!(name, "backoff");
        assert_eq!(Value::Object(fields), json!({"delay_ms":420,"attempt":2}));
    }
}
