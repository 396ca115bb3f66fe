//! A minimal compact-JSON writer into a `String` (objects and scalars: the
//! generator needs no arrays).
//!
//! Building a `serde_json::Value` per message would allocate every key and
//! value; the generator instead appends text directly. The writer tracks, per
//! nesting level, whether a separator is due, so callers only say what comes
//! next.

use std::fmt::Write as _;

/// Nesting deeper than this is a generator bug; the generator nests at most 5.
const MAX_DEPTH: u32 = 63;

/// Appends compact JSON to a borrowed `String`.
pub(crate) struct JsonWriter<'a> {
    out: &'a mut String,
    /// Bit `d` set: the container at depth `d` already holds an item.
    filled: u64,
    depth: u32,
}

impl<'a> JsonWriter<'a> {
    /// Starts writing at the end of `out`.
    pub(crate) fn new(out: &'a mut String) -> Self {
        JsonWriter {
            out,
            filled: 0,
            depth: 0,
        }
    }

    /// Emits a `,` if the current container already holds an item, and marks
    /// it as holding one.
    fn separate(&mut self) {
        let bit = 1u64 << self.depth;
        if self.filled & bit != 0 {
            self.out.push(',');
        }
        self.filled |= bit;
    }

    fn open(&mut self, c: char) {
        self.out.push(c);
        self.depth = (self.depth + 1).min(MAX_DEPTH);
        self.filled &= !(1u64 << self.depth);
    }

    fn close(&mut self, c: char) {
        self.out.push(c);
        self.depth = self.depth.saturating_sub(1);
    }

    /// Opens an object (as a value, after a key, or at the top level).
    pub(crate) fn begin_obj(&mut self) {
        self.open('{');
    }

    /// Closes the current object.
    pub(crate) fn end_obj(&mut self) {
        self.close('}');
    }

    /// Writes a key known to need no escaping (a literal in this crate).
    pub(crate) fn key(&mut self, key: &str) {
        self.separate();
        self.out.push('"');
        self.out.push_str(key);
        self.out.push_str("\":");
    }

    /// Writes a string value, escaped.
    pub(crate) fn str(&mut self, value: &str) {
        self.raw_str(value);
    }

    /// Starts a key assembled piece by piece with [`JsonWriter::raw`] and
    /// [`JsonWriter::u64`]; end it with [`JsonWriter::close_key`].
    pub(crate) fn open_key(&mut self) {
        self.separate();
        self.out.push('"');
    }

    /// Ends a key started with [`JsonWriter::open_key`].
    pub(crate) fn close_key(&mut self) {
        self.out.push_str("\":");
    }

    /// Starts a string value assembled piece by piece; end it with
    /// [`JsonWriter::close_str`].
    pub(crate) fn open_str(&mut self) {
        self.out.push('"');
    }

    /// Ends a string started with [`JsonWriter::open_str`].
    pub(crate) fn close_str(&mut self) {
        self.out.push('"');
    }

    /// Appends text as is, inside a key or string being assembled. Only for
    /// the generator's own vocabulary (slugs, ids), which never needs
    /// escaping.
    pub(crate) fn raw(&mut self, text: &str) {
        debug_assert!(!text.bytes().any(needs_escape), "{text:?}");
        self.out.push_str(text);
    }

