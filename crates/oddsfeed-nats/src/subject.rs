//! Subjects and message ids (docs/CLI.md, "`oddsfeed relay`").
//!
//! A data message goes to `<prefix>.<channel>.<token>`: the token is the payload's `fixtureId`
//! (`futureId` on futures channels) when that is a non-empty JSON string, else `_`; every `.`,
//! `*`, `>` or whitespace character in a token becomes one `_`, so a token is always exactly one
//! subject level and never a wildcard. Feed events go to `<prefix>._events.<name>` (`events` is
//! also a feed channel, hence the underscore). The `Nats-Msg-Id` header is
//! `<channel>:<entryId>`, which JetStream uses to drop a message published twice within the
//! stream's duplicate window.

use oddsfeed::model::ws::Payload;
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
    // The common case, plain ASCII with nothing to replace, is one copy.
    let plain = |b: u8| b.is_ascii() && !matches!(b, b'.' | b'*' | b'>' | b' ' | b'\t'..=b'\r');
    if level.bytes().all(plain) {
        return level.to_owned();
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
    // `futures` in any letter case, without a lowercased copy (asked once per message).
    channel
        .as_bytes()
        .windows(b"futures".len())
        .any(|w| w.eq_ignore_ascii_case(b"futures"))
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

/// The same token as [`token`], taken from the message's typed payload when that gives the
/// same answer for sure, so that the relay does not parse each message's text a second time
/// (that parse was a third of the relay loop's time).
///
/// The typed views read ids leniently (a JSON number becomes its text), while the subject
/// rule wants a JSON string: the typed id is used only when `"fixtureId":"<id>"` occurs in the
/// text as written (compact spelling, nothing to escape). Anything else, and every futures
/// channel, goes through [`token`]. A payload left [`Payload::Unparsed`] (the relay's client
/// decodes only the envelope) takes the ids the envelope reader noted, or [`token_of_raw`]
/// when it noted none.
#[must_use]
pub fn token_of(channel: &str, payload: &Payload, raw: &str) -> String {
    let futures = is_futures_channel(channel);
    if let Payload::Unparsed(Some(ids)) = payload {
        // The envelope reader's reading of the payload's ids (no repeated key, the payload an
        // object), which is exactly what `token` reads from the text.
        let id = if futures {
            &ids.future_id
        } else {
            &ids.fixture_id
        };
        return match id.as_deref() {
            Some(id) if !id.is_empty() => sanitize(id),
            _ => NO_TOKEN.to_owned(),
        };
    }
    if futures {
        return token(channel, raw);
    }
    let typed = match payload {
        Payload::Odds(p) => Some(p.fixture_id.as_str()),
        Payload::Fixtures(p) => Some(p.fixture_id.as_str()),
        Payload::Bookmakers(p) => p.fixture_id.as_deref(),
        Payload::Scores(p) => p.fixture_id.as_deref(),
        Payload::Clocks(p) => p.fixture_id.as_deref(),
        Payload::Other(value) => {
            // The payload as received: the rule applies to it directly.
            return match value.get("fixtureId") {
                Some(Value::String(id)) if !id.is_empty() => sanitize(id),
                _ => NO_TOKEN.to_owned(),
            };
        }
        // Not decoded, and its ids not read either: a scan of the text.
        _ => return token_of_raw(channel, raw),
    };
    match typed {
        Some(id) if written_as_string(raw, id) => sanitize(id),
        _ => token(channel, raw),
    }
}

/// The same token as [`token`] for a message's `raw` text, which must be one JSON document
/// (as every decoded message's `raw` is): found by skimming the text's structure, without
/// building or deserialising anything, which costs a fraction of [`token`]'s parse. The skim
/// answers only in the plain case (keys without escapes, one `payload`, ids that are
/// unescaped strings or `null`, each id key at most once); anything else goes through
/// [`token`], so the answer is always [`token`]'s. On text that is not JSON the answer is
/// unspecified.
#[must_use]
pub fn token_of_raw(channel: &str, raw: &str) -> String {
    let want: &[u8] = if is_futures_channel(channel) {
        b"futureId"
    } else {
        b"fixtureId"
    };
    match skim_token(raw.as_bytes(), want) {
        Some(Some(id)) if !id.is_empty() => sanitize(id),
        Some(_) => NO_TOKEN.to_owned(),
        None => token(channel, raw),
    }
}

/// The id under `payload.<want>`: `Some(Some(id))` for an unescaped string, `Some(None)` when
/// the payload or the id is absent or `null`; `None` when the skim cannot be sure.
fn skim_token<'a>(raw: &'a [u8], want: &[u8]) -> Option<Option<&'a str>> {
    let mut skim = Skim { text: raw, at: 0 };
    skim.expect(b'{')?;
    let mut payload: Option<Option<&'a str>> = None;
    if skim.peek()? == b'}' {
        skim.at += 1;
    } else {
        loop {
            let key = skim.plain_string()?;
            skim.expect(b':')?;
            if key == b"payload" {
                if payload.is_some() {
                    return None;
                }
                payload = Some(skim.payload_id(want)?);
            } else {
                skim.skip_value()?;
            }
            if !skim.after_member()? {
                break;
            }
        }
    }
    // One document, nothing after it.
    if skim.peek().is_some() {
        return None;
    }
    Some(payload.flatten())
}

