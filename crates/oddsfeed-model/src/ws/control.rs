//! Server control frames (docs/PROTOCOL.md B.4, B.6, B.8).
//!
//! Control frames are read leniently: every field the server might leave out is an
//! `Option`, a field of the wrong type reads as `None`, and a frame with an unknown `type`
//! is kept whole as [`Control::Unknown`]. Building a control frame from a JSON object never
//! fails.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::login::ReceiveType;
use crate::entry_id::EntryId;
use crate::fields;

/// The `type` values that make a JSON object a control frame (B.5 rule 1).
pub const CONTROL_TYPES: [&str; 6] = [
    "login_ok",
    "error",
    "dict",
    "resume_complete",
    "snapshot_required",
    "reconnect",
];

/// Whether `kind` is one of [`CONTROL_TYPES`].
pub fn is_control_type(kind: &str) -> bool {
    CONTROL_TYPES.contains(&kind)
}

/// A control frame from the server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Control {
    /// `login_ok`: the login was accepted.
    LoginOk(LoginOk),
    /// `error`: a refusal or failure, usually followed by a close.
    Error(ErrorFrame),
    /// `dict`: a zstd dictionary for the `zstd-dict` mode.
    Dict(DictFrame),
    /// `resume_complete`: the replay after a resuming login is over.
    ResumeComplete(ResumeComplete),
    /// `snapshot_required`: cursors of some channels are no longer usable.
    SnapshotRequired(SnapshotRequired),
    /// `reconnect`: the server asks for a new connection soon.
    Reconnect(Reconnect),
    /// Any other JSON object that is neither a known control frame nor a data message,
    /// kept whole.
    Unknown(Value),
}

impl Control {
    /// The frame's `type` as the protocol names it (`"unknown"` for [`Control::Unknown`]).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::LoginOk(_) => "login_ok",
            Self::Error(_) => "error",
            Self::Dict(_) => "dict",
            Self::ResumeComplete(_) => "resume_complete",
            Self::SnapshotRequired(_) => "snapshot_required",
            Self::Reconnect(_) => "reconnect",
            Self::Unknown(_) => "unknown",
        }
    }

    /// Builds a control frame from a JSON object whose `type` is `kind`. Never fails; a
    /// `kind` outside [`CONTROL_TYPES`] gives [`Control::Unknown`]. The frames that keep
    /// their raw text get the object's compact JSON; use [`Control::from_object_with_raw`]
    /// when the text as received is at hand.
    pub fn from_object(kind: &str, map: Map<String, Value>) -> Self {
        let raw = serde_json::to_string(&map).unwrap_or_default();
        Self::from_object_with_raw(kind, map, raw)
    }

    /// [`Control::from_object`] with the frame's text as received (compact, one line), kept
    /// as `raw` by `login_ok`, `dict`, `resume_complete`, `snapshot_required` and
    /// `reconnect`.
    pub fn from_object_with_raw(kind: &str, map: Map<String, Value>, raw: String) -> Self {
        match kind {
            "login_ok" => Self::LoginOk(LoginOk::from_object(&map, raw)),
            "error" => Self::Error(ErrorFrame::from_object(map)),
            "dict" => Self::Dict(DictFrame::from_object(&map, raw)),
            "resume_complete" => Self::ResumeComplete(ResumeComplete {
                server_epoch: fields::string(&map, "serverEpoch"),
                extra: extra(&map, &["serverEpoch"]),
                raw,
            }),
            "snapshot_required" => Self::SnapshotRequired(SnapshotRequired::from_object(&map, raw)),
            "reconnect" => Self::Reconnect(Reconnect {
                reason: fields::string(&map, "reason"),
                extra: extra(&map, &["reason"]),
                raw,
            }),
            _ => Self::Unknown(Value::Object(map)),
        }
    }
}

