//! [`ImgClient`]: the application's handle on a running IMG feed consumer.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use futures_util::Stream;
use oddsfeed_book::img::ImgBook;
use oddsfeed_model::img::{ImgTime, PushKind, Request};
use oddsfeed_session::img::{Event, RequestId};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::config::ImgClientConfig;
use super::driver::{self, Command, Item};
use super::error::ImgError;
use super::event::ImgEvent;
use crate::health::ImgHealth;
use crate::record::{Finished, Tee};
use crate::stats::{FeedKind, FeedMetrics, FeedStats};

/// How long [`ImgClient::close`] waits for the driver to stop.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A running IMG-style feed consumer.
///
/// [`ImgClient::connect`] spawns a driver task on the current tokio runtime and waits until the
/// session is initialised; [`ImgClient::start`] returns at once. The driver connects, sends
/// `init` and the standing requests, reads the feed, and reconnects with backoff (re-sending
/// `init` and the standing requests) until the run is over. Everything it has to say comes out
/// of [`next`](Self::next), in order, as for [`WsClient`](crate::ws::WsClient): data and
/// session events, [`ImgEvent::Health`] changes, and a last [`ImgEvent::Fatal`] or
/// [`ImgEvent::Finished`].
///
/// # Backpressure
///
/// Items wait in a bounded queue ([`ImgClientConfig::event_queue`]). When the application
/// does not call `next`, the queue fills and the driver stops reading the connection: nothing
/// is dropped, memory stays bounded, and the server's own outbound queue grows instead. A real
/// server (and the simulator) may then disconnect with `slow reader`; that notice is delivered
/// as an [`Event::Disconnect`](oddsfeed_session::img::Event::Disconnect) and the driver
/// reconnects. Liveness is measured on arrival at the driver, so a long stall of the
/// application can also surface as `heartbeat_stale`.
///
/// Dropping the client stops the driver and closes the connection.
#[derive(Debug)]
pub struct ImgClient {
    items: mpsc::Receiver<Item>,
    commands: mpsc::Sender<Command>,
    task: Option<JoinHandle<()>>,
    /// Events to hand out before the next item: health changes, and what
    /// [`connect`](Self::connect) read while waiting.
    pending: VecDeque<ImgEvent>,
    health: ImgHealth,
    done: bool,
    metrics: Arc<FeedMetrics>,
    count_heartbeats: bool,
    /// The recording's writer thread, when recording.
    recording: Option<Finished>,
    book: Option<ImgBook>,
}

impl ImgClient {
    /// Starts the client and waits until the feed is up (`session_initialized`). Connection
    /// failures before that are retried with backoff as usual (wrap the call in
    /// [`tokio::time::timeout`] to bound the wait); every event read while waiting is kept and
    /// comes first from [`next`](Self::next). The same shape as
    /// [`WsClient::connect`](crate::ws::WsClient::connect).
    ///
    /// # Errors
    ///
    /// What [`start`](Self::start) returns, and the run's fatal error when it ends before the
    /// session is initialised (an unknown or changed host key, refused authentication: see
    /// [`ImgError::is_auth_refused`]; a `once` run whose connection failed).
    pub async fn connect(config: ImgClientConfig) -> Result<Self, ImgError> {
        let mut client = Self::start(config)?;
        let mut waiting = VecDeque::new();
        loop {
            let Some(event) = client.next().await else {
                return Err(ImgError::Closed);
            };
            let up = matches!(event, ImgEvent::Health(_) | ImgEvent::Finished);
            match event {
                ImgEvent::Fatal(error) => return Err(error),
                event => waiting.push_back(event),
            }
            if up {
                client.pending = waiting;
                return Ok(client);
            }
        }
    }

