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

/// Parses a non-empty run of ASCII digits (no sign, no spaces) as a `u64`, in one pass
/// (`None` on overflow).
fn parse_decimal(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |n, &b| {
        let digit = b.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

impl FromStr for EntryId {
    type Err = ModelError;

    /// Accepts exactly `<digits>-<digits>`, each part fitting a `u64`; anything else
    /// (signs, spaces, a missing part, overflow, extra dashes) is [`ModelError::BadEntryId`].
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || ModelError::BadEntryId {
            raw: cap_raw(text.as_bytes()),
        };
        // Split at the first dash (a second one then fails the digits check).
        let bytes = text.as_bytes();
        let dash = bytes.iter().position(|&b| b == b'-').ok_or_else(bad)?;
        let (ts, seq) = (bytes.get(..dash), bytes.get(dash + 1..));
        let ts_ms = ts.and_then(parse_decimal).ok_or_else(bad)?;
        let seq = seq.and_then(parse_decimal).ok_or_else(bad)?;
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
        assert_eq!(id("007-0009"), EntryId::new(7, 9));
        assert_eq!(id("18446744073709551615-0"), EntryId::new(u64::MAX, 0));
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
            "",
            "-",
            "1",
            "1-",
            "-1",
            "1--2",
            "1-2-3",
            "+1-2",
            "1-+2",
            " 1-2",
            "1-2 ",
            "a-1",
            "1-b",
            "1.5-2",
            "0x1-2",
            "１-2",
            &overflow,
            "18446744073709551616-0",
            "0-18446744073709551616",
            "1-2\u{0}",
            ":-1",
            "/-1",
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

    /// The plain reading the parser must match: split at the first dash, then each part a
    /// non-empty run of ASCII digits that `u64::from_str` accepts.
    fn reference(text: &str) -> Option<EntryId> {
        let digits = |t: &str| {
            (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        let (ts, seq) = text.split_once('-')?;
        Some(EntryId::new(digits(ts)?, digits(seq)?))
    }

    #[test]
    fn matches_the_reference_reading_on_every_short_text() {
        let alphabet = ['0', '1', '9', '-', '+', ' ', 'a', 'é'];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.chars().count() == texts.last().map_or(0, |l| l.chars().count()))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        let max = u64::MAX;
        texts.extend([
            format!("{max}-{max}"),
            format!("{max}0-1"),
            format!("1-{max}0"),
            format!("0{max}-00{max}"),
            "18446744073709551616-1".to_owned(),
        ]);
        for text in &texts {
            assert_eq!(text.parse::<EntryId>().ok(), reference(text), "{text:?}");
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
