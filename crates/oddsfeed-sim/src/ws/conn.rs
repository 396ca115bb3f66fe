//! One client connection: handshake, login, dictionaries, resume, then the
//! live stream with pings, idle detection and the per-connection faults.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{FutureExt, SinkExt, StreamExt};
use oddsfeed_wire::ws::CloseCode as FeedClose;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{WebSocketStream, accept_hdr_async_with_config};

use super::channels::ChannelSet;
use super::log::{Entry, SnapshotReason, Take};
use super::login::{self, Login, Refusal};
use super::server::{Shared, new_epoch, now_ms};
use super::stats::Counters;
use crate::dicts;
use crate::encode::{self, FrameEncoder, SimFrame, SimReceiveType};

type Ws = WebSocketStream<TcpStream>;
type WsSink = SplitSink<Ws, Message>;
type WsStream = SplitStream<Ws>;

/// The only path served.
const WS_PATH: &str = "/ws";
/// Messages taken from the log per lock.
const BATCH: usize = 64;
/// How long a closing connection waits for the client's close reply.
const CLOSE_LINGER: Duration = Duration::from_secs(1);

/// How a connection ends.
#[derive(Debug)]
enum Exit {
    /// Send a close frame with this code and reason, then linger briefly.
    Close(FeedClose, &'static str),
    /// Drop the TCP connection without a close frame.
    Drop,
    /// The client closed or vanished; flush whatever close reply is queued.
    ClientGone,
}

/// Serves one accepted TCP connection to the end.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let cfg = &shared.cfg;
    // Not fatal: only latency suffers.
    let _ = tcp.set_nodelay(true);
    let deadline = Instant::now() + cfg.login_timeout;
    let ws_cfg = WebSocketConfig::default()
        .max_message_size(Some(cfg.max_inbound))
        .max_frame_size(Some(cfg.max_inbound));
    let ws = match timeout_at(
        deadline,
        accept_hdr_async_with_config(tcp, check_path, Some(ws_cfg)),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        // Readiness probes and strays: not worth more than a debug line.
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "no WebSocket handshake");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "handshake timed out");
            return;
        }
    };
    Counters::bump(&shared.counters.connections);
    let (mut sink, mut stream) = ws.split();

    let first = match timeout_at(deadline, first_message(&mut stream)).await {
        Ok(First::Message(msg)) => msg,
        Ok(First::Gone) => return,
        Ok(First::TooBig) => {
            finish(
                &mut sink,
                &mut stream,
                Exit::Close(FeedClose::MessageTooBig, "message too big"),
            )
            .await;
            return;
        }
        Err(_) => {
            refuse(&shared, &mut sink, &mut stream, Refusal::Timeout, peer).await;
            return;
        }
    };
    let Message::Text(text) = first else {
        refuse(&shared, &mut sink, &mut stream, Refusal::NotLogin, peer).await;
        return;
    };
    let login = match login::parse_login(
        text.as_str(),
        cfg.api_key.as_deref(),
        shared.produced,
        cfg.no_zstd,
    ) {
        Ok(login) => login,
        Err(refusal) => {
            refuse(&shared, &mut sink, &mut stream, refusal, peer).await;
            return;
        }
    };
    let Some(_slot) = shared.acquire_key(&login.api_key) else {
        refuse(
            &shared,
            &mut sink,
            &mut stream,
            Refusal::TooManyConnections,
            peer,
        )
        .await;
        return;
    };
    let encoder = match FrameEncoder::new(login.mode) {
        Ok(encoder) => encoder,
        Err(e) => {
            tracing::error!(%peer, error = %e, "cannot build the frame encoder");
            finish(
                &mut sink,
                &mut stream,
                Exit::Close(FeedClose::InternalError, "internal error"),
            )
            .await;
            return;
        }
    };
    Counters::bump(&shared.counters.logins);
    tracing::debug!(
        %peer,
        mode = login.mode.as_str(),
        channels = ?login.channels,
        resume = login.resume.is_some(),
        "login accepted"
    );
    let head = shared.head.subscribe();
    let mut conn = Conn {
        shared: Arc::clone(&shared),
        sink,
        stream,
        encoder,
        mode: login.mode,
        served: login.channel_set(),
        pos: 0,
        sent_data: 0,
        reconnect_deadline: None,
        next_ping: Instant::now() + cfg.ping_interval,
        last_inbound: Instant::now(),
        shutdown,
        head,
    };
    let exit = match conn.run(&login).await {
        Ok(never) => match never {},
        Err(exit) => exit,
    };
    tracing::debug!(%peer, sent = conn.sent_data, ?exit, "connection ends");
    finish(&mut conn.sink, &mut conn.stream, exit).await;
}

