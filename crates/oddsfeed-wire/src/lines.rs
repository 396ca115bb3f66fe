//! [`LineDecoder`]: a bounded, sans-IO newline splitter (docs/PROTOCOL.md A.1).

use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;

use bytes::{Bytes, BytesMut};

use crate::error::MAX_SEEN_PREFIX;
use crate::{Line, WireError};

/// Default maximum line length: 4 MiB (docs/PROTOCOL.md A.1).
///
/// The limit exists because a line is buffered until its `\n` arrives: without
/// one, a peer that never sends a newline (by bug or on purpose) makes the
/// reader buffer without end. With it, the decoder holds at most this many
/// bytes of an unfinished line (plus one pending `\r`), whatever the peer sends.
pub const DEFAULT_MAX_LINE: usize = 4 << 20;

/// Counters kept by a [`LineDecoder`] over its lifetime.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Lines returned successfully.
    pub lines: u64,
    /// Errors returned ([`WireError::LineTooLong`], [`WireError::InvalidUtf8`]).
    pub errors: u64,
    /// Bytes of over-long lines that were dropped (line terminators excluded).
    pub discarded_bytes: u64,
}

/// One decoded item waiting in the output queue.
#[derive(Debug)]
enum Item {
    /// A line whose content is the next `len` bytes at the front of `buf`.
    Line(usize),
    /// An error to hand out in stream order.
    Error(WireError),
}

/// Splits a byte stream into lines, with a hard bound on line length.
///
/// Sans-IO: feed whatever bytes arrive with [`push`](Self::push), in any
/// chunking, then take lines with [`next_line`](Self::next_line) until it
/// returns `None`. At end of stream call [`finish`](Self::finish) until it
/// returns `None` to get an unterminated last line.
///
/// Rules (docs/PROTOCOL.md A.1):
/// - a line ends at `\n`; one `\r` right before it is stripped;
/// - blank lines (empty after stripping) are skipped;
/// - a line longer than [`max_line`](Self::max_line) bytes (excluding the
///   terminator and stripped `\r`) is reported once as
///   [`WireError::LineTooLong`]; its bytes are dropped up to and including the
///   next line end, and decoding carries on after it;
/// - a line that is not UTF-8 is reported as [`WireError::InvalidUtf8`] and
///   skipped;
/// - optionally ([`with_cr_terminator`](Self::with_cr_terminator)) a lone `\r`
///   also ends a line, for peers behind a PTY. `\r\n` then still ends exactly
///   one line (the empty line between the two is skipped as blank).
///
/// Memory: bytes are scanned once, as they are pushed. Of an unfinished line
/// the decoder keeps at most `max_line + 1` bytes (the `+ 1` being a `\r` that
/// may turn out to precede a `\n`); once a line is known to be too long it
/// keeps none of it, however much more of it arrives. Complete lines wait in
/// the decoder until taken, so drain [`next_line`](Self::next_line) after each
/// push to keep memory near the size of one read.
///
/// ```
/// use oddsfeed_wire::LineDecoder;
///
/// let mut dec = LineDecoder::new(16);
/// dec.push(b"{\"a\":1}\r\n\n{\"b\"");
/// dec.push(b":2}\nthis line is far too long\nok");
/// assert_eq!(dec.next_line().unwrap()?, r#"{"a":1}"#);
/// assert_eq!(dec.next_line().unwrap()?, r#"{"b":2}"#);
/// let err = dec.next_line().unwrap().unwrap_err();
/// assert_eq!(err.reason(), "line_too_long");
/// assert!(dec.next_line().is_none());
/// assert_eq!(dec.finish().unwrap()?, "ok");
/// assert!(dec.finish().is_none());
/// # Ok::<(), oddsfeed_wire::WireError>(())
/// ```
pub struct LineDecoder {
    max_line: usize,
    cr_terminator: bool,
    /// Contents of queued lines (in order), then the unfinished line's bytes.
    buf: BytesMut,
    /// How many bytes at the front of `buf` belong to queued lines.
    ready_len: usize,
    /// Decoded lines and errors, in stream order.
    queue: VecDeque<Item>,
    /// Dropping the rest of an over-long line until the next line end.
    discarding: bool,
    stats: Stats,
}

