//! Deterministic generator of realistic WebSocket data messages
//! (docs/PROTOCOL.md B.7).
//!
//! [`WsGenerator`] produces the compact JSON envelope
//! `{"channel":..,"type":"UPDATE","payload":{..},"ts":..,"entryId":"<ts>-<seq>"}`
//! for the channels `odds`, `fixtures`, `bookmakers`, `scores` and `clocks`.
//! It is sans-IO: the caller passes the time to every [`WsGenerator::next`]
//! call, and all randomness comes from one [`fastrand::Rng`] seeded at
//! construction. The same seed and the same sequence of `now_ms` values give
//! byte-identical output, on every platform.
//!
//! # The mix
//!
//! - About 75% of messages are `odds` updates (one fixture, one market, one to
//!   three bookmakers), carrying about 91% of the bytes; the mean message is
//!   about 1.4 KB.
//! - Roughly once per [`SNAPSHOT_ONE_IN`] messages an `odds` message is a full
//!   snapshot of one soccer fixture (every bookmaker, every market), well over
//!   100 KB.
//! - Vocabularies (bookmaker slugs, sports, tournaments, teams, venues, market
//!   and outcome ids) are fixed, so dictionaries trained on one run's output
//!   compress every run's well.
//!
//! # entryIds
//!
//! Per channel, `ts = max(now_ms, last ts of that channel)` and the entryId
//! `(ts, seq)` is strictly increasing: `seq` grows by one per message, with an
//! occasional random gap (gaps are normal on the real feed).
//!
//! ```
//! use oddsfeed_sim::ws_gen::WsGenerator;
//!
//! let mut generator = WsGenerator::new(7);
//! let msg = generator.next(1_766_400_000_000);
//! assert!(msg.json.starts_with(&format!("{{\"channel\":\"{}\"", msg.channel)));
//! assert_eq!(msg.ts, msg.entry_id.0);
//! ```

mod json;
mod vocab;

use fastrand::Rng;

use crate::SimError;
use json::JsonWriter;
use vocab::{BOOKMAKERS, Market, SPORTS, Sport};

/// The channels the generator produces, in a fixed order.
pub const CHANNELS: [&str; 5] = ["odds", "fixtures", "bookmakers", "scores", "clocks"];

/// Relative message counts per channel, parallel to [`CHANNELS`].
///
/// Tuned so that `odds` carries about 91% of the bytes and the mean message is
/// about 1.4 KB.
pub const CHANNEL_WEIGHTS: [u32; 5] = [75, 5, 5, 8, 7];

/// One message in this many (on average) is a large `odds` snapshot, when
/// `odds` is among the generated channels.
pub const SNAPSHOT_ONE_IN: u32 = 2000;

/// How many fixtures are in play at once. Fixtures that end are replaced by
/// new ones (with new ids) over time.
pub const FIXTURE_POOL: usize = 240;

/// Players per fixture for player markets.
const PLAYERS_PER_FIXTURE: usize = 6;

/// One generated data message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedMessage {
    /// The channel name, one of [`CHANNELS`].
    pub channel: &'static str,
    /// The entryId as `(ts_ms, seq)`; `json` carries it as `"<ts>-<seq>"`.
    pub entry_id: (u64, u64),
    /// The message time in UTC milliseconds (equal to `entry_id.0`).
    pub ts: u64,
    /// The compact JSON envelope, `channel` first.
    pub json: String,
}

impl GeneratedMessage {
    /// The entryId as the wire spells it, `"<ts>-<seq>"`.
    #[must_use]
    pub fn entry_id_string(&self) -> String {
        format!("{}-{}", self.entry_id.0, self.entry_id.1)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Odds,
    Fixtures,
    Bookmakers,
    Scores,
    Clocks,
}

impl Channel {
    const ALL: [Channel; 5] = [
        Channel::Odds,
        Channel::Fixtures,
        Channel::Bookmakers,
        Channel::Scores,
        Channel::Clocks,
    ];

