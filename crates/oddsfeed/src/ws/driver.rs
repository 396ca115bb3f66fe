//! The connection driver: the task that owns the sockets and runs the sans-IO session.
//!
//! Loop: wait for the first of (a frame on any connection, a finished connect attempt, the
//! session's timer, the reconnect timer, shutdown); feed it to the session, then every further
//! frame the connections already hold (up to [`MAX_BURST`], stopping early when the session wants
//! to send or act); drain the session's outputs in the documented order (frames to send, events,
//! actions) and act on them. Events go into the bounded queue in batches with `send().await`:
//! when the application is slow, the driver waits there and reads no socket, so the server sees
//! TCP backpressure.

use std::future::poll_fn;
use std::ops::ControlFlow;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::atomic::{AtomicI32, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use oddsfeed_session::ws::{
    Action, CloseInfo, ConnId, DecodeError, DecodeErrorKind, Event, FrameKind, OutFrame, Transmit,
    WarningKind, WsSession,
};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::{Instant, Sleep};
use tokio_tungstenite::tungstenite::Error as TungsteniteError;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use oddsfeed_record::RecordKind;

use super::error::WsError;
use super::event::WsEvent;
use super::transport::{Connect, ConnectFailure, WsStream};
use crate::clock;
use crate::cpu;
use crate::record::Tee;
use crate::stats::FeedMetrics;

/// How long a closing connection may take to finish its close handshake in the background.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The most frames decoded in one turn before the session's outputs are handed on.
const MAX_BURST: usize = 64;
/// A turn ends after this many frames already when the application has taken every batch (it
/// is waiting): a batch's messages wait for the whole batch to be decoded, so small batches keep
/// the latency batching adds low (about 0.1 ms at 16 frames against 0.45 ms at 64, at 50k msg/s,
/// docs/BENCHMARKS.md "Latency"), while an application that is behind gets full batches, which
/// cost it fewer wake-ups per message.
const EARLY_HANDOVER: usize = 16;

/// Counters only the driver knows.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub wire_bytes: AtomicU64,
    pub frames_too_large: AtomicU64,
    pub connect_attempts: AtomicU64,
}

/// What the driver task and the application handle share (defined here, beside the driver
/// that fills it, so that the driver does not import the client module): the session (behind a mutex held only
/// for one input or one drain, never across an `.await`) and the driver's counters.
pub(crate) struct Shared {
    session: Mutex<WsSession>,
    pub counters: Counters,
    /// What [`WsClient::stats`] and the metrics show.
    pub metrics: Arc<FeedMetrics>,
    /// The CPU the application's thread was on when it last started waiting for a batch
    /// ([`crate::cpu::UNKNOWN`] before that): see [`Driver::send_outbox`].
    pub app_cpu: AtomicI32,
}

