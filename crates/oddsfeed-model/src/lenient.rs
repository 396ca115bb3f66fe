//! Forgiving field readers shared by the typed views.
//!
//! Real feeds spell numeric ids sometimes as numbers and sometimes as strings. These
//! helpers accept both where that costs nothing, so a typed view does not fall back to raw
//! JSON over a spelling difference. They work with every deserializer the crate uses
//! (serde_json text, `serde_json::Value`, simd-json).

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Visitor};

/// Accepts a string or an integer and yields its text, as a `T` (`String` or
/// [`SmallStr`](crate::ws::SmallStr)).
struct IdText<T>(PhantomData<fn() -> T>);

impl<T> Clone for IdText<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for IdText<T> {}

impl<T> IdText<T> {
    fn new() -> Self {
        Self(PhantomData)
    }
}

impl<'de, T: for<'a> From<&'a str> + From<String>> Visitor<'de> for IdText<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer id")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        Ok(T::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<T, E> {
        Ok(T::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Ok(T::from(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        Ok(T::from(v.to_string()))
    }
}

/// Accepts an unsigned integer or a string of ASCII digits.
#[derive(Clone, Copy)]
struct UnsignedNumber;

impl<'de> Visitor<'de> for UnsignedNumber {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an unsigned integer or a string of digits")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
        Ok(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
        u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
        if !v.is_empty()
            && v.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = v.parse()
        {
            return Ok(n);
        }
        Err(E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// Accepts a signed integer or a string holding one (an optional sign, then digits).
#[derive(Clone, Copy)]
struct SignedNumber;

impl<'de> Visitor<'de> for SignedNumber {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer or a string holding one")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = v.strip_prefix('+').unwrap_or(v).parse()
        {
            return Ok(n);
        }
        Err(E::invalid_value(de::Unexpected::Str(v), &self))
    }
}

/// Wraps an inner visitor so that `null` becomes `None`.
struct Nullable<V>(V);

impl<'de, V: Visitor<'de> + Copy> Visitor<'de> for Nullable<V> {
    type Value = Option<V::Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)?;
        f.write_str(" or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    // simd-json reports a `null` optional through `visit_unit`.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self.0).map(Some)
    }
}

/// An id given as a string or an integer, kept as text.
pub(crate) fn id<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str> + From<String>,
{
    d.deserialize_any(IdText::new())
}

/// An optional id given as a string or an integer, kept as text.
pub(crate) fn opt_id<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: for<'a> From<&'a str> + From<String>,
{
    d.deserialize_option(Nullable(IdText::new()))
}

/// An unsigned number given as an integer or a string of digits.
pub(crate) fn unsigned<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    d.deserialize_any(UnsignedNumber)
}

/// An optional unsigned number given as an integer or a string of digits.
pub(crate) fn opt_unsigned<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    d.deserialize_option(Nullable(UnsignedNumber))
}

/// An optional signed number given as an integer or a string holding one.
pub(crate) fn opt_signed<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_option(Nullable(SignedNumber))
}

/// A list of ids, each a string or an integer.
pub(crate) fn id_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Ids;
    impl<'de> Visitor<'de> for Ids {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of ids")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element::<IdElement>()? {
                out.push(item.0);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(Ids)
}

/// One element of [`id_list`].
struct IdElement(String);

impl<'de> serde::Deserialize<'de> for IdElement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        id(d).map(IdElement)
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "super::id")]
        id: String,
        #[serde(default, deserialize_with = "super::opt_id")]
        opt: Option<String>,
        #[serde(default, deserialize_with = "super::opt_unsigned")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "super::opt_signed")]
        s: Option<i64>,
    }

    fn both(text: &str) -> (Result<Sample, String>, Result<Sample, String>) {
        let plain = serde_json::from_str::<Sample>(text).map_err(|e| e.to_string());
        let mut buf = text.as_bytes().to_vec();
        let fast = simd_json::serde::from_slice::<Sample>(&mut buf).map_err(|e| e.to_string());
        (plain, fast)
    }

    #[test]
    fn numbers_and_strings_are_both_accepted() {
        let want = Sample {
            id: "101".into(),
            opt: Some("7".into()),
            n: Some(42),
            s: Some(-150),
        };
        for text in [
            r#"{"id":101,"opt":7,"n":42,"s":-150}"#,
            r#"{"id":"101","opt":"7","n":"42","s":"-150"}"#,
        ] {
            let (plain, fast) = both(text);
            assert_eq!(plain.as_ref(), Ok(&want), "{text}");
            assert_eq!(fast.as_ref(), Ok(&want), "{text}");
        }
        let (plain, fast) = both(r#"{"id":"x","s":"+120"}"#);
        assert_eq!(plain.as_ref().map(|s| s.s), Ok(Some(120)));
        assert_eq!(fast.as_ref().map(|s| s.s), Ok(Some(120)));
    }

    #[test]
    fn null_and_missing_are_none() {
        let want = Sample {
            id: "a".into(),
            opt: None,
            n: None,
            s: None,
        };
        for text in [
            r#"{"id":"a"}"#,
            r#"{"id":"a","opt":null,"n":null,"s":null}"#,
        ] {
            let (plain, fast) = both(text);
            assert_eq!(plain.as_ref(), Ok(&want), "{text}");
            assert_eq!(fast.as_ref(), Ok(&want), "{text}");
            let value: serde_json::Value = serde_json::from_str(text).unwrap();
            assert_eq!(Sample::deserialize(&value).ok().as_ref(), Some(&want));
        }
    }

    #[test]
    fn wrong_types_are_errors() {
        for (text, expected) in [
            (r#"{"id":1.5}"#, "a string or an integer id"),
            (r#"{"id":true}"#, "a string or an integer id"),
            (
                r#"{"id":"a","n":-1}"#,
                "an unsigned integer or a string of digits",
            ),
            (
                r#"{"id":"a","n":"1x"}"#,
                "an unsigned integer or a string of digits",
            ),
            (
                r#"{"id":"a","s":"--1"}"#,
                "an integer or a string holding one",
            ),
            (
                r#"{"id":"a","s":18446744073709551615}"#,
                "an integer or a string holding one",
            ),
        ] {
            let (plain, fast) = both(text);
            for (path, result) in [("serde_json", plain), ("simd-json", fast)] {
                let message = result.err().unwrap_or_default();
                assert!(message.contains(expected), "{path} on {text}: {message:?}");
            }
        }
    }
}
