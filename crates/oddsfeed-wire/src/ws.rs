//! WebSocket message classification (docs/PROTOCOL.md B.1, B.5 rules 1-3, B.12).
//!
//! The WebSocket protocol itself (handshake, framing, masking, ping/pong) is
//! left to a WebSocket library; this module works on whole messages, which
//! docs/PROTOCOL.md calls "frames": it checks their size, splits text frames into
//! JSON documents and sniffs the format of binary frames.

use std::fmt;
use std::iter::FusedIterator;

use crate::WireError;

/// Default maximum size of one WebSocket message: 4 MiB (docs/PROTOCOL.md B.12,
/// the vendor example's `max_size=4194304`).
///
/// A message is buffered whole before it can be decoded, so without a bound a
/// peer could make the client allocate as much as it cares to send. Configure
/// the WebSocket library with the same limit so it refuses the message before
/// buffering it; [`check_frame_size`] is the check for layers that did not.
pub const DEFAULT_MAX_FRAME: usize = 4 << 20;

/// A WebSocket close code: the standard ones the feed uses (RFC 6455 section 7.4.1) and the
/// vendor's (docs/PROTOCOL.md B.11), with what each asks of a client.
///
/// The policy methods are the facts of the close-code table; a session combines them with what
/// it knows (whether the login was accepted, whether a `reconnect` overlap runs).
///
/// ```
/// use oddsfeed_wire::ws::CloseCode;
///
/// assert_eq!(CloseCode::from(4003), CloseCode::TooManyConnections);
/// assert!(CloseCode::TooManyConnections.wants_backoff_floor());
/// assert!(CloseCode::PolicyViolation.is_fatal_before_login());
/// assert_eq!(u16::from(CloseCode::Other(4999)), 4999);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// 1000: normal closure. Reconnect (with backoff) unless the client runs once.
    Normal,
    /// 1001: going away; the server's planned close after a `reconnect` grace or at shutdown.
    /// Reconnect at once with resume.
    GoingAway,
    /// 1008: policy violation; the server refused the login (bad key, no channels, first
    /// message not a login). Fatal before `login_ok`.
    PolicyViolation,
    /// 1009: message too big. Reconnect with resume.
    MessageTooBig,
    /// 1011: internal server error. Reconnect with backoff.
    InternalError,
    /// 4001: no login within the server's timeout. Reconnect with backoff.
    LoginTimeout,
    /// 4002: the client read too slowly (backpressure). Reconnect with resume; warn.
    SlowConsumer,
    /// 4003: too many connections for the key group. Back off at least 10 s, never hot-loop.
    TooManyConnections,
    /// Any other code.
    Other(u16),
}

impl CloseCode {
    /// The code's number.
    #[must_use]
    pub fn as_u16(self) -> u16 {
        match self {
            Self::Normal => 1000,
            Self::GoingAway => 1001,
            Self::PolicyViolation => 1008,
            Self::MessageTooBig => 1009,
            Self::InternalError => 1011,
            Self::LoginTimeout => 4001,
            Self::SlowConsumer => 4002,
            Self::TooManyConnections => 4003,
            Self::Other(code) => code,
        }
    }

    /// Whether this close before `login_ok` means the credentials were refused: retrying with
    /// them is pointless (1008).
    #[must_use]
    pub fn is_fatal_before_login(self) -> bool {
        self == Self::PolicyViolation
    }

    /// Whether the next connection must wait at least the "too many connections" floor (4003).
    #[must_use]
    pub fn wants_backoff_floor(self) -> bool {
        self == Self::TooManyConnections
    }

    /// Whether this is the server's planned close, after which a client that was streaming
    /// reconnects at once (1001).
    #[must_use]
    pub fn is_planned(self) -> bool {
        self == Self::GoingAway
    }

    /// Whether the server closed because the client read too slowly (4002).
    #[must_use]
    pub fn is_slow_consumer(self) -> bool {
        self == Self::SlowConsumer
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => Self::Normal,
            1001 => Self::GoingAway,
            1008 => Self::PolicyViolation,
            1009 => Self::MessageTooBig,
            1011 => Self::InternalError,
            4001 => Self::LoginTimeout,
            4002 => Self::SlowConsumer,
            4003 => Self::TooManyConnections,
            other => Self::Other(other),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.as_u16()
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

/// The two kinds of WebSocket data message (docs/PROTOCOL.md B.1): text frames
/// carry control JSON (and data in `json` mode), binary frames carry data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameKind {
    /// A text message (UTF-8).
    Text,
    /// A binary message.
    Binary,
}

impl FrameKind {
    /// `"text"` or `"binary"`, for logs and error reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Binary => "binary",
        }
    }
}