    /// Starts the driver without waiting for a connection.
    ///
    /// # Errors
    ///
    /// [`ImgError::Config`] outside a tokio runtime.
    pub fn start(config: ImgClientConfig) -> Result<Self, ImgError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ImgError::Config("ImgClient::start must be called within a tokio runtime".into())
        })?;
        let (tee, recording) = match &config.record {
            Some(path) => {
                let (tee, finished) = Tee::create(path, &img_header(&config)).map_err(|e| {
                    ImgError::Record(format!("cannot create {}: {e}", path.display()))
                })?;
                (Some(tee), Some(finished))
            }
            None => (None, None),
        };
        let (tx, items) = mpsc::channel(config.event_queue.max(1));
        let (commands, command_rx) = mpsc::channel(16);
        let book = config.keep_book.then(ImgBook::new);
        let metrics = Arc::new(FeedMetrics::new(FeedKind::Img));
        let count_heartbeats = config.count_heartbeats;
        let task = runtime.spawn(driver::run(
            config,
            tx,
            command_rx,
            Arc::clone(&metrics),
            Ok(tee),
        ));
        Ok(Self {
            items,
            commands,
            task: Some(task),
            pending: VecDeque::new(),
            health: ImgHealth::default(),
            done: false,
            metrics,
            count_heartbeats,
            recording,
            book,
        })
    }

    /// The next event, waiting for one; `None` once the run has ended (after
    /// [`ImgEvent::Fatal`] or [`ImgEvent::Finished`], or after [`close`](Self::close)).
    pub async fn next(&mut self) -> Option<ImgEvent> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        if self.done {
            return None;
        }
        let item = self.items.recv().await;
        self.track(item)
    }

    /// The next event if one is ready now, without waiting (`None` also when none is ready).
    pub fn try_next(&mut self) -> Option<ImgEvent> {
        if let Some(event) = self.pending.pop_front() {
            return Some(event);
        }
        if self.done {
            return None;
        }
        match self.items.try_recv() {
            Ok(item) => self.track(Some(item)),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => {
                self.done = true;
                None
            }
        }
    }

    /// A [`Stream`] of the client's events, for code that composes streams. The stream ends
    /// where [`next`](Self::next) returns `None`.
    pub fn into_stream(self) -> impl Stream<Item = ImgEvent> + Send {
        futures_util::stream::unfold(self, |mut client| async move {
            client.next().await.map(|event| (event, client))
        })
    }

    /// Stops the driver and closes the connection, waiting up to 2 s for it to finish.
    pub async fn close(self) {
        if let Err(error) = self.finish().await {
            tracing::warn!(%error, "the recording was not finished");
        }
    }

    /// As [`close`](Self::close), but lets the driver hand its last recorded lines over first
    /// and waits for the recording (if any) to be written and synced.
    ///
    /// # Errors
    ///
    /// [`ImgError::Record`] when the recording could not be finished.
    pub async fn finish(mut self) -> Result<(), ImgError> {
        self.done = true;
        self.items.close();
        // Dropping the command sender tells the driver the application is gone.
        let (closed, _) = mpsc::channel(1);
        drop(std::mem::replace(&mut self.commands, closed));
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(CLOSE_WAIT, &mut task).await.is_err()
        {
            task.abort();
        }
        match self.recording.take() {
            Some(recording) => recording.wait().await.map_err(ImgError::Record),
            None => Ok(()),
        }
    }

    fn track(&mut self, item: Option<Result<ImgEvent, ImgError>>) -> Option<ImgEvent> {
        let event = match item {
            None => {
                self.done = true;
                self.metrics.record_disconnected(None);
                return None;
            }
            Some(Ok(event)) => event,
            Some(Err(error)) => ImgEvent::Fatal(error),
        };
        if event.is_terminal() {
            self.done = true;
            self.metrics.record_disconnected(None);
        } else {
            count_taken(&self.metrics, &event, self.count_heartbeats);
        }
        if let ImgEvent::Session(session) = &event
            && let Some(change) = self.health.observe(session)
        {
            self.pending.push_back(ImgEvent::Health(change));
        }
        if let Some(book) = &mut self.book {
            event.apply_to(book, crate::clock::now());
        }
        Some(event)
    }

    /// The counts of the run so far (messages per kind, lines, bytes, decode errors,
    /// reconnects): the keys of the CLI's `stats` event, as for
    /// [`WsClient::stats`](crate::ws::WsClient::stats). Messages, decode errors and reconnects
    /// count what the application has taken from [`next`](Self::next); heartbeats count only
    /// with [`ImgClientConfigBuilder::count_heartbeats`](super::ImgClientConfigBuilder::count_heartbeats).
    #[must_use]
    pub fn stats(&self) -> FeedStats {
        self.metrics.stats()
    }

    /// The recorder behind [`stats`](Self::stats), with the lag histogram and the gauges, to
    /// export (see `oddsfeed::metrics` with the `prometheus` feature).
    #[must_use]
    pub fn metrics(&self) -> Arc<FeedMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The live book of everything taken so far, when the configuration's
    /// [`keep_book`](super::ImgClientConfigBuilder::keep_book) was set.
    ///
    /// It is applied on the application's side as each item is taken from
    /// [`next`](Self::next) or [`try_next`](Self::try_next) (pushes, `session_initialized`,
    /// `heartbeat_stale` / `heartbeat_ok`, `disconnected`), with the time it was taken as
    /// its arrival time, so reading it never waits for the driver.
    #[must_use]
    pub fn book(&self) -> Option<&ImgBook> {
        self.book.as_ref()
    }

    /// Sends a one-shot request (queued until the next connect when disconnected); a
    /// `subscribe` becomes standing, an `unsubscribe` removes the equal standing subscribes.
    /// Returns the `request_id` it goes out with. Waits while the driver is busy delivering
    /// items (it takes requests between reads).
    ///
    /// # Errors
    ///
    /// [`ImgError::Request`] when the session refuses it (too many outstanding requests);
    /// [`ImgError::Closed`] when the driver is gone.
    pub async fn send_request(&self, request: Request) -> Result<RequestId, ImgError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Send { request, reply })
            .await
            .map_err(|_| ImgError::Closed)?;
        match answer.await {
            Ok(result) => result.map_err(ImgError::from),
            Err(_) => Err(ImgError::Closed),
        }
    }
}