    fn index(self) -> usize {
        self as usize
    }

    fn name(self) -> &'static str {
        CHANNELS[self.index()]
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    NotStarted,
    Live,
    Ended,
}

/// One fixture and its live state.
#[derive(Debug, Clone)]
struct Fixture {
    id: String,
    sport: usize,
    tournament: usize,
    /// Participant indexes into the tournament's list.
    home: usize,
    away: usize,
    /// Scheduled kick-off, Unix seconds.
    start_secs: u64,
    players: [u32; PLAYERS_PER_FIXTURE],
    phase: Phase,
    /// Index into the sport's periods.
    period: usize,
    /// Seconds played in the current period.
    clock_secs: u32,
    /// (participant1, participant2) per period started so far.
    scores: Vec<(u32, u32)>,
    true_start_ms: Option<u64>,
    true_end_ms: Option<u64>,
}

impl Fixture {
    fn sport(&self) -> &'static Sport {
        // `sport` is always an index produced from SPORTS.len().
        SPORTS.get(self.sport).unwrap_or(&SPORTS[0])
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Cursor {
    last_ts: u64,
    seq: u64,
}

/// Seeded generator of data messages; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct WsGenerator {
    rng: Rng,
    /// Built on the first `next` call, around the caller's clock.
    fixtures: Vec<Fixture>,
    /// Counter for fixture ids; grows as fixtures are replaced.
    next_fixture: u64,
    channels: Vec<Channel>,
    cursors: [Cursor; 5],
    /// Capacity for the next message's buffer (the last size seen, rounded).
    size_hint: usize,
}

impl WsGenerator {
    /// A generator of all five channels, seeded with `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::with_seed(seed);
        let mut cursors = [Cursor::default(); 5];
        for cursor in &mut cursors {
            cursor.seq = rng.u64(1..5000);
        }
        WsGenerator {
            rng,
            fixtures: Vec::new(),
            next_fixture: 0,
            channels: Channel::ALL.to_vec(),
            cursors,
            size_hint: 2048,
        }
    }

    /// Fills the fixture pool around `now_ms`: most fixtures scheduled in the
    /// next two days, about 30% already under way.
    fn build_world(&mut self, now_ms: u64) {
        let now_secs = now_ms / 1000;
        for _ in 0..FIXTURE_POOL {
            let fixture = self.new_fixture(now_secs);
            self.fixtures.push(fixture);
        }
        for i in 0..FIXTURE_POOL {
            if self.rng.u32(0..10) >= 3 {
                continue;
            }
            let sport = self.fixtures[i].sport();
            let played = self.rng.usize(0..sport.periods.len());
            let into_period = self.rng.u32(0..sport.period_secs.max(1));
            // Periods plus 15-minute breaks so far.
            let elapsed =
                (played as u64) * u64::from(sport.period_secs + 900) + u64::from(into_period);
            let started_ms = now_ms.saturating_sub((elapsed + 60) * 1000);
            self.fixtures[i].start_secs = started_ms / 1000 / 900 * 900;
            self.kick_off(i, started_ms);
            for _ in 0..played {
                let step = sport.max_score_step;
                if let Some(score) = self.fixtures[i].scores.last_mut() {
                    *score = (self.rng.u32(0..=step * 2), self.rng.u32(0..=step * 2));
                }
                self.next_period(i, None);
            }
            self.fixtures[i].clock_secs = into_period;
        }
    }

    /// Restricts the generator to the named channels (unknown names are
    /// ignored).
    ///
    /// # Errors
    ///
    /// [`SimError::NoChannels`] if no known channel remains.
    pub fn with_channels(mut self, channels: &[&str]) -> Result<Self, SimError> {
        let kept: Vec<Channel> = Channel::ALL
            .into_iter()
            .filter(|c| channels.contains(&c.name()))
            .collect();
        if kept.is_empty() {
            return Err(SimError::NoChannels {
                requested: channels.iter().map(|c| (*c).to_owned()).collect(),
            });
        }
        self.channels = kept;
        Ok(self)
    }