impl LineDecoder {
    /// A decoder that accepts lines of up to `max_line` bytes (terminator and
    /// stripped `\r` not counted). Lone `\r` is not a terminator.
    #[must_use]
    pub fn new(max_line: usize) -> Self {
        Self {
            max_line,
            cr_terminator: false,
            buf: BytesMut::new(),
            ready_len: 0,
            queue: VecDeque::new(),
            discarding: false,
            stats: Stats::default(),
        }
    }

    /// Whether a lone `\r` also ends a line (default `false`).
    ///
    /// Turn it on when reading from a peer behind a PTY, where the Enter key
    /// sends `\r` (docs/PROTOCOL.md A.1). `\r\n` still ends a single line.
    #[must_use]
    pub fn with_cr_terminator(mut self, on: bool) -> Self {
        self.cr_terminator = on;
        self
    }

    /// The maximum line length in bytes.
    #[must_use]
    pub fn max_line(&self) -> usize {
        self.max_line
    }

    /// Whether a lone `\r` ends a line.
    #[must_use]
    pub fn cr_terminator(&self) -> bool {
        self.cr_terminator
    }

    /// Counters since the decoder was created.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Bytes held for the unfinished line: never more than `max_line + 1`.
    ///
    /// Complete lines waiting to be taken are not counted; see
    /// [`queued_len`](Self::queued_len).
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len().saturating_sub(self.ready_len)
    }

    /// Bytes of complete lines waiting to be taken with
    /// [`next_line`](Self::next_line).
    #[must_use]
    pub fn queued_len(&self) -> usize {
        self.ready_len
    }

    /// Whether the decoder is dropping the rest of an over-long line.
    #[must_use]
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Feeds bytes from the stream, in any chunking.
    ///
    /// The bytes are scanned once, here; complete lines and errors are queued
    /// for [`next_line`](Self::next_line). An over-long line is detected here
    /// too, so even a single huge push stores at most `max_line + 1` bytes of
    /// it.
    pub fn push(&mut self, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            let end = self.find_terminator(rest);
            if self.discarding {
                match end {
                    Some(i) => {
                        self.stats.discarded_bytes += i as u64;
                        self.discarding = false;
                        rest = rest.get(i + 1..).unwrap_or_default();
                    }
                    None => {
                        self.stats.discarded_bytes += rest.len() as u64;
                        return;
                    }
                }
                continue;
            }
            match end {
                Some(i) => {
                    let (body, after) = rest.split_at(i);
                    self.end_line(body);
                    rest = after.get(1..).unwrap_or_default();
                }
                None => {
                    self.extend_unfinished(rest);
                    return;
                }
            }
        }
    }

    /// Feeds bytes and returns an iterator over everything now decodable.
    ///
    /// Shorthand for [`push`](Self::push) followed by [`drain`](Self::drain).
    pub fn decode(&mut self, data: &[u8]) -> Drain<'_> {
        self.push(data);
        self.drain()
    }

    /// The next complete line or error, in stream order; `None` when more
    /// bytes are needed.
    ///
    /// Errors are not fatal: keep calling, the lines after a bad one follow.
    pub fn next_line(&mut self) -> Option<Result<Line, WireError>> {
        match self.queue.pop_front()? {
            Item::Error(e) => {
                self.stats.errors += 1;
                Some(Err(e))
            }
            Item::Line(len) => {
                let len = len.min(self.ready_len);
                self.ready_len -= len;
                let bytes: Bytes = self.buf.split_to(len).freeze();
                let item = Line::try_from(bytes);
                match item {
                    Ok(_) => self.stats.lines += 1,
                    Err(_) => self.stats.errors += 1,
                }
                Some(item)
            }
        }
    }

    /// An iterator calling [`next_line`](Self::next_line) until it returns `None`.
    pub fn drain(&mut self) -> Drain<'_> {
        Drain { decoder: self }
    }

    /// Signals end of stream: returns what is still queued, then the
    /// unterminated last line (with one trailing `\r` stripped), then `None`.
    ///
    /// Call it until it returns `None`; the decoder is then empty and could be
    /// reused for a new stream (its [`stats`](Self::stats) carry on).
    pub fn finish(&mut self) -> Option<Result<Line, WireError>> {
        if self.queue.is_empty() {
            // The stream ended inside a line being discarded: nothing is left
            // of it. Otherwise the unfinished bytes become the last line.
            self.discarding = false;
            self.end_line(&[]);
        }
        self.next_line()
    }

    /// Position of the first line terminator in `data`.
    fn find_terminator(&self, data: &[u8]) -> Option<usize> {
        if self.cr_terminator {
            data.iter().position(|&b| b == b'\n' || b == b'\r')
        } else {
            data.iter().position(|&b| b == b'\n')
        }
    }

    /// The last byte of the unfinished line followed by `more`.
    fn last_byte(&self, more: &[u8]) -> Option<u8> {
        more.last()
            .or_else(|| self.buf.get(self.ready_len..).and_then(<[u8]>::last))
            .copied()
    }

    /// Length of a line's content given its raw length and last byte: one
    /// trailing `\r` does not count. For an unfinished line this is a lower
    /// bound on its final length. (In CR mode `\r` never reaches a line body.)
    fn content_len(raw_len: usize, last: Option<u8>) -> usize {
        raw_len - usize::from(last == Some(b'\r'))
    }

    /// The unfinished line plus `body` was ended by a terminator (or EOF).
    fn end_line(&mut self, body: &[u8]) {
        let raw_len = self.buffered_len() + body.len();
        let last = self.last_byte(body);
        let content = Self::content_len(raw_len, last);
        if content > self.max_line {
            self.reject_too_long(body, raw_len);
        } else if content == 0 {
            self.buf.truncate(self.ready_len);
        } else {
            let strip = raw_len - content;
            match body.len().checked_sub(strip) {
                Some(keep) => self.buf.extend_from_slice(body.get(..keep).unwrap_or(body)),
                // The stripped `\r` was the last byte already buffered.
                None => self.buf.truncate(self.buf.len().saturating_sub(strip)),
            }
            self.ready_len += content;
            self.queue.push_back(Item::Line(content));
        }
    }

    /// `more` (holding no terminator) continues the unfinished line.
    fn extend_unfinished(&mut self, more: &[u8]) {
        let raw_len = self.buffered_len() + more.len();
        let content_at_least = Self::content_len(raw_len, self.last_byte(more));
        if content_at_least > self.max_line {
            self.reject_too_long(more, raw_len);
            self.discarding = true;
        } else {
            self.buf.extend_from_slice(more);
        }
    }

    /// Queues a [`WireError::LineTooLong`] for the unfinished line plus
    /// `more`, and drops its buffered bytes.
    fn reject_too_long(&mut self, more: &[u8], raw_len: usize) {
        let keep = MAX_SEEN_PREFIX.min(self.max_line.saturating_add(1));
        let mut prefix = BytesMut::with_capacity(keep);
        let held = self.buf.get(self.ready_len..).unwrap_or_default();
        prefix.extend_from_slice(held.get(..keep).unwrap_or(held));
        let from_more = keep.saturating_sub(prefix.len());
        prefix.extend_from_slice(more.get(..from_more).unwrap_or(more));
        self.buf.truncate(self.ready_len);
        self.stats.discarded_bytes += raw_len as u64;
        self.queue.push_back(Item::Error(WireError::LineTooLong {
            limit: self.max_line,
            seen_prefix: prefix.freeze(),
        }));
    }
}