/// Counts an item the application has taken (see [`crate::stats`]). The message kind is the push
/// type, `resp` for responses, `disconnect` for notices and `unknown` for other objects; the lag
/// is that of pushes with a well-formed `publish_time`.
fn count_taken(metrics: &FeedMetrics, event: &ImgEvent, count_heartbeats: bool) {
    count_event(metrics, event, count_heartbeats, crate::stats::lag_since);
}

/// Counts one item of the client's stream, the lag of a push being `lag(publish_time)` (seconds;
/// the live client measures it against the wall clock, a replay against the recorded arrival).
pub(crate) fn count_event(
    metrics: &FeedMetrics,
    event: &ImgEvent,
    count_heartbeats: bool,
    lag: impl Fn(chrono::NaiveDateTime) -> f64,
) {
    let session = match event {
        ImgEvent::Connected { .. } => {
            metrics.record_connection();
            return;
        }
        ImgEvent::Session(session) => session,
        _ => return,
    };
    match session {
        Event::Push(push) => {
            if push.kind == PushKind::Heartbeat && !count_heartbeats {
                return;
            }
            let lag = match &push.publish_time {
                Some(ImgTime::Parsed(at)) => Some(lag(*at)),
                _ => None,
            };
            metrics.record_message(push.kind.as_str(), lag);
        }
        Event::Response { .. } => metrics.record_message("resp", None),
        Event::Disconnect(_) => metrics.record_message("disconnect", None),
        Event::Unknown { .. } => metrics.record_message("unknown", None),
        Event::SessionInitialized { .. } => metrics.record_logged_in(0),
        Event::Disconnected { .. } => metrics.record_disconnected(None),
        Event::DecodeError(error) => metrics.record_decode_error(error.kind.as_str()),
        Event::HeartbeatStale { .. } => metrics.set_heartbeat_stale(true),
        Event::HeartbeatOk { .. } => metrics.set_heartbeat_stale(false),
        _ => {}
    }
}

/// The recording header of an IMG run: what `init` and the standing requests carry, so a replay
/// correlates responses as the live run did.
fn img_header(config: &ImgClientConfig) -> oddsfeed_record::Header {
    let meta = serde_json::json!({
        "includeFinished": config.session.include_finished,
        "tagInit": config.session.tag_init,
        "requests": config.requests,
    });
    oddsfeed_record::Header::new(oddsfeed_record::Feed::Img, crate::record::now_ns())
        .with_meta(meta.to_string())
}

impl Drop for ImgClient {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}
