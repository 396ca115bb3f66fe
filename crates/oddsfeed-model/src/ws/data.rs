//! Data messages (docs/PROTOCOL.md B.7) and the streaming envelope reader behind the fast path.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::control::is_control_type;
use super::payload::{Payload, PayloadSeed, payload_from_value};
use crate::entry_id::EntryId;

/// A data message: `{"channel":..,"type":..,"payload":..,"ts":..,"entryId":..}`.
///
/// `raw` is the message's JSON text as received, on one line: it is what a CLI prints and
/// how fields the typed views leave out are kept. The typed fields are conveniences.
#[derive(Debug, Clone, PartialEq)]
pub struct DataMessage {
    /// `channel`, e.g. `odds`.
    pub channel: String,
    /// `type`, e.g. `UPDATE` (empty when the message has no string `type`).
    pub kind: String,
    /// `ts`, milliseconds since the Unix epoch; `None` if missing or not an unsigned integer.
    pub ts: Option<u64>,
    /// `entryId`, parsed; `None` if missing or unparsable (see `entry_id_raw`).
    pub entry_id: Option<EntryId>,
    /// The `entryId` text when it is present but unparsable (a JSON non-string is kept as
    /// its JSON text), so the caller can warn. `None` when the id parsed or is absent.
    pub entry_id_raw: Option<String>,
    /// The payload, typed by channel, or [`Payload::Other`]; [`Payload::Unparsed`] when the
    /// message was decoded in [`PayloadMode::Envelope`](super::PayloadMode).
    pub payload: Payload,
    /// Why the payload did not fit its typed view, when it did not. The message is
    /// delivered all the same.
    pub typed_error: Option<String>,
    /// The message's compact JSON text (see the type docs).
    pub raw: String,
}

/// The fields of a data message, before its raw text is attached.
#[derive(Debug)]
pub(crate) struct DataParts {
    pub(super) channel: String,
    pub(super) kind: String,
    pub(super) ts: Option<u64>,
    pub(super) entry_id: Option<EntryId>,
    pub(super) entry_id_raw: Option<String>,
    pub(super) payload: Payload,
    pub(super) typed_error: Option<String>,
}

impl DataParts {
    /// Attaches the raw text.
    pub(crate) fn with_raw(self, raw: String) -> DataMessage {
        DataMessage {
            channel: self.channel,
            kind: self.kind,
            ts: self.ts,
            entry_id: self.entry_id,
            entry_id_raw: self.entry_id_raw,
            payload: self.payload,
            typed_error: self.typed_error,
            raw,
        }
    }

    /// Builds the parts from the envelope's fields. `payload` is typed already, or still
    /// JSON to be typed here.
    fn assemble(
        channel: String,
        kind: Option<Value>,
        ts: Option<&Value>,
        (entry_id, entry_id_raw): (Option<EntryId>, Option<String>),
        payload: PayloadSlot,
    ) -> Self {
        let (payload, typed_error) = match payload {
            PayloadSlot::Typed(p) => (p, None),
            PayloadSlot::Json(v) => payload_from_value(&channel, v),
        };
        Self {
            kind: match kind {
                Some(Value::String(s)) => s,
                _ => String::new(),
            },
            ts: ts.and_then(Value::as_u64),
            entry_id,
            entry_id_raw,
            payload,
            typed_error,
            channel,
        }
    }

    /// Builds the parts from a parsed object whose `channel` is `channel`. A missing
    /// `payload` reads as `null`.
    pub(crate) fn from_object(channel: String, mut map: Map<String, Value>) -> Self {
        let payload = map.remove("payload").unwrap_or(Value::Null);
        Self::assemble(
            channel,
            map.remove("type"),
            map.get("ts"),
            read_entry_id(map.get("entryId")),
            PayloadSlot::Json(payload),
        )
    }
}

/// [`read_entry_id`], for the decode-rule tests.
#[cfg(test)]
pub(crate) fn read_entry_id_for_tests(value: Option<&Value>) -> (Option<EntryId>, Option<String>) {
    read_entry_id(value)
}

/// Reads `entryId`: parsed, or the text to warn about.
fn read_entry_id(value: Option<&Value>) -> (Option<EntryId>, Option<String>) {
    match value {
        None | Some(Value::Null) => (None, None),
        Some(Value::String(s)) => match s.parse() {
            Ok(id) => (Some(id), None),
            Err(_) => (None, Some(s.clone())),
        },
        Some(other) => (None, Some(other.to_string())),
    }
}

/// `entryId` as the streaming reader sees it: a string is parsed where it lies, without
/// an owned copy; any other value is kept as JSON. [`EntryIdField::split`] gives the same
/// result as [`read_entry_id`] on the equivalent [`Value`].
enum EntryIdField {
    Parsed(EntryId),
    Unparsable(String),
    Json(Value),
}

