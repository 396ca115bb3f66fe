//! [`SliceReader`] and [`StreamReader`]: every complete record in order, then at most one
//! [`Item::Truncated`].

use std::io::{self, Read};

use crate::error::RecordError;
use crate::format::{
    BODY_PREFIX, DEFAULT_MAX_RECORD, HEADER_FIXED_LEN, Header, MAX_META, RecordRef, le4, parse_body,
};

/// What a reader yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    /// A complete record whose checksum matched.
    Record(RecordRef<'a>),
    /// The file ends in a torn or corrupt record: everything from `offset` on is ignored.
    /// Yielded once, as the last item (the `recording_truncated` event).
    Truncated(Truncation),
}

/// Where and why a recording's tail was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Truncation {
    /// Byte offset of the first ignored byte (the start of the bad record).
    pub offset: u64,
    /// Bytes ignored from there to the end of the file.
    pub ignored_bytes: u64,
    /// Why.
    pub reason: TruncationReason,
}

/// Why a tail was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TruncationReason {
    /// The file ends inside a record (a writer stopped mid-write): the torn tail.
    Incomplete,
    /// A record's checksum does not match its bytes.
    ChecksumMismatch,
    /// A record's length is impossible (shorter than a record's fixed part, or over the
    /// reader's bound).
    BadLength,
}

impl TruncationReason {
    /// `incomplete`, `checksum_mismatch` or `bad_length`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::ChecksumMismatch => "checksum_mismatch",
            Self::BadLength => "bad_length",
        }
    }
}

/// The outcome of looking at the bytes of one record.
enum Framed {
    /// A good record of this many bytes in all.
    Record(usize),
    /// Need this many bytes in all to decide.
    Need(usize),
    /// Corrupt.
    Bad(TruncationReason),
}

/// Decides what the record at the start of `bytes` is.
fn frame(bytes: &[u8], max_record: usize) -> Framed {
    let Some(head) = bytes.get(..8) else {
        return Framed::Need(8);
    };
    let body_len = u32::from_le_bytes(le4(&head[..4])) as usize;
    if body_len < BODY_PREFIX || body_len > max_record {
        return Framed::Bad(TruncationReason::BadLength);
    }
    let total = 8 + body_len;
    let Some(body) = bytes.get(8..total) else {
        return Framed::Need(total);
    };
    if crc32fast::hash(body) != u32::from_le_bytes(le4(&head[4..8])) {
        return Framed::Bad(TruncationReason::ChecksumMismatch);
    }
    Framed::Record(total)
}

/// A zero-copy reader over a whole recording in memory (a file read or mapped by the caller,
/// a fuzz input).
#[derive(Debug, Clone)]
pub struct SliceReader<'a> {
    header: Header,
    bytes: &'a [u8],
    pos: usize,
    max_record: usize,
    done: bool,
}

impl<'a> SliceReader<'a> {
    /// Parses the header.
    ///
    /// # Errors
    ///
    /// As [`Header::parse`]: not a recording, unknown version, corrupt header.
    pub fn new(bytes: &'a [u8]) -> Result<Self, RecordError> {
        let (header, pos) = Header::parse(bytes)?;
        Ok(Self {
            header,
            bytes,
            pos,
            max_record: DEFAULT_MAX_RECORD,
            done: false,
        })
    }

    /// The same reader with another bound on one record's body (default
    /// [`DEFAULT_MAX_RECORD`]).
    #[must_use]
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next item, or `None` at the end (after a [`Item::Truncated`], if any).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<Item<'a>> {
        if self.done {
            return None;
        }
        let rest = self.bytes.get(self.pos..).unwrap_or_default();
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let reason = match frame(rest, self.max_record) {
            Framed::Record(total) => {
                let body = rest.get(8..total).unwrap_or_default();
                if let Some(record) = parse_body(body) {
                    self.pos += total;
                    return Some(Item::Record(record));
                }
                TruncationReason::BadLength
            }
            Framed::Need(_) => TruncationReason::Incomplete,
            Framed::Bad(reason) => reason,
        };
        self.done = true;
        Some(Item::Truncated(Truncation {
            offset: self.pos as u64,
            ignored_bytes: rest.len() as u64,
            reason,
        }))
    }
}

/// Initial buffer of a [`StreamReader`]: 256 KiB.
const STREAM_BUFFER: usize = 256 << 10;

