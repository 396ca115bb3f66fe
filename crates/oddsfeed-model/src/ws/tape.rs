//! A direct reader of simd-json's tape for data messages, the bulk of the feed.
//!
//! The serde reader ([`FastData`](super::data::FastData)) walks the same tape through
//! visitors, field identifiers and `Option` wrappers; this reader matches keys and node
//! types itself and builds the typed values straight away. It accepts only documents it
//! can read exactly as serde_json does: an object with a string `channel`, a `payload`
//! that fits the channel's typed view (any payload for an untyped channel), and a
//! non-control `type`. For anything else (a duplicate key, a payload that does not fit
//! its view, an unusual spelling) it answers `None` and the caller runs the serde reader
//! over the same tape, which handles every case. So a `None` never changes a result, it
//! only costs time.
//!
//! The rules mirrored here are those of the derive-based views in
//! [`payload`](super::payload) and of [`lenient`](crate::lenient): required fields,
//! `#[serde(default)]` fields, null as `None`, ids as strings or integers, numbers as
//! integers or strings of digits, unknown keys ignored, [`VecMap`]'s last-wins order, and
//! JSON kept as [`Value`] the way serde_json builds it.

use serde_json::{Map, Number, Value};
use simd_json::StaticNode;
use simd_json::tape::Node;

use super::control::is_control_type;
use super::data::DataParts;
use super::payload::{
    BookmakerState, BookmakersPayload, ClockState, ClocksPayload, FixturePayload, FixtureStatus,
    OddsPayload, Outcome, Payload, PeriodScore, ScoresPayload, UntypedPayload,
};
use super::small_str::SmallStr;
use super::vec_map::VecMap;

/// The number of tape nodes the value at `node` spans (itself included).
fn span(node: &Node<'_>) -> usize {
    match node {
        Node::Object { count, .. } | Node::Array { count, .. } => count + 1,
        Node::String(_) | Node::Static(_) => 1,
    }
}

/// Calls `f` with each key of the object at `nodes[at]` and the index of its value, in
/// document order. `None` if that node is not an object or `f` gives up.
pub(super) fn each_entry<'i>(
    nodes: &[Node<'i>],
    at: usize,
    mut f: impl FnMut(&'i str, usize) -> Option<()>,
) -> Option<()> {
    let Node::Object { len, .. } = *nodes.get(at)? else {
        return None;
    };
    let mut idx = at + 1;
    for _ in 0..len {
        let Node::String(key) = *nodes.get(idx)? else {
            return None;
        };
        let value = idx + 1;
        idx = value + span(nodes.get(value)?);
        f(key, value)?;
    }
    Some(())
}

/// Fills an empty slot; `None` (give up) if the key was already seen. serde's derive
/// refuses duplicate fields, so the serde reader fails too and the generic reading
/// (last value wins) decides.
pub(super) fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// Reads a whole document: the parts of a data message, or `None` (see the module docs).
///
/// With `source`, an untyped channel's object or array payload is kept as its text (see
/// [`kept_text`]) instead of being built into a [`Value`].
pub(crate) fn read_data_message(
    nodes: &[Node<'_>],
    source: Option<Source<'_>>,
) -> Option<DataParts> {
    read_data_with(nodes, |channel, nodes, at| {
        read_payload(channel, nodes, at, source)
    })
}

/// The text a tape was built from, for [`kept_text`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source<'t> {
    /// The document as received, before simd-json rewrote its buffer.
    pub(crate) text: &'t str,
    /// The address of the buffer simd-json parsed (a copy of `text`, same length): its strings
    /// lie in it, at their places in the text (simd-json unescapes in place).
    pub(crate) parsed_at: usize,
}

impl Source<'_> {
    /// Where the tape string `s` starts in the text, if it lies in the parsed buffer.
    fn offset_of(self, s: &str) -> Option<usize> {
        // Only the address is used (compared and subtracted), never dereferenced.
        let at = (s.as_ptr() as usize).checked_sub(self.parsed_at)?;
        (at + s.len() <= self.text.len()).then_some(at)
    }
}