impl fmt::Display for FrameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a message's size against `max_frame`.
///
/// ```
/// use oddsfeed_wire::ws::{check_frame_size, DEFAULT_MAX_FRAME};
///
/// assert!(check_frame_size(DEFAULT_MAX_FRAME, DEFAULT_MAX_FRAME).is_ok());
/// let err = check_frame_size(DEFAULT_MAX_FRAME + 1, DEFAULT_MAX_FRAME).unwrap_err();
/// assert_eq!(err.reason(), "frame_too_large");
/// ```
///
/// # Errors
///
/// [`WireError::FrameTooLarge`] when `len > max_frame`.
pub fn check_frame_size(len: usize, max_frame: usize) -> Result<(), WireError> {
    if len > max_frame {
        Err(WireError::FrameTooLarge {
            len,
            limit: max_frame,
        })
    } else {
        Ok(())
    }
}

/// Splits a text frame into its JSON documents (docs/PROTOCOL.md B.5 rule 1).
///
/// Documents are separated by `\n`; each is trimmed of surrounding ASCII
/// whitespace (which covers a trailing `\r`), and blank ones are skipped. The
/// documents are not parsed: a frame holding one pretty-printed document
/// splits into fragments, so parse the whole frame as a value sequence first
/// and use this only as the line-by-line fallback the rule describes.
///
/// ```
/// use oddsfeed_wire::ws::text_documents;
///
/// let docs: Vec<&str> = text_documents("{\"a\":1}\r\n\n  {\"b\":2}  \n").collect();
/// assert_eq!(docs, ["{\"a\":1}", "{\"b\":2}"]);
/// ```
pub fn text_documents(text: &str) -> TextDocuments<'_> {
    TextDocuments {
        inner: text.split('\n'),
    }
}

/// Iterator over the documents of a text frame; see [`text_documents`].
#[derive(Debug, Clone)]
#[must_use = "the iterator does nothing unless consumed"]
pub struct TextDocuments<'a> {
    inner: std::str::Split<'a, char>,
}

impl<'a> Iterator for TextDocuments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        for piece in self.inner.by_ref() {
            let piece = piece.strip_suffix('\r').unwrap_or(piece).trim_ascii();
            if !piece.is_empty() {
                return Some(piece);
            }
        }
        None
    }
}

impl FusedIterator for TextDocuments<'_> {}

/// The format of a binary frame, guessed from its first bytes
/// (docs/PROTOCOL.md B.5 rule 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sniff {
    /// Starts with the zstd frame magic `28 B5 2F FD`.
    Zstd,
    /// Starts with a MessagePack map marker (`0x80..=0x8F`, `0xDE`, `0xDF`).
    MsgPack,
    /// Starts with `{`, after optional ASCII whitespace.
    Json,
    /// None of the above: report as `bad_format`.
    Unknown,
}

