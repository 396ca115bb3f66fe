//! Typed views of data payloads, chosen by channel (docs/PROTOCOL.md B.7).
//!
//! The views are best effort: they read the fields the protocol names and ignore the rest
//! (the message's `raw` text keeps everything). Numeric ids are accepted as numbers or as
//! strings. When a payload does not fit its view, the message is still delivered, with
//! [`Payload::Other`] holding the JSON and
//! [`DataMessage::typed_error`](super::DataMessage::typed_error) saying why.

use std::fmt;
use std::ops::Deref;
use std::sync::OnceLock;

use serde::de::DeserializeSeed;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::small_str::SmallStr;
use super::vec_map::VecMap;
use crate::lenient;

/// A data message's payload, typed by its channel.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Payload {
    /// Channel `odds`.
    Odds(OddsPayload),
    /// Channel `fixtures` (boxed: the view is large).
    Fixtures(Box<FixturePayload>),
    /// Channels `bookmakers` and `bookmakersFutures`.
    Bookmakers(BookmakersPayload),
    /// Channel `scores`.
    Scores(ScoresPayload),
    /// Channel `clocks` (boxed: the view is large).
    Clocks(Box<ClocksPayload>),
    /// Any other channel, or a payload that did not fit its typed view: the JSON, as an
    /// [`UntypedPayload`] (a [`Value`], built when first looked at).
    Other(UntypedPayload),
    /// Not decoded: the message was read in [`PayloadMode::Envelope`](super::PayloadMode),
    /// which reads only the envelope's fields. The payload is in the message's `raw` text.
    ///
    /// The envelope reader also notes the payload's ids ([`PayloadIds`]), which a front end
    /// may route by; `None` when it did not read them (the message took the typed path and
    /// its payload was dropped, or the payload is not an object with each id at most once).
    Unparsed(Option<PayloadIds>),
}

/// The ids of a payload left [`Payload::Unparsed`], as the envelope reader found them: each is
/// the payload's value under that key when it is a JSON string (unescaped), else `None`
/// (absent, `null`, a number, an object...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PayloadIds {
    /// `payload.fixtureId`, when it is a string.
    pub fixture_id: Option<SmallStr>,
    /// `payload.futureId`, when it is a string (futures channels).
    pub future_id: Option<SmallStr>,
}

impl Payload {
    /// Whether this is the untyped fallback.
    pub fn is_other(&self) -> bool {
        matches!(self, Self::Other(_))
    }

    /// Whether the payload was left undecoded ([`PayloadMode::Envelope`](super::PayloadMode)).
    pub fn is_unparsed(&self) -> bool {
        matches!(self, Self::Unparsed(_))
    }
}

/// The JSON of a [`Payload::Other`]: a [`serde_json::Value`], equal to what serde_json reads
/// from the payload's text.
///
/// The fast path keeps an untyped object or array payload as its text and parses it into a
/// [`Value`] the first time it is looked at ([`value`](Self::value), `Deref`, `==`, `Debug`),
/// once: building a `Value` (a map and an owned string per key) costs several times the rest
/// of the decode, and many consumers (a CLI printing `raw`, the live book, the relay) never
/// look. Either way the value is the same.
///
/// ```
/// use oddsfeed_model::ws::{Payload, UntypedPayload};
/// use serde_json::json;
/// let payload = UntypedPayload::from(json!({"a": [1, 2]}));
/// assert_eq!(payload["a"][1], 2);
/// assert_eq!(Payload::Other(payload.clone()), Payload::Other(json!({"a": [1, 2]}).into()));
/// assert_eq!(payload.into_value(), json!({"a": [1, 2]}));
/// ```
#[derive(Clone)]
pub struct UntypedPayload {
    /// The payload's JSON text when it has not been parsed yet (`value` empty).
    text: Option<Box<str>>,
    value: OnceLock<Value>,
}

