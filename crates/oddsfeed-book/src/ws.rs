//! The WebSocket feed's book ([`WsBook`]).
//!
//! Rules (`docs/CLI.md`, "The live book"), applied in delivery order to data messages of
//! `type` `UPDATE`:
//!
//! | channel | effect on the fixture named by `payload.fixtureId` |
//! |---|---|
//! | `odds` | upserts each outcome under `odds.<bookmaker>.<oddsId>`; outcomes not in the message are kept |
//! | `fixtures` | replaces `fixture` with the payload |
//! | `bookmakers` | upserts each bookmaker's object |
//! | `scores` | upserts each period's object |
//! | `clocks` | replaces `clock` with `payload.clock` |
//!
//! Other channels and other `type`s are not applied. A fixture appears with the first
//! applied message that names it. [`WsBook::snapshot_required`] marks channels stale with
//! the latest reason until [`WsBook::mark_fresh`]; entries are kept and later messages of a
//! stale channel apply as usual.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use oddsfeed_model::ws::{
    BookmakerState, ClockState, DataMessage, FixturePayload, Outcome, Payload, PeriodScore,
    UntypedPayload,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::source::{DumpCache, HashMap, Source, TextPool, id_text};

/// The channels whose stale state makes prices untrustworthy: without `odds` a price may
/// be missing or old, without `bookmakers` a bookmaker's suspension may have been missed.
const PRICE_CHANNELS: [&str; 2] = ["odds", "bookmakers"];

/// The typed facts of one outcome, read from the model's typed view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OutcomeFacts {
    /// `price`, decimal odds.
    pub price: f64,
    /// `active`: whether the outcome can be bet on.
    pub active: bool,
    /// `marketActive`, when sent.
    pub market_active: Option<bool>,
    /// `marketId`.
    pub market_id: u64,
    /// `outcomeId`.
    pub outcome_id: u64,
    /// `playerId` (0: no player).
    pub player_id: u64,
    /// `changedAt`, milliseconds since the Unix epoch, when sent.
    pub changed_at: Option<u64>,
}

impl OutcomeFacts {
    fn of(o: &Outcome) -> Self {
        Self {
            price: o.price,
            active: o.active,
            market_active: o.market_active,
            market_id: o.market_id,
            outcome_id: o.outcome_id,
            player_id: o.player_id,
            changed_at: o.changed_at,
        }
    }

    /// Whether the outcome itself may be bet on (`active` and `marketActive` not false).
    #[must_use]
    pub fn is_live(&self) -> bool {
        self.active && self.market_active != Some(false)
    }
}

/// Why an outcome was reported as changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutcomeWhy {
    /// The outcome was not in the book before.
    New,
    /// The price moved.
    Price,
    /// `active` or `marketActive` changed, the price did not.
    Active,
    /// The price moved and `active` or `marketActive` changed.
    PriceAndActive,
    /// The outcome's object no longer fits the typed view (or fits it again).
    Typed,
}

/// One outcome that changed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeChange {
    /// The fixture.
    pub fixture_id: String,
    /// The bookmaker.
    pub bookmaker: String,
    /// The oddsId.
    pub odds_id: String,
    /// The price before (`None` when new or untyped).
    pub old_price: Option<f64>,
    /// The price now (`None` when untyped).
    pub new_price: Option<f64>,
    /// Whether the outcome can be bet on now (`active` and `marketActive` not false).
    pub live: bool,
    /// Why it is reported.
    pub why: OutcomeWhy,
}

/// What an applied message changed. Outcomes whose price and activity stayed the same are
/// not reported (their other fields are still stored).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WsChange {
    /// An outcome is new, or its price or activity changed.
    Outcome(OutcomeChange),
    /// A bookmaker is new for this fixture, or its `staleOdds` / `suspended` changed.
    Bookmaker {
        /// The fixture.
        fixture_id: String,
        /// The bookmaker.
        bookmaker: String,
        /// `staleOdds` now.
        stale: bool,
        /// `suspended` now.
        suspended: bool,
    },
    /// The fixture's payload was replaced.
    Fixture {
        /// The fixture.
        fixture_id: String,
    },
    /// A period's score was upserted.
    Score {
        /// The fixture.
        fixture_id: String,
        /// The period.
        period: String,
    },
    /// The clock was replaced.
    Clock {
        /// The fixture.
        fixture_id: String,
    },
}