/// JSON whitespace.
fn is_json_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// The text of an untyped payload at `nodes[at]` (an object or an array, numbers all finite),
/// sliced from the document as received; `None` to build the [`Value`] instead.
///
/// The payload's key and the next key of the envelope (if any) are located by where their
/// strings lie in the parsed buffer; every step is checked against the text (the quotes, the
/// key's spelling, the `:` and `,` around, the brackets at both ends), so anything unexpected
/// (an escaped key, a string simd-json did not leave in place) answers `None`.
fn kept_text<'t>(nodes: &[Node<'_>], at: usize, source: Source<'t>) -> Option<&'t str> {
    let (open, close) = match nodes.get(at)? {
        Node::Object { .. } => (b'{', b'}'),
        Node::Array { .. } => (b'[', b']'),
        _ => return None,
    };
    let end_of_payload = at + span(nodes.get(at)?);
    // serde_json refuses numbers out of range, which simd-json reads as infinite.
    let finite = nodes
        .get(at..end_of_payload)?
        .iter()
        .all(|node| match node {
            Node::Static(StaticNode::F64(f)) => f.is_finite(),
            _ => true,
        });
    if !finite {
        return None;
    }
    let text = source.text.as_bytes();
    // `"payload"`, then `:` between optional whitespace.
    let Node::String(key) = *nodes.get(at.checked_sub(1)?)? else {
        return None;
    };
    let key_at = source.offset_of(key)?;
    if key_at == 0
        || text.get(key_at - 1) != Some(&b'"')
        || text.get(key_at..key_at + 8) != Some(b"payload\"".as_slice())
    {
        return None;
    }
    let mut start = key_at + 8;
    while text.get(start).copied().is_some_and(is_json_ws) {
        start += 1;
    }
    if text.get(start) != Some(&b':') {
        return None;
    }
    start += 1;
    while text.get(start).copied().is_some_and(is_json_ws) {
        start += 1;
    }
    // The end: before `,` and the next key's opening quote, or before the document's `}`.
    let Node::Object { count, .. } = *nodes.first()? else {
        return None;
    };
    let mut end = if end_of_payload < 1 + count {
        let Node::String(next) = *nodes.get(end_of_payload)? else {
            return None;
        };
        let next_at = source.offset_of(next)?.checked_sub(1)?;
        if text.get(next_at) != Some(&b'"') {
            return None;
        }
        let mut end = next_at;
        while end > 0 && text.get(end - 1).copied().is_some_and(is_json_ws) {
            end -= 1;
        }
        if end == 0 || text.get(end - 1) != Some(&b',') {
            return None;
        }
        end - 1
    } else {
        let mut end = text.len();
        while end > 0 && text.get(end - 1).copied().is_some_and(is_json_ws) {
            end -= 1;
        }
        if end == 0 || text.get(end - 1) != Some(&b'}') {
            return None;
        }
        end - 1
    };
    while end > start && text.get(end - 1).copied().is_some_and(is_json_ws) {
        end -= 1;
    }
    if end <= start + 1 || text.get(start) != Some(&open) || text.get(end - 1) != Some(&close) {
        return None;
    }
    source.text.get(start..end)
}

