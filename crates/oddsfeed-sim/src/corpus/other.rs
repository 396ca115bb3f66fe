//! A second message shape: the same feed as another producer would write it.
//!
//! [`OtherGenerator`] takes each message of [`WsGenerator`] and writes it again the way a
//! different server stack might, staying valid per docs/PROTOCOL.md B.7 (every typed field
//! keeps a spelling the protocol or the client's lenient readers accept):
//!
//! - keys in another order (shuffled in most objects, `payload` often before `channel`);
//! - extra keys the model does not read: nested objects, arrays, long texts with escapes
//!   (`\"`, `\\`, `\n`, `\t`, `\/`, `\uXXXX`) and non-ASCII text, `-0` and `-0.0`;
//! - numbers spelled differently: exponents (`2.84e0`, `284E-2`), trailing zeros,
//!   many decimals, integers as floats (`3.0`), ids and times as strings of digits,
//!   `priceAmerican` as `"+150"`;
//! - some messages with spaces after `:` and `,` (Python's `json.dumps` default);
//! - about one message in ten on the untyped channel `oddsFutures`;
//! - no multi-hundred-kilobyte snapshots: the mean message is about 1.5 KB.
//!
//! The same seed gives the same bytes.

use fastrand::Rng;
use serde_json::{Map, Value};

use crate::ws_gen::{GeneratedMessage, WsGenerator};

/// Messages of the underlying generator longer than this (its full-book snapshots) are
/// skipped.
const MAX_SOURCE_LEN: usize = 8 << 10;

/// Long texts an outside producer adds to outcomes and fixtures (market and selection
/// names, translations), with characters that need escaping and non-ASCII letters.
const TEXTS: [&str; 8] = [
    "Total Goals Over/Under 2.5 \u{2013} 1st Half",
    "M\u{e1}s de 2,5 goles \u{b7} \"Primera parte\"",
    "\u{dc}ber 2,5 Tore (inkl. Verl\u{e4}ngerung)\nnur regul\u{e4}re Spielzeit",
    "Plus de 2,5 buts \u{2014} 1\u{e8}re mi-temps\tcote boost\u{e9}e",
    "\u{421}\u{442}\u{430}\u{432}\u{43a}\u{430}: \"\u{442}\u{43e}\u{442}\u{430}\u{43b}\" > 2.5",
    "Asian Handicap -0.5 \\ +0.5 (home/away) \u{26bd}",
    "2.5 \u{ace8} \u{c774}\u{c0c1} / \u{5408}\u{8a08}\u{5f97}\u{70b9} \u{1f3c6}",
    "Both teams to score & win \u{2192} \u{2018}yes\u{2019}",
];

/// Writes the messages of [`WsGenerator`] in another producer's shape (see the
/// [module docs](self)).
#[derive(Debug, Clone)]
pub struct OtherGenerator {
    inner: WsGenerator,
    rng: Rng,
}

impl OtherGenerator {
    /// A generator of all channels, seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self::wrap(WsGenerator::new(seed), seed)
    }

    /// Reshapes the messages of `inner`; `seed` drives the reshaping.
    #[must_use]
    pub fn wrap(inner: WsGenerator, seed: u64) -> Self {
        OtherGenerator {
            inner,
            rng: Rng::with_seed(seed ^ 0x6f74_6865_7273_6870),
        }
    }

    /// The next message at time `now_ms` (as [`WsGenerator::next`]); `channel` may be
    /// `oddsFutures` for a message the underlying generator made on `odds`.
    pub fn next(&mut self, now_ms: u64) -> GeneratedMessage {
        let mut msg = self.inner.next(now_ms);
        while msg.json.len() > MAX_SOURCE_LEN {
            msg = self.inner.next(now_ms);
        }
        // The generator's own output always parses; keep it as is should it ever not.
        let Ok(Value::Object(mut envelope)) = serde_json::from_str::<Value>(&msg.json) else {
            return msg;
        };
        if msg.channel == "odds" && self.rng.u32(0..10) == 0 {
            msg.channel = "oddsFutures";
            envelope.insert("channel".to_owned(), Value::from("oddsFutures"));
            if let Some(Value::Object(payload)) = envelope.get_mut("payload")
                && let Some(id) = payload.remove("fixtureId")
            {
                payload.insert("futureId".to_owned(), id);
            }
        }
        let mut w = Writer {
            out: String::with_capacity(msg.json.len() * 3 / 2),
            rng: &mut self.rng,
            spaced: false,
            ascii: false,
        };
        w.spaced = w.rng.u32(0..5) == 0;
        w.ascii = w.rng.u32(0..4) == 0;
        w.object(envelope, Place::Envelope);
        msg.json = w.out;
        msg
    }
}

