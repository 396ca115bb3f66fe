//! [`WsClient`]: the application's handle on a running WebSocket feed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::Stream;
use oddsfeed_book::ws::WsBook;
use oddsfeed_model::{EntryId, ResumeState};
use oddsfeed_session::ws::{Stats, WarningKind, WsSession};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::WsClientConfig;
use super::driver::{Batch, Driver, Shared};
use super::error::WsError;
use super::event::WsEvent;
use super::tls;
use super::transport::Connect;
use crate::clock;
use crate::health::WsHealth;
use crate::latency::{DeliveryLatency, LatencySummary};
use crate::record::{Finished, Tee};
use crate::state::CursorStore;
use crate::stats::{FeedKind, FeedMetrics, FeedStats};

/// How long [`WsClient::close`] waits for the driver to close its connections.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// The most events the driver hands over in one batch. Handing over a batch of events costs about
/// what handing over one event costs (a wake-up of the application's thread when it waits), so the
/// driver decodes every frame the socket already holds and passes their events on together.
pub(crate) const MAX_BATCH: usize = 64;

/// How many channels [`WsClient`] remembers taken data for between two lock-taking updates of the
/// session's consumed cursors.
const CONSUMED_CHANNELS: usize = 64;

/// The queue between the driver and the application for a bound of `events`: batches of at most
/// `batch` events, `slots` of them, so that `batch * slots <= events` (and at least one slot).
pub(crate) fn queue_shape(events: usize) -> (usize, usize) {
    let batch = events.clamp(1, MAX_BATCH);
    (batch, (events / batch).max(1))
}

/// Counters of a client run: the session's, plus the transport's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientStats {
    /// The session's counters (frames, bytes, data delivered, duplicates, decode errors by reason,
    /// dictionaries, connections).
    pub session: Stats,
    /// Bytes of WebSocket message payloads received (text and binary), as they travelled.
    pub wire_bytes: u64,
    /// Messages the WebSocket layer refused as larger than `max_frame` (each ended a connection).
    pub frames_too_large: u64,
    /// Connection attempts started.
    pub connect_attempts: u64,
}

impl ClientStats {
    /// Every frame lost to a decode error, the WebSocket layer's `frame_too_large` included.
    #[must_use]
    pub fn decode_errors_total(&self) -> u64 {
        self.session.decode_errors_total() + self.frames_too_large
    }
}