/// Why a market cannot be traded now ([`WsBook::tradable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotTradable {
    /// No applied message named the fixture.
    UnknownFixture,
    /// The fixture has no outcome of that market.
    UnknownMarket,
    /// A channel prices depend on (`odds`, `bookmakers`) needs a snapshot.
    ChannelStale {
        /// The channel.
        channel: String,
        /// The latest `snapshot_required` reason.
        reason: String,
    },
    /// Every outcome of the market says `marketActive: false`.
    MarketInactive,
    /// No outcome of the market is active.
    NoActiveOutcome,
    /// Active outcomes exist, but only at bookmakers that are suspended or have stale odds.
    NoUsableBookmaker,
}

impl fmt::Display for NotTradable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownFixture => f.write_str("unknown fixture"),
            Self::UnknownMarket => f.write_str("no outcome of this market"),
            Self::ChannelStale { channel, reason } => {
                write!(f, "channel {channel} needs a snapshot ({reason})")
            }
            Self::MarketInactive => f.write_str("market inactive"),
            Self::NoActiveOutcome => f.write_str("no active outcome"),
            Self::NoUsableBookmaker => {
                f.write_str("every bookmaker with an active outcome is suspended or stale")
            }
        }
    }
}

/// One outcome, as the book holds it.
#[derive(Debug, Clone, Copy)]
pub struct OutcomeView<'a> {
    /// The bookmaker.
    pub bookmaker: &'a str,
    /// The oddsId.
    pub odds_id: &'a str,
    /// The typed facts; `None` when the outcome's object did not fit the typed view.
    pub facts: Option<OutcomeFacts>,
    /// When the latest message for it was applied.
    pub updated_at: Instant,
}

impl OutcomeView<'_> {
    /// The price, when typed.
    #[must_use]
    pub fn price(&self) -> Option<f64> {
        self.facts.map(|f| f.price)
    }

    /// Time since the latest update, as of `now` (zero if `now` is earlier).
    #[must_use]
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.updated_at)
    }
}

/// The best usable price of an outcome across bookmakers ([`WsBook::best_price`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BestPrice<'a> {
    /// The bookmaker offering it.
    pub bookmaker: &'a str,
    /// Its oddsId there.
    pub odds_id: &'a str,
    /// The price, decimal odds.
    pub price: f64,
    /// When it was applied.
    pub updated_at: Instant,
}

/// A bookmaker's status for one fixture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookmakerStatus {
    /// `staleOdds`: pause automated betting on this bookmaker.
    pub stale: bool,
    /// `suspended`.
    pub suspended: bool,
    /// `hasOdds`, when sent.
    pub has_odds: Option<bool>,
    /// When the latest message for it was applied.
    pub updated_at: Instant,
}

impl BookmakerStatus {
    /// Neither stale nor suspended.
    #[must_use]
    pub fn is_usable(&self) -> bool {
        !self.stale && !self.suspended
    }
}

#[derive(Debug, Clone)]
struct OutcomeSlot {
    bookmaker: Arc<str>,
    odds_id: Box<str>,
    facts: Option<OutcomeFacts>,
    updated_at: Instant,
    source: Source,
}

impl OutcomeSlot {
    fn view(&self) -> OutcomeView<'_> {
        OutcomeView {
            bookmaker: &self.bookmaker,
            odds_id: &self.odds_id,
            facts: self.facts,
            updated_at: self.updated_at,
        }
    }
}

#[derive(Debug, Clone)]
struct BookmakerSlot {
    status: BookmakerStatus,
    source: Source,
}

