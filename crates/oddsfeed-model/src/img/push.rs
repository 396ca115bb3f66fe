//! Pushes (docs/PROTOCOL.md A.3, A.5).

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::time::{self, ImgTime};
use crate::{fields, lenient};

/// A push's `type`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PushKind {
    /// `sport`.
    Sport,
    /// `competition`.
    Competition,
    /// `event`.
    Event,
    /// `market_type`.
    MarketType,
    /// `market`.
    Market,
    /// `market_update`.
    MarketUpdate,
    /// `remove_markets`.
    RemoveMarkets,
    /// `heartbeat`.
    Heartbeat,
    /// `settlement`.
    Settlement,
    /// Any other type, as sent.
    Other(String),
}

impl PushKind {
    /// Maps the wire name; never fails.
    pub fn from_wire(text: &str) -> Self {
        match text {
            "sport" => Self::Sport,
            "competition" => Self::Competition,
            "event" => Self::Event,
            "market_type" => Self::MarketType,
            "market" => Self::Market,
            "market_update" => Self::MarketUpdate,
            "remove_markets" => Self::RemoveMarkets,
            "heartbeat" => Self::Heartbeat,
            "settlement" => Self::Settlement,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Sport => "sport",
            Self::Competition => "competition",
            Self::Event => "event",
            Self::MarketType => "market_type",
            Self::Market => "market",
            Self::MarketUpdate => "market_update",
            Self::RemoveMarkets => "remove_markets",
            Self::Heartbeat => "heartbeat",
            Self::Settlement => "settlement",
            Self::Other(text) => text,
        }
    }
}

impl fmt::Display for PushKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A push line (`"mode":"push"` with a `type`).
#[derive(Debug, Clone, PartialEq)]
pub struct Push {
    /// `type`.
    pub kind: PushKind,
    /// `publish_time`.
    pub publish_time: Option<ImgTime>,
    /// `is_recovery`: meaning undocumented, passed through.
    pub is_recovery: Option<bool>,
    /// `msg`, typed by `kind`, or [`PushBody::Other`].
    pub body: PushBody,
    /// Why `msg` did not fit its typed view, when it did not. The push is delivered all
    /// the same.
    pub typed_error: Option<String>,
    /// The line as received.
    pub raw: String,
}

impl Push {
    /// Builds a push from a parsed object whose `type` is `kind`; never fails.
    pub(crate) fn from_object(kind: &str, mut map: Map<String, Value>, raw: String) -> Self {
        let kind = PushKind::from_wire(kind);
        let msg = map.remove("msg").unwrap_or(Value::Null);
        let (body, typed_error) = PushBody::from_value(&kind, msg);
        Self {
            publish_time: time::from_field(map.get("publish_time")),
            is_recovery: fields::boolean(&map, "is_recovery"),
            kind,
            body,
            typed_error,
            raw,
        }
    }
}

/// A push's `msg`, typed by the push's `type`. Shapes marked \[C\] in docs/PROTOCOL.md A.5 are
/// provisional, so their fields are optional.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PushBody {
    /// `sport`.
    Sport(Sport),
    /// `competition`.
    Competition(Competition),
    /// `event`.
    Event(Event),
    /// `market_type`.
    MarketType(MarketType),
    /// `market`.
    Market(Market),
    /// `market_update`.
    MarketUpdate(MarketUpdate),
    /// `remove_markets`: the ids of the markets to drop.
    RemoveMarkets(Vec<String>),
    /// `heartbeat`.
    Heartbeat {
        /// `timestamp`: the server's time (informational; liveness runs on arrival time).
        timestamp: Option<ImgTime>,
    },
    /// `settlement`.
    Settlement(Settlement),
    /// An unknown type, or a `msg` that did not fit its typed view.
    Other(Value),
}

impl PushBody {
    /// Types `msg` for `kind`. Never fails: a mismatch gives [`PushBody::Other`] and the
    /// reason.
    fn from_value(kind: &PushKind, msg: Value) -> (Self, Option<String>) {
        fn typed<'a, T: Deserialize<'a>>(msg: &'a Value) -> Result<T, serde_json::Error> {
            T::deserialize(msg)
        }
        let result = match kind {
            PushKind::Sport => typed(&msg).map(Self::Sport),
            PushKind::Competition => typed(&msg).map(Self::Competition),
            PushKind::Event => typed(&msg).map(Self::Event),
            PushKind::MarketType => typed(&msg).map(Self::MarketType),
            PushKind::Market => typed(&msg).map(Self::Market),
            PushKind::MarketUpdate => typed(&msg).map(Self::MarketUpdate),
            PushKind::RemoveMarkets => lenient::id_list(&msg).map(Self::RemoveMarkets),
            PushKind::Heartbeat => typed::<Heartbeat>(&msg).map(|h| Self::Heartbeat {
                timestamp: h.timestamp,
            }),
            PushKind::Settlement => typed(&msg).map(Self::Settlement),
            PushKind::Other(_) => return (Self::Other(msg), None),
        };
        match result {
            Ok(body) => (body, None),
            Err(err) => {
                let reason = format!("{kind} msg: {err}");
                (Self::Other(msg), Some(reason))
            }
        }
    }
}

