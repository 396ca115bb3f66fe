//! Counters and the lag histogram both feed clients keep: what [`WsClient::stats`] and
//! [`ImgClient::stats`] return, what the CLI's `stats` event prints and what `--metrics-addr`
//! exports (see the `metrics` module, behind the `prometheus` feature).
//!
//! [`FeedMetrics`] is the recorder: plain atomics (and two small mutex-guarded maps for the
//! labelled counts) shared by the driver task, the application's handle and whoever reads them.
//! Recording a message costs a few relaxed atomic adds, one uncontended lock and one clock read;
//! nothing here allocates per message once a channel has been seen.
//!
//! What is counted, and where, so that the figures agree with what an application (or the CLI)
//! has seen:
//!
//! - `messages`, `channels`, the lag histogram, `decode_errors`, `reconnects`, the `connected`
//!   and `heartbeat_stale` gauges and `snapshot_required` are counted when the application
//!   *takes* the event from the client (`next`/`try_next`), so after a run stopped by a limit or
//!   a signal they equal what was printed, not what was still queued.
//! - `frames`, `wire_bytes` and `decoded_bytes` are counted where the bytes arrive (the driver).
//!
//! [`WsClient::stats`]: crate::ws::WsClient::stats
//! [`ImgClient::stats`]: crate::img::ImgClient::stats

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Upper bounds (seconds) of the lag histogram's buckets; a last `+Inf` bucket is implied.
///
/// Message times on the WebSocket feed have millisecond resolution, so the finest bucket is
/// 1 ms; the coarse end covers a feed that is minutes behind.
pub const LAG_BUCKETS: [f64; 16] = [
    0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Which feed a [`FeedMetrics`] counts: it names the label of the message counter (`channel` for
/// the WebSocket feed, `kind` for IMG).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedKind {
    /// The WebSocket feed: messages are labelled by `channel`.
    Ws,
    /// The IMG feed: messages are labelled by `kind` (push type, or `resp`).
    Img,
}

impl FeedKind {
    /// The label name of the message counter: `channel` or `kind`.
    #[must_use]
    pub fn message_label(self) -> &'static str {
        match self {
            Self::Ws => "channel",
            Self::Img => "kind",
        }
    }
}

/// The counts of a run since it started: the keys of the CLI's `stats` event, the metrics and
/// the Python package's `stats()`.
///
/// Serializes to `{"messages":..,"channels":{..},"frames":..,"wire_bytes":..,
/// "decoded_bytes":..,"decode_errors":..,"reconnects":..}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FeedStats {
    /// Data messages delivered to the application (WebSocket data; IMG responses, pushes,
    /// notices and unknown objects, heartbeats only when they are counted).
    pub messages: u64,
    /// `messages` per WebSocket channel or IMG kind.
    pub channels: BTreeMap<String, u64>,
    /// WebSocket text and binary frames (control and dictionary frames included, pings not) or
    /// IMG lines received.
    pub frames: u64,
    /// Bytes received as on the wire (WebSocket payloads, IMG lines).
    pub wire_bytes: u64,
    /// Bytes after decompression (equal to `wire_bytes` where nothing is compressed).
    pub decoded_bytes: u64,
    /// Frames or lines skipped because they could not be decoded.
    pub decode_errors: u64,
    /// Connections after the first.
    pub reconnects: u64,
}

/// A point-in-time copy of the lag histogram.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LagSnapshot {
    /// Per bucket of [`LAG_BUCKETS`], then `+Inf`: the upper bound and the observations above
    /// the previous bound and at or below this one (not cumulative).
    pub buckets: Vec<(f64, u64)>,
    /// Sum of all observations, seconds.
    pub sum: f64,
    /// Number of observations.
    pub count: u64,
}

