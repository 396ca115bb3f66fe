//! The global stream log: one sequence of distinct data messages over the
//! simulator's lifetime, the live tail every connection reads from, and the
//! replay buffer resume logins are served from.
//!
//! Sans-IO: the caller passes the time and does the locking; nothing here
//! reads a clock or touches a socket.
//!
//! Every message gets a global sequence number (1-based, in production order).
//! A connection's *position* is the sequence number of the next message it has
//! not looked at yet. Two bounded queues share the messages (`Arc`, no copies):
//!
//! - the **live tail**, every channel, bounded in bytes by
//!   `outbound_queue_bytes`: a connection whose position falls off its front
//!   lagged too far (close 4002);
//! - the **replay buffer**, replay channels only, bounded by the replay window
//!   and `replay_max_entries`, read only when a login resumes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::channels::ChannelSet;

/// An entryId `(ts_ms, seq)`; compared numerically (docs/PROTOCOL.md B.7).
pub(crate) type EntryId = (u64, u64);

/// Writes an entryId as `<ts_ms>-<seq>`.
pub(crate) fn format_entry_id(id: EntryId) -> String {
    format!("{}-{}", id.0, id.1)
}

/// Reads `<ts_ms>-<seq>` (two decimal u64); anything else is `None`.
pub(crate) fn parse_entry_id(text: &str) -> Option<EntryId> {
    let (ts, seq) = text.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(ts) || !digits(seq) {
        return None;
    }
    Some((ts.parse().ok()?, seq.parse().ok()?))
}

/// One message as the payload generator hands it over.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Produced {
    /// Channel name (one of the produced channels).
    pub channel: &'static str,
    /// The message's entryId.
    pub entry_id: EntryId,
    /// The message's `ts`.
    pub ts: u64,
    /// The compact JSON envelope.
    pub json: String,
}

/// Where messages come from: the seeded payload generator, or a recording.
pub(crate) trait MessageSource: Send {
    /// The next message, stamped no earlier than `now_ms` (a generator's); `None` when the
    /// source has no more (a recording's end): the stream ends there.
    fn produce(&mut self, now_ms: u64) -> Option<Produced>;
}

/// One message of the global stream.
#[derive(Debug)]
pub(crate) struct Entry {
    /// Global sequence number, from 1.
    pub seq: u64,
    /// Channel name.
    pub channel: &'static str,
    /// entryId.
    pub entry_id: EntryId,
    /// `ts` in ms.
    pub ts: u64,
    /// The JSON envelope.
    pub json: Box<str>,
}

/// The bounds of the log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogLimits {
    /// Byte bound of the live tail.
    pub live_max_bytes: usize,
    /// Replay window in ms.
    pub replay_window_ms: u64,
    /// Entry bound of the replay buffer.
    pub replay_max_entries: usize,
    /// Total messages over the lifetime, `None` = unlimited.
    pub messages: Option<u64>,
    /// Measure the replay window on the messages' own clock (the newest `ts` appended) rather
    /// than the caller's: for a recording served faster or later than it was recorded.
    pub data_clock: bool,
}

/// What [`StreamLog::take`] found for a connection.
#[derive(Debug)]
pub(crate) enum Take {
    /// Messages for the connection, in order; may be empty when only other
    /// channels' messages were skipped (call again).
    Entries(Vec<Arc<Entry>>),
    /// At the head of a paced stream: wait for the producer.
    Wait,
    /// The stream has ended and the connection has seen all of it.
    End,
    /// The connection's position was evicted from the live tail.
    Evicted,
}

/// Why a resuming login gets `snapshot_required` for some channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SnapshotReason {
    /// The login's epoch is not the current one.
    ServerRestarted,
    /// An entry newer than the cursor was already evicted.
    ResumeWindowExceeded,
    /// The replay would pass its budget.
    ClientBackpressure,
}

impl SnapshotReason {
    /// The wire spelling.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SnapshotReason::ServerRestarted => "server_restarted",
            SnapshotReason::ResumeWindowExceeded => "resume_window_exceeded",
            SnapshotReason::ClientBackpressure => "client_backpressure",
        }
    }
}

/// The resume part of a login.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResumeRequest {
    /// The `serverEpoch` the client last saw.
    pub epoch: String,
    /// Cursors of produced channels (others already dropped), request order.
    pub cursors: Vec<(&'static str, EntryId)>,
}

