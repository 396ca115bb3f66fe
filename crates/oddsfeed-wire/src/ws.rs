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