/// The fields of a control frame its typed view does not read (`type` and `known` left
/// out), in document order.
fn extra(map: &Map<String, Value>, known: &[&str]) -> Map<String, Value> {
    map.iter()
        .filter(|(key, _)| key.as_str() != "type" && !known.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// `serverEntryIds`: the latest entry id per channel, kept as the server's text.
///
/// A value that is not a valid entry id does not spoil the frame; [`ServerEntryIds::get`]
/// simply reports it as unparsable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerEntryIds(pub BTreeMap<String, String>);

impl ServerEntryIds {
    /// Reads the object; string values are kept as they are, other values as their JSON
    /// text (which then fails to parse as an entry id).
    fn from_object(map: &Map<String, Value>) -> Self {
        Self(
            map.iter()
                .map(|(channel, id)| {
                    let text = match id {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (channel.clone(), text)
                })
                .collect(),
        )
    }

    /// The server's text for `channel`.
    pub fn raw(&self, channel: &str) -> Option<&str> {
        self.0.get(channel).map(String::as_str)
    }

    /// The entry id of `channel`: `None` if absent, `Some(Err(..))` if unparsable.
    pub fn get(&self, channel: &str) -> Option<Result<EntryId, crate::ModelError>> {
        self.0.get(channel).map(|text| text.parse())
    }

    /// Every channel with its parsed entry id (or the parse error).
    pub fn iter(&self) -> impl Iterator<Item = (&str, Result<EntryId, crate::ModelError>)> {
        self.0
            .iter()
            .map(|(channel, text)| (channel.as_str(), text.parse()))
    }
}

/// `login_ok` (B.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginOk {
    /// `receiveType` as sent: the negotiated mode. See [`LoginOk::negotiated`].
    pub receive_type: Option<String>,
    /// `channels`: the effective set.
    pub channels: Option<Vec<String>>,
    /// `access`: live/pregame rights.
    pub access: Option<Access>,
    /// `resume`: the resume parameters.
    pub resume: Option<ResumeInfo>,
    /// A top-level `serverEpoch`, which some servers send instead of `resume.serverEpoch`.
    pub server_epoch: Option<String>,
    /// Top-level fields this view does not read, in document order (inner objects such as
    /// `resume` keep theirs in `raw`).
    pub extra: Map<String, Value>,
    /// The frame's compact JSON text as received.
    pub raw: String,
}

impl LoginOk {
    fn from_object(map: &Map<String, Value>, raw: String) -> Self {
        Self {
            receive_type: fields::string(map, "receiveType"),
            channels: fields::strings(map, "channels"),
            access: fields::object(map, "access").map(|a| Access {
                live: fields::boolean(a, "live"),
                pregame: fields::boolean(a, "pregame"),
            }),
            resume: fields::object(map, "resume").map(|r| ResumeInfo {
                server_epoch: fields::string(r, "serverEpoch"),
                resume_window_ms: fields::unsigned(r, "resumeWindowMs"),
                replay_channels: fields::strings(r, "replayChannels"),
                server_entry_ids: fields::object(r, "serverEntryIds")
                    .map(ServerEntryIds::from_object),
            }),
            server_epoch: fields::string(map, "serverEpoch"),
            extra: extra(
                map,
                &["receiveType", "channels", "access", "resume", "serverEpoch"],
            ),
            raw,
        }
    }

    /// The negotiated receive type; `None` if missing or unknown (then each frame is
    /// sniffed, B.4).
    pub fn negotiated(&self) -> Option<ReceiveType> {
        self.receive_type.as_deref().and_then(|t| t.parse().ok())
    }

    /// The server epoch: `resume.serverEpoch`, else the top-level `serverEpoch`.
    pub fn epoch(&self) -> Option<&str> {
        self.resume
            .as_ref()
            .and_then(|r| r.server_epoch.as_deref())
            .or(self.server_epoch.as_deref())
    }
}

/// `login_ok.access`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// `live`.
    pub live: Option<bool>,
    /// `pregame`.
    pub pregame: Option<bool>,
}

/// `login_ok.resume`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeInfo {
    /// `serverEpoch`: changes when the gateway restarts.
    pub server_epoch: Option<String>,
    /// `resumeWindowMs`: how far back a resume can reach.
    pub resume_window_ms: Option<u64>,
    /// `replayChannels`: channels the server can replay.
    pub replay_channels: Option<Vec<String>>,
    /// `serverEntryIds`: the latest cursor per channel.
    pub server_entry_ids: Option<ServerEntryIds>,
}