#[derive(Debug, Clone)]
struct Typed<T> {
    typed: Option<T>,
    source: Source,
}

/// One fixture's part of the book.
#[derive(Debug, Clone, Default)]
struct FixtureBook {
    fixture: Option<Typed<Box<FixturePayload>>>,
    outcomes: Vec<OutcomeSlot>,
    /// bookmaker → oddsId → index into `outcomes`.
    index: HashMap<Box<str>, HashMap<Box<str>, u32>>,
    /// marketId → indices into `outcomes` (typed outcomes only).
    by_market: HashMap<u64, Vec<u32>>,
    bookmakers: HashMap<Box<str>, BookmakerSlot>,
    scores: HashMap<Box<str>, Typed<PeriodScore>>,
    clock: Option<Typed<ClockState>>,
}

/// Where changes go, if anywhere, and where replaced message texts go back to.
struct Sink<'a> {
    fixture_id: &'a str,
    out: Option<&'a mut Vec<WsChange>>,
    pool: &'a mut TextPool,
}

impl Sink<'_> {
    fn wants(&self) -> bool {
        self.out.is_some()
    }

    fn push(&mut self, change: impl FnOnce(String) -> WsChange) {
        if let Some(out) = self.out.as_deref_mut() {
            out.push(change(self.fixture_id.to_owned()));
        }
    }
}

impl FixtureBook {
    fn upsert_outcome(
        &mut self,
        bookmaker: &str,
        odds_id: &str,
        facts: Option<OutcomeFacts>,
        source: Source,
        now: Instant,
        sink: &mut Sink<'_>,
    ) {
        let existing = self
            .index
            .get(bookmaker)
            .and_then(|ids| ids.get(odds_id))
            .copied();
        let Some(i) = existing else {
            self.insert_outcome(bookmaker, odds_id, facts, source, now, sink);
            return;
        };
        let Some(slot) = self.outcomes.get_mut(i as usize) else {
            return;
        };
        let old = slot.facts;
        slot.facts = facts;
        slot.updated_at = now;
        sink.pool
            .retire(std::mem::replace(&mut slot.source, source));
        let old_market = old.map(|f| f.market_id);
        let new_market = facts.map(|f| f.market_id);
        if old_market != new_market {
            if let Some(m) = old_market
                && let Some(list) = self.by_market.get_mut(&m)
            {
                list.retain(|&j| j != i);
            }
            if let Some(m) = new_market {
                self.by_market.entry(m).or_default().push(i);
            }
        }
        if sink.wants() {
            let why = match (old, facts) {
                (Some(o), Some(n)) => {
                    let moved = o.price.to_bits() != n.price.to_bits();
                    let toggled = o.is_live() != n.is_live();
                    match (moved, toggled) {
                        (true, true) => Some(OutcomeWhy::PriceAndActive),
                        (true, false) => Some(OutcomeWhy::Price),
                        (false, true) => Some(OutcomeWhy::Active),
                        (false, false) => None,
                    }
                }
                (None, None) => None,
                _ => Some(OutcomeWhy::Typed),
            };
            if let Some(why) = why {
                sink.push(|fixture_id| {
                    WsChange::Outcome(OutcomeChange {
                        fixture_id,
                        bookmaker: bookmaker.to_owned(),
                        odds_id: odds_id.to_owned(),
                        old_price: old.map(|f| f.price),
                        new_price: facts.map(|f| f.price),
                        live: facts.is_some_and(|f| f.is_live()),
                        why,
                    })
                });
            }
        }
    }

