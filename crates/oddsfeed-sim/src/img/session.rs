//! The async driver of one session over any byte stream.
//!
//! Two futures run side by side in the caller's task: the driver (reads
//! requests, runs the init deadline, heartbeat and live timers, asks the
//! [`Core`] for pushes) and the writer (drains the bounded outbound queue into
//! the stream). Snapshot and subscription images are only queued while the
//! queue is below a low watermark, so a heartbeat is never stuck behind a
//! long snapshot; timer-driven live pushes are queued regardless, so a reader
//! that does not keep up overflows the queue and gets the `slow reader`
//! notice, as the vendor's server does.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Notify, mpsc, oneshot};
use tokio::time::{Instant, Interval, MissedTickBehavior};

use oddsfeed_wire::{Line, LineDecoder, WireError};

use super::config::ImgSimConfig;
use super::core::{Core, CoreEnd, INVALID_REQUEST};
use super::world::GolfWorld;

/// State shared by all sessions of one server: the generated world and the
/// connection counter (which makes each connection's pushes reproducible and
/// tells the first connection apart for `slow_reader_kick`).
#[derive(Debug)]
pub struct SimShared {
    world: GolfWorld,
    connections: AtomicU64,
}

impl SimShared {
    /// Generates the world from `cfg.seed`, with start times anchored on
    /// today's date (UTC).
    pub fn new(cfg: &ImgSimConfig) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Self::with_base_time(cfg, now)
    }

    /// Like [`SimShared::new`] with start times anchored on the UTC day of
    /// `base_unix_secs`, for fully reproducible output.
    pub fn with_base_time(cfg: &ImgSimConfig, base_unix_secs: u64) -> Self {
        Self {
            world: GolfWorld::generate(cfg.seed, &cfg.world, base_unix_secs),
            connections: AtomicU64::new(0),
        }
    }

    /// The world every new session starts from.
    pub fn world(&self) -> &GolfWorld {
        &self.world
    }

    /// Number of sessions started so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::Relaxed)
    }
}

/// Transport details a session needs to know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionOptions {
    /// The client asked for a PTY: a lone `\r` also ends a request line
    /// (docs/PROTOCOL.md A.1).
    pub pty: bool,
    /// Flush after every line instead of after every batch of queued lines
    /// (for stdio under a forced command).
    pub flush_each_line: bool,
}

/// How a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEnd {
    /// The client closed its side of the stream.
    ReaderClosed,
    /// Reading requests failed.
    ReadFailed(io::ErrorKind),
    /// Writing to the client failed (it went away).
    WriteFailed(io::ErrorKind),
    /// No `init` within the deadline; the `no init sent` notice was sent.
    NoInit,
    /// The `messages` budget was sent.
    MessagesLimit,
    /// The `drop_after` fault closed the connection without a notice.
    DropAfter,
    /// The outbound queue overflowed; the `slow reader` notice was sent.
    SlowReader,
    /// The `slow_reader_kick` fault fired; the `slow reader` notice was sent.
    SlowReaderKick,
}

/// Summary of one finished session, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionReport {
    /// 0-based index of the connection on its server.
    pub connection: u64,
    /// The session id announced (or that would have been announced).
    pub session_id: String,
    /// Non-heartbeat pushes handed to the writer.
    pub pushes: u64,
    /// Why it ended.
    pub end: SessionEnd,
    /// Whether every queued line was written and the stream shut down
    /// within [`ImgSimConfig::close_grace`].
    pub flushed: bool,
}

/// Serves one session on a reader/writer pair: the whole protocol of
/// docs/PROTOCOL.md Part A as the simulator speaks it. Returns when the session is
/// over and the writer has been shut down (or given up on after
/// [`ImgSimConfig::close_grace`]).
pub async fn serve_session<R, W>(
    reader: R,
    writer: W,
    cfg: Arc<ImgSimConfig>,
    shared: Arc<SimShared>,
) -> SessionReport
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    serve_session_with(reader, writer, cfg, shared, SessionOptions::default()).await
}