impl Shared {
    pub(crate) fn new(session: WsSession, metrics: Arc<FeedMetrics>) -> Self {
        Self {
            session: Mutex::new(session),
            counters: Counters::default(),
            metrics,
            app_cpu: AtomicI32::new(cpu::UNKNOWN),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, WsSession> {
        // A panic while holding the lock cannot leave the session half-updated in a way that
        // matters more than stopping would; carry on with its state.
        self.session
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The typed cause of the decode error reported when tungstenite refused a frame itself (too
/// large, or a text frame that is not UTF-8) and the connection was closed over it.
#[derive(Debug, thiserror::Error)]
enum RefusedFrame {
    #[error(
        "{detail}; larger than max_frame {max_frame} bytes, connection closed (reconnecting with resume)"
    )]
    TooLarge { detail: String, max_frame: usize },
    #[error("text frame is not UTF-8 ({detail}); connection closed")]
    NotUtf8 { detail: String },
}

/// One open connection.
struct Conn {
    id: ConnId,
    ws: Box<WsStream>,
}

/// What woke the driver up.
enum Input {
    Frame(usize, Option<Result<Message, TungsteniteError>>),
    Connected(Result<Box<WsStream>, ConnectFailure>),
    SessionTimer,
    Shutdown,
}

/// Events handed to the application at once.
pub(crate) struct Batch {
    /// The events, in order (never empty).
    pub(crate) events: Vec<WsEvent>,
    /// When the driver read the first frame whose events are in this batch (`None`: no frame,
    /// e.g. only timer or connection events), for [`crate::latency`].
    pub(crate) read_at: Option<std::time::Instant>,
}

pub(crate) struct Driver {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Batch>,
    /// The most events in one batch.
    batch_max: usize,
    /// Whether the hand-over may give the CPU up: not on a single-thread runtime, where the
    /// application runs on this very thread once this task returns.
    hand_over_yields: bool,
    /// Events for the application, in order, not yet sent: the facade's own and the session's.
    outbox: Vec<WsEvent>,
    /// When the first frame behind the outbox's events was read.
    read_at: Option<std::time::Instant>,
    /// The session's timer, re-armed only when its deadline moves earlier or after it fired (the
    /// deadline moves later with every frame; firing early is harmless).
    session_timer: Pin<Box<Sleep>>,
    session_timer_at: Option<Instant>,
    shutdown: oneshot::Receiver<()>,
    connect: Connect,
    url_for_logs: String,
    conns: Vec<Conn>,
    next_poll: usize,
    connecting: Option<JoinHandle<Result<Box<WsStream>, ConnectFailure>>>,
    /// Session outputs collected but not yet acted on.
    transmits: Vec<Transmit>,
    actions: Vec<Action>,
    /// The `--record` tee: every frame read, as read.
    tee: Option<Tee>,
}

impl Driver {
    pub(crate) fn new(
        shared: Arc<Shared>,
        tx: mpsc::Sender<Batch>,
        batch_max: usize,
        shutdown: oneshot::Receiver<()>,
        connect: Connect,
        url_for_logs: String,
        tee: Option<Tee>,
    ) -> Self {
        Self {
            shared,
            tx,
            batch_max,
            hand_over_yields: tokio::runtime::Handle::try_current().is_ok_and(|runtime| {
                runtime.runtime_flavor() != tokio::runtime::RuntimeFlavor::CurrentThread
            }),
            outbox: Vec::with_capacity(batch_max),
            read_at: None,
            session_timer: Box::pin(tokio::time::sleep_until(clock::tokio_now())),
            session_timer_at: None,
            shutdown,
            connect,
            url_for_logs,
            conns: Vec::with_capacity(2),
            next_poll: 0,
            connecting: None,
            transmits: Vec::new(),
            actions: Vec::new(),
            tee,
        }
    }

    /// Runs until the session stops or finishes, the application goes away, or shutdown.
    pub(crate) async fn run(mut self) {
        if self.flush().await.is_continue() {
            loop {
                let input = self.next_input().await;
                if self.handle(input).await.is_break() {
                    break;
                }
                self.burst();
                if self.flush().await.is_break() {
                    break;
                }
            }
        }
        self.close_everything(CloseCode::Normal);
        if let Some(tee) = &mut self.tee {
            // The application may be gone: the failure cannot be reported any more.
            let _ = tee.send().await;
        }
    }

    /// Feeds the session every frame the connections hold already (without waiting), up to
    /// [`MAX_BURST`] in all ([`EARLY_HANDOVER`] when the application is waiting), and stops as
    /// soon as the session has frames to send or actions.
    fn burst(&mut self) {
        for frames in 1..MAX_BURST {
            if self.collect() {
                return;
            }
            if frames >= EARLY_HANDOVER && self.tx.capacity() == self.tx.max_capacity() {
                return;
            }
            let Some((index, item)) =
                next_frame(&mut self.conns, &mut self.next_poll).now_or_never()
            else {
                return;
            };
            self.on_frame(index, item, clock::now());
        }
    }

    /// Moves the session's outputs out (events to the outbox); true when there are frames to send
    /// or actions.
    fn collect(&mut self) -> bool {
        let mut session = self.shared.lock();
        self.transmits
            .extend(std::iter::from_fn(|| session.poll_transmit()));
        let first = self.outbox.len();
        self.outbox
            .extend(std::iter::from_fn(|| session.poll_event()).map(WsEvent::from_session));
        if let Some(tee) = &mut self.tee {
            for event in &self.outbox[first..] {
                if let WsEvent::Session(Event::LoginOk {
                    conn,
                    receive_type: Some(receive_type),
                    ..
                }) = event
                {
                    tee.record(
                        RecordKind::ReceiveType,
                        conn.get(),
                        receive_type.as_str().as_bytes(),
                    );
                }
            }
        }
        self.actions
            .extend(std::iter::from_fn(|| session.poll_action()));
        self.shared
            .metrics
            .set_decoded_bytes(session.decoder().stats().bytes_out);
        !self.transmits.is_empty() || !self.actions.is_empty()
    }

    /// Arms the session timer for `deadline` unless it will fire at or before it anyway.
    fn arm_session_timer(&mut self, deadline: Instant) {
        if self.session_timer_at.is_none_or(|at| deadline < at) {
            self.session_timer.as_mut().reset(deadline);
            self.session_timer_at = Some(deadline);
        }
    }

    async fn next_input(&mut self) -> Input {
        let session_deadline = self.shared.lock().poll_timeout().map(Instant::from_std);
        if let Some(deadline) = session_deadline {
            self.arm_session_timer(deadline);
        }
        let session_timer = &mut self.session_timer;
        let session_timer_at = &mut self.session_timer_at;
        let conns = &mut self.conns;
        let next_poll = &mut self.next_poll;
        let connecting = &mut self.connecting;
        let tx = &self.tx;
        tokio::select! {
            _ = &mut self.shutdown => Input::Shutdown,
            () = tx.closed() => Input::Shutdown,
            (index, item) = next_frame(conns, next_poll) => Input::Frame(index, item),
            result = async {
                match connecting.as_mut() {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            } => {
                *connecting = None;
                Input::Connected(result.unwrap_or_else(|e| Err(ConnectFailure {
                    detail: format!("connect task failed: {e}"),
                    certificate_rejected: false,
                })))
            }
            () = session_timer.as_mut(), if session_deadline.is_some() => {
                *session_timer_at = None;
                Input::SessionTimer
            }
        }
    }

    /// Feeds one input to the session (or acts on it directly).
    async fn handle(&mut self, input: Input) -> ControlFlow<()> {
        let now = clock::now();
        match input {
            Input::Shutdown => return ControlFlow::Break(()),
            Input::SessionTimer => self.shared.lock().handle_timeout(now),
            Input::Connected(Ok(ws)) => {
                let id = self.shared.lock().handle_connected(now);
                if let Some(tee) = &mut self.tee {
                    tee.record(RecordKind::ConnStart, id.get(), &[]);
                }
                self.conns.push(Conn { id, ws });
            }
            Input::Connected(Err(failure)) => {
                if failure.certificate_rejected {
                    let error = WsError::Tls(format!(
                        "server certificate rejected ({}); use --insecure only for test servers",
                        failure.detail
                    ));
                    tracing::error!(error = %error, "giving up");
                    self.outbox.push(WsEvent::Fatal(error));
                    self.send_outbox().await;
                    return ControlFlow::Break(());
                }
                self.shared
                    .lock()
                    .handle_connect_failed(now, failure.detail);
            }
            Input::Frame(index, item) => self.on_frame(index, item, now),
        }
        ControlFlow::Continue(())
    }

    fn on_frame(
        &mut self,
        index: usize,
        item: Option<Result<Message, TungsteniteError>>,
        now: std::time::Instant,
    ) {
        let Some(id) = self.conns.get(index).map(|c| c.id) else {
            return;
        };
        self.read_at.get_or_insert(now);
        let counters = &self.shared.counters;
        if let Some(tee) = &mut self.tee {
            tee_frame(tee, id.get(), item.as_ref());
        }
        match item {
            Some(Ok(Message::Text(text))) => {
                counters
                    .wire_bytes
                    .fetch_add(text.len() as u64, Ordering::Relaxed);
                self.shared.metrics.record_frame(text.len());
                self.shared
                    .lock()
                    .handle_frame(id, FrameKind::Text, text.as_bytes(), now);
            }
            Some(Ok(Message::Binary(bytes))) => {
                counters
                    .wire_bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                self.shared.metrics.record_frame(bytes.len());
                self.shared
                    .lock()
                    .handle_frame(id, FrameKind::Binary, &bytes, now);
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {
                self.shared.lock().handle_activity(id, now);
            }
            Some(Ok(Message::Close(frame))) => {
                let info = match frame {
                    Some(frame) => CloseInfo::new(u16::from(frame.code), frame.reason.as_str()),
                    // A close frame without a status code (1005 "no status received").
                    None => CloseInfo::new(1005, ""),
                };
                let conn = self.conns.swap_remove(index);
                self.shared.lock().handle_closed(id, Some(info), now);
                // Let tungstenite finish the close handshake in the background.
                spawn_drain(conn.ws);
            }
            None => {
                self.conns.swap_remove(index);
                self.shared.lock().handle_closed(id, None, now);
            }
            Some(Err(error)) => {
                let conn = self.conns.swap_remove(index);
                let close_code = match &error {
                    TungsteniteError::Capacity(capacity) => {
                        counters.frames_too_large.fetch_add(1, Ordering::Relaxed);
                        let refused = RefusedFrame::TooLarge {
                            detail: capacity.to_string(),
                            max_frame: self.connect.max_frame,
                        };
                        self.outbox.push(WsEvent::Session(Event::DecodeError(
                            DecodeError::new(DecodeErrorKind::FrameTooLarge, &[])
                                .with_source(refused),
                        )));
                        CloseCode::Size
                    }
                    TungsteniteError::Utf8(detail) => {
                        let refused = RefusedFrame::NotUtf8 {
                            detail: detail.clone(),
                        };
                        self.outbox.push(WsEvent::Session(Event::DecodeError(
                            DecodeError::new(DecodeErrorKind::InvalidUtf8, &[])
                                .with_source(refused),
                        )));
                        CloseCode::Invalid
                    }
                    _ => CloseCode::Protocol,
                };
                self.outbox.push(WsEvent::Warning {
                    kind: WarningKind::TransportError,
                    detail: format!("connection {id}: {error}"),
                });
                self.shared.lock().handle_closed(id, None, now);
                spawn_close(conn.ws, close_code);
            }
        }
    }

    fn start_connect(&mut self) {
        if self.connecting.is_some() {
            return;
        }
        self.shared
            .counters
            .connect_attempts
            .fetch_add(1, Ordering::Relaxed);
        self.outbox.push(WsEvent::Connecting {
            url: self.url_for_logs.clone(),
        });
        self.connecting = Some(tokio::spawn(self.connect.clone().open()));
    }

    /// Sends the outbox to the application in batches of at most `batch_max` events. Returns
    /// false when the application is gone.
    async fn send_outbox(&mut self) -> bool {
        while !self.outbox.is_empty() {
            let batch = if self.outbox.len() <= self.batch_max {
                std::mem::replace(&mut self.outbox, Vec::with_capacity(self.batch_max))
            } else {
                let rest = self.outbox.split_off(self.batch_max);
                std::mem::replace(&mut self.outbox, rest)
            };
            let batch = Batch {
                events: batch,
                read_at: self.read_at,
            };
            let waiting = self.tx.capacity() == self.tx.max_capacity();
            if self.tx.send(batch).await.is_err() {
                return false;
            }
            // The application was asleep waiting for this batch on the CPU this thread runs on:
            // give the CPU up so that it runs now, not after this thread's time slice (decoding
            // a burst can take milliseconds). Measured in docs/BENCHMARKS.md "Delivery latency":
            // p99 at 50k msg/s 1.0-1.1 ms -> 0.52-0.58 ms with the two processes pinned. On
            // separate CPUs nothing happens, so a consumer on its own core pays nothing.
            if waiting && self.hand_over_yields {
                let app_cpu = self.shared.app_cpu.load(Ordering::Relaxed);
                if app_cpu != cpu::UNKNOWN && app_cpu == cpu::current() {
                    std::thread::yield_now();
                }
            }
        }
        self.read_at = None;
        true
    }

    /// Drains and acts on everything the session has queued, until nothing is left: frames to
    /// send, then the events (the facade's own among them, in order), then the actions.
    async fn flush(&mut self) -> ControlFlow<()> {
        loop {
            self.collect();
            self.send_records().await;
            if self.transmits.is_empty() && self.actions.is_empty() && self.outbox.is_empty() {
                return ControlFlow::Continue(());
            }
            for transmit in std::mem::take(&mut self.transmits) {
                self.transmit(transmit).await;
            }
            if !self.send_outbox().await {
                return ControlFlow::Break(());
            }
            for action in std::mem::take(&mut self.actions) {
                if self.act(action).await.is_break() {
                    return ControlFlow::Break(());
                }
            }
        }
    }

    /// Hands the frames recorded this turn to the recording's writer thread (waiting for room:
    /// a disk slower than the feed slows the reading of the socket down).
    async fn send_records(&mut self) {
        if let Some(tee) = &mut self.tee
            && let Some(detail) = tee.send().await
        {
            self.outbox.push(WsEvent::Warning {
                kind: WarningKind::RecordFailed,
                detail,
            });
        }
    }

    async fn transmit(&mut self, transmit: Transmit) {
        let Some(index) = self.conns.iter().position(|c| c.id == transmit.conn) else {
            return;
        };
        let message = match transmit.frame {
            OutFrame::Text(text) => Message::text(text),
            OutFrame::Ping => Message::Ping(Default::default()),
            OutFrame::Close(code) => Message::Close(Some(CloseFrame {
                code: CloseCode::from(code.as_u16()),
                reason: Default::default(),
            })),
            other => {
                tracing::debug!(frame = ?other, "unknown frame kind from the session; not sent");
                return;
            }
        };
        let result = match self.conns.get_mut(index) {
            Some(conn) => conn.ws.send(message).await,
            None => return,
        };
        if let Err(error) = result {
            let conn = self.conns.swap_remove(index);
            if let Some(tee) = &mut self.tee {
                tee.conn_end(conn.id.get(), None);
            }
            self.outbox.push(WsEvent::Warning {
                kind: WarningKind::TransportError,
                detail: format!("connection {}: sending failed: {error}", conn.id),
            });
            let now = clock::now();
            self.shared.lock().handle_closed(conn.id, None, now);
        }
    }

    async fn act(&mut self, action: Action) -> ControlFlow<()> {
        match action {
            Action::OpenConnection => self.start_connect(),
            Action::Reconnect { .. } => {
                // The session drew the delay and owns the deadline; its `poll_timeout` wakes the
                // driver, and `handle_timeout` then asks for the connection.
                if let Some(next) = self.shared.lock().scheduled_reconnect() {
                    self.outbox.push(WsEvent::Backoff {
                        delay: next.delay,
                        attempt: next.attempt,
                    });
                }
            }
            Action::Close { conn, code } => {
                if let Some(index) = self.conns.iter().position(|c| c.id == conn) {
                    let conn = self.conns.swap_remove(index);
                    if let Some(tee) = &mut self.tee {
                        tee.conn_end(conn.id.get(), None);
                    }
                    spawn_close(conn.ws, CloseCode::from(code.as_u16()));
                }
            }
            Action::Stop(fatal) => {
                self.outbox
                    .push(WsEvent::Fatal(WsError::Session(fatal.error)));
                self.send_outbox().await;
                return ControlFlow::Break(());
            }
            Action::Finished => {
                self.outbox.push(WsEvent::Finished);
                self.send_outbox().await;
                return ControlFlow::Break(());
            }
            other => {
                tracing::debug!(action = ?other, "unknown session action ignored");
            }
        }
        ControlFlow::Continue(())
    }

    fn close_everything(&mut self, code: CloseCode) {
        if let Some(handle) = self.connecting.take() {
            handle.abort();
        }
        for conn in self.conns.drain(..) {
            if let Some(tee) = &mut self.tee {
                tee.conn_end(conn.id.get(), None);
            }
            spawn_close(conn.ws, code);
        }
    }
}

/// Records one item read from connection `conn`, as it was read.
fn tee_frame(tee: &mut Tee, conn: u64, item: Option<&Result<Message, TungsteniteError>>) {
    match item {
        Some(Ok(Message::Text(text))) => tee.record(RecordKind::Text, conn, text.as_bytes()),
        Some(Ok(Message::Binary(bytes))) => tee.record(RecordKind::Binary, conn, bytes),
        Some(Ok(Message::Ping(data) | Message::Pong(data))) => {
            tee.record(RecordKind::Activity, conn, data);
        }
        Some(Ok(Message::Frame(_))) => tee.record(RecordKind::Activity, conn, &[]),
        Some(Ok(Message::Close(Some(frame)))) => {
            tee.conn_end(conn, Some((u16::from(frame.code), frame.reason.as_str())));
        }
        Some(Ok(Message::Close(None))) => tee.conn_end(conn, Some((1005, ""))),
        None | Some(Err(_)) => tee.conn_end(conn, None),
    }
}

/// The next item from any connection, polling them round-robin so none starves. Pending forever
/// when there is no connection.
async fn next_frame(
    conns: &mut [Conn],
    next_poll: &mut usize,
) -> (usize, Option<Result<Message, TungsteniteError>>) {
    poll_fn(|cx| {
        let n = conns.len();
        for k in 0..n {
            let index = (*next_poll + k) % n;
            if let Some(conn) = conns.get_mut(index)
                && let Poll::Ready(item) = conn.ws.poll_next_unpin(cx)
            {
                *next_poll = index + 1;
                return Poll::Ready((index, item));
            }
        }
        Poll::Pending
    })
    .await
}

/// Sends a close frame and waits (in the background, bounded) for the peer's answer.
fn spawn_close(mut ws: Box<WsStream>, code: CloseCode) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            let frame = CloseFrame {
                code,
                reason: Default::default(),
            };
            if WsStream::close(&mut ws, Some(frame)).await.is_ok() {
                while let Some(Ok(_)) = ws.next().await {}
            }
        })
        .await;
    });
}

/// Reads a connection to its end after the peer's close frame, so tungstenite answers the close
/// handshake (bounded in time).
fn spawn_drain(mut ws: Box<WsStream>) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    });
}
