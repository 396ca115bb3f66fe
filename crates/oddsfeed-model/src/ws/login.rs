//! The client's only message on the WebSocket feed (docs/PROTOCOL.md B.3) and the receive
//! types it negotiates.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::api_key::ApiKey;
use crate::entry_id::EntryId;
use crate::error::{ModelError, cap_raw};
use crate::resume::ResumeState;

/// How the server encodes data frames (`receiveType`, docs/PROTOCOL.md B.3/B.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReceiveType {
    /// Plain JSON text frames (the protocol default).
    Json,
    /// MessagePack maps in binary frames.
    Binary,
    /// One dictless zstd frame per binary frame.
    Zstd,
    /// One zstd frame per binary frame, compressed with a dictionary sent in `dict` frames.
    ZstdDict,
}

impl ReceiveType {
    /// All four receive types, in protocol order.
    pub const ALL: [ReceiveType; 4] = [Self::Json, Self::Binary, Self::Zstd, Self::ZstdDict];

    /// The wire name: `json`, `binary`, `zstd` or `zstd-dict`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Binary => "binary",
            Self::Zstd => "zstd",
            Self::ZstdDict => "zstd-dict",
        }
    }
}

impl fmt::Display for ReceiveType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReceiveType {
    type Err = ModelError;

    /// Accepts exactly the four wire names; anything else is
    /// [`ModelError::UnknownReceiveType`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str() == text)
            .ok_or_else(|| ModelError::UnknownReceiveType {
                raw: cap_raw(text.as_bytes()),
            })
    }
}

impl Serialize for ReceiveType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ReceiveType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The `login` frame (docs/PROTOCOL.md B.3).
///
/// [`Login::to_wire_json`] writes exactly the B.3 shape, in B.3 key order, leaving out every
/// optional field that is `None`; it carries the real API key because the server needs it, and
/// it is the only way to turn a login into text with the key (there is no `Serialize`).
/// `Debug` shows `***` for the key, and [`Login::redacted_json`] gives a loggable form.
///
/// `Deserialize` (for the simulator) requires `"type":"login"` and an `apiKey`; an unknown
/// `receiveType` reads as `None`, which the protocol treats as `json`.
///
/// ```
/// use oddsfeed_model::{ApiKey, ReceiveType, ws::Login};
/// let mut login = Login::new(ApiKey::new("KEY"));
/// login.channels = Some(vec!["odds".into(), "scores".into()]);
/// login.receive_type = Some(ReceiveType::ZstdDict);
/// assert_eq!(
///     login.to_wire_json(),
///     r#"{"type":"login","apiKey":"KEY","channels":["odds","scores"],"receiveType":"zstd-dict"}"#
/// );
/// assert!(!format!("{login:?}").contains("KEY"));
/// assert!(login.redacted_json().contains(r#""apiKey":"***""#));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// `apiKey`: the account's key.
    pub api_key: ApiKey,
    /// `channels`; `None` asks for every permitted channel.
    pub channels: Option<Vec<String>>,
    /// `receiveType`; `None` means the protocol default (`json`).
    pub receive_type: Option<ReceiveType>,
    /// `sportIds` filter.
    pub sport_ids: Option<Vec<u64>>,
    /// `tournamentIds` filter.
    pub tournament_ids: Option<Vec<u64>>,
    /// `fixtureIds` filter (opaque strings).
    pub fixture_ids: Option<Vec<String>>,
    /// `futureIds` filter (opaque strings).
    pub future_ids: Option<Vec<String>>,
    /// `bookmakers` filter.
    pub bookmakers: Option<Vec<String>>,
    /// `lang` (server default `en`).
    pub lang: Option<String>,
    /// `clientName`, informational.
    pub client_name: Option<String>,
    /// `pregame`: `false` excludes pre-match data.
    pub pregame: Option<bool>,
    /// `live`: `false` excludes live data.
    pub live: Option<bool>,
    /// `serverEpoch` of the session being resumed (sent together with `last_seen_id`).
    pub server_epoch: Option<String>,
    /// `lastSeenId`: the resume cursor per channel.
    pub last_seen_id: Option<BTreeMap<String, EntryId>>,
}

