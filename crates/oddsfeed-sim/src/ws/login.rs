//! Reading the client's `login` (docs/PROTOCOL.md B.3) and writing the server's
//! control frames (B.4, B.8, B.11). Sans-IO: text in, text out.

use oddsfeed_wire::ws::CloseCode;
use serde_json::{Map, Value, json};

use super::channels::ChannelSet;
use super::log::{
    EntryId, LoginPlan, ResumeRequest, SnapshotReason, format_entry_id, parse_entry_id,
};
use crate::encode::SimReceiveType;

/// The receive type the server answers a requested `receiveType` with:
/// unknown or missing → `json`; with `no_zstd`, `zstd`/`zstd-dict` → `json`.
pub(crate) fn negotiate(requested: Option<&str>, no_zstd: bool) -> SimReceiveType {
    match requested {
        Some("binary") => SimReceiveType::Binary,
        Some("zstd") if !no_zstd => SimReceiveType::Zstd,
        Some("zstd-dict") if !no_zstd => SimReceiveType::ZstdDict,
        _ => SimReceiveType::Json,
    }
}

/// A login that passed validation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Login {
    /// The API key (never logged).
    pub api_key: String,
    /// Served channels in request order (canonical order when omitted).
    pub channels: Vec<&'static str>,
    /// The negotiated mode.
    pub mode: SimReceiveType,
    /// The resume request, when both `serverEpoch` and `lastSeenId` came.
    pub resume: Option<ResumeRequest>,
}

impl Login {
    /// The served channels as a set.
    pub(crate) fn channel_set(&self) -> ChannelSet {
        ChannelSet::from_names(self.channels.iter().copied())
    }
}

/// Why a first message is refused, with the error frame and close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a JSON object with `"type":"login"`.
    NotLogin,
    /// Missing, empty or wrong `apiKey`.
    BadKey,
    /// No requested channel is produced.
    NoChannel,
    /// No login in time.
    Timeout,
    /// Too many connections for the key.
    TooManyConnections,
}

impl Refusal {
    /// The error frame's `code`.
    pub(crate) fn code(self) -> &'static str {
        match self {
            Refusal::NotLogin => "first_message_must_be_login",
            Refusal::BadKey | Refusal::NoChannel => "login_failed",
            Refusal::Timeout => "login_timeout",
            Refusal::TooManyConnections => "too_many_connections",
        }
    }

    /// The error frame's `message`.
    pub(crate) fn message(self) -> &'static str {
        match self {
            Refusal::NotLogin => "the first message must be a login",
            Refusal::BadKey => "invalid apiKey",
            Refusal::NoChannel => "no permitted channel requested",
            Refusal::Timeout => "no login received in time",
            Refusal::TooManyConnections => "too many connections for this apiKey",
        }
    }

    /// The WebSocket close code that follows the error frame (docs/PROTOCOL.md B.11).
    pub(crate) fn close_code(self) -> CloseCode {
        match self {
            Refusal::NotLogin | Refusal::BadKey | Refusal::NoChannel => CloseCode::PolicyViolation,
            Refusal::Timeout => CloseCode::LoginTimeout,
            Refusal::TooManyConnections => CloseCode::TooManyConnections,
        }
    }

    /// The error control frame.
    pub(crate) fn frame(self) -> String {
        error_frame(self.code(), self.message())
    }
}

/// `{"type":"error","code":..,"message":..}`.
pub(crate) fn error_frame(code: &str, message: &str) -> String {
    json!({"type": "error", "code": code, "message": message}).to_string()
}