/// Handshake callback: only [`WS_PATH`] is served, anything else is a 404.
#[allow(clippy::result_large_err)] // the signature is tungstenite's
fn check_path(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() == WS_PATH {
        Ok(response)
    } else {
        let mut not_found = ErrorResponse::new(Some("not found".to_owned()));
        *not_found.status_mut() = StatusCode::NOT_FOUND;
        Err(not_found)
    }
}

/// What came first from a client.
enum First {
    /// A text or binary message.
    Message(Message),
    /// A message over `max_inbound`.
    TooBig,
    /// The client closed or went away.
    Gone,
}

/// The first text or binary message (pings and pongs skipped).
async fn first_message(stream: &mut WsStream) -> First {
    loop {
        match stream.next().await {
            Some(Ok(msg @ (Message::Text(_) | Message::Binary(_)))) => return First::Message(msg),
            Some(Err(WsError::Capacity(_))) => return First::TooBig,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return First::Gone,
            Some(Ok(_)) => {}
        }
    }
}

/// Sends the refusal's error frame and closes with its code.
async fn refuse(
    shared: &Shared,
    sink: &mut WsSink,
    stream: &mut WsStream,
    refusal: Refusal,
    peer: SocketAddr,
) {
    tracing::info!(%peer, code = refusal.code(), "login refused");
    let frame = refusal.frame();
    shared
        .counters
        .bytes_sent
        .fetch_add(frame.len() as u64, Ordering::Relaxed);
    let sent = timeout(CLOSE_LINGER, sink.send(Message::text(frame))).await;
    if matches!(sent, Ok(Ok(()))) {
        finish(
            sink,
            stream,
            Exit::Close(refusal.close_code(), refusal.code()),
        )
        .await;
    }
}

/// Ends a connection the way `exit` says.
async fn finish(sink: &mut WsSink, stream: &mut WsStream, exit: Exit) {
    match exit {
        Exit::Close(code, reason) => {
            let frame = CloseFrame {
                code: CloseCode::from(code.as_u16()),
                reason: reason.into(),
            };
            if let Ok(Ok(())) = timeout(CLOSE_LINGER, sink.send(Message::Close(Some(frame)))).await
            {
                // Wait for the client's close reply (or its going away).
                let linger = Instant::now() + CLOSE_LINGER;
                while let Ok(Some(Ok(_))) = timeout_at(linger, stream.next()).await {}
            }
        }
        Exit::ClientGone => {
            let _ = timeout(CLOSE_LINGER, sink.close()).await;
        }
        // Dropping both halves closes the socket without a close frame.
        Exit::Drop => {}
    }
}

/// A logged-in connection.
struct Conn {
    shared: Arc<Shared>,
    sink: WsSink,
    stream: WsStream,
    encoder: FrameEncoder,
    mode: SimReceiveType,
    served: ChannelSet,
    /// Global sequence number of the next live message to look at.
    pos: u64,
    /// Data messages sent on this connection (replayed ones included).
    sent_data: u64,
    /// Set once the `reconnect` frame went out: when to close with 1001.
    reconnect_deadline: Option<Instant>,
    next_ping: Instant,
    last_inbound: Instant,
    shutdown: watch::Receiver<bool>,
    head: watch::Receiver<u64>,
}

/// Never constructed: `run` only returns through `Err(Exit)`.
enum Never {}