/// `heartbeat` msg.
#[derive(Deserialize)]
struct Heartbeat {
    #[serde(default)]
    timestamp: Option<ImgTime>,
}

/// `sport` msg: `{"id":"sp.golf","name":"Golf"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Sport {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
}

/// `competition` msg.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Competition {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `sport_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub sport_id: Option<String>,
    /// `arena_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub arena_id: Option<String>,
    /// `start_time` (may be null).
    #[serde(default)]
    pub start_time: Option<ImgTime>,
}

/// An event's `stage`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EventStage {
    /// `pre_play`.
    PrePlay,
    /// `in_play`.
    InPlay,
    /// `ended`.
    Ended,
    /// Any other stage, as sent.
    Other(String),
}

impl EventStage {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::PrePlay => "pre_play",
            Self::InPlay => "in_play",
            Self::Ended => "ended",
            Self::Other(text) => text,
        }
    }
}

impl<'de> Deserialize<'de> for EventStage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StageVisitor;
        impl Visitor<'_> for StageVisitor {
            type Value = EventStage;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an event stage")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<EventStage, E> {
                Ok(match v {
                    "pre_play" => EventStage::PrePlay,
                    "in_play" => EventStage::InPlay,
                    "ended" => EventStage::Ended,
                    other => EventStage::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(StageVisitor)
    }
}

/// `event` msg.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Event {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `competition_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub competition_id: Option<String>,
    /// `start_time`.
    #[serde(default)]
    pub start_time: Option<ImgTime>,
    /// `stage`; `None` when null or absent.
    #[serde(default)]
    pub stage: Option<EventStage>,
    /// `meta`, as JSON.
    #[serde(default)]
    pub meta: Option<Value>,
}

/// `market_type` msg: `{"id":"mt.golf_threeball_hole","name":"3-Ball Hole"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct MarketType {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
}

/// `market` msg (no prices).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Market {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// `event_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub event_id: Option<String>,
    /// `market_type_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub market_type_id: Option<String>,
    /// `selections` (empty when absent).
    #[serde(default)]
    pub selections: Vec<Selection>,
}

/// A selection of a `market`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Selection {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `name`.
    #[serde(default)]
    pub name: Option<String>,
}

/// A `market_update`'s `status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MarketStatus {
    /// `open`.
    Open,
    /// `suspended`.
    Suspended,
    /// `closed`.
    Closed,
    /// Any other status, as sent.
    Other(String),
}

impl MarketStatus {
    /// The wire name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Open => "open",
            Self::Suspended => "suspended",
            Self::Closed => "closed",
            Self::Other(text) => text,
        }
    }
}

impl<'de> Deserialize<'de> for MarketStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct StatusVisitor;
        impl Visitor<'_> for StatusVisitor {
            type Value = MarketStatus;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a market status")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MarketStatus, E> {
                Ok(match v {
                    "open" => MarketStatus::Open,
                    "suspended" => MarketStatus::Suspended,
                    "closed" => MarketStatus::Closed,
                    other => MarketStatus::Other(other.to_owned()),
                })
            }
        }
        d.deserialize_str(StatusVisitor)
    }
}

/// `market_update` msg: a market's status and prices.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct MarketUpdate {
    /// `id` of the market.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `status`.
    #[serde(default)]
    pub status: Option<MarketStatus>,
    /// `selections` with prices (empty when absent).
    #[serde(default)]
    pub selections: Vec<PricedSelection>,
}

/// A selection of a `market_update`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PricedSelection {
    /// `id`.
    #[serde(deserialize_with = "lenient::id")]
    pub id: String,
    /// `price`, decimal odds (`None` when null or absent, e.g. while suspended).
    #[serde(default)]
    pub price: Option<f64>,
}

/// `settlement` msg.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Settlement {
    /// `market_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub market_id: Option<String>,
    /// `selection_id`.
    #[serde(default, deserialize_with = "lenient::opt_id")]
    pub selection_id: Option<String>,
    /// `settlement`: the amounts.
    #[serde(default)]
    pub settlement: Option<SettlementAmounts>,
}

/// The inner object of a `settlement`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SettlementAmounts {
    /// `stake_returned`.
    #[serde(default)]
    pub stake_returned: Option<f64>,
    /// `payout_returned`.
    #[serde(default)]
    pub payout_returned: Option<f64>,
}
