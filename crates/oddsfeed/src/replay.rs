//! Replay a recording through the live decoding path, without a socket.
//!
//! [`WsReplay`] and [`ImgReplay`] read a recording made with
//! [`WsClientConfigBuilder::record`](crate::ws::WsClientConfigBuilder::record) or
//! [`ImgClientConfigBuilder::record`](crate::img::ImgClientConfigBuilder::record) and feed its
//! frames or lines, connection by connection, to the same sans-IO session the live client runs
//! ([`WsSession`], [`ImgSession`]), with the recorded arrival times as `now`. They yield the
//! session's events as the live client does ([`WsEvent`], [`ImgEvent`]): the same data
//! messages in the same order, the same decode errors, dictionaries applied per connection,
//! and timers (IMG heartbeat staleness, dead connections) fired by the recorded clock, not the
//! replay's. What only the live driver knows (connecting, backoff) is not replayed.
//!
//! A torn or corrupt tail ends the replay with one [`WsEvent::RecordingTruncated`] /
//! [`ImgEvent::RecordingTruncated`]; a file that is not a recording is refused when opening.
//!
//! Each keeps a [`FeedMetrics`] ([`WsReplay::metrics`], [`ImgReplay::metrics`]) counted as the
//! live client counts what the application takes: every event `next()` returns, the frames or
//! lines and bytes of every record read, the decoded bytes; the lag of a message is its recorded
//! arrival time minus its own time (as it was live, not as it is now).
//!
//! Both are plain iterators (`next()` returns the next event); [`Pace`] makes them keep the
//! recorded gaps, by sleeping the calling thread (from async code, run a paced replay on a
//! blocking thread).
//!
//! ```no_run
//! use oddsfeed::replay::{Pace, WsReplay};
//! use oddsfeed::ws::WsEvent;
//!
//! let mut replay = WsReplay::open("feed.rec", Pace::AsFastAsPossible)?;
//! while let Some(event) = replay.next()? {
//!     if let WsEvent::Data(msg) = event {
//!         println!("{}", msg.raw);
//!     }
//! }
//! # Ok::<(), oddsfeed::recording::RecordError>(())
//! ```

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oddsfeed_model::img::Request;
use oddsfeed_model::{ApiKey, ReceiveType, ResumeState};
use oddsfeed_record::{Feed, Header, Item, RecordError, RecordKind, RecordRef, StreamReader};
use oddsfeed_session::img::{ImgSession, ImgSessionConfig};
use oddsfeed_session::ws::{CloseInfo, ConnId, FrameKind, WsConfig, WsSession};
use serde_json::Value;

use crate::clock;
use crate::img::ImgEvent;
use crate::stats::{FeedKind, FeedMetrics};
use crate::ws::WsEvent;

/// Seconds from a message's own time (`ms` since the epoch) to its recorded arrival.
fn lag_ms(arrival_ns: i64, ms: u64) -> f64 {
    (arrival_ns as f64 - ms as f64 * 1e6) / 1e9
}

/// Seconds from an IMG `publish_time` (UTC) to its recorded arrival.
fn lag_at(arrival_ns: i64, at: chrono::NaiveDateTime) -> f64 {
    let then = at.and_utc();
    let nanos = then
        .timestamp_nanos_opt()
        .unwrap_or_else(|| then.timestamp().saturating_mul(1_000_000_000));
    (arrival_ns as f64 - nanos as f64) / 1e9
}

/// The most timer firings handled between two records (a guard: each firing moves the
/// session's deadline on).
const MAX_TIMER_FIRINGS: usize = 64;

/// How fast a replay runs.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Pace {
    /// As fast as the decoder goes (the default of `oddsfeed replay`).
    AsFastAsPossible,
    /// Keep the recorded gaps between arrivals divided by this factor (1.0: real time).
    Speed(f64),
}

