//! The listener, the shared state of one simulator, and the paced producer.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::Instant;

use super::channels::ChannelSet;
use super::config::{RecordedMessage, StreamRecorder, WsSimConfig};
use super::conn;
use super::log::{LogLimits, MessageSource, Produced, StreamLog};
use super::recorded::RecordingSource;
use super::stats::{Counters, SimStats};
use crate::ws_gen::WsGenerator;

/// How long [`WsSimHandle::shutdown`] waits for connections to say goodbye.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

/// The seeded payload generator as the log's message source, copying each
/// message to the configured [`StreamRecorder`], if any.
pub(crate) struct GenSource {
    generator: WsGenerator,
    record: Option<StreamRecorder>,
}

impl MessageSource for GenSource {
    fn produce(&mut self, now_ms: u64) -> Option<Produced> {
        let msg = self.generator.next(now_ms);
        let msg = Produced {
            channel: msg.channel,
            entry_id: msg.entry_id,
            ts: msg.ts,
            json: msg.json,
        };
        copy_to(self.record.as_ref(), &msg);
        Some(msg)
    }
}

/// A recording's data messages as the log's message source (`sim ws --replay`), copying each
/// to the configured [`StreamRecorder`], if any.
pub(crate) struct ReplaySource {
    recording: RecordingSource,
    record: Option<StreamRecorder>,
}

impl MessageSource for ReplaySource {
    fn produce(&mut self, now_ms: u64) -> Option<Produced> {
        let msg = self.recording.produce(now_ms)?;
        copy_to(self.record.as_ref(), &msg);
        Some(msg)
    }
}

fn copy_to(record: Option<&StreamRecorder>, msg: &Produced) {
    if let Some(record) = record {
        record.push(RecordedMessage {
            channel: msg.channel,
            entry_id: msg.entry_id,
            ts: msg.ts,
            json: msg.json.clone(),
        });
    }
}

/// Where the simulator's stream comes from.
pub(crate) enum Source {
    /// The seeded generator.
    Gen(GenSource),
    /// A recording (boxed: its decoder state is large).
    Replay(Box<ReplaySource>),
}

impl MessageSource for Source {
    fn produce(&mut self, now_ms: u64) -> Option<Produced> {
        match self {
            Source::Gen(source) => source.produce(now_ms),
            Source::Replay(source) => source.produce(now_ms),
        }
    }
}

/// Whether each one-shot fault has fired.
#[derive(Debug, Default)]
pub(crate) struct FaultFlags {
    pub bomb: AtomicBool,
    pub unknown_dict: AtomicBool,
    pub bad_json: AtomicBool,
    pub dense: AtomicBool,
}

/// State shared by the listener, the producer and every connection.
pub(crate) struct Shared {
    pub cfg: WsSimConfig,
    pub produced: ChannelSet,
    log: Mutex<StreamLog<Source>>,
    /// Bumped by the paced producer after each append.
    pub head: watch::Sender<u64>,
    keys: Mutex<HashMap<String, usize>>,
    pub counters: Counters,
    pub faults: FaultFlags,
}

/// The log behind its lock.
pub(crate) type LogGuard<'a> = MutexGuard<'a, StreamLog<Source>>;

impl Shared {
    /// Locks the log (a poisoned lock is taken over: the log stays consistent
    /// between calls).
    pub(crate) fn log(&self) -> LogGuard<'_> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a logged-in connection for `key`; `None` when the key is at its
    /// limit.
    pub(crate) fn acquire_key(self: &Arc<Self>, key: &str) -> Option<KeyGuard> {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let count = keys.entry(key.to_owned()).or_insert(0);
        if *count >= self.cfg.max_connections_per_key {
            return None;
        }
        *count += 1;
        Counters::bump(&self.counters.active_connections);
        Some(KeyGuard {
            shared: Arc::clone(self),
            key: key.to_owned(),
        })
    }

