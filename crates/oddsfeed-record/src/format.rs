//! The byte layout (docs/RECORDING.md): header, record framing, record kinds.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::RecordError;

/// The first 8 bytes of every recording.
pub const MAGIC: [u8; 8] = *b"ODFREC\r\n";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes of the header before its metadata: magic, version, feed, flags, start time, metadata
/// length.
pub const HEADER_FIXED_LEN: usize = 8 + 2 + 1 + 1 + 8 + 4;
/// Largest header metadata accepted, in bytes: 64 KiB.
pub const MAX_META: usize = 64 << 10;
/// Bytes a record takes besides its payload: length (4), CRC (4), kind (1), connection (8),
/// arrival time (8).
pub const RECORD_OVERHEAD: usize = 4 + 4 + BODY_PREFIX;
/// Default bound of one record's body in the readers: 256 MiB. A length above it is treated as
/// corruption (the tail is reported truncated), so a flipped length byte cannot make a reader
/// allocate gigabytes.
pub const DEFAULT_MAX_RECORD: usize = 256 << 20;

/// Body bytes before the payload: kind, connection, arrival time.
pub(crate) const BODY_PREFIX: usize = 1 + 8 + 8;

/// Which feed a recording holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Feed {
    /// The OddsPapi-style WebSocket feed: records are frames.
    Ws,
    /// The IMG Arena-style newline-JSON feed: records are lines.
    Img,
}

impl Feed {
    /// The byte stored in the header.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::Ws => 1,
            Self::Img => 2,
        }
    }

    /// The feed for a header byte.
    #[must_use]
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Ws),
            2 => Some(Self::Img),
            _ => None,
        }
    }

    /// `ws` or `img`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ws => "ws",
            Self::Img => "img",
        }
    }
}

/// The recording header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The feed recorded.
    pub feed: Feed,
    /// When the recording started, UTC nanoseconds since the Unix epoch.
    pub start_ns: i64,
    /// A JSON object (UTF-8 text, at most [`MAX_META`] bytes) with the client settings a replay
    /// needs to behave as the live run did: requested receive type, initial resume cursors, IMG
    /// requests. Never a secret. Empty means `{}`.
    pub meta: String,
}

impl Header {
    /// A header for `feed` started at `start_ns` with no metadata.
    #[must_use]
    pub fn new(feed: Feed, start_ns: i64) -> Self {
        Self {
            feed,
            start_ns,
            meta: String::new(),
        }
    }

    /// The same header with `meta` as its metadata.
    #[must_use]
    pub fn with_meta(mut self, meta: impl Into<String>) -> Self {
        self.meta = meta.into();
        self
    }

    /// Parses a header at the start of `bytes`; returns it and its length in bytes.
    ///
    /// # Errors
    ///
    /// [`RecordError::NotARecording`] without the magic, [`RecordError::UnsupportedVersion`],
    /// [`RecordError::BadHeader`] when torn, out of range or failing its checksum.
    pub fn parse(bytes: &[u8]) -> Result<(Self, usize), RecordError> {
        let magic_len = bytes.len().min(MAGIC.len());
        if bytes.get(..magic_len) != MAGIC.get(..magic_len) || bytes.is_empty() {
            return Err(RecordError::NotARecording {
                found: bytes.get(..magic_len).unwrap_or_default().to_vec(),
            });
        }
        let fixed = bytes
            .get(..HEADER_FIXED_LEN)
            .ok_or_else(|| RecordError::bad_header(format!("torn: {} bytes", bytes.len())))?;
        let version = u16::from_le_bytes([fixed[8], fixed[9]]);
        if version != FORMAT_VERSION {
            return Err(RecordError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let feed = Feed::from_code(fixed[10])
            .ok_or_else(|| RecordError::bad_header(format!("unknown feed code {}", fixed[10])))?;
        let start_ns = i64::from_le_bytes(le8(&fixed[12..20]));
        let meta_len = u32::from_le_bytes(le4(&fixed[20..24])) as usize;
        if meta_len > MAX_META {
            return Err(RecordError::bad_header(format!(
                "metadata length {meta_len} over the bound {MAX_META}"
            )));
        }
        let total = HEADER_FIXED_LEN + meta_len + 4;
        let whole = bytes.get(..total).ok_or_else(|| {
            RecordError::bad_header(format!("torn: {} of {total} bytes", bytes.len()))
        })?;
        let (covered, crc) = whole.split_at(total - 4);
        if crc32fast::hash(covered) != u32::from_le_bytes(le4(crc)) {
            return Err(RecordError::bad_header("checksum mismatch"));
        }
        let meta = std::str::from_utf8(&covered[HEADER_FIXED_LEN..])
            .map_err(|e| RecordError::bad_header(format!("metadata is not UTF-8: {e}")))?
            .to_owned();
        Ok((
            Self {
                feed,
                start_ns,
                meta,
            },
            total,
        ))
    }

    /// The header's total length in bytes once encoded.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        HEADER_FIXED_LEN + self.meta.len() + 4
    }
}

/// Appends the encoded `header` to `out`.
///
/// # Panics
///
/// Never for metadata up to [`MAX_META`]; longer metadata is cut to an empty object (`{}`)
/// rather than written unreadable.
pub fn encode_header(header: &Header, out: &mut Vec<u8>) {
    let meta = if header.meta.len() > MAX_META {
        "{}"
    } else {
        header.meta.as_str()
    };
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.push(header.feed.code());
    out.push(0);
    out.extend_from_slice(&header.start_ns.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta.as_bytes());
    let crc = crc32fast::hash(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
}

/// What a record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecordKind {
    /// A connection was established (WebSocket handshake done / IMG transport up). Empty
    /// payload.
    ConnStart,
    /// The receive type the server negotiated on this connection (`login_ok`), as its
    /// PROTOCOL.md name (`json`, `binary`, `zstd`, `zstd-dict`). WebSocket only.
    ReceiveType,
    /// A WebSocket text frame, as received.
    Text,
    /// A WebSocket binary frame, as received (zstd still compressed).
    Binary,
    /// IMG bytes, as received: one or more whole lines with their `\n`, or the part of an
    /// over-long line read so far. Replaying the payloads in order gives the byte stream.
    Lines,
    /// A WebSocket Ping or Pong (liveness only; the payload is the control frame's data).
    Activity,
    /// The connection ended. Payload: empty when it ended without a close frame (EOF, reset,
    /// transport error, or closed by the client), else the close code (u16 LE) and the
    /// reason (UTF-8).
    ConnEnd,
    /// A kind this build does not know (written by a newer build of the same format version):
    /// readers yield it and replays skip it.
    Other(u8),
}

impl RecordKind {
    /// The byte stored in the record.
    #[must_use]
    pub fn code(self) -> u8 {
        match self {
            Self::ConnStart => 1,
            Self::ReceiveType => 2,
            Self::Text => 3,
            Self::Binary => 4,
            Self::Lines => 5,
            Self::Activity => 6,
            Self::ConnEnd => 7,
            Self::Other(code) => code,
        }
    }