/// `error` (B.8, B.11).
///
/// The code is read from `code`, else `error`, else `reason`; the message from `message`,
/// else `msg` (strings, or numbers as their text). The whole frame is kept in `raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorFrame {
    /// The error code, e.g. `login_failed`.
    pub code: Option<String>,
    /// The human-readable message.
    pub message: Option<String>,
    /// The whole frame as received.
    pub raw: Value,
}

impl ErrorFrame {
    fn from_object(map: Map<String, Value>) -> Self {
        let code = ["code", "error", "reason"]
            .into_iter()
            .find_map(|key| fields::text(&map, key));
        let message = ["message", "msg"]
            .into_iter()
            .find_map(|key| fields::text(&map, key));
        Self {
            code,
            message,
            raw: Value::Object(map),
        }
    }
}

impl fmt::Display for ErrorFrame {
    /// `code: message`, with `unknown` for a missing part.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}",
            self.code.as_deref().unwrap_or("unknown"),
            self.message.as_deref().unwrap_or("unknown")
        )
    }
}

/// `dict` (B.6): a zstd dictionary for the `zstd-dict` mode, still base64-encoded.
#[derive(Clone, PartialEq, Eq)]
pub struct DictFrame {
    /// `channel` (informational).
    pub channel: Option<String>,
    /// `dictVersion` (informational).
    pub dict_version: Option<String>,
    /// `dictId`. 0 when missing or not a `u32`; B.6 rejects dictId 0, so such a frame is
    /// refused downstream.
    pub dict_id: u32,
    /// `encoding`; only `base64` is acceptable.
    pub encoding: Option<String>,
    /// `data`: the dictionary, base64-encoded.
    pub data: Option<String>,
    /// Fields this view does not read, in document order.
    pub extra: Map<String, Value>,
    /// The frame's compact JSON text as received (the dictionary's base64 included).
    pub raw: String,
}

impl DictFrame {
    fn from_object(map: &Map<String, Value>, raw: String) -> Self {
        Self {
            channel: fields::string(map, "channel"),
            dict_version: fields::string(map, "dictVersion"),
            dict_id: fields::unsigned(map, "dictId")
                .and_then(|id| u32::try_from(id).ok())
                .unwrap_or(0),
            encoding: fields::string(map, "encoding"),
            data: fields::string(map, "data"),
            extra: extra(
                map,
                &["channel", "dictVersion", "dictId", "encoding", "data"],
            ),
            raw,
        }
    }
}

impl fmt::Debug for DictFrame {
    /// Shows the length of `data` instead of ~40 KB of base64.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DictFrame")
            .field("channel", &self.channel)
            .field("dict_version", &self.dict_version)
            .field("dict_id", &self.dict_id)
            .field("encoding", &self.encoding)
            .field("data_len", &self.data.as_ref().map(String::len))
            .field("extra", &self.extra)
            .field("raw_len", &self.raw.len())
            .finish()
    }
}

/// `resume_complete` (B.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeComplete {
    /// `serverEpoch`.
    pub server_epoch: Option<String>,
    /// Fields this view does not read, in document order.
    pub extra: Map<String, Value>,
    /// The frame's compact JSON text as received.
    pub raw: String,
}

