//! A direct reader of simd-json's tape for `odds` data messages, the bulk of the feed.
//!
//! The serde reader ([`FastData`](super::data::FastData)) walks the same tape through
//! visitors, field identifiers and `Option` wrappers; this reader matches keys and node
//! types itself and builds the typed values straight away. It accepts only documents it
//! can type exactly as serde_json does: an object with a string `channel` of `odds`, a
//! non-control `type`, and a payload that fits [`OddsPayload`] in its usual spelling. For
//! anything else (another channel, a duplicate key, a non-string `entryId`, a `betslip`
//! that is neither null, a string nor a boolean, ...) it answers `None` and the caller
//! runs the serde reader over the same tape, which handles every case. So a `None` never
//! changes a result, it only costs time.
//!
//! The rules mirrored here are those of the derive-based views in
//! [`payload`](super::payload) and of [`lenient`](crate::lenient): required fields,
//! `#[serde(default)]` fields, null as `None`, ids as strings or integers, numbers as
//! integers or strings of digits, unknown keys ignored, and [`VecMap`]'s last-wins order.

use serde_json::Value;
use simd_json::StaticNode;
use simd_json::tape::Node;

use super::control::is_control_type;
use super::data::DataParts;
use super::payload::{OddsPayload, Outcome, Payload};
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
fn each_entry<'i>(
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
fn set<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    if slot.is_some() {
        return None;
    }
    *slot = Some(value);
    Some(())
}

/// Reads a whole document: the parts of an `odds` data message, or `None` (see the module
/// docs).
pub(crate) fn read_odds_message(nodes: &[Node<'_>]) -> Option<DataParts> {
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
                    // Kept as JSON text: left to the serde reader.
                    _ => return None,
                };
                set(&mut entry_id, id)
            }
            "payload" => set(&mut payload, at),
            _ => Some(()),
        }
    })?;
    if channel? != "odds" {
        return None;
    }
    let odds = read_odds(nodes, payload?)?;
    let (entry_id, entry_id_raw) = entry_id.unwrap_or((None, None));
    Some(DataParts {
        channel: "odds".to_owned(),
        kind: kind.unwrap_or("").to_owned(),
        ts: ts.flatten(),
        entry_id,
        entry_id_raw,
        payload: Payload::Odds(odds),
        typed_error: None,
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
            "betslip" => set(&mut betslip, nullable(node, scalar_value)?),
            "meta" => set(&mut meta, nullable(node, scalar_value)?),
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

/// A JSON value kept as [`Value`], for the scalars whose [`Value`] is unambiguous: strings
/// and booleans (numbers, arrays and objects are left to the serde reader).
fn scalar_value(node: &Node<'_>) -> Option<Value> {
    match *node {
        Node::String(s) => Some(Value::String(s.to_owned())),
        Node::Static(StaticNode::Bool(b)) => Some(Value::Bool(b)),
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
        let direct = read_odds_message(&tape.0).map(|p| p.with_raw(String::new()));
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
    fn everything_else_is_left_to_the_serde_reader() {
        for text in [
            // other channels, control frames, not data
            r#"{"channel":"scores","payload":{"fixtureId":"f","scores":{}}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"type":"dict"}"#,
            r#"{"channel":"odds"}"#,
            r#"{"payload":{"fixtureId":"f"}}"#,
            r#"{"channel":5,"payload":{"fixtureId":"f"}}"#,
            "[1]",
            // duplicate envelope keys and fields
            r#"{"channel":"odds","channel":"odds","payload":{"fixtureId":"f"}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"ts":1,"ts":2}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"a","fixtureId":"b"}}"#,
            &odds_with(r#","price":3.5"#),
            &odds_with(r#","meta":null,"meta":null"#),
            // entryId that is not a string
            r#"{"channel":"odds","payload":{"fixtureId":"f"},"entryId":12345}"#,
            // payloads that do not fit the view
            r#"{"channel":"odds","payload":{"fixtureId":1.5}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"f","odds":null}}"#,
            r#"{"channel":"odds","payload":["f",{}]}"#,
            r#"{"channel":"odds","payload":null}"#,
            r#"{"channel":"odds","payload":{"odds":{}}}"#,
            &odds_with(r#","playerId":null"#),
            &odds_with(r#","playerId":-1"#),
            &odds_with(r#","playerId":"1x""#),
            &odds_with(r#","priceAmerican":9223372036854775808"#),
            &odds_with(r#","priceAmerican":"--1""#),
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
            // JSON kept as a value: left to serde
            &odds_with(r#","betslip":{"u":1}"#),
            &odds_with(r#","meta":[1,2]"#),
            &odds_with(r#","meta":5"#),
        ] {
            declines(text);
        }
    }

    #[test]
    fn every_corpus_odds_message_is_read_directly() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/corpus/messages.jsonl"
        );
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let mut odds = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if line.starts_with(r#"{"channel":"odds""#) {
                accepts(line);
                odds += 1;
            } else {
                declines(line);
            }
        }
        assert!(odds > 0 || text.is_empty(), "no odds message in {path}");
    }
}