/// Reads a data message's envelope (`channel`, `type`, `ts`, `entryId`, a `payload` key seen
/// once) and hands the payload's channel and tape position to `payload`: the typed reader, or
/// the envelope-only mode's (`super::envelope`), which does not look at it.
pub(super) fn read_data_with(
    nodes: &[Node<'_>],
    payload_of: impl FnOnce(&str, &[Node<'_>], usize) -> Option<Payload>,
) -> Option<DataParts> {
    let mut channel: Option<&str> = None;
    let mut kind: Option<&str> = None;
    let mut ts: Option<Option<u64>> = None;
    let mut entry_id = None;
    let mut payload: Option<usize> = None;
    each_entry(nodes, 0, |key, at| {
        let node = nodes.get(at)?;
        match key {
            "channel" => match node {
                Node::String(s) => set(&mut channel, *s),
                _ => None,
            },
            "type" => {
                let text = match node {
                    Node::String(s) if is_control_type(s) => return None,
                    Node::String(s) => s,
                    // `kind` is empty when `type` is not a string.
                    _ => "",
                };
                set(&mut kind, text)
            }
            "ts" => set(&mut ts, as_u64(node)),
            "entryId" => {
                let id = match node {
                    Node::String(s) => match s.parse() {
                        Ok(id) => (Some(id), None),
                        Err(_) => (None, Some((*s).to_owned())),
                    },
                    Node::Static(StaticNode::Null) => (None, None),
                    // Any other JSON value is kept as its compact text.
                    _ => (None, Some(to_value(nodes, at)?.to_string())),
                };
                set(&mut entry_id, id)
            }
            "payload" => set(&mut payload, at),
            _ => Some(()),
        }
    })?;
    let channel = channel?;
    let payload = payload_of(channel, nodes, payload?)?;
    let (entry_id, entry_id_raw) = entry_id.unwrap_or((None, None));
    Some(DataParts {
        channel: channel.to_owned(),
        kind: kind.unwrap_or("").to_owned(),
        ts: ts.flatten(),
        entry_id,
        entry_id_raw,
        payload,
        typed_error: None,
    })
}

/// The payload at `nodes[at]` typed by `channel`, as
/// [`PayloadSeed`](super::payload::PayloadSeed) types it; `None` if it does not fit. Another
/// channel's payload is kept as its text when `source` allows ([`kept_text`]).
fn read_payload(
    channel: &str,
    nodes: &[Node<'_>],
    at: usize,
    source: Option<Source<'_>>,
) -> Option<Payload> {
    Some(match channel {
        "odds" => Payload::Odds(read_odds(nodes, at)?),
        "fixtures" => Payload::Fixtures(Box::new(read_fixture(nodes, at)?)),
        "bookmakers" | "bookmakersFutures" => Payload::Bookmakers(read_bookmakers(nodes, at)?),
        "scores" => Payload::Scores(read_scores(nodes, at)?),
        "clocks" => Payload::Clocks(Box::new(read_clocks(nodes, at)?)),
        _ => match source.and_then(|source| kept_text(nodes, at, source)) {
            Some(text) => Payload::Other(UntypedPayload::from_text(text)),
            None => Payload::Other(to_value(nodes, at)?.into()),
        },
    })
}

/// The value at `nodes[at]` as serde_json's [`Value`]: numbers as serde_json reads them
/// from text (non-negative integers as unsigned, negative ones as signed, the rest as
/// floats), objects in document order with the last of repeated keys winning at the first
/// one's place. `None` for a non-finite float, which serde_json never reads.
fn to_value(nodes: &[Node<'_>], at: usize) -> Option<Value> {
    Some(match *nodes.get(at)? {
        Node::String(s) => Value::String(s.to_owned()),
        Node::Static(StaticNode::Null) => Value::Null,
        Node::Static(StaticNode::Bool(b)) => Value::Bool(b),
        Node::Static(StaticNode::U64(n)) => Value::from(n),
        Node::Static(StaticNode::I64(n)) => Value::from(n),
        Node::Static(StaticNode::F64(f)) => Value::Number(Number::from_f64(f)?),
        Node::Array { len, .. } => {
            // `len` elements are on the tape, so this is bounded by the input's size.
            let mut items = Vec::with_capacity(len);
            let mut idx = at + 1;
            for _ in 0..len {
                items.push(to_value(nodes, idx)?);
                idx += span(nodes.get(idx)?);
            }
            Value::Array(items)
        }
        Node::Object { len, .. } => {
            // `len` keys are on the tape, so this is bounded by the input's size.
            let mut map = Map::with_capacity(len);
            each_entry(nodes, at, |key, v| {
                map.insert(key.to_owned(), to_value(nodes, v)?);
                Some(())
            })?;
            Value::Object(map)
        }
        // 128-bit integers, should simd-json's `128bit` feature ever be enabled.
        #[allow(unreachable_patterns)]
        Node::Static(_) => return None,
    })
}

/// An `Option<Value>` field: `null` as `Some(None)`.
fn nullable_value(nodes: &[Node<'_>], at: usize) -> Option<Option<Value>> {
    match nodes.get(at)? {
        Node::Static(StaticNode::Null) => Some(None),
        _ => to_value(nodes, at).map(Some),
    }
}

/// A [`FixturePayload`].
fn read_fixture(nodes: &[Node<'_>], at: usize) -> Option<FixturePayload> {
    let mut fixture_id = None;
    let mut status = None;
    let mut sport = None;
    let mut tournament = None;
    let mut season = None;
    let mut venue = None;
    let mut participants = None;
    let mut start_time = None;
    let mut true_start_time = None;
    let mut true_end_time = None;
    let mut scores = None;
    let mut clock = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "fixtureId" => set(&mut fixture_id, id_text::<String>(node)?),
            "status" => {
                let read = match node {
                    Node::Static(StaticNode::Null) => None,
                    _ => Some(read_fixture_status(nodes, v)?),
                };
                set(&mut status, read)
            }
            "sport" => set(&mut sport, nullable_value(nodes, v)?),
            "tournament" => set(&mut tournament, nullable_value(nodes, v)?),
            "season" => set(&mut season, nullable_value(nodes, v)?),
            "venue" => set(&mut venue, nullable_value(nodes, v)?),
            "participants" => set(&mut participants, nullable_value(nodes, v)?),
            "startTime" => set(&mut start_time, nullable(node, unsigned)?),
            "trueStartTime" => set(&mut true_start_time, nullable(node, string)?),
            "trueEndTime" => set(&mut true_end_time, nullable(node, string)?),
            "scores" => set(&mut scores, nullable_value(nodes, v)?),
            "clock" => set(&mut clock, nullable_value(nodes, v)?),
            _ => Some(()),
        }
    })?;
    Some(FixturePayload {
        fixture_id: fixture_id?,
        status: status.flatten(),
        sport: sport.flatten(),
        tournament: tournament.flatten(),
        season: season.flatten(),
        venue: venue.flatten(),
        participants: participants.flatten(),
        start_time: start_time.flatten(),
        true_start_time: true_start_time.flatten(),
        true_end_time: true_end_time.flatten(),
        scores: scores.flatten(),
        clock: clock.flatten(),
    })
}

/// A [`FixtureStatus`].
fn read_fixture_status(nodes: &[Node<'_>], at: usize) -> Option<FixtureStatus> {
    let mut live = None;
    let mut status_id = None;
    let mut status_name = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "live" => set(&mut live, nullable(node, boolean)?),
            "statusId" => set(&mut status_id, nullable(node, signed)?),
            "statusName" => set(&mut status_name, nullable(node, string)?),
            _ => Some(()),
        }
    })?;
    Some(FixtureStatus {
        live: live.flatten(),
        status_id: status_id.flatten(),
        status_name: status_name.flatten(),
    })
}

/// A [`BookmakersPayload`].
fn read_bookmakers(nodes: &[Node<'_>], at: usize) -> Option<BookmakersPayload> {
    let mut fixture_id = None;
    let mut future_id = None;
    let mut bookmakers = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "fixtureId" => set(&mut fixture_id, nullable(node, id_text::<String>)?),
            "futureId" => set(&mut future_id, nullable(node, id_text::<String>)?),
            "bookmakers" => set(
                &mut bookmakers,
                read_map(nodes, v, |state| read_bookmaker_state(nodes, state))?,
            ),
            _ => Some(()),
        }
    })?;
    Some(BookmakersPayload {
        fixture_id: fixture_id.flatten(),
        future_id: future_id.flatten(),
        bookmakers: bookmakers.unwrap_or_default(),
    })
}

/// A [`BookmakerState`].
fn read_bookmaker_state(nodes: &[Node<'_>], at: usize) -> Option<BookmakerState> {
    let mut bookmaker = None;
    let mut has_odds = None;
    let mut stale_odds = None;
    let mut suspended = None;
    let mut updated_at = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "bookmaker" => set(&mut bookmaker, nullable(node, string)?),
            "hasOdds" => set(&mut has_odds, nullable(node, boolean)?),
            "staleOdds" => set(&mut stale_odds, nullable(node, boolean)?),
            "suspended" => set(&mut suspended, nullable(node, boolean)?),
            "updatedAt" => set(&mut updated_at, nullable_value(nodes, v)?),
            _ => Some(()),
        }
    })?;
    Some(BookmakerState {
        bookmaker: bookmaker.flatten(),
        has_odds: has_odds.flatten(),
        stale_odds: stale_odds.flatten(),
        suspended: suspended.flatten(),
        updated_at: updated_at.flatten(),
    })
}