/// `snapshot_required` (B.8). The stream continues after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRequired {
    /// `reason`: `server_restarted`, `resume_window_exceeded`, `client_backpressure`, ...
    pub reason: Option<String>,
    /// `channels` whose cursors must be cleared.
    pub channels: Option<Vec<String>>,
    /// `serverEpoch`.
    pub server_epoch: Option<String>,
    /// `resumeWindowMs`.
    pub resume_window_ms: Option<u64>,
    /// `serverEntryIds`.
    pub server_entry_ids: Option<ServerEntryIds>,
    /// Fields this view does not read, in document order.
    pub extra: Map<String, Value>,
    /// The frame's compact JSON text as received.
    pub raw: String,
}

impl SnapshotRequired {
    fn from_object(map: &Map<String, Value>, raw: String) -> Self {
        Self {
            reason: fields::string(map, "reason"),
            channels: fields::strings(map, "channels"),
            server_epoch: fields::string(map, "serverEpoch"),
            resume_window_ms: fields::unsigned(map, "resumeWindowMs"),
            server_entry_ids: fields::object(map, "serverEntryIds")
                .map(ServerEntryIds::from_object),
            extra: extra(
                map,
                &[
                    "reason",
                    "channels",
                    "serverEpoch",
                    "resumeWindowMs",
                    "serverEntryIds",
                ],
            ),
            raw,
        }
    }
}