/// The recorded clock and the optional pacing, shared by both replays.
#[derive(Debug)]
struct Clock {
    /// The replay's stand-in for the recording's first instant.
    base: Instant,
    origin_ns: i64,
    last: Instant,
    pace: Pace,
    wall_start: Option<(Instant, i64)>,
}

impl Clock {
    fn new(header: &Header, pace: Pace) -> Self {
        let base = clock::wall_now();
        Self {
            base,
            origin_ns: header.start_ns,
            last: base,
            pace,
            wall_start: None,
        }
    }

    /// The session instant for a recorded arrival time (never going back), after waiting when
    /// paced.
    fn at(&mut self, time_ns: i64) -> Instant {
        if let Pace::Speed(speed) = self.pace
            && speed.is_finite()
            && speed > 0.0
        {
            let (wall, first) = *self.wall_start.get_or_insert((clock::wall_now(), time_ns));
            let gap = time_ns.saturating_sub(first).max(0) as f64 / speed;
            let target = wall + Duration::from_nanos(gap.min(u64::MAX as f64) as u64);
            let now = clock::wall_now();
            if target > now {
                std::thread::sleep(target - now);
            }
        }
        let since = u64::try_from(time_ns.saturating_sub(self.origin_ns)).unwrap_or(0);
        let at = self.base + Duration::from_nanos(since);
        if at > self.last {
            self.last = at;
        }
        self.last
    }
}

/// The settings in a recording's header metadata (absent keys: defaults).
fn meta(header: &Header) -> Value {
    serde_json::from_str(&header.meta).unwrap_or(Value::Null)
}

fn wrong_feed(expected: Feed, header: &Header) -> RecordError {
    RecordError::BadHeader {
        detail: format!(
            "this is a {} recording, not a {} one",
            header.feed.as_str(),
            expected.as_str()
        ),
    }
}

/// Replays a WebSocket recording into the [`WsEvent`] stream the live
/// [`WsClient`](crate::ws::WsClient) yielded.
#[derive(Debug)]
pub struct WsReplay<R = File> {
    reader: StreamReader<R>,
    session: WsSession,
    clock: Clock,
    conns: HashMap<u64, ConnId>,
    pending: VecDeque<WsEvent>,
    records: u64,
    ended: bool,
    metrics: Arc<FeedMetrics>,
    /// Arrival time of the record the pending events came from.
    arrival_ns: i64,
}

impl WsReplay<File> {
    /// Opens the recording at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, is not a recording, has an unknown format version or a
    /// corrupt header, or is an IMG recording.
    pub fn open(path: impl AsRef<Path>, pace: Pace) -> Result<Self, RecordError> {
        Self::new(File::open(path)?, pace)
    }
}

