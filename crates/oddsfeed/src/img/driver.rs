//! The driver task: connects, runs the session over the link, reconnects with backoff.

use std::sync::Arc;
use std::time::Duration;

use oddsfeed_model::img::Request;
use oddsfeed_record::RecordKind;
use oddsfeed_session::backoff::Backoff;
use oddsfeed_session::img::{Action, ImgRequestError, ImgSession, RequestId};
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

/// How one connection ended.
enum Outcome {
    /// The session decided.
    Action(Action),
    /// The application dropped the client.
    Gone,
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
    let mut tee = match tee {
        Ok(tee) => tee,
        Err(error) => {
            let _ = tx.send(Err(error)).await;
            return;
        }
    };
    run_feed(config, &tx, commands, &metrics, &mut tee).await;
    if let Some(tee) = &mut tee {
        tee.flush_partial();
        let _ = tee.send().await;
    }
}

async fn run_feed(
    config: ImgClientConfig,
    tx: &mpsc::Sender<Item>,
    mut commands: mpsc::Receiver<Command>,
    metrics: &FeedMetrics,
    tee: &mut Option<Tee>,
) {
    let tx = tx.clone();
    if let Err(error) = config.validate() {
        let _ = tx.send(Err(error)).await;
        return;
    }
    let mut session = ImgSession::new(config.session.clone());
    for request in &config.requests {
        if let Err(error) = session.add_standing_request(request.clone()) {
            let _ = tx
                .send(Err(ImgError::Config(format!("standing request: {error}"))))
                .await;
            return;
        }
    }
    let mut backoff = Backoff::new(config.backoff);
    let mut identity = None;
    let addr = config.transport.addr().to_owned();
    let mut attempt: u64 = 0;
    let mut conn_number: u64 = 0;
    loop {
        attempt += 1;
        if !emit(
            &tx,
            Ok(ImgEvent::Connecting {
                addr: addr.clone(),
                attempt,
            }),
        )
        .await
        {
            return;
        }
        let connecting = tokio::time::timeout(
            config.connect_timeout,
            transport::connect(&config.transport, config.read_buffer, &mut identity),
        )
        .await;
        let link = match connecting {
            Ok(Ok(link)) => link,
            Ok(Err(error)) if error.is_fatal() => {
                let _ = tx.send(Err(error)).await;
                return;
            }
            failed => {
                let error = match failed {
                    Ok(Err(error)) => error,
                    _ => ImgError::Connect {
                        addr: addr.clone(),
                        detail: format!(
                            "no connection within {} ms",
                            config.connect_timeout.as_millis()
                        ),
                    },
                };
                if config.session.once {
                    let _ = tx.send(Err(error)).await;
                    return;
                }
                if !emit(
                    &tx,
                    Ok(ImgEvent::ConnectFailed {
                        error: error.to_string(),
                    }),
                )
                .await
                {
                    return;
                }
                let delay = backoff.next_delay(clock::jitter());
                if !wait(&tx, &mut session, &mut commands, delay, backoff.attempt()).await {
                    return;
                }
                continue;
            }
        };
        if link.signed_with_sha1()
            && !emit(&tx, Ok(ImgEvent::InsecureSha1Rsa { addr: addr.clone() })).await
        {
            return;
        }
        if !emit(&tx, Ok(ImgEvent::Connected { addr: addr.clone() })).await {
            return;
        }
        let connected_at = clock::now();
        conn_number += 1;
        if let Some(tee) = tee.as_mut() {
            tee.record(RecordKind::ConnStart, conn_number, &[]);
        }
        session.handle_connected(connected_at);
        let outcome = run_connection(
            &mut session,
            link,
            &tx,
            &mut commands,
            metrics,
            &mut Recording {
                tee: tee.as_mut(),
                conn: conn_number,
            },
        )
        .await;
        if let Some(tee) = tee.as_mut() {
            tee.flush_partial();
            tee.conn_end(conn_number, None);
            if let Some(error) = tee.send().await
                && !emit(&tx, Ok(ImgEvent::RecordFailed { error })).await
            {
                return;
            }
        }
        backoff.connection_lasted(clock::now().saturating_duration_since(connected_at));
        match outcome {
            Outcome::Gone => return,
            Outcome::Action(Action::Reconnect { delay }) => {
                let delay = delay.resolve(&mut backoff, clock::jitter());
                if !wait(&tx, &mut session, &mut commands, delay, backoff.attempt()).await {
                    return;
                }
            }
            Outcome::Action(Action::Stop { reason, .. }) => {
                let _ = tx.send(Err(ImgError::Stopped { reason })).await;
                return;
            }
            Outcome::Action(_) => {
                let _ = tx.send(Ok(ImgEvent::Finished)).await;
                return;
            }
        }
    }
}