impl Login {
    /// A login with only the key set: all permitted channels, `json` mode, no filters, no
    /// resume.
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            channels: None,
            receive_type: None,
            sport_ids: None,
            tournament_ids: None,
            fixture_ids: None,
            future_ids: None,
            bookmakers: None,
            lang: None,
            client_name: None,
            pregame: None,
            live: None,
            server_epoch: None,
            last_seen_id: None,
        }
    }

    /// Sets `serverEpoch` and `lastSeenId` from a resume state, keeping only the cursors of
    /// `channels` when given (B.9 step 3). Both stay unset unless the state has an epoch and
    /// at least one cursor survives: the protocol wants both or neither.
    pub fn with_resume(mut self, state: &ResumeState, channels: Option<&[String]>) -> Self {
        let cursors: BTreeMap<String, EntryId> = state
            .last_seen_id
            .iter()
            .filter(|(channel, _)| channels.is_none_or(|keep| keep.contains(channel)))
            .map(|(channel, id)| (channel.clone(), *id))
            .collect();
        match &state.server_epoch {
            Some(epoch) if !cursors.is_empty() => {
                self.server_epoch = Some(epoch.clone());
                self.last_seen_id = Some(cursors);
            }
            _ => {
                self.server_epoch = None;
                self.last_seen_id = None;
            }
        }
        self
    }

    /// The login as a JSON value, with `api_key` as the key's text.
    fn to_value_with_key(&self, api_key: &str) -> Value {
        fn strings(list: &[String]) -> Value {
            Value::Array(list.iter().cloned().map(Value::String).collect())
        }
        fn numbers(list: &[u64]) -> Value {
            Value::Array(list.iter().map(|n| Value::from(*n)).collect())
        }
        let mut map = Map::new();
        map.insert("type".into(), Value::from("login"));
        map.insert("apiKey".into(), Value::from(api_key));
        if let Some(v) = &self.channels {
            map.insert("channels".into(), strings(v));
        }
        if let Some(v) = self.receive_type {
            map.insert("receiveType".into(), Value::from(v.as_str()));
        }
        if let Some(v) = &self.sport_ids {
            map.insert("sportIds".into(), numbers(v));
        }
        if let Some(v) = &self.tournament_ids {
            map.insert("tournamentIds".into(), numbers(v));
        }
        if let Some(v) = &self.fixture_ids {
            map.insert("fixtureIds".into(), strings(v));
        }
        if let Some(v) = &self.future_ids {
            map.insert("futureIds".into(), strings(v));
        }
        if let Some(v) = &self.bookmakers {
            map.insert("bookmakers".into(), strings(v));
        }
        if let Some(v) = &self.lang {
            map.insert("lang".into(), Value::from(v.as_str()));
        }
        if let Some(v) = &self.client_name {
            map.insert("clientName".into(), Value::from(v.as_str()));
        }
        if let Some(v) = self.pregame {
            map.insert("pregame".into(), Value::Bool(v));
        }
        if let Some(v) = self.live {
            map.insert("live".into(), Value::Bool(v));
        }
        if let Some(v) = &self.server_epoch {
            map.insert("serverEpoch".into(), Value::from(v.as_str()));
        }
        if let Some(v) = &self.last_seen_id {
            let cursors = v
                .iter()
                .map(|(channel, id)| (channel.clone(), Value::String(id.to_string())))
                .collect();
            map.insert("lastSeenId".into(), Value::Object(cursors));
        }
        Value::Object(map)
    }

    /// The compact JSON text to send, **with the real key**: the one place the key leaves
    /// [`ApiKey`]. Call it only to write the login frame to the socket; log
    /// [`redacted_json`](Self::redacted_json) instead.
    pub fn to_wire_json(&self) -> String {
        self.to_value_with_key(self.api_key.expose()).to_string()
    }

    /// The compact JSON text with the key replaced by `***`, safe to log.
    pub fn redacted_json(&self) -> String {
        self.to_value_with_key("***").to_string()
    }
}