/// Reads a first message.
///
/// `expected_key` = `None` accepts any non-empty key. `produced` is the set of
/// channels the simulator makes. Filters (`sportIds`, `bookmakers`, ...),
/// `lang`, `clientName`, `pregame`, `live` and `dicts` are accepted and
/// ignored. A `channels` value that is not an array of strings counts as
/// naming no channel. `lastSeenId` entries for unknown channels or with a
/// malformed entryId are dropped; resume needs both `serverEpoch` (a string)
/// and `lastSeenId` (an object).
pub(crate) fn parse_login(
    text: &str,
    expected_key: Option<&str>,
    produced: ChannelSet,
    no_zstd: bool,
) -> Result<Login, Refusal> {
    let value: Value = serde_json::from_str(text).map_err(|_| Refusal::NotLogin)?;
    let Value::Object(obj) = value else {
        return Err(Refusal::NotLogin);
    };
    if obj.get("type").and_then(Value::as_str) != Some("login") {
        return Err(Refusal::NotLogin);
    }
    let api_key = match obj.get("apiKey").and_then(Value::as_str) {
        Some(k) if !k.is_empty() && expected_key.is_none_or(|e| e == k) => k.to_owned(),
        _ => return Err(Refusal::BadKey),
    };
    let channels = match obj.get("channels") {
        None | Some(Value::Null) => produced.names(),
        Some(Value::Array(items)) => {
            let mut seen = ChannelSet::default();
            items
                .iter()
                .filter_map(Value::as_str)
                .filter_map(ChannelSet::canonical)
                .filter(|c| produced.contains(c) && seen.insert(c))
                .collect()
        }
        Some(_) => Vec::new(),
    };
    if channels.is_empty() {
        return Err(Refusal::NoChannel);
    }
    let mode = negotiate(obj.get("receiveType").and_then(Value::as_str), no_zstd);
    let resume = match (obj.get("serverEpoch"), obj.get("lastSeenId")) {
        (Some(Value::String(epoch)), Some(Value::Object(cursors))) => Some(ResumeRequest {
            epoch: epoch.clone(),
            cursors: cursors
                .iter()
                .filter_map(|(ch, id)| {
                    Some((ChannelSet::canonical(ch)?, parse_entry_id(id.as_str()?)?))
                })
                .collect(),
        }),
        _ => None,
    };
    Ok(Login {
        api_key,
        channels,
        mode,
        resume,
    })
}