impl<R: Read> WsReplay<R> {
    /// Replays the recording `src` reads.
    ///
    /// # Errors
    ///
    /// As [`open`](WsReplay::open).
    pub fn new(src: R, pace: Pace) -> Result<Self, RecordError> {
        let reader = StreamReader::new(src)?;
        let header = reader.header().clone();
        if header.feed != Feed::Ws {
            return Err(wrong_feed(Feed::Ws, &header));
        }
        let meta = meta(&header);
        // The key is never recorded; the session needs one to build the login it never sends.
        let mut config = WsConfig::new(ApiKey::new("replay"));
        if let Some(receive_type) = meta
            .get("receiveType")
            .and_then(Value::as_str)
            .and_then(|s| ReceiveType::from_str(s).ok())
        {
            config.receive_type = receive_type;
        }
        if let Some(bytes) = meta.get("maxFrame").and_then(Value::as_u64) {
            config.max_frame = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        if let Some(bytes) = meta.get("maxDecompressed").and_then(Value::as_u64) {
            config.max_decompressed = usize::try_from(bytes).unwrap_or(usize::MAX);
        }
        // The recording says when connections start and end: never stop on a close.
        config.once = false;
        let resume: ResumeState = meta
            .get("resume")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        Ok(Self {
            clock: Clock::new(&header, pace),
            reader,
            session: WsSession::new(config, resume),
            conns: HashMap::new(),
            pending: VecDeque::new(),
            records: 0,
            ended: false,
            metrics: Arc::new(FeedMetrics::new(FeedKind::Ws)),
            arrival_ns: header.start_ns,
        })
    }

    /// The recording's header.
    #[must_use]
    pub fn header(&self) -> &Header {
        self.reader.header()
    }

    /// The session, for its counters and cursors.
    #[must_use]
    pub fn session(&self) -> &WsSession {
        &self.session
    }

    /// Records read so far.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The counts of the events returned so far (the live client's series and `stats` keys),
    /// for export.
    #[must_use]
    pub fn metrics(&self) -> Arc<FeedMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The next event, `Ok(None)` at the end of the recording.
    ///
    /// # Errors
    ///
    /// [`RecordError::Io`] when reading the file fails.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<WsEvent>, RecordError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                let arrival = self.arrival_ns;
                crate::ws::count_event(&self.metrics, &event, |ts| lag_ms(arrival, ts));
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            match self.reader.next()? {
                None => self.ended = true,
                Some(Item::Truncated(truncation)) => {
                    self.ended = true;
                    self.pending
                        .push_back(WsEvent::RecordingTruncated(truncation));
                }
                Some(Item::Record(record)) => {
                    self.records += 1;
                    self.arrival_ns = record.time_ns;
                    if matches!(record.kind, RecordKind::Text | RecordKind::Binary) {
                        self.metrics.record_frame(record.payload.len());
                    }
                    let now = self.clock.at(record.time_ns);
                    apply_ws(&mut self.session, &mut self.conns, &record, now);
                    self.drain();
                }
            }
        }
    }

    fn drain(&mut self) {
        let session = &mut self.session;
        while session.poll_transmit().is_some() {}
        while session.poll_action().is_some() {}
        self.pending
            .extend(std::iter::from_fn(|| session.poll_event()).map(WsEvent::from_session));
        self.metrics
            .set_decoded_bytes(session.decoder().stats().bytes_out);
    }
}

/// Feeds one record to the WebSocket session, after the timers due before it.
fn apply_ws(
    session: &mut WsSession,
    conns: &mut HashMap<u64, ConnId>,
    record: &RecordRef<'_>,
    now: Instant,
) {
    for _ in 0..MAX_TIMER_FIRINGS {
        match session.poll_timeout() {
            Some(deadline) if deadline <= now => session.handle_timeout(deadline),
            _ => break,
        }
    }
    let conn = conns.get(&record.conn).copied();
    match (record.kind, conn) {
        (RecordKind::ConnStart, _) => {
            let id = session.handle_connected(now);
            conns.insert(record.conn, id);
        }
        (RecordKind::Text, Some(id)) => {
            session.handle_frame(id, FrameKind::Text, record.payload, now);
        }
        (RecordKind::Binary, Some(id)) => {
            session.handle_frame(id, FrameKind::Binary, record.payload, now);
        }
        (RecordKind::Activity, Some(id)) => session.handle_activity(id, now),
        (RecordKind::ConnEnd, Some(id)) => {
            let close = record
                .close()
                .map(|close| CloseInfo::new(close.code, close.reason));
            session.handle_closed(id, close, now);
            conns.remove(&record.conn);
        }
        // The receive type is for tools that read frames without a session (the session takes
        // it from the login_ok frame itself); unknown kinds are skipped.
        _ => {}
    }
}

/// Replays an IMG recording into the [`ImgEvent`] stream the live
/// [`ImgClient`](crate::img::ImgClient) yielded (session events: lines, responses, heartbeat
/// health).
#[derive(Debug)]
pub struct ImgReplay<R = File> {
    reader: StreamReader<R>,
    session: ImgSession,
    clock: Clock,
    current: Option<u64>,
    pending: VecDeque<ImgEvent>,
    records: u64,
    ended: bool,
    metrics: Arc<FeedMetrics>,
    count_heartbeats: bool,
    /// Arrival time of the record the pending events came from.
    arrival_ns: i64,
}