impl Conn {
    /// Login answer, dictionaries, resume, then live data until an exit.
    async fn run(&mut self, login: &Login) -> Result<Never, Exit> {
        let cfg = &self.shared.cfg;
        let window_ms = cfg.replay_window_ms;
        let new_epoch = cfg.restart_epoch.then(new_epoch);
        let budget = cfg.outbound_queue_bytes / 2;
        let plan = self.shared.log().login(
            now_ms(),
            self.served,
            login.resume.as_ref(),
            new_epoch,
            budget,
        );
        self.pos = plan.position;
        self.send_control(login::login_ok_frame(login, &plan, window_ms))
            .await?;
        if self.mode == SimReceiveType::ZstdDict {
            for channel in &login.channels {
                if let Some(dict) = dicts::dict_for_channel(channel) {
                    self.send_control(encode::dict_frame_json(dict)).await?;
                }
            }
        }
        for (reason, channels) in &plan.snapshots_before {
            self.send_control(login::snapshot_frame(*reason, channels, &plan, window_ms))
                .await?;
        }
        for entry in &plan.replay {
            self.send_data(entry).await?;
        }
        if !plan.backpressured.is_empty() {
            let frame = login::snapshot_frame(
                SnapshotReason::ClientBackpressure,
                &plan.backpressured,
                &plan,
                window_ms,
            );
            self.send_control(frame).await?;
        }
        if plan.resume_complete {
            self.send_control(login::resume_complete_frame(&plan.epoch))
                .await?;
        }
        self.flush().await?;
        self.live().await
    }

    /// The live stream.
    async fn live(&mut self) -> Result<Never, Exit> {
        let unpaced = self.shared.cfg.rate.is_none();
        loop {
            self.housekeeping().await?;
            self.head.borrow_and_update();
            let take = self
                .shared
                .log()
                .take(&mut self.pos, self.served, BATCH, unpaced, now_ms());
            match take {
                Take::Entries(entries) => {
                    for entry in &entries {
                        self.send_data(entry).await?;
                    }
                    self.flush().await?;
                }
                Take::Wait => self.wait().await?,
                Take::End => return Err(Exit::Close(FeedClose::Normal, "end of stream")),
                Take::Evicted => {
                    tracing::info!(pos = self.pos, "client too slow, closing 4002");
                    return Err(Exit::Close(FeedClose::SlowConsumer, "client too slow"));
                }
            }
        }
    }

    /// Non-blocking checks between batches: inbound frames, shutdown, idle
    /// client, ping due, reconnect grace over.
    async fn housekeeping(&mut self) -> Result<(), Exit> {
        while let Some(next) = self.stream.next().now_or_never() {
            self.inbound(next)?;
        }
        self.check_timers().await
    }

    async fn check_timers(&mut self) -> Result<(), Exit> {
        // A dropped handle counts as a shutdown request.
        if *self.shutdown.borrow() || self.shutdown.has_changed().is_err() {
            return Err(Exit::Close(FeedClose::GoingAway, "shutdown"));
        }
        let now = Instant::now();
        if self.reconnect_deadline.is_some_and(|d| now >= d) {
            return Err(Exit::Close(FeedClose::GoingAway, "server_upgrade"));
        }
        if now >= self.last_inbound + self.shared.cfg.idle_timeout {
            tracing::info!("client silent too long, dropping");
            return Err(Exit::Drop);
        }
        if now >= self.next_ping {
            self.next_ping = now + self.shared.cfg.ping_interval;
            self.write(Message::Ping(Default::default())).await?;
            self.flush().await?;
        }
        Ok(())
    }

    /// Handles one inbound item (anything but a close refreshes liveness;
    /// text and binary after the login are ignored).
    fn inbound(&mut self, item: Option<Result<Message, WsError>>) -> Result<(), Exit> {
        match item {
            Some(Err(WsError::Capacity(_))) => {
                Err(Exit::Close(FeedClose::MessageTooBig, "message too big"))
            }
            Some(Ok(Message::Close(_))) | Some(Err(_)) | None => Err(Exit::ClientGone),
            Some(Ok(_)) => {
                self.last_inbound = Instant::now();
                Ok(())
            }
        }
    }

    /// At the head of a paced stream: waits for the producer, an inbound
    /// frame, a timer or shutdown.
    async fn wait(&mut self) -> Result<(), Exit> {
        let cfg = &self.shared.cfg;
        let mut wake = self.next_ping.min(self.last_inbound + cfg.idle_timeout);
        if let Some(deadline) = self.reconnect_deadline {
            wake = wake.min(deadline);
        }
        tokio::select! {
            item = self.stream.next() => self.inbound(item)?,
            _ = self.head.changed() => {}
            _ = self.shutdown.changed() => {}
            () = sleep_until(wake) => {}
        }
        Ok(())
    }

