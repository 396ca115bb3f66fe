//! A string that keeps short texts inline, for the many short fields of an odds outcome.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// The longest text kept inline, in bytes.
pub const SMALL_STR_INLINE: usize = 22;

/// An immutable string: texts of up to [`SMALL_STR_INLINE`] bytes are stored inline (no
/// allocation), longer ones on the heap.
///
/// It derefs to `str` and compares, orders and hashes as its text, so it reads like a
/// `String` (`s.len()`, `&*s`, `s == "over"`, `opt.as_deref()`).
///
/// ```
/// use oddsfeed_model::ws::SmallStr;
/// let short = SmallStr::from("totals_221.5");
/// assert_eq!(short, "totals_221.5");
/// assert!(short.is_inline());
/// let long = SmallStr::from("https://example.com/betslip?fixture=1");
/// assert!(!long.is_inline());
/// assert_eq!(long.len(), 37);
/// ```
#[derive(Clone)]
pub struct SmallStr(Repr);

#[derive(Clone)]
enum Repr {
    Inline {
        len: u8,
        bytes: [u8; SMALL_STR_INLINE],
    },
    Heap(Box<str>),
}

impl SmallStr {
    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            // The bytes were copied from a `str` of `len` bytes, so this never falls back.
            Repr::Inline { len, bytes } => bytes
                .get(..usize::from(*len))
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or(""),
            Repr::Heap(s) => s,
        }
    }

    /// Whether the text is stored inline (it has at most [`SMALL_STR_INLINE`] bytes).
    pub fn is_inline(&self) -> bool {
        matches!(self.0, Repr::Inline { .. })
    }

    /// The inline form of `text`, if it fits.
    fn inline(text: &str) -> Option<Self> {
        let len = u8::try_from(text.len()).ok()?;
        let mut bytes = [0; SMALL_STR_INLINE];
        bytes
            .get_mut(..text.len())?
            .copy_from_slice(text.as_bytes());
        Some(Self(Repr::Inline { len, bytes }))
    }
}

impl Default for SmallStr {
    fn default() -> Self {
        Self(Repr::Inline {
            len: 0,
            bytes: [0; SMALL_STR_INLINE],
        })
    }
}

impl From<&str> for SmallStr {
    fn from(text: &str) -> Self {
        Self::inline(text).unwrap_or_else(|| Self(Repr::Heap(text.into())))
    }
}

impl From<String> for SmallStr {
    fn from(text: String) -> Self {
        Self::inline(&text).unwrap_or_else(|| Self(Repr::Heap(text.into_boxed_str())))
    }
}

impl From<SmallStr> for String {
    fn from(text: SmallStr) -> Self {
        match text.0 {
            Repr::Heap(s) => s.into_string(),
            Repr::Inline { .. } => text.as_str().to_owned(),
        }
    }
}

impl Deref for SmallStr {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SmallStr {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for SmallStr {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for SmallStr {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SmallStr {}

impl PartialEq<str> for SmallStr {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SmallStr {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for SmallStr {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialOrd for SmallStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SmallStr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for SmallStr {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Debug for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SmallStr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for SmallStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = SmallStr;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SmallStr, E> {
                Ok(SmallStr::from(v))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<SmallStr, E> {
                Ok(SmallStr::from(v))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_up_to_the_limit_then_heap() {
        let at_limit = "a".repeat(SMALL_STR_INLINE);
        let over = "a".repeat(SMALL_STR_INLINE + 1);
        assert!(SmallStr::from(at_limit.as_str()).is_inline());
        assert!(!SmallStr::from(over.as_str()).is_inline());
        assert!(!SmallStr::from(over.clone()).is_inline());
        assert_eq!(SmallStr::from(over.clone()), over);
        assert_eq!(String::from(SmallStr::from(over.clone())), over);
        assert_eq!(String::from(SmallStr::from("é😀")), "é😀");
        assert_eq!(SmallStr::default(), "");
        assert!(SmallStr::default().is_inline());
        // every length that fits, each byte in its place
        let all: String = ('a'..='z').collect();
        for n in 0..=SMALL_STR_INLINE {
            let text = all.get(..n).unwrap_or_default();
            let small = SmallStr::from(text);
            assert!(small.is_inline());
            assert_eq!(small.as_str(), text);
        }
    }

    #[test]
    fn compares_as_text_whatever_the_storage() {
        let long = "x".repeat(40);
        let (short, long) = (SmallStr::from("abc"), SmallStr::from(long.as_str()));
        assert_eq!(short.cmp(&long), Ordering::Less);
        assert_eq!(
            SmallStr::from("abc").cmp(&SmallStr::from("abd")),
            Ordering::Less
        );
        assert_eq!(format!("{:?}", SmallStr::from("a\"b")), r#""a\"b""#);
        assert_eq!(SmallStr::from("5/2").to_string(), "5/2");
    }

    #[test]
    fn deserialises_from_json_strings_only() {
        let s: SmallStr = serde_json::from_str(r#""over\n""#).unwrap();
        assert_eq!(s, "over\n");
        let mut buf = br#""under""#.to_vec();
        let s: SmallStr = simd_json::serde::from_slice(&mut buf).unwrap();
        assert_eq!(s, "under");
        let err = serde_json::from_str::<SmallStr>("5").unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
    }
}