impl UntypedPayload {
    /// A payload kept as its JSON text, which serde_json must read as one document (the fast
    /// path passes a slice of a document it has checked).
    pub(crate) fn from_text(text: &str) -> Self {
        Self {
            text: Some(text.into()),
            value: OnceLock::new(),
        }
    }

    /// The JSON value (parsed on the first call, when it was kept as text).
    pub fn value(&self) -> &Value {
        self.value.get_or_init(|| parse_kept(self.text.as_deref()))
    }

    /// Whether the value is still kept as text (not parsed yet).
    #[cfg(test)]
    pub(crate) fn is_unparsed_text(&self) -> bool {
        self.value.get().is_none()
    }

    /// The JSON value, owned.
    pub fn into_value(self) -> Value {
        match self.value.into_inner() {
            Some(value) => value,
            None => parse_kept(self.text.as_deref()),
        }
    }
}

/// Parses kept text. The text is a payload the fast path took from a document simd-json
/// accepted, with only finite numbers, and the fast path's results equal serde_json's on every
/// document (the crate's tests check it), so serde_json reads it; `null` stands for the
/// impossible failure rather than a panic.
fn parse_kept(text: Option<&str>) -> Value {
    text.and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or(Value::Null)
}

impl From<Value> for UntypedPayload {
    fn from(value: Value) -> Self {
        Self {
            text: None,
            value: OnceLock::from(value),
        }
    }
}

impl From<UntypedPayload> for Value {
    fn from(payload: UntypedPayload) -> Self {
        payload.into_value()
    }
}

impl Deref for UntypedPayload {
    type Target = Value;

    /// [`value`](UntypedPayload::value).
    fn deref(&self) -> &Value {
        self.value()
    }
}

impl AsRef<Value> for UntypedPayload {
    fn as_ref(&self) -> &Value {
        self.value()
    }
}

impl PartialEq for UntypedPayload {
    fn eq(&self, other: &Self) -> bool {
        self.value() == other.value()
    }
}

impl PartialEq<Value> for UntypedPayload {
    fn eq(&self, other: &Value) -> bool {
        self.value() == other
    }
}

impl fmt::Debug for UntypedPayload {
    /// The value's `Debug`, as if this were the [`Value`] itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.value(), f)
    }
}

/// The `odds` payload: latest prices per bookmaker and outcome (`odds.<bookmaker>.<oddsId>`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OddsPayload {
    /// `fixtureId`.
    #[serde(deserialize_with = "lenient::id")]
    pub fixture_id: String,
    /// `odds`: bookmaker → oddsId (`<fixtureId>:<bookmaker>:<outcomeId>:<playerId>`) →
    /// outcome. Empty when absent.
    #[serde(default)]
    pub odds: VecMap<VecMap<Outcome>>,
}

impl OddsPayload {
    /// Every outcome with its oddsId, bookmaker by bookmaker.
    pub fn outcomes(&self) -> impl Iterator<Item = (&str, &Outcome)> {
        self.odds.values().flat_map(|by_id| by_id.iter())
    }
}

/// One priced outcome of an `odds` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    /// `bookmaker`.
    pub bookmaker: SmallStr,
    /// `outcomeId`.
    #[serde(deserialize_with = "lenient::unsigned")]
    pub outcome_id: u64,
    /// `playerId`; 0 = no player (also when absent).
    #[serde(default, deserialize_with = "lenient::unsigned")]
    pub player_id: u64,
    /// `marketId`.
    #[serde(deserialize_with = "lenient::unsigned")]
    pub market_id: u64,
    /// `price`, decimal odds.
    pub price: f64,
    /// `priceFractional`, e.g. `"5/2"`.
    #[serde(default)]
    pub price_fractional: Option<SmallStr>,
    /// `priceAmerican`, e.g. `150` or `-200`.
    #[serde(default, deserialize_with = "lenient::opt_signed")]
    pub price_american: Option<i64>,
    /// `active`: whether the outcome can be bet on.
    pub active: bool,
    /// `changedAt`, milliseconds since the Unix epoch.
    #[serde(default, deserialize_with = "lenient::opt_unsigned")]
    pub changed_at: Option<u64>,
    /// `marketActive`.
    #[serde(default)]
    pub market_active: Option<bool>,
    /// `mainLine`.
    #[serde(default)]
    pub main_line: Option<bool>,
    /// `limit`: the bookmaker's stake limit.
    #[serde(default)]
    pub limit: Option<f64>,
    /// `betslip`: bookmaker-specific, kept as JSON.
    #[serde(default)]
    pub betslip: Option<Value>,
    /// `meta`: bookmaker-specific, kept as JSON.
    #[serde(default)]
    pub meta: Option<Value>,
    /// `bookmakerMarketId`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub bookmaker_market_id: Option<SmallStr>,
    /// `bookmakerOutcomeId`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub bookmaker_outcome_id: Option<SmallStr>,
    /// `bookmakerChangedAt`, milliseconds since the Unix epoch.
    #[serde(default, deserialize_with = "lenient::opt_unsigned")]
    pub bookmaker_changed_at: Option<u64>,
}

