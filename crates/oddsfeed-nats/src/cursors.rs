//! Resume cursors in a JetStream key-value bucket (`<stream>_cursors`, key `state`).
//!
//! The value is the `--state` JSON (`{"serverEpoch":..,"lastSeenId":{..}}`). Writes never move a
//! cursor backwards: each write is a compare-and-set on the key's revision, and on a conflict
//! (another relay wrote in between) the stored value is read again and merged with ours
//! ([`merge`]) before the next attempt.

use async_nats::jetstream::{self, kv};
use bytes::Bytes;
use oddsfeed::model::ResumeState;

use crate::error::RelayError;

/// The key the state is stored under.
pub const STATE_KEY: &str = "state";

/// Attempts of one save before it gives up (each conflict re-reads the stored value).
const SAVE_ATTEMPTS: usize = 8;

/// The bucket name for a stream: `<stream>_cursors`.
#[must_use]
pub fn bucket_name(stream: &str) -> String {
    format!("{stream}_cursors")
}

/// `ours` merged with what is `stored`: never behind either.
///
/// When both name the same server epoch (or `ours` names none), each channel keeps the larger
/// entryId. When the epochs differ, `ours` wins: it is the epoch of the newest login this relay
/// saw, and the cursors of another epoch mean nothing to that server.
#[must_use]
pub fn merge(stored: &ResumeState, ours: &ResumeState) -> ResumeState {
    match (&stored.server_epoch, &ours.server_epoch) {
        (Some(a), Some(b)) if a != b => return ours.clone(),
        _ => {}
    }
    let mut merged = stored.clone();
    if ours.server_epoch.is_some() {
        merged.server_epoch.clone_from(&ours.server_epoch);
    }
    for (channel, id) in &ours.last_seen_id {
        merged.advance(channel, *id);
    }
    merged
}

/// The cursor store of one relay on one NATS connection.
#[derive(Debug)]
pub struct KvCursors {
    store: kv::Store,
    bucket: String,
    /// The revision and value last read or written; `None` before the key exists.
    stored: Option<(u64, ResumeState)>,
}

impl KvCursors {
    /// Opens the bucket for `stream`, creating it (file storage, one revision kept) when missing.
    /// Two relays creating it at once both succeed: an existing stream is used as it is.
    ///
    /// # Errors
    ///
    /// [`RelayError::Nats`] when the bucket can be neither opened nor created.
    pub async fn open(js: &jetstream::Context, stream: &str) -> Result<Self, RelayError> {
        let bucket = bucket_name(stream);
        let store = match js.get_key_value(&bucket).await {
            Ok(store) => store,
            Err(_) => {
                // The bucket's stream, made directly: `create_key_value` first asks for the
                // account info, which async-nats 0.52 cannot parse from nats-server 2.9.
                js.get_or_create_stream(jetstream::stream::Config {
                    name: format!("KV_{bucket}"),
                    description: Some("oddsfeed relay resume cursors".into()),
                    subjects: vec![format!("$KV.{bucket}.>")],
                    max_messages_per_subject: 1,
                    storage: jetstream::stream::StorageType::File,
                    allow_rollup: true,
                    deny_delete: true,
                    allow_direct: true,
                    discard: jetstream::stream::DiscardPolicy::New,
                    ..jetstream::stream::Config::default()
                })
                .await
                .map_err(|e| RelayError::nats("create the cursor bucket", e))?;
                js.get_key_value(&bucket)
                    .await
                    .map_err(|e| RelayError::nats("open the cursor bucket", e))?
            }
        };
        Ok(Self {
            store,
            bucket,
            stored: None,
        })
    }

