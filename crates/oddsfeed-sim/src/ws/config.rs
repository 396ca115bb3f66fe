//! Configuration of the WebSocket simulator: stream size and pace, the replay
//! buffer, fault flags (docs/PROTOCOL.md B.13) and every timing and limit the
//! protocol marks `[C]`.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::channels::{ChannelSet, PRODUCED_CHANNELS};

/// Everything one `sim ws` server needs to know, shared by all its connections.
///
/// Build it with [`WsSimConfig::default`] and change the fields you need; the
/// struct is `#[non_exhaustive]` so that knobs can be added later. `Debug`
/// never shows the API key.
///
/// ```
/// use std::time::Duration;
/// use oddsfeed_sim::ws::WsSimConfig;
///
/// let mut cfg = WsSimConfig::default();
/// cfg.messages = Some(100);
/// cfg.login_timeout = Duration::from_millis(300);
/// assert_eq!(cfg.replay_window_ms, 60_000);
/// assert_eq!(cfg.replay_channels, ["fixtures", "scores"]);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct WsSimConfig {
    /// The only API key accepted (`--api-key`). Default `None`: any non-empty
    /// key is accepted. Never logged, never shown by `Debug`.
    pub api_key: Option<String>,
    /// Distinct data messages produced over the simulator's lifetime
    /// (`--messages`). A connection that has passed message N (or that joins
    /// after the end and has drained its replay) is closed with 1000.
    /// Default `None`: produce forever.
    pub messages: Option<u64>,
    /// Pace of the global stream in messages per second (`--rate`). One
    /// producer task appends at this pace whether or not anyone is connected,
    /// and connections wait for it. Default `None`: unpaced, a connection at
    /// the head of the stream produces the next message itself, so the stream
    /// goes as fast as the fastest reader's socket takes it.
    pub rate: Option<f64>,
    /// Seed of the payload generator (`--seed`). Default 1.
    pub seed: u64,
    /// Answer `zstd` and `zstd-dict` logins with `receiveType: "json"`
    /// (`--no-zstd`, the vendor's per-gateway downgrade). Default `false`.
    pub no_zstd: bool,
    /// How long, in milliseconds, replay-channel entries stay in the replay
    /// buffer (`--replay-window-ms`, sent as `resumeWindowMs`). Default 60000.
    pub replay_window_ms: u64,
    /// Channels kept in the replay buffer (`--replay-channels`). Any produced
    /// channel may be listed, `odds` included. Default `fixtures`, `scores`
    /// (as the vendor).
    pub replay_channels: Vec<String>,
    /// Most entries the replay buffer holds, whatever the window says; the
    /// oldest go first. Default 200000. This bounds the buffer's memory: about
    /// this many messages of the replay channels (`fixtures` and `scores`
    /// messages are small; listing `odds` makes each entry about 1.5 KB).
    pub replay_max_entries: usize,
    /// A new `serverEpoch` and an empty replay buffer on every login
    /// (`--restart-epoch`), as if the gateway restarted between connections.
    /// Default `false`.
    pub restart_epoch: bool,
    /// Abrupt TCP close, without a close frame, after this many data messages
    /// on each connection (`--drop-after`). Default `None`.
    pub drop_after: Option<u64>,
    /// After this many data messages on a connection, send
    /// `{"type":"reconnect","reason":"server_upgrade"}`, stream on for
    /// [`reconnect_grace`](Self::reconnect_grace), then close with 1001
    /// (`--reconnect-after`). Default `None`.
    pub reconnect_after: Option<u64>,
    /// Insert a decompression-bomb frame (zstd modes) or an oversize frame
    /// (other modes) before global data message I, counted from 1
    /// (`--bomb-at`). Fires once. Default `None`.
    pub bomb_at: Option<u64>,
    /// Insert a zstd frame naming a never-announced dictId before global data
    /// message I (`--unknown-dict-at`). Fires once, on the first `zstd` or
    /// `zstd-dict` connection that reaches message I. Default `None`.
    pub unknown_dict_at: Option<u64>,
    /// Insert a frame with bad JSON (inside zstd, as text) or bad MessagePack
    /// before global data message I (`--bad-json-at`). Fires once.
    /// Default `None`.
    pub bad_json_at: Option<u64>,
    /// Insert one valid but dense document (tens of millions of array
    /// elements; see [`encode::dense_frame`](crate::encode::dense_frame))
    /// before global data message I (`--dense-at`). Fires once.
    /// Default `None`.
    pub dense_at: Option<u64>,
    /// Most simultaneous logged-in connections per API key; the next login
    /// gets `too_many_connections` and close 4003. Default 5 (docs/PROTOCOL.md B.12).
    pub max_connections_per_key: usize,
    /// Time a client has, from the TCP accept, to complete the WebSocket
    /// handshake and send its login; after it: error `login_timeout`, close
    /// 4001. Default 10 s (docs/PROTOCOL.md B.10).
    pub login_timeout: Duration,
    /// Interval between server WebSocket Pings. Default 15 s.
    pub ping_interval: Duration,
    /// A client that sends nothing (not even a Pong) for this long, or whose
    /// socket accepts nothing for this long, is dropped. Default 45 s.
    pub idle_timeout: Duration,
    /// Bound of what a connection may have outstanding, in bytes of message
    /// JSON: how far a reader may lag behind the head of the live stream, and
    /// twice the most a resume replay may queue. A reader that lags further is
    /// closed with 4002; a replay that would pass half of it stops with
    /// `snapshot_required`/`client_backpressure`. Default 16 MiB
    /// (docs/PROTOCOL.md B.12). It is also the memory the live tail of the stream
    /// may use.
    pub outbound_queue_bytes: usize,
    /// How long a connection keeps streaming after its `reconnect` frame,
    /// before the 1001 close. Default 3 s (docs/PROTOCOL.md B.14).
    pub reconnect_grace: Duration,
    /// Largest inbound WebSocket message and frame accepted, in bytes; a bigger
    /// one ends the connection. Default 1 MiB (docs/PROTOCOL.md B.12): a login is a
    /// few hundred bytes, so nothing legitimate comes near it.
    pub max_inbound: usize,
    /// Channels the simulator produces. Default all five: `odds`, `fixtures`,
    /// `bookmakers`, `scores`, `clocks`. A login is served the channels it asks
    /// for that are in this list.
    pub channels: Vec<String>,
    /// Where to keep a copy of every data message the simulator produces, in
    /// production order. Default `None`. For tests and short runs: the record
    /// grows without bound (about 1.4 KB per message). One recorder may be
    /// shared by several simulators (e.g. one restarted on the same port), and
    /// then holds their streams one after the other.
    pub record: Option<StreamRecorder>,
    /// Serve this WebSocket recording's data messages (docs/RECORDING.md, `--replay FILE`)
    /// instead of generated ones: channel, entryId, `ts` and payload as recorded, in recorded
    /// order, each once (see [`RecordingSource`](super::RecordingSource) for what is left out),
    /// encoded in each client's receive type like generated ones. The stream ends with the
    /// recording (or at `messages`). The replay window is measured on the messages' `ts`, not the
    /// wall clock, so a recording served later or faster than it was recorded can still be
    /// resumed from. Default `None`.
    pub replay: Option<PathBuf>,
}

