//! The IMG feed's book ([`ImgBook`]).
//!
//! Rules (`docs/CLI.md`, "The live book"), applied in delivery order:
//!
//! - only a `market_update` push creates a market; it sets `status` (when sent) and upserts
//!   each selection, whose object is the update's selection without its `id`;
//! - `remove_markets` deletes the markets it names;
//! - a `settlement` push stores `msg.settlement` under `settlements.<selection_id>` of its
//!   `market_id` (a market the book does not hold is left alone);
//! - the book is stale while heartbeats are ([`ImgBook::heartbeat_stale`] until
//!   [`ImgBook::heartbeat_ok`]); statuses are not rewritten, but [`ImgBook::tradable`]
//!   refuses every market then;
//! - a re-initialised session ([`ImgBook::session_initialized`] after an earlier one)
//!   empties the markets before the new snapshot arrives.
//!
//! Other pushes, responses and unknown lines change nothing.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use oddsfeed_model::img::{MarketStatus, Push, PushKind};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::source::id_text;

/// Why a selection was reported as changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SelectionWhy {
    /// The selection was not in the market before.
    New,
    /// The price moved (or appeared, or went away).
    Price,
}

/// What an applied push or health event changed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ImgChange {
    /// A selection is new or its price changed.
    Selection {
        /// The market.
        market_id: String,
        /// The selection.
        selection_id: String,
        /// The price before (`None`: new, or had no price).
        old_price: Option<f64>,
        /// The price now (`None`: the update carried none, e.g. while suspended).
        new_price: Option<f64>,
        /// Why it is reported.
        why: SelectionWhy,
    },
    /// A market is new or its status changed.
    MarketStatus {
        /// The market.
        market_id: String,
        /// The status before (`None`: new market, or none was sent).
        old: Option<MarketStatus>,
        /// The status now.
        new: Option<MarketStatus>,
    },
    /// `remove_markets` deleted a market the book held.
    MarketRemoved {
        /// The market.
        market_id: String,
    },
    /// A settlement was stored.
    Settled {
        /// The market.
        market_id: String,
        /// The selection.
        selection_id: String,
    },
    /// A re-initialised session emptied the markets.
    Cleared,
    /// Heartbeats went stale (`true`) or came back (`false`).
    Stale(bool),
}

/// Why a market cannot be traded now ([`ImgBook::tradable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ImgNotTradable {
    /// The connection is down or the session is not initialised yet: no price is current.
    NotConnected,
    /// Heartbeats are stale: every market counts as suspended.
    HeartbeatStale,
    /// The book holds no such market.
    UnknownMarket,
    /// The market's status is not `open` (the status as sent, or `None` when none was).
    Status(Option<MarketStatus>),
    /// No selection of the market has a price.
    NoPrice,
}

impl fmt::Display for ImgNotTradable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotConnected => f.write_str("not connected"),
            Self::HeartbeatStale => f.write_str("heartbeats are stale"),
            Self::UnknownMarket => f.write_str("unknown market"),
            Self::Status(Some(status)) => write!(f, "market is {}", status.as_str()),
            Self::Status(None) => f.write_str("market has no status"),
            Self::NoPrice => f.write_str("no selection has a price"),
        }
    }
}

/// One selection, as the book holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SelectionView<'a> {
    /// The selection id.
    pub id: &'a str,
    /// Its `price`, when the latest update carried a number.
    pub price: Option<f64>,
    /// When the latest update for it was applied.
    pub updated_at: Instant,
}

impl SelectionView<'_> {
    /// Time since the latest update, as of `now` (zero if `now` is earlier).
    #[must_use]
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.updated_at)
    }
}

#[derive(Debug, Clone)]
struct SelectionSlot {
    price: Option<f64>,
    object: Map<String, Value>,
    updated_at: Instant,
}

#[derive(Debug, Clone)]
struct MarketBook {
    status: Value,
    typed_status: Option<MarketStatus>,
    /// Selection ids in first-seen order, then the slots by id.
    order: Vec<String>,
    selections: HashMap<String, SelectionSlot>,
    settlements: Map<String, Value>,
}

/// The live book of the IMG feed. See the [module docs](self) for the rules.
#[derive(Debug, Clone, Default)]
pub struct ImgBook {
    session_id: Option<String>,
    initialized: bool,
    connected: bool,
    stale: bool,
    markets: HashMap<String, MarketBook>,
}

impl ImgBook {
    /// An empty book.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a push that arrived at `now`, without reporting changes.
    pub fn apply(&mut self, push: &Push, now: Instant) {
        self.apply_to(push, now, None);
    }