/// A [`ScoresPayload`].
fn read_scores(nodes: &[Node<'_>], at: usize) -> Option<ScoresPayload> {
    let mut fixture_id = None;
    let mut scores = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "fixtureId" => set(&mut fixture_id, nullable(node, id_text::<String>)?),
            "scores" => set(
                &mut scores,
                read_map(nodes, v, |score| read_period_score(nodes, score))?,
            ),
            _ => Some(()),
        }
    })?;
    Some(ScoresPayload {
        fixture_id: fixture_id.flatten(),
        scores: scores.unwrap_or_default(),
    })
}

/// A [`PeriodScore`].
fn read_period_score(nodes: &[Node<'_>], at: usize) -> Option<PeriodScore> {
    let mut period = None;
    let mut participant1_score = None;
    let mut participant2_score = None;
    let mut updated_at = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "period" => set(&mut period, nullable(node, string)?),
            "participant1Score" => set(&mut participant1_score, nullable(node, signed)?),
            "participant2Score" => set(&mut participant2_score, nullable(node, signed)?),
            "updatedAt" => set(&mut updated_at, nullable(node, string)?),
            _ => Some(()),
        }
    })?;
    Some(PeriodScore {
        period: period.flatten(),
        participant1_score: participant1_score.flatten(),
        participant2_score: participant2_score.flatten(),
        updated_at: updated_at.flatten(),
    })
}

/// A [`ClocksPayload`].
fn read_clocks(nodes: &[Node<'_>], at: usize) -> Option<ClocksPayload> {
    let mut fixture_id = None;
    let mut clock = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "fixtureId" => set(&mut fixture_id, nullable(node, id_text::<String>)?),
            "clock" => {
                let read = match node {
                    Node::Static(StaticNode::Null) => None,
                    _ => Some(read_clock_state(nodes, v)?),
                };
                set(&mut clock, read)
            }
            _ => Some(()),
        }
    })?;
    Some(ClocksPayload {
        fixture_id: fixture_id.flatten(),
        clock: clock.flatten(),
    })
}

/// A [`ClockState`].
fn read_clock_state(nodes: &[Node<'_>], at: usize) -> Option<ClockState> {
    let mut current_period = None;
    let mut current_time = None;
    let mut remaining_time = None;
    let mut remaining_time_in_period = None;
    let mut stopped = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "currentPeriod" => set(&mut current_period, nullable(node, id_text::<String>)?),
            "currentTime" => set(&mut current_time, nullable_value(nodes, v)?),
            "remainingTime" => set(&mut remaining_time, nullable_value(nodes, v)?),
            "remainingTimeInPeriod" => {
                set(&mut remaining_time_in_period, nullable_value(nodes, v)?)
            }
            "stopped" => set(&mut stopped, nullable(node, boolean)?),
            _ => Some(()),
        }
    })?;
    Some(ClockState {
        current_period: current_period.flatten(),
        current_time: current_time.flatten(),
        remaining_time: remaining_time.flatten(),
        remaining_time_in_period: remaining_time_in_period.flatten(),
        stopped: stopped.flatten(),
    })
}

/// `serde_json::Value::as_u64` of the node.
fn as_u64(node: &Node<'_>) -> Option<u64> {
    match *node {
        Node::Static(StaticNode::U64(n)) => Some(n),
        Node::Static(StaticNode::I64(n)) => u64::try_from(n).ok(),
        _ => None,
    }
}

