//! The deterministic golf world a simulator serves: one sport, a few
//! competitions, their events, market types and markets with prices.
//!
//! [`GolfWorld::generate`] derives everything from a seed (and a base day for
//! start times), so two servers with the same seed describe the same world.
//! Every session works on its own copy: live changes of one connection never
//! leak into another, and a reconnect starts again from the generated state.

use std::collections::HashSet;

use serde_json::{Value, json};

use super::config::WorldConfig;
use super::time::format_unix_micros;

/// Id of the only sport in the world.
pub const SPORT_ID: &str = "sp.golf";
/// Display name of the sport.
pub const SPORT_NAME: &str = "Golf";

const COMPETITION_NAMES: &[&str] = &[
    "PGA Tour",
    "DP World Tour",
    "LPGA Tour",
    "Korn Ferry Tour",
    "Champions Tour",
    "Asian Tour",
    "Sunshine Tour",
    "Japan Golf Tour",
];

const COURSES: &[&str] = &[
    "Cedar Ridge",
    "Lakeside Dunes",
    "Kingsbarn Heath",
    "Willow Creek",
    "Eagle Bluff",
    "Silver Pines",
    "Harbour Links",
    "Red Rock Canyon",
    "Marram Bay",
    "Highland Moor",
];

const FIRST_NAMES: &[&str] = &[
    "Alex", "Ben", "Carlos", "Daniel", "Erik", "Felix", "Gustav", "Hugo", "Ivan", "Jonas", "Kai",
    "Liam", "Mateo", "Niklas", "Oscar", "Pablo", "Rafael", "Stefan", "Tomas", "Viktor",
];

const LAST_NAMES: &[&str] = &[
    "Ashford",
    "Brennan",
    "Castillo",
    "Dalgaard",
    "Ellery",
    "Fontaine",
    "Garrick",
    "Halvorsen",
    "Ingram",
    "Jaramillo",
    "Kowalczyk",
    "Lindqvist",
    "Marchetti",
    "Northcott",
    "Okafor",
    "Petrakis",
    "Quintero",
    "Rasmussen",
    "Sorensen",
    "Thornbury",
];

/// Market type of outright-winner markets.
pub const MT_OUTRIGHT: &str = "mt.golf_outright";
/// Market type of top-5-finish markets.
pub const MT_TOP_5: &str = "mt.golf_top_5";
/// Market type of 2-ball (18-hole matchup) markets.
pub const MT_TWOBALL: &str = "mt.golf_twoball_round";
/// Market type of 3-ball hole markets.
pub const MT_THREEBALL_HOLE: &str = "mt.golf_threeball_hole";

const MARKET_TYPES: &[(&str, &str)] = &[
    (MT_OUTRIGHT, "Outright Winner"),
    (MT_TOP_5, "Top 5 Finish"),
    (MT_TWOBALL, "2-Ball Round Matchup"),
    (MT_THREEBALL_HOLE, "3-Ball Hole"),
];

/// Stage of an event, as pushed in the `event` message's `stage` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Not started yet (`pre_play`).
    PrePlay,
    /// Being played (`in_play`).
    InPlay,
    /// Finished (`ended`): only in `include_finished` snapshots.
    Ended,
}

impl Stage {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::PrePlay => "pre_play",
            Stage::InPlay => "in_play",
            Stage::Ended => "ended",
        }
    }
}

/// Trading status of a market, as pushed in `market_update.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarketStatus {
    /// Prices are live (`open`).
    Open,
    /// Temporarily not tradable (`suspended`).
    Suspended,
    /// Finished; settlements follow (`closed`).
    Closed,
}

impl MarketStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MarketStatus::Open => "open",
            MarketStatus::Suspended => "suspended",
            MarketStatus::Closed => "closed",
        }
    }
}

/// A competition (`comp.golf_N`).
#[derive(Debug, Clone, PartialEq)]
pub struct Competition {
    /// `comp.golf_1`, `comp.golf_2`, ...
    pub id: String,
    /// Display name, e.g. `PGA Tour`.
    pub name: String,
    /// Opaque arena id (`"1"`, `"2"`, ...).
    pub arena_id: String,
    /// Start time in the feed's timestamp format; `None` is pushed as `null`.
    pub start_time: Option<String>,
}