impl Default for WsSimConfig {
    fn default() -> Self {
        Self {
            api_key: None,
            messages: None,
            rate: None,
            seed: 1,
            no_zstd: false,
            replay_window_ms: 60_000,
            replay_channels: vec!["fixtures".to_owned(), "scores".to_owned()],
            replay_max_entries: 200_000,
            restart_epoch: false,
            drop_after: None,
            reconnect_after: None,
            bomb_at: None,
            unknown_dict_at: None,
            bad_json_at: None,
            dense_at: None,
            max_connections_per_key: 5,
            login_timeout: Duration::from_secs(10),
            ping_interval: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(45),
            outbound_queue_bytes: 16 << 20,
            reconnect_grace: Duration::from_secs(3),
            max_inbound: 1 << 20,
            channels: PRODUCED_CHANNELS.iter().map(|c| (*c).to_owned()).collect(),
            record: None,
            replay: None,
        }
    }
}

impl fmt::Debug for WsSimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSimConfig")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("messages", &self.messages)
            .field("rate", &self.rate)
            .field("seed", &self.seed)
            .field("no_zstd", &self.no_zstd)
            .field("replay_window_ms", &self.replay_window_ms)
            .field("replay_channels", &self.replay_channels)
            .field("replay_max_entries", &self.replay_max_entries)
            .field("restart_epoch", &self.restart_epoch)
            .field("drop_after", &self.drop_after)
            .field("reconnect_after", &self.reconnect_after)
            .field("bomb_at", &self.bomb_at)
            .field("unknown_dict_at", &self.unknown_dict_at)
            .field("bad_json_at", &self.bad_json_at)
            .field("dense_at", &self.dense_at)
            .field("max_connections_per_key", &self.max_connections_per_key)
            .field("login_timeout", &self.login_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("idle_timeout", &self.idle_timeout)
            .field("outbound_queue_bytes", &self.outbound_queue_bytes)
            .field("reconnect_grace", &self.reconnect_grace)
            .field("max_inbound", &self.max_inbound)
            .field("channels", &self.channels)
            .field("record", &self.record)
            .field("replay", &self.replay)
            .finish()
    }
}

