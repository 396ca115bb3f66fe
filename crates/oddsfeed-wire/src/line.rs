//! [`Line`]: one decoded line, shared bytes known to be valid UTF-8.

use std::fmt;

use bytes::Bytes;

use crate::WireError;

/// One complete line from a newline-delimited stream, without its terminator.
///
/// A `Line` wraps a [`Bytes`] handle that was checked to be valid UTF-8 when
/// the line was built, so it shares the decoder's buffer instead of copying.
/// It is never empty when it comes out of a [`LineDecoder`](crate::LineDecoder)
/// (blank lines are skipped).
///
/// Parsers that take bytes (`serde_json::from_slice`, or simd-json after a copy
/// into a mutable buffer) should use [`Line::as_bytes`]. [`Line::as_str`] is
/// provided for convenience; because this crate has no `unsafe` code it
/// re-checks the UTF-8 on each call, which is a fast linear scan for ASCII
/// JSON but not free.
///
/// ```
/// use oddsfeed_wire::Line;
///
/// let line = Line::try_from(bytes::Bytes::from_static(b"{\"mode\":\"push\"}"))?;
/// assert_eq!(line.as_str(), r#"{"mode":"push"}"#);
/// assert_eq!(line.len(), 15);
/// # Ok::<(), oddsfeed_wire::WireError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Line(Bytes);

impl Line {
    /// The line as UTF-8 text.
    ///
    /// Re-validates the bytes (see the type docs); prefer [`Line::as_bytes`]
    /// on hot paths.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The bytes were validated on construction and `Bytes` is immutable,
        // so this cannot fail; the empty fallback only avoids a panic path.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The line's bytes (valid UTF-8), without copying.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying shared buffer, without copying.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// The line as an owned `String` (copies the bytes).
    #[must_use]
    pub fn into_string(self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// Length of the line in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the line has no bytes (never the case for decoder output).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl TryFrom<Bytes> for Line {
    type Error = WireError;

    /// Checks that `bytes` is valid UTF-8 and wraps it without copying.
    ///
    /// # Errors
    ///
    /// [`WireError::InvalidUtf8`] carrying (the start of) the bytes.
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        match std::str::from_utf8(&bytes) {
            Ok(_) => Ok(Self(bytes)),
            Err(e) => Err(WireError::invalid_utf8(&bytes, e.valid_up_to())),
        }
    }
}

impl From<&str> for Line {
    /// Copies a string into a new line.
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for Line {
    /// Takes ownership of a string's buffer.
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<Line> for Bytes {
    fn from(line: Line) -> Self {
        line.0
    }
}

impl AsRef<[u8]> for Line {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl PartialEq<str> for Line {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Line {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Debug for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_wrapped_without_copy() {
        let bytes = Bytes::from(String::from("héllo"));
        let ptr = bytes.as_ptr();
        let line = Line::try_from(bytes).unwrap();
        assert_eq!(line.as_str(), "héllo");
        assert_eq!(line.as_bytes().as_ptr(), ptr);
        assert_eq!(line.len(), 6);
        assert!(!line.is_empty());
        assert_eq!(line.clone().into_bytes().as_ptr(), ptr);
        assert_eq!(line.into_string(), "héllo");
    }

    #[test]
    fn invalid_utf8_is_refused_with_bytes() {
        let err = Line::try_from(Bytes::from_static(b"ab\xc3(")).unwrap_err();
        match err {
            WireError::InvalidUtf8 {
                raw,
                valid_up_to,
                len,
            } => {
                assert_eq!(&raw[..], b"ab\xc3(");
                assert_eq!(valid_up_to, 2);
                assert_eq!(len, 4);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn comparisons_and_formatting() {
        let line = Line::from("{\"a\":1}");
        assert_eq!(line, "{\"a\":1}");
        assert_eq!(&line, "{\"a\":1}");
        assert_eq!(format!("{line}"), "{\"a\":1}");
        assert_eq!(format!("{line:?}"), "\"{\\\"a\\\":1}\"");
        assert_eq!(Line::from(String::from("x")).as_ref(), b"x");
    }
}