impl EntryIdField {
    /// The parsed id, or the text to warn about.
    fn split(self) -> (Option<EntryId>, Option<String>) {
        match self {
            Self::Parsed(id) => (Some(id), None),
            Self::Unparsable(text) => (None, Some(text)),
            Self::Json(value) => read_entry_id(Some(&value)),
        }
    }
}

impl<'de> Deserialize<'de> for EntryIdField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EntryIdVisitor)
    }
}

/// Builds an [`EntryIdField`]; non-strings become the same [`Value`] serde_json would build.
struct EntryIdVisitor;

impl<'de> Visitor<'de> for EntryIdVisitor {
    type Value = EntryIdField;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<EntryIdField, E> {
        Ok(match v.parse() {
            Ok(id) => EntryIdField::Parsed(id),
            Err(_) => EntryIdField::Unparsable(v.to_owned()),
        })
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<EntryIdField, E> {
        Ok(EntryIdField::Json(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<EntryIdField, E> {
        Ok(EntryIdField::Json(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<EntryIdField, E> {
        Ok(EntryIdField::Json(Value::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<EntryIdField, E> {
        // `Value::from` maps a non-finite float to null, as serde_json's own reader does.
        Ok(EntryIdField::Json(Value::from(v)))
    }

    fn visit_unit<E: de::Error>(self) -> Result<EntryIdField, E> {
        Ok(EntryIdField::Json(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<EntryIdField, E> {
        Ok(EntryIdField::Json(Value::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<EntryIdField, D::Error> {
        EntryIdField::deserialize(d)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<EntryIdField, A::Error> {
        Value::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(EntryIdField::Json)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<EntryIdField, A::Error> {
        Value::deserialize(de::value::MapAccessDeserializer::new(map)).map(EntryIdField::Json)
    }
}

/// A payload read before or after the channel was known.
enum PayloadSlot {
    Typed(Payload),
    Json(Value),
}

/// The envelope keys the reader cares about.
enum Key {
    Channel,
    Type,
    Ts,
    EntryId,
    Payload,
    Other,
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(match v {
                    "channel" => Key::Channel,
                    "type" => Key::Type,
                    "ts" => Key::Ts,
                    "entryId" => Key::EntryId,
                    "payload" => Key::Payload,
                    _ => Key::Other,
                })
            }
        }
        d.deserialize_identifier(KeyVisitor)
    }
}

/// Reads a data message in one pass, typing the payload as it streams by.
///
/// The feed sends `channel` before `payload`, so the payload is deserialised straight into
/// the channel's typed view. If `payload` comes first it is buffered as JSON and typed at
/// the end. Anything that is not a clean data message (a control `type`, a missing or
/// non-string `channel`, no `payload`, a duplicate key, a payload that does not fit its
/// view) makes this reader fail; the caller then parses the text generically, which
/// handles every case. The failure is a signal, never reported as such.
pub(crate) struct FastData(pub(crate) DataParts);

impl<'de> Deserialize<'de> for FastData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = FastData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a data message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FastData, A::Error> {
        fn duplicate<E: de::Error>() -> E {
            E::custom("duplicate envelope key")
        }
        let mut channel: Option<String> = None;
        let mut kind: Option<Value> = None;
        let mut ts: Option<Value> = None;
        let mut entry_id: Option<EntryIdField> = None;
        let mut payload: Option<PayloadSlot> = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Channel => {
                    if channel.is_some() {
                        return Err(duplicate());
                    }
                    channel = Some(map.next_value::<String>()?);
                }
                Key::Type => {
                    if kind.is_some() {
                        return Err(duplicate());
                    }
                    let value = map.next_value::<Value>()?;
                    if let Value::String(s) = &value
                        && is_control_type(s)
                    {
                        return Err(de::Error::custom("control frame"));
                    }
                    kind = Some(value);
                }
                Key::Ts => {
                    if ts.is_some() {
                        return Err(duplicate());
                    }
                    ts = Some(map.next_value::<Value>()?);
                }
                Key::EntryId => {
                    if entry_id.is_some() {
                        return Err(duplicate());
                    }
                    entry_id = Some(map.next_value::<EntryIdField>()?);
                }
                Key::Payload => {
                    if payload.is_some() {
                        return Err(duplicate());
                    }
                    payload = Some(match &channel {
                        Some(ch) => PayloadSlot::Typed(map.next_value_seed(PayloadSeed(ch))?),
                        None => PayloadSlot::Json(map.next_value::<Value>()?),
                    });
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (channel, payload) {
            (Some(channel), Some(payload)) => Ok(FastData(DataParts::assemble(
                channel,
                kind,
                ts.as_ref(),
                entry_id.map_or((None, None), EntryIdField::split),
                payload,
            ))),
            _ => Err(de::Error::custom("not a data message")),
        }
    }
}