impl Default for LineDecoder {
    /// A decoder with [`DEFAULT_MAX_LINE`] and no CR terminator.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_LINE)
    }
}

impl fmt::Debug for LineDecoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sizes only: the buffer may hold megabytes of peer data.
        f.debug_struct("LineDecoder")
            .field("max_line", &self.max_line)
            .field("cr_terminator", &self.cr_terminator)
            .field("buffered_len", &self.buffered_len())
            .field("queued_items", &self.queue.len())
            .field("discarding", &self.discarding)
            .field("stats", &self.stats)
            .finish()
    }
}

/// Iterator over the lines a [`LineDecoder`] can produce now; see
/// [`LineDecoder::drain`].
#[derive(Debug)]
#[must_use = "the iterator does nothing unless consumed"]
pub struct Drain<'a> {
    decoder: &'a mut LineDecoder,
}

impl Iterator for Drain<'_> {
    type Item = Result<Line, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.decoder.next_line()
    }
}

// While the iterator borrows the decoder nothing can be pushed, so once it
// returns `None` it keeps doing so.
impl FusedIterator for Drain<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drains the decoder into strings, with errors as their reason.
    fn drain(dec: &mut LineDecoder) -> Vec<Result<String, &'static str>> {
        dec.drain()
            .map(|r| r.map(Line::into_string).map_err(|e| e.reason()))
            .collect()
    }

    fn finish(dec: &mut LineDecoder) -> Vec<Result<String, &'static str>> {
        std::iter::from_fn(|| dec.finish())
            .map(|r| r.map(Line::into_string).map_err(|e| e.reason()))
            .collect()
    }

    fn ok(s: &str) -> Result<String, &'static str> {
        Ok(s.to_owned())
    }

    #[test]
    fn splits_on_newline_and_strips_one_cr() {
        let mut dec = LineDecoder::default();
        dec.push(b"a\nb\r\nc\r\r\n");
        assert_eq!(drain(&mut dec), vec![ok("a"), ok("b"), ok("c\r")]);
        assert_eq!(dec.stats().lines, 3);
    }

    #[test]
    fn cr_split_across_pushes_is_still_stripped() {
        let mut dec = LineDecoder::default();
        dec.push(b"abc\r");
        assert!(dec.next_line().is_none());
        assert_eq!(dec.buffered_len(), 4);
        dec.push(b"\n");
        assert_eq!(drain(&mut dec), vec![ok("abc")]);
        assert_eq!(dec.buffered_len(), 0);
    }

    #[test]
    fn lone_cr_is_content_by_default() {
        let mut dec = LineDecoder::default();
        dec.push(b"a\rb\n");
        assert_eq!(drain(&mut dec), vec![ok("a\rb")]);
    }

    #[test]
    fn blank_lines_are_skipped() {
        let mut dec = LineDecoder::default();
        dec.push(b"\n\r\n\n x \n\r\n");
        assert_eq!(drain(&mut dec), vec![ok(" x ")]);
        dec.push(b"\r");
        dec.push(b"\n");
        assert!(dec.next_line().is_none());
        assert_eq!(dec.stats().lines, 1);
    }

    #[test]
    fn any_chunking_gives_the_same_lines() {
        let input = b"{\"a\":1}\r\n\n{\"b\":2}\n{\"c\":3}";
        for size in 1..input.len() {
            let mut dec = LineDecoder::new(64);
            let mut out = Vec::new();
            for chunk in input.chunks(size) {
                out.extend(drain_after(&mut dec, chunk));
            }
            out.extend(finish(&mut dec));
            assert_eq!(
                out,
                vec![ok("{\"a\":1}"), ok("{\"b\":2}"), ok("{\"c\":3}")],
                "chunk size {size}"
            );
        }
    }

    fn drain_after(dec: &mut LineDecoder, chunk: &[u8]) -> Vec<Result<String, &'static str>> {
        dec.push(chunk);
        drain(dec)
    }

    #[test]
    fn eof_yields_unterminated_tail_once() {
        let mut dec = LineDecoder::default();
        dec.push(b"one\ntwo\r");
        assert_eq!(drain(&mut dec), vec![ok("one")]);
        assert_eq!(dec.finish().unwrap().unwrap(), "two");
        assert!(dec.finish().is_none());
        assert_eq!(dec.buffered_len(), 0);
        assert_eq!(dec.queued_len(), 0);
    }

    #[test]
    fn finish_returns_queued_lines_before_the_tail() {
        let mut dec = LineDecoder::default();
        dec.push(b"a\nb\nc");
        assert_eq!(finish(&mut dec), vec![ok("a"), ok("b"), ok("c")]);
        // The decoder is empty and can start a new stream.
        dec.push(b"d\n");
        assert_eq!(drain(&mut dec), vec![ok("d")]);
    }

    #[test]
    fn finish_on_blank_tail_yields_nothing() {
        let mut dec = LineDecoder::default();
        dec.push(b"x\n\r");
        assert_eq!(finish(&mut dec), vec![ok("x")]);
    }

    #[test]
    fn line_at_exact_limit_is_accepted_with_crlf() {
        let mut dec = LineDecoder::new(4);
        dec.push(b"abcd\r\nabcd\n");
        assert_eq!(drain(&mut dec), vec![ok("abcd"), ok("abcd")]);
    }

    #[test]
    fn too_long_line_reports_once_and_next_line_arrives() {
        let mut dec = LineDecoder::new(4);
        dec.push(b"ok\nabcdefgh\nnext\n");
        let items: Vec<_> = dec.drain().collect();
        assert_eq!(items.len(), 3);
        assert_eq!(items[0].as_ref().unwrap(), "ok");
        match &items[1] {
            Err(WireError::LineTooLong { limit, seen_prefix }) => {
                assert_eq!(*limit, 4);
                assert_eq!(&seen_prefix[..], b"abcde");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(items[2].as_ref().unwrap(), "next");
        assert_eq!(
            dec.stats(),
            Stats {
                lines: 2,
                errors: 1,
                discarded_bytes: 8
            }
        );
    }

    #[test]
    fn too_long_line_detected_before_its_newline() {
        let mut dec = LineDecoder::new(4);
        dec.push(b"abc");
        assert!(dec.next_line().is_none());
        dec.push(b"de");
        match dec.next_line() {
            Some(Err(WireError::LineTooLong { limit, seen_prefix })) => {
                assert_eq!(limit, 4);
                assert_eq!(&seen_prefix[..], b"abcde");
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(dec.is_discarding());
        assert_eq!(dec.buffered_len(), 0);
        dec.push(b"fgh");
        assert!(dec.next_line().is_none());
        dec.push(b"ij\nnext");
        assert!(!dec.is_discarding());
        assert!(dec.next_line().is_none());
        assert_eq!(finish(&mut dec), vec![ok("next")]);
        assert_eq!(dec.stats().discarded_bytes, 10);
        assert_eq!(dec.stats().errors, 1);
    }

    #[test]
    fn pending_cr_at_limit_waits_for_the_next_byte() {
        let mut dec = LineDecoder::new(3);
        dec.push(b"abc\r");
        assert!(dec.next_line().is_none());
        assert_eq!(dec.buffered_len(), 4);
        dec.push(b"x");
        assert_eq!(drain(&mut dec), vec![Err("line_too_long")]);
        dec.push(b"\nabc\r");
        dec.push(b"\n");
        assert_eq!(drain(&mut dec), vec![ok("abc")]);
    }

    #[test]
    fn seen_prefix_is_capped() {
        let mut dec = LineDecoder::new(1000);
        let long = vec![b'z'; 5000];
        dec.push(&long);
        match dec.next_line() {
            Some(Err(WireError::LineTooLong { seen_prefix, .. })) => {
                assert_eq!(seen_prefix.len(), MAX_SEEN_PREFIX);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn huge_line_in_small_chunks_keeps_buffer_bounded() {
        const MAX: usize = 4096;
        let mut dec = LineDecoder::new(MAX);
        let chunk = vec![b'x'; 1000];
        let mut errors = 0;
        // 8 MB of one line, 1000 bytes at a time.
        for _ in 0..8000 {
            dec.push(&chunk);
            assert!(dec.buffered_len() <= MAX + 1);
            assert!(dec.buf.capacity() <= 4 * MAX, "cap {}", dec.buf.capacity());
            for item in dec.drain() {
                match item {
                    Err(WireError::LineTooLong { limit: MAX, .. }) => errors += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
        assert_eq!(errors, 1);
        assert_eq!(dec.buffered_len(), 0);
        dec.push(b"\n{\"after\":true}\n");
        assert_eq!(drain(&mut dec), vec![ok("{\"after\":true}")]);
        assert_eq!(dec.stats().discarded_bytes, 8_000_000);
    }

    #[test]
    fn huge_single_push_stores_nothing_of_the_line() {
        let mut dec = LineDecoder::new(100);
        let mut data = vec![b'y'; 1 << 20];
        data.extend_from_slice(b"\nfine\n");
        dec.push(&data);
        assert!(dec.buf.capacity() < 1024, "cap {}", dec.buf.capacity());
        assert_eq!(drain(&mut dec), vec![Err("line_too_long"), ok("fine")]);
    }

    #[test]
    fn invalid_utf8_is_reported_with_raw_bytes_and_skipped() {
        let mut dec = LineDecoder::default();
        dec.push(b"good\nba\xffd\nalso good\n");
        assert_eq!(dec.next_line().unwrap().unwrap(), "good");
        match dec.next_line() {
            Some(Err(WireError::InvalidUtf8 {
                raw,
                valid_up_to,
                len,
            })) => {
                assert_eq!(&raw[..], b"ba\xffd");
                assert_eq!(valid_up_to, 2);
                assert_eq!(len, 4);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(dec.next_line().unwrap().unwrap(), "also good");
        assert_eq!(dec.stats().errors, 1);
        assert_eq!(dec.stats().lines, 2);
    }

    #[test]
    fn multibyte_char_split_across_pushes_is_fine() {
        let mut dec = LineDecoder::default();
        let text = "é€\n".as_bytes();
        for b in text {
            dec.push(std::slice::from_ref(b));
        }
        assert_eq!(drain(&mut dec), vec![ok("é€")]);
    }

    #[test]
    fn cr_mode_ends_lines_at_lone_cr_and_crlf_once() {
        let mut dec = LineDecoder::default().with_cr_terminator(true);
        assert!(dec.cr_terminator());
        dec.push(b"a\rb\r\nc\nd\r");
        dec.push(b"\ne");
        assert_eq!(drain(&mut dec), vec![ok("a"), ok("b"), ok("c"), ok("d")]);
        assert_eq!(finish(&mut dec), vec![ok("e")]);
        assert_eq!(dec.stats().lines, 5);
    }

    #[test]
    fn cr_mode_discard_stops_at_cr() {
        let mut dec = LineDecoder::new(2).with_cr_terminator(true);
        dec.push(b"abcdef\r\nxy\r");
        assert_eq!(drain(&mut dec), vec![Err("line_too_long"), ok("xy")]);
    }

    #[test]
    fn zero_limit_rejects_every_non_blank_line() {
        let mut dec = LineDecoder::new(0);
        dec.push(b"\na\n\r\nb");
        // "a" is complete; "b" is known to be too long before its newline.
        assert_eq!(
            drain(&mut dec),
            vec![Err("line_too_long"), Err("line_too_long")]
        );
        assert!(dec.is_discarding());
        dec.push(b"\n\r\n");
        assert_eq!(finish(&mut dec), vec![]);
        assert_eq!(dec.stats().errors, 2);
    }

    #[test]
    fn lines_share_the_decoder_buffer() {
        let mut dec = LineDecoder::default();
        dec.push(b"first\nsecond\n");
        let a = dec.next_line().unwrap().unwrap().into_bytes();
        let b = dec.next_line().unwrap().unwrap().into_bytes();
        // Both came out of one contiguous copy of the input.
        assert_eq!(a.as_ptr().wrapping_add(a.len()), b.as_ptr());
    }

    #[test]
    fn debug_shows_sizes_not_bytes() {
        let mut dec = LineDecoder::new(10);
        dec.push(b"secret");
        let dbg = format!("{dec:?}");
        assert!(dbg.contains("buffered_len: 6"), "{dbg}");
        assert!(!dbg.contains("secret"), "{dbg}");
    }
}
