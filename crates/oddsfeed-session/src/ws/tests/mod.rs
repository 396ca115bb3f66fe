//! Tests of the WebSocket session and decoder, driven in virtual time with hand-built frames.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decoder;
mod session;

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oddsfeed_model::{ApiKey, ReceiveType, ResumeState};
use serde_json::Value;

use super::{Action, ConnId, Event, FrameKind, OutFrame, Transmit, WsConfig, WsSession};

pub(crate) const KEY: &str = "sekrit-key-123";

/// The dictionary id forced into the test dictionary.
pub(crate) const DICT_ID: u32 = 740_826_216;

pub(crate) fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

pub(crate) fn config() -> WsConfig {
    WsConfig::new(ApiKey::new(KEY))
}

/// A session plus a virtual clock.
pub(crate) struct Harness {
    pub s: WsSession,
    pub t0: Instant,
}

impl Harness {
    pub fn new(config: WsConfig) -> Self {
        Self::with_state(config, ResumeState::default())
    }

    pub fn with_state(config: WsConfig, state: ResumeState) -> Self {
        let s = WsSession::new(config, state);
        Self {
            s,
            t0: Instant::now(),
        }
    }

    pub fn at(&self, ms_: u64) -> Instant {
        self.t0 + ms(ms_)
    }

    pub fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.s.poll_event()).collect()
    }

    pub fn names(&mut self) -> Vec<&'static str> {
        self.events().iter().map(Event::name).collect()
    }

    pub fn actions(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.s.poll_action()).collect()
    }

    pub fn transmits(&mut self) -> Vec<Transmit> {
        std::iter::from_fn(|| self.s.poll_transmit()).collect()
    }

    /// Connects at `t` ms (expecting the session to have asked for it), returns the id and the login
    /// JSON. Leaves events queued (`connected`).
    pub fn connect(&mut self, t: u64) -> (ConnId, Value) {
        let conn = self.s.handle_connected(self.at(t));
        let tx = self.transmits();
        assert_eq!(tx.len(), 1, "one login per connection: {tx:?}");
        assert_eq!(tx[0].conn, conn);
        let OutFrame::Text(text) = &tx[0].frame else {
            panic!("login must be a text frame: {tx:?}")
        };
        (conn, serde_json::from_str(text).unwrap())
    }

    pub fn text(&mut self, conn: ConnId, frame: &str, t: u64) {
        self.s
            .handle_frame(conn, FrameKind::Text, frame.as_bytes(), self.at(t));
    }

    pub fn binary(&mut self, conn: ConnId, frame: &[u8], t: u64) {
        self.s
            .handle_frame(conn, FrameKind::Binary, frame, self.at(t));
    }

    /// Starts a session, connects and logs in with `login_ok`; drains everything.
    pub fn streaming(config: WsConfig, login_ok: &str) -> (Self, ConnId) {
        let mut h = Self::new(config);
        assert_eq!(h.actions(), vec![Action::OpenConnection]);
        let (conn, _) = h.connect(0);
        h.text(conn, login_ok, 1);
        h.events();
        (h, conn)
    }

    /// Every delivered data message as `channel entryId`.
    pub fn data_of(events: &[Event]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Data(m) => Some(format!(
                    "{} {}",
                    m.channel,
                    m.entry_id.map(|id| id.to_string()).unwrap_or_default()
                )),
                _ => None,
            })
            .collect()
    }
}

/// A JSON data message.
pub(crate) fn data(channel: &str, entry_id: &str) -> String {
    format!(
        r#"{{"channel":"{channel}","type":"UPDATE","payload":{{"fixtureId":"f1"}},"ts":1,"entryId":"{entry_id}"}}"#
    )
}

/// A `login_ok` in json mode with the given epoch and replay channels.
pub(crate) fn login_ok(mode: &str, epoch: &str, replay: &[&str]) -> String {
    let replay: Vec<String> = replay.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"{{"type":"login_ok","receiveType":"{mode}","channels":["odds","fixtures","scores"],"access":{{"live":true,"pregame":true}},"resume":{{"serverEpoch":"{epoch}","resumeWindowMs":60000,"replayChannels":[{}]}}}}"#,
        replay.join(",")
    )
}

pub(crate) fn json_config() -> WsConfig {
    let mut c = config();
    c.receive_type = ReceiveType::Json;
    c
}

// ----- zstd helpers ---------------------------------------------------------------------------

fn samples() -> Vec<Vec<u8>> {
    (0..600u32)
        .map(|i| {
            format!(
                r#"{{"channel":"odds","type":"UPDATE","payload":{{"fixtureId":"id{:016}","odds":{{"stake":{{"id{:016}:stake:{}:0":{{"bookmaker":"stake","outcomeId":{},"playerId":0,"marketId":{},"price":{}.{},"active":true,"changedAt":{}}}}}}}}},"ts":{},"entryId":"{}-{}"}}"#,
                i * 7919 % 100_000,
                i * 7919 % 100_000,
                i % 37,
                i % 37,
                i % 101,
                1 + i % 9,
                i % 100,
                1_766_000_000_000u64 + u64::from(i),
                1_766_000_000_000u64 + u64::from(i),
                1_766_000_000_000u64 + u64::from(i),
                i
            )
            .into_bytes()
        })
        .collect()
}

/// A trained zstd dictionary whose header id is [`DICT_ID`].
pub(crate) fn test_dict() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let mut dict = zstd::dict::from_samples(&samples(), 8 << 10).unwrap();
        dict[4..8].copy_from_slice(&DICT_ID.to_le_bytes());
        dict
    })
}

/// A zstd frame like the feed's: no content size, dictId of the dictionary (or none).
pub(crate) fn zstd_frame(data: &[u8], dict: Option<&[u8]>) -> Vec<u8> {
    use zstd::stream::raw::CParameter;
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(3, d).unwrap(),
        None => zstd::bulk::Compressor::new(3).unwrap(),
    };
    c.set_parameter(CParameter::ContentSizeFlag(false)).unwrap();
    c.compress(data).unwrap()
}

/// Standard base64 with padding (tests only; the session decodes with the zstd crate's store).
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `dict` frame carrying [`test_dict`].
pub(crate) fn dict_frame() -> String {
    format!(
        r#"{{"type":"dict","channel":"odds","dictVersion":"odds-v1","dictId":{DICT_ID},"encoding":"base64","data":"{}"}}"#,
        base64(test_dict())
    )
}

/// A MessagePack map `{"channel":..,"type":"UPDATE","payload":{},"entryId":..}` (fixstr keys
/// and values; every string here is shorter than 32 bytes).
pub(crate) fn msgpack_data(channel: &str, entry_id: &str) -> Vec<u8> {
    fn fixstr(out: &mut Vec<u8>, s: &str) {
        assert!(s.len() < 32);
        out.push(0xa0 | s.len() as u8);
        out.extend_from_slice(s.as_bytes());
    }
    let mut out = vec![0x84];
    fixstr(&mut out, "channel");
    fixstr(&mut out, channel);
    fixstr(&mut out, "type");
    fixstr(&mut out, "UPDATE");
    fixstr(&mut out, "payload");
    out.push(0x80);
    fixstr(&mut out, "entryId");
    fixstr(&mut out, entry_id);
    out
}

#[test]
fn base64_helper_matches_rfc4648_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foo"), "Zm9v");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}
