//! [`ImgClient`]: the application's handle on a running IMG feed consumer.

use std::sync::Arc;

use oddsfeed_model::img::{ImgTime, PushKind, Request};
use oddsfeed_session::img::Event;
use oddsfeed_session::img::RequestId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::config::ImgClientConfig;
use super::driver::{self, Command, Item};
use super::error::ImgError;
use super::event::ImgEvent;
use crate::stats::{FeedKind, FeedMetrics, FeedStats};

/// A running IMG-style feed consumer.
///
/// [`ImgClient::start`] spawns a driver task on the current tokio runtime. It connects,
/// sends `init` and the standing requests, reads the feed, and reconnects with backoff
/// (re-sending `init` and the standing requests) until the run is over. Everything it has to
/// say comes out of [`next`](Self::next), in order.
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
    task: JoinHandle<()>,
    done: bool,
    metrics: Arc<FeedMetrics>,
    count_heartbeats: bool,
}

impl ImgClient {
    /// Starts the driver. Must be called inside a tokio runtime.
    #[must_use]
    pub fn start(config: ImgClientConfig) -> Self {
        let (tx, items) = mpsc::channel(config.event_queue.max(1));
        let (commands, command_rx) = mpsc::channel(16);
        let metrics = Arc::new(FeedMetrics::new(FeedKind::Img));
        let count_heartbeats = config.count_heartbeats;
        let task = tokio::spawn(driver::run(config, tx, command_rx, Arc::clone(&metrics)));
        Self {
            items,
            commands,
            task,
            done: false,
            metrics,
            count_heartbeats,
        }
    }

    /// The next item, waiting for one.
    ///
    /// `Some(Ok(event))` for every event; `Some(Err(error))` once when the run fails
    /// ([`ImgError::is_fatal`]); [`ImgEvent::Finished`] once when a `once` run ends normally;
    /// `None` after either of those.
    pub async fn next(&mut self) -> Option<Result<ImgEvent, ImgError>> {
        if self.done {
            return None;
        }
        let item = self.items.recv().await;
        self.track(item)
    }

    /// The next item if one is ready now, without waiting (`None` also when none is ready).
    pub fn try_next(&mut self) -> Option<Result<ImgEvent, ImgError>> {
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

    fn track(
        &mut self,
        item: Option<Result<ImgEvent, ImgError>>,
    ) -> Option<Result<ImgEvent, ImgError>> {
        match &item {
            None | Some(Err(_)) | Some(Ok(ImgEvent::Finished)) => {
                self.done = true;
                self.metrics.record_disconnected(None);
            }
            Some(Ok(event)) => count_taken(&self.metrics, event, self.count_heartbeats),
        }
        item
    }

    /// The counts of the run so far (messages per kind, lines, bytes, decode errors,
    /// reconnects): the keys of the CLI's `stats` event. Messages, decode errors and reconnects
    /// count what the application has taken from [`next`](Self::next); heartbeats count only
    /// with [`ImgClientConfig::count_heartbeats`].
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
                Some(ImgTime::Parsed(at)) => Some(crate::stats::lag_since(*at)),
                _ => None,
            };
            metrics.record_message(push.kind.as_str(), lag);
        }
        Event::Response { .. } => metrics.record_message("resp", None),
        Event::Disconnect(_) => metrics.record_message("disconnect", None),
        Event::Unknown { .. } => metrics.record_message("unknown", None),
        Event::SessionInitialized { .. } => metrics.record_logged_in(0),
        Event::Disconnected { .. } => metrics.record_disconnected(None),
        Event::DecodeError(error) => metrics.record_decode_error(error.reason.as_str()),
        Event::HeartbeatStale { .. } => metrics.set_heartbeat_stale(true),
        Event::HeartbeatOk { .. } => metrics.set_heartbeat_stale(false),
        _ => {}
    }
}

impl Drop for ImgClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}