/// The wire form `Login` reads from.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LoginWire {
    #[serde(rename = "type")]
    kind: String,
    api_key: ApiKey,
    channels: Option<Vec<String>>,
    receive_type: Option<String>,
    sport_ids: Option<Vec<u64>>,
    tournament_ids: Option<Vec<u64>>,
    fixture_ids: Option<Vec<String>>,
    future_ids: Option<Vec<String>>,
    bookmakers: Option<Vec<String>>,
    lang: Option<String>,
    client_name: Option<String>,
    pregame: Option<bool>,
    live: Option<bool>,
    server_epoch: Option<String>,
    last_seen_id: Option<BTreeMap<String, EntryId>>,
}

impl<'de> Deserialize<'de> for Login {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = LoginWire::deserialize(deserializer)?;
        if wire.kind != "login" {
            return Err(serde::de::Error::custom(format_args!(
                "expected \"type\":\"login\", found {:?}",
                wire.kind
            )));
        }
        Ok(Self {
            api_key: wire.api_key,
            channels: wire.channels,
            receive_type: wire.receive_type.and_then(|t| t.parse().ok()),
            sport_ids: wire.sport_ids,
            tournament_ids: wire.tournament_ids,
            fixture_ids: wire.fixture_ids,
            future_ids: wire.future_ids,
            bookmakers: wire.bookmakers,
            lang: wire.lang,
            client_name: wire.client_name,
            pregame: wire.pregame,
            live: wire.live,
            server_epoch: wire.server_epoch,
            last_seen_id: wire.last_seen_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B3: &str = r#"{"type":"login","apiKey":"KEY","channels":["odds","fixtures","scores"],"receiveType":"zstd-dict","sportIds":[10,11],"tournamentIds":[35430],"fixtureIds":["id1103543066138356"],"bookmakers":["stake"],"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","lastSeenId":{"scores":"1766418736962-198"}}"#;

    fn b3_login() -> Login {
        let mut login = Login::new(ApiKey::new("KEY"));
        login.channels = Some(vec!["odds".into(), "fixtures".into(), "scores".into()]);
        login.receive_type = Some(ReceiveType::ZstdDict);
        login.sport_ids = Some(vec![10, 11]);
        login.tournament_ids = Some(vec![35430]);
        login.fixture_ids = Some(vec!["id1103543066138356".into()]);
        login.bookmakers = Some(vec!["stake".into()]);
        login.server_epoch = Some("0804ab61513c4681a3afd8afc1fb2f75".into());
        login.last_seen_id = Some(BTreeMap::from([(
            "scores".to_owned(),
            EntryId::new(1_766_418_736_962, 198),
        )]));
        login
    }

    #[test]
    fn serializes_exactly_the_b3_shape() {
        let login = b3_login();
        assert_eq!(login.to_wire_json(), B3);
    }

    #[test]
    fn minimal_login_skips_every_optional_field() {
        let login = Login::new(ApiKey::new("k"));
        assert_eq!(login.to_wire_json(), r#"{"type":"login","apiKey":"k"}"#);
    }

    #[test]
    fn all_optional_fields_in_order() {
        let mut login = Login::new(ApiKey::new("k"));
        login.future_ids = Some(vec!["f1".into()]);
        login.lang = Some("de".into());
        login.client_name = Some("oddsfeed".into());
        login.pregame = Some(false);
        login.live = Some(true);
        assert_eq!(
            login.to_wire_json(),
            r#"{"type":"login","apiKey":"k","futureIds":["f1"],"lang":"de","clientName":"oddsfeed","pregame":false,"live":true}"#
        );
    }

    #[test]
    fn debug_and_redacted_form_hide_the_key() {
        let mut login = b3_login();
        login.api_key = ApiKey::new("super-secret-key");
        let debug = format!("{login:?} {login:#?}");
        assert!(!debug.contains("super-secret-key"));
        assert!(debug.contains("***"));
        let redacted = login.redacted_json();
        assert!(!redacted.contains("super-secret-key"));
        assert!(redacted.starts_with(r#"{"type":"login","apiKey":"***","channels""#));
    }

    #[test]
    fn deserializes_the_b3_example() {
        let login: Login = serde_json::from_str(B3).unwrap();
        assert_eq!(login, b3_login());
    }

    #[test]
    fn deserialize_requires_login_type_and_tolerates_unknown_mode() {
        let err = serde_json::from_str::<Login>(r#"{"type":"logout","apiKey":"k"}"#)
            .map_err(|e| e.to_string());
        assert!(err.unwrap_err().contains("expected \"type\":\"login\""));
        let err = serde_json::from_str::<Login>(r#"{"type":"login"}"#).map_err(|e| e.to_string());
        assert!(err.unwrap_err().contains("missing field `apiKey`"));
        let login: Login =
            serde_json::from_str(r#"{"type":"login","apiKey":"k","receiveType":"gzip"}"#).unwrap();
        assert_eq!(login.receive_type, None);
    }

    #[test]
    fn with_resume_sends_both_or_neither() {
        let mut state = ResumeState::default();
        state
            .last_seen_id
            .insert("scores".into(), EntryId::new(5, 1));
        state.last_seen_id.insert("odds".into(), EntryId::new(6, 2));
        let login = Login::new(ApiKey::new("k")).with_resume(&state, None);
        assert_eq!(login.server_epoch, None);
        assert_eq!(login.last_seen_id, None);

        state.server_epoch = Some("e".into());
        let all = Login::new(ApiKey::new("k")).with_resume(&state, None);
        assert_eq!(
            all.to_wire_json(),
            r#"{"type":"login","apiKey":"k","serverEpoch":"e","lastSeenId":{"odds":"6-2","scores":"5-1"}}"#
        );
        let replay = ["scores".to_owned(), "fixtures".to_owned()];
        let some = Login::new(ApiKey::new("k")).with_resume(&state, Some(&replay));
        assert_eq!(
            some.to_wire_json(),
            r#"{"type":"login","apiKey":"k","serverEpoch":"e","lastSeenId":{"scores":"5-1"}}"#
        );
        let none = Login::new(ApiKey::new("k")).with_resume(&state, Some(&[]));
        assert_eq!(none.to_wire_json(), r#"{"type":"login","apiKey":"k"}"#);
    }

    #[test]
    fn receive_type_names() {
        let names: Vec<&str> = ReceiveType::ALL.iter().map(|m| m.as_str()).collect();
        assert_eq!(names, ["json", "binary", "zstd", "zstd-dict"]);
        for mode in ReceiveType::ALL {
            assert_eq!(mode.as_str().parse::<ReceiveType>(), Ok(mode));
            assert_eq!(mode.to_string(), mode.as_str());
            let json = serde_json::to_string(&mode).unwrap();
            assert_eq!(json, format!("\"{}\"", mode.as_str()));
            assert_eq!(serde_json::from_str::<ReceiveType>(&json).unwrap(), mode);
        }
        assert_eq!(
            "ZSTD".parse::<ReceiveType>(),
            Err(ModelError::UnknownReceiveType {
                raw: b"ZSTD".to_vec()
            })
        );
        assert_eq!(
            "zstd_dict".parse::<ReceiveType>(),
            Err(ModelError::UnknownReceiveType {
                raw: b"zstd_dict".to_vec()
            })
        );
    }
}