impl ImgReplay<File> {
    /// Opens the recording at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, is not a recording, has an unknown format version or a
    /// corrupt header, or is a WebSocket recording.
    pub fn open(path: impl AsRef<Path>, pace: Pace) -> Result<Self, RecordError> {
        Self::new(File::open(path)?, pace)
    }
}

impl<R: Read> ImgReplay<R> {
    /// Replays the recording `src` reads.
    ///
    /// # Errors
    ///
    /// As [`open`](ImgReplay::open).
    pub fn new(src: R, pace: Pace) -> Result<Self, RecordError> {
        let reader = StreamReader::new(src)?;
        let header = reader.header().clone();
        if header.feed != Feed::Img {
            return Err(wrong_feed(Feed::Img, &header));
        }
        let meta = meta(&header);
        let mut config = ImgSessionConfig::default();
        if let Some(on) = meta.get("includeFinished").and_then(Value::as_bool) {
            config.include_finished = on;
        }
        if let Some(on) = meta.get("tagInit").and_then(Value::as_bool) {
            config.tag_init = on;
        }
        config.once = false;
        let mut session = ImgSession::new(config);
        let requests: Vec<Request> = meta
            .get("requests")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        for request in requests {
            // The live client accepted these; a refusal here only changes correlation.
            let _ = session.add_standing_request(request);
        }
        Ok(Self {
            clock: Clock::new(&header, pace),
            reader,
            session,
            current: None,
            pending: VecDeque::new(),
            records: 0,
            ended: false,
            metrics: Arc::new(FeedMetrics::new(FeedKind::Img)),
            count_heartbeats: false,
            arrival_ns: header.start_ns,
        })
    }

    /// The recording's header.
    #[must_use]
    pub fn header(&self) -> &Header {
        self.reader.header()
    }

    /// Records read so far.
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Whether heartbeats count as messages in [`metrics`](Self::metrics) (as the live client's
    /// `count_heartbeats`, which the CLI sets with `--heartbeats`). Default `false`.
    #[must_use]
    pub fn count_heartbeats(mut self, on: bool) -> Self {
        self.count_heartbeats = on;
        self
    }

    /// The counts of the events returned so far (the live client's series and `stats` keys),
    /// for export.
    #[must_use]
    pub fn metrics(&self) -> Arc<FeedMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The next event, `Ok(None)` at the end of the recording.
    ///
    /// # Errors
    ///
    /// [`RecordError::Io`] when reading the file fails.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<ImgEvent>, RecordError> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                let arrival = self.arrival_ns;
                crate::img::count_event(&self.metrics, &event, self.count_heartbeats, |at| {
                    lag_at(arrival, at)
                });
                return Ok(Some(event));
            }
            if self.ended {
                return Ok(None);
            }
            match self.reader.next()? {
                None => self.ended = true,
                Some(Item::Truncated(truncation)) => {
                    self.ended = true;
                    self.pending
                        .push_back(ImgEvent::RecordingTruncated(truncation));
                }
                Some(Item::Record(record)) => {
                    self.records += 1;
                    self.arrival_ns = record.time_ns;
                    let now = self.clock.at(record.time_ns);
                    let lines_before = lines_seen(&self.session);
                    if record.kind == RecordKind::ConnStart {
                        // The live client counts its transport coming up (a driver event).
                        self.metrics.record_connection();
                    }
                    apply_img(&mut self.session, &mut self.current, &record, now);
                    if record.kind == RecordKind::Lines && self.current == Some(record.conn) {
                        let bytes = record.payload.len() as u64;
                        let lines = lines_seen(&self.session) - lines_before;
                        self.metrics.record_frames(lines, bytes);
                        self.metrics.add_decoded_bytes(bytes);
                    }
                    let session = &mut self.session;
                    while session.poll_transmit().is_some() {}
                    while session.poll_action().is_some() {}
                    self.pending
                        .extend(std::iter::from_fn(|| session.poll_event()).map(ImgEvent::Session));
                }
            }
        }
    }
}