/// `reconnect` (B.8): the server streams on for a grace period, then closes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    /// `reason`, e.g. `server_upgrade`.
    pub reason: Option<String>,
    /// Fields this view does not read, in document order.
    pub extra: Map<String, Value>,
    /// The frame's compact JSON text as received.
    pub raw: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn control(v: Value) -> Control {
        let Value::Object(map) = v else {
            panic!("not an object")
        };
        let kind = map
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Control::from_object(&kind, map)
    }

    #[test]
    fn login_ok_full_b4_shape() {
        let c = control(
            json!({"type":"login_ok","receiveType":"zstd-dict","channels":["odds","fixtures","scores"],"access":{"live":true,"pregame":true},
            "resume":{"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","resumeWindowMs":60000,"replayChannels":["fixtures","scores"],
            "serverEntryIds":{"fixtures":"1766414833582-2542","scores":"1766418736962-198"}}}),
        );
        let Control::LoginOk(ok) = c else {
            panic!("{c:?}")
        };
        assert_eq!(ok.negotiated(), Some(ReceiveType::ZstdDict));
        assert_eq!(ok.epoch(), Some("0804ab61513c4681a3afd8afc1fb2f75"));
        assert_eq!(
            ok.access,
            Some(Access {
                live: Some(true),
                pregame: Some(true)
            })
        );
        let resume = ok.resume.unwrap();
        assert_eq!(resume.resume_window_ms, Some(60000));
        assert_eq!(
            resume.replay_channels,
            Some(vec!["fixtures".to_owned(), "scores".to_owned()])
        );
        let ids = resume.server_entry_ids.unwrap();
        assert_eq!(
            ids.get("scores"),
            Some(Ok(EntryId::new(1_766_418_736_962, 198)))
        );
        assert_eq!(ids.raw("fixtures"), Some("1766414833582-2542"));
        assert_eq!(ids.get("odds"), None);
    }

    #[test]
    fn login_ok_minimal_and_top_level_epoch() {
        let c = control(json!({"type":"login_ok","serverEpoch":"top","receiveType":"brotli"}));
        let Control::LoginOk(ok) = c else {
            panic!("{c:?}")
        };
        assert_eq!(ok.epoch(), Some("top"));
        assert_eq!(ok.negotiated(), None);
        assert_eq!(ok.receive_type.as_deref(), Some("brotli"));
        assert_eq!(ok.channels, None);
        assert_eq!(ok.resume, None);
    }

    #[test]
    fn bad_server_entry_id_does_not_fail_the_frame() {
        let c = control(
            json!({"type":"login_ok","resume":{"serverEntryIds":{"scores":"nope","odds":"5-6","clocks":7}}}),
        );
        let Control::LoginOk(ok) = c else {
            panic!("{c:?}")
        };
        let ids = ok.resume.unwrap().server_entry_ids.unwrap();
        assert_eq!(
            ids.get("scores"),
            Some(Err(crate::ModelError::BadEntryId {
                raw: b"nope".to_vec()
            }))
        );
        assert_eq!(ids.get("odds"), Some(Ok(EntryId::new(5, 6))));
        assert_eq!(ids.raw("clocks"), Some("7"));
        let parsed: Vec<_> = ids.iter().filter_map(|(c, r)| r.ok().map(|_| c)).collect();
        assert_eq!(parsed, ["odds"]);
    }

    #[test]
    fn error_frame_field_fallbacks() {
        let cases = [
            (
                json!({"type":"error","code":"login_failed","message":"invalid apiKey"}),
                Some("login_failed"),
                Some("invalid apiKey"),
            ),
            (
                json!({"type":"error","error":"too_many_connections","msg":"max 5"}),
                Some("too_many_connections"),
                Some("max 5"),
            ),
            (
                json!({"type":"error","reason":"login_timeout"}),
                Some("login_timeout"),
                None,
            ),
            (
                json!({"type":"error","reason":"r","error":"e","code":"c","msg":"m","message":"M"}),
                Some("c"),
                Some("M"),
            ),
            (
                json!({"type":"error","code":null,"error":"e"}),
                Some("e"),
                None,
            ),
            (
                json!({"type":"error","code":401,"message":"unauthorised"}),
                Some("401"),
                Some("unauthorised"),
            ),
            (json!({"type":"error"}), None, None),
        ];
        for (frame, code, message) in cases {
            let c = control(frame.clone());
            let Control::Error(e) = c else {
                panic!("{c:?}")
            };
            assert_eq!(e.code.as_deref(), code, "{frame}");
            assert_eq!(e.message.as_deref(), message, "{frame}");
            assert_eq!(e.raw, frame);
        }
        let c = control(json!({"type":"error","code":"login_failed","message":"invalid apiKey"}));
        let Control::Error(e) = c else {
            panic!("{c:?}")
        };
        assert_eq!(e.to_string(), "login_failed: invalid apiKey");
    }

    #[test]
    fn dict_frame() {
        let c = control(
            json!({"type":"dict","channel":"odds","dictVersion":"odds-v1","dictId":740826216,"encoding":"base64","data":"N6Qw7Gjp"}),
        );
        assert_eq!(
            c,
            Control::Dict(DictFrame {
                channel: Some("odds".into()),
                dict_version: Some("odds-v1".into()),
                dict_id: 740_826_216,
                encoding: Some("base64".into()),
                data: Some("N6Qw7Gjp".into()),
                extra: Map::new(),
                raw: r#"{"type":"dict","channel":"odds","dictVersion":"odds-v1","dictId":740826216,"encoding":"base64","data":"N6Qw7Gjp"}"#.into(),
            })
        );
        assert!(format!("{c:?}").contains("data_len: Some(8)"));
        for bad in [
            json!("740826216"),
            json!(4_294_967_296u64),
            json!(-1),
            json!(null),
        ] {
            let c = control(json!({"type":"dict","dictId": bad}));
            let Control::Dict(d) = c else { panic!("{c:?}") };
            assert_eq!(d.dict_id, 0);
        }
    }

    #[test]
    fn b8_examples() {
        assert_eq!(
            control(json!({"type":"resume_complete","serverEpoch":"e"})),
            Control::ResumeComplete(ResumeComplete {
                server_epoch: Some("e".into()),
                extra: Map::new(),
                raw: r#"{"type":"resume_complete","serverEpoch":"e"}"#.into(),
            })
        );
        let c = control(
            json!({"type":"snapshot_required","reason":"resume_window_exceeded","channels":["scores"],"serverEpoch":"e","resumeWindowMs":60000,"serverEntryIds":{"scores":"1766418738000-220"}}),
        );
        let Control::SnapshotRequired(s) = c else {
            panic!("{c:?}")
        };
        assert_eq!(s.reason.as_deref(), Some("resume_window_exceeded"));
        assert_eq!(s.channels, Some(vec!["scores".to_owned()]));
        assert_eq!(s.resume_window_ms, Some(60000));
        assert_eq!(
            s.server_entry_ids.and_then(|i| i.get("scores")),
            Some(Ok(EntryId::new(1_766_418_738_000, 220)))
        );
        assert_eq!(
            control(json!({"type":"reconnect","reason":"server_upgrade"})),
            Control::Reconnect(Reconnect {
                reason: Some("server_upgrade".into()),
                extra: Map::new(),
                raw: r#"{"type":"reconnect","reason":"server_upgrade"}"#.into(),
            })
        );
        assert_eq!(
            control(json!({"type":"reconnect","reason":5})),
            Control::Reconnect(Reconnect {
                reason: None,
                extra: Map::new(),
                raw: r#"{"type":"reconnect","reason":5}"#.into(),
            })
        );
    }

    #[test]
    fn control_frames_keep_unknown_fields_and_the_raw_text() {
        let frames = [
            r#"{"type":"login_ok","receiveType":"zstd","resume":{"serverEpoch":"e","future":1},"region":"eu","limits":{"rps":5}}"#,
            r#"{"type":"dict","dictId":7,"encoding":"base64","data":"AA==","region":"eu","limits":{"rps":5}}"#,
            r#"{"type":"snapshot_required","reason":"r","channels":["odds"],"region":"eu","limits":{"rps":5}}"#,
            r#"{"type":"resume_complete","serverEpoch":"e","region":"eu","limits":{"rps":5}}"#,
            r#"{"type":"reconnect","reason":"server_upgrade","region":"eu","limits":{"rps":5}}"#,
        ];
        let want: Map<String, Value> =
            serde_json::from_str(r#"{"region":"eu","limits":{"rps":5}}"#).unwrap();
        for frame in frames {
            for parsed in [
                crate::ws::parse_ws_json(frame.as_bytes()),
                crate::ws::parse_ws_fast(&mut frame.as_bytes().to_vec()),
                crate::ws::parse_ws_msgpack(
                    &rmp_serde::to_vec_named(&serde_json::from_str::<Value>(frame).unwrap())
                        .unwrap(),
                ),
            ] {
                let Ok(super::super::WsMessage::Control(c)) = parsed else {
                    panic!("{frame}: {parsed:?}")
                };
                let (extra, raw) = match &c {
                    Control::LoginOk(f) => (&f.extra, &f.raw),
                    Control::Dict(f) => (&f.extra, &f.raw),
                    Control::SnapshotRequired(f) => (&f.extra, &f.raw),
                    Control::ResumeComplete(f) => (&f.extra, &f.raw),
                    Control::Reconnect(f) => (&f.extra, &f.raw),
                    other => panic!("{other:?}"),
                };
                assert_eq!(extra, &want, "{frame}");
                assert_eq!(raw, frame);
            }
        }
        // The dictionary's base64 is in `raw` but Debug shows only lengths.
        let c = control(json!({"type":"dict","dictId":7,"data":"QUFBQUFBQUFBQUFB"}));
        assert!(!format!("{c:?}").contains("QUFB"), "{c:?}");
    }

    #[test]
    fn kinds() {
        for kind in CONTROL_TYPES {
            assert!(is_control_type(kind));
            assert_eq!(Control::from_object(kind, Map::new()).kind(), kind);
        }
        assert!(!is_control_type("login"));
        assert_eq!(Control::from_object("pong", Map::new()).kind(), "unknown");
    }
}
