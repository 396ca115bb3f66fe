//! The driver task: connects when the session asks, runs the session over the link and sleeps
//! until the session's next deadline (the reconnect deadline included).

use std::sync::Arc;

use oddsfeed_model::img::Request;
use oddsfeed_record::RecordKind;
use oddsfeed_session::img::{Action, ImgRequestError, ImgSession, RequestId};
use russh::keys::PrivateKey;
use tokio::sync::{mpsc, oneshot};

use super::config::ImgClientConfig;
use super::error::ImgError;
use super::event::ImgEvent;
use super::transport::{self, Link, Recv};
use crate::clock;
use crate::record::Tee;
use crate::stats::FeedMetrics;

/// An item of the client's queue.
pub(crate) type Item = Result<ImgEvent, ImgError>;

/// A request from the [`ImgClient`](super::ImgClient) handle to its driver.
pub(crate) enum Command {
    /// Send a one-shot request (a subscribe becomes standing).
    Send {
        request: Request,
        reply: oneshot::Sender<Result<RequestId, ImgRequestError>>,
    },
}

/// Whether the driver goes on after an input.
enum Flow {
    Continue,
    /// The run is over (the session stopped or finished, or the application is gone).
    Done,
}

/// Runs until the run is over or the application is gone; then hands the last recorded lines to
/// the recording.
pub(crate) async fn run(
    config: ImgClientConfig,
    tx: mpsc::Sender<Item>,
    commands: mpsc::Receiver<Command>,
    metrics: Arc<FeedMetrics>,
    tee: Result<Option<Tee>, ImgError>,
) {
    let tee = match tee {
        Ok(tee) => tee,
        Err(error) => {
            let _ = tx.send(Err(error)).await;
            return;
        }
    };
    if let Err(error) = config.validate() {
        let _ = tx.send(Err(error)).await;
        return;
    }
    let mut session_config = config.session.clone();
    session_config.backoff = config.backoff;
    session_config.jitter_seed = clock::seed();
    let mut session = ImgSession::new(session_config);
    for request in &config.requests {
        if let Err(error) = session.add_standing_request(request.clone()) {
            let _ = tx
                .send(Err(ImgError::Config(format!("standing request: {error}"))))
                .await;
            return;
        }
    }
    let mut driver = Driver {
        addr: config.transport.addr().to_owned(),
        config,
        tx,
        metrics,
        tee,
        identity: None,
        link: None,
        attempt: 0,
        conn_number: 0,
    };
    driver.run_feed(&mut session, commands).await;
    driver.end_link().await;
    if let Some(tee) = &mut driver.tee {
        tee.flush_partial();
        let _ = tee.send().await;
    }
}

/// The IO side of one IMG client: it connects when the session asks, writes what the session
/// queues, feeds it bytes with `now` and sleeps until the session's next deadline. Every timer,
/// the reconnect deadline included, is the session's.
struct Driver {
    config: ImgClientConfig,
    addr: String,
    tx: mpsc::Sender<Item>,
    metrics: Arc<FeedMetrics>,
    tee: Option<Tee>,
    /// The SSH identity, loaded once and reused on every connection.
    identity: Option<Arc<PrivateKey>>,
    link: Option<Link>,
    /// Connection attempts so far (the `connecting` event's count).
    attempt: u64,
    /// Connections opened so far (the recording's connection number).
    conn_number: u64,
}

impl Driver {
    async fn run_feed(&mut self, session: &mut ImgSession, mut commands: mpsc::Receiver<Command>) {
        loop {
            if self.link.is_some()
                && let Some(tee) = self.tee.as_mut()
                && let Some(error) = tee.send().await
                && !emit(&self.tx, Ok(ImgEvent::RecordFailed { error })).await
            {
                return;
            }
            while let Some(line) = session.poll_transmit() {
                let Some(link) = self.link.as_mut() else {
                    break;
                };
                if let Err(error) = link.send(&line).await {
                    session.handle_transport_error(&error.to_string(), clock::now());
                    break;
                }
            }
            while let Some(event) = session.poll_event() {
                if !emit(&self.tx, Ok(ImgEvent::Session(event))).await {
                    return;
                }
            }
            if let Some(action) = session.poll_action() {
                match self.act(session, action).await {
                    Flow::Continue => continue,
                    Flow::Done => return,
                }
            }
            let deadline = session.poll_timeout();
            let link = &mut self.link;
            // Biased: requests first (rare), then bytes before timers, so that bytes already
            // waiting in the socket after a stall of the application count before a deadline.
            tokio::select! {
                biased;
                command = commands.recv() => match command {
                    Some(command) => apply(session, command),
                    None => return,
                },
                received = async {
                    match link.as_mut() {
                        Some(link) => link.recv().await,
                        None => std::future::pending().await,
                    }
                } => match received {
                    Ok(Recv::Data(bytes)) => {
                        if let Some(tee) = self.tee.as_mut() {
                            tee.record_lines(self.conn_number, bytes);
                        }
                        let lines_before = lines_seen(session);
                        session.handle_bytes(bytes, clock::now());
                        // IMG lines are not compressed: decoded bytes are wire bytes.
                        self.metrics
                            .record_frames(lines_seen(session) - lines_before, bytes.len() as u64);
                        self.metrics.add_decoded_bytes(bytes.len() as u64);
                    }
                    Ok(Recv::Eof) => session.handle_closed(clock::now()),
                    Err(error) => session.handle_transport_error(&error.to_string(), clock::now()),
                },
                () = clock::sleep_until(deadline) => session.handle_timeout(clock::now()),
            }
        }
    }