impl WsSimConfig {
    /// Checks the configuration and lists every problem found.
    ///
    /// Rejected: a `rate` that is not a positive finite number, an unknown or
    /// empty channel list, an unknown replay channel, a zero
    /// `max_connections_per_key`, `outbound_queue_bytes` or `max_inbound`, a
    /// zero timing, and an empty `api_key`.
    ///
    /// # Errors
    ///
    /// An [`io::ErrorKind::InvalidInput`] error whose text names each problem.
    pub fn validate(&self) -> io::Result<()> {
        let mut problems = Vec::new();
        if let Some(rate) = self.rate
            && !(rate.is_finite() && rate > 0.0)
        {
            problems.push(format!("rate must be a positive number, got {rate}"));
        }
        if self.channels.is_empty() {
            problems.push("channels must name at least one channel".to_owned());
        }
        for name in self.channels.iter().chain(&self.replay_channels) {
            if ChannelSet::index_of(name).is_none() {
                problems.push(format!(
                    "unknown channel {name:?} (known: {})",
                    PRODUCED_CHANNELS.join(", ")
                ));
            }
        }
        if self.api_key.as_deref() == Some("") {
            problems.push("api_key must not be empty".to_owned());
        }
        if self.max_connections_per_key == 0 {
            problems.push("max_connections_per_key must be at least 1".to_owned());
        }
        if self.outbound_queue_bytes == 0 {
            problems.push("outbound_queue_bytes must be positive".to_owned());
        }
        if self.max_inbound == 0 {
            problems.push("max_inbound must be positive".to_owned());
        }
        for (name, value) in [
            ("login_timeout", self.login_timeout),
            ("ping_interval", self.ping_interval),
            ("idle_timeout", self.idle_timeout),
        ] {
            if value.is_zero() {
                problems.push(format!("{name} must be positive"));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid sim ws configuration: {}", problems.join("; ")),
            ))
        }
    }

    /// The produced channels as a set (names already validated).
    pub(crate) fn produced_set(&self) -> ChannelSet {
        ChannelSet::from_names(self.channels.iter().map(String::as_str))
    }

    /// The replay channels as a set (names already validated).
    pub(crate) fn replay_set(&self) -> ChannelSet {
        ChannelSet::from_names(self.replay_channels.iter().map(String::as_str))
    }
}