/// A reader over any [`Read`] (a file, a pipe) with one reused buffer: memory stays at the
/// largest record read (bounded by the reader's record bound) plus 256 KiB, and a record's
/// declared length costs memory only as its bytes arrive (at most twice what is there). Records
/// borrow the buffer until the next call.
#[derive(Debug)]
pub struct StreamReader<R> {
    header: Header,
    src: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Offset in the file of `buf[start]`.
    offset: u64,
    max_record: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> StreamReader<R> {
    /// Reads and checks the header.
    ///
    /// # Errors
    ///
    /// As [`Header::parse`], or [`RecordError::Io`].
    pub fn new(mut src: R) -> Result<Self, RecordError> {
        let mut buf = vec![0; STREAM_BUFFER];
        let mut end = fill(&mut src, &mut buf, 0, HEADER_FIXED_LEN)?;
        // The fixed part tells the metadata length; read the rest of the header.
        if end >= HEADER_FIXED_LEN {
            let meta_len = u32::from_le_bytes(le4(&buf[20..24])) as usize;
            let total = HEADER_FIXED_LEN + meta_len.min(MAX_META) + 4;
            end = fill(&mut src, &mut buf, end, total)?;
        }
        let (header, len) = Header::parse(&buf[..end])?;
        Ok(Self {
            header,
            src,
            buf,
            start: len,
            end,
            offset: len as u64,
            max_record: DEFAULT_MAX_RECORD,
            eof: false,
            done: false,
        })
    }

    /// The same reader with another bound on one record's body (default
    /// [`DEFAULT_MAX_RECORD`]).
    #[must_use]
    pub fn with_max_record(mut self, bytes: usize) -> Self {
        self.max_record = bytes;
        self
    }

    /// The header.
    #[must_use]
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next item, or `Ok(None)` at the end (after a [`Item::Truncated`], if any).
    ///
    /// # Errors
    ///
    /// [`RecordError::Io`] when reading fails (not at a clean end of file).
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<Item<'_>>, RecordError> {
        if self.done {
            return Ok(None);
        }
        loop {
            let available = &self.buf[self.start..self.end];
            let outcome = frame(available, self.max_record);
            match outcome {
                Framed::Record(total) => {
                    // `frame` checked the body holds at least its fixed part.
                    if total < 8 + BODY_PREFIX {
                        return self.truncated(TruncationReason::BadLength).map(Some);
                    }
                    let at = self.start;
                    self.start += total;
                    self.offset += total as u64;
                    let body = &self.buf[at + 8..at + total];
                    return Ok(parse_body(body).map(Item::Record));
                }
                Framed::Need(need) => {
                    if available.is_empty() && self.eof {
                        self.done = true;
                        return Ok(None);
                    }
                    if self.eof {
                        return self.truncated(TruncationReason::Incomplete).map(Some);
                    }
                    self.refill(need)?;
                }
                Framed::Bad(reason) => return self.truncated(reason).map(Some),
            }
        }
    }

    /// Makes room for `need` bytes from `start` and reads until they are there or the file
    /// ends.
    fn refill(&mut self, need: usize) -> Result<(), RecordError> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() < need {
            // Grow by doubling towards `need`, reading in between, not straight to it: the
            // length comes from the file, and a torn or hostile one that claims a record of up
            // to `max_record` bytes must not cost that much memory (zeroed) before the bytes
            // are there. Memory stays within twice what the file really holds.
            let grown = self
                .buf
                .len()
                .saturating_mul(2)
                .max(STREAM_BUFFER)
                .min(need);
            self.buf.resize(grown, 0);
        } else if self.buf.len() > STREAM_BUFFER && need <= STREAM_BUFFER && self.end <= need {
            // Give back the room a big record took once it is behind us.
            self.buf.truncate(STREAM_BUFFER.max(self.end));
            self.buf.shrink_to(STREAM_BUFFER);
        }
        // Read at least `need` (or the whole buffer, when it is still growing towards `need`),
        // and as much as fits, in as few calls as the source allows.
        let target = need
            .min(self.buf.len())
            .max(self.buf.len().min(STREAM_BUFFER));
        let before = self.end;
        self.end = fill(&mut self.src, &mut self.buf, self.end, target)?;
        if self.end < target || self.end == before {
            self.eof = true;
        }
        Ok(())
    }

    fn truncated(&mut self, reason: TruncationReason) -> Result<Item<'static>, RecordError> {
        self.done = true;
        let buffered = (self.end - self.start) as u64;
        let rest = io::copy(&mut self.src, &mut io::sink())?;
        Ok(Item::Truncated(Truncation {
            offset: self.offset,
            ignored_bytes: buffered + rest,
            reason,
        }))
    }
}

/// Reads into `buf[end..]` until `end >= want` or the source ends; returns the new end.
fn fill<R: Read>(src: &mut R, buf: &mut [u8], mut end: usize, want: usize) -> io::Result<usize> {
    let want = want.min(buf.len());
    while end < want {
        match src.read(&mut buf[end..]) {
            Ok(0) => break,
            Ok(n) => end += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(end)
}
