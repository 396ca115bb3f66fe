//! A recording's data messages as the simulator's stream (`sim ws --replay FILE`).
//!
//! [`RecordingSource`] reads a WebSocket recording (docs/RECORDING.md) and yields its data
//! messages, in recorded order, with their channel, entryId, `ts` and payload kept, so the
//! simulator can serve them to any client in the client's own receive type. The recorded frames
//! are decoded here, independently of the client's decoder (the simulator never uses the
//! client's model or session): text frames are JSON, binary frames are sniffed (zstd, with the
//! dictionary its dictId names from the recording's own `dict` frames; MessagePack; JSON).
//!
//! What a live client would have printed once is served once: a message whose entryId is not
//! above the last one served on its channel (a resume replay, a reconnect overlap) is skipped.
//! Control frames, undecodable frames, messages of channels the simulator does not produce and
//! messages without a well-formed entryId are skipped too, and counted ([`Skipped`]).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io;
use std::path::Path;

use base64::Engine as _;
use oddsfeed_record::{Feed, Item, RecordError, RecordKind, StreamReader};
use serde_json::Value;
use zstd_safe::{DCtx, DDict};

use super::channels::ChannelSet;
use super::log::{EntryId, MessageSource, Produced, parse_entry_id};

/// The largest a recorded zstd frame may inflate to (the client's default `max_decompressed`).
const MAX_DECOMPRESSED: usize = 64 << 20;
/// The most dictionaries kept (the client's bound).
const MAX_DICTS: usize = 64;

/// What [`RecordingSource`] left out of the stream, by reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Skipped {
    /// Data messages whose entryId was not above the last one served on their channel.
    pub duplicates: u64,
    /// Frames that could not be decoded (zstd with an unknown dictionary, bad JSON, ...).
    pub undecodable: u64,
    /// Data messages of channels the simulator does not produce.
    pub unknown_channel: u64,
    /// Data messages with a missing or malformed entryId.
    pub no_entry_id: u64,
}

/// Reads a WebSocket recording's data messages one by one, for `sim ws --replay`
/// ([`WsSimConfig::replay`](super::WsSimConfig::replay)).
///
/// The recorded frames are decoded by the simulator's own code: text frames as JSON, binary
/// frames sniffed (zstd with the dictionary its dictId names from the recording's own `dict`
/// frames, MessagePack, JSON). Each data message a live client would have printed comes once, in
/// recorded order, with channel, entryId, `ts` and payload kept: one whose entryId is not above
/// the last one served on its channel (a resume replay, a reconnect overlap) is left out, as are
/// control frames, undecodable frames, channels the simulator does not produce and messages
/// without a well-formed entryId ([`Skipped`] counts them).
pub struct RecordingSource {
    reader: StreamReader<File>,
    dicts: HashMap<u32, DDict<'static>>,
    dctx: DCtx<'static>,
    out: Vec<u8>,
    last: BTreeMap<&'static str, EntryId>,
    pending: VecDeque<Produced>,
    skipped: Skipped,
    ended: bool,
}