    /// The channels this generator produces, in [`CHANNELS`] order.
    #[must_use]
    pub fn channels(&self) -> Vec<&'static str> {
        self.channels.iter().map(|c| c.name()).collect()
    }

    /// Generates the next message at time `now_ms` (UTC milliseconds).
    ///
    /// Time may stand still or go backwards: each channel's `ts` never
    /// decreases and its entryIds always increase.
    pub fn next(&mut self, now_ms: u64) -> GeneratedMessage {
        if self.fixtures.is_empty() {
            self.build_world(now_ms);
        }
        let snapshot =
            self.channels.contains(&Channel::Odds) && self.rng.u32(0..SNAPSHOT_ONE_IN) == 0;
        let channel = if snapshot {
            Channel::Odds
        } else {
            self.pick_channel()
        };

        let cursor = &mut self.cursors[channel.index()];
        let ts = now_ms.max(cursor.last_ts);
        let gap = if self.rng.u32(0..16) == 0 {
            self.rng.u64(1..=8)
        } else {
            0
        };
        cursor.seq += 1 + gap;
        cursor.last_ts = ts;
        let entry_id = (ts, cursor.seq);

        let fixture = self.pick_fixture(channel, snapshot, ts);
        let mut json = String::with_capacity(self.size_hint);
        let mut w = JsonWriter::new(&mut json);
        w.begin_obj();
        w.key("channel");
        w.str(channel.name());
        w.key("type");
        w.str("UPDATE");
        w.key("payload");
        w.begin_obj();
        w.key("fixtureId");
        w.str(&self.fixtures[fixture].id);
        match channel {
            Channel::Odds => self.odds_payload(&mut w, fixture, ts, snapshot),
            Channel::Fixtures => self.fixtures_payload(&mut w, fixture, ts),
            Channel::Bookmakers => self.bookmakers_payload(&mut w, ts),
            Channel::Scores => self.scores_payload(&mut w, fixture, ts),
            Channel::Clocks => {
                self.advance_clock(fixture, ts);
                self.clock_object(&mut w, fixture);
            }
        }
        w.end_obj();
        w.key("ts");
        w.u64(ts);
        w.key("entryId");
        w.open_str();
        w.u64(entry_id.0);
        w.raw("-");
        w.u64(entry_id.1);
        w.close_str();
        w.end_obj();

        self.size_hint = (json.len() + 256).clamp(512, 16 << 10);
        GeneratedMessage {
            channel: channel.name(),
            entry_id,
            ts,
            json,
        }
    }

    fn pick_channel(&mut self) -> Channel {
        let total: u32 = self
            .channels
            .iter()
            .map(|c| CHANNEL_WEIGHTS[c.index()])
            .sum();
        let mut roll = self.rng.u32(0..total.max(1));
        for &c in &self.channels {
            let weight = CHANNEL_WEIGHTS[c.index()];
            if roll < weight {
                return c;
            }
            roll -= weight;
        }
        self.channels.first().copied().unwrap_or(Channel::Odds)
    }

    /// Picks the fixture a message is about, advancing fixture life cycles.
    fn pick_fixture(&mut self, channel: Channel, snapshot: bool, ts: u64) -> usize {
        let mut i = self.rng.usize(0..self.fixtures.len());
        if snapshot {
            // Snapshots are soccer (the sport with the most markets): walk to
            // the next soccer fixture. Soccer is half the pool.
            let n = self.fixtures.len();
            if let Some(found) = (0..n)
                .map(|k| (i + k) % n)
                .find(|&k| self.fixtures[k].sport == 0)
            {
                i = found;
            }
        }
        if self.fixtures[i].phase == Phase::Ended && self.rng.u32(0..4) == 0 {
            self.fixtures[i] = self.new_fixture(ts / 1000);
        }
        if matches!(channel, Channel::Scores | Channel::Clocks)
            && self.fixtures[i].phase == Phase::NotStarted
        {
            // Scores and clocks only exist for started fixtures: this one
            // kicks off now (brought forward, as rescheduled fixtures are).
            self.fixtures[i].start_secs = ts / 1000 / 60 * 60;
            self.kick_off(i, ts);
        }
        i
    }

    /// A not-yet-started fixture with a new id, kicking off within two days
    /// of `now_secs`.
    fn new_fixture(&mut self, now_secs: u64) -> Fixture {
        let rng = &mut self.rng;
        let sport_roll = rng.u32(0..SPORTS.iter().map(|s| s.weight).sum());
        let mut acc = 0;
        let sport = SPORTS
            .iter()
            .position(|s| {
                acc += s.weight;
                sport_roll < acc
            })
            .unwrap_or(0);
        let s = &SPORTS[sport];
        let tournament = rng.usize(0..s.tournaments.len());
        let participants = s.tournaments[tournament].participants.len();
        let home = rng.usize(0..participants);
        let mut away = rng.usize(0..participants - 1);
        if away >= home {
            away += 1;
        }
        let k = self.next_fixture;
        self.next_fixture += 1;
        let id = format!(
            "id{}",
            1_000_000_000_000_000 + k * 9_876_543_211 + rng.u64(0..1_000_000)
        );
        // Kick-offs on the quarter hour.
        let start_secs = (now_secs + rng.u64(900..48 * 3600)) / 900 * 900;
        let mut players = [0; PLAYERS_PER_FIXTURE];
        for p in &mut players {
            *p = rng.u32(100_000..400_000);
        }
        Fixture {
            id,
            sport,
            tournament,
            home,
            away,
            start_secs,
            players,
            phase: Phase::NotStarted,
            period: 0,
            clock_secs: 0,
            scores: Vec::new(),
            true_start_ms: None,
            true_end_ms: None,
        }
    }

    fn kick_off(&mut self, i: usize, now_ms: u64) {
        let f = &mut self.fixtures[i];
        f.phase = Phase::Live;
        f.period = 0;
        f.clock_secs = 0;
        f.scores = vec![(0, 0)];
        f.true_start_ms = Some(now_ms);
    }

    fn next_period(&mut self, i: usize, now_ms: Option<u64>) {
        let f = &mut self.fixtures[i];
        if f.period + 1 < f.sport().periods.len() {
            f.period += 1;
            f.clock_secs = 0;
            f.scores.push((0, 0));
        } else {
            f.phase = Phase::Ended;
            f.true_end_ms = now_ms;
        }
    }

    fn advance_clock(&mut self, i: usize, now_ms: u64) {
        if self.fixtures[i].phase != Phase::Live {
            return;
        }
        let step = self.rng.u32(5..90);
        let f = &mut self.fixtures[i];
        let period_secs = f.sport().period_secs;
        if period_secs == 0 {
            // Untimed periods (tennis sets) end by chance.
            if self.rng.u32(0..40) == 0 {
                self.next_period(i, Some(now_ms));
            }
            return;
        }
        f.clock_secs += step;
        if f.clock_secs >= period_secs {
            self.next_period(i, Some(now_ms));
        }
    }

    fn odds_payload(&mut self, w: &mut JsonWriter<'_>, fixture: usize, ts: u64, snapshot: bool) {
        let f = &self.fixtures[fixture];
        let sport = f.sport();
        w.key("odds");
        w.begin_obj();
        if snapshot {
            for (bk, bookmaker) in BOOKMAKERS.iter().enumerate() {
                w.key(bookmaker);
                w.begin_obj();
                for market in sport.markets {
                    let players = if market.players { 4 } else { 1 };
                    write_market(&mut self.rng, w, f, bk, market, players, ts);
                }
                w.end_obj();
            }
        } else {
            let market = &sport.markets[self.rng.usize(0..sport.markets.len())];
            let players = if market.players {
                self.rng.usize(1..=3)
            } else {
                1
            };
            let count = match self.rng.u32(0..20) {
                0..=9 => 1,
                10..=16 => 2,
                _ => 3,
            };
            let mut chosen = [usize::MAX; 3];
            for slot in 0..count {
                let mut bk = self.rng.usize(0..BOOKMAKERS.len());
                while chosen.contains(&bk) {
                    bk = (bk + 1) % BOOKMAKERS.len();
                }
                chosen[slot] = bk;
                w.key(BOOKMAKERS[bk]);
                w.begin_obj();
                write_market(&mut self.rng, w, f, bk, market, players, ts);
                w.end_obj();
            }
        }
        w.end_obj();
    }

    fn fixtures_payload(&mut self, w: &mut JsonWriter<'_>, fixture: usize, ts: u64) {
        let f = &self.fixtures[fixture];
        let sport = f.sport();
        w.key("status");
        w.begin_obj();
        let (live, status_id, status_name) = match f.phase {
            Phase::NotStarted => (false, 0, "Not started"),
            Phase::Live => (true, 1, "Live"),
            Phase::Ended => (false, 2, "Finished"),
        };
        w.key("live");
        w.bool(live);
        w.key("statusId");
        w.u64(status_id);
        w.key("statusName");
        w.str(status_name);
        w.end_obj();

        w.key("sport");
        w.begin_obj();
        w.key("sportId");
        w.u64(u64::from(sport.id));
        w.key("sportName");
        w.str(sport.name);
        w.end_obj();

        let t = &sport.tournaments[f.tournament];
        w.key("tournament");
        w.begin_obj();
        w.key("tournamentId");
        w.u64(u64::from(t.id));
        w.key("tournamentName");
        w.str(t.name);
        w.key("categoryName");
        w.str(t.category);
        w.end_obj();

        w.key("season");
        w.begin_obj();
        w.key("seasonId");
        w.u64(u64::from(t.season_id));
        w.key("seasonName");
        w.str(t.season);
        w.end_obj();

        let (home, venue, city) = t.participants[f.home];
        let (away, _, _) = t.participants[f.away];
        w.key("venue");
        w.begin_obj();
        w.key("venueId");
        w.u64(venue_id(venue));
        w.key("venueName");
        w.str(venue);
        w.key("venueCity");
        w.str(city);
        w.end_obj();

        w.key("participants");
        w.begin_obj();
        w.key("participant1Id");
        w.u64(participant_id(sport, f.tournament, f.home));
        w.key("participant1Name");
        w.str(home);
        w.key("participant2Id");
        w.u64(participant_id(sport, f.tournament, f.away));
        w.key("participant2Name");
        w.str(away);
        w.end_obj();

        w.key("startTime");
        w.u64(f.start_secs);
        w.key("trueStartTime");
        match f.true_start_ms {
            Some(ms) => w.iso_micros(ms * 1000),
            None => w.null(),
        }
        w.key("trueEndTime");
        match f.true_end_ms {
            Some(ms) => w.iso_micros(ms * 1000),
            None => w.null(),
        }
        let phase = f.phase;
        if phase != Phase::NotStarted {
            self.scores_object(w, fixture, ts);
        }
        if phase == Phase::Live {
            self.clock_object(w, fixture);
        }
    }

    fn bookmakers_payload(&mut self, w: &mut JsonWriter<'_>, ts: u64) {
        w.key("bookmakers");
        w.begin_obj();
        let count = self.rng.usize(1..=4);
        let first = self.rng.usize(0..BOOKMAKERS.len());
        let stride = self.rng.usize(1..7);
        for k in 0..count {
            let bk = BOOKMAKERS[(first + k * stride) % BOOKMAKERS.len()];
            w.key(bk);
            w.begin_obj();
            w.key("bookmaker");
            w.str(bk);
            w.key("hasOdds");
            w.bool(self.rng.u32(0..10) != 0);
            w.key("staleOdds");
            w.bool(self.rng.u32(0..30) == 0);
            w.key("suspended");
            w.bool(self.rng.u32(0..20) == 0);
            w.key("updatedAt");
            w.iso_micros(ts.saturating_sub(self.rng.u64(0..3000)) * 1000 + self.rng.u64(0..1000));
            w.end_obj();
        }
        w.end_obj();
    }

    fn scores_payload(&mut self, w: &mut JsonWriter<'_>, fixture: usize, ts: u64) {
        let f = &mut self.fixtures[fixture];
        if f.phase == Phase::Live && self.rng.u32(0..3) == 0 {
            let step = self.rng.u32(1..=f.sport().max_score_step);
            if let Some(current) = f.scores.last_mut() {
                if self.rng.bool() {
                    current.0 += step;
                } else {
                    current.1 += step;
                }
            }
        }
        self.scores_object(w, fixture, ts);
    }

    /// Writes `"scores":{"result":{..},"<period>":{..},..}`.
    fn scores_object(&mut self, w: &mut JsonWriter<'_>, fixture: usize, ts: u64) {
        let f = &self.fixtures[fixture];
        let sport = f.sport();
        let total = f
            .scores
            .iter()
            .fold((0, 0), |acc, s| (acc.0 + s.0, acc.1 + s.1));
        w.key("scores");
        w.begin_obj();
        let updated = ts * 1000 + self.rng.u64(0..1000);
        let entries = std::iter::once(("result", total))
            .chain(sport.periods.iter().copied().zip(f.scores.iter().copied()));
        for (period, (p1, p2)) in entries {
            w.key(period);
            w.begin_obj();
            w.key("period");
            w.str(period);
            w.key("participant1Score");
            w.u64(u64::from(p1));
            w.key("participant2Score");
            w.u64(u64::from(p2));
            w.key("updatedAt");
            w.iso_micros(updated);
            w.end_obj();
        }
        w.end_obj();
    }

    /// Writes `"clock":{..}` for the fixture's current state.
    fn clock_object(&mut self, w: &mut JsonWriter<'_>, fixture: usize) {
        let f = &self.fixtures[fixture];
        let sport = f.sport();
        w.key("clock");
        w.begin_obj();
        w.key("currentPeriod");
        if f.phase == Phase::NotStarted {
            w.null();
        } else {
            w.str(sport.periods.get(f.period).copied().unwrap_or("result"));
        }
        let timed = sport.period_secs > 0 && f.phase == Phase::Live;
        w.key("currentTime");
        if timed {
            let elapsed = if sport.counts_down {
                f.clock_secs
            } else {
                f.period as u32 * sport.period_secs + f.clock_secs
            };
            w.u64(u64::from(elapsed));
        } else {
            w.null();
        }
        let counting_down = timed && sport.counts_down;
        let left_in_period = sport.period_secs.saturating_sub(f.clock_secs);
        w.key("remainingTime");
        if counting_down {
            let later = (sport.periods.len() - f.period - 1) as u32 * sport.period_secs;
            w.u64(u64::from(left_in_period + later));
        } else {
            w.null();
        }
        w.key("remainingTimeInPeriod");
        if counting_down {
            w.u64(u64::from(left_in_period));
        } else {
            w.null();
        }
        w.key("stopped");
        match f.phase {
            Phase::Live if sport.period_secs > 0 => w.bool(self.rng.u32(0..4) == 0),
            Phase::Live => w.null(),
            _ => w.bool(true),
        }
        w.end_obj();
    }
}