/// One data message as the simulator produced it (see [`StreamRecorder`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedMessage {
    /// Channel name, one of [`PRODUCED_CHANNELS`].
    pub channel: &'static str,
    /// The entryId as `(ts_ms, seq)`.
    pub entry_id: (u64, u64),
    /// The message's `ts` in UTC milliseconds.
    pub ts: u64,
    /// The JSON envelope exactly as the simulator encodes it.
    pub json: String,
}

/// A shared, append-only record of the data messages one or more simulators
/// produced ([`WsSimConfig::record`]): the reference a test compares a
/// client's output with.
///
/// Clones share the same record. Two recorders compare equal when they are
/// the same record. `Debug` shows only the number of messages.
///
/// ```
/// use oddsfeed_sim::ws::{StreamRecorder, WsSimConfig};
///
/// let recorder = StreamRecorder::new();
/// let mut cfg = WsSimConfig::default();
/// cfg.record = Some(recorder.clone());
/// assert!(recorder.is_empty());
/// assert_eq!(cfg.record, Some(recorder));
/// ```
#[derive(Clone, Default)]
pub struct StreamRecorder(Arc<Mutex<Vec<RecordedMessage>>>);

impl StreamRecorder {
    /// An empty record.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Messages recorded so far.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded yet.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// A copy of every message recorded so far, in production order.
    #[must_use]
    pub fn messages(&self) -> Vec<RecordedMessage> {
        self.lock().clone()
    }

    /// Appends one message.
    pub(crate) fn push(&self, message: RecordedMessage) {
        self.lock().push(message);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RecordedMessage>> {
        // A panic elsewhere while pushing leaves a consistent Vec: carry on.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl PartialEq for StreamRecorder {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for StreamRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamRecorder")
            .field("messages", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_protocol() {
        let cfg = WsSimConfig::default();
        assert_eq!(cfg.api_key, None);
        assert_eq!(cfg.max_connections_per_key, 5);
        assert_eq!(cfg.login_timeout, Duration::from_secs(10));
        assert_eq!(cfg.ping_interval, Duration::from_secs(15));
        assert_eq!(cfg.idle_timeout, Duration::from_secs(45));
        assert_eq!(cfg.outbound_queue_bytes, 16 << 20);
        assert_eq!(cfg.reconnect_grace, Duration::from_secs(3));
        assert_eq!(cfg.max_inbound, 1 << 20);
        assert_eq!(
            cfg.channels,
            ["odds", "fixtures", "bookmakers", "scores", "clocks"]
        );
        cfg.validate().unwrap();
    }

    #[test]
    fn debug_hides_the_key() {
        let cfg = WsSimConfig {
            api_key: Some("s3cret-key".into()),
            ..WsSimConfig::default()
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains("s3cret-key"), "{text}");
        assert!(text.contains("api_key: Some(\"***\")"), "{text}");
    }

    #[test]
    fn recorder_clones_share_one_record() {
        let recorder = StreamRecorder::new();
        let clone = recorder.clone();
        clone.push(RecordedMessage {
            channel: "scores",
            entry_id: (1_766_418_736_962, 198),
            ts: 1_766_418_736_962,
            json: "{}".into(),
        });
        assert_eq!(recorder.len(), 1);
        assert_eq!(recorder.messages()[0].entry_id, (1_766_418_736_962, 198));
        assert_eq!(recorder, clone);
        assert_ne!(recorder, StreamRecorder::new());
        assert_eq!(format!("{recorder:?}"), "StreamRecorder { messages: 1 }");
    }

    #[test]
    fn validate_lists_every_problem() {
        let cfg = WsSimConfig {
            rate: Some(0.0),
            replay_channels: vec!["futures".into()],
            max_connections_per_key: 0,
            ping_interval: Duration::ZERO,
            ..WsSimConfig::default()
        };
        let err = cfg.validate().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "invalid sim ws configuration: rate must be a positive number, got 0; \
             unknown channel \"futures\" (known: odds, fixtures, bookmakers, scores, clocks); \
             max_connections_per_key must be at least 1; ping_interval must be positive"
        );
    }
}