    /// Applies a push that arrived at `now` and appends what changed to `changes`.
    pub fn apply_with_changes(&mut self, push: &Push, now: Instant, changes: &mut Vec<ImgChange>) {
        self.apply_to(push, now, Some(changes));
    }

    fn apply_to(&mut self, push: &Push, now: Instant, mut out: Option<&mut Vec<ImgChange>>) {
        if !matches!(
            push.kind,
            PushKind::MarketUpdate | PushKind::RemoveMarkets | PushKind::Settlement
        ) {
            return;
        }
        // The objects are stored as sent, so read them from the line itself (IMG traffic
        // is light; the WebSocket book is the one built for volume).
        let Ok(Value::Object(mut line)) = serde_json::from_str::<Value>(&push.raw) else {
            return;
        };
        let msg = line.remove("msg").unwrap_or(Value::Null);
        match push.kind {
            PushKind::MarketUpdate => self.market_update(msg, now, &mut out),
            PushKind::RemoveMarkets => {
                for id in msg.as_array().into_iter().flatten() {
                    let Some(id) = id_text(Some(id)) else {
                        continue;
                    };
                    if self.markets.remove(&id).is_some()
                        && let Some(out) = out.as_deref_mut()
                    {
                        out.push(ImgChange::MarketRemoved { market_id: id });
                    }
                }
            }
            _ => {
                let (Some(market_id), Some(selection_id)) = (
                    id_text(msg.get("market_id")),
                    id_text(msg.get("selection_id")),
                ) else {
                    return;
                };
                let Some(market) = self.markets.get_mut(&market_id) else {
                    return;
                };
                let settlement = msg.get("settlement").cloned().unwrap_or(Value::Null);
                market.settlements.insert(selection_id.clone(), settlement);
                if let Some(out) = out {
                    out.push(ImgChange::Settled {
                        market_id,
                        selection_id,
                    });
                }
            }
        }
    }

    fn market_update(&mut self, msg: Value, now: Instant, out: &mut Option<&mut Vec<ImgChange>>) {
        let Value::Object(mut msg) = msg else { return };
        let Some(market_id) = id_text(msg.get("id")) else {
            return;
        };
        let is_new = !self.markets.contains_key(&market_id);
        let market = self
            .markets
            .entry(market_id.clone())
            .or_insert_with(|| MarketBook {
                status: Value::Null,
                typed_status: None,
                order: Vec::new(),
                selections: HashMap::new(),
                settlements: Map::new(),
            });
        if let Some(status) = msg.remove("status") {
            let typed = MarketStatus::deserialize(&status).ok();
            if (is_new || typed != market.typed_status)
                && let Some(out) = out.as_deref_mut()
            {
                out.push(ImgChange::MarketStatus {
                    market_id: market_id.clone(),
                    old: market.typed_status.clone(),
                    new: typed.clone(),
                });
            }
            market.status = status;
            market.typed_status = typed;
        } else if is_new && let Some(out) = out.as_deref_mut() {
            out.push(ImgChange::MarketStatus {
                market_id: market_id.clone(),
                old: None,
                new: None,
            });
        }
        let Some(Value::Array(selections)) = msg.remove("selections") else {
            return;
        };
        for selection in selections {
            let Value::Object(mut object) = selection else {
                continue;
            };
            let Some(id) = id_text(object.get("id")) else {
                continue;
            };
            object.remove("id");
            let price = object.get("price").and_then(Value::as_f64);
            let slot = SelectionSlot {
                price,
                object,
                updated_at: now,
            };
            let old = match market.selections.get_mut(&id) {
                Some(existing) => Some(std::mem::replace(existing, slot).price),
                None => {
                    market.order.push(id.clone());
                    market.selections.insert(id.clone(), slot);
                    None
                }
            };
            let why = match old {
                None => Some(SelectionWhy::New),
                Some(old) if old.map(f64::to_bits) != price.map(f64::to_bits) => {
                    Some(SelectionWhy::Price)
                }
                Some(_) => None,
            };
            if let (Some(why), Some(out)) = (why, out.as_deref_mut()) {
                out.push(ImgChange::Selection {
                    market_id: market_id.clone(),
                    selection_id: id,
                    old_price: old.flatten(),
                    new_price: price,
                    why,
                });
            }
        }
    }

    /// The init response arrived (`session_initialized`). A session initialised before
    /// (`reconnect`, or an earlier call) empties the markets: the snapshot that follows
    /// replaces them.
    pub fn session_initialized(&mut self, session_id: Option<&str>, reconnect: bool) {
        self.session_initialized_with_changes(session_id, reconnect, &mut Vec::new());
    }