/// Where an object sits in a message: decides the extra keys and the number spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Envelope,
    Payload,
    Outcome,
    Other,
}

impl Place {
    /// The place of the object under `key` inside an object at `self`.
    fn child(self, key: &str, value: &Map<String, Value>) -> Place {
        match (self, key) {
            (Place::Envelope, "payload") => Place::Payload,
            _ if value.contains_key("outcomeId") && value.contains_key("price") => Place::Outcome,
            _ => Place::Other,
        }
    }
}

struct Writer<'r> {
    out: String,
    rng: &'r mut Rng,
    /// `", "` and `": "` as separators.
    spaced: bool,
    /// Non-ASCII characters written as `\uXXXX`, and `/` as `\/`.
    ascii: bool,
}

impl Writer<'_> {
    fn chance(&mut self, one_in: u32) -> bool {
        self.rng.u32(0..one_in) == 0
    }

    fn pick<'a>(&mut self, texts: &[&'a str]) -> &'a str {
        texts
            .get(self.rng.usize(0..texts.len()))
            .copied()
            .unwrap_or("")
    }

    fn object(&mut self, mut map: Map<String, Value>, place: Place) {
        self.extras(&mut map, place);
        let mut entries: Vec<(String, Value)> = map.into_iter().collect();
        if place != Place::Other || self.chance(2) {
            self.rng.shuffle(&mut entries);
        }
        self.out.push('{');
        for (i, (key, value)) in entries.into_iter().enumerate() {
            if i > 0 {
                self.separator(',');
            }
            self.string(&key);
            self.separator(':');
            self.value(&key, value, place);
        }
        self.out.push('}');
    }

    fn separator(&mut self, c: char) {
        self.out.push(c);
        if self.spaced {
            self.out.push(' ');
        }
    }

    fn value(&mut self, key: &str, value: Value, place: Place) {
        match value {
            Value::Object(map) => {
                let child = place.child(key, &map);
                self.object(map, child);
            }
            Value::Array(items) => {
                self.out.push('[');
                for (i, item) in items.into_iter().enumerate() {
                    if i > 0 {
                        self.separator(',');
                    }
                    self.value("", item, Place::Other);
                }
                self.out.push(']');
            }
            Value::String(s) => self.string(&s),
            Value::Number(n) => self.number(key, &n, place),
            other => self.out.push_str(&other.to_string()),
        }
    }

    /// The keys an outside producer adds.
    fn extras(&mut self, map: &mut Map<String, Value>, place: Place) {
        match place {
            Place::Envelope => {
                map.insert("v".to_owned(), Value::from(2));
                if self.chance(2) {
                    let node = self.rng.u32(1..40);
                    map.insert(
                        "source".to_owned(),
                        serde_json::json!({"node": format!("edge-{node:02}.eu-west"), "lagMs": self.rng.u32(0..900), "tags": ["live", "delta"]}),
                    );
                }
            }
            Place::Payload => {
                if self.chance(3) {
                    let text = self.pick(&TEXTS);
                    map.insert("competitionName".to_owned(), Value::from(text));
                }
            }
            Place::Outcome => {
                if self.chance(2) {
                    let text = self.pick(&TEXTS);
                    map.insert("selectionName".to_owned(), Value::from(text));
                }
                if self.chance(3) {
                    let line = [-1.5, -0.5, 0.0, 0.5, 2.5];
                    let at = self.rng.usize(0..line.len());
                    map.insert(
                        "handicap".to_owned(),
                        serde_json::json!({"line": line.get(at), "quarter": false}),
                    );
                }
                if self.chance(4) {
                    map.insert(
                        "trading".to_owned(),
                        serde_json::json!({"margin": self.rng.f64() / 10.0, "source": "feed-b", "history": [1.91, 1.95, 2.0]}),
                    );
                }
                if self.chance(30) {
                    // Negative zero, spelled as an integer: the spelling decoders disagree on.
                    map.insert("shift".to_owned(), Value::from(0));
                }
            }
            Place::Other => {}
        }
    }

    fn number(&mut self, key: &str, n: &serde_json::Number, place: Place) {
        let roll = self.rng.u32(0..8);
        let text = match (place, key, n.as_u64(), n.as_f64()) {
            // Ids and times as strings of digits (the lenient readers accept them).
            (
                Place::Outcome,
                "outcomeId" | "marketId" | "playerId" | "changedAt" | "bookmakerChangedAt",
                Some(u),
                _,
            )
            | (Place::Payload, "startTime", Some(u), _)
                if roll < 3 =>
            {
                format!("\"{u}\"")
            }
            (Place::Outcome, "priceAmerican", _, _) if roll < 3 => {
                let i = n.as_i64().unwrap_or(0);
                format!("\"{i:+}\"")
            }
            (Place::Outcome, "shift", _, _) => if roll < 4 { "-0" } else { "-0.0" }.to_owned(),
            (Place::Outcome, "price" | "limit", _, Some(f))
            | (_, "margin" | "line", _, Some(f)) => spell_float(f, roll, self.rng),
            _ => n.to_string(),
        };
        self.out.push_str(&text);
    }

    fn string(&mut self, s: &str) {
        self.out.push('"');
        for c in s.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                '\n' => self.out.push_str("\\n"),
                '\t' => self.out.push_str("\\t"),
                '/' if self.ascii => self.out.push_str("\\/"),
                c if (c as u32) < 0x20 => self.out.push_str(&format!("\\u{:04x}", c as u32)),
                c if self.ascii && !c.is_ascii() => {
                    let mut units = [0u16; 2];
                    for unit in c.encode_utf16(&mut units) {
                        self.out.push_str(&format!("\\u{unit:04x}"));
                    }
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
    }
}

