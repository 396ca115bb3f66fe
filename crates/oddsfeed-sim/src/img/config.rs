//! Configuration of the IMG-style simulator: timings, limits, fault flags and
//! the protocol choices docs/PROTOCOL.md marks `[C]`.

use std::time::Duration;

/// Everything one `sim img` server needs to know, shared by all its sessions.
///
/// Build it with [`ImgSimConfig::default`] and change the fields you need; the
/// struct is `#[non_exhaustive]` so that new knobs can be added later.
///
/// ```
/// use std::time::Duration;
/// use oddsfeed_sim::img::ImgSimConfig;
///
/// let mut cfg = ImgSimConfig::default();
/// cfg.heartbeat_ms = 100;
/// cfg.init_deadline = Duration::from_millis(300);
/// cfg.messages = Some(50);
/// assert_eq!(cfg.max_line_bytes, 4 << 20);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ImgSimConfig {
    /// Interval between heartbeat pushes once a session is initialized, in
    /// milliseconds. Default 3000 (docs/PROTOCOL.md A.6). `0` disables heartbeats.
    pub heartbeat_ms: u64,
    /// How many non-heartbeat pushes (the snapshot included) a connection gets
    /// before the server closes it. Default `None`: no limit, run forever.
    pub messages: Option<u64>,
    /// Seed of the generated golf world, of prices and of session ids. The same
    /// seed gives the same world and, per connection index, the same pushes.
    /// Default 1.
    pub seed: u64,
    /// How long a client may take to send `init` after connecting before the
    /// `no init sent` notice and the close. Default 10 s (docs/PROTOCOL.md A.2).
    pub init_deadline: Duration,
    /// Pace of live pushes once a subscription exists: one market change per
    /// interval. Default 20 ms. `Duration::ZERO` = as fast as the reader takes
    /// them (paced by the outbound queue, so never a `slow reader` for that).
    pub update_interval: Duration,
    /// Fault injection (docs/PROTOCOL.md A.9). Default: no faults.
    pub faults: ImgFaults,
    /// Bound of the per-connection outbound queue, in bytes. A line that would
    /// push the queue past it is not queued; a `slow reader` notice is sent
    /// instead and the connection closes. Default 8 MiB (docs/PROTOCOL.md A.8).
    /// Without a bound a stalled reader would make the server buffer without
    /// limit.
    pub max_outbound_bytes: usize,
    /// Longest request line accepted, in bytes, without its terminator. Longer
    /// lines are discarded up to the next line end and answered with
    /// `invalid request` (so are lines that are not UTF-8). Default 4 MiB
    /// (docs/PROTOCOL.md A.1); guards the server's memory against a client that
    /// never sends a newline.
    pub max_line_bytes: usize,
    /// Snapshot and subscription images are handed to the outbound queue only
    /// while it holds less than this many bytes, so heartbeats and responses
    /// are never stuck behind a long snapshot. Default 64 KiB. Keep it well
    /// below `max_outbound_bytes`, or a snapshot alone can overflow the queue.
    pub pace_watermark_bytes: usize,
    /// Once a session has decided to close, how long the server keeps trying to
    /// flush queued lines to a reader that does not read. Default 5 s.
    pub close_grace: Duration,
    /// Request names (docs/PROTOCOL.md A.4; `[C]` choices except `init`).
    pub names: ImgRequestNames,
    /// Keys of a subscription filter (docs/PROTOCOL.md A.4).
    pub filter_keys: ImgFilterKeys,
    /// `status` of a successful `init` response. Default `session initialized`.
    pub init_status: String,
    /// `status` of any other successful response. Default `ok`.
    pub ok_status: String,
    /// Size of the generated golf world.
    pub world: WorldConfig,
    /// Which RSA signature algorithms the SSH server announces (`server-sig-algs`) and
    /// accepts. Default [`SshRsaSignatures::Sha2Only`]: SHA-1 `ssh-rsa` signatures are
    /// refused, as OpenSSH >= 8.8 does.
    pub ssh_rsa_signatures: SshRsaSignatures,
}