/// A running WebSocket feed client.
///
/// [`connect`](Self::connect) spawns a driver task that connects, logs in, decodes, deduplicates,
/// pings, reconnects with backoff and resumes from its cursors; the application reads what happens
/// with [`next`](Self::next), in order.
///
/// # Backpressure and memory
///
/// The driver hands events over through a bounded queue
/// ([`WsClientConfigBuilder::event_queue`](super::WsClientConfigBuilder::event_queue), default
/// 1024 events), in batches of up to 64: every frame the socket already holds is decoded before
/// the batch goes, so a busy feed costs one hand-over (and at most one wake-up of the application's
/// thread) per batch rather than per message. When the application reads more slowly than the feed
/// arrives, the queue fills, the driver waits for room and stops reading the socket, and the server
/// sees TCP backpressure. The real server may then close with 4002 ("slow client"); the client
/// reports it, reconnects and resumes (replayable channels lose nothing; others get a
/// `snapshot_required`). Memory stays bounded: at most `event_queue` events wait in the queue, plus
/// the batch the application is reading and the one the driver is filling (64 frames' events),
/// each event at most one decoded message (itself bounded by `max_decompressed`).
///
/// While the driver waits for room it also answers no Ping and runs no timer; the session's
/// dead-connection check counts from the last frame it was given, so a long stall of the
/// application can end in a reconnect, never in lost or duplicated data.
///
/// # Cursors
///
/// Receiving a [`WsEvent::Data`] from [`next`](Self::next) marks that message as consumed: its
/// entryId becomes the channel's persisted cursor ([`resume_state`](Self::resume_state)). With a
/// [`CursorStore`] configured, the cursors are loaded when connecting and saved at most every
/// `save_interval` from [`next`](Self::next) (everything taken *before* that call counts as
/// handled), by [`save_state`](Self::save_state), and by [`close`](Self::close).
///
/// ```no_run
/// use oddsfeed::ws::{WsEvent, WsClient, WsClientConfig};
/// use oddsfeed_model::ApiKey;
///
/// # async fn run() -> Result<(), oddsfeed::ws::WsError> {
/// let config = WsClientConfig::builder("wss://v5.oddspapi.io/ws", ApiKey::new("KEY")).build()?;
/// let mut client = WsClient::connect(config).await?;
/// while let Some(event) = client.next().await {
///     match event {
///         WsEvent::Data(msg) => println!("{}", msg.raw),
///         WsEvent::Fatal(error) => return Err(error),
///         other => eprintln!("{}", other.name()),
///     }
/// }
/// client.close().await
/// # }
/// ```
pub struct WsClient {
    rx: mpsc::Receiver<Batch>,
    /// When the driver read the first frame of the batch being read.
    batch_read_at: Option<std::time::Instant>,
    /// Read-to-taken time of every data message taken.
    latency: DeliveryLatency,
    /// Events to hand out before the next batch: health changes, and what
    /// [`connect`](Self::connect) read while waiting for the login.
    pending: VecDeque<WsEvent>,
    health: WsHealth,
    /// The rest of the batch being read.
    batch: std::vec::IntoIter<WsEvent>,
    /// Data taken since the session last heard of it: per channel seen, the newest entryId taken
    /// since (`None`: nothing new). Applied to the session (one lock) before the next batch is
    /// fetched and whenever the cursors are read, so taking a message never waits for the driver,
    /// which holds the session while it decodes.
    consumed: Vec<(String, Option<EntryId>)>,
    shared: Arc<Shared>,
    driver: Option<JoinHandle<()>>,
    shutdown: Option<oneshot::Sender<()>>,
    store: Arc<dyn CursorStore>,
    save_interval: Option<Duration>,
    last_save: Instant,
    saved: Option<ResumeState>,
    dirty: bool,
    ended: bool,
    /// The recording's writer thread, when recording.
    recording: Option<Finished>,
    /// The live book, when the configuration asked for it: applied in [`take`](Self::take).
    book: Option<WsBook>,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("store", &self.store)
            .field("save_interval", &self.save_interval)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl WsClient {
    /// Starts the client and waits until the feed is up: the server accepted the login
    /// (`login_ok`). Connection failures before that are retried with backoff as usual (wrap
    /// the call in [`tokio::time::timeout`] to bound the wait); every event read while waiting
    /// is kept and comes first from [`next`](Self::next).
    ///
    /// This is how an application normally starts a client; [`start`](Self::start) returns at
    /// once instead (for a program that shows the connection attempts as they happen).
    /// [`ImgClient::connect`](crate::img::ImgClient::connect) is the same for the IMG feed.
    ///
    /// # Errors
    ///
    /// What [`start`](Self::start) returns, and the run's fatal error when it ends before the
    /// login succeeds (a refused key: [`WsError::is_auth_refused`]; a `once` run whose
    /// connection failed).
    pub async fn connect(config: WsClientConfig) -> Result<Self, WsError> {
        let mut client = Self::start(config)?;
        let mut waiting = VecDeque::new();
        loop {
            let Some(event) = client.next().await else {
                return Err(WsError::Closed);
            };
            let up = matches!(event, WsEvent::Health(_) | WsEvent::Finished);
            match event {
                WsEvent::Fatal(error) => return Err(error),
                event => waiting.push_back(event),
            }
            if up {
                client.pending = waiting;
                return Ok(client);
            }
        }
    }

    /// A [`Stream`] of the client's events, for code that composes streams. The stream ends
    /// where [`next`](Self::next) returns `None`.
    pub fn into_stream(self) -> impl Stream<Item = WsEvent> + Send {
        futures_util::stream::unfold(self, |mut client| async move {
            client.next().await.map(|event| (event, client))
        })
    }

    /// Loads the cursors from the configured store and starts the driver task, without waiting
    /// for a connection. Must be called within a tokio runtime. The first events are [`WsEvent::Connecting`] and then the
    /// session's `connected` and `login_ok` (preceded by an `insecure_tls` warning when a
    /// `wss://` URL is used with [`TlsMode::InsecureNoVerify`](super::TlsMode::InsecureNoVerify)).
    ///
    /// # Errors
    ///
    /// [`WsError::State`] when the store cannot be read, [`WsError::Tls`] when TLS cannot
    /// be set up for a `wss://` URL, [`WsError::Config`] outside a tokio runtime.
    pub fn start(config: WsClientConfig) -> Result<Self, WsError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            WsError::Config("WsClient::start must be called within a tokio runtime".into())
        })?;
        let resume = config.store.load()?.unwrap_or_default();
        let tls = if config.is_tls() {
            Some(tls::client_config(&config.tls)?)
        } else {
            None
        };
        let url_for_logs = config.url_for_logs();
        let connect = Connect {
            url: config.url.clone(),
            tls,
            max_frame: config.session.max_frame,
            timeout: config.connect_timeout,
        };
        let mut session_config = config.session.clone();
        // The session draws its backoff jitter from this seed; one per client, so that clients
        // that lost the same server do not retry in lock-step.
        session_config.jitter_seed = clock::seed();
        let shared = Arc::new(Shared::new(
            WsSession::new(session_config, resume.clone()),
            config
                .metrics
                .clone()
                .unwrap_or_else(|| Arc::new(FeedMetrics::new(FeedKind::Ws))),
        ));
        let (batch_max, slots) = queue_shape(config.event_queue);
        let (tx, rx) = mpsc::channel(slots);
        if config.is_tls() && !config.tls.verifies() {
            tracing::warn!(url = %url_for_logs, "TLS certificate verification is disabled");
            // The queue is empty and at least one slot large: this cannot fail.
            let _ = tx.try_send(Batch {
                read_at: None,
                events: vec![WsEvent::Warning {
                    kind: WarningKind::InsecureTls,
                    detail:
                        "TLS certificate verification is disabled: anyone on the path can read \
                         and change the traffic"
                            .into(),
                }],
            });
        }
        let (tee, recording) = match &config.record {
            Some(path) => {
                let header = ws_header(&config, &resume);
                let (tee, finished) = Tee::create(path, &header).map_err(|e| {
                    WsError::Record(format!("cannot create {}: {e}", path.display()))
                })?;
                (Some(tee), Some(finished))
            }
            None => (None, None),
        };
        let (shutdown_tx, shutdown_rx) = oneshot::channel();
        let driver = Driver::new(
            Arc::clone(&shared),
            tx,
            batch_max,
            shutdown_rx,
            connect,
            url_for_logs,
            tee,
        );
        let handle = runtime.spawn(driver.run());
        Ok(Self {
            rx,
            pending: VecDeque::new(),
            health: WsHealth::default(),
            batch: Vec::new().into_iter(),
            batch_read_at: None,
            latency: DeliveryLatency::new(),
            consumed: Vec::new(),
            shared,
            driver: Some(handle),
            shutdown: Some(shutdown_tx),
            store: config.store,
            save_interval: config.save_interval,
            last_save: clock::tokio_now(),
            saved: Some(resume),
            dirty: false,
            ended: false,
            recording,
            book: config.keep_book.then(WsBook::new),
        })
    }

    /// The next event, waiting for one; `None` once the run has ended (after
    /// [`WsEvent::Fatal`] or [`WsEvent::Finished`], or after [`close`](Self::close)).
    ///
    /// Cancel-safe: dropping the future loses no event. Receiving a [`WsEvent::Data`] marks it
    /// consumed. While waiting, cursors are saved to the store when `save_interval` has passed
    /// since the last save; a failed save ends the run with [`WsEvent::Fatal`].
    pub async fn next(&mut self) -> Option<WsEvent> {
        loop {
            if let Some(fatal) = self.autosave_if_due().await {
                return Some(fatal);
            }
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if let Some(event) = self.batch.next() {
                return self.take(Some(event));
            }
            self.apply_consumed();
            let save_at = self.next_save_at();
            // Where this thread will sleep, for the driver's hand-over (ws/driver.rs).
            self.shared
                .app_cpu
                .store(crate::cpu::current(), std::sync::atomic::Ordering::Relaxed);
            let received = tokio::select! {
                batch = self.rx.recv() => batch,
                () = sleep_until_opt(save_at) => continue,
            };
            match received {
                // Batches are never empty; if one were, this loops to the next.
                Some(batch) => self.start_batch(batch),
                None => return self.take(None),
            }
        }
    }

    /// The next event if one is queued, without waiting; `None` when none is ready now (the
    /// feed is idle: a good moment to flush output) or when the run has ended (then
    /// [`next`](Self::next) returns `None` at once). The same shape as
    /// [`ImgClient::try_next`](crate::img::ImgClient::try_next). Unlike `next` it never saves
    /// the cursors (a save waits on the disk); the next call of `next` catches up.
    pub fn try_next(&mut self) -> Option<WsEvent> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some(event);
            }
            if let Some(event) = self.batch.next() {
                return self.take(Some(event));
            }
            self.apply_consumed();
            match self.rx.try_recv() {
                Ok(batch) => self.start_batch(batch),
                Err(TryRecvError::Disconnected) => {
                    self.ended = true;
                    return None;
                }
                Err(TryRecvError::Empty) => return None,
            }
        }
    }

    /// The resume state of everything the application has taken: the epoch and, per channel, the
    /// entryId of the last data message received from [`next`](Self::next).
    #[must_use]
    pub fn resume_state(&self) -> ResumeState {
        let mut session = self.shared.lock();
        mark_consumed(&mut session, &self.consumed);
        session.resume_state()
    }

    /// The live book of everything taken so far, when
    /// [`keep_book`](super::WsClientConfigBuilder::keep_book) was set.
    ///
    /// The book is applied on the application's side, as each event is taken from
    /// [`next`](Self::next) or [`try_next`](Self::try_next) (data messages, and
    /// `snapshot_required` for channel staleness), with the time it was taken as its arrival
    /// time. Reading it never waits for the driver, and between two calls to `next` it is
    /// exactly the state of the messages the application has seen.
    #[must_use]
    pub fn book(&self) -> Option<&WsBook> {
        self.book.as_ref()
    }

    /// The live book, mutable: to [`mark_fresh`](WsBook::mark_fresh) a channel once the
    /// application has reloaded it.
    pub fn book_mut(&mut self) -> Option<&mut WsBook> {
        self.book.as_mut()
    }

    /// The counts of the run so far (messages per channel, frames, bytes, decode errors,
    /// reconnects): the keys of the CLI's `stats` event. Messages, decode errors and reconnects
    /// count what the application has taken from [`next`](Self::next).
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        self.shared.metrics.stats()
    }

    /// Percentiles of the time each data message taken so far spent inside the client, from the
    /// driver reading its frame off the socket to the application taking it (see
    /// [`crate::latency`] for what the span covers); `None` before the first message.
    #[must_use]
    pub fn delivery_latency(&self) -> Option<LatencySummary> {
        self.latency.summary()
    }

    /// The recorder behind [`stats`](Self::stats), with the lag histogram and the gauges, to
    /// export (see `oddsfeed::metrics` with the `prometheus` feature).
    #[must_use]
    pub fn metrics(&self) -> Arc<FeedMetrics> {
        Arc::clone(&self.shared.metrics)
    }

    /// The session's and the transport's detailed counters (duplicates dropped, dictionaries,
    /// frames refused as too large, connect attempts, ...).
    #[must_use]
    pub fn detailed_stats(&self) -> ClientStats {
        let session = self.shared.lock().stats().clone();
        let c = &self.shared.counters;
        ClientStats {
            session,
            wire_bytes: c.wire_bytes.load(Ordering::Relaxed),
            frames_too_large: c.frames_too_large.load(Ordering::Relaxed),
            connect_attempts: c.connect_attempts.load(Ordering::Relaxed),
        }
    }

    /// Saves the current [`resume_state`](Self::resume_state) to the store now (skipped when it
    /// has not changed since the last save).
    ///
    /// # Errors
    ///
    /// [`WsError::State`] when the store cannot write.
    ///
    /// The store's write (for [`FileStore`](crate::state::FileStore): write, fsync, rename,
    /// directory fsync) runs on tokio's blocking pool, never on the runtime thread that drives
    /// connections.
    pub async fn save_state(&mut self) -> Result<(), WsError> {
        self.apply_consumed();
        let state = self.resume_state();
        self.last_save = clock::tokio_now();
        self.dirty = false;
        if self.saved.as_ref() == Some(&state) {
            return Ok(());
        }
        let store = Arc::clone(&self.store);
        let to_save = state.clone();
        match tokio::task::spawn_blocking(move || store.save(&to_save)).await {
            Ok(result) => result?,
            Err(join) => {
                self.dirty = true;
                return Err(WsError::State(crate::state::StateError::Io {
                    path: "<cursor store>".into(),
                    source: std::io::Error::other(format!("the save task failed: {join}")),
                }));
            }
        }
        self.saved = Some(state);
        Ok(())
    }

    /// Stops the driver (closing its connections with 1000, waiting up to 2 s), saves the
    /// cursors a last time, and, when recording, waits for the recording to be written and
    /// synced.
    ///
    /// # Errors
    ///
    /// [`WsError::State`] when the final save fails, [`WsError::Record`] when the
    /// recording could not be finished.
    pub async fn close(mut self) -> Result<(), WsError> {
        self.stop_driver().await;
        let saved = self.save_state().await;
        if let Some(recording) = self.recording.take() {
            recording.wait().await.map_err(WsError::Record)?;
        }
        saved
    }

    async fn stop_driver(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.rx.close();
        self.batch = Vec::new().into_iter();
        if let Some(handle) = self.driver.take() {
            // The driver only waits on the queue (closed now) or on sockets (it watches shutdown).
            let _ = tokio::time::timeout(CLOSE_WAIT, handle).await;
        }
        self.ended = true;
    }

    fn start_batch(&mut self, batch: Batch) {
        self.batch = batch.events.into_iter();
        self.batch_read_at = batch.read_at;
    }

    fn take(&mut self, received: Option<WsEvent>) -> Option<WsEvent> {
        let Some(event) = received else {
            self.ended = true;
            return None;
        };
        if let WsEvent::Data(msg) = &event {
            if let Some(read_at) = self.batch_read_at {
                self.latency
                    .record(clock::now().saturating_duration_since(read_at));
            }
            if let Some(id) = msg.entry_id {
                self.note_consumed(&msg.channel, id);
            }
        }
        count_taken(&self.shared.metrics, &event);
        if let Some(book) = &mut self.book {
            event.apply_to(book, clock::now());
        }
        // Any event may change the state (a new epoch, cleared cursors): look at it on the next
        // save.
        self.dirty = true;
        if event.is_terminal() {
            self.ended = true;
        }
        if let WsEvent::Session(session) = &event
            && let Some(change) = self.health.observe(session)
        {
            self.pending.push_back(WsEvent::Health(change));
        }
        Some(event)
    }

    /// Remembers that data up to `id` on `channel` was taken (see `consumed`).
    fn note_consumed(&mut self, channel: &str, id: EntryId) {
        match self.consumed.iter_mut().find(|(ch, _)| ch == channel) {
            // The last taken is the newest: the session delivers a channel's data in order.
            Some((_, last)) => *last = Some(id),
            None => {
                if self.consumed.len() >= CONSUMED_CHANNELS {
                    // A feed with very many channels: keep the list short.
                    self.apply_consumed();
                    self.consumed.clear();
                }
                self.consumed.push((channel.to_owned(), Some(id)));
            }
        }
    }

    /// Tells the session what was taken since it last heard (one lock, none when nothing was).
    fn apply_consumed(&mut self) {
        if self.consumed.iter().all(|(_, id)| id.is_none()) {
            return;
        }
        mark_consumed(&mut self.shared.lock(), &self.consumed);
        for (_, id) in &mut self.consumed {
            *id = None;
        }
    }

    /// Whether the cursors are due for a save: something was taken since the last save and
    /// `save_interval` has passed. [`next`](Self::next) saves by itself when this holds; a
    /// program that must do something first (the CLI flushes stdout, so that what is saved was
    /// printed) checks it after taking events with [`try_next`](Self::try_next) and calls
    /// [`save_state`](Self::save_state).
    #[must_use]
    pub fn save_due(&self) -> bool {
        self.next_save_at()
            .is_some_and(|at| clock::tokio_now() >= at)
    }

    fn next_save_at(&self) -> Option<Instant> {
        match self.save_interval {
            Some(interval) if self.dirty => Some(self.last_save + interval),
            _ => None,
        }
    }

    async fn autosave_if_due(&mut self) -> Option<WsEvent> {
        if !self.save_due() {
            return None;
        }
        match self.save_state().await {
            Ok(()) => None,
            Err(error) => {
                if let Some(shutdown) = self.shutdown.take() {
                    let _ = shutdown.send(());
                }
                self.rx.close();
                self.ended = true;
                Some(WsEvent::Fatal(error))
            }
        }
    }
}