/// `f` in one of several spellings, chosen by `roll` (0..8).
fn spell_float(f: f64, roll: u32, rng: &mut Rng) -> String {
    match roll {
        0 => format!("{f:e}"),
        1 => format!("{}E-2", (f * 100.0).round()),
        2 => format!("{f:.6}"),
        3 => format!("{}", f * (1.0 + rng.f64() * 1e-9)),
        4 if f.fract() == 0.0 => format!("{f:.1}"),
        _ => format!("{f}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes_and_valid_json() {
        let mut a = OtherGenerator::new(3);
        let mut b = OtherGenerator::new(3);
        let mut total = 0;
        let mut futures = 0;
        for i in 0..2000 {
            let (x, y) = (a.next(1_766_400_000_000 + i), b.next(1_766_400_000_000 + i));
            assert_eq!(x, y);
            let v: Value = serde_json::from_str(&x.json).expect("valid JSON");
            assert_eq!(v["channel"], x.channel);
            assert!(v["ts"].is_u64(), "{}", x.json);
            total += x.json.len();
            futures += usize::from(x.channel == "oddsFutures");
        }
        let mean = total / 2000;
        assert!((1200..1900).contains(&mean), "mean {mean}");
        assert!((100..400).contains(&futures), "{futures}");
    }
}
