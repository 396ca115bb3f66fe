//! Stream entry ids (`<ts_ms>-<seq>`) and their numeric order.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{ModelError, cap_raw};

/// A data message's position in its channel: `<ts_ms>-<seq>`, two unsigned decimals.
///
/// Ordering is numeric on `(ts_ms, seq)`, never textual: as text `"999-5"` sorts after
/// `"1000-1"`, as an entry id it comes first. Serde uses the string form.
///
/// ```
/// use oddsfeed_model::EntryId;
/// let a: EntryId = "999-5".parse()?;
/// let b: EntryId = "1000-1".parse()?;
/// assert!(a < b);
/// assert_eq!(b.to_string(), "1000-1");
/// # Ok::<(), oddsfeed_model::ModelError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EntryId {
    /// Milliseconds since the Unix epoch (UTC).
    pub ts_ms: u64,
    /// Sequence number within that millisecond.
    pub seq: u64,
}

impl EntryId {
    /// Builds an entry id from its two parts.
    pub const fn new(ts_ms: u64, seq: u64) -> Self {
        Self { ts_ms, seq }
    }
}

/// Parses a non-empty run of ASCII digits (no sign, no spaces) as a `u64`.
fn parse_decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl FromStr for EntryId {
    type Err = ModelError;

    /// Accepts exactly `<digits>-<digits>`, each part fitting a `u64`; anything else
    /// (signs, spaces, a missing part, overflow, extra dashes) is [`ModelError::BadEntryId`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::BadEntryId {
            raw: cap_raw(text.as_bytes()),
        };
        let (ts, seq) = text.split_once('-').ok_or_else(bad)?;
        let ts_ms = parse_decimal(ts).ok_or_else(bad)?;
        let seq = parse_decimal(seq).ok_or_else(bad)?;
        Ok(Self { ts_ms, seq })
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ts_ms, self.seq)
    }
}

impl Serialize for EntryId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for EntryId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(text: &str) -> EntryId {
        text.parse().unwrap_or(EntryId::new(u64::MAX, u64::MAX))
    }

    #[test]
    fn parses_and_displays() {
        assert_eq!(
            id("1766939805321-3077"),
            EntryId::new(1_766_939_805_321, 3077)
        );
        assert_eq!(id("0-0"), EntryId::new(0, 0));
        assert_eq!(EntryId::new(12, 3).to_string(), "12-3");
        let max = format!("{}-{}", u64::MAX, u64::MAX);
        assert_eq!(id(&max), EntryId::new(u64::MAX, u64::MAX));
        assert_eq!(id("1766418736962-198").to_string(), "1766418736962-198");
    }

    #[test]
    fn numeric_order_not_textual() {
        assert!(id("999-5") < id("1000-1"));
        assert!("999-5" > "1000-1");
        assert!(id("1000-2") > id("1000-1"));
        assert!(id("1000-10") > id("1000-9"));
        assert_eq!(id("5-5").cmp(&id("5-5")), std::cmp::Ordering::Equal);
    }

    #[test]
    fn rejects_bad_forms() {
        let overflow = format!("{}0-1", u64::MAX);
        for bad in [
            "", "-", "1", "1-", "-1", "1--2", "1-2-3", "+1-2", "1-+2", " 1-2", "1-2 ", "a-1",
            "1-b", "1.5-2", "0x1-2", "１-2", &overflow,
        ] {
            let err = bad.parse::<EntryId>();
            assert_eq!(
                err,
                Err(ModelError::BadEntryId {
                    raw: bad.as_bytes().to_vec()
                }),
                "{bad:?} must be rejected"
            );
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let json = serde_json::to_string(&EntryId::new(7, 8)).unwrap_or_default();
        assert_eq!(json, r#""7-8""#);
        let back: Result<EntryId, _> = serde_json::from_str(r#""7-8""#);
        assert_eq!(back.ok(), Some(EntryId::new(7, 8)));
        let bad = serde_json::from_str::<EntryId>(r#""7_8""#).map_err(|e| e.to_string());
        assert!(bad.err().unwrap_or_default().starts_with("bad entry id"));
        let escaped: Result<EntryId, _> = serde_json::from_str(r#""7\u002d8""#);
        assert_eq!(escaped.ok(), Some(EntryId::new(7, 8)));
    }
}