/// Lines the IMG session has taken in so far, decoded or not (the live driver's count).
fn lines_seen(session: &ImgSession) -> u64 {
    let stats = session.stats();
    stats.lines + stats.decode_errors
}

/// Feeds one record to the IMG session, after the timers due before it.
fn apply_img(
    session: &mut ImgSession,
    current: &mut Option<u64>,
    record: &RecordRef<'_>,
    now: Instant,
) {
    for _ in 0..MAX_TIMER_FIRINGS {
        match session.poll_timeout() {
            Some(deadline) if deadline <= now => session.handle_timeout(deadline),
            _ => break,
        }
    }
    match record.kind {
        RecordKind::ConnStart => {
            *current = Some(record.conn);
            session.handle_connected(now);
        }
        RecordKind::Lines if *current == Some(record.conn) => {
            session.handle_bytes(record.payload, now);
        }
        RecordKind::ConnEnd if *current == Some(record.conn) => {
            *current = None;
            session.handle_closed(now);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed_record::Writer;

    /// A ws recording in memory: one connection, login_ok, two data frames (one twice, as a
    /// resume replay would send it), a bad frame, the end.
    fn ws_recording() -> Vec<u8> {
        let start = 1_766_400_000_000_000_000_i64;
        let ms = |offset_ms: i64| start + offset_ms * 1_000_000;
        let login_ok = br#"{"type":"login_ok","receiveType":"json","resume":{"serverEpoch":"e1","replayChannels":["scores"]}}"#;
        let data = |seq: u64| {
            format!(
                r#"{{"channel":"scores","type":"UPDATE","payload":{{}},"ts":1766400000000,"entryId":"1766400000000-{seq}"}}"#
            )
        };
        let (one, two) = (data(1), data(2));
        let records: [(RecordKind, i64, &[u8]); 8] = [
            (RecordKind::ConnStart, ms(0), b""),
            (RecordKind::Text, ms(1), login_ok),
            (RecordKind::ReceiveType, ms(1), b"json"),
            (RecordKind::Text, ms(250), one.as_bytes()),
            (RecordKind::Text, ms(500), two.as_bytes()),
            (RecordKind::Text, ms(501), two.as_bytes()),
            (RecordKind::Text, ms(502), b"{not json"),
            (RecordKind::ConnEnd, ms(600), b""),
        ];
        let header = Header::new(Feed::Ws, start);
        let mut writer = Writer::new(Vec::new(), &header).expect("writer");
        for (kind, time, payload) in records {
            writer
                .append(&RecordRef::new(kind, 1, time, payload))
                .expect("append");
        }
        writer.finish().expect("finish")
    }

    #[test]
    fn ws_replay_counts_what_it_returns_with_the_recorded_lag() {
        let bytes = ws_recording();
        let mut replay = WsReplay::new(bytes.as_slice(), Pace::AsFastAsPossible).expect("open");
        let metrics = replay.metrics();
        let mut data = 0;
        while let Some(event) = replay.next().expect("read") {
            if matches!(event, WsEvent::Data(_)) {
                data += 1;
            }
        }
        assert_eq!(data, 2, "the duplicate is dropped as live");
        let stats = metrics.stats();
        assert_eq!(stats.messages, 2);
        assert_eq!(stats.channels.get("scores"), Some(&2));
        assert_eq!(
            stats.frames, 5,
            "text frames, login_ok and the bad one included"
        );
        assert_eq!(stats.decode_errors, 1);
        assert_eq!(stats.reconnects, 0);
        assert!(stats.wire_bytes > 0);
        assert!(!metrics.connected(), "the connection ended");
        // Arrivals 250 and 500 ms after the messages' ts: the recorded lag, not today's.
        let lag = metrics.lag();
        assert_eq!(lag.count, 2);
        assert!((lag.sum - 0.75).abs() < 1e-6, "{}", lag.sum);
    }
}