    #[cold]
    fn insert_outcome(
        &mut self,
        bookmaker: &str,
        odds_id: &str,
        facts: Option<OutcomeFacts>,
        source: Source,
        now: Instant,
        sink: &mut Sink<'_>,
    ) {
        let Ok(i) = u32::try_from(self.outcomes.len()) else {
            return;
        };
        let shared = self
            .outcomes
            .iter()
            .rev()
            .find(|s| &*s.bookmaker == bookmaker)
            .map_or_else(|| Arc::from(bookmaker), |s| Arc::clone(&s.bookmaker));
        self.outcomes.push(OutcomeSlot {
            bookmaker: shared,
            odds_id: odds_id.into(),
            facts,
            updated_at: now,
            source,
        });
        self.index
            .entry(bookmaker.into())
            .or_default()
            .insert(odds_id.into(), i);
        if let Some(f) = facts {
            self.by_market.entry(f.market_id).or_default().push(i);
        }
        sink.push(|fixture_id| {
            WsChange::Outcome(OutcomeChange {
                fixture_id,
                bookmaker: bookmaker.to_owned(),
                odds_id: odds_id.to_owned(),
                old_price: None,
                new_price: facts.map(|f| f.price),
                live: facts.is_some_and(|f| f.is_live()),
                why: OutcomeWhy::New,
            })
        });
    }

    fn upsert_bookmaker(
        &mut self,
        bookmaker: &str,
        state: Option<&BookmakerState>,
        source: Source,
        now: Instant,
        sink: &mut Sink<'_>,
    ) {
        let status = BookmakerStatus {
            stale: state.is_some_and(|s| s.stale_odds == Some(true)),
            suspended: state.is_some_and(|s| s.suspended == Some(true)),
            has_odds: state.and_then(|s| s.has_odds),
            updated_at: now,
        };
        let before = match self.bookmakers.get_mut(bookmaker) {
            Some(slot) => {
                let before = slot.status;
                let old = std::mem::replace(slot, BookmakerSlot { status, source });
                sink.pool.retire(old.source);
                Some(before)
            }
            None => {
                self.bookmakers
                    .insert(bookmaker.into(), BookmakerSlot { status, source });
                None
            }
        };
        if before.is_none_or(|b| b.stale != status.stale || b.suspended != status.suspended) {
            sink.push(|fixture_id| WsChange::Bookmaker {
                fixture_id,
                bookmaker: bookmaker.to_owned(),
                stale: status.stale,
                suspended: status.suspended,
            });
        }
    }

    fn usable(&self, bookmaker: &str) -> bool {
        self.bookmakers
            .get(bookmaker)
            .is_none_or(|b| b.status.is_usable())
    }

    fn market(&self, market_id: u64) -> impl Iterator<Item = &OutcomeSlot> {
        self.by_market
            .get(&market_id)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.outcomes.get(i as usize))
    }

    fn dump(&self, cache: &mut DumpCache) -> Value {
        let fixture = self
            .fixture
            .as_ref()
            .map_or(Value::Null, |f| cache.object(&f.source, &[]));
        let mut odds: BTreeMap<&str, Map<String, Value>> = BTreeMap::new();
        for slot in &self.outcomes {
            let object = cache.object(&slot.source, &["odds", &slot.bookmaker, &slot.odds_id]);
            odds.entry(&slot.bookmaker)
                .or_default()
                .insert(slot.odds_id.to_string(), object);
        }
        let odds: Map<String, Value> = odds
            .into_iter()
            .map(|(bk, ids)| (bk.to_owned(), Value::Object(ids)))
            .collect();
        let bookmakers: Map<String, Value> = sorted(&self.bookmakers)
            .map(|(bk, slot)| {
                (
                    bk.to_owned(),
                    cache.object(&slot.source, &["bookmakers", bk]),
                )
            })
            .collect();
        let scores: Map<String, Value> = sorted(&self.scores)
            .map(|(p, slot)| (p.to_owned(), cache.object(&slot.source, &["scores", p])))
            .collect();
        let clock = self
            .clock
            .as_ref()
            .map_or(Value::Null, |c| cache.object(&c.source, &["clock"]));
        json!({
            "fixture": fixture,
            "odds": odds,
            "bookmakers": bookmakers,
            "scores": scores,
            "clock": clock,
        })
    }
}