/// A cursor over JSON text. Every step checks what it reads and gives up (`None`) on
/// anything unexpected.
struct Skim<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Skim<'a> {
    /// Past the `,` after an object member (`Some(true)`: another follows) or the object's `}`
    /// (`Some(false)`); `None` for anything else.
    fn after_member(&mut self) -> Option<bool> {
        let more = match self.peek()? {
            b',' => true,
            b'}' => false,
            _ => return None,
        };
        self.at += 1;
        Some(more)
    }

    /// The next byte after whitespace (the cursor moves to it).
    fn peek(&mut self) -> Option<u8> {
        while let Some(&byte) = self.text.get(self.at) {
            if !matches!(byte, b' ' | b'\t' | b'\n' | b'\r') {
                return Some(byte);
            }
            self.at += 1;
        }
        None
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string at the cursor: its bytes between the quotes, and whether it holds an escape.
    fn string(&mut self) -> Option<(&'a [u8], bool)> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let mut at = start;
        let mut escaped = false;
        loop {
            let off = memchr::memchr2(b'"', b'\\', self.text.get(at..)?)?;
            at += off;
            if self.text.get(at) == Some(&b'\\') {
                escaped = true;
                at += 2;
            } else {
                break;
            }
        }
        let body = self.text.get(start..at)?;
        self.at = at + 1;
        Some((body, escaped))
    }

    /// A string without escapes (a key, an id); `None` for anything else.
    fn plain_string(&mut self) -> Option<&'a [u8]> {
        match self.string()? {
            (body, false) => Some(body),
            (_, true) => None,
        }
    }

    /// Skips one value: a string, an object or array (to its matching close, strings
    /// skipped whole), or a scalar (to the next `,`, `}`, `]` or whitespace).
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => {
                self.string()?;
            }
            b'{' | b'[' => {
                let mut depth = 0_usize;
                loop {
                    match *self.text.get(self.at)? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            b',' | b'}' | b']' | b':' => return None,
            _ => {
                let start = self.at;
                while let Some(&byte) = self.text.get(self.at) {
                    if matches!(byte, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
            }
        }
        Some(())
    }

    /// The payload's `want` id: `Some(None)` for a `null` payload or an absent or `null` id.
    /// Both id keys must appear at most once, each with a plain string or `null` (the other
    /// forms are [`token`]'s to judge).
    fn payload_id(&mut self, want: &[u8]) -> Option<Option<&'a str>> {
        match self.peek()? {
            b'n' => {
                self.null()?;
                return Some(None);
            }
            b'{' => self.at += 1,
            _ => return None,
        }
        let mut fixture: Option<Option<&'a [u8]>> = None;
        let mut future: Option<Option<&'a [u8]>> = None;
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(None);
        }
        loop {
            let key = self.plain_string()?;
            self.expect(b':')?;
            let slot = match key {
                b"fixtureId" => Some(&mut fixture),
                b"futureId" => Some(&mut future),
                _ => None,
            };
            match slot {
                Some(slot) => {
                    if slot.is_some() {
                        return None;
                    }
                    let id = if self.peek()? == b'n' {
                        self.null()?;
                        None
                    } else {
                        Some(self.plain_string()?)
                    };
                    *slot = Some(id);
                }
                None => self.skip_value()?,
            }
            if !self.after_member()? {
                break;
            }
        }
        let id = if want == b"futureId" { future } else { fixture };
        match id.flatten() {
            Some(id) => std::str::from_utf8(id).ok().map(Some),
            None => Some(None),
        }
    }

    /// The literal `null`.
    fn null(&mut self) -> Option<()> {
        let end = self.at + 4;
        (self.text.get(self.at..end)? == b"null").then(|| self.at = end)
    }
}