/// An event (one round of a tournament).
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `ev.golf_<competition>_<n>`.
    pub id: String,
    /// Display name, e.g. `Cedar Ridge Championship, Round 2`.
    pub name: String,
    /// Id of the competition it belongs to.
    pub competition_id: String,
    /// Start time in the feed's timestamp format.
    pub start_time: String,
    /// Current stage.
    pub stage: Stage,
    /// Round number, pushed in `meta.round`.
    pub round: u8,
    /// Course name, pushed in `meta.course`.
    pub course: String,
}

/// A market type (`mt.golf_...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketType {
    /// Id, e.g. `mt.golf_threeball_hole`.
    pub id: String,
    /// Display name, e.g. `3-Ball Hole`.
    pub name: String,
}

/// One selection (a player) of a market, with its current decimal price.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Player id, a decimal string such as `"1544"`.
    pub id: String,
    /// Player name.
    pub name: String,
    /// Current decimal price (two decimals, at least 1.01).
    pub price: f64,
}

/// A market and its current state.
#[derive(Debug, Clone, PartialEq)]
pub struct Market {
    /// Unprefixed, never-reused slug of `[0-9A-Za-z._~-]`, e.g.
    /// `golf_1_2-outright-7`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Id of its event.
    pub event_id: String,
    /// Id of its market type.
    pub market_type_id: String,
    /// Current status.
    pub status: MarketStatus,
    /// Selections with prices, in a fixed order.
    pub selections: Vec<Selection>,
}

/// The whole generated world. Fields are public for tests and tools; sessions
/// only ever change their own copy.
#[derive(Debug, Clone, PartialEq)]
pub struct GolfWorld {
    /// Competitions, in push order.
    pub competitions: Vec<Competition>,
    /// Events, in push order.
    pub events: Vec<Event>,
    /// Market types, in push order.
    pub market_types: Vec<MarketType>,
    /// Markets, in push order.
    pub markets: Vec<Market>,
    /// Sequence number the next new market id gets (ids are never reused).
    pub(crate) next_market_seq: u64,
}

fn round2(x: f64) -> f64 {
    ((x * 100.0).round() / 100.0).max(1.01)
}

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    rng.choice(items.iter().copied()).unwrap_or("")
}

impl GolfWorld {
    /// Generates the world for `seed`. `base_unix_secs` anchors start times:
    /// in-play events started that day, pre-play ones start on later days,
    /// ended ones started two days before.
    pub fn generate(seed: u64, cfg: &WorldConfig, base_unix_secs: u64) -> Self {
        let mut rng = fastrand::Rng::with_seed(seed);
        let day0 = base_unix_secs - base_unix_secs % 86_400;
        let players_per_event = cfg.players_per_event.max(3);

        // A pool of distinct players shared by all events.
        let pool_size = (players_per_event * 2)
            .max(24)
            .min(FIRST_NAMES.len() * LAST_NAMES.len());
        let mut names = HashSet::new();
        let mut players = Vec::with_capacity(pool_size);
        let mut next_player_id: u32 = 1000 + rng.u32(0..500);
        while players.len() < pool_size {
            let name = format!(
                "{} {}",
                pick(&mut rng, FIRST_NAMES),
                pick(&mut rng, LAST_NAMES)
            );
            if names.insert(name.clone()) {
                players.push((next_player_id.to_string(), name));
                next_player_id += 1 + rng.u32(0..40);
            }
        }

        let mut world = GolfWorld {
            competitions: Vec::new(),
            events: Vec::new(),
            market_types: MARKET_TYPES
                .iter()
                .map(|(id, name)| MarketType {
                    id: (*id).to_owned(),
                    name: (*name).to_owned(),
                })
                .collect(),
            markets: Vec::new(),
            next_market_seq: 1,
        };

        for c in 0..cfg.competitions {
            let comp_no = c + 1;
            let base_name = COMPETITION_NAMES
                .get(c % COMPETITION_NAMES.len())
                .copied()
                .unwrap_or("Tour");
            let name = if c < COMPETITION_NAMES.len() {
                base_name.to_owned()
            } else {
                format!("{base_name} {}", c / COMPETITION_NAMES.len() + 1)
            };
            let comp_id = format!("comp.golf_{comp_no}");
            let course = pick(&mut rng, COURSES);
            let mut first_start = None;
            for e in 0..cfg.events_per_competition {
                let (stage, round, start) = match e % 3 {
                    0 => (Stage::InPlay, 2, day0 + 8 * 3600),
                    1 => (Stage::PrePlay, 3, day0 + (e as u64 + 1) * 86_400 + 9 * 3600),
                    _ => (Stage::Ended, 1, day0.saturating_sub(2 * 86_400) + 7 * 3600),
                };
                let start = start + u64::from(rng.u32(0..240)) * 60;
                first_start = Some(first_start.map_or(start, |f: u64| f.min(start)));
                let event_slug = format!("golf_{comp_no}_{}", e + 1);
                let event = Event {
                    id: format!("ev.{event_slug}"),
                    name: format!("{course} Championship, Round {round}"),
                    competition_id: comp_id.clone(),
                    start_time: format_unix_micros(start, 0),
                    stage,
                    round,
                    course: course.to_owned(),
                };
                let mut field: Vec<&(String, String)> = players.iter().collect();
                rng.shuffle(&mut field);
                field.truncate(players_per_event);
                world.add_event_markets(&mut rng, &event, &event_slug, &field, cfg);
                world.events.push(event);
            }
            world.competitions.push(Competition {
                id: comp_id,
                name,
                arena_id: comp_no.to_string(),
                start_time: if comp_no % 2 == 1 {
                    first_start.map(|s| format_unix_micros(s, 0))
                } else {
                    None
                },
            });
        }
        world
    }