/// The `fixtures` payload. Nested objects whose shape the vendor does not pin down are
/// kept as JSON.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixturePayload {
    /// `fixtureId`.
    #[serde(deserialize_with = "lenient::id")]
    pub fixture_id: String,
    /// `status`.
    #[serde(default)]
    pub status: Option<FixtureStatus>,
    /// `sport`, as JSON.
    #[serde(default)]
    pub sport: Option<Value>,
    /// `tournament`, as JSON.
    #[serde(default)]
    pub tournament: Option<Value>,
    /// `season`, as JSON.
    #[serde(default)]
    pub season: Option<Value>,
    /// `venue`, as JSON.
    #[serde(default)]
    pub venue: Option<Value>,
    /// `participants`, as JSON.
    #[serde(default)]
    pub participants: Option<Value>,
    /// `startTime`, **seconds** since the Unix epoch.
    #[serde(default, deserialize_with = "lenient::opt_unsigned")]
    pub start_time: Option<u64>,
    /// `trueStartTime`, ISO 8601 text.
    #[serde(default)]
    pub true_start_time: Option<String>,
    /// `trueEndTime`, ISO 8601 text.
    #[serde(default)]
    pub true_end_time: Option<String>,
    /// `scores`, as JSON.
    #[serde(default)]
    pub scores: Option<Value>,
    /// `clock`, as JSON.
    #[serde(default)]
    pub clock: Option<Value>,
}

/// A fixture's `status`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FixtureStatus {
    /// `live`.
    #[serde(default)]
    pub live: Option<bool>,
    /// `statusId`.
    #[serde(default, deserialize_with = "lenient::opt_signed")]
    pub status_id: Option<i64>,
    /// `statusName`.
    #[serde(default)]
    pub status_name: Option<String>,
}

/// The `bookmakers` (and `bookmakersFutures`) payload: per-bookmaker health.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookmakersPayload {
    /// `fixtureId` (channel `bookmakers`).
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub fixture_id: Option<String>,
    /// `futureId` (channel `bookmakersFutures`).
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub future_id: Option<String>,
    /// `bookmakers`: bookmaker → state. Empty when absent.
    #[serde(default)]
    pub bookmakers: VecMap<BookmakerState>,
}

/// One bookmaker's state in a `bookmakers` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookmakerState {
    /// `bookmaker`.
    #[serde(default)]
    pub bookmaker: Option<String>,
    /// `hasOdds`.
    #[serde(default)]
    pub has_odds: Option<bool>,
    /// `staleOdds`: `true` → pause automated betting on this bookmaker.
    #[serde(default)]
    pub stale_odds: Option<bool>,
    /// `suspended`.
    #[serde(default)]
    pub suspended: Option<bool>,
    /// `updatedAt`, as JSON (milliseconds or ISO text, depending on the source).
    #[serde(default)]
    pub updated_at: Option<Value>,
}