    fn stats(&self) -> SimStats {
        let mut stats = SimStats::default();
        {
            let log = self.log();
            stats.messages_generated = log.produced();
            stats.per_channel = log
                .per_channel()
                .iter()
                .map(|(ch, n)| ((*ch).to_owned(), *n))
                .collect();
        }
        self.counters.fill(&mut stats);
        stats
    }
}

/// A logged-in connection's slot in its key's connection count.
pub(crate) struct KeyGuard {
    shared: Arc<Shared>,
    key: String,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        let mut keys = self
            .shared
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = keys.get_mut(&self.key) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                keys.remove(&self.key);
            }
        }
        self.shared
            .counters
            .active_connections
            .fetch_sub(1, Ordering::Relaxed);
    }
}

/// Wall-clock time in UTC milliseconds.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A fresh `serverEpoch`: 32 lowercase hex digits, random per call (not from
/// the seed, so a restarted simulator never reuses an epoch).
pub(crate) fn new_epoch() -> String {
    let mut rng = fastrand::Rng::new();
    format!("{:016x}{:016x}", rng.u64(..), rng.u64(..))
}

/// A WebSocket simulator bound to its port, not yet serving.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use oddsfeed_sim::ws::{WsSim, WsSimConfig};
///
/// let mut cfg = WsSimConfig::default();
/// cfg.messages = Some(1000);
/// let sim = WsSim::bind("127.0.0.1:0".parse().unwrap(), cfg)?;
/// let handle = sim.spawn();
/// println!("ws://{}/ws", handle.local_addr());
/// // ... run a client ...
/// println!("{:?}", handle.stats());
/// handle.shutdown().await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct WsSim {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    cfg: WsSimConfig,
    /// The opened recording of [`WsSimConfig::replay`].
    recording: Option<RecordingSource>,
}

impl WsSim {
    /// Validates `cfg`, opens the recording it names to serve ([`WsSimConfig::replay`]), and
    /// binds `addr` (port 0 picks a free port). Needs no runtime; serving does.
    ///
    /// # Errors
    ///
    /// An invalid configuration ([`WsSimConfig::validate`]), a recording that cannot be read or
    /// is not a WebSocket recording, or a bind failure.
    pub fn bind(addr: SocketAddr, cfg: WsSimConfig) -> io::Result<WsSim> {
        cfg.validate()?;
        let recording = match &cfg.replay {
            Some(path) => Some(RecordingSource::open(path).map_err(|e| {
                io::Error::new(e.kind(), format!("recording {}: {e}", path.display()))
            })?),
            None => None,
        };
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local_addr = listener.local_addr()?;
        Ok(WsSim {
            listener,
            local_addr,
            cfg,
            recording,
        })
    }

    /// The address actually bound.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until the process ends. Must run inside a tokio runtime with IO
    /// and time enabled.
    ///
    /// # Errors
    ///
    /// Registering the listener with the runtime failed.
    pub async fn run(mut self) -> io::Result<()> {
        let (_keep, shutdown) = watch::channel(false);
        let shared = self.shared()?;
        serve(self.listener, shared, shutdown).await
    }

    /// Serves on a new task; the handle reads statistics and shuts it down.
    /// Dropping the handle also stops the simulator (without waiting).
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime (as [`tokio::spawn`]).
    #[must_use]
    pub fn spawn(mut self) -> WsSimHandle {
        let (shutdown_tx, shutdown) = watch::channel(false);
        let local_addr = self.local_addr;
        let shared = self.shared();
        let state = shared.as_ref().ok().map(Arc::clone);
        let task = tokio::spawn(async move { serve(self.listener, shared?, shutdown).await });
        WsSimHandle {
            local_addr,
            shared: state,
            shutdown: shutdown_tx,
            task,
        }
    }