/// Whether `raw` holds `"fixtureId":"<id>"` with `id` spelled as is.
fn written_as_string(raw: &str, id: &str) -> bool {
    const KEY: &[u8] = br#""fixtureId":""#;
    if id.is_empty() || id.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        return false;
    }
    let raw = raw.as_bytes();
    memchr::memmem::find_iter(raw, KEY).any(|at| {
        let rest = &raw[at + KEY.len()..];
        rest.len() > id.len() && rest.starts_with(id.as_bytes()) && rest[id.len()] == b'"'
    })
}

/// `<prefix>.<channel>.<token>` for a data message.
#[must_use]
pub fn data_subject(prefix: &str, channel: &str, raw: &str) -> String {
    format!("{prefix}.{}.{}", sanitize(channel), token(channel, raw))
}

/// `<prefix>.<channel>.<token>` for a data message whose token is known.
#[must_use]
pub fn data_subject_with_token(prefix: &str, channel: &str, token: &str) -> String {
    let channel = sanitize(channel);
    let mut subject = String::with_capacity(prefix.len() + channel.len() + token.len() + 2);
    subject.push_str(prefix);
    subject.push('.');
    subject.push_str(&channel);
    subject.push('.');
    subject.push_str(token);
    subject
}

/// `<prefix>._events.<name>` for a feed event.
#[must_use]
pub fn event_subject(prefix: &str, name: &str) -> String {
    format!("{prefix}.{EVENTS_LEVEL}.{}", sanitize(name))
}