/// The `scores` payload: score per period.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScoresPayload {
    /// `fixtureId`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub fixture_id: Option<String>,
    /// `scores`: period name → score. Empty when absent.
    #[serde(default)]
    pub scores: VecMap<PeriodScore>,
}

/// One period's score.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeriodScore {
    /// `period`.
    #[serde(default)]
    pub period: Option<String>,
    /// `participant1Score`.
    #[serde(default, deserialize_with = "lenient::opt_signed")]
    pub participant1_score: Option<i64>,
    /// `participant2Score`.
    #[serde(default, deserialize_with = "lenient::opt_signed")]
    pub participant2_score: Option<i64>,
    /// `updatedAt`, ISO 8601 text.
    #[serde(default)]
    pub updated_at: Option<String>,
}

/// The `clocks` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClocksPayload {
    /// `fixtureId`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub fixture_id: Option<String>,
    /// `clock`.
    #[serde(default)]
    pub clock: Option<ClockState>,
}

/// A match clock. Every field is nullable; the time fields are kept as JSON because
/// sources differ on their units.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClockState {
    /// `currentPeriod`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub current_period: Option<String>,
    /// `currentTime`, as JSON.
    #[serde(default)]
    pub current_time: Option<Value>,
    /// `remainingTime`, as JSON.
    #[serde(default)]
    pub remaining_time: Option<Value>,
    /// `remainingTimeInPeriod`, as JSON.
    #[serde(default)]
    pub remaining_time_in_period: Option<Value>,
    /// `stopped`.
    #[serde(default)]
    pub stopped: Option<bool>,
}

/// Deserialises the payload of `channel` straight into its typed view.
///
/// Fails if the payload does not fit the view; callers then fall back to
/// [`payload_from_value`], which never fails.
pub(crate) struct PayloadSeed<'a>(pub(crate) &'a str);

impl<'de> DeserializeSeed<'de> for PayloadSeed<'_> {
    type Value = Payload;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Payload, D::Error> {
        match self.0 {
            "odds" => OddsPayload::deserialize(d).map(Payload::Odds),
            "fixtures" => FixturePayload::deserialize(d).map(|p| Payload::Fixtures(Box::new(p))),
            "bookmakers" | "bookmakersFutures" => {
                BookmakersPayload::deserialize(d).map(Payload::Bookmakers)
            }
            "scores" => ScoresPayload::deserialize(d).map(Payload::Scores),
            "clocks" => ClocksPayload::deserialize(d).map(|p| Payload::Clocks(Box::new(p))),
            _ => Value::deserialize(d).map(|v| Payload::Other(v.into())),
        }
    }
}