/// [`serve_session`] with transport options (PTY line ends, per-line flush).
pub async fn serve_session_with<R, W>(
    mut reader: R,
    mut writer: W,
    cfg: Arc<ImgSimConfig>,
    shared: Arc<SimShared>,
    opts: SessionOptions,
) -> SessionReport
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let connection = shared.connections.fetch_add(1, Ordering::Relaxed);
    let rng = fastrand::Rng::with_seed(
        cfg.seed ^ (connection.wrapping_add(1)).wrapping_mul(0x9E37_79B9_7F4A_7C15),
    );
    let kick = cfg.faults.slow_reader_kick && connection == 0;
    let mut core = Core::new(Arc::clone(&cfg), shared.world.clone(), rng, kick);
    let session_id = core.session_id().to_owned();
    tracing::debug!(connection, session_id = %session_id, "img session start");

    let queue = OutQueue::default();
    let (tx, rx) = mpsc::unbounded_channel::<Bytes>();
    let (done_tx, done_rx) = oneshot::channel::<()>();

    let driver = async {
        let out = Out {
            tx,
            queue: &queue,
            max: cfg.max_outbound_bytes,
        };
        let end = drive(&mut reader, &mut core, &out, &cfg, opts).await;
        drop(out);
        let _ = done_tx.send(());
        end
    };
    let grace = cfg.close_grace;
    let writing = async {
        let work = write_loop(&mut writer, rx, &queue, opts.flush_each_line);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => r,
            () = async {
                let _ = done_rx.await;
                tokio::time::sleep(grace).await;
            } => Err(io::Error::new(io::ErrorKind::TimedOut, "close grace expired")),
        }
    };
    let (end, written) = tokio::join!(driver, writing);
    let end = match (end, &written) {
        (DriverEnd::WriterGone, Err(e)) => SessionEnd::WriteFailed(e.kind()),
        (DriverEnd::WriterGone, Ok(())) => SessionEnd::WriteFailed(io::ErrorKind::BrokenPipe),
        (DriverEnd::Session(end), _) => end,
    };
    let report = SessionReport {
        connection,
        session_id,
        pushes: core.pushes(),
        end,
        flushed: written.is_ok(),
    };
    tracing::debug!(connection, end = ?report.end, pushes = report.pushes, "img session end");
    report
}

enum DriverEnd {
    Session(SessionEnd),
    WriterGone,
}

impl From<SessionEnd> for DriverEnd {
    fn from(e: SessionEnd) -> Self {
        DriverEnd::Session(e)
    }
}

impl From<CoreEnd> for SessionEnd {
    fn from(e: CoreEnd) -> Self {
        match e {
            CoreEnd::MessagesLimit => SessionEnd::MessagesLimit,
            CoreEnd::DropAfter => SessionEnd::DropAfter,
            CoreEnd::SlowReaderKick => SessionEnd::SlowReaderKick,
        }
    }
}

/// Byte accounting of the outbound queue, shared by driver and writer.
#[derive(Debug, Default)]
struct OutQueue {
    queued: AtomicUsize,
    drained: Notify,
}

impl OutQueue {
    fn release(&self, n: usize) {
        self.queued.fetch_sub(n, Ordering::AcqRel);
        self.drained.notify_one();
    }

    async fn wait_below(&self, mark: usize) {
        loop {
            if self.queued.load(Ordering::Acquire) < mark {
                return;
            }
            self.drained.notified().await;
        }
    }
}

enum SendError {
    Overflow,
    Closed,
}

struct Out<'a> {
    tx: mpsc::UnboundedSender<Bytes>,
    queue: &'a OutQueue,
    max: usize,
}

