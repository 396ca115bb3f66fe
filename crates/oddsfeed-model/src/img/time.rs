//! IMG timestamps: `YYYY-MM-DD HH:MM:SS.ffffff`, UTC without a zone (docs/PROTOCOL.md A.3).

use std::fmt;

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The format IMG timestamps use; the fraction (1 to 9 digits) may be left out.
const FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// A timestamp from the IMG feed.
///
/// Parsing never fails: text that is not `YYYY-MM-DD HH:MM:SS[.f]` is kept as
/// [`ImgTime::Raw`]. Serialises back as text (a parsed time with six fraction digits).
///
/// ```
/// use oddsfeed_model::img::ImgTime;
/// let t = ImgTime::parse("2025-03-14 08:50:11.331473");
/// assert_eq!(t.as_utc().map(|t| t.timestamp_micros()), Some(1_741_942_211_331_473));
/// assert_eq!(ImgTime::parse("yesterday"), ImgTime::Raw("yesterday".into()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ImgTime {
    /// A well-formed timestamp (UTC).
    Parsed(NaiveDateTime),
    /// Text that is not a timestamp of the expected form, kept as sent.
    Raw(String),
}

impl ImgTime {
    /// Parses `text`; never fails (see the type docs).
    pub fn parse(text: &str) -> Self {
        match NaiveDateTime::parse_from_str(text, FORMAT) {
            Ok(at) => Self::Parsed(at),
            Err(_) => Self::Raw(text.to_owned()),
        }
    }

    /// The time in UTC, if it parsed.
    pub fn as_utc(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Parsed(at) => Some(at.and_utc()),
            Self::Raw(_) => None,
        }
    }

    /// The naive (zone-less, UTC) time, if it parsed.
    pub fn as_naive(&self) -> Option<NaiveDateTime> {
        match self {
            Self::Parsed(at) => Some(*at),
            Self::Raw(_) => None,
        }
    }
}

impl fmt::Display for ImgTime {
    /// The IMG form with six fraction digits, or the raw text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Parsed(at) => write!(f, "{}", at.format("%Y-%m-%d %H:%M:%S%.6f")),
            Self::Raw(text) => f.write_str(text),
        }
    }
}

impl Serialize for ImgTime {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImgTime {
    /// Reads a string (parsed or kept raw) or a number (kept raw as its text).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimeVisitor;
        impl Visitor<'_> for TimeVisitor {
            type Value = ImgTime;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a timestamp string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ImgTime, E> {
                Ok(ImgTime::parse(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ImgTime, E> {
                Ok(ImgTime::Raw(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ImgTime, E> {
                Ok(ImgTime::Raw(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ImgTime, E> {
                Ok(ImgTime::Raw(
                    serde_json::Number::from_f64(v)
                        .map_or_else(|| v.to_string(), |n| n.to_string()),
                ))
            }
        }
        deserializer.deserialize_any(TimeVisitor)
    }
}

/// Reads an optional timestamp from a parsed field: strings and numbers as by
/// `Deserialize`, anything else (null, objects, ...) as `None`.
pub(crate) fn from_field(value: Option<&serde_json::Value>) -> Option<ImgTime> {
    match value? {
        serde_json::Value::String(s) => Some(ImgTime::parse(s)),
        serde_json::Value::Number(n) => Some(ImgTime::Raw(n.to_string())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Timelike};

    fn at(h: u32, m: u32, s: u32, micro: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2025, 3, 14)
            .and_then(|d| d.and_hms_micro_opt(h, m, s, micro))
            .unwrap()
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(
            ImgTime::parse("2025-03-14 08:50:11.331473"),
            ImgTime::Parsed(at(8, 50, 11, 331_473))
        );
        assert_eq!(
            ImgTime::parse("2025-03-14 08:50:11"),
            ImgTime::Parsed(at(8, 50, 11, 0))
        );
        assert_eq!(
            ImgTime::parse("2025-03-14 08:50:11.5"),
            ImgTime::Parsed(at(8, 50, 11, 500_000))
        );
        let nanos = ImgTime::parse("2025-03-14 08:50:11.123456789");
        assert_eq!(nanos.as_naive().map(|t| t.nanosecond()), Some(123_456_789));
    }

    #[test]
    fn unparsable_forms_stay_raw() {
        for text in [
            "",
            "2025-03-14T08:50:11.331473",
            "2025-03-14 08:50:11.331473Z",
            "2025-03-14 08:50:11+00:00",
            "2025-02-30 08:50:11",
            "2025-03-14 25:00:00",
            "2025-03-14",
            "14/03/2025 08:50:11",
        ] {
            assert_eq!(ImgTime::parse(text), ImgTime::Raw(text.into()), "{text:?}");
            assert_eq!(ImgTime::parse(text).as_utc(), None);
        }
    }

    #[test]
    fn utc_and_display() {
        let t = ImgTime::parse("2025-03-20 10:05:18.924114");
        assert_eq!(
            t.as_utc().map(|u| u.to_rfc3339()),
            Some("2025-03-20T10:05:18.924114+00:00".into())
        );
        assert_eq!(t.to_string(), "2025-03-20 10:05:18.924114");
        assert_eq!(
            ImgTime::parse("2025-03-20 10:05:18").to_string(),
            "2025-03-20 10:05:18.000000"
        );
        assert_eq!(ImgTime::Raw("x y".into()).to_string(), "x y");
    }

    #[test]
    fn serde_forms() {
        let t: ImgTime = serde_json::from_str(r#""2025-03-20 10:05:18.924114""#).unwrap();
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#""2025-03-20 10:05:18.924114""#
        );
        let n: ImgTime = serde_json::from_str("1742465118").unwrap();
        assert_eq!(n, ImgTime::Raw("1742465118".into()));
        let err = serde_json::from_str::<ImgTime>("{}").map_err(|e| e.to_string());
        assert!(err.unwrap_err().contains("a timestamp string"));
    }
}