    /// The kind for a stored byte.
    #[must_use]
    pub fn from_code(code: u8) -> Self {
        match code {
            1 => Self::ConnStart,
            2 => Self::ReceiveType,
            3 => Self::Text,
            4 => Self::Binary,
            5 => Self::Lines,
            6 => Self::Activity,
            7 => Self::ConnEnd,
            other => Self::Other(other),
        }
    }
}

/// One record, borrowing its payload from the reader's buffer or the slice read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    /// What it says.
    pub kind: RecordKind,
    /// The connection it belongs to (numbered by the client, from 1).
    pub conn: u64,
    /// Arrival time, UTC nanoseconds since the Unix epoch.
    pub time_ns: i64,
    /// The frame, line bytes, receive type name or close information.
    pub payload: &'a [u8],
}

/// The close information of a [`RecordKind::ConnEnd`] record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseRecord<'a> {
    /// The close code.
    pub code: u16,
    /// The close reason (lossy: invalid UTF-8 gives an empty reason).
    pub reason: &'a str,
}

impl<'a> RecordRef<'a> {
    /// A record.
    #[must_use]
    pub fn new(kind: RecordKind, conn: u64, time_ns: i64, payload: &'a [u8]) -> Self {
        Self {
            kind,
            conn,
            time_ns,
            payload,
        }
    }

    /// For [`RecordKind::ConnEnd`]: the close frame's code and reason, `None` when the
    /// connection ended without one (or for other kinds).
    #[must_use]
    pub fn close(&self) -> Option<CloseRecord<'a>> {
        if self.kind != RecordKind::ConnEnd {
            return None;
        }
        let (code, reason) = self.payload.split_first_chunk::<2>()?;
        Some(CloseRecord {
            code: u16::from_le_bytes(*code),
            reason: std::str::from_utf8(reason).unwrap_or_default(),
        })
    }

    /// The payload of a [`RecordKind::ConnEnd`] record for a close frame.
    #[must_use]
    pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
        let mut payload = Vec::with_capacity(2 + reason.len());
        payload.extend_from_slice(&code.to_le_bytes());
        payload.extend_from_slice(reason.as_bytes());
        payload
    }

    /// The bytes this record takes in a file.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        RECORD_OVERHEAD + self.payload.len()
    }
}

/// Appends one encoded record to `out`: body length (u32 LE), CRC-32 of the body (u32 LE),
/// then the body (kind, connection u64 LE, arrival time i64 LE, payload).
///
/// A payload longer than `u32::MAX - 17` bytes cannot be framed; it is cut to fit (no feed
/// frame comes near: the client's own frame bound is far smaller).
pub fn encode_record(record: &RecordRef<'_>, out: &mut Vec<u8>) {
    let max_payload = u32::MAX as usize - BODY_PREFIX;
    let payload = record.payload.get(..max_payload).unwrap_or(record.payload);
    let body_len = BODY_PREFIX + payload.len();
    out.reserve(8 + body_len);
    out.extend_from_slice(&(body_len as u32).to_le_bytes());
    let crc_at = out.len();
    out.extend_from_slice(&[0; 4]);
    let body_at = out.len();
    out.push(record.kind.code());
    out.extend_from_slice(&record.conn.to_le_bytes());
    out.extend_from_slice(&record.time_ns.to_le_bytes());
    out.extend_from_slice(payload);
    let crc = crc32fast::hash(&out[body_at..]);
    out[crc_at..body_at].copy_from_slice(&crc.to_le_bytes());
}

/// `time` as UTC nanoseconds since the Unix epoch (negative before it; saturating far out).
#[must_use]
pub fn unix_nanos(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

pub(crate) fn le4(bytes: &[u8]) -> [u8; 4] {
    let mut out = [0; 4];
    out.copy_from_slice(bytes);
    out
}

pub(crate) fn le8(bytes: &[u8]) -> [u8; 8] {
    let mut out = [0; 8];
    out.copy_from_slice(bytes);
    out
}

/// Parses the body of a record whose length and checksum were checked.
pub(crate) fn parse_body(body: &[u8]) -> Option<RecordRef<'_>> {
    let (prefix, payload) = body.split_at_checked(BODY_PREFIX)?;
    Some(RecordRef {
        kind: RecordKind::from_code(prefix[0]),
        conn: u64::from_le_bytes(le8(&prefix[1..9])),
        time_ns: i64::from_le_bytes(le8(&prefix[9..17])),
        payload,
    })
}