impl Drop for WsClient {
    fn drop(&mut self) {
        // Dropping the shutdown sender wakes the driver, which closes its connections.
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Counts an event the application has taken (see [`crate::stats`] for what is counted where).
fn count_taken(metrics: &FeedMetrics, event: &WsEvent) {
    count_event(metrics, event, crate::stats::lag_since_millis);
}

/// Counts one event of the client's stream, the lag of a data message being `lag(ts)` (seconds;
/// the live client measures it against the wall clock, a replay against the recorded arrival).
pub(crate) fn count_event(metrics: &FeedMetrics, event: &WsEvent, lag: impl Fn(u64) -> f64) {
    use oddsfeed_session::ws::Event;
    match event {
        WsEvent::Data(msg) => {
            metrics.record_message(&msg.channel, msg.ts.map(lag));
        }
        WsEvent::Session(session) => match session {
            Event::DecodeError(error) if error.kind.drops_frame() => {
                metrics.record_decode_error(error.kind.as_str());
            }
            Event::Connected { .. } => metrics.record_connection(),
            Event::LoginOk { conn, .. } => metrics.record_logged_in(conn.get()),
            Event::Disconnected { conn, .. } => {
                metrics.record_disconnected(conn.map(|c| c.get()));
            }
            Event::SnapshotRequired {
                reason, channels, ..
            } => {
                for channel in channels {
                    metrics.record_snapshot_required(channel, reason);
                }
            }
            _ => {}
        },
        WsEvent::Fatal(_) | WsEvent::Finished => metrics.record_disconnected(None),
        _ => {}
    }
}

/// The recording header of a WebSocket run: the requested receive type and the cursors the run
/// starts from, so a replay takes the same decisions (never the key).
fn ws_header(config: &WsClientConfig, resume: &ResumeState) -> oddsfeed_record::Header {
    let meta = serde_json::json!({
        "receiveType": config.session.receive_type.as_str(),
        "maxFrame": config.session.max_frame,
        "maxDecompressed": config.session.max_decompressed,
        "resume": resume,
    });
    oddsfeed_record::Header::new(oddsfeed_record::Feed::Ws, crate::record::now_ns())
        .with_meta(meta.to_string())
}

/// Tells `session` the newest entryId taken per channel (see `WsClient::consumed`).
fn mark_consumed(session: &mut WsSession, consumed: &[(String, Option<EntryId>)]) {
    for (channel, id) in consumed {
        if let Some(id) = id {
            session.handle_consumed(channel, *id);
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_shape_never_holds_more_than_the_bound() {
        for events in [1, 2, 63, 64, 65, 100, 1000, 1024, 5000] {
            let (batch, slots) = queue_shape(events);
            assert!((1..=MAX_BATCH).contains(&batch), "{events}: batch {batch}");
            assert!(slots >= 1, "{events}: slots {slots}");
            assert!(batch * slots <= events, "{events}: {batch} x {slots}");
        }
        assert_eq!(queue_shape(1024), (64, 16));
        assert_eq!(queue_shape(10), (10, 1));
        // 100 events: one batch of 64 fits, a second would not.
        assert_eq!(queue_shape(100), (64, 1));
    }
}