/// A map's entries in key order, for stable dumps.
fn sorted<V>(map: &HashMap<Box<str>, V>) -> impl Iterator<Item = (&str, &V)> {
    let mut entries: Vec<(&str, &V)> = map.iter().map(|(k, v)| (&**k, v)).collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    entries.into_iter()
}

/// The live book of the WebSocket feed. See the [module docs](self) for the rules.
#[derive(Debug, Clone, Default)]
pub struct WsBook {
    fixtures: HashMap<String, FixtureBook>,
    stale: BTreeMap<String, String>,
    /// Buffers of message texts no entry refers to any more, reused for the next ones.
    pool: TextPool,
}

impl WsBook {
    /// An empty book.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a data message that arrived at `now`, without reporting changes.
    pub fn apply(&mut self, msg: &DataMessage, now: Instant) {
        self.apply_to(msg, now, None);
    }

    /// Applies a data message that arrived at `now` and appends what changed to `changes`
    /// (in the order of the message's objects).
    pub fn apply_with_changes(
        &mut self,
        msg: &DataMessage,
        now: Instant,
        changes: &mut Vec<WsChange>,
    ) {
        self.apply_to(msg, now, Some(changes));
    }

    fn apply_to(&mut self, msg: &DataMessage, now: Instant, out: Option<&mut Vec<WsChange>>) {
        if msg.kind != "UPDATE" {
            return;
        }
        match (msg.channel.as_str(), &msg.payload) {
            ("odds", Payload::Odds(p)) => {
                let Some((fixture, mut sink)) = self.fixture_mut(&p.fixture_id, out) else {
                    return;
                };
                let mut shared: Option<Arc<String>> = None;
                for (bookmaker, by_id) in p.odds.iter() {
                    for (odds_id, outcome) in by_id.iter() {
                        let text = shared.get_or_insert_with(|| sink.pool.text(&msg.raw));
                        fixture.upsert_outcome(
                            bookmaker,
                            odds_id,
                            Some(OutcomeFacts::of(outcome)),
                            Source::Message(Arc::clone(text)),
                            now,
                            &mut sink,
                        );
                    }
                }
            }
            ("fixtures", Payload::Fixtures(p)) => {
                let Some((fixture, mut sink)) = self.fixture_mut(&p.fixture_id, out) else {
                    return;
                };
                let new = Typed {
                    typed: Some(p.clone()),
                    source: Source::Message(sink.pool.text(&msg.raw)),
                };
                if let Some(old) = fixture.fixture.replace(new) {
                    sink.pool.retire(old.source);
                }
                sink.push(|fixture_id| WsChange::Fixture { fixture_id });
            }
            ("bookmakers", Payload::Bookmakers(p)) => {
                let Some(id) = &p.fixture_id else { return };
                let Some((fixture, mut sink)) = self.fixture_mut(id, out) else {
                    return;
                };
                let text = sink.pool.text(&msg.raw);
                for (bookmaker, state) in p.bookmakers.iter() {
                    let source = Source::Message(Arc::clone(&text));
                    fixture.upsert_bookmaker(bookmaker, Some(state), source, now, &mut sink);
                }
            }
            ("scores", Payload::Scores(p)) => {
                let Some(id) = &p.fixture_id else { return };
                let Some((fixture, mut sink)) = self.fixture_mut(id, out) else {
                    return;
                };
                let text = sink.pool.text(&msg.raw);
                for (period, score) in p.scores.iter() {
                    let slot = Typed {
                        typed: Some(score.clone()),
                        source: Source::Message(Arc::clone(&text)),
                    };
                    // Look up first: a known period must not allocate its key.
                    let old = match fixture.scores.get_mut(period) {
                        Some(existing) => Some(std::mem::replace(existing, slot)),
                        None => fixture.scores.insert(period.into(), slot),
                    };
                    if let Some(old) = old {
                        sink.pool.retire(old.source);
                    }
                    sink.push(|fixture_id| WsChange::Score {
                        fixture_id,
                        period: period.to_owned(),
                    });
                }
            }
            ("clocks", Payload::Clocks(p)) => {
                let Some(id) = &p.fixture_id else { return };
                let Some((fixture, mut sink)) = self.fixture_mut(id, out) else {
                    return;
                };
                let new = Typed {
                    typed: p.clock.clone(),
                    source: Source::Message(sink.pool.text(&msg.raw)),
                };
                if let Some(old) = fixture.clock.replace(new) {
                    sink.pool.retire(old.source);
                }
                sink.push(|fixture_id| WsChange::Clock { fixture_id });
            }
            (channel, Payload::Other(payload)) => self.apply_json(channel, payload, now, out),
            _ => {}
        }
    }