    /// [`session_initialized`](Self::session_initialized), reporting [`ImgChange::Cleared`].
    pub fn session_initialized_with_changes(
        &mut self,
        session_id: Option<&str>,
        reconnect: bool,
        changes: &mut Vec<ImgChange>,
    ) {
        if reconnect || self.initialized {
            self.markets.clear();
            changes.push(ImgChange::Cleared);
        }
        self.initialized = true;
        self.connected = true;
        self.session_id = session_id.map(str::to_owned);
    }

    /// The connection ended: until the next [`session_initialized`](Self::session_initialized)
    /// no market is tradable (the dump does not change).
    pub fn disconnected(&mut self) {
        self.connected = false;
    }

    /// Heartbeats went stale (`heartbeat_stale`).
    pub fn heartbeat_stale(&mut self) {
        self.stale = true;
    }

    /// A heartbeat arrived after they were stale (`heartbeat_ok`).
    pub fn heartbeat_ok(&mut self) {
        self.stale = false;
    }

    /// Whether heartbeats are stale now (a trading system treats every market as suspended).
    #[must_use]
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// The session id of the latest `session_initialized`.
    #[must_use]
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The number of markets in the book.
    #[must_use]
    pub fn market_count(&self) -> usize {
        self.markets.len()
    }

    /// A market's status as sent (`None` for an unknown market or one without status).
    #[must_use]
    pub fn status(&self, market_id: &str) -> Option<&MarketStatus> {
        self.markets.get(market_id)?.typed_status.as_ref()
    }

    /// One selection's price and age (O(1)).
    #[must_use]
    pub fn selection(&self, market_id: &str, selection_id: &str) -> Option<SelectionView<'_>> {
        let (id, slot) = self
            .markets
            .get(market_id)?
            .selections
            .get_key_value(selection_id)?;
        Some(SelectionView {
            id,
            price: slot.price,
            updated_at: slot.updated_at,
        })
    }

    /// Every selection of a market, in first-seen order (O(selections of the market)).
    pub fn market(&self, market_id: &str) -> impl Iterator<Item = SelectionView<'_>> {
        self.markets.get(market_id).into_iter().flat_map(|m| {
            m.order.iter().filter_map(|id| {
                m.selections.get(id).map(|slot| SelectionView {
                    id,
                    price: slot.price,
                    updated_at: slot.updated_at,
                })
            })
        })
    }

    /// A settlement stored for a selection, as sent.
    #[must_use]
    pub fn settlement(&self, market_id: &str, selection_id: &str) -> Option<&Value> {
        self.markets.get(market_id)?.settlements.get(selection_id)
    }

    /// Whether a market can be traded now, and if not why (O(selections of the market)):
    /// connected and initialised, heartbeats fresh, the market known, `open`, and at least
    /// one selection priced.
    ///
    /// # Errors
    /// The first reason that applies, in the order of [`ImgNotTradable`]'s variants.
    pub fn tradable(&self, market_id: &str) -> Result<(), ImgNotTradable> {
        if !self.connected {
            return Err(ImgNotTradable::NotConnected);
        }
        if self.stale {
            return Err(ImgNotTradable::HeartbeatStale);
        }
        let market = self
            .markets
            .get(market_id)
            .ok_or(ImgNotTradable::UnknownMarket)?;
        if market.typed_status != Some(MarketStatus::Open) {
            return Err(ImgNotTradable::Status(market.typed_status.clone()));
        }
        if market.selections.values().any(|s| s.price.is_some()) {
            Ok(())
        } else {
            Err(ImgNotTradable::NoPrice)
        }
    }

    /// The book as the JSON document of `docs/CLI.md` ("The live book"):
    /// `{"feed":"img","session_id":..,"stale":..,"markets":{...}}`, markets in id order.
    #[must_use]
    pub fn dump(&self) -> Value {
        let mut ids: Vec<&String> = self.markets.keys().collect();
        ids.sort_unstable();
        let markets: Map<String, Value> = ids
            .into_iter()
            .filter_map(|id| {
                let m = self.markets.get(id)?;
                let selections: Map<String, Value> = m
                    .order
                    .iter()
                    .filter_map(|s| {
                        let slot = m.selections.get(s)?;
                        Some((s.clone(), Value::Object(slot.object.clone())))
                    })
                    .collect();
                Some((
                    id.clone(),
                    json!({
                        "status": m.status,
                        "selections": selections,
                        "settlements": m.settlements,
                    }),
                ))
            })
            .collect();
        json!({
            "feed": "img",
            "session_id": self.session_id,
            "stale": self.stale,
            "markets": markets,
        })
    }
}