/// Types an already parsed payload. Never fails: a payload that does not fit its view
/// becomes [`Payload::Other`] and the second element says why.
pub(crate) fn payload_from_value(channel: &str, value: Value) -> (Payload, Option<String>) {
    match PayloadSeed(channel).deserialize(&value) {
        Ok(payload) => (payload, None),
        Err(err) => (
            Payload::Other(value.into()),
            Some(format!("{channel} payload: {err}")),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn odds_payload_nesting() {
        let payload = json!({
            "fixtureId": "id1000000861624412",
            "odds": {"pinnacle": {"id1000000861624412:pinnacle:101:0": {
                "bookmaker": "pinnacle", "outcomeId": 101, "playerId": 0, "marketId": "101",
                "price": 2.2, "priceFractional": "6/5", "priceAmerican": 120, "active": true,
                "changedAt": 1766939805321u64, "marketActive": true, "mainLine": null,
                "limit": 1000, "betslip": null, "meta": {"x": 1},
                "bookmakerMarketId": 55, "bookmakerOutcomeId": "home",
                "bookmakerChangedAt": "1766939805000", "extra": "ignored"
            }}}
        });
        let (typed, err) = payload_from_value("odds", payload);
        assert_eq!(err, None);
        let Payload::Odds(odds) = typed else {
            panic!("expected odds, got {typed:?}")
        };
        assert_eq!(odds.fixture_id, "id1000000861624412");
        let all: Vec<_> = odds.outcomes().collect();
        assert_eq!(all.len(), 1);
        let (id, o) = all[0];
        assert_eq!(id, "id1000000861624412:pinnacle:101:0");
        assert_eq!(
            o,
            &Outcome {
                bookmaker: "pinnacle".into(),
                outcome_id: 101,
                player_id: 0,
                market_id: 101,
                price: 2.2,
                price_fractional: Some("6/5".into()),
                price_american: Some(120),
                active: true,
                changed_at: Some(1_766_939_805_321),
                market_active: Some(true),
                main_line: None,
                limit: Some(1000.0),
                betslip: None,
                meta: Some(json!({"x": 1})),
                bookmaker_market_id: Some("55".into()),
                bookmaker_outcome_id: Some("home".into()),
                bookmaker_changed_at: Some(1_766_939_805_000),
            }
        );
    }

    #[test]
    fn scores_clocks_bookmakers_fixtures() {
        let (p, e) = payload_from_value(
            "scores",
            json!({"fixtureId":"id1500025662664057","scores":{"result":{"period":"result","participant1Score":2,"participant2Score":1,"updatedAt":"2025-12-28T16:24:11.426852+00:00"}}}),
        );
        assert_eq!(e, None);
        let Payload::Scores(s) = p else {
            panic!("{p:?}")
        };
        let result = &s.scores["result"];
        assert_eq!(result.participant1_score, Some(2));
        assert_eq!(result.participant2_score, Some(1));
        assert_eq!(result.period.as_deref(), Some("result"));

        let (p, e) = payload_from_value(
            "clocks",
            json!({"fixtureId":"f","clock":{"currentPeriod":"2H","currentTime":3120,"remainingTime":null,"remainingTimeInPeriod":null,"stopped":false}}),
        );
        assert_eq!(e, None);
        let Payload::Clocks(c) = p else {
            panic!("{p:?}")
        };
        let clock = c.clock.unwrap();
        assert_eq!(clock.current_period.as_deref(), Some("2H"));
        assert_eq!(clock.current_time, Some(json!(3120)));
        assert_eq!(clock.remaining_time, None);
        assert_eq!(clock.stopped, Some(false));

        let (p, e) = payload_from_value(
            "bookmakersFutures",
            json!({"futureId":"fut1","bookmakers":{"stake":{"bookmaker":"stake","hasOdds":true,"staleOdds":true,"suspended":false,"updatedAt":1}}}),
        );
        assert_eq!(e, None);
        let Payload::Bookmakers(b) = p else {
            panic!("{p:?}")
        };
        assert_eq!(b.future_id.as_deref(), Some("fut1"));
        assert_eq!(b.bookmakers["stake"].stale_odds, Some(true));

        let (p, e) = payload_from_value(
            "fixtures",
            json!({"fixtureId":"f2","status":{"live":true,"statusId":1,"statusName":"Live"},"startTime":1766939000,"sport":{"sportId":10}}),
        );
        assert_eq!(e, None);
        let Payload::Fixtures(f) = p else {
            panic!("{p:?}")
        };
        assert_eq!(f.start_time, Some(1_766_939_000));
        assert_eq!(
            f.status.and_then(|s| s.status_name).as_deref(),
            Some("Live")
        );
        assert_eq!(f.sport, Some(json!({"sportId": 10})));
    }

    #[test]
    fn mismatch_falls_back_to_other_with_reason() {
        let bad = json!({"fixtureId": "f", "odds": {"bk": {"x": {"price": "high"}}}});
        let (p, e) = payload_from_value("odds", bad.clone());
        assert_eq!(p, Payload::Other(bad.into()));
        let reason = e.unwrap();
        assert!(reason.starts_with("odds payload: "), "{reason}");
    }

    #[test]
    fn unknown_channels_stay_json() {
        let v = json!({"anything": [1, 2]});
        assert_eq!(
            payload_from_value("futures", v.clone()),
            (Payload::Other(v.into()), None)
        );
    }
}