    /// The same rules on a payload that did not fit its typed view: objects are kept as
    /// JSON, and typed one by one where they fit. Other channels' payloads are not looked at
    /// (so not parsed, when the decoder kept them as text).
    #[cold]
    fn apply_json(
        &mut self,
        channel: &str,
        payload: &UntypedPayload,
        now: Instant,
        out: Option<&mut Vec<WsChange>>,
    ) {
        if !matches!(
            channel,
            "odds" | "fixtures" | "bookmakers" | "scores" | "clocks"
        ) {
            return;
        }
        let payload = payload.value();
        let Some(id) = id_text(payload.get("fixtureId")) else {
            return;
        };
        let Some((fixture, mut sink)) = self.fixture_mut(&id, out) else {
            return;
        };
        let objects = |key: &str| {
            payload
                .get(key)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
        };
        match channel {
            "odds" => {
                for (bookmaker, by_id) in objects("odds") {
                    let Some(by_id) = by_id.as_object() else {
                        continue;
                    };
                    for (odds_id, object) in by_id {
                        let facts = Outcome::deserialize(object)
                            .ok()
                            .map(|o| OutcomeFacts::of(&o));
                        let source = Source::Value(object.clone());
                        fixture.upsert_outcome(bookmaker, odds_id, facts, source, now, &mut sink);
                    }
                }
            }
            "fixtures" => {
                fixture.fixture = Some(Typed {
                    typed: None,
                    source: Source::Value(payload.clone()),
                });
                sink.push(|fixture_id| WsChange::Fixture { fixture_id });
            }
            "bookmakers" => {
                for (bookmaker, object) in objects("bookmakers") {
                    let state = BookmakerState::deserialize(object).ok();
                    let source = Source::Value(object.clone());
                    fixture.upsert_bookmaker(bookmaker, state.as_ref(), source, now, &mut sink);
                }
            }
            "scores" => {
                for (period, object) in objects("scores") {
                    let slot = Typed {
                        typed: PeriodScore::deserialize(object).ok(),
                        source: Source::Value(object.clone()),
                    };
                    fixture.scores.insert(period.as_str().into(), slot);
                    sink.push(|fixture_id| WsChange::Score {
                        fixture_id,
                        period: period.clone(),
                    });
                }
            }
            _ => {
                let clock = payload.get("clock").cloned().unwrap_or(Value::Null);
                fixture.clock = Some(Typed {
                    typed: ClockState::deserialize(&clock).ok(),
                    source: Source::Value(clock),
                });
                sink.push(|fixture_id| WsChange::Clock { fixture_id });
            }
        }
    }