    /// Reads the stored state (`None` when nothing was stored yet).
    ///
    /// # Errors
    ///
    /// [`RelayError::Nats`] when it cannot be read, [`RelayError::BadCursors`] when the stored
    /// value is not a resume state.
    pub async fn load(&mut self) -> Result<Option<ResumeState>, RelayError> {
        let entry = self
            .store
            .entry(STATE_KEY)
            .await
            .map_err(|e| RelayError::nats("read the cursors", e))?;
        let Some(entry) = entry else {
            self.stored = None;
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            // Deleted or purged: as good as empty, but the revision still guards the next write.
            self.stored = Some((entry.revision, ResumeState::default()));
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&entry.value);
        let state = ResumeState::from_json(&text).map_err(|e| RelayError::BadCursors {
            bucket: self.bucket.clone(),
            detail: format!("{e}: {}", text.chars().take(200).collect::<String>()),
        })?;
        self.stored = Some((entry.revision, state.clone()));
        Ok(Some(state))
    }

    /// Writes `ours` merged with the stored state ([`merge`]) by compare-and-set, re-reading and
    /// merging again on a conflict; returns what is stored afterwards. Writes nothing when the
    /// merge equals the stored value.
    ///
    /// # Errors
    ///
    /// [`RelayError::Nats`] when NATS fails or conflicts keep coming, [`RelayError::BadCursors`]
    /// when a re-read value is not a resume state.
    pub async fn save(&mut self, ours: &ResumeState) -> Result<ResumeState, RelayError> {
        let mut last_error = String::new();
        for _ in 0..SAVE_ATTEMPTS {
            let (revision, merged) = match &self.stored {
                Some((revision, stored)) => {
                    let merged = merge(stored, ours);
                    if &merged == stored {
                        return Ok(merged);
                    }
                    (*revision, merged)
                }
                None => (0, ours.clone()),
            };
            let value = Bytes::from(merged.to_json());
            match self.store.update(STATE_KEY, value, revision).await {
                Ok(new_revision) => {
                    self.stored = Some((new_revision, merged.clone()));
                    return Ok(merged);
                }
                Err(e) => {
                    last_error = e.to_string();
                    if e.kind() != kv::UpdateErrorKind::WrongLastRevision {
                        // Not known to be a conflict: look at what is stored before retrying,
                        // but give up on a failing connection.
                        if e.kind() == kv::UpdateErrorKind::TimedOut {
                            break;
                        }
                    }
                    self.load().await?;
                }
            }
        }
        Err(RelayError::Nats {
            context: "write the cursors",
            detail: last_error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed::model::EntryId;

    #[allow(clippy::field_reassign_with_default)]
    fn state(epoch: Option<&str>, cursors: &[(&str, u64)]) -> ResumeState {
        let mut s = ResumeState::default();
        s.server_epoch = epoch.map(str::to_owned);
        for (ch, seq) in cursors {
            s.advance(ch, EntryId::new(1000, *seq));
        }
        s
    }

    #[test]
    fn same_epoch_keeps_the_larger_cursor_per_channel() {
        let stored = state(Some("e"), &[("odds", 5), ("scores", 9)]);
        let ours = state(Some("e"), &[("odds", 7), ("scores", 3), ("clocks", 1)]);
        assert_eq!(
            merge(&stored, &ours),
            state(Some("e"), &[("odds", 7), ("scores", 9), ("clocks", 1)])
        );
    }

    #[test]
    fn a_new_epoch_replaces_the_old_cursors() {
        let stored = state(Some("old"), &[("odds", 50)]);
        let ours = state(Some("new"), &[("odds", 2)]);
        assert_eq!(merge(&stored, &ours), ours);
    }

    #[test]
    fn no_epoch_of_ours_keeps_the_stored_one() {
        let stored = state(Some("e"), &[("odds", 5)]);
        let ours = state(None, &[("odds", 6)]);
        assert_eq!(merge(&stored, &ours), state(Some("e"), &[("odds", 6)]));
    }

    #[test]
    fn bucket_is_named_after_the_stream() {
        assert_eq!(bucket_name("ODDSFEED"), "ODDSFEED_cursors");
    }
}