/// RSA signature policy of the simulator's SSH server (see
/// [`ImgSimConfig::ssh_rsa_signatures`]). The non-default values imitate old
/// servers, so that tests can check what a client does with them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SshRsaSignatures {
    /// Announces `rsa-sha2-512` and `rsa-sha2-256`, accepts only those; an
    /// `ssh-rsa` (SHA-1) signature is refused like an unknown key.
    #[default]
    Sha2Only,
    /// Announces only `ssh-rsa` for RSA and accepts SHA-1 signatures (a server
    /// that predates RFC 8332).
    Sha1Only,
    /// Announces no RSA algorithm at all in `server-sig-algs` (what a client
    /// sees from a server without the extension, which russh always sends) and
    /// accepts every RSA signature.
    NotAnnounced,
}

impl Default for ImgSimConfig {
    fn default() -> Self {
        Self {
            heartbeat_ms: 3000,
            messages: None,
            seed: 1,
            init_deadline: Duration::from_secs(10),
            update_interval: Duration::from_millis(20),
            faults: ImgFaults::default(),
            max_outbound_bytes: 8 << 20,
            max_line_bytes: 4 << 20,
            pace_watermark_bytes: 64 << 10,
            close_grace: Duration::from_secs(5),
            names: ImgRequestNames::default(),
            filter_keys: ImgFilterKeys::default(),
            init_status: "session initialized".to_owned(),
            ok_status: "ok".to_owned(),
            world: WorldConfig::default(),
            ssh_rsa_signatures: SshRsaSignatures::default(),
        }
    }
}

/// Fault injection switches (docs/PROTOCOL.md A.9). All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImgFaults {
    /// Close the connection without a notice after this many non-heartbeat
    /// pushes (`--drop-after N`).
    pub drop_after: Option<u64>,
    /// Insert one line of invalid JSON right before the I-th (1-based)
    /// non-heartbeat push of each connection (`--bad-json-at I`). The push
    /// itself is still sent; the bad line does not count as a push.
    pub bad_json_at: Option<u64>,
    /// Stop heartbeats this long after `init`; other pushes go on
    /// (`--stall-heartbeats-after S`).
    pub stall_heartbeats_after: Option<Duration>,
    /// On the first connection a server accepts, right after the post-init
    /// snapshot: send a `slow reader` notice, then close (`--slow-reader-kick`).
    pub slow_reader_kick: bool,
}

/// Names of the requests the simulator understands.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImgRequestNames {
    /// Session start, documented by the vendor. Default `init`.
    pub init: String,
    /// Add a subscription. Default `subscribe`.
    pub subscribe: String,
    /// Remove a subscription with an equal filter. Default `unsubscribe`.
    pub unsubscribe: String,
}

impl Default for ImgRequestNames {
    fn default() -> Self {
        Self {
            init: "init".to_owned(),
            subscribe: "subscribe".to_owned(),
            unsubscribe: "unsubscribe".to_owned(),
        }
    }
}

/// Keys of a subscription filter object. Each key holds an array of ids.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImgFilterKeys {
    /// Restricts to markets of these events. Default `event_ids`.
    pub event_ids: String,
    /// Restricts to markets of these market types. Default `market_type_ids`.
    pub market_type_ids: String,
    /// Restricts to these markets. Default `market_ids`.
    pub market_ids: String,
}

impl Default for ImgFilterKeys {
    fn default() -> Self {
        Self {
            event_ids: "event_ids".to_owned(),
            market_type_ids: "market_type_ids".to_owned(),
            market_ids: "market_ids".to_owned(),
        }
    }
}

/// Size of the deterministic golf world.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorldConfig {
    /// Number of competitions (`comp.golf_1` ...). Default 3.
    pub competitions: usize,
    /// Events per competition. Every third event (the third, sixth, ...) has
    /// ended and is only part of an `include_finished` snapshot. Default 3.
    pub events_per_competition: usize,
    /// Players in each event's outright and top-5 markets. Default 8, at least 3
    /// are used.
    pub players_per_event: usize,
    /// 3-ball hole markets per event. Default 2.
    pub threeball_markets_per_event: usize,
}

impl Default for WorldConfig {
    fn default() -> Self {
        Self {
            competitions: 3,
            events_per_competition: 3,
            players_per_event: 8,
            threeball_markets_per_event: 2,
        }
    }
}