    /// The fixture's book, created empty when new, and the change sink for it. `None`
    /// cannot happen (the entry exists after the insert).
    fn fixture_mut<'a>(
        &'a mut self,
        id: &'a str,
        out: Option<&'a mut Vec<WsChange>>,
    ) -> Option<(&'a mut FixtureBook, Sink<'a>)> {
        // Look up first: the common case (a known fixture) must not allocate the key.
        if !self.fixtures.contains_key(id) {
            self.fixtures.insert(id.to_owned(), FixtureBook::default());
        }
        let fixture = self.fixtures.get_mut(id)?;
        Some((
            fixture,
            Sink {
                fixture_id: id,
                out,
                pool: &mut self.pool,
            },
        ))
    }

    /// Records a `snapshot_required` (server- or client-raised): each channel is stale with
    /// this reason (the latest reason wins) until [`mark_fresh`](Self::mark_fresh).
    pub fn snapshot_required<I, S>(&mut self, reason: &str, channels: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for channel in channels {
            self.stale
                .insert(channel.as_ref().to_owned(), reason.to_owned());
        }
    }

    /// Marks a channel fresh again (the application reloaded it by REST). Returns whether
    /// it was stale.
    pub fn mark_fresh(&mut self, channel: &str) -> bool {
        self.stale.remove(channel).is_some()
    }

    /// The latest `snapshot_required` reason of a stale channel; `None` when fresh.
    #[must_use]
    pub fn stale_reason(&self, channel: &str) -> Option<&str> {
        self.stale.get(channel).map(String::as_str)
    }

    /// Every stale channel with its reason, in channel order.
    pub fn stale_channels(&self) -> impl Iterator<Item = (&str, &str)> {
        self.stale.iter().map(|(c, r)| (c.as_str(), r.as_str()))
    }

    /// The number of fixtures in the book.
    #[must_use]
    pub fn fixture_count(&self) -> usize {
        self.fixtures.len()
    }

    /// The ids of the fixtures in the book (in no particular order).
    pub fn fixture_ids(&self) -> impl Iterator<Item = &str> {
        self.fixtures.keys().map(String::as_str)
    }

    /// The number of outcomes in the book, over all fixtures and bookmakers.
    #[must_use]
    pub fn outcome_count(&self) -> usize {
        self.fixtures.values().map(|f| f.outcomes.len()).sum()
    }

    /// One outcome's price and facts (O(1)).
    #[must_use]
    pub fn outcome(
        &self,
        fixture_id: &str,
        bookmaker: &str,
        odds_id: &str,
    ) -> Option<OutcomeView<'_>> {
        let fixture = self.fixtures.get(fixture_id)?;
        let i = *fixture.index.get(bookmaker)?.get(odds_id)?;
        fixture.outcomes.get(i as usize).map(OutcomeSlot::view)
    }

    /// Every outcome of a fixture's market, at every bookmaker (O(outcomes of the market)).
    /// Outcomes whose object did not fit the typed view are not listed (their market is
    /// unknown).
    pub fn market(
        &self,
        fixture_id: &str,
        market_id: u64,
    ) -> impl Iterator<Item = OutcomeView<'_>> {
        self.fixtures
            .get(fixture_id)
            .into_iter()
            .flat_map(move |f| f.market(market_id).map(OutcomeSlot::view))
    }

    /// The highest price for an outcome (`marketId`, `outcomeId`, `playerId`) across
    /// bookmakers, skipping inactive outcomes (`active` false or `marketActive` false),
    /// bookmakers that are suspended or have stale odds, and everything while the `odds` or
    /// `bookmakers` channel is stale (O(outcomes of the market)). Ties go to the bookmaker
    /// whose price was applied first.
    #[must_use]
    pub fn best_price(
        &self,
        fixture_id: &str,
        market_id: u64,
        outcome_id: u64,
        player_id: u64,
    ) -> Option<BestPrice<'_>> {
        if self.stale_price_channel().is_some() {
            return None;
        }
        let fixture = self.fixtures.get(fixture_id)?;
        let mut best: Option<BestPrice<'_>> = None;
        for slot in fixture.market(market_id) {
            let Some(facts) = slot.facts else { continue };
            if facts.outcome_id != outcome_id
                || facts.player_id != player_id
                || !facts.is_live()
                || !facts.price.is_finite()
                || !fixture.usable(&slot.bookmaker)
            {
                continue;
            }
            if best.is_none_or(|b| facts.price > b.price) {
                best = Some(BestPrice {
                    bookmaker: &slot.bookmaker,
                    odds_id: &slot.odds_id,
                    price: facts.price,
                    updated_at: slot.updated_at,
                });
            }
        }
        best
    }

    /// Whether a fixture's market can be traded now, and if not why (O(outcomes of the
    /// market)). Tradable means: the `odds` and `bookmakers` channels are fresh, and at
    /// least one outcome of the market is active, with `marketActive` not false, at a
    /// bookmaker that is neither suspended nor stale.
    ///
    /// # Errors
    /// The first reason that applies, in the order of [`NotTradable`]'s variants.
    pub fn tradable(&self, fixture_id: &str, market_id: u64) -> Result<(), NotTradable> {
        let fixture = self
            .fixtures
            .get(fixture_id)
            .ok_or(NotTradable::UnknownFixture)?;
        let mut outcomes = fixture
            .market(market_id)
            .filter_map(|s| s.facts.map(|f| (s, f)));
        let first = outcomes.next().ok_or(NotTradable::UnknownMarket)?;
        if let Some((channel, reason)) = self.stale_price_channel() {
            return Err(NotTradable::ChannelStale {
                channel: channel.to_owned(),
                reason: reason.to_owned(),
            });
        }
        let (mut market_active, mut active) = (false, false);
        for (slot, facts) in std::iter::once(first).chain(outcomes) {
            if facts.market_active == Some(false) {
                continue;
            }
            market_active = true;
            if !facts.active {
                continue;
            }
            active = true;
            if fixture.usable(&slot.bookmaker) {
                return Ok(());
            }
        }
        Err(if !market_active {
            NotTradable::MarketInactive
        } else if !active {
            NotTradable::NoActiveOutcome
        } else {
            NotTradable::NoUsableBookmaker
        })
    }

    fn stale_price_channel(&self) -> Option<(&str, &str)> {
        if self.stale.is_empty() {
            return None;
        }
        PRICE_CHANNELS
            .iter()
            .find_map(|c| self.stale.get(*c).map(|r| (*c, r.as_str())))
    }

    /// A bookmaker's status for a fixture (O(1)); `None` before any `bookmakers` message
    /// named it.
    #[must_use]
    pub fn bookmaker(&self, fixture_id: &str, bookmaker: &str) -> Option<BookmakerStatus> {
        Some(
            self.fixtures
                .get(fixture_id)?
                .bookmakers
                .get(bookmaker)?
                .status,
        )
    }

    /// The fixture's latest `fixtures` payload, typed; `None` before one arrived or when it
    /// did not fit the typed view.
    #[must_use]
    pub fn fixture(&self, fixture_id: &str) -> Option<&FixturePayload> {
        self.fixtures
            .get(fixture_id)?
            .fixture
            .as_ref()?
            .typed
            .as_deref()
    }

    /// A period's latest score, typed.
    #[must_use]
    pub fn score(&self, fixture_id: &str, period: &str) -> Option<&PeriodScore> {
        self.fixtures
            .get(fixture_id)?
            .scores
            .get(period)?
            .typed
            .as_ref()
    }

    /// The fixture's latest clock, typed.
    #[must_use]
    pub fn clock(&self, fixture_id: &str) -> Option<&ClockState> {
        self.fixtures
            .get(fixture_id)?
            .clock
            .as_ref()?
            .typed
            .as_ref()
    }

    /// The book as the JSON document of `docs/CLI.md` ("The live book"):
    /// `{"feed":"ws","fixtures":{...},"stale":{...}}`, objects as the messages carried
    /// them, keys in sorted order.
    #[must_use]
    pub fn dump(&self) -> Value {
        let mut cache = DumpCache::default();
        let mut ids: Vec<&String> = self.fixtures.keys().collect();
        ids.sort_unstable();
        let fixtures: Map<String, Value> = ids
            .into_iter()
            .filter_map(|id| Some((id.clone(), self.fixtures.get(id)?.dump(&mut cache))))
            .collect();
        let stale: Map<String, Value> = self
            .stale
            .iter()
            .map(|(c, r)| (c.clone(), Value::String(r.clone())))
            .collect();
        json!({"feed": "ws", "fixtures": fixtures, "stale": stale})
    }
}