fn entry_ids(ids: &[(&'static str, EntryId)]) -> Value {
    let map: Map<String, Value> = ids
        .iter()
        .map(|(ch, id)| ((*ch).to_owned(), Value::String(format_entry_id(*id))))
        .collect();
    Value::Object(map)
}

/// The full `login_ok` of docs/PROTOCOL.md B.4.
pub(crate) fn login_ok_frame(login: &Login, plan: &LoginPlan, window_ms: u64) -> String {
    json!({
        "type": "login_ok",
        "receiveType": login.mode.as_str(),
        "channels": login.channels,
        "access": {"live": true, "pregame": true},
        "resume": {
            "serverEpoch": plan.epoch,
            "resumeWindowMs": window_ms,
            "replayChannels": plan.replay_channels,
            "serverEntryIds": entry_ids(&plan.server_entry_ids),
        },
    })
    .to_string()
}

/// A `snapshot_required` frame (docs/PROTOCOL.md B.8); `serverEntryIds` covers the
/// listed channels that have produced anything.
pub(crate) fn snapshot_frame(
    reason: SnapshotReason,
    channels: &[&'static str],
    plan: &LoginPlan,
    window_ms: u64,
) -> String {
    let ids: Vec<(&'static str, EntryId)> = plan
        .server_entry_ids
        .iter()
        .filter(|(ch, _)| channels.contains(ch))
        .copied()
        .collect();
    json!({
        "type": "snapshot_required",
        "reason": reason.as_str(),
        "channels": channels,
        "serverEpoch": plan.epoch,
        "resumeWindowMs": window_ms,
        "serverEntryIds": entry_ids(&ids),
    })
    .to_string()
}

/// `{"type":"resume_complete","serverEpoch":..}`.
pub(crate) fn resume_complete_frame(epoch: &str) -> String {
    json!({"type": "resume_complete", "serverEpoch": epoch}).to_string()
}

/// `{"type":"reconnect","reason":"server_upgrade"}`.
pub(crate) fn reconnect_frame() -> String {
    json!({"type": "reconnect", "reason": "server_upgrade"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> ChannelSet {
        ChannelSet::from_names(super::super::channels::PRODUCED_CHANNELS)
    }

    #[test]
    fn full_login_is_read() {
        let text = r#"{"type":"login","apiKey":"KEY","channels":["odds","futures","scores","odds"],
            "receiveType":"zstd-dict","sportIds":[10],"bookmakers":["stake"],
            "serverEpoch":"abc","lastSeenId":{"scores":"1766418736962-198","stats":"1-1","odds":"bad"}}"#;
        let login = parse_login(text, None, all(), false).unwrap();
        assert_eq!(login.api_key, "KEY");
        assert_eq!(login.channels, ["odds", "scores"]);
        assert_eq!(login.mode, SimReceiveType::ZstdDict);
        assert_eq!(
            login.resume,
            Some(ResumeRequest {
                epoch: "abc".into(),
                cursors: vec![("scores", (1766418736962, 198))],
            })
        );
    }

    #[test]
    fn defaults_and_downgrades() {
        let login = parse_login(r#"{"type":"login","apiKey":"k"}"#, None, all(), false).unwrap();
        assert_eq!(
            login.channels,
            ["odds", "fixtures", "bookmakers", "scores", "clocks"]
        );
        assert_eq!(login.mode, SimReceiveType::Json);
        assert_eq!(login.resume, None);
        let text = r#"{"type":"login","apiKey":"k","receiveType":"zstd","serverEpoch":"e"}"#;
        let login = parse_login(text, None, all(), true).unwrap();
        assert_eq!(login.mode, SimReceiveType::Json);
        assert_eq!(
            login.resume, None,
            "epoch without lastSeenId does not resume"
        );
        assert_eq!(negotiate(Some("gzip"), false), SimReceiveType::Json);
        assert_eq!(negotiate(Some("binary"), true), SimReceiveType::Binary);
        assert_eq!(negotiate(Some("zstd-dict"), true), SimReceiveType::Json);
        assert_eq!(negotiate(Some("zstd"), false), SimReceiveType::Zstd);
    }

    #[test]
    fn refusals() {
        let p = |t: &str| parse_login(t, Some("good"), all(), false);
        assert_eq!(p("not json"), Err(Refusal::NotLogin));
        assert_eq!(p("[1]"), Err(Refusal::NotLogin));
        assert_eq!(
            p(r#"{"type":"subscribe","apiKey":"good"}"#),
            Err(Refusal::NotLogin)
        );
        assert_eq!(p(r#"{"type":"login"}"#), Err(Refusal::BadKey));
        assert_eq!(p(r#"{"type":"login","apiKey":""}"#), Err(Refusal::BadKey));
        assert_eq!(
            p(r#"{"type":"login","apiKey":"bad"}"#),
            Err(Refusal::BadKey)
        );
        assert_eq!(
            p(r#"{"type":"login","apiKey":"good","channels":["stats"]}"#),
            Err(Refusal::NoChannel)
        );
        assert_eq!(
            p(r#"{"type":"login","apiKey":"good","channels":"odds"}"#),
            Err(Refusal::NoChannel)
        );
        let only_odds = ChannelSet::from_names(["odds"]);
        assert_eq!(
            parse_login(
                r#"{"type":"login","apiKey":"k","channels":["scores"]}"#,
                None,
                only_odds,
                false
            ),
            Err(Refusal::NoChannel)
        );
        assert_eq!(
            Refusal::BadKey.frame(),
            r#"{"type":"error","code":"login_failed","message":"invalid apiKey"}"#
        );
        assert_eq!(Refusal::Timeout.close_code().as_u16(), 4001);
        assert_eq!(Refusal::TooManyConnections.close_code().as_u16(), 4003);
        assert_eq!(Refusal::NotLogin.close_code().as_u16(), 1008);
        assert_eq!(Refusal::NotLogin.code(), "first_message_must_be_login");
    }

    #[test]
    fn control_frames_have_the_documented_shape() {
        let login = Login {
            api_key: "k".into(),
            channels: vec!["odds", "fixtures", "scores"],
            mode: SimReceiveType::ZstdDict,
            resume: None,
        };
        let plan = LoginPlan {
            epoch: "0804ab61513c4681a3afd8afc1fb2f75".into(),
            position: 1,
            replay_channels: vec!["fixtures", "scores"],
            server_entry_ids: vec![
                ("fixtures", (1766414833582, 2542)),
                ("scores", (1766418736962, 198)),
            ],
            snapshots_before: Vec::new(),
            replay: Vec::new(),
            backpressured: Vec::new(),
            resume_complete: false,
        };
        assert_eq!(
            login_ok_frame(&login, &plan, 60000),
            r#"{"type":"login_ok","receiveType":"zstd-dict","channels":["odds","fixtures","scores"],"access":{"live":true,"pregame":true},"resume":{"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","resumeWindowMs":60000,"replayChannels":["fixtures","scores"],"serverEntryIds":{"fixtures":"1766414833582-2542","scores":"1766418736962-198"}}}"#
        );
        assert_eq!(
            snapshot_frame(
                SnapshotReason::ResumeWindowExceeded,
                &["scores"],
                &plan,
                60000
            ),
            r#"{"type":"snapshot_required","reason":"resume_window_exceeded","channels":["scores"],"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","resumeWindowMs":60000,"serverEntryIds":{"scores":"1766418736962-198"}}"#
        );
        assert_eq!(
            resume_complete_frame("e"),
            r#"{"type":"resume_complete","serverEpoch":"e"}"#
        );
        assert_eq!(
            reconnect_frame(),
            r#"{"type":"reconnect","reason":"server_upgrade"}"#
        );
    }
}
