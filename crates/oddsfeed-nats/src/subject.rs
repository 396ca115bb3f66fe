//! Subjects and message ids (docs/CLI.md, "`oddsfeed relay`").
//!
//! A data message goes to `<prefix>.<channel>.<token>`: the token is the payload's `fixtureId`
//! (`futureId` on futures channels) when that is a non-empty JSON string, else `_`; every `.`,
//! `*`, `>` or whitespace character in a token becomes one `_`, so a token is always exactly one
//! subject level and never a wildcard. Feed events go to `<prefix>._events.<name>` (`events` is
//! also a feed channel, hence the underscore). The `Nats-Msg-Id` header is
//! `<channel>:<entryId>`, which JetStream uses to drop a message published twice within the
//! stream's duplicate window.

use serde::Deserialize;
use serde_json::Value;

/// The subject level feed events go under: `<prefix>._events.<name>`.
pub const EVENTS_LEVEL: &str = "_events";

/// The token for an absent, empty or non-string id.
pub const NO_TOKEN: &str = "_";

/// One subject level made safe: `.`, `*`, `>` and whitespace each become `_`; empty becomes `_`.
#[must_use]
pub fn sanitize(level: &str) -> String {
    if level.is_empty() {
        return NO_TOKEN.to_owned();
    }
    level
        .chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Whether a channel carries futures (its messages are keyed by `futureId`).
#[must_use]
pub fn is_futures_channel(channel: &str) -> bool {
    channel.to_ascii_lowercase().contains("futures")
}

/// The ids a payload may carry; everything else in the message is skipped unparsed.
#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    payload: Option<Ids>,
}

#[derive(Deserialize)]
struct Ids {
    #[serde(rename = "fixtureId", default)]
    fixture_id: Option<Value>,
    #[serde(rename = "futureId", default)]
    future_id: Option<Value>,
}

/// The subject token of a data message given its channel and its JSON text.
#[must_use]
pub fn token(channel: &str, raw: &str) -> String {
    let Ok(envelope) = serde_json::from_str::<Envelope>(raw) else {
        return NO_TOKEN.to_owned();
    };
    let Some(ids) = envelope.payload else {
        return NO_TOKEN.to_owned();
    };
    let id = if is_futures_channel(channel) {
        ids.future_id
    } else {
        ids.fixture_id
    };
    match id {
        Some(Value::String(s)) if !s.is_empty() => sanitize(&s),
        _ => NO_TOKEN.to_owned(),
    }
}

/// `<prefix>.<channel>.<token>` for a data message.
#[must_use]
pub fn data_subject(prefix: &str, channel: &str, raw: &str) -> String {
    format!("{prefix}.{}.{}", sanitize(channel), token(channel, raw))
}

/// `<prefix>._events.<name>` for a feed event.
#[must_use]
pub fn event_subject(prefix: &str, name: &str) -> String {
    format!("{prefix}.{EVENTS_LEVEL}.{}", sanitize(name))
}

/// The `Nats-Msg-Id` of a data message: `<channel>:<entryId>`.
#[must_use]
pub fn msg_id(channel: &str, entry_id: &str) -> String {
    format!("{channel}:{entry_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_id_becomes_the_token() {
        let raw = r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1000.1","odds":{}},"ts":1,"entryId":"1-0"}"#;
        assert_eq!(
            data_subject("oddsfeed", "odds", raw),
            "oddsfeed.odds.id1000_1"
        );
    }

    #[test]
    fn futures_channels_use_the_future_id() {
        let raw =
            r#"{"channel":"bookmakersFutures","payload":{"fixtureId":"f","futureId":"fu 1>*"}}"#;
        assert_eq!(token("bookmakersFutures", raw), "fu_1__");
        assert_eq!(token("bookmakers", raw), "f");
    }

    #[test]
    fn missing_empty_or_non_string_ids_give_underscore() {
        assert_eq!(token("odds", r#"{"payload":{"fixtureId":""}}"#), "_");
        assert_eq!(token("odds", r#"{"payload":{"fixtureId":12}}"#), "_");
        assert_eq!(token("odds", r#"{"payload":{}}"#), "_");
        assert_eq!(token("odds", r#"{"channel":"odds"}"#), "_");
        assert_eq!(token("odds", "not json"), "_");
        assert_eq!(token("odds", r#"{"payload":null}"#), "_");
    }

    #[test]
    fn every_whitespace_character_is_replaced_one_for_one() {
        assert_eq!(sanitize("a\tb\nc d\u{a0}e"), "a_b_c_d_e");
        assert_eq!(sanitize(""), "_");
    }

    #[test]
    fn events_go_under_the_underscore_level() {
        assert_eq!(
            event_subject("oddsfeed", "snapshot_required"),
            "oddsfeed._events.snapshot_required"
        );
        assert_eq!(
            msg_id("odds", "1766418736962-198"),
            "odds:1766418736962-198"
        );
    }
}