/// Sends an item to the application, waiting while its queue is full (backpressure). False
/// when the application is gone.
async fn emit(tx: &mpsc::Sender<Item>, item: Item) -> bool {
    tx.send(item).await.is_ok()
}

/// Reports the backoff and sleeps, still taking requests (they are queued in the session).
async fn wait(
    tx: &mpsc::Sender<Item>,
    session: &mut ImgSession,
    commands: &mut mpsc::Receiver<Command>,
    delay: Duration,
    attempt: u32,
) -> bool {
    if !emit(tx, Ok(ImgEvent::Backoff { delay, attempt })).await {
        return false;
    }
    let sleep = tokio::time::sleep(delay);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            () = &mut sleep => return true,
            command = commands.recv() => match command {
                Some(command) => apply(session, command),
                None => return false,
            },
        }
    }
}

fn apply(session: &mut ImgSession, command: Command) {
    match command {
        Command::Send { request, reply } => {
            let _ = reply.send(session.send_request(request));
        }
    }
}

/// The recording tee of one connection.
struct Recording<'a> {
    tee: Option<&'a mut Tee>,
    conn: u64,
}

/// Runs the session over one link until the session ends the connection.
async fn run_connection(
    session: &mut ImgSession,
    mut link: Link,
    tx: &mpsc::Sender<Item>,
    commands: &mut mpsc::Receiver<Command>,
    metrics: &FeedMetrics,
    recording: &mut Recording<'_>,
) -> Outcome {
    loop {
        if let Some(tee) = recording.tee.as_mut()
            && let Some(error) = tee.send().await
            && !emit(tx, Ok(ImgEvent::RecordFailed { error })).await
        {
            link.close().await;
            return Outcome::Gone;
        }
        while let Some(line) = session.poll_transmit() {
            if let Err(error) = link.send(&line).await {
                session.handle_transport_error(&error.to_string(), clock::now());
                break;
            }
        }
        while let Some(event) = session.poll_event() {
            if !emit(tx, Ok(ImgEvent::Session(event))).await {
                link.close().await;
                return Outcome::Gone;
            }
        }
        if let Some(action) = session.poll_action() {
            link.close().await;
            return Outcome::Action(action);
        }
        let deadline = session.poll_timeout();
        // Biased: requests first (rare), then bytes before timers, so that bytes already
        // waiting in the socket after a stall of the application count before a deadline.
        tokio::select! {
            biased;
            command = commands.recv() => match command {
                Some(command) => apply(session, command),
                None => {
                    link.close().await;
                    return Outcome::Gone;
                }
            },
            received = link.recv() => match received {
                Ok(Recv::Data(bytes)) => {
                    if let Some(tee) = recording.tee.as_mut() {
                        tee.record_lines(recording.conn, bytes);
                    }
                    let lines_before = lines_seen(session);
                    session.handle_bytes(bytes, clock::now());
                    // IMG lines are not compressed: decoded bytes are wire bytes.
                    metrics.record_frames(lines_seen(session) - lines_before, bytes.len() as u64);
                    metrics.add_decoded_bytes(bytes.len() as u64);
                }
                Ok(Recv::Eof) => session.handle_closed(clock::now()),
                Err(error) => session.handle_transport_error(&error.to_string(), clock::now()),
            },
            () = clock::sleep_until(deadline) => session.handle_timeout(clock::now()),
        }
    }
}

/// Lines the session has taken in so far, decoded or not.
fn lines_seen(session: &ImgSession) -> u64 {
    let stats = session.stats();
    stats.lines + stats.decode_errors
}