    /// Carries out one decision of the session.
    async fn act(&mut self, session: &mut ImgSession, action: Action) -> Flow {
        match action {
            Action::OpenConnection => self.connect(session).await,
            Action::Reconnect { .. } => {
                if !self.end_link().await {
                    return Flow::Done;
                }
                match session.scheduled_reconnect() {
                    Some(next) => {
                        self.emit(ImgEvent::Backoff {
                            delay: next.delay,
                            attempt: next.attempt,
                        })
                        .await
                    }
                    None => Flow::Continue,
                }
            }
            Action::Stop { reason, .. } => {
                self.end_link().await;
                let _ = self.tx.send(Err(ImgError::Stopped { reason })).await;
                Flow::Done
            }
            _ => {
                self.end_link().await;
                let _ = self.tx.send(Ok(ImgEvent::Finished)).await;
                Flow::Done
            }
        }
    }

    /// Opens the transport the session asked for and tells the session how it went.
    async fn connect(&mut self, session: &mut ImgSession) -> Flow {
        self.attempt += 1;
        let attempt = self.attempt;
        if let Flow::Done = self
            .emit(ImgEvent::Connecting {
                addr: self.addr.clone(),
                attempt,
            })
            .await
        {
            return Flow::Done;
        }
        let connecting = tokio::time::timeout(
            self.config.connect_timeout,
            transport::connect(
                &self.config.transport,
                self.config.read_buffer,
                &mut self.identity,
            ),
        )
        .await;
        let link = match connecting {
            Ok(Ok(link)) => link,
            Ok(Err(error)) if error.is_fatal() => {
                let _ = self.tx.send(Err(error)).await;
                return Flow::Done;
            }
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error,
                    _ => ImgError::Connect {
                        addr: self.addr.clone(),
                        detail: format!(
                            "no connection within {} ms",
                            self.config.connect_timeout.as_millis()
                        ),
                    },
                };
                if self.config.session.once {
                    let _ = self.tx.send(Err(error)).await;
                    return Flow::Done;
                }
                let detail = error.to_string();
                if let Flow::Done = self
                    .emit(ImgEvent::ConnectFailed {
                        error: detail.clone(),
                    })
                    .await
                {
                    return Flow::Done;
                }
                session.handle_connect_failed(&detail, clock::now());
                return Flow::Continue;
            }
        };
        if link.signed_with_sha1()
            && let Flow::Done = self
                .emit(ImgEvent::InsecureSha1Rsa {
                    addr: self.addr.clone(),
                })
                .await
        {
            return Flow::Done;
        }
        if let Flow::Done = self
            .emit(ImgEvent::Connected {
                addr: self.addr.clone(),
            })
            .await
        {
            return Flow::Done;
        }
        self.conn_number += 1;
        if let Some(tee) = self.tee.as_mut() {
            tee.record(RecordKind::ConnStart, self.conn_number, &[]);
        }
        self.link = Some(link);
        session.handle_connected(clock::now());
        Flow::Continue
    }

    /// Closes the current link, if any, and ends its connection in the recording. False when
    /// the application is gone.
    async fn end_link(&mut self) -> bool {
        let Some(link) = self.link.take() else {
            return true;
        };
        link.close().await;
        if let Some(tee) = self.tee.as_mut() {
            tee.flush_partial();
            tee.conn_end(self.conn_number, None);
            if let Some(error) = tee.send().await {
                return emit(&self.tx, Ok(ImgEvent::RecordFailed { error })).await;
            }
        }
        true
    }

    async fn emit(&self, event: ImgEvent) -> Flow {
        if emit(&self.tx, Ok(event)).await {
            Flow::Continue
        } else {
            Flow::Done
        }
    }
}

/// Sends an item to the application, waiting while its queue is full (backpressure). False
/// when the application is gone.
async fn emit(tx: &mpsc::Sender<Item>, item: Item) -> bool {
    tx.send(item).await.is_ok()
}

fn apply(session: &mut ImgSession, command: Command) {
    match command {
        Command::Send { request, reply } => {
            let _ = reply.send(session.send_request(request));
        }
    }
}

/// Lines the session has taken in so far, decoded or not.
fn lines_seen(session: &ImgSession) -> u64 {
    let stats = session.stats();
    stats.lines + stats.decode_errors
}
