//! [`Writer`]: append-only, through a bounded buffer.

use std::io::{self, Write};

use crate::format::{Header, RecordRef, encode_header, encode_record};

/// Default buffer of a [`Writer`]: 64 KiB.
pub const DEFAULT_BUFFER: usize = 64 << 10;

/// Appends records to `W`.
///
/// Records are encoded into a buffer of at most `buffer` bytes (a record larger than that is
/// written through at once) and written with one `write_all` when the buffer would overflow
/// and on [`flush`](Self::flush). The caller decides the flush cadence (the facade flushes at
/// least once a second and whenever the feed goes idle); the header is flushed at once.
///
/// Only whole records are ever handed to `W`, in order, and nothing already written is touched
/// again: when the process dies, the file holds the header and a prefix of the records, of
/// which at most the last is torn (docs/RECORDING.md, "Crash safety").
#[derive(Debug)]
pub struct Writer<W: Write> {
    out: W,
    buf: Vec<u8>,
    cap: usize,
    records: u64,
    bytes: u64,
}

impl<W: Write> Writer<W> {
    /// Writes and flushes `header`, with a buffer of [`DEFAULT_BUFFER`] bytes.
    ///
    /// # Errors
    ///
    /// When writing the header fails.
    pub fn new(out: W, header: &Header) -> io::Result<Self> {
        Self::with_buffer(out, header, DEFAULT_BUFFER)
    }

    /// Writes and flushes `header`, with a buffer of `buffer` bytes.
    ///
    /// # Errors
    ///
    /// When writing the header fails.
    pub fn with_buffer(mut out: W, header: &Header, buffer: usize) -> io::Result<Self> {
        let mut head = Vec::with_capacity(header.encoded_len());
        encode_header(header, &mut head);
        out.write_all(&head)?;
        out.flush()?;
        Ok(Self {
            out,
            buf: Vec::with_capacity(buffer.min(DEFAULT_BUFFER)),
            cap: buffer,
            records: 0,
            bytes: head.len() as u64,
        })
    }

    /// Appends one record (buffered).
    ///
    /// # Errors
    ///
    /// When writing the buffer out fails.
    pub fn append(&mut self, record: &RecordRef<'_>) -> io::Result<()> {
        if !self.buf.is_empty() && self.buf.len() + record.encoded_len() > self.cap {
            self.write_out()?;
        }
        encode_record(record, &mut self.buf);
        self.records += 1;
        if self.buf.len() >= self.cap {
            self.write_out()?;
        }
        Ok(())
    }

    /// Appends bytes that are already whole encoded records (from [`encode_record`]).
    ///
    /// # Errors
    ///
    /// When writing fails.
    pub fn append_encoded(&mut self, records: &[u8]) -> io::Result<()> {
        if self.buf.len() + records.len() > self.cap {
            self.write_out()?;
            self.bytes += records.len() as u64;
            return self.out.write_all(records);
        }
        self.buf.extend_from_slice(records);
        Ok(())
    }

    /// Bytes waiting in the buffer.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Records appended through [`append`](Self::append).
    #[must_use]
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Bytes handed to `W` so far (the header included).
    #[must_use]
    pub fn bytes_written(&self) -> u64 {
        self.bytes
    }

    /// Writes the buffer out and flushes `W`.
    ///
    /// # Errors
    ///
    /// When writing or flushing fails.
    pub fn flush(&mut self) -> io::Result<()> {
        self.write_out()?;
        self.out.flush()
    }

    /// The underlying writer, after a [`flush`](Self::flush).
    ///
    /// # Errors
    ///
    /// When the final flush fails.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }

    /// The underlying writer, for inspection.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    fn write_out(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        self.out.write_all(&self.buf)?;
        self.bytes += self.buf.len() as u64;
        self.buf.clear();
        if self.buf.capacity() > self.cap.max(DEFAULT_BUFFER) {
            self.buf.shrink_to(self.cap.max(DEFAULT_BUFFER));
        }
        Ok(())
    }
}
