//! Resume cursors: the last entryId per channel, kept twice (delivered and consumed), plus the epoch.

use std::collections::BTreeMap;

use oddsfeed_model::{EntryId, ResumeState};

/// The cursors of one session (docs/PROTOCOL.md B.9).
///
/// * `delivered[ch]`: the highest entryId handed to the application as an event. It drives dedupe
///   (step 2) and the `lastSeenId` of an in-process resume login (step 3).
/// * `consumed[ch]`: the highest entryId the application said it has taken
///   ([`WsSession::handle_consumed`](super::WsSession::handle_consumed)). This is what a state file
///   persists, so a process stopped between delivery and consumption replays the message instead of
///   skipping it.
///
/// Both compare [`EntryId`]s numerically and only move forward, except when the protocol says to
/// clear them (new epoch, `snapshot_required`, a server behind the cursor).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cursors {
    epoch: Option<String>,
    delivered: BTreeMap<String, EntryId>,
    consumed: BTreeMap<String, EntryId>,
}

impl Cursors {
    /// Start from a persisted state: both maps begin at the persisted cursors.
    pub(crate) fn from_resume(state: ResumeState) -> Self {
        Self {
            epoch: state.server_epoch,
            delivered: state.last_seen_id.clone(),
            consumed: state.last_seen_id,
        }
    }

    pub(crate) fn epoch(&self) -> Option<&str> {
        self.epoch.as_deref()
    }

    pub(crate) fn set_epoch(&mut self, epoch: String) {
        self.epoch = Some(epoch);
    }

    pub(crate) fn delivered(&self) -> &BTreeMap<String, EntryId> {
        &self.delivered
    }

    #[cfg(test)]
    pub(crate) fn consumed(&self) -> &BTreeMap<String, EntryId> {
        &self.consumed
    }

    /// Whether `id` on `channel` is newer than everything delivered there (step 2: older or equal is a
    /// duplicate).
    pub(crate) fn is_new(&self, channel: &str, id: &EntryId) -> bool {
        self.delivered.get(channel).is_none_or(|cur| id > cur)
    }

    /// Record a delivery: `delivered[ch] = max(delivered[ch], id)`.
    pub(crate) fn mark_delivered(&mut self, channel: &str, id: EntryId) {
        advance(&mut self.delivered, channel, id);
    }

    /// Record a consumption: `consumed[ch] = max(consumed[ch], id)`, but never past what was delivered
    /// on that channel. Returns whether the cursor moved.
    ///
    /// The guard matters after a clear (new epoch, `snapshot_required`): a message delivered before the
    /// clear and consumed after it must not plant a stale cursor in the persisted state.
    pub(crate) fn mark_consumed(&mut self, channel: &str, id: EntryId) -> bool {
        match self.delivered.get(channel) {
            Some(delivered) if id <= *delivered => advance(&mut self.consumed, channel, id),
            _ => false,
        }
    }

    /// Forget one channel's cursors (both kinds).
    pub(crate) fn clear(&mut self, channel: &str) {
        self.delivered.remove(channel);
        self.consumed.remove(channel);
    }

    /// Forget every cursor (both kinds); the epoch stays.
    pub(crate) fn clear_all(&mut self) {
        self.delivered.clear();
        self.consumed.clear();
    }

    /// What a state file persists: the epoch and the consumed cursors.
    pub(crate) fn resume_state(&self) -> ResumeState {
        ResumeState {
            server_epoch: self.epoch.clone(),
            last_seen_id: self.consumed.clone(),
        }
    }
}

fn advance(map: &mut BTreeMap<String, EntryId>, channel: &str, id: EntryId) -> bool {
    match map.get_mut(channel) {
        Some(cur) if *cur >= id => false,
        Some(cur) => {
            *cur = id;
            true
        }
        None => {
            map.insert(channel.to_owned(), id);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> EntryId {
        s.parse().unwrap_or_else(|_| panic!("test entry id {s}"))
    }

    fn state(epoch: Option<&str>, cursors: &[(&str, &str)]) -> ResumeState {
        ResumeState {
            server_epoch: epoch.map(str::to_owned),
            last_seen_id: cursors
                .iter()
                .map(|(ch, e)| ((*ch).to_owned(), id(e)))
                .collect(),
        }
    }

    #[test]
    fn comparison_is_numeric_not_textual() {
        let mut c = Cursors::default();
        c.mark_delivered("scores", id("999-5"));
        assert!(c.is_new("scores", &id("1000-1")));
        assert!(!c.is_new("scores", &id("999-5")));
        assert!(!c.is_new("scores", &id("999-4")));
        assert!(c.is_new("scores", &id("999-6")));
        assert!(c.is_new("odds", &id("1-1")));
    }

    #[test]
    fn delivered_only_moves_forward() {
        let mut c = Cursors::default();
        c.mark_delivered("odds", id("10-2"));
        c.mark_delivered("odds", id("10-1"));
        assert_eq!(c.delivered().get("odds"), Some(&id("10-2")));
    }

    #[test]
    fn consumed_never_passes_delivered_and_only_moves_forward() {
        let mut c = Cursors::default();
        assert!(!c.mark_consumed("odds", id("5-0")));
        c.mark_delivered("odds", id("10-0"));
        assert!(!c.mark_consumed("odds", id("11-0")));
        assert!(c.mark_consumed("odds", id("7-0")));
        assert!(!c.mark_consumed("odds", id("6-0")));
        assert!(c.mark_consumed("odds", id("10-0")));
        assert_eq!(c.consumed().get("odds"), Some(&id("10-0")));
    }

    #[test]
    fn resume_state_reports_consumed_not_delivered() {
        let mut c = Cursors::from_resume(state(Some("e1"), &[("scores", "1-1")]));
        c.mark_delivered("scores", id("3-0"));
        c.mark_consumed("scores", id("2-0"));
        assert_eq!(c.resume_state(), state(Some("e1"), &[("scores", "2-0")]));
    }

    #[test]
    fn clear_removes_both_kinds() {
        let mut c = Cursors::from_resume(state(Some("e"), &[("scores", "1-1"), ("odds", "2-2")]));
        c.clear("odds");
        assert!(c.delivered().get("odds").is_none());
        assert!(c.consumed().get("odds").is_none());
        c.clear_all();
        assert!(c.delivered().is_empty());
        assert_eq!(c.epoch(), Some("e"));
    }
}