/// The recorder behind [`FeedStats`] and the Prometheus series; shared (in an `Arc`) by a
/// client's driver, its handle and an exporter. Other producers of the same figures (a replay of
/// a recording, a relay) create one and feed it through the same methods.
#[derive(Debug)]
pub struct FeedMetrics {
    feed: FeedKind,
    messages: AtomicU64,
    /// Per channel or kind: few distinct values, so a short vector beats a map.
    channels: Mutex<Vec<(String, u64)>>,
    frames: AtomicU64,
    wire_bytes: AtomicU64,
    decoded_bytes: AtomicU64,
    decode_errors: AtomicU64,
    decode_errors_by_reason: Mutex<BTreeMap<String, u64>>,
    connections: AtomicU64,
    /// Connections currently logged in (WebSocket: several during a reconnect overlap).
    live_connections: Mutex<Vec<u64>>,
    connected: AtomicBool,
    snapshot_required: Mutex<BTreeMap<(String, String), u64>>,
    heartbeat_stale: AtomicBool,
    lag_buckets: [AtomicU64; LAG_BUCKETS.len() + 1],
    lag_sum_nanos: AtomicU64,
    lag_count: AtomicU64,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Counters stay meaningful after a panic elsewhere: carry on with what is there.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FeedMetrics {
    /// An all-zero recorder for `feed`.
    #[must_use]
    pub fn new(feed: FeedKind) -> Self {
        Self {
            feed,
            messages: AtomicU64::new(0),
            channels: Mutex::new(Vec::new()),
            frames: AtomicU64::new(0),
            wire_bytes: AtomicU64::new(0),
            decoded_bytes: AtomicU64::new(0),
            decode_errors: AtomicU64::new(0),
            decode_errors_by_reason: Mutex::new(BTreeMap::new()),
            connections: AtomicU64::new(0),
            live_connections: Mutex::new(Vec::new()),
            connected: AtomicBool::new(false),
            snapshot_required: Mutex::new(BTreeMap::new()),
            heartbeat_stale: AtomicBool::new(false),
            lag_buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            lag_sum_nanos: AtomicU64::new(0),
            lag_count: AtomicU64::new(0),
        }
    }

    /// Which feed this counts.
    #[must_use]
    pub fn feed(&self) -> FeedKind {
        self.feed
    }

    /// One message delivered on `channel` (or IMG kind), with its lag when the message carries
    /// its own time (`now − message time`, see [`lag_since_millis`] and [`lag_since`]).
    pub fn record_message(&self, channel: &str, lag_seconds: Option<f64>) {
        self.messages.fetch_add(1, Ordering::Relaxed);
        {
            let mut channels = locked(&self.channels);
            match channels.iter_mut().find(|(name, _)| name == channel) {
                Some((_, n)) => *n += 1,
                None => channels.push((channel.to_owned(), 1)),
            }
        }
        if let Some(lag) = lag_seconds {
            self.observe_lag(lag);
        }
    }

    /// Adds one observation to the lag histogram (negative lags, from clock skew, count as 0).
    pub fn observe_lag(&self, seconds: f64) {
        let seconds = if seconds.is_finite() {
            seconds.max(0.0)
        } else {
            0.0
        };
        let index = LAG_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LAG_BUCKETS.len());
        if let Some(bucket) = self.lag_buckets.get(index) {
            bucket.fetch_add(1, Ordering::Relaxed);
        }
        // Nanoseconds in a u64 cover 584 years of summed lag.
        let nanos = (seconds * 1e9) as u64;
        self.lag_sum_nanos.fetch_add(nanos, Ordering::Relaxed);
        self.lag_count.fetch_add(1, Ordering::Relaxed);
    }

    /// One frame (or IMG line) of `wire_bytes` bytes received.
    pub fn record_frame(&self, wire_bytes: usize) {
        self.frames.fetch_add(1, Ordering::Relaxed);
        self.wire_bytes
            .fetch_add(wire_bytes as u64, Ordering::Relaxed);
    }

    /// Adds `frames` frames of `wire_bytes` bytes in all.
    pub fn record_frames(&self, frames: u64, wire_bytes: u64) {
        self.frames.fetch_add(frames, Ordering::Relaxed);
        self.wire_bytes.fetch_add(wire_bytes, Ordering::Relaxed);
    }

    /// Adds decoded (decompressed) bytes.
    pub fn add_decoded_bytes(&self, bytes: u64) {
        self.decoded_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Sets the decoded-byte total (for a producer that keeps its own running total).
    pub fn set_decoded_bytes(&self, total: u64) {
        self.decoded_bytes.store(total, Ordering::Relaxed);
    }

    /// One frame or line skipped for `reason` (the decode-error names of PROTOCOL.md).
    pub fn record_decode_error(&self, reason: &str) {
        self.decode_errors.fetch_add(1, Ordering::Relaxed);
        *locked(&self.decode_errors_by_reason)
            .entry(reason.to_owned())
            .or_insert(0) += 1;
    }

    /// A connection opened (the transport is up); every one after the first is a reconnect.
    pub fn record_connection(&self) {
        self.connections.fetch_add(1, Ordering::Relaxed);
    }

    /// Connection `conn` is logged in / initialised: `connected` becomes 1.
    pub fn record_logged_in(&self, conn: u64) {
        let mut live = locked(&self.live_connections);
        if !live.contains(&conn) {
            live.push(conn);
        }
        self.connected.store(true, Ordering::Relaxed);
    }

    /// Connection `conn` ended (`None`: every connection): `connected` becomes 0 once no
    /// logged-in connection is left.
    pub fn record_disconnected(&self, conn: Option<u64>) {
        let mut live = locked(&self.live_connections);
        match conn {
            Some(conn) => live.retain(|c| *c != conn),
            None => live.clear(),
        }
        self.connected.store(!live.is_empty(), Ordering::Relaxed);
    }

    /// A `snapshot_required` for `channel` with `reason`.
    pub fn record_snapshot_required(&self, channel: &str, reason: &str) {
        *locked(&self.snapshot_required)
            .entry((channel.to_owned(), reason.to_owned()))
            .or_insert(0) += 1;
    }

    /// Heartbeats went stale (`true`) or came back (`false`).
    pub fn set_heartbeat_stale(&self, stale: bool) {
        self.heartbeat_stale.store(stale, Ordering::Relaxed);
    }

    /// The counts so far.
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        let channels: BTreeMap<String, u64> = locked(&self.channels).iter().cloned().collect();
        FeedStats {
            messages: self.messages.load(Ordering::Relaxed),
            channels,
            frames: self.frames.load(Ordering::Relaxed),
            wire_bytes: self.wire_bytes.load(Ordering::Relaxed),
            decoded_bytes: self.decoded_bytes.load(Ordering::Relaxed),
            decode_errors: self.decode_errors.load(Ordering::Relaxed),
            reconnects: self.reconnects(),
        }
    }