impl fmt::Debug for RecordingSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingSource")
            .field("header", self.reader.header())
            .field("dicts", &self.dicts.len())
            .field("skipped", &self.skipped)
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl RecordingSource {
    /// Opens the WebSocket recording at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be read, is not a recording (or has an unknown format version or a
    /// corrupt header), or is an IMG recording: an [`io::ErrorKind::InvalidData`] error naming
    /// the reason.
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let reader = StreamReader::new(file).map_err(invalid)?;
        if reader.header().feed != Feed::Ws {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "this is a {} recording, not a ws one",
                    reader.header().feed.as_str()
                ),
            ));
        }
        Ok(Self {
            reader,
            dicts: HashMap::new(),
            dctx: DCtx::create(),
            out: Vec::new(),
            last: BTreeMap::new(),
            pending: VecDeque::new(),
            skipped: Skipped::default(),
            ended: false,
        })
    }

    /// What was left out so far.
    #[must_use]
    pub fn skipped(&self) -> &Skipped {
        &self.skipped
    }

    /// The next data message of the recording, `None` at its end (a torn tail ends it, as it
    /// ends a replay; a read error too, logged).
    pub(crate) fn next_message(&mut self) -> Option<Produced> {
        loop {
            if let Some(msg) = self.pending.pop_front() {
                return Some(msg);
            }
            if self.ended {
                return None;
            }
            match self.reader.next() {
                Ok(Some(Item::Record(record))) => {
                    let kind = record.kind;
                    // The record borrows the reader: copy out what the decoder needs.
                    let payload = record.payload.to_vec();
                    self.frame(kind, &payload);
                }
                Ok(Some(Item::Truncated(truncation))) => {
                    tracing::warn!(
                        offset = truncation.offset,
                        reason = truncation.reason.as_str(),
                        "the recording ends in a torn record; serving what came before"
                    );
                    self.ended = true;
                }
                Ok(None) => self.ended = true,
                Err(e) => {
                    tracing::error!(error = %e, "reading the recording failed; ending the stream");
                    self.ended = true;
                }
            }
            if self.ended {
                tracing::info!(skipped = ?self.skipped, "end of the recording");
            }
        }
    }

    /// Handles one recorded frame: dictionaries are kept, data messages queued.
    fn frame(&mut self, kind: RecordKind, payload: &[u8]) {
        match kind {
            RecordKind::Text => self.documents(payload),
            RecordKind::Binary => match payload {
                [0x28, 0xB5, 0x2F, 0xFD, ..] => match self.inflate(payload) {
                    Some(json) => self.documents(&json),
                    None => self.skipped.undecodable += 1,
                },
                [b'{', ..] => self.documents(payload),
                _ => match msgpack_to_json(payload) {
                    Some(doc) => self.document(doc),
                    None => self.skipped.undecodable += 1,
                },
            },
            _ => {}
        }
    }

    /// One zstd frame, with the dictionary its dictId names.
    fn inflate(&mut self, frame: &[u8]) -> Option<Vec<u8>> {
        if self.out.capacity() < MAX_DECOMPRESSED {
            self.out.reserve(MAX_DECOMPRESSED);
        }
        self.out.clear();
        let result = match zstd_safe::get_dict_id_from_frame(frame) {
            None => self.dctx.decompress(&mut self.out, frame),
            Some(id) => {
                let dict = self.dicts.get(&id.get())?;
                self.dctx.decompress_using_ddict(&mut self.out, frame, dict)
            }
        };
        match result {
            Ok(_) => Some(self.out.clone()),
            Err(_) => {
                let _ = self.dctx.reset(zstd_safe::ResetDirective::SessionOnly);
                None
            }
        }
    }

    /// A text frame or decompressed bytes: one or more JSON documents.
    fn documents(&mut self, bytes: &[u8]) {
        let mut any_bad = false;
        for doc in serde_json::Deserializer::from_slice(bytes).into_iter::<Value>() {
            match doc {
                Ok(doc) => self.document(doc),
                Err(_) => {
                    any_bad = true;
                    break;
                }
            }
        }
        if any_bad {
            self.skipped.undecodable += 1;
        }
    }

    /// One JSON document: a `dict` control frame is kept, a data message queued.
    fn document(&mut self, doc: Value) {
        let Value::Object(map) = &doc else { return };
        match map.get("type").and_then(Value::as_str) {
            Some("dict") => {
                self.dict(map);
                return;
            }
            Some("login_ok" | "error" | "resume_complete" | "snapshot_required" | "reconnect") => {
                return;
            }
            _ => {}
        }
        let (Some(channel), Some(_)) = (
            map.get("channel").and_then(Value::as_str),
            map.get("payload"),
        ) else {
            return;
        };
        let Some(channel) = ChannelSet::canonical(channel) else {
            self.skipped.unknown_channel += 1;
            return;
        };
        let Some(entry_id) = map
            .get("entryId")
            .and_then(Value::as_str)
            .and_then(parse_entry_id)
        else {
            self.skipped.no_entry_id += 1;
            return;
        };
        if self.last.get(channel).is_some_and(|last| *last >= entry_id) {
            self.skipped.duplicates += 1;
            return;
        }
        self.last.insert(channel, entry_id);
        let ts = map.get("ts").and_then(Value::as_u64).unwrap_or(entry_id.0);
        self.pending.push_back(Produced {
            channel,
            entry_id,
            ts,
            json: doc.to_string(),
        });
    }

    /// A recorded `dict` frame: its dictionary is filed under its dictId (a later frame with the
    /// same id replaces it).
    fn dict(&mut self, map: &serde_json::Map<String, Value>) {
        let id = map
            .get("dictId")
            .and_then(Value::as_u64)
            .and_then(|id| u32::try_from(id).ok());
        let data = map.get("data").and_then(Value::as_str).and_then(|text| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
                .ok()
        });
        let (Some(id), Some(data)) = (id, data) else {
            tracing::warn!("a recorded dict frame is unusable; skipped");
            return;
        };
        if self.dicts.len() >= MAX_DICTS && !self.dicts.contains_key(&id) {
            tracing::warn!(dict_id = id, "too many recorded dictionaries; skipped");
            return;
        }
        match DDict::try_create(&data) {
            Some(dict) => {
                self.dicts.insert(id, dict);
            }
            None => tracing::warn!(dict_id = id, "a recorded dictionary is invalid; skipped"),
        }
    }
}

