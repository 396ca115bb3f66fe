//! The resume cursor persisted between runs (the CLI's `--state` file).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry_id::EntryId;
use crate::error::ModelError;

/// What a client must remember to resume a WebSocket session after a restart:
/// the server's epoch and the last entry id delivered per channel (docs/PROTOCOL.md B.9).
///
/// Serialised as `{"serverEpoch":"...","lastSeenId":{"scores":"1766418736962-198"}}`, the
/// `--state` file format of docs/CLI.md. It never holds the API key. Both fields are optional
/// when reading, so an empty object is a valid (empty) state.
///
/// ```
/// use oddsfeed_model::{EntryId, ResumeState};
/// let mut state = ResumeState::default();
/// state.server_epoch = Some("e1".into());
/// assert!(state.advance("scores", EntryId::new(10, 1)));
/// assert!(!state.advance("scores", EntryId::new(9, 99)));
/// assert_eq!(state.to_json(), r#"{"serverEpoch":"e1","lastSeenId":{"scores":"10-1"}}"#);
/// assert_eq!(ResumeState::from_json(&state.to_json())?, state);
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeState {
    /// The `serverEpoch` the cursors belong to; `None` before the first `login_ok`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_epoch: Option<String>,
    /// The last entry id delivered, per channel.
    #[serde(default)]
    pub last_seen_id: BTreeMap<String, EntryId>,
}

impl ResumeState {
    /// Reads a state file's contents.
    ///
    /// # Errors
    /// [`ModelError::BadJson`] if the text is not JSON of this shape (including a bad
    /// entry id).
    pub fn from_json(text: &str) -> Result<Self, ModelError> {
        serde_json::from_str(text).map_err(|e| ModelError::bad_json(e.to_string(), text.as_bytes()))
    }

    /// The compact JSON form written to the state file.
    pub fn to_json(&self) -> String {
        let mut cursors = serde_json::Map::new();
        for (channel, id) in &self.last_seen_id {
            cursors.insert(channel.clone(), serde_json::Value::String(id.to_string()));
        }
        let mut top = serde_json::Map::new();
        if let Some(epoch) = &self.server_epoch {
            top.insert(
                "serverEpoch".into(),
                serde_json::Value::String(epoch.clone()),
            );
        }
        top.insert("lastSeenId".into(), serde_json::Value::Object(cursors));
        serde_json::Value::Object(top).to_string()
    }

    /// The cursor of `channel`, if any.
    pub fn cursor(&self, channel: &str) -> Option<EntryId> {
        self.last_seen_id.get(channel).copied()
    }

    /// Moves the cursor of `channel` to `id` if `id` is newer (B.9 step 1:
    /// `cursor = max(cursor, id)`). Returns whether the cursor moved.
    pub fn advance(&mut self, channel: &str, id: EntryId) -> bool {
        match self.last_seen_id.get_mut(channel) {
            Some(current) if *current >= id => false,
            Some(current) => {
                *current = id;
                true
            }
            None => {
                self.last_seen_id.insert(channel.to_owned(), id);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_cli_state_format() {
        let text = r#"{"serverEpoch":"0804ab61513c4681a3afd8afc1fb2f75","lastSeenId":{"fixtures":"1766414833582-2542","scores":"1766418736962-198"}}"#;
        let state = ResumeState::from_json(text).unwrap_or_default();
        assert_eq!(
            state.server_epoch.as_deref(),
            Some("0804ab61513c4681a3afd8afc1fb2f75")
        );
        assert_eq!(
            state.cursor("scores"),
            Some(EntryId::new(1_766_418_736_962, 198))
        );
        assert_eq!(
            state.cursor("fixtures"),
            Some(EntryId::new(1_766_414_833_582, 2542))
        );
        assert_eq!(state.to_json(), text);
        let via_serde = serde_json::to_string(&state).unwrap_or_default();
        assert_eq!(via_serde, text);
        assert_eq!(ResumeState::from_json(&via_serde), Ok(state));
    }

    #[test]
    fn empty_and_partial_states() {
        assert_eq!(ResumeState::from_json("{}"), Ok(ResumeState::default()));
        assert_eq!(ResumeState::default().to_json(), r#"{"lastSeenId":{}}"#);
        let only_epoch = ResumeState::from_json(r#"{"serverEpoch":"x"}"#).unwrap_or_default();
        assert_eq!(only_epoch.server_epoch.as_deref(), Some("x"));
        assert!(only_epoch.last_seen_id.is_empty());
    }

    #[test]
    fn bad_state_file_is_bad_json() {
        let err = ResumeState::from_json(r#"{"lastSeenId":{"scores":"oops"}}"#);
        assert_eq!(err.as_ref().map_err(ModelError::reason), Err("bad_json"));
        let err = ResumeState::from_json("not json");
        assert_eq!(err.as_ref().map_err(ModelError::reason), Err("bad_json"));
    }

    #[test]
    fn advance_keeps_the_maximum() {
        let mut state = ResumeState::default();
        assert!(state.advance("odds", EntryId::new(999, 5)));
        assert!(state.advance("odds", EntryId::new(1000, 1)));
        assert!(!state.advance("odds", EntryId::new(1000, 1)));
        assert!(!state.advance("odds", EntryId::new(999, 9)));
        assert_eq!(state.cursor("odds"), Some(EntryId::new(1000, 1)));
    }

    #[test]
    fn never_mentions_an_api_key() {
        let state = ResumeState::from_json(r#"{"serverEpoch":"e","lastSeenId":{},"apiKey":"k"}"#)
            .unwrap_or_default();
        assert!(!state.to_json().contains("apiKey"));
        assert!(!state.to_json().contains('k'));
    }
}