    /// Connections after the first.
    #[must_use]
    pub fn reconnects(&self) -> u64 {
        self.connections.load(Ordering::Relaxed).saturating_sub(1)
    }

    /// Decode errors by reason.
    #[must_use]
    pub fn decode_errors_by_reason(&self) -> BTreeMap<String, u64> {
        locked(&self.decode_errors_by_reason).clone()
    }

    /// `snapshot_required` counts by (channel, reason).
    #[must_use]
    pub fn snapshot_required(&self) -> BTreeMap<(String, String), u64> {
        locked(&self.snapshot_required).clone()
    }

    /// Whether a connection is logged in / initialised.
    #[must_use]
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Whether heartbeats are stale (IMG).
    #[must_use]
    pub fn heartbeat_stale(&self) -> bool {
        self.heartbeat_stale.load(Ordering::Relaxed)
    }

    /// The lag histogram so far.
    #[must_use]
    pub fn lag(&self) -> LagSnapshot {
        let buckets = self
            .lag_buckets
            .iter()
            .enumerate()
            .map(|(index, bucket)| {
                let bound = LAG_BUCKETS.get(index).copied().unwrap_or(f64::INFINITY);
                (bound, bucket.load(Ordering::Relaxed))
            })
            .collect();
        LagSnapshot {
            buckets,
            sum: self.lag_sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: self.lag_count.load(Ordering::Relaxed),
        }
    }
}

/// Seconds from `millis` (milliseconds since the Unix epoch, a WebSocket message's `ts`) to now.
#[must_use]
pub fn lag_since_millis(millis: u64) -> f64 {
    let now = now_nanos();
    (now as f64 - millis as f64 * 1e6) / 1e9
}

/// Seconds from `at` (UTC, an IMG `publish_time`) to now.
#[must_use]
pub fn lag_since(at: chrono::NaiveDateTime) -> f64 {
    let then = at.and_utc();
    let nanos = then
        .timestamp_nanos_opt()
        .unwrap_or_else(|| then.timestamp().saturating_mul(1_000_000_000));
    (now_nanos() as f64 - nanos as f64) / 1e9
}

fn now_nanos() -> i128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_messages_per_channel_and_reconnects() {
        let m = FeedMetrics::new(FeedKind::Ws);
        assert_eq!(m.stats(), FeedStats::default());
        m.record_message("odds", Some(0.0005));
        m.record_message("odds", Some(0.003));
        m.record_message("scores", None);
        m.record_connection();
        m.record_connection();
        m.record_frame(10);
        m.record_decode_error("bad_json");
        let s = m.stats();
        assert_eq!(s.messages, 3);
        assert_eq!(s.channels.get("odds"), Some(&2));
        assert_eq!(s.channels.get("scores"), Some(&1));
        assert_eq!((s.frames, s.wire_bytes), (1, 10));
        assert_eq!(s.decode_errors, 1);
        assert_eq!(s.reconnects, 1);
        let json = serde_json::to_value(&s).unwrap_or_default();
        for key in [
            "messages",
            "channels",
            "frames",
            "wire_bytes",
            "decoded_bytes",
            "decode_errors",
            "reconnects",
        ] {
            assert!(json.get(key).is_some(), "{key} missing in {json}");
        }
    }

    #[test]
    fn lag_buckets_count_and_negative_lag_counts_as_zero() {
        let m = FeedMetrics::new(FeedKind::Img);
        m.observe_lag(-1.0);
        m.observe_lag(0.0015);
        m.observe_lag(1e6);
        let lag = m.lag();
        assert_eq!(lag.count, 3);
        assert_eq!(lag.buckets.first(), Some(&(0.001, 1)));
        assert_eq!(lag.buckets.get(1), Some(&(0.002, 1)));
        assert_eq!(lag.buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(lag.buckets.iter().map(|(_, n)| n).sum::<u64>(), 3);
        assert!((lag.sum - (0.0015 + 1e6)).abs() < 1e-3);
    }

    #[test]
    fn connected_follows_logged_in_connections() {
        let m = FeedMetrics::new(FeedKind::Ws);
        assert!(!m.connected());
        m.record_logged_in(1);
        m.record_logged_in(2);
        m.record_disconnected(Some(1));
        assert!(m.connected());
        m.record_disconnected(Some(2));
        assert!(!m.connected());
    }
}