/// A stable participant id: unique per (sport, tournament, index).
fn participant_id(sport: &Sport, tournament: usize, index: usize) -> u64 {
    100_000 + u64::from(sport.id) * 1000 + tournament as u64 * 100 + index as u64
}

/// A stable venue id derived from its name (FNV-1a), so teams sharing a
/// ground share the id.
fn venue_id(name: &str) -> u64 {
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    5000 + hash % 90_000
}

/// Writes every outcome of `market` for one bookmaker, as
/// `"<oddsId>":{..}` entries of the bookmaker's object.
fn write_market(
    rng: &mut Rng,
    w: &mut JsonWriter<'_>,
    f: &Fixture,
    bk: usize,
    market: &Market,
    players: usize,
    ts: u64,
) {
    let bookmaker = BOOKMAKERS[bk];
    let market_active = match rng.u32(0..30) {
        0 => Some(false),
        1..=3 => None,
        _ => Some(true),
    };
    let main_line = market.lines.then(|| rng.u32(0..3) != 0);
    for &player in f.players.iter().take(players) {
        for (k, &outcome) in market.outcomes.iter().enumerate() {
            let player_id = if market.players { player } else { 0 };
            let cents = match (market.players, market.outcomes.len()) {
                (true, _) => rng.u32(180..=1500),
                (false, 3) => rng.u32(130..=900),
                _ => rng.u32(140..=290),
            };
            let changed_at = ts.saturating_sub(rng.u64(0..1500));

            // oddsId = <fixtureId>:<bookmaker>:<outcomeId>:<playerId>
            w.open_key();
            w.raw(&f.id);
            w.raw(":");
            w.raw(bookmaker);
            w.raw(":");
            w.u64(u64::from(outcome));
            w.raw(":");
            w.u64(u64::from(player_id));
            w.close_key();
            w.begin_obj();
            w.key("bookmaker");
            w.str(bookmaker);
            w.key("outcomeId");
            w.u64(u64::from(outcome));
            w.key("playerId");
            w.u64(u64::from(player_id));
            w.key("marketId");
            w.u64(u64::from(market.id));
            w.key("price");
            w.hundredths(cents);
            w.key("priceFractional");
            let (num, den) = fractional(cents);
            w.open_str();
            w.u64(u64::from(num));
            w.raw("/");
            w.u64(u64::from(den));
            w.close_str();
            w.key("priceAmerican");
            w.i64(american(cents));
            w.key("active");
            w.bool(rng.u32(0..20) != 0);
            w.key("changedAt");
            w.u64(changed_at);
            w.key("marketActive");
            match market_active {
                Some(b) => w.bool(b),
                None => w.null(),
            }
            w.key("mainLine");
            match main_line {
                Some(b) => w.bool(b),
                None => w.null(),
            }
            w.key("limit");
            if vocab::publishes_limit(bk) {
                w.u64(rng.u64(10..=400) * 50);
            } else {
                w.null();
            }
            w.key("betslip");
            if vocab::has_betslip(bk) {
                w.open_str();
                w.raw("https://www.");
                w.raw(bookmaker);
                w.raw(".example/betslip?fixture=");
                w.raw(&f.id);
                w.raw("&outcome=");
                w.u64(u64::from(outcome));
                w.close_str();
            } else {
                w.null();
            }
            w.key("meta");
            w.null();
            w.key("bookmakerMarketId");
            w.str(market.slug);
            w.key("bookmakerOutcomeId");
            let slug = market.outcome_slugs.get(k).copied().unwrap_or("outcome");
            if market.players {
                w.open_str();
                w.raw(slug);
                w.raw("-");
                w.u64(u64::from(player_id));
                w.close_str();
            } else {
                w.str(slug);
            }
            w.key("bookmakerChangedAt");
            if rng.u32(0..5) == 0 {
                w.null();
            } else {
                w.u64(changed_at.saturating_sub(rng.u64(0..800)));
            }
            w.end_obj();
        }
    }
}

/// Fractional odds for a decimal price in hundredths: `245` → `29/20`.
fn fractional(cents: u32) -> (u32, u32) {
    let num = cents.saturating_sub(100).max(1);
    let g = gcd(num, 100);
    (num / g, 100 / g)
}

/// American odds for a decimal price in hundredths: `245` → `145`, `150` → `-200`.
fn american(cents: u32) -> i64 {
    let profit = i64::from(cents.saturating_sub(100).max(1));
    if profit >= 100 {
        profit
    } else {
        -((10_000 + profit / 2) / profit)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests;