/// An [`OddsPayload`].
fn read_odds(nodes: &[Node<'_>], at: usize) -> Option<OddsPayload> {
    let mut fixture_id: Option<String> = None;
    let mut odds = None;
    each_entry(nodes, at, |key, v| match key {
        "fixtureId" => set(&mut fixture_id, id_text(nodes.get(v)?)?),
        "odds" => {
            let by_bookmaker = read_map(nodes, v, |bk| {
                read_map(nodes, bk, |outcome| read_outcome(nodes, outcome))
            })?;
            set(&mut odds, by_bookmaker)
        }
        _ => Some(()),
    })?;
    Some(OddsPayload {
        fixture_id: fixture_id?,
        odds: odds.unwrap_or_default(),
    })
}

/// A [`VecMap`] whose values `read` reads (given their node index).
fn read_map<V>(
    nodes: &[Node<'_>],
    at: usize,
    mut read: impl FnMut(usize) -> Option<V>,
) -> Option<VecMap<V>> {
    let Node::Object { len, .. } = *nodes.get(at)? else {
        return None;
    };
    // `len` keys are on the tape, so this is bounded by the input's size.
    let mut entries = Vec::with_capacity(len);
    each_entry(nodes, at, |key, v| {
        entries.push((key.to_owned(), read(v)?));
        Some(())
    })?;
    Some(VecMap::from_entries(entries))
}

/// An [`Outcome`].
fn read_outcome(nodes: &[Node<'_>], at: usize) -> Option<Outcome> {
    let mut bookmaker = None;
    let mut outcome_id = None;
    let mut player_id = None;
    let mut market_id = None;
    let mut price = None;
    let mut price_fractional = None;
    let mut price_american = None;
    let mut active = None;
    let mut changed_at = None;
    let mut market_active = None;
    let mut main_line = None;
    let mut limit = None;
    let mut betslip = None;
    let mut meta = None;
    let mut bookmaker_market_id = None;
    let mut bookmaker_outcome_id = None;
    let mut bookmaker_changed_at = None;
    each_entry(nodes, at, |key, v| {
        let node = nodes.get(v)?;
        match key {
            "bookmaker" => set(&mut bookmaker, small_str(node)?),
            "outcomeId" => set(&mut outcome_id, unsigned(node)?),
            "playerId" => set(&mut player_id, unsigned(node)?),
            "marketId" => set(&mut market_id, unsigned(node)?),
            "price" => set(&mut price, float(node)?),
            "priceFractional" => set(&mut price_fractional, nullable(node, small_str)?),
            "priceAmerican" => set(&mut price_american, nullable(node, signed)?),
            "active" => set(&mut active, boolean(node)?),
            "changedAt" => set(&mut changed_at, nullable(node, unsigned)?),
            "marketActive" => set(&mut market_active, nullable(node, boolean)?),
            "mainLine" => set(&mut main_line, nullable(node, boolean)?),
            "limit" => set(&mut limit, nullable(node, float)?),
            "betslip" => set(&mut betslip, nullable_value(nodes, v)?),
            "meta" => set(&mut meta, nullable_value(nodes, v)?),
            "bookmakerMarketId" => set(&mut bookmaker_market_id, nullable(node, id_text)?),
            "bookmakerOutcomeId" => set(&mut bookmaker_outcome_id, nullable(node, id_text)?),
            "bookmakerChangedAt" => set(&mut bookmaker_changed_at, nullable(node, unsigned)?),
            _ => Some(()),
        }
    })?;
    Some(Outcome {
        bookmaker: bookmaker?,
        outcome_id: outcome_id?,
        player_id: player_id.unwrap_or(0),
        market_id: market_id?,
        price: price?,
        price_fractional: price_fractional.flatten(),
        price_american: price_american.flatten(),
        active: active?,
        changed_at: changed_at.flatten(),
        market_active: market_active.flatten(),
        main_line: main_line.flatten(),
        limit: limit.flatten(),
        betslip: betslip.flatten(),
        meta: meta.flatten(),
        bookmaker_market_id: bookmaker_market_id.flatten(),
        bookmaker_outcome_id: bookmaker_outcome_id.flatten(),
        bookmaker_changed_at: bookmaker_changed_at.flatten(),
    })
}

/// `null` as `Some(None)`, anything else read by `read`: an `Option<T>` field.
#[inline]
fn nullable<T>(node: &Node<'_>, read: impl FnOnce(&Node<'_>) -> Option<T>) -> Option<Option<T>> {
    match node {
        Node::Static(StaticNode::Null) => Some(None),
        _ => read(node).map(Some),
    }
}

/// A string (serde's `deserialize_str`).
fn small_str(node: &Node<'_>) -> Option<SmallStr> {
    match *node {
        Node::String(s) => Some(SmallStr::from(s)),
        _ => None,
    }
}

/// A boolean.
fn boolean(node: &Node<'_>) -> Option<bool> {
    match *node {
        Node::Static(StaticNode::Bool(b)) => Some(b),
        _ => None,
    }
}

/// Any number, as serde's `f64` reads it (integers converted with `as`).
#[allow(clippy::cast_precision_loss)]
fn float(node: &Node<'_>) -> Option<f64> {
    match *node {
        Node::Static(StaticNode::F64(f)) => Some(f),
        Node::Static(StaticNode::U64(n)) => Some(n as f64),
        Node::Static(StaticNode::I64(n)) => Some(n as f64),
        _ => None,
    }
}

/// `lenient::id`: a string, or an integer kept as its decimal text.
fn id_text<T: for<'a> From<&'a str> + From<String>>(node: &Node<'_>) -> Option<T> {
    match *node {
        Node::String(s) => Some(T::from(s)),
        Node::Static(StaticNode::U64(n)) => Some(T::from(n.to_string())),
        Node::Static(StaticNode::I64(n)) => Some(T::from(n.to_string())),
        _ => None,
    }
}

/// `lenient::unsigned`: a non-negative integer or a string of ASCII digits.
fn unsigned(node: &Node<'_>) -> Option<u64> {
    match *node {
        Node::Static(StaticNode::U64(n)) => Some(n),
        Node::Static(StaticNode::I64(n)) => u64::try_from(n).ok(),
        Node::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    }
}

/// `lenient::opt_signed`'s inner reader: an integer, or a string holding an optional sign
/// and digits.
fn signed(node: &Node<'_>) -> Option<i64> {
    match *node {
        Node::Static(StaticNode::I64(n)) => Some(n),
        Node::Static(StaticNode::U64(n)) => i64::try_from(n).ok(),
        Node::String(s) => {
            let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.strip_prefix('+').unwrap_or(s).parse().ok()
        }
        _ => None,
    }
}

/// A string, owned (`Option<String>` fields).
fn string(node: &Node<'_>) -> Option<String> {
    match *node {
        Node::String(s) => Some(s.to_owned()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::data::FastData;
    use crate::ws::{DataMessage, WsMessage, parse_ws_fast, parse_ws_json};
    use serde::Deserialize;

    /// The direct reader's and the serde reader's results on the same tape.
    fn readers(text: &str) -> (Option<DataMessage>, Option<DataMessage>) {
        let mut buf = text.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut buf).expect("valid JSON");
        let direct = read_data_message(&tape.0, None).map(|p| p.with_raw(String::new()));
        let mut deserializer = simd_json::Deserializer::from_tape(tape);
        let serde = FastData::deserialize(&mut deserializer)
            .ok()
            .map(|FastData(p)| p.with_raw(String::new()));
        (direct, serde)
    }

    /// The fast path (through the whole parser) and the plain path agree; returns the plain result.
    fn paths_agree(text: &str) -> Result<WsMessage, crate::ModelError> {
        let plain = parse_ws_json(text.as_bytes());
        let fast = parse_ws_fast(&mut text.as_bytes().to_vec());
        assert_eq!(fast, plain, "fast and plain paths differ on {text}");
        plain
    }

    /// The direct reader takes `text`, and gives what the serde reader and serde_json give.
    fn accepts(text: &str) -> DataMessage {
        let (direct, serde) = readers(text);
        let direct = direct.unwrap_or_else(|| panic!("the tape reader declined {text}"));
        assert_eq!(Some(&direct), serde.as_ref(), "{text}");
        let Ok(WsMessage::Data(plain)) = paths_agree(text) else {
            panic!("not data: {text}")
        };
        assert_eq!(
            DataMessage {
                raw: String::new(),
                ..plain.clone()
            },
            direct,
            "{text}"
        );
        plain
    }

    /// The direct reader declines `text`; the paths still agree.
    fn declines(text: &str) {
        let (direct, _) = readers(text);
        assert_eq!(direct, None, "the tape reader took {text}");
        paths_agree(text).ok();
    }

    fn odds_with(outcome_fields: &str) -> String {
        format!(
            r#"{{"channel":"odds","type":"UPDATE","payload":{{"fixtureId":"f1","odds":{{"bk":{{"f1:bk:1:0":{{"bookmaker":"bk","outcomeId":1,"marketId":1,"price":2.5,"active":true{outcome_fields}}}}}}}}},"ts":5,"entryId":"5-1"}}"#
        )
    }

    #[test]
    fn usual_spellings_are_read_directly() {
        let d = accepts(&odds_with(""));
        let Payload::Odds(odds) = &d.payload else {
            panic!("{d:?}")
        };
        let (_, o) = odds.outcomes().next().unwrap_or_else(|| panic!("{d:?}"));
        assert_eq!((o.player_id, o.price_american, o.limit), (0, None, None));
        for fields in [
            r#","playerId":7,"priceFractional":"3/2","priceAmerican":150,"changedAt":1766399999361"#,
            r#","priceAmerican":-227,"marketActive":true,"mainLine":false,"limit":11450"#,
            r#","priceAmerican":"+120","limit":12.5,"betslip":"https://x.example/b?o=1""#,
            r#","priceAmerican":"-9223372036854775808","betslip":true,"meta":false"#,
            r#","priceFractional":null,"priceAmerican":null,"changedAt":null,"marketActive":null"#,
            r#","mainLine":null,"limit":null,"betslip":null,"meta":null,"bookmakerMarketId":null"#,
            r#","bookmakerOutcomeId":null,"bookmakerChangedAt":null"#,
            r#","bookmakerMarketId":"moneyline","bookmakerOutcomeId":55,"bookmakerChangedAt":"17""#,
            r#","bookmakerMarketId":-3,"changedAt":18446744073709551615,"playerId":"0012""#,
            r#","unknown":{"nested":[1,{"a":null}]},"another":[],"x":"\u0041\n""#,
            r#","\u0070layerId":3"#,
        ] {
            accepts(&odds_with(fields));
        }
        // integers for the price, ids and numbers as strings, an integer fixture id
        accepts(
            r#"{"channel":"odds","payload":{"fixtureId":123,"odds":{"bk":{"k":{"bookmaker":"bk","outcomeId":"101","marketId":"0","price":2,"active":false}}}}}"#,
        );
        // the fields in another order, with unknown keys in between
        accepts(
            r#"{"channel":"odds","payload":{"odds":{"bk":{"k":{"bookmakerChangedAt":3,"x":1,"active":true,"price":1.25,"meta":"m","marketId":4,"outcomeId":5,"y":null,"bookmaker":"bk","playerId":6,"priceAmerican":-400}}},"fixtureId":"f"}}"#,
        );
        // no odds, empty odds, empty bookmaker
        accepts(r#"{"channel":"odds","payload":{"fixtureId":"f"}}"#);
        accepts(r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{}}}"#);
        accepts(r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"bk":{}}}}"#);
    }

    #[test]
    fn envelope_variants() {
        // payload before channel; no type, ts or entryId; odd types and timestamps
        for text in [
            r#"{"payload":{"fixtureId":"f"},"channel":"odds","type":"UPDATE","entryId":"1-1"}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"type":7,"ts":"1"}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"type":["UPDATE"],"ts":1.5}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"type":"login","ts":-1}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"ts":18446744073709551615}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":null,"extra":{}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":"x-1"}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":"1\u002d2"}"#,
        ] {
            accepts(text);
        }
        // numbers simd-json refuses or reads differently are not read here at all
        for number in [
            "18446744073709551616",
            "1e400",
            "-1e400",
            "1e-400",
            "-0",
            "-0.0",
        ] {
            paths_agree(&odds_with(&format!(r#","limit":{number}"#))).ok();
            paths_agree(&format!(
                r#"{{"channel":"odds","payload":{{"fixtureId":"f"}},"ts":{number}}}"#
            ))
            .ok();
        }
    }

    /// Every outcome key, with a value the reader takes.
    const OUTCOME_FIELDS: [(&str, &str); 17] = [
        ("bookmaker", r#""bk""#),
        ("outcomeId", "1"),
        ("playerId", r#""7""#),
        ("marketId", "1"),
        ("price", "2.5"),
        ("priceFractional", r#""3/2""#),
        ("priceAmerican", "150"),
        ("active", "true"),
        ("changedAt", "17"),
        ("marketActive", "false"),
        ("mainLine", "null"),
        ("limit", "10"),
        ("betslip", r#"{"a":[1]}"#),
        ("meta", r#""m""#),
        ("bookmakerMarketId", "12"),
        ("bookmakerOutcomeId", r#""home""#),
        ("bookmakerChangedAt", r#""18""#),
    ];

    fn outcome_message(fields: &[(&str, &str)]) -> String {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!(r#""{k}":{v}"#))
            .collect();
        format!(
            r#"{{"channel":"odds","payload":{{"fixtureId":"f","odds":{{"bk":{{"k":{{{}}}}}}}}}}}"#,
            body.join(",")
        )
    }

    #[test]
    fn outcome_keys_each_read_once_required_ones_needed() {
        let all = accepts(&outcome_message(&OUTCOME_FIELDS));
        let Payload::Odds(odds) = &all.payload else {
            panic!("{all:?}")
        };
        let o = &odds.odds["bk"]["k"];
        assert_eq!(
            (o.player_id, o.bookmaker_changed_at, o.meta.clone()),
            (7, Some(18), Some(serde_json::json!("m")))
        );
        // reversed, and with keys that look like known ones (same length, other letters)
        let mut reversed = OUTCOME_FIELDS.to_vec();
        reversed.reverse();
        reversed.extend([("metA", "1"), ("prices", "1"), ("bookmakerMarketIds", "1")]);
        reversed.extend([("markedId", "1"), ("outcomeID", "1"), ("", "1"), ("m", "1")]);
        accepts(&outcome_message(&reversed));
        for (i, (key, value)) in OUTCOME_FIELDS.iter().enumerate() {
            // each key twice: left to the serde reader
            let mut twice = OUTCOME_FIELDS.to_vec();
            twice.push((key, value));
            declines(&outcome_message(&twice));
            // each key left out: still read when its field has a default
            let mut without = OUTCOME_FIELDS.to_vec();
            without.remove(i);
            let text = outcome_message(&without);
            if ["bookmaker", "outcomeId", "marketId", "price", "active"].contains(key) {
                declines(&text);
            } else {
                accepts(&text);
            }
        }
    }

    #[test]
    fn duplicates_keep_the_last_entry_of_a_map() {
        let text = r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"bookmaker":"b","outcomeId":1,"marketId":1,"price":1.5,"active":true},"k":{"bookmaker":"b","outcomeId":2,"marketId":1,"price":3.5,"active":false}},"a":{}}}}"#;
        let d = accepts(text);
        let Payload::Odds(odds) = &d.payload else {
            panic!("{d:?}")
        };
        assert_eq!(odds.odds.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(odds.odds["b"]["k"].outcome_id, 2);
    }

    #[test]
    fn json_kept_as_values_and_other_channels() {
        for text in [
            // JSON-valued outcome fields and a non-string entryId
            &odds_with(r#","betslip":{"u":1,"v":[true,null,-2,3.25,"s"]},"meta":[1,2]"#),
            &odds_with(r#","meta":5,"betslip":-5"#),
            &odds_with(r#","meta":{"a":1,"b":2,"a":3},"betslip":18446744073709551615"#),
            &odds_with(r#","meta":-9223372036854775808,"betslip":1e300"#),
            &odds_with(r#","meta":-0.0,"betslip":2.2250738585072014e-308"#),
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":12345}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":{"z":1,"a":[]}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":[1,"a",{"b":null}]}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":true}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":2.5}"#,
            // the other typed channels
            r#"{"channel":"scores","payload":{"fixtureId":"f","scores":{}}}"#,
            r#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"id1500025662664057","scores":{"result":{"period":"result","participant1Score":2,"participant2Score":1,"updatedAt":"2025-12-28T16:24:11.426852+00:00"},"p1":{"period":null,"participant1Score":"+3","participant2Score":"-1","updatedAt":null,"x":[]}}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#,
            r#"{"channel":"scores","payload":{"fixtureId":77,"scores":{"b":{},"a":{"participant1Score":9223372036854775807},"b":{"period":"2"}}}}"#,
            r#"{"channel":"scores","payload":{}}"#,
            r#"{"channel":"scores","payload":{"fixtureId":null}}"#,
            r#"{"channel":"clocks","payload":{"fixtureId":"f","clock":{"currentPeriod":"2H","currentTime":3120,"remainingTime":null,"remainingTimeInPeriod":null,"stopped":false}}}"#,
            r#"{"channel":"clocks","payload":{"fixtureId":"f","clock":{"currentPeriod":2,"currentTime":"45:00","remainingTime":{"m":1},"remainingTimeInPeriod":[1.5],"stopped":null}}}"#,
            r#"{"channel":"clocks","payload":{"fixtureId":"f","clock":null}}"#,
            r#"{"channel":"clocks","payload":{"clock":{}}}"#,
            r#"{"channel":"bookmakers","payload":{"fixtureId":"f","bookmakers":{"stake":{"bookmaker":"stake","hasOdds":true,"staleOdds":true,"suspended":false,"updatedAt":1}}}}"#,
            r#"{"channel":"bookmakersFutures","payload":{"futureId":5,"bookmakers":{"b":{"bookmaker":null,"hasOdds":null,"updatedAt":"2025-12-28T16:24:11Z"},"a":{"updatedAt":{"ms":1}}}}}"#,
            r#"{"channel":"bookmakers","payload":{}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":"f2","status":{"live":true,"statusId":1,"statusName":"Live"},"startTime":1766939000,"sport":{"sportId":10,"sportName":"Soccer"},"tournament":{"tournamentId":1},"season":null,"venue":null,"participants":[{"id":1,"name":"A \"B\" \u00e9"},{"id":2}],"trueStartTime":null,"trueEndTime":"2025-12-28T18:00:00Z","scores":{"a":[]},"clock":{"t":-1}}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":12,"status":null,"startTime":"1766939000"}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":"f","status":{"statusId":"-3"}}}"#,
            // untyped channels keep any JSON
            r#"{"channel":"injuries","payload":{"a":1,"b":[{"c":null}],"a":2}}"#,
            r#"{"channel":"x","payload":[0,1e2,-1.5e-7,18446744073709551615,-9223372036854775808,0.1,1.7976931348623157e308]}"#,
            r#"{"channel":"x","payload":"\u00e9\ud83d\ude00\"\\\/"}"#,
            r#"{"channel":"x","type":7,"payload":null}"#,
            r#"{"channel":"x","payload":{}}"#,
        ] {
            accepts(text);
        }
    }

    #[test]
    fn everything_else_is_left_to_the_serde_reader() {
        for text in [
            // control frames, not data
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"type":"dict"}"#,
            r#"{"type":"reconnect","channel":"odds","payload":{}}"#,
            r#"{"channel":"odds"}"#,
            r#"{"payload":{"fixtureId":"f"}}"#,
            r#"{"channel":5,"payload":{"fixtureId":"f"}}"#,
            r#"{"channel":null,"payload":{}}"#,
            "[1]",
            "{}",
            // duplicate envelope keys and fields
            r#"{"channel":"odds","channel":"odds","payload":{"fixtureId":"f"}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"ts":1,"ts":2}"#,
            r#"{"channel":"x","payload":1,"entryId":"1-1","entryId":"2-2"}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"a","fixtureId":"b"}}"#,
            &odds_with(r#","price":3.5"#),
            &odds_with(r#","meta":null,"meta":null"#),
            r#"{"channel":"scores","payload":{"scores":{},"scores":{}}}"#,
            // payloads that do not fit the view
            r#"{"channel":"odds","payload":{"fixtureId":1.5}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":null}}"#,
            r#"{"channel":"odds","payload":["f",{}]}"#,
            r#"{"channel":"odds","payload":null}"#,
            r#"{"channel":"odds","payload":{"odds":{}}}"#,
            &odds_with(r#","playerId":null"#),
            &odds_with(r#","playerId":-1"#),
            &odds_with(r#","playerId":"1x""#),
            &odds_with(r#","playerId":"""#),
            &odds_with(r#","priceAmerican":9223372036854775808"#),
            &odds_with(r#","priceAmerican":"--1""#),
            &odds_with(r#","priceAmerican":"+""#),
            &odds_with(r#","priceAmerican":1.5"#),
            &odds_with(r#","priceFractional":5"#),
            &odds_with(r#","marketActive":1"#),
            &odds_with(r#","limit":"5""#),
            &odds_with(r#","bookmakerMarketId":1.5"#),
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"bookmaker":1,"outcomeId":1,"marketId":1,"price":1.5,"active":true}}}}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"outcomeId":1,"marketId":1,"price":1.5,"active":true}}}}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":{"bookmaker":"b","outcomeId":1,"marketId":1,"price":"1.5","active":true}}}}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":{"k":["b",1,0,1,1.5]}}}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":{"b":[]}}}"#,
            r#"{"channel":"scores","payload":[1,2]}"#,
            r#"{"channel":"scores","payload":{"scores":null}}"#,
            r#"{"channel":"scores","payload":{"scores":{"a":{"period":5}}}}"#,
            r#"{"channel":"scores","payload":{"scores":{"a":{"participant1Score":1.5}}}}"#,
            r#"{"channel":"clocks","payload":{"clock":{"stopped":"no"}}}"#,
            r#"{"channel":"clocks","payload":{"clock":[]}}"#,
            r#"{"channel":"bookmakers","payload":{"bookmakers":{"b":{"hasOdds":1}}}}"#,
            r#"{"channel":"bookmakers","payload":{"futureId":true}}"#,
            r#"{"channel":"fixtures","payload":{"status":{}}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":"f","status":"live"}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":"f","startTime":-5}}"#,
            r#"{"channel":"fixtures","payload":{"fixtureId":"f","trueStartTime":5}}"#,
        ] {
            declines(text);
        }
    }

    #[test]
    fn every_corpus_message_is_read_directly() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/corpus/messages.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut channels = std::collections::BTreeSet::new();
        let mut checked = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            channels.insert(accepts(line).channel);
            checked += 1;
        }
        // The corpus holds 500 messages on the five channels (`cargo xtask fixtures`).
        assert!(
            checked >= 500 && channels.len() >= 5,
            "{path}: {checked} messages, channels {channels:?}"
        );
    }
}