impl Sniff {
    /// `"zstd"`, `"msgpack"`, `"json"` or `"unknown"`, for logs.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zstd => "zstd",
            Self::MsgPack => "msgpack",
            Self::Json => "json",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Sniff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The zstd frame magic number, as it appears on the wire.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// Guesses a binary frame's format from its first bytes.
///
/// ```
/// use oddsfeed_wire::ws::{sniff, Sniff};
///
/// assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0x00]), Sniff::Zstd);
/// assert_eq!(sniff(&[0x82, 0xA1, b'a']), Sniff::MsgPack);
/// assert_eq!(sniff(b" {\"channel\":\"odds\"}"), Sniff::Json);
/// assert_eq!(sniff(b"[1]"), Sniff::Unknown);
/// ```
#[must_use]
pub fn sniff(bytes: &[u8]) -> Sniff {
    if bytes.starts_with(&ZSTD_MAGIC) {
        return Sniff::Zstd;
    }
    match bytes.first() {
        Some(0x80..=0x8F | 0xDE | 0xDF) => Sniff::MsgPack,
        _ if bytes.trim_ascii_start().first() == Some(&b'{') => Sniff::Json,
        _ => Sniff::Unknown,
    }
}

/// Checks that a text frame received as bytes is UTF-8.
///
/// ```
/// assert_eq!(oddsfeed_wire::ws::text_to_utf8(b"{}")?, "{}");
/// # Ok::<(), oddsfeed_wire::WireError>(())
/// ```
///
/// # Errors
///
/// [`WireError::InvalidUtf8`] carrying (the start of) the bytes.
pub fn text_to_utf8(bytes: &[u8]) -> Result<&str, WireError> {
    std::str::from_utf8(bytes).map_err(|e| WireError::invalid_utf8(bytes, e.valid_up_to()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_round_trip_and_unknown_ones_are_kept() {
        for code in [
            1000, 1001, 1008, 1009, 1011, 4001, 4002, 4003, 1006, 4999, 0,
        ] {
            assert_eq!(CloseCode::from(code).as_u16(), code);
        }
        assert_eq!(CloseCode::from(4999), CloseCode::Other(4999));
        assert_eq!(CloseCode::SlowConsumer.to_string(), "4002");
    }

    #[test]
    fn close_code_policy_follows_the_table() {
        let policy = |c: CloseCode| {
            (
                c.is_fatal_before_login(),
                c.wants_backoff_floor(),
                c.is_planned(),
                c.is_slow_consumer(),
            )
        };
        assert_eq!(
            policy(CloseCode::PolicyViolation),
            (true, false, false, false)
        );
        assert_eq!(
            policy(CloseCode::TooManyConnections),
            (false, true, false, false)
        );
        assert_eq!(policy(CloseCode::GoingAway), (false, false, true, false));
        assert_eq!(policy(CloseCode::SlowConsumer), (false, false, false, true));
        for quiet in [1000, 1009, 1011, 4001, 4999] {
            assert_eq!(
                policy(CloseCode::from(quiet)),
                (false, false, false, false),
                "{quiet}"
            );
        }
    }

    #[test]
    fn frame_size_at_limit_passes_and_over_fails() {
        assert!(check_frame_size(0, 0).is_ok());
        assert!(check_frame_size(10, 10).is_ok());
        match check_frame_size(11, 10) {
            Err(WireError::FrameTooLarge { len: 11, limit: 10 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn frame_kind_names() {
        assert_eq!(FrameKind::Text.to_string(), "text");
        assert_eq!(FrameKind::Binary.as_str(), "binary");
    }

    #[test]
    fn text_documents_split_trim_and_skip_blanks() {
        let text = "\n{\"type\":\"login_ok\"}\r\n \t\r\n{\"channel\":\"odds\"}\r\r\n  \n[1]";
        let docs: Vec<_> = text_documents(text).collect();
        assert_eq!(
            docs,
            ["{\"type\":\"login_ok\"}", "{\"channel\":\"odds\"}", "[1]"]
        );
    }

    #[test]
    fn text_documents_of_blank_frames_is_empty() {
        assert_eq!(text_documents("").count(), 0);
        assert_eq!(text_documents("\r\n \n\t").count(), 0);
        let mut it = text_documents("{}");
        assert_eq!(it.next(), Some("{}"));
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
    }

    #[test]
    fn text_documents_keep_unicode_whitespace_inside() {
        // Only ASCII whitespace is JSON whitespace; a no-break space stays.
        let docs: Vec<_> = text_documents("\u{a0}{} \n").collect();
        assert_eq!(docs, ["\u{a0}{}"]);
    }

    #[test]
    fn sniff_zstd_magic() {
        assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD]), Sniff::Zstd);
        assert_eq!(sniff(&[0x28, 0xB5, 0x2F, 0xFD, 0x24, 0x00]), Sniff::Zstd);
        // A truncated magic is not zstd.
        assert_eq!(sniff(&[0x28, 0xB5, 0x2F]), Sniff::Unknown);
        // The dictionary magic is not a frame.
        assert_eq!(sniff(&[0x37, 0xA4, 0x30, 0xEC]), Sniff::Unknown);
    }

    #[test]
    fn sniff_msgpack_map_markers() {
        for first in (0x80..=0x8F).chain([0xDE, 0xDF]) {
            assert_eq!(sniff(&[first, 0x00]), Sniff::MsgPack, "{first:#x}");
        }
        // Arrays and other markers are not maps.
        for first in [0x90, 0xDC, 0xDD, 0x7F, 0xC0] {
            assert_eq!(sniff(&[first]), Sniff::Unknown, "{first:#x}");
        }
    }

    #[test]
    fn sniff_json_object_with_leading_whitespace() {
        assert_eq!(sniff(b"{}"), Sniff::Json);
        assert_eq!(sniff(b" \t\r\n{\"a\":1}"), Sniff::Json);
        assert_eq!(sniff(b"[{}]"), Sniff::Unknown);
        assert_eq!(sniff(b"  "), Sniff::Unknown);
        assert_eq!(sniff(b""), Sniff::Unknown);
        assert_eq!(Sniff::Unknown.to_string(), "unknown");
        assert_eq!(Sniff::MsgPack.as_str(), "msgpack");
    }

    #[test]
    fn text_to_utf8_accepts_and_refuses() {
        assert_eq!(text_to_utf8("héllo".as_bytes()).unwrap(), "héllo");
        match text_to_utf8(b"{\"a\":\"\xc3\x28\"}") {
            Err(WireError::InvalidUtf8 {
                raw,
                valid_up_to,
                len,
            }) => {
                assert_eq!(&raw[..], b"{\"a\":\"\xc3\x28\"}");
                assert_eq!(valid_up_to, 6);
                assert_eq!(len, 10);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
