//! [`ImgClient`]: the application's handle on a running IMG feed consumer.

use oddsfeed_model::img::Request;
use oddsfeed_session::img::RequestId;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::config::ImgClientConfig;
use super::driver::{self, Command, Item};
use super::error::ImgError;
use super::event::ImgEvent;

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
}

impl ImgClient {
    /// Starts the driver. Must be called inside a tokio runtime.
    #[must_use]
    pub fn start(config: ImgClientConfig) -> Self {
        let (tx, items) = mpsc::channel(config.event_queue.max(1));
        let (commands, command_rx) = mpsc::channel(16);
        let task = tokio::spawn(driver::run(config, tx, command_rx));
        Self {
            items,
            commands,
            task,
            done: false,
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
            None | Some(Err(_)) | Some(Ok(ImgEvent::Finished)) => self.done = true,
            Some(Ok(_)) => {}
        }
        item
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

impl Drop for ImgClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}