/// Everything a login needs from the log, taken in one go under the lock.
#[derive(Debug)]
pub(crate) struct LoginPlan {
    /// The current `serverEpoch`.
    pub epoch: String,
    /// The connection's live position: the first message it gets live.
    pub position: u64,
    /// Served channels that are replay channels, canonical order.
    pub replay_channels: Vec<&'static str>,
    /// Latest entryId produced per replay channel of this connection.
    pub server_entry_ids: Vec<(&'static str, EntryId)>,
    /// `snapshot_required` frames to send before the replay.
    pub snapshots_before: Vec<(SnapshotReason, Vec<&'static str>)>,
    /// Entries to replay, ascending by `(ts, seq)`.
    pub replay: Vec<Arc<Entry>>,
    /// Channels whose replay was cut by the budget (`client_backpressure`
    /// after the replay).
    pub backpressured: Vec<&'static str>,
    /// Whether to send `resume_complete`.
    pub resume_complete: bool,
}

/// The global stream (see the module docs).
pub(crate) struct StreamLog<S> {
    source: S,
    limits: LogLimits,
    replay_set: ChannelSet,
    epoch: String,
    next_seq: u64,
    live: VecDeque<Arc<Entry>>,
    live_bytes: usize,
    replay: VecDeque<Arc<Entry>>,
    evicted_max: BTreeMap<&'static str, EntryId>,
    latest: BTreeMap<&'static str, EntryId>,
    per_channel: BTreeMap<&'static str, u64>,
    /// The source has no more messages.
    source_done: bool,
    /// The newest `ts` appended (the clock of `data_clock`).
    newest_ts: u64,
}

impl<S: MessageSource> StreamLog<S> {
    /// An empty log that draws from `source`.
    pub(crate) fn new(source: S, limits: LogLimits, replay_set: ChannelSet, epoch: String) -> Self {
        Self {
            source,
            limits,
            replay_set,
            epoch,
            next_seq: 1,
            live: VecDeque::new(),
            live_bytes: 0,
            replay: VecDeque::new(),
            evicted_max: BTreeMap::new(),
            latest: BTreeMap::new(),
            per_channel: BTreeMap::new(),
            source_done: false,
            newest_ts: 0,
        }
    }

    /// The current `serverEpoch`.
    #[cfg(test)]
    pub(crate) fn epoch(&self) -> &str {
        &self.epoch
    }

    /// Messages produced so far.
    pub(crate) fn produced(&self) -> u64 {
        self.next_seq - 1
    }

    /// Messages produced so far, per channel.
    pub(crate) fn per_channel(&self) -> &BTreeMap<&'static str, u64> {
        &self.per_channel
    }

    /// Entries in the replay buffer.
    #[cfg(test)]
    pub(crate) fn replay_len(&self) -> usize {
        self.replay.len()
    }

    /// Whether the `messages` limit has been reached or the source has run dry.
    pub(crate) fn exhausted(&self) -> bool {
        self.source_done || self.limits.messages.is_some_and(|n| self.next_seq > n)
    }

    /// The time the replay window is measured on: the caller's, or with `data_clock` the newest
    /// message's.
    fn window_now(&self, now_ms: u64) -> u64 {
        if self.limits.data_clock {
            self.newest_ts
        } else {
            now_ms
        }
    }

    fn live_front(&self) -> u64 {
        self.live.front().map_or(self.next_seq, |e| e.seq)
    }

    /// Produces the next message at `now_ms` and appends it, unless the stream
    /// is exhausted.
    pub(crate) fn produce(&mut self, now_ms: u64) -> Option<Arc<Entry>> {
        if self.exhausted() {
            return None;
        }
        let Some(msg) = self.source.produce(now_ms) else {
            self.source_done = true;
            return None;
        };
        self.newest_ts = self.newest_ts.max(msg.ts);
        let entry = Arc::new(Entry {
            seq: self.next_seq,
            channel: msg.channel,
            entry_id: msg.entry_id,
            ts: msg.ts,
            json: msg.json.into_boxed_str(),
        });
        self.next_seq += 1;
        self.live_bytes += entry.json.len();
        self.live.push_back(Arc::clone(&entry));
        let latest = self.latest.entry(entry.channel).or_insert(entry.entry_id);
        *latest = (*latest).max(entry.entry_id);
        *self.per_channel.entry(entry.channel).or_insert(0) += 1;
        if self.replay_set.contains(entry.channel) {
            self.replay.push_back(Arc::clone(&entry));
        }
        self.evict_live();
        self.evict_replay(self.window_now(now_ms));
        Some(entry)
    }

    /// Drops the oldest live entries while the tail is over its byte bound,
    /// always keeping the newest one.
    fn evict_live(&mut self) {
        while self.live_bytes > self.limits.live_max_bytes && self.live.len() > 1 {
            if let Some(old) = self.live.pop_front() {
                self.live_bytes -= old.json.len();
            }
        }
    }

    /// Drops replay entries older than the window or over the count bound,
    /// remembering the newest entryId dropped per channel.
    fn evict_replay(&mut self, now_ms: u64) {
        let horizon = now_ms.saturating_sub(self.limits.replay_window_ms);
        while let Some(front) = self.replay.front() {
            let too_old = front.ts < horizon;
            let too_many = self.replay.len() > self.limits.replay_max_entries;
            if !(too_old || too_many) {
                break;
            }
            if let Some(old) = self.replay.pop_front() {
                let max = self.evicted_max.entry(old.channel).or_insert(old.entry_id);
                *max = (*max).max(old.entry_id);
            }
        }
    }

    /// Collects up to `max` messages of `served` channels from `*pos` on,
    /// advancing `*pos` past everything looked at. With `generate` (unpaced
    /// mode) a connection at the head produces the next message itself.
    /// At most `4 * max + 64` messages are looked at per call.
    pub(crate) fn take(
        &mut self,
        pos: &mut u64,
        served: ChannelSet,
        max: usize,
        generate: bool,
        now_ms: u64,
    ) -> Take {
        let mut out = Vec::new();
        let scan_limit = max.saturating_mul(4).saturating_add(64);
        let mut scanned = 0usize;
        while out.len() < max && scanned < scan_limit {
            if *pos < self.live_front() {
                if out.is_empty() {
                    return Take::Evicted;
                }
                break;
            }
            let entry = if *pos < self.next_seq {
                let index = usize::try_from(*pos - self.live_front()).unwrap_or(usize::MAX);
                match self.live.get(index) {
                    Some(e) => Arc::clone(e),
                    None => break,
                }
            } else if self.exhausted() {
                if out.is_empty() && scanned == 0 {
                    return Take::End;
                }
                break;
            } else if generate {
                match self.produce(now_ms) {
                    Some(e) => e,
                    None => break,
                }
            } else {
                if out.is_empty() && scanned == 0 {
                    return Take::Wait;
                }
                break;
            };
            scanned += 1;
            *pos = entry.seq + 1;
            if served.contains(entry.channel) {
                out.push(entry);
            }
        }
        Take::Entries(out)
    }

    /// Handles a login: applies `restart_epoch`, takes `serverEntryIds` and the
    /// live position, and plans the resume (docs/PROTOCOL.md B.9 "Simulator").
    /// `replay_budget` bounds the replay in bytes of JSON.
    pub(crate) fn login(
        &mut self,
        now_ms: u64,
        served: ChannelSet,
        resume: Option<&ResumeRequest>,
        new_epoch: Option<String>,
        replay_budget: usize,
    ) -> LoginPlan {
        if let Some(epoch) = new_epoch {
            self.epoch = epoch;
            self.replay.clear();
            self.evicted_max.clear();
        }
        self.evict_replay(self.window_now(now_ms));
        let replay_channels = served.intersect(self.replay_set).names();
        let server_entry_ids = replay_channels
            .iter()
            .filter_map(|ch| self.latest.get(ch).map(|id| (*ch, *id)))
            .collect();
        let mut plan = LoginPlan {
            epoch: self.epoch.clone(),
            position: self.next_seq,
            replay_channels,
            server_entry_ids,
            snapshots_before: Vec::new(),
            replay: Vec::new(),
            backpressured: Vec::new(),
            resume_complete: false,
        };
        let Some(resume) = resume else {
            return plan;
        };
        let mut restarted = Vec::new();
        let mut exceeded = Vec::new();
        let mut resumed: Vec<(&'static str, EntryId)> = Vec::new();
        for ch in &plan.replay_channels {
            let Some(cursor) = resume
                .cursors
                .iter()
                .filter(|(c, _)| c == ch)
                .map(|(_, id)| *id)
                .max()
            else {
                continue;
            };
            if resume.epoch != self.epoch {
                restarted.push(*ch);
            } else if self.evicted_max.get(ch).is_some_and(|max| *max > cursor) {
                exceeded.push(*ch);
            } else {
                resumed.push((*ch, cursor));
            }
        }
        if !restarted.is_empty() {
            plan.snapshots_before
                .push((SnapshotReason::ServerRestarted, restarted));
        }
        if !exceeded.is_empty() {
            plan.snapshots_before
                .push((SnapshotReason::ResumeWindowExceeded, exceeded));
        }
        let mut replay: Vec<Arc<Entry>> = self
            .replay
            .iter()
            .filter(|e| {
                resumed
                    .iter()
                    .any(|(ch, cursor)| *ch == e.channel && e.entry_id > *cursor)
            })
            .cloned()
            .collect();
        replay.sort_by_key(|e| (e.ts, e.seq));
        let mut used = 0usize;
        let cut = replay.iter().position(|e| {
            used = used.saturating_add(e.json.len());
            used > replay_budget
        });
        if let Some(cut) = cut {
            let mut unfinished = ChannelSet::default();
            for e in replay.get(cut..).unwrap_or_default() {
                unfinished.insert(e.channel);
            }
            replay.truncate(cut);
            plan.backpressured = unfinished.names();
        }
        plan.resume_complete = resumed.len() > plan.backpressured.len();
        plan.replay = replay;
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Round-robin over the given channels, `ts` = max(now, last) per channel,
    /// seq = global counter; JSON of a fixed size.
    struct Fake {
        channels: Vec<&'static str>,
        n: u64,
        last_ts: BTreeMap<&'static str, u64>,
        size: usize,
    }

    impl Fake {
        fn new(channels: &[&'static str], size: usize) -> Self {
            Self {
                channels: channels.to_vec(),
                n: 0,
                last_ts: BTreeMap::new(),
                size,
            }
        }
    }

    impl MessageSource for Fake {
        fn produce(&mut self, now_ms: u64) -> Option<Produced> {
            let index = usize::try_from(self.n).unwrap() % self.channels.len();
            let channel = self.channels[index];
            self.n += 1;
            let last = self.last_ts.entry(channel).or_insert(0);
            let ts = now_ms.max(*last);
            *last = ts;
            Some(Produced {
                channel,
                entry_id: (ts, self.n),
                ts,
                json: "x".repeat(self.size),
            })
        }
    }

    fn limits() -> LogLimits {
        LogLimits {
            live_max_bytes: 1 << 20,
            replay_window_ms: 60_000,
            replay_max_entries: 1000,
            messages: None,
            data_clock: false,
        }
    }

    fn log(channels: &[&'static str], limits: LogLimits) -> StreamLog<Fake> {
        StreamLog::new(
            Fake::new(channels, 10),
            limits,
            ChannelSet::from_names(["fixtures", "scores"]),
            "e1".into(),
        )
    }

    fn seqs(take: Take) -> Vec<u64> {
        match take {
            Take::Entries(v) => v.iter().map(|e| e.seq).collect(),
            other => panic!("expected entries, got {other:?}"),
        }
    }

    /// `n` messages on `scores` with timestamps long past, then nothing.
    struct Finite {
        made: u64,
        n: u64,
    }

    impl MessageSource for Finite {
        fn produce(&mut self, _now_ms: u64) -> Option<Produced> {
            if self.made == self.n {
                return None;
            }
            self.made += 1;
            let ts = 1000 + self.made;
            Some(Produced {
                channel: "scores",
                entry_id: (ts, self.made),
                ts,
                json: "x".into(),
            })
        }
    }

    #[test]
    fn a_finite_source_ends_the_stream_and_the_data_clock_keeps_its_window() {
        let limits = LogLimits {
            data_clock: true,
            replay_window_ms: 100,
            ..limits()
        };
        let scores = ChannelSet::from_names(["scores"]);
        let mut log = StreamLog::new(Finite { made: 0, n: 3 }, limits, scores, "e1".into());
        let wall = 9_999_999;
        let mut pos = 1;
        assert_eq!(seqs(log.take(&mut pos, scores, 10, true, wall)), [1, 2, 3]);
        assert!(matches!(
            log.take(&mut pos, scores, 10, true, wall),
            Take::End
        ));
        assert!(log.exhausted());
        // The wall clock is far past the messages' ts; on their own clock they are recent.
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("scores", (1001, 1))],
        };
        let plan = log.login(wall, scores, Some(&resume), None, 1000);
        assert!(plan.snapshots_before.is_empty());
        let got: Vec<u64> = plan.replay.iter().map(|e| e.seq).collect();
        assert_eq!(got, [2, 3]);
    }

    #[test]
    fn entry_ids_parse_and_format() {
        assert_eq!(
            parse_entry_id("1766418736962-198"),
            Some((1766418736962, 198))
        );
        assert_eq!(format_entry_id((1766418736962, 198)), "1766418736962-198");
        for bad in [
            "",
            "12",
            "12-",
            "-3",
            "1-2-3",
            "a-1",
            "+1-2",
            "1- 2",
            "99999999999999999999-1",
        ] {
            assert_eq!(parse_entry_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn unpaced_take_generates_at_the_head_and_filters_channels() {
        let mut log = log(&["odds", "scores"], limits());
        let mut pos = 1;
        let served = ChannelSet::from_names(["scores"]);
        assert_eq!(seqs(log.take(&mut pos, served, 3, true, 1000)), [2, 4, 6]);
        assert_eq!(pos, 7);
        assert_eq!(log.produced(), 6);
        // A second reader from 1 sees the same messages without new production.
        let mut other = 1;
        let all = ChannelSet::from_names(["odds", "scores"]);
        assert_eq!(
            seqs(log.take(&mut other, all, 10, false, 1000)),
            [1, 2, 3, 4, 5, 6]
        );
        assert!(matches!(
            log.take(&mut other, all, 10, false, 1000),
            Take::Wait
        ));
        assert_eq!(log.per_channel().get("odds"), Some(&3));
    }

    #[test]
    fn messages_limit_ends_the_stream() {
        let mut log = log(
            &["odds"],
            LogLimits {
                messages: Some(3),
                ..limits()
            },
        );
        let mut pos = 1;
        let all = ChannelSet::from_names(["odds"]);
        assert_eq!(seqs(log.take(&mut pos, all, 10, true, 5)), [1, 2, 3]);
        assert!(matches!(log.take(&mut pos, all, 10, true, 5), Take::End));
        assert!(log.produce(5).is_none());
        // A late joiner at the head ends at once.
        let mut late = log.login(5, all, None, None, 1000).position;
        assert_eq!(late, 4);
        assert!(matches!(log.take(&mut late, all, 10, true, 5), Take::End));
    }

    #[test]
    fn lagging_reader_is_evicted() {
        let mut log = log(
            &["odds"],
            LogLimits {
                live_max_bytes: 35,
                ..limits()
            },
        );
        let all = ChannelSet::from_names(["odds"]);
        let mut slow = 1;
        let mut fast = 1;
        assert_eq!(seqs(log.take(&mut fast, all, 5, true, 5)).len(), 5);
        // 5 entries of 10 bytes against a 35-byte bound: 1 and 2 are gone.
        assert!(matches!(
            log.take(&mut slow, all, 5, true, 5),
            Take::Evicted
        ));
        let mut ok = 3;
        assert_eq!(seqs(log.take(&mut ok, all, 5, false, 5)), [3, 4, 5]);
    }

    #[test]
    fn fresh_login_gets_position_and_server_entry_ids() {
        let mut log = log(&["odds", "fixtures", "scores"], limits());
        for _ in 0..6 {
            log.produce(100);
        }
        let served = ChannelSet::from_names(["odds", "scores"]);
        let plan = log.login(100, served, None, None, 1000);
        assert_eq!(plan.position, 7);
        assert_eq!(plan.epoch, "e1");
        assert_eq!(plan.replay_channels, ["scores"]);
        assert_eq!(plan.server_entry_ids, [("scores", (100, 6))]);
        assert!(plan.snapshots_before.is_empty());
        assert!(plan.replay.is_empty());
        assert!(!plan.resume_complete);
    }

    #[test]
    fn resume_replays_after_the_cursor_merged_by_ts() {
        let mut log = log(&["odds", "fixtures", "scores"], limits());
        for now in [10, 10, 10, 20, 20, 20, 30, 30, 30] {
            log.produce(now);
        }
        let served = ChannelSet::from_names(["odds", "fixtures", "scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![
                ("fixtures", (10, 2)),
                ("scores", (20, 6)),
                ("odds", (10, 1)),
            ],
        };
        let plan = log.login(40, served, Some(&resume), None, 1000);
        let got: Vec<(&str, EntryId)> = plan
            .replay
            .iter()
            .map(|e| (e.channel, e.entry_id))
            .collect();
        assert_eq!(
            got,
            [
                ("fixtures", (20, 5)),
                ("fixtures", (30, 8)),
                ("scores", (30, 9))
            ]
        );
        assert!(plan.snapshots_before.is_empty());
        assert!(plan.resume_complete);
        assert_eq!(plan.position, 10);
    }

    #[test]
    fn resume_with_nothing_to_replay_still_completes() {
        let mut log = log(&["scores"], limits());
        log.produce(10);
        let served = ChannelSet::from_names(["scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("scores", (10, 1))],
        };
        let plan = log.login(10, served, Some(&resume), None, 1000);
        assert!(plan.replay.is_empty());
        assert!(plan.resume_complete);
    }

    #[test]
    fn stale_epoch_means_server_restarted() {
        let mut log = log(&["fixtures", "scores"], limits());
        log.produce(10);
        let served = ChannelSet::from_names(["odds", "fixtures", "scores"]);
        let resume = ResumeRequest {
            epoch: "old".into(),
            cursors: vec![("scores", (10, 1)), ("odds", (10, 1))],
        };
        let plan = log.login(10, served, Some(&resume), None, 1000);
        assert_eq!(
            plan.snapshots_before,
            [(SnapshotReason::ServerRestarted, vec!["scores"])]
        );
        assert!(plan.replay.is_empty());
        assert!(!plan.resume_complete);
    }

    #[test]
    fn restart_epoch_clears_the_buffer() {
        let mut log = log(&["scores"], limits());
        log.produce(10);
        log.produce(10);
        let served = ChannelSet::from_names(["scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("scores", (10, 1))],
        };
        let plan = log.login(10, served, Some(&resume), Some("e2".into()), 1000);
        assert_eq!(plan.epoch, "e2");
        assert_eq!(log.epoch(), "e2");
        assert_eq!(log.replay_len(), 0);
        assert_eq!(
            plan.snapshots_before,
            [(SnapshotReason::ServerRestarted, vec!["scores"])]
        );
    }

    #[test]
    fn evicted_cursor_means_window_exceeded() {
        let mut log = log(
            &["fixtures", "scores"],
            LogLimits {
                replay_window_ms: 100,
                ..limits()
            },
        );
        log.produce(1000); // fixtures (1000,1)
        log.produce(1000); // scores (1000,2)
        log.produce(1050); // fixtures (1050,3)
        log.produce(1200); // scores (1200,4): evicts everything older than 1100
        let served = ChannelSet::from_names(["fixtures", "scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("fixtures", (1000, 1)), ("scores", (1000, 2))],
        };
        let plan = log.login(1200, served, Some(&resume), None, 1000);
        assert_eq!(
            plan.snapshots_before,
            [(SnapshotReason::ResumeWindowExceeded, vec!["fixtures"])]
        );
        let got: Vec<EntryId> = plan.replay.iter().map(|e| e.entry_id).collect();
        assert_eq!(got, [(1200, 4)]);
        assert!(plan.resume_complete);
    }

    #[test]
    fn count_bound_evicts_too() {
        let mut log = log(
            &["scores"],
            LogLimits {
                replay_max_entries: 2,
                ..limits()
            },
        );
        for _ in 0..4 {
            log.produce(10);
        }
        assert_eq!(log.replay_len(), 2);
        let served = ChannelSet::from_names(["scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("scores", (10, 1))],
        };
        let plan = log.login(10, served, Some(&resume), None, 1000);
        assert_eq!(
            plan.snapshots_before,
            [(SnapshotReason::ResumeWindowExceeded, vec!["scores"])]
        );
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("scores", (10, 2))],
        };
        let plan = log.login(10, served, Some(&resume), None, 1000);
        assert!(plan.snapshots_before.is_empty());
        assert_eq!(plan.replay.len(), 2);
    }

    #[test]
    fn replay_over_budget_stops_with_backpressure() {
        let mut log = log(&["fixtures", "scores"], limits());
        for now in 0..10 {
            log.produce(now);
        }
        let served = ChannelSet::from_names(["fixtures", "scores"]);
        let resume = ResumeRequest {
            epoch: "e1".into(),
            cursors: vec![("fixtures", (0, 1)), ("scores", (1, 2))],
        };
        // 8 entries of 10 bytes to replay, 35 bytes of budget: 3 go out.
        let plan = log.login(10, served, Some(&resume), None, 35);
        let got: Vec<u64> = plan.replay.iter().map(|e| e.seq).collect();
        assert_eq!(got, [3, 4, 5]);
        assert_eq!(plan.backpressured, ["fixtures", "scores"]);
        assert!(!plan.resume_complete);
    }
}
