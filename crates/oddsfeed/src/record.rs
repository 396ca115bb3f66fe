//! The recording tee: the drivers copy every frame or line they read, with its arrival time and
//! connection number, into a recording (format: `oddsfeed-record`, docs/RECORDING.md).
//!
//! The driver encodes records into a batch buffer as it reads (one copy of each frame) and, once
//! per turn, hands the batch to a writer thread over a bounded channel of [`QUEUE_BATCHES`]
//! batches with `send().await`. The thread writes each batch to the file as soon as it gets it
//! (so the file is at most one turn behind the feed, well within the "flush at least once a
//! second" rule) and calls `fsync` when the run ends. No file write ever runs on a tokio worker
//! thread.
//!
//! When the disk is slower than the feed, the channel fills and the driver waits for room before
//! it reads the socket again: the server sees TCP backpressure, exactly as with a slow
//! application, and the recording loses nothing. If writing fails (disk full), the run goes on
//! without recording and the driver reports a `record_failed` warning once.

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, SystemTime};

use oddsfeed_record::{Header, RecordKind, RecordRef, encode_header, encode_record, unix_nanos};
use tokio::sync::{mpsc, oneshot};

/// Batches that may wait for the writer thread.
pub(crate) const QUEUE_BATCHES: usize = 16;

/// IMG bytes without a newline kept back at most (the session's default line bound): past it,
/// the part read so far is written as its own record.
const MAX_PARTIAL_LINE: usize = 4 << 20;

/// How long closing a client waits for the writer thread to finish the file.
pub(crate) const FINISH_WAIT: Duration = Duration::from_secs(10);

/// The current time as the recording stores it.
pub(crate) fn now_ns() -> i64 {
    unix_nanos(SystemTime::now())
}

/// The driver's end of a recording.
#[derive(Debug)]
pub(crate) struct Tee {
    batch: Vec<u8>,
    tx: Option<mpsc::Sender<Vec<u8>>>,
    /// IMG: bytes of a line not yet ended.
    partial: Vec<u8>,
    partial_conn: u64,
    partial_time: i64,
    reported: bool,
}

/// Resolves when the writer thread has written and synced everything (or failed).
#[derive(Debug)]
pub(crate) struct Finished(oneshot::Receiver<Result<(), String>>);

impl Finished {
    /// Waits (bounded) for the writer thread.
    pub(crate) async fn wait(self) -> Result<(), String> {
        match tokio::time::timeout(FINISH_WAIT, self.0).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err("the recording thread stopped unexpectedly".to_owned()),
            Err(_) => Err(format!(
                "the recording was not finished within {} s",
                FINISH_WAIT.as_secs()
            )),
        }
    }
}

impl Tee {
    /// Creates (or truncates) `path`, writes the header, and starts the writer thread.
    pub(crate) fn create(path: &Path, header: &Header) -> io::Result<(Self, Finished)> {
        let mut file = File::create(path)?;
        let mut head = Vec::with_capacity(header.encoded_len());
        encode_header(header, &mut head);
        file.write_all(&head)?;
        let (tx, rx) = mpsc::channel::<Vec<u8>>(QUEUE_BATCHES);
        let (done_tx, done_rx) = oneshot::channel();
        std::thread::Builder::new()
            .name("oddsfeed-record".to_owned())
            .spawn(move || {
                let _ = done_tx.send(write_batches(file, rx));
            })?;
        Ok((
            Self {
                batch: Vec::with_capacity(64 << 10),
                tx: Some(tx),
                partial: Vec::new(),
                partial_conn: 0,
                partial_time: 0,
                reported: false,
            },
            Finished(done_rx),
        ))
    }

    /// Adds one record, arrived now.
    pub(crate) fn record(&mut self, kind: RecordKind, conn: u64, payload: &[u8]) {
        self.record_at(kind, conn, now_ns(), payload);
    }

    fn record_at(&mut self, kind: RecordKind, conn: u64, time_ns: i64, payload: &[u8]) {
        if self.tx.is_none() {
            return;
        }
        encode_record(
            &RecordRef::new(kind, conn, time_ns, payload),
            &mut self.batch,
        );
    }

    /// IMG: adds the bytes read on `conn`, one record per line (a line's end completes the bytes
    /// kept from earlier reads).
    pub(crate) fn record_lines(&mut self, conn: u64, data: &[u8]) {
        if self.tx.is_none() {
            return;
        }
        let time = now_ns();
        let mut rest = data;
        while let Some(at) = memchr::memchr(b'\n', rest) {
            let (line, tail) = rest.split_at(at + 1);
            if self.partial.is_empty() {
                self.record_at(RecordKind::Lines, conn, time, line);
            } else {
                let mut whole = std::mem::take(&mut self.partial);
                whole.extend_from_slice(line);
                self.record_at(RecordKind::Lines, conn, time, &whole);
                whole.clear();
                self.partial = whole;
            }
            rest = tail;
        }
        if !rest.is_empty() {
            self.partial.extend_from_slice(rest);
            self.partial_conn = conn;
            self.partial_time = time;
            if self.partial.len() >= MAX_PARTIAL_LINE {
                self.flush_partial();
            }
        }
    }

    /// IMG: writes the bytes of an unfinished line (before a connection end).
    pub(crate) fn flush_partial(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let partial = std::mem::take(&mut self.partial);
        self.record_at(
            RecordKind::Lines,
            self.partial_conn,
            self.partial_time,
            &partial,
        );
    }

    /// A connection ended, with the close frame's code and reason if there was one.
    pub(crate) fn conn_end(&mut self, conn: u64, close: Option<(u16, &str)>) {
        match close {
            Some((code, reason)) => {
                let payload = RecordRef::close_payload(code, reason);
                self.record(RecordKind::ConnEnd, conn, &payload);
            }
            None => self.record(RecordKind::ConnEnd, conn, &[]),
        }
    }

    /// Hands the records added since the last call to the writer thread, waiting for room.
    /// Returns an error text once when the recording has failed (it is then switched off).
    pub(crate) async fn send(&mut self) -> Option<String> {
        if self.batch.is_empty() {
            return None;
        }
        let Some(tx) = &self.tx else {
            self.batch.clear();
            return None;
        };
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(64 << 10));
        if tx.send(batch).await.is_ok() {
            return None;
        }
        self.tx = None;
        self.batch = Vec::new();
        if self.reported {
            return None;
        }
        self.reported = true;
        Some("writing the recording failed; the run goes on without recording".to_owned())
    }
}

/// The writer thread: each batch to the file as it comes, `fsync` at the end.
fn write_batches(mut file: File, mut rx: mpsc::Receiver<Vec<u8>>) -> Result<(), String> {
    while let Some(batch) = rx.blocking_recv() {
        if let Err(e) = file.write_all(&batch) {
            return Err(format!("writing the recording failed: {e}"));
        }
    }
    file.sync_data()
        .map_err(|e| format!("syncing the recording failed: {e}"))
}