    fn add_event_markets(
        &mut self,
        rng: &mut fastrand::Rng,
        event: &Event,
        event_slug: &str,
        field: &[&(String, String)],
        cfg: &WorldConfig,
    ) {
        let status = if event.stage == Stage::Ended {
            MarketStatus::Closed
        } else {
            MarketStatus::Open
        };
        let sel = |rng: &mut fastrand::Rng, p: &(String, String), lo: f64, hi: f64| Selection {
            id: p.0.clone(),
            name: p.1.clone(),
            price: round2(lo + rng.f64() * (hi - lo)),
        };
        let outright = field.iter().map(|p| sel(rng, p, 4.0, 60.0)).collect();
        self.push_market(
            event,
            event_slug,
            "outright",
            MT_OUTRIGHT,
            "Outright Winner".into(),
            status,
            outright,
        );
        let top5 = field.iter().map(|p| sel(rng, p, 1.5, 12.0)).collect();
        self.push_market(
            event,
            event_slug,
            "top5",
            MT_TOP_5,
            "Top 5 Finish".into(),
            status,
            top5,
        );
        if let [a, b, ..] = field {
            let name = format!("2-Ball: {} v {}", a.1, b.1);
            let sels = vec![sel(rng, a, 1.6, 2.4), sel(rng, b, 1.6, 2.4)];
            self.push_market(event, event_slug, "2ball", MT_TWOBALL, name, status, sels);
        }
        for _ in 0..cfg.threeball_markets_per_event {
            let mut group: Vec<&(String, String)> = field.to_vec();
            rng.shuffle(&mut group);
            group.truncate(3);
            let hole = rng.u8(1..=18);
            let names: Vec<&str> = group.iter().map(|p| p.1.as_str()).collect();
            let name = format!("3-Ball Hole {hole}: {}", names.join(" v "));
            let sels = group.iter().map(|p| sel(rng, p, 2.2, 4.0)).collect();
            let kind = format!("3ball-h{hole}");
            self.push_market(
                event,
                event_slug,
                &kind,
                MT_THREEBALL_HOLE,
                name,
                status,
                sels,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_market(
        &mut self,
        event: &Event,
        event_slug: &str,
        kind: &str,
        market_type_id: &str,
        name: String,
        status: MarketStatus,
        selections: Vec<Selection>,
    ) {
        let id = format!("{event_slug}-{kind}-{}", self.next_market_seq);
        self.next_market_seq += 1;
        self.markets.push(Market {
            id,
            name,
            event_id: event.id.clone(),
            market_type_id: market_type_id.to_owned(),
            status,
            selections,
        });
    }

    /// Ids of the events a session sees: all of them with `include_finished`,
    /// else those that have not ended.
    pub fn visible_event_ids(&self, include_finished: bool) -> HashSet<String> {
        self.events
            .iter()
            .filter(|e| include_finished || e.stage != Stage::Ended)
            .map(|e| e.id.clone())
            .collect()
    }

    /// Number of pushes in the post-init snapshot: sport, competitions, visible
    /// events, market types and the markets of visible events.
    pub fn snapshot_len(&self, include_finished: bool) -> usize {
        let visible = self.visible_event_ids(include_finished);
        1 + self.competitions.len()
            + visible.len()
            + self.market_types.len()
            + self
                .markets
                .iter()
                .filter(|m| visible.contains(&m.event_id))
                .count()
    }

    /// The post-init snapshot as `(type, msg)` pairs, in push order.
    pub fn snapshot(&self, include_finished: bool) -> Vec<(&'static str, Value)> {
        let visible = self.visible_event_ids(include_finished);
        let mut out = Vec::with_capacity(self.snapshot_len(include_finished));
        out.push(("sport", json!({"id": SPORT_ID, "name": SPORT_NAME})));
        for c in &self.competitions {
            out.push(("competition", competition_msg(c)));
        }
        for e in self.events.iter().filter(|e| visible.contains(&e.id)) {
            out.push(("event", event_msg(e)));
        }
        for t in &self.market_types {
            out.push(("market_type", json!({"id": t.id, "name": t.name})));
        }
        for m in self
            .markets
            .iter()
            .filter(|m| visible.contains(&m.event_id))
        {
            out.push(("market", market_msg(m)));
        }
        out
    }
}

/// `competition` push body.
pub(crate) fn competition_msg(c: &Competition) -> Value {
    json!({
        "id": c.id,
        "name": c.name,
        "sport_id": SPORT_ID,
        "arena_id": c.arena_id,
        "start_time": c.start_time,
    })
}

/// `event` push body.
pub(crate) fn event_msg(e: &Event) -> Value {
    json!({
        "id": e.id,
        "name": e.name,
        "competition_id": e.competition_id,
        "start_time": e.start_time,
        "stage": e.stage.as_str(),
        "meta": {"round": e.round, "course": e.course},
    })
}

/// `market` push body (definition, no prices).
pub(crate) fn market_msg(m: &Market) -> Value {
    let selections: Vec<Value> = m
        .selections
        .iter()
        .map(|s| json!({"id": s.id, "name": s.name}))
        .collect();
    json!({
        "id": m.id,
        "name": m.name,
        "event_id": m.event_id,
        "market_type_id": m.market_type_id,
        "selections": selections,
    })
}

/// `market_update` push body (status and every selection's price).
pub(crate) fn market_update_msg(m: &Market) -> Value {
    let selections: Vec<Value> = m
        .selections
        .iter()
        .map(|s| json!({"id": s.id, "price": s.price}))
        .collect();
    json!({"id": m.id, "status": m.status.as_str(), "selections": selections})
}

impl GolfWorld {
    /// Applies one random live change to the market at `index` and returns the
    /// pushes describing it, in order. `matches` tells whether a market
    /// (a replacement created here) is covered by the session's subscriptions.
    ///
    /// Life cycle: open/suspended markets mostly move prices, sometimes toggle
    /// suspension, sometimes close (followed by one `settlement` per
    /// selection); a closed market is removed (`remove_markets`) and replaced
    /// by a new market with a fresh id (`market`, plus a `market_update` image
    /// when `matches` says it is subscribed).
    pub(crate) fn live_change(
        &mut self,
        rng: &mut fastrand::Rng,
        index: usize,
        matches: impl Fn(&Market) -> bool,
    ) -> Vec<(&'static str, Value)> {
        let Some(market) = self.markets.get_mut(index) else {
            return Vec::new();
        };
        if market.status == MarketStatus::Closed {
            return self.replace_market(rng, index, matches);
        }
        let roll = rng.u32(0..100);
        if roll < 82 {
            market.status = MarketStatus::Open;
            for s in &mut market.selections {
                s.price = round2(s.price * (0.9 + rng.f64() * 0.2));
            }
            vec![("market_update", market_update_msg(market))]
        } else if roll < 94 {
            market.status = match market.status {
                MarketStatus::Open => MarketStatus::Suspended,
                _ => MarketStatus::Open,
            };
            vec![("market_update", market_update_msg(market))]
        } else {
            market.status = MarketStatus::Closed;
            let mut out = vec![("market_update", market_update_msg(market))];
            let n = market.selections.len();
            let winner = rng.usize(0..n.max(1));
            // Occasionally a dead heat between two selections.
            let second = (n > 2 && rng.u8(0..10) == 0).then(|| (winner + 1) % n);
            for (i, s) in market.selections.iter().enumerate() {
                let payout = if Some(i) == second {
                    0.5
                } else if i == winner {
                    if second.is_some() { 0.5 } else { 1.0 }
                } else {
                    0.0
                };
                out.push((
                    "settlement",
                    json!({
                        "market_id": market.id,
                        "selection_id": s.id,
                        "settlement": {"stake_returned": 0.0, "payout_returned": payout},
                    }),
                ));
            }
            out
        }
    }

    fn replace_market(
        &mut self,
        rng: &mut fastrand::Rng,
        index: usize,
        matches: impl Fn(&Market) -> bool,
    ) -> Vec<(&'static str, Value)> {
        if index >= self.markets.len() {
            return Vec::new();
        }
        let old = self.markets.remove(index);
        let mut out = vec![("remove_markets", json!([old.id]))];
        // The slug is everything before the trailing `-<seq>`.
        let stem = old.id.rsplit_once('-').map_or(old.id.as_str(), |(s, _)| s);
        let mut fresh = old.clone();
        fresh.id = format!("{stem}-{}", self.next_market_seq);
        self.next_market_seq += 1;
        fresh.status = MarketStatus::Open;
        for s in &mut fresh.selections {
            s.price = round2(s.price * (0.8 + rng.f64() * 0.4));
        }
        out.push(("market", market_msg(&fresh)));
        if matches(&fresh) {
            out.push(("market_update", market_update_msg(&fresh)));
        }
        self.markets.push(fresh);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: u64 = 1_741_942_211; // 2025-03-14 08:50:11 UTC

    #[test]
    fn same_seed_same_world_other_seed_other_world() {
        let cfg = WorldConfig::default();
        let a = GolfWorld::generate(7, &cfg, BASE);
        assert_eq!(a, GolfWorld::generate(7, &cfg, BASE));
        assert_ne!(a, GolfWorld::generate(8, &cfg, BASE));
    }

    #[test]
    fn default_world_has_the_documented_shape() {
        let w = GolfWorld::generate(1, &WorldConfig::default(), BASE);
        assert_eq!(w.competitions.len(), 3);
        assert_eq!(w.competitions[0].id, "comp.golf_1");
        assert_eq!(w.competitions[0].name, "PGA Tour");
        assert_eq!(w.events.len(), 9);
        assert_eq!(w.events[0].id, "ev.golf_1_1");
        assert_eq!(w.events[0].stage, Stage::InPlay);
        assert_eq!(w.events[2].stage, Stage::Ended);
        assert!(w.events[0].start_time.starts_with("2025-03-14 "));
        // Per event: outright, top 5, 2-ball, two 3-balls.
        assert_eq!(w.markets.len(), 9 * 5);
        assert_eq!(w.market_types.len(), 4);
        assert_eq!(w.snapshot_len(false), 1 + 3 + 6 + 4 + 6 * 5);
        assert_eq!(w.snapshot_len(true), 1 + 3 + 9 + 4 + 9 * 5);
        let ids: HashSet<&str> = w.markets.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids.len(), w.markets.len());
        for m in &w.markets {
            assert!(
                m.id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._~-".contains(&b)),
                "bad slug {}",
                m.id
            );
            assert!(m.selections.iter().all(|s| s.price >= 1.01));
        }
    }

    #[test]
    fn snapshot_is_ordered_by_type() {
        let w = GolfWorld::generate(3, &WorldConfig::default(), BASE);
        let kinds: Vec<&str> = w.snapshot(false).iter().map(|(k, _)| *k).collect();
        let rank = |k: &str| {
            ["sport", "competition", "event", "market_type", "market"]
                .iter()
                .position(|x| *x == k)
                .unwrap_or(99)
        };
        assert!(kinds.windows(2).all(|p| rank(p[0]) <= rank(p[1])));
        assert_eq!(kinds.len(), w.snapshot_len(false));
    }

    #[test]
    fn closed_market_is_removed_and_replaced_with_a_fresh_id() {
        let mut w = GolfWorld::generate(5, &WorldConfig::default(), BASE);
        let mut rng = fastrand::Rng::with_seed(9);
        w.markets[0].status = MarketStatus::Closed;
        let old = w.markets[0].id.clone();
        let pushes = w.live_change(&mut rng, 0, |_| true);
        let kinds: Vec<&str> = pushes.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, ["remove_markets", "market", "market_update"]);
        assert_eq!(pushes[0].1, json!([old]));
        let new_id = pushes[1].1["id"].as_str().unwrap_or_default().to_owned();
        assert_ne!(new_id, old);
        assert!(w.markets.iter().all(|m| m.id != old));
        assert_eq!(w.markets.last().map(|m| m.id.clone()), Some(new_id));
    }
}