    /// Writes an unsigned integer (also inside an assembled string).
    pub(crate) fn u64(&mut self, value: u64) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        let mut v = value;
        loop {
            i -= 1;
            buf[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.out
            .push_str(std::str::from_utf8(&buf[i..]).unwrap_or_default());
    }

    /// Writes a signed integer.
    pub(crate) fn i64(&mut self, value: i64) {
        if value < 0 {
            self.out.push('-');
        }
        self.u64(value.unsigned_abs());
    }

    /// Writes `value` as two digits (it is below 100).
    fn two_digits(&mut self, value: u64) {
        self.out.push(char::from(b'0' + (value / 10 % 10) as u8));
        self.out.push(char::from(b'0' + (value % 10) as u8));
    }

    /// Writes a decimal given in hundredths, always with a fractional part so
    /// it stays a float through every encoding (`250` → `2.5`, `300` → `3.0`).
    pub(crate) fn hundredths(&mut self, value: u32) {
        let frac = u64::from(value % 100);
        self.u64(u64::from(value / 100));
        self.out.push('.');
        if frac.is_multiple_of(10) {
            self.u64(frac / 10);
        } else {
            self.two_digits(frac);
        }
    }

    /// Writes `true` or `false`.
    pub(crate) fn bool(&mut self, value: bool) {
        self.out.push_str(if value { "true" } else { "false" });
    }

    /// Writes `null`.
    pub(crate) fn null(&mut self) {
        self.out.push_str("null");
    }

    /// Writes an ISO-8601 UTC timestamp with microseconds, as
    /// `2025-12-28T16:24:11.426852+00:00`.
    pub(crate) fn iso_micros(&mut self, micros: u64) {
        let secs = micros / 1_000_000;
        let sub = micros % 1_000_000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        self.out.push('"');
        self.two_digits(y / 100);
        self.two_digits(y % 100);
        self.out.push('-');
        self.two_digits(m);
        self.out.push('-');
        self.two_digits(d);
        self.out.push('T');
        self.two_digits(rem / 3600);
        self.out.push(':');
        self.two_digits(rem / 60 % 60);
        self.out.push(':');
        self.two_digits(rem % 60);
        self.out.push('.');
        self.two_digits(sub / 10_000);
        self.two_digits(sub / 100 % 100);
        self.two_digits(sub % 100);
        self.out.push_str("+00:00\"");
    }

    fn raw_str(&mut self, s: &str) {
        self.out.push('"');
        if !s.bytes().any(needs_escape) {
            self.out.push_str(s);
            self.out.push('"');
            return;
        }
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => Some("\\\""),
                b'\\' => Some("\\\\"),
                b'\n' => Some("\\n"),
                b'\r' => Some("\\r"),
                b'\t' => Some("\\t"),
                0..=0x1f => None,
                _ => continue,
            };
            self.out.push_str(s.get(start..i).unwrap_or_default());
            match escape {
                Some(e) => self.out.push_str(e),
                None => {
                    let _ = write!(self.out, "\\u{b:04x}");
                }
            }
            start = i + 1;
        }
        self.out.push_str(s.get(start..).unwrap_or_default());
        self.out.push('"');
    }
}

/// Whether a byte must be escaped inside a JSON string.
fn needs_escape(b: u8) -> bool {
    b == b'"' || b == b'\\' || b < 0x20
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a year.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut JsonWriter<'_>)) -> String {
        let mut s = String::new();
        let mut w = JsonWriter::new(&mut s);
        f(&mut w);
        s
    }

    #[test]
    fn separators_follow_nesting() {
        let s = written(|w| {
            w.begin_obj();
            w.key("a");
            w.u64(1);
            w.key("b");
            w.begin_obj();
            w.key("t");
            w.bool(true);
            w.key("c");
            w.begin_obj();
            w.key("n");
            w.null();
            w.end_obj();
            w.end_obj();
            w.key("d");
            w.i64(-5);
            w.end_obj();
        });
        assert_eq!(s, r#"{"a":1,"b":{"t":true,"c":{"n":null}},"d":-5}"#);
    }

    #[test]
    fn strings_are_escaped() {
        let s = written(|w| w.str("a\"b\\c\nd\u{1}é"));
        assert_eq!(s, r#""a\"b\\c\nd\u0001é""#);
        let v: String = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(v, "a\"b\\c\nd\u{1}é");
    }

    #[test]
    fn integers_and_assembled_strings() {
        let s = written(|w| {
            w.begin_obj();
            w.open_key();
            w.raw("id1:bk:");
            w.u64(0);
            w.close_key();
            w.open_str();
            w.u64(1_766_400_000_000);
            w.raw("-");
            w.u64(u64::MAX);
            w.close_str();
            w.key("n");
            w.i64(i64::MIN);
            w.key("p");
            w.i64(145);
            w.end_obj();
        });
        assert_eq!(
            s,
            r#"{"id1:bk:0":"1766400000000-18446744073709551615","n":-9223372036854775808,"p":145}"#
        );
    }

    #[test]
    fn hundredths_keep_a_fraction() {
        let s = written(|w| {
            w.begin_obj();
            for (k, v) in [("a", 250), ("b", 300), ("c", 245), ("d", 101), ("e", 1205)] {
                w.key(k);
                w.hundredths(v);
            }
            w.end_obj();
        });
        assert_eq!(s, r#"{"a":2.5,"b":3.0,"c":2.45,"d":1.01,"e":12.05}"#);
    }

    #[test]
    fn iso_timestamps_match_the_calendar() {
        // 1766939805321 ms = 2025-12-28T16:36:45.321 UTC
        let s = written(|w| w.iso_micros(1_766_939_805_321_123));
        assert_eq!(s, "\"2025-12-28T16:36:45.321123+00:00\"");
        let s = written(|w| w.iso_micros(951_782_400_000_000));
        assert_eq!(s, "\"2000-02-29T00:00:00.000000+00:00\"");
        let s = written(|w| w.iso_micros(0));
        assert_eq!(s, "\"1970-01-01T00:00:00.000000+00:00\"");
    }
}