/// The `Nats-Msg-Id` of a data message: `<channel>:<entryId>`. `entry_id` is its text or a parsed
/// [`EntryId`](oddsfeed::model::EntryId) (written straight into the id, one allocation).
#[must_use]
pub fn msg_id(channel: &str, entry_id: impl std::fmt::Display) -> String {
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
        for (channel, futures) in [
            ("bookmakersFutures", true),
            ("FUTURES", true),
            ("oddsfuturesx", true),
            ("future", false),
            ("odds", false),
            ("", false),
            ("fütures", false),
        ] {
            assert_eq!(is_futures_channel(channel), futures, "{channel}");
        }
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
    fn the_typed_token_equals_the_text_token() {
        use oddsfeed::model::ws::{WsMessage, parse_ws_text};
        let cases = [
            r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1000.1","odds":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":12,"odds":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId" : "a b","odds":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"x\"y","odds":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"scores","type":"UPDATE","payload":{"scores":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"","scores":{}},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"other","type":"UPDATE","payload":{"fixtureId":"f*1"},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"other","type":"UPDATE","payload":{"fixtureId":7},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"bookmakersFutures","type":"UPDATE","payload":{"fixtureId":"f","futureId":"fu"},"ts":1,"entryId":"1-0"}"#,
        ];
        for raw in cases {
            let Some(Ok(WsMessage::Data(msg))) = parse_ws_text(raw).into_iter().next() else {
                panic!("not a data message: {raw}");
            };
            assert_eq!(
                token_of(&msg.channel, &msg.payload, &msg.raw),
                token(&msg.channel, raw),
                "{raw}"
            );
        }
    }

    #[test]
    fn the_envelope_readers_token_equals_the_text_token() {
        use oddsfeed::model::ws::{Payload, PayloadMode, WsMessage};
        use oddsfeed_model::ws::FastParser;
        let cases = [
            r#"{"channel":"odds","type":"UPDATE","payload":{"odds":{"a":{"fixtureId":"no"}},"fixtureId":"id1000.1"},"ts":1,"entryId":"1-0"}"#,
            r#"{"channel":"odds","payload":{"fixtureId":12}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":1.5e3}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":""}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":null}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"a\"b c"}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"a b*c>d\u00a0e"}}"#,
            r#"{"channel":"odds","payload":{"fixtureId":"a","fixtureId":"b"}}"#,
            r#"{"channel":"odds","payload":{"futureId":"a","futureId":"b","fixtureId":"c"}}"#,
            r#"{"channel":"odds","payload":{"fixture\u0049d":"a"}}"#,
            r#"{"channel":"odds","payload":["x","y"]}"#,
            r#"{"channel":"odds","payload":"x"}"#,
            r#"{"channel":"odds","payload":null}"#,
            r#"{"channel":"odds","payload":{}}"#,
            r#" { "channel" : "odds" , "payload" : { "fixtureId" : "sp aced" } } "#,
            r#"{"channel":"odds","a":"\\","payload":{"fixtureId":"é€😀"},"b":-1.5e3,"c":true}"#,
            r#"{"channel":"bookmakersFutures","payload":{"fixtureId":"f","futureId":"fu 1>*"}}"#,
            r#"{"channel":"bookmakersFutures","payload":{"fixtureId":"f"}}"#,
            r#"{"channel":"oddsFutures","payload":{"futureId":7,"fixtureId":"f"}}"#,
        ];
        let mut parser = FastParser::new().with_payload_mode(PayloadMode::Envelope);
        let mut from_ids = 0;
        for raw in cases {
            let Ok(WsMessage::Data(msg)) = parser.parse(&mut raw.as_bytes().to_vec()) else {
                panic!("not a data message: {raw}");
            };
            from_ids += usize::from(matches!(msg.payload, Payload::Unparsed(Some(_))));
            assert_eq!(
                token_of(&msg.channel, &msg.payload, &msg.raw),
                token(&msg.channel, raw),
                "{raw}"
            );
        }
        // Most cases are answered from the noted ids (the rest from the text).
        assert!(from_ids >= 14, "{from_ids}");
    }

    #[test]
    fn the_skimmed_token_equals_the_parsed_token() {
        let cases = [
            r#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1000.1","odds":{"a":{"b":[1,{"fixtureId":"no"}]}}},"ts":1,"entryId":"1-0"}"#,
            r#"{"payload":{"odds":{"x":"}{]["},"fixtureId":"late"},"channel":"odds"}"#,
            r#"{"payload":{"fixtureId":12}}"#,
            r#"{"payload":{"fixtureId":1e400}}"#,
            r#"{"payload":{"fixtureId":""}}"#,
            r#"{"payload":{"fixtureId":null}}"#,
            r#"{"payload":{"fixtureId":"a\"b"}}"#,
            r#"{"payload":{"fixtureId":"a b*c>d"}}"#,
            r#"{"payload":{"fixtureId":"a","fixtureId":"b"}}"#,
            r#"{"payload":{"fixtureId":"a","futureId":"\ud800"}}"#,
            r#"{"payload":{"fixture\u0049d":"a"}}"#,
            r#"{"payload":{"fixtureId":"a"},"payload":{"fixtureId":"b"}}"#,
            r#"{"payload":["x","y"]}"#,
            r#"{"payload":"x"}"#,
            r#"{"payload":null,"a":[[[]]]}"#,
            r#"{"payload":{}}"#,
            r#"{}"#,
            r#" { "payload" : { "fixtureId" : "sp aced" } } "#,
            r#"{"a":"\\","payload":{"fixtureId":"é€😀"},"b":-1.5e3,"c":true}"#,
            r#"{"channel":"bookmakersFutures","payload":{"fixtureId":"f","futureId":"fu 1>*"}}"#,
            r#"{"channel":"bookmakersFutures","payload":{"fixtureId":"f"}}"#,
        ];
        for raw in cases {
            for channel in ["odds", "bookmakersFutures"] {
                assert_eq!(
                    token_of_raw(channel, raw),
                    token(channel, raw),
                    "{channel} {raw}"
                );
            }
        }
    }

    #[test]
    fn every_whitespace_character_is_replaced_one_for_one() {
        assert_eq!(sanitize("a\tb\nc d\u{a0}e"), "a_b_c_d_e");
        assert_eq!(sanitize(""), "_");
        // The one-copy shortcut for plain ASCII agrees with the rule on every character.
        for c in (0u32..0x3100).filter_map(char::from_u32) {
            let replaced = c == '.' || c == '*' || c == '>' || c.is_whitespace();
            let want = if replaced {
                "a_b".to_owned()
            } else {
                format!("a{c}b")
            };
            assert_eq!(sanitize(&format!("a{c}b")), want, "{:?}", c);
        }
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
        let id: oddsfeed::model::EntryId = "1766418736962-198".parse().expect("an entry id");
        assert_eq!(msg_id("odds", id), msg_id("odds", id.to_string()));
    }
}