impl MessageSource for RecordingSource {
    fn produce(&mut self, _now_ms: u64) -> Option<Produced> {
        self.next_message()
    }
}

fn invalid(e: RecordError) -> io::Error {
    match e {
        RecordError::Io(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// One MessagePack map as JSON (string keys; `bin`, `ext`, NaN and infinities refused, as the
/// protocol's decode rules say).
fn msgpack_to_json(bytes: &[u8]) -> Option<Value> {
    let mut rest = bytes;
    let value = rmpv::decode::read_value(&mut rest).ok()?;
    if !rest.is_empty() || !value.is_map() {
        return None;
    }
    to_json(value)
}

fn to_json(value: rmpv::Value) -> Option<Value> {
    use rmpv::Value as M;
    Some(match value {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(b),
        M::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => Value::from(u),
            (None, Some(s)) => Value::from(s),
            (None, None) => return None,
        },
        M::F32(f) => Value::Number(serde_json::Number::from_f64(f64::from(f))?),
        M::F64(f) => Value::Number(serde_json::Number::from_f64(f)?),
        M::String(s) => Value::String(s.into_str()?),
        M::Array(items) => Value::Array(items.into_iter().map(to_json).collect::<Option<_>>()?),
        M::Map(pairs) => Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| Some((k.as_str()?.to_owned(), to_json(v)?)))
                .collect::<Option<_>>()?,
        ),
        M::Binary(_) | M::Ext(..) => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dicts::builtin_dicts;
    use crate::encode::{self, FrameEncoder, SimFrame, SimReceiveType};
    use crate::ws_gen::WsGenerator;
    use oddsfeed_record::{Header, RecordRef, Writer};

    /// Writes a recording of `n` generated messages sent in `mode` on one connection (with the
    /// dict frames a zstd-dict login gets), plus every message again on a second connection (a
    /// resume overlap), and returns the messages.
    fn write(path: &Path, mode: SimReceiveType, n: u64) -> Vec<(String, EntryId, Value)> {
        let mut generator = WsGenerator::new(5);
        let msgs: Vec<_> = (0..n)
            .map(|i| generator.next(1_766_400_000_000 + i))
            .collect();
        let file = File::create(path).expect("create");
        let mut w = Writer::new(file, &Header::new(Feed::Ws, 1)).expect("writer");
        let mut encoder = FrameEncoder::new(mode).expect("encoder");
        for conn in 1..=2u64 {
            w.append(&RecordRef::new(RecordKind::ConnStart, conn, 2, b""))
                .expect("append");
            let login_ok = br#"{"type":"login_ok","receiveType":"x"}"#;
            w.append(&RecordRef::new(RecordKind::Text, conn, 3, login_ok))
                .expect("append");
            if mode == SimReceiveType::ZstdDict {
                for dict in builtin_dicts() {
                    let frame = encode::dict_frame_json(dict);
                    w.append(&RecordRef::new(RecordKind::Text, conn, 4, frame.as_bytes()))
                        .expect("append");
                }
            }
            for msg in &msgs {
                let frame = encoder.encode(msg.channel, &msg.json).expect("encode");
                let kind = match frame {
                    SimFrame::Text(_) => RecordKind::Text,
                    SimFrame::Binary(_) => RecordKind::Binary,
                };
                w.append(&RecordRef::new(kind, conn, 5, frame.as_bytes()))
                    .expect("append");
            }
        }
        w.finish().expect("finish");
        msgs.iter()
            .map(|m| {
                let doc: Value = serde_json::from_str(&m.json).expect("json");
                (m.channel.to_owned(), m.entry_id, doc)
            })
            .collect()
    }

    #[test]
    fn every_mode_yields_the_recorded_messages_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        for mode in [
            SimReceiveType::Json,
            SimReceiveType::Binary,
            SimReceiveType::Zstd,
            SimReceiveType::ZstdDict,
        ] {
            let path = dir.path().join(format!("{mode}.rec"));
            let expected = write(&path, mode, 40);
            let mut source = RecordingSource::open(&path).expect("open");
            let got: Vec<(String, EntryId, Value)> = std::iter::from_fn(|| source.produce(0))
                .map(|p| {
                    let doc: Value = serde_json::from_str(&p.json).expect("json");
                    assert_eq!(p.ts, doc["ts"].as_u64().expect("ts"), "{mode}");
                    (p.channel.to_owned(), p.entry_id, doc)
                })
                .collect();
            assert_eq!(got, expected, "{mode}");
            assert_eq!(source.skipped().duplicates, 40, "{mode}");
            assert_eq!(source.skipped().undecodable, 0, "{mode}");
        }
    }

    #[test]
    fn an_img_recording_or_other_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let img = dir.path().join("img.rec");
        let w = Writer::new(
            File::create(&img).expect("create"),
            &Header::new(Feed::Img, 1),
        )
        .expect("writer");
        w.finish().expect("finish");
        let err = RecordingSource::open(&img).expect_err("img");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("img recording"), "{err}");
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"{\"not\":\"a recording\"}").expect("write");
        let err = RecordingSource::open(&junk).expect_err("junk");
        assert!(
            err.to_string().contains("not an oddsfeed recording"),
            "{err}"
        );
    }

    #[test]
    fn msgpack_with_bin_or_a_non_map_is_refused() {
        let mut bytes = Vec::new();
        rmpv::encode::write_value(
            &mut bytes,
            &rmpv::Value::Map(vec![("a".into(), rmpv::Value::Binary(vec![1]))]),
        )
        .expect("encode");
        assert_eq!(msgpack_to_json(&bytes), None);
        assert_eq!(msgpack_to_json(&[0x01]), None);
        let mut ok = Vec::new();
        rmpv::encode::write_value(
            &mut ok,
            &rmpv::Value::Map(vec![("a".into(), rmpv::Value::F64(2.5))]),
        )
        .expect("encode");
        assert_eq!(msgpack_to_json(&ok), Some(serde_json::json!({"a": 2.5})));
    }
}