    fn shared(&mut self) -> io::Result<Arc<Shared>> {
        let cfg = self.cfg.clone();
        let produced = cfg.produced_set();
        let source = match self.recording.take() {
            Some(recording) => Source::Replay(Box::new(ReplaySource {
                recording,
                record: cfg.record.clone(),
            })),
            None => Source::Gen(GenSource {
                generator: WsGenerator::new(cfg.seed)
                    .with_channels(&produced.names())
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?,
                record: cfg.record.clone(),
            }),
        };
        let limits = LogLimits {
            live_max_bytes: cfg.outbound_queue_bytes,
            replay_window_ms: cfg.replay_window_ms,
            replay_max_entries: cfg.replay_max_entries,
            messages: cfg.messages,
            // A recording's messages keep their recorded `ts`.
            data_clock: matches!(source, Source::Replay(_)),
        };
        let log = StreamLog::new(source, limits, cfg.replay_set(), new_epoch());
        let (head, _) = watch::channel(0);
        Ok(Arc::new(Shared {
            cfg,
            produced,
            log: Mutex::new(log),
            head,
            keys: Mutex::new(HashMap::new()),
            counters: Counters::default(),
            faults: FaultFlags::default(),
        }))
    }
}

/// A simulator running on its own task ([`WsSim::spawn`]).
#[derive(Debug)]
pub struct WsSimHandle {
    local_addr: SocketAddr,
    shared: Option<Arc<Shared>>,
    shutdown: watch::Sender<bool>,
    task: JoinHandle<io::Result<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl WsSimHandle {
    /// The address the simulator listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the simulator has done so far.
    #[must_use]
    pub fn stats(&self) -> SimStats {
        self.shared.as_ref().map(|s| s.stats()).unwrap_or_default()
    }

    /// Stops accepting, closes every connection with 1001 and waits (up to a
    /// few seconds) for the connections to finish.
    ///
    /// # Errors
    ///
    /// The serving task failed (e.g. the listener could not be registered).
    pub async fn shutdown(self) -> io::Result<()> {
        self.shutdown.send_replace(true);
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(io::Error::other(e.to_string())),
        }
    }
}

/// The accept loop (plus the paced producer when `rate` is set).
async fn serve(
    listener: std::net::TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    tracing::info!(addr = %listener.local_addr()?, "sim ws listening");
    let mut tasks = JoinSet::new();
    if let Some(rate) = shared.cfg.rate {
        tasks.spawn(produce_paced(Arc::clone(&shared), rate, shutdown.clone()));
    }
    let for_connections = shutdown.clone();
    loop {
        while tasks.try_join_next().is_some() {}
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    tasks.spawn(conn::serve(Arc::clone(&shared), tcp, peer, for_connections.clone()));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = stopped(&mut shutdown) => break,
        }
    }
    drop(listener);
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while let Ok(Some(_)) = tokio::time::timeout_at(deadline, tasks.join_next()).await {}
    tasks.shutdown().await;
    tracing::info!("sim ws stopped");
    Ok(())
}

/// Appends messages at `rate` per second until the stream ends or shutdown.
async fn produce_paced(shared: Arc<Shared>, rate: f64, mut shutdown: watch::Receiver<bool>) {
    /// Most messages appended in one go when the producer fell behind.
    const MAX_BURST: u64 = 1000;
    let start = Instant::now();
    let mut made: u64 = 0;
    loop {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let due = (start.elapsed().as_secs_f64() * rate) as u64 + 1;
        let mut ended = false;
        if due > made {
            let n = (due - made).min(MAX_BURST);
            let mut log = shared.log();
            let now = now_ms();
            for _ in 0..n {
                if log.produce(now).is_none() {
                    ended = true;
                    break;
                }
            }
            made += n;
            let head = log.produced();
            drop(log);
            shared.head.send_replace(head);
        }
        if ended || shared.log().exhausted() {
            shared.head.send_modify(|_| {});
            return;
        }
        #[allow(clippy::cast_precision_loss)]
        let next = start + Duration::from_secs_f64(made as f64 / rate);
        tokio::select! {
            () = tokio::time::sleep_until(next) => {}
            () = stopped(&mut shutdown) => return,
        }
    }
}

/// Resolves once shutdown is requested (or the handle is gone).
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: nobody can stop us any more, but
    // treating it as a stop is the safe reading.
    let _ = shutdown.wait_for(|stop| *stop).await;
}