    /// Sends one data message (after any fault frame due before it) and
    /// applies `drop_after` / `reconnect_after`.
    async fn send_data(&mut self, entry: &Entry) -> Result<(), Exit> {
        self.fire_faults(entry.seq).await?;
        let frame = match self.encoder.encode(entry.channel, &entry.json) {
            Ok(frame) => frame,
            Err(e) if e.is_fatal() => {
                tracing::error!(error = %e, "encoding failed");
                return Err(Exit::Close(FeedClose::InternalError, "internal error"));
            }
            Err(e) => {
                tracing::warn!(error = %e, seq = entry.seq, "message skipped");
                return Ok(());
            }
        };
        self.write_frame(frame).await?;
        self.sent_data += 1;
        Counters::bump(&self.shared.counters.data_frames_sent);
        let cfg = &self.shared.cfg;
        if cfg.drop_after == Some(self.sent_data) {
            self.flush().await?;
            tracing::info!(sent = self.sent_data, "drop_after reached, dropping");
            return Err(Exit::Drop);
        }
        if cfg.reconnect_after == Some(self.sent_data) && self.reconnect_deadline.is_none() {
            self.reconnect_deadline = Some(Instant::now() + cfg.reconnect_grace);
            self.send_control(login::reconnect_frame()).await?;
            self.flush().await?;
        }
        if self.reconnect_deadline.is_some() {
            self.check_timers().await?;
        }
        Ok(())
    }

    /// Sends the fault frames due before global message `seq`, each once per
    /// simulator.
    async fn fire_faults(&mut self, seq: u64) -> Result<(), Exit> {
        let cfg = &self.shared.cfg;
        let due = |at: Option<u64>, flag: &AtomicBool| {
            at.is_some_and(|i| seq >= i)
                && !flag.load(Ordering::Relaxed)
                && !flag.swap(true, Ordering::AcqRel)
        };
        let faults = &self.shared.faults;
        let mut frames = Vec::new();
        if due(cfg.bomb_at, &faults.bomb) {
            frames.push(("bomb", encode::bomb_frame(self.mode)));
        }
        if self.mode.is_zstd() && due(cfg.unknown_dict_at, &faults.unknown_dict) {
            frames.push(("unknown_dict", encode::unknown_dict_frame()));
        }
        if due(cfg.bad_json_at, &faults.bad_json) {
            frames.push(("bad_json", encode::bad_json_frame(self.mode)));
        }
        if due(cfg.dense_at, &faults.dense) {
            frames.push(("dense", encode::dense_frame(self.mode)));
        }
        for (name, frame) in frames {
            match frame {
                Ok(frame) => {
                    tracing::info!(fault = name, before = seq, "fault frame");
                    Counters::bump(&self.shared.counters.faults_fired);
                    self.write_frame(frame).await?;
                }
                Err(e) => tracing::error!(fault = name, error = %e, "cannot build fault frame"),
            }
        }
        Ok(())
    }

    async fn send_control(&mut self, json: String) -> Result<(), Exit> {
        self.write_frame(SimFrame::Text(json)).await
    }

    async fn write_frame(&mut self, frame: SimFrame) -> Result<(), Exit> {
        self.shared
            .counters
            .bytes_sent
            .fetch_add(frame.len() as u64, Ordering::Relaxed);
        let msg = match frame {
            SimFrame::Text(text) => Message::text(text),
            SimFrame::Binary(bytes) => Message::binary(bytes),
        };
        self.write(msg).await
    }

    /// Queues a message; a socket that takes nothing for `idle_timeout` is
    /// dropped.
    async fn write(&mut self, msg: Message) -> Result<(), Exit> {
        match timeout(self.shared.cfg.idle_timeout, self.sink.feed(msg)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Exit::ClientGone),
            Err(_) => Err(Exit::Drop),
        }
    }

    async fn flush(&mut self) -> Result<(), Exit> {
        match timeout(self.shared.cfg.idle_timeout, self.sink.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Exit::ClientGone),
            Err(_) => Err(Exit::Drop),
        }
    }
}