impl Out<'_> {
    fn enqueue(&self, line: String, bounded: bool) -> Result<(), SendError> {
        let mut bytes = line.into_bytes();
        bytes.push(b'\n');
        let len = bytes.len();
        if bounded
            && self
                .queue
                .queued
                .load(Ordering::Acquire)
                .saturating_add(len)
                > self.max
        {
            return Err(SendError::Overflow);
        }
        self.queue.queued.fetch_add(len, Ordering::AcqRel);
        self.tx
            .send(Bytes::from(bytes))
            .map_err(|_| SendError::Closed)
    }

    /// Queues a line within the bound; on overflow queues the `slow reader`
    /// notice instead and reports the end.
    fn send(&self, core: &Core, line: String) -> Result<(), DriverEnd> {
        match self.enqueue(line, true) {
            Ok(()) => Ok(()),
            Err(SendError::Closed) => Err(DriverEnd::WriterGone),
            Err(SendError::Overflow) => {
                tracing::info!(
                    session_id = core.session_id(),
                    "img outbound queue full: slow reader"
                );
                let _ = self.enqueue(core.notice("slow reader"), false);
                Err(SessionEnd::SlowReader.into())
            }
        }
    }

    /// Hands the next pending push to the writer.
    fn push_next(&self, core: &mut Core) -> Result<(), DriverEnd> {
        let Some(emitted) = core.next_push(SystemTime::now()) else {
            return Ok(());
        };
        for line in emitted.lines {
            self.send(core, line)?;
        }
        match emitted.end {
            None => Ok(()),
            Some(CoreEnd::SlowReaderKick) => {
                let _ = self.enqueue(core.notice("slow reader"), false);
                Err(SessionEnd::SlowReaderKick.into())
            }
            Some(end) => Err(SessionEnd::from(end).into()),
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut rx: mpsc::UnboundedReceiver<Bytes>,
    queue: &OutQueue,
    flush_each_line: bool,
) -> io::Result<()> {
    const BATCH: usize = 64 << 10;
    let mut batch = Vec::with_capacity(BATCH);
    while let Some(first) = rx.recv().await {
        batch.clear();
        batch.extend_from_slice(&first);
        if !flush_each_line {
            while batch.len() < BATCH {
                match rx.try_recv() {
                    Ok(more) => batch.extend_from_slice(&more),
                    Err(_) => break,
                }
            }
        }
        writer.write_all(&batch).await?;
        writer.flush().await?;
        queue.release(batch.len());
    }
    writer.shutdown().await
}

async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(i) => {
            i.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn interval_from(start: Instant, period: Duration) -> Interval {
    let mut i = tokio::time::interval_at(start + period, period);
    i.set_missed_tick_behavior(MissedTickBehavior::Delay);
    i
}

async fn drive<R: AsyncRead + Unpin>(
    reader: &mut R,
    core: &mut Core,
    out: &Out<'_>,
    cfg: &ImgSimConfig,
    opts: SessionOptions,
) -> DriverEnd {
    match drive_inner(reader, core, out, cfg, opts).await {
        Ok(never) => match never {},
        Err(end) => end,
    }
}

enum Never {}

/// Pushes handed out per wake-up of the paced branch, so one select round
/// stays short.
const PACED_BURST: usize = 64;

async fn drive_inner<R: AsyncRead + Unpin>(
    reader: &mut R,
    core: &mut Core,
    out: &Out<'_>,
    cfg: &ImgSimConfig,
    opts: SessionOptions,
) -> Result<Never, DriverEnd> {
    let start = Instant::now();
    let init_deadline = tokio::time::sleep_until(start + cfg.init_deadline);
    tokio::pin!(init_deadline);
    let mut heartbeats: Option<Interval> = None;
    let mut heartbeat_stop: Option<Instant> = None;
    let mut live: Option<Interval> = None;
    let unpaced_live = !cfg.update_interval.is_zero();
    let mut decoder = LineDecoder::new(cfg.max_line_bytes).with_cr_terminator(opts.pty);
    let mut buf = vec![0u8; 16 << 10];
    let mut lines: Vec<Result<Line, WireError>> = Vec::new();

    loop {
        tokio::select! {
            read = reader.read(&mut buf) => {
                let n = match read {
                    Ok(n) => n,
                    Err(e) => return Err(SessionEnd::ReadFailed(e.kind()).into()),
                };
                match buf.get(..n) {
                    Some(data) if n > 0 => lines.extend(decoder.decode(data)),
                    _ => lines.extend(std::iter::from_fn(|| decoder.finish())),
                }
                for line in lines.drain(..) {
                    let now = SystemTime::now();
                    let response = match line {
                        // Whitespace-only lines are blank too: never answered.
                        Ok(line) if line.as_str().trim().is_empty() => continue,
                        // Over-long or not UTF-8: not a request we can read.
                        Err(error) => {
                            tracing::debug!(session_id = core.session_id(), reason = error.reason(), "img bad request line");
                            core.error_response(INVALID_REQUEST, None, now)
                        }
                        Ok(line) => {
                            let handled = core.handle_line(line.as_bytes(), now);
                            if handled.initialized {
                                let at = Instant::now();
                                if cfg.heartbeat_ms > 0 {
                                    heartbeats = Some(interval_from(at, Duration::from_millis(cfg.heartbeat_ms)));
                                }
                                heartbeat_stop = cfg.faults.stall_heartbeats_after.map(|s| at + s);
                                if unpaced_live {
                                    live = Some(interval_from(at, cfg.update_interval));
                                }
                            }
                            handled.response
                        }
                    };
                    out.send(core, response)?;
                    if core.initialized()
                        && let Some(end) = core.budget_spent()
                    {
                        return Err(SessionEnd::from(end).into());
                    }
                }
                if n == 0 {
                    return Err(SessionEnd::ReaderClosed.into());
                }
            }
            () = &mut init_deadline, if !core.initialized() => {
                let _ = out.enqueue(core.notice("no init sent"), false);
                return Err(SessionEnd::NoInit.into());
            }
            () = tick(&mut heartbeats) => {
                if heartbeat_stop.is_some_and(|stop| Instant::now() >= stop) {
                    tracing::debug!(session_id = core.session_id(), "img heartbeats stalled (fault)");
                    heartbeats = None;
                } else {
                    out.send(core, core.heartbeat(SystemTime::now()))?;
                }
            }
            () = tick(&mut live), if core.can_generate() => {
                if core.generate_live() {
                    while core.has_pending() {
                        out.push_next(core)?;
                    }
                }
            }
            () = out.queue.wait_below(cfg.pace_watermark_bytes),
                if core.has_pending() || (!unpaced_live && core.can_generate()) =>
            {
                for _ in 0..PACED_BURST {
                    let refilled = !unpaced_live && core.can_generate() && core.generate_live();
                    if !core.has_pending() && !refilled {
                        break;
                    }
                    out.push_next(core)?;
                    if out.queue.queued.load(Ordering::Acquire) >= cfg.pace_watermark_bytes {
                        break;
                    }
                }
            }
            () = out.tx.closed() => return Err(DriverEnd::WriterGone),
        }
    }
}
