//! Shared pieces of the bad-input tests: realistic message generators for both feeds, zstd
//! frame builders, and two small drivers that run the sans-IO sessions in virtual time the way
//! the `oddsfeed` facade would (fire every deadline that passed, then feed the input, then
//! drain every output).

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::io::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use oddsfeed_model::img::{Request, SubscriptionFilter};
use oddsfeed_model::{ApiKey, ResumeState};
use oddsfeed_session::img::{Action as ImgAction, Event as ImgEvent, ImgSession, ImgSessionConfig};
use oddsfeed_session::ws::{
    Action as WsAction, ConnId, ConnPhase, Event as WsEvent, FrameKind, OutFrame, WsConfig,
    WsSession,
};

// ----- dictionaries and zstd frames ------------------------------------------------------------

/// The dictId the simulator (and the vendor) use for the `odds` channel.
pub const ODDS_DICT_ID: u32 = 740_826_216;
/// The id in the header of `fixtures/dicts/bookmakers.dict`. The rigs below subscribe to `odds`
/// and `scores` only, so this dictionary is never announced to them.
pub const BOOKMAKERS_DICT_ID: u32 = 740_826_218;

/// The server epoch of every `login_ok` the rigs send.
pub const EPOCH: &str = "0804ab61513c4681a3afd8afc1fb2f75";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/../../fixtures/dicts/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("{path}: {e} (regenerate the fixtures with `cargo xtask fixtures`)")
    })
}

/// The checked-in `odds` dictionary (what `sim ws` announces), id [`ODDS_DICT_ID`].
pub fn odds_dict() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let dict = fixture("odds.dict");
        assert_eq!(header_id(&dict), ODDS_DICT_ID, "odds.dict header id");
        dict
    })
}

/// The checked-in `bookmakers` dictionary, id [`BOOKMAKERS_DICT_ID`].
pub fn bookmakers_dict() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let dict = fixture("bookmakers.dict");
        assert_eq!(
            header_id(&dict),
            BOOKMAKERS_DICT_ID,
            "bookmakers.dict header id"
        );
        dict
    })
}

/// A second `odds` dictionary ("odds-v2"): trained here on odds messages, smaller than the
/// fixture (so the two can be told apart by size), with its header id forced to
/// [`ODDS_DICT_ID`] as a server rolling out a new dictionary version would do.
pub fn odds_dict_v2() -> &'static [u8] {
    static DICT: OnceLock<Vec<u8>> = OnceLock::new();
    DICT.get_or_init(|| {
        let samples: Vec<Vec<u8>> = (10_000..12_000u64)
            .map(|n| odds_json(n, 1_766_500_000_000 + n * 37, n).into_bytes())
            .collect();
        let mut dict = zstd::dict::from_samples(&samples, 12 << 10).expect("train odds-v2");
        dict[4..8].copy_from_slice(&ODDS_DICT_ID.to_le_bytes());
        assert_ne!(dict.len(), odds_dict().len());
        dict
    })
}

/// The id in a zstd dictionary's header (the little-endian u32 after the magic).
pub fn header_id(dict: &[u8]) -> u32 {
    u32::from_le_bytes([dict[4], dict[5], dict[6], dict[7]])
}

/// One zstd frame as the feed sends it: no content size, no checksum, the dictionary's id in
/// the header (or none for a dictless frame).
pub fn zstd_frame(data: &[u8], dict: Option<&[u8]>) -> Vec<u8> {
    use zstd::stream::raw::CParameter;
    let mut c = match dict {
        Some(d) => zstd::bulk::Compressor::with_dictionary(3, d).expect("compressor"),
        None => zstd::bulk::Compressor::new(3).expect("compressor"),
    };
    c.set_parameter(CParameter::ContentSizeFlag(false))
        .expect("no content size");
    c.set_parameter(CParameter::ChecksumFlag(false))
        .expect("no checksum");
    c.compress(data).expect("compress")
}

/// A "zstd bomb": a dictless frame without content size that inflates to `size` bytes of
/// spaces. Built by streaming from a small buffer, so building it never holds `size` bytes.
pub fn zstd_bomb(size: usize) -> Vec<u8> {
    let mut encoder = zstd::stream::Encoder::new(Vec::new(), 3).expect("encoder");
    encoder.include_contentsize(false).expect("no content size");
    encoder.include_checksum(false).expect("no checksum");
    let chunk = vec![b' '; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        encoder.write_all(&chunk[..n]).expect("write");
        left -= n;
    }
    encoder.finish().expect("finish")
}

/// Standard base64 with padding (RFC 4648 §4), as the simulator encodes `dict` frames.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for group in bytes.chunks(3) {
        let b0 = group[0];
        let b1 = group.get(1).copied().unwrap_or(0);
        let b2 = group.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        for k in 0..4 {
            if k <= group.len() {
                let sextet = (n >> (18 - 6 * k)) & 0x3f;
                out.push(char::from(ALPHABET[sextet as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A `dict` control frame (docs/PROTOCOL.md B.6).
pub fn dict_frame(channel: &str, version: &str, dict_id: u32, data: &str) -> String {
    format!(
        r#"{{"type":"dict","channel":"{channel}","dictVersion":"{version}","dictId":{dict_id},"encoding":"base64","data":"{data}"}}"#
    )
}

// ----- WebSocket messages ----------------------------------------------------------------------

/// An `odds` data message for fixture number `n`, with `ts` and entryId `<ts>-<seq>`.
pub fn odds_json(n: u64, ts: u64, seq: u64) -> String {
    let fixture = format!("id10022123{n:08}");
    let outcome = 101 + n % 3;
    let price = 1.5 + (n % 17) as f64 / 10.0;
    let american = ((price - 1.0) * 100.0).round() as i64;
    format!(
        concat!(
            r#"{{"channel":"odds","type":"UPDATE","payload":{{"fixtureId":"{fx}","odds":{{"pinnacle":{{"#,
            r#""{fx}:pinnacle:{o}:0":{{"bookmaker":"pinnacle","outcomeId":{o},"playerId":0,"marketId":101,"#,
            r#""price":{p},"priceFractional":"{num}/10","priceAmerican":{am},"active":true,"changedAt":{ts},"#,
            r#""marketActive":true,"mainLine":null,"limit":500,"betslip":null,"meta":null,"#,
            r#""bookmakerMarketId":"1x2","bookmakerOutcomeId":"home","bookmakerChangedAt":{ts}}}}}}}}},"#,
            r#""ts":{ts},"entryId":"{ts}-{seq}"}}"#
        ),
        fx = fixture,
        o = outcome,
        p = price,
        num = ((price - 1.0) * 10.0).round() as i64,
        am = american,
        ts = ts,
        seq = seq,
    )
}

/// A `scores` data message for fixture number `n`, with `ts` and entryId `<ts>-<seq>`.
pub fn scores_json(n: u64, ts: u64, seq: u64) -> String {
    format!(
        concat!(
            r#"{{"channel":"scores","type":"UPDATE","payload":{{"fixtureId":"id10009876{n:08}","scores":{{"#,
            r#""result":{{"period":"result","participant1Score":{a},"participant2Score":{b},"#,
            r#""updatedAt":"2025-12-22T10:40:00.000595+00:00"}}}}}},"ts":{ts},"entryId":"{ts}-{seq}"}}"#
        ),
        n = n,
        a = n % 4,
        b = n % 3,
        ts = ts,
        seq = seq,
    )
}

/// One data message of the WebSocket feed, with the binary frame `zstd-dict` mode carries it in.
#[derive(Debug, Clone)]
pub struct WsMsg {
    /// `odds` or `scores`.
    pub channel: &'static str,
    /// `<ts>-<seq>`.
    pub entry_id: String,
    /// The JSON text.
    pub json: String,
    /// One zstd frame: with the `odds` dictionary for odds, dictless for scores.
    pub frame: Vec<u8>,
}

impl WsMsg {
    /// `"<channel> <entryId>"`, the form [`delivered`] reports.
    pub fn key(&self) -> String {
        format!("{} {}", self.channel, self.entry_id)
    }
}

/// Message number `i` of a realistic stream: two odds updates for every scores update,
/// timestamps 100 ms apart, entryIds strictly increasing per channel.
pub fn ws_msg(i: u64) -> WsMsg {
    let ts = 1_766_400_000_000 + i * 100;
    if i % 3 == 2 {
        let json = scores_json(i, ts, i);
        WsMsg {
            channel: "scores",
            entry_id: format!("{ts}-{i}"),
            frame: zstd_frame(json.as_bytes(), None),
            json,
        }
    } else {
        let json = odds_json(i, ts, i);
        WsMsg {
            channel: "odds",
            entry_id: format!("{ts}-{i}"),
            frame: zstd_frame(json.as_bytes(), Some(odds_dict())),
            json,
        }
    }
}

/// Messages `range` of the stream of [`ws_msg`].
pub fn ws_msgs(range: std::ops::Range<u64>) -> Vec<WsMsg> {
    range.map(ws_msg).collect()
}

/// The keys of a list of messages, in order.
pub fn keys(msgs: &[WsMsg]) -> Vec<String> {
    msgs.iter().map(WsMsg::key).collect()
}

/// A `login_ok` answering a `zstd-dict` login for `odds` and `scores`, with the vendor's
/// default replay channels.
pub fn login_ok() -> String {
    format!(
        concat!(
            r#"{{"type":"login_ok","receiveType":"zstd-dict","channels":["odds","scores"],"#,
            r#""access":{{"live":true,"pregame":true}},"resume":{{"serverEpoch":"{e}","#,
            r#""resumeWindowMs":60000,"replayChannels":["fixtures","scores"],"serverEntryIds":{{}}}}}}"#
        ),
        e = EPOCH
    )
}

/// The `dict` frame announcing [`odds_dict`].
pub fn odds_dict_frame() -> String {
    dict_frame("odds", "odds-v1", ODDS_DICT_ID, &base64(odds_dict()))
}

/// Every delivered data message of `events` as `"<channel> <entryId>"`, in order.
pub fn delivered(events: &[WsEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            WsEvent::Data(m) => Some(format!(
                "{} {}",
                m.channel,
                m.entry_id.map(|id| id.to_string()).unwrap_or_default()
            )),
            _ => None,
        })
        .collect()
}

/// Every event of `events` that is not a data message.
pub fn non_data(events: &[WsEvent]) -> Vec<&WsEvent> {
    events
        .iter()
        .filter(|e| !matches!(e, WsEvent::Data(_)))
        .collect()
}

/// Drives a [`WsSession`] in virtual time, collecting its outputs.
pub struct WsRig {
    /// The session under test.
    pub s: WsSession,
    /// The virtual clock's origin.
    pub t0: Instant,
    /// Virtual time since `t0`.
    pub now: Duration,
    /// The current connection.
    pub conn: ConnId,
    /// Events not yet taken with [`WsRig::take_events`].
    pub events: Vec<WsEvent>,
    /// Every action since the last [`WsRig::take_actions`].
    pub actions: Vec<WsAction>,
    /// Login frames sent, as JSON.
    pub logins: Vec<serde_json::Value>,
}

impl WsRig {
    /// A session with `config`, connected (login sent) but not logged in yet.
    pub fn connected(config: WsConfig) -> Self {
        Self::connected_with_state(config, ResumeState::default())
    }

    /// As [`WsRig::connected`], starting from a persisted resume state.
    pub fn connected_with_state(config: WsConfig, state: ResumeState) -> Self {
        let mut s = WsSession::new(config, state);
        assert_eq!(s.poll_action(), Some(WsAction::OpenConnection));
        let t0 = Instant::now();
        let conn = s.handle_connected(t0);
        let mut rig = Self {
            s,
            t0,
            now: Duration::ZERO,
            conn,
            events: Vec::new(),
            actions: Vec::new(),
            logins: Vec::new(),
        };
        rig.drain();
        rig
    }

    /// The usual start: `zstd-dict` requested (the CLI's default), connected, `login_ok`, then
    /// the `odds` dictionary. Setup events are discarded.
    pub fn streaming() -> Self {
        Self::streaming_with(WsConfig::new(ApiKey::new("test-api-key")))
    }

    /// As [`WsRig::streaming`] with another configuration.
    pub fn streaming_with(mut config: WsConfig) -> Self {
        config.channels = Some(vec!["odds".to_owned(), "scores".to_owned()]);
        let mut rig = Self::connected(config);
        rig.text(&login_ok());
        rig.text(&odds_dict_frame());
        let setup: Vec<&str> = rig.take_events().iter().map(WsEvent::name).collect();
        assert_eq!(setup, ["connected", "login_ok", "dict"]);
        assert!(rig.take_actions().is_empty());
        rig
    }

    /// The current virtual instant.
    pub fn instant(&self) -> Instant {
        self.t0 + self.now
    }

    /// Lets `ms` of virtual time pass, firing every deadline on the way, as a driver sleeping
    /// on `poll_timeout` would.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        for _ in 0..1000 {
            match self.s.poll_timeout() {
                Some(due) if due <= self.t0 + target => {
                    self.s.handle_timeout(due);
                    self.drain();
                    if self.s.poll_timeout() == Some(due) {
                        break;
                    }
                }
                _ => break,
            }
        }
        self.now = target;
    }

    /// A text frame on the current connection, 20 ms after the previous input.
    pub fn text(&mut self, frame: &str) {
        self.frame(FrameKind::Text, frame.as_bytes());
    }

    /// A binary frame on the current connection, 20 ms after the previous input.
    pub fn binary(&mut self, frame: &[u8]) {
        self.frame(FrameKind::Binary, frame);
    }

    /// A frame of either kind, 20 ms after the previous input.
    pub fn frame(&mut self, kind: FrameKind, payload: &[u8]) {
        self.advance(20);
        let now = self.instant();
        self.s.handle_frame(self.conn, kind, payload, now);
        self.drain();
    }

    /// Each message's binary frame, in order.
    pub fn send(&mut self, msgs: &[WsMsg]) {
        for m in msgs {
            self.binary(&m.frame);
        }
    }

    /// Drains transmits (keeping logins), events and actions, in the documented order.
    pub fn drain(&mut self) {
        while let Some(tx) = self.s.poll_transmit() {
            if let OutFrame::Text(text) = tx.frame {
                self.logins
                    .push(serde_json::from_str(&text).expect("login is JSON"));
            }
        }
        self.events
            .extend(std::iter::from_fn(|| self.s.poll_event()));
        self.actions
            .extend(std::iter::from_fn(|| self.s.poll_action()));
    }

    /// The events collected so far (and forgets them).
    pub fn take_events(&mut self) -> Vec<WsEvent> {
        std::mem::take(&mut self.events)
    }

    /// The actions collected so far (and forgets them).
    pub fn take_actions(&mut self) -> Vec<WsAction> {
        std::mem::take(&mut self.actions)
    }

    /// Asserts that the bad input cost nothing at the connection level: no action at all (no
    /// close, reconnect or stop), the same single connection still streaming.
    pub fn assert_still_streaming(&mut self) {
        let actions = self.take_actions();
        assert!(actions.is_empty(), "unexpected actions: {actions:?}");
        assert!(!self.s.is_stopped());
        assert_eq!(self.s.connections(), vec![self.conn]);
        assert_eq!(
            self.s.connection_phase(self.conn),
            Some(ConnPhase::Streaming)
        );
    }
}

// ----- IMG lines -------------------------------------------------------------------------------

/// The fixed part of every IMG timestamp the generators use.
const DAY: &str = "2025-03-20";

/// `HH:MM:SS.ffffff` for `secs` seconds after 10:00:00.
pub fn img_time(secs: u64) -> String {
    format!(
        "{DAY} {:02}:{:02}:{:02}.{:06}",
        10 + secs / 3600,
        secs / 60 % 60,
        secs % 60,
        (secs * 7919) % 1_000_000
    )
}

/// The post-init snapshot of a small golf feed (docs/PROTOCOL.md A.2, A.5).
pub fn img_snapshot() -> Vec<String> {
    let t = img_time(0);
    vec![
        format!(
            r#"{{"mode":"push","type":"sport","publish_time":"{t}","is_recovery":false,"msg":{{"id":"sp.golf","name":"Golf"}}}}"#
        ),
        format!(
            r#"{{"mode":"push","type":"competition","publish_time":"{t}","is_recovery":false,"msg":{{"id":"comp.golf_1","name":"PGA Tour","sport_id":"sp.golf","arena_id":"1","start_time":null}}}}"#
        ),
        format!(
            r#"{{"mode":"push","type":"event","publish_time":"{t}","is_recovery":false,"msg":{{"id":"ev.golf_1001","name":"Round 1","competition_id":"comp.golf_1","start_time":"{DAY} 08:00:00.000000","stage":"in_play","meta":{{"round":1}}}}}}"#
        ),
        format!(
            r#"{{"mode":"push","type":"market_type","publish_time":"{t}","is_recovery":false,"msg":{{"id":"mt.golf_threeball_hole","name":"3-Ball Hole"}}}}"#
        ),
        format!(
            r#"{{"mode":"push","type":"market","publish_time":"{t}","is_recovery":false,"msg":{{"id":"golf.ev1001.3ball.h1.g7","name":"3-Ball Hole 1 Group 7","event_id":"ev.golf_1001","market_type_id":"mt.golf_threeball_hole","selections":[{{"id":"1544","name":"Rory McIlroy"}},{{"id":"1545","name":"Scottie Scheffler"}},{{"id":"1546","name":"Xander Schauffele"}}]}}}}"#
        ),
    ]
}

/// A `market_update` push number `n` (prices move with `n`).
pub fn img_market_update(n: u64) -> String {
    let t = img_time(n);
    let p = |k: u64| 2.0 + ((n + k) % 9) as f64 * 0.25;
    format!(
        r#"{{"mode":"push","type":"market_update","publish_time":"{t}","is_recovery":false,"msg":{{"id":"golf.ev1001.3ball.h1.g7","status":"open","selections":[{{"id":"1544","price":{}}},{{"id":"1545","price":{}}},{{"id":"1546","price":{}}}]}}}}"#,
        p(0),
        p(3),
        p(6)
    )
}

/// A `heartbeat` push whose server `timestamp` is `secs` after 10:00:00.
pub fn img_heartbeat(secs: u64) -> String {
    let t = img_time(secs);
    format!(
        r#"{{"mode":"push","type":"heartbeat","publish_time":"{t}","is_recovery":false,"msg":{{"timestamp":"{t}"}}}}"#
    )
}

/// A success response to `request_id`.
pub fn img_ok(request_id: &str) -> String {
    format!(
        r#"{{"mode":"resp","status":"ok","publish_time":"{}","reason":null,"request_id":"{request_id}"}}"#,
        img_time(1)
    )
}

/// Live line number `n` of a realistic stream: market updates, with a heartbeat every fourth
/// line (one a second at [`ImgRig`]'s pace of 250 ms per line).
pub fn img_live(n: u64) -> String {
    if n % 4 == 3 {
        img_heartbeat(n)
    } else {
        img_market_update(n)
    }
}

/// Live lines `range`.
pub fn img_lives(range: std::ops::Range<u64>) -> Vec<String> {
    range.map(img_live).collect()
}

/// Every server line delivered in `events` (responses, pushes, notices, unknown objects), as
/// received, in order.
pub fn img_delivered(events: &[ImgEvent]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e.raw_line().map(str::to_owned))
        .collect()
}

/// Every event that is not one of the data events [`img_delivered`] reports.
pub fn img_non_data(events: &[ImgEvent]) -> Vec<&ImgEvent> {
    events.iter().filter(|e| e.raw_line().is_none()).collect()
}

/// Drives an [`ImgSession`] in virtual time, collecting its outputs.
pub struct ImgRig {
    /// The session under test.
    pub s: ImgSession,
    /// The virtual clock's origin.
    pub t0: Instant,
    /// Virtual time since `t0`.
    pub now: Duration,
    /// Events not yet taken.
    pub events: Vec<ImgEvent>,
    /// Actions not yet taken.
    pub actions: Vec<ImgAction>,
    /// Lines the session wrote, without their `\n`.
    pub sent: Vec<String>,
}

impl ImgRig {
    /// A session with `config` and a standing `subscribe {}`, connected; `init` and the
    /// subscribe are on the wire, nothing answered yet.
    pub fn connected(config: ImgSessionConfig) -> Self {
        let mut s = ImgSession::new(config);
        assert_eq!(s.poll_action(), Some(ImgAction::OpenConnection));
        s.add_standing_request(Request::subscribe(&SubscriptionFilter::default()))
            .expect("standing subscribe");
        let t0 = Instant::now();
        s.handle_connected(t0);
        let mut rig = Self {
            s,
            t0,
            now: Duration::ZERO,
            events: Vec::new(),
            actions: Vec::new(),
            sent: Vec::new(),
        };
        rig.drain();
        assert_eq!(
            rig.sent,
            [
                r#"{"request":"init","msg":{},"request_id":"r1"}"#,
                r#"{"request":"subscribe","msg":{},"request_id":"r2"}"#,
            ]
        );
        rig
    }

    /// The usual start with the default configuration: init answered, the snapshot, the
    /// subscribe answered, the first heartbeat. Setup events are discarded.
    pub fn streaming() -> Self {
        Self::streaming_with(ImgSessionConfig::default())
    }

    /// As [`ImgRig::streaming`] with another configuration.
    pub fn streaming_with(config: ImgSessionConfig) -> Self {
        let mut rig = Self::connected(config);
        rig.line(&format!(
            r#"{{"mode":"resp","status":"session initialized","session_id":"66193235-937c-4591-a301-33d7251ce8b6","publish_time":"{}","reason":null,"request_id":"r1"}}"#,
            img_time(0)
        ));
        for push in img_snapshot() {
            rig.line(&push);
        }
        rig.line(&img_ok("r2"));
        rig.line(&img_heartbeat(0));
        let setup: Vec<&str> = rig.take_events().iter().map(ImgEvent::name).collect();
        assert_eq!(
            setup,
            [
                "response",
                "session_initialized",
                "push",
                "push",
                "push",
                "push",
                "push",
                "response",
                "push"
            ]
        );
        assert!(rig.take_actions().is_empty());
        assert_eq!(rig.s.outstanding_len(), 0);
        rig
    }

    /// The current virtual instant.
    pub fn instant(&self) -> Instant {
        self.t0 + self.now
    }

    /// Lets `ms` of virtual time pass, firing every deadline on the way.
    pub fn advance(&mut self, ms: u64) {
        let target = self.now + Duration::from_millis(ms);
        for _ in 0..1000 {
            match self.s.poll_timeout() {
                Some(due) if due <= self.t0 + target => {
                    self.s.handle_timeout(due);
                    self.drain();
                    if self.s.poll_timeout() == Some(due) {
                        break;
                    }
                }
                _ => break,
            }
        }
        self.now = target;
    }

    /// Bytes from the server, 250 ms after the previous input.
    pub fn bytes(&mut self, data: &[u8]) {
        self.bytes_after(250, data);
    }

    /// Bytes from the server, `ms` after the previous input.
    pub fn bytes_after(&mut self, ms: u64, data: &[u8]) {
        self.advance(ms);
        let now = self.instant();
        self.s.handle_bytes(data, now);
        self.drain();
    }

    /// One line (a `\n` is added), 250 ms after the previous input.
    pub fn line(&mut self, line: &str) {
        let mut data = Vec::with_capacity(line.len() + 1);
        data.extend_from_slice(line.as_bytes());
        data.push(b'\n');
        self.bytes(&data);
    }

    /// Several lines, one input each.
    pub fn lines(&mut self, lines: &[String]) {
        for l in lines {
            self.line(l);
        }
    }

    /// Drains written lines, events and actions, in the documented order.
    pub fn drain(&mut self) {
        while let Some(line) = self.s.poll_transmit() {
            let text = String::from_utf8(line).expect("the session writes UTF-8");
            let text = text.strip_suffix('\n').expect("a line ends with \\n");
            self.sent.push(text.to_owned());
        }
        self.events
            .extend(std::iter::from_fn(|| self.s.poll_event()));
        self.actions
            .extend(std::iter::from_fn(|| self.s.poll_action()));
    }

    /// The events collected so far (and forgets them).
    pub fn take_events(&mut self) -> Vec<ImgEvent> {
        std::mem::take(&mut self.events)
    }

    /// The actions collected so far (and forgets them).
    pub fn take_actions(&mut self) -> Vec<ImgAction> {
        std::mem::take(&mut self.actions)
    }

    /// Asserts that the bad input cost nothing at the connection level: no action, the first
    /// connection still current and initialized, not stale.
    pub fn assert_still_streaming(&mut self) {
        let actions = self.take_actions();
        assert!(actions.is_empty(), "unexpected actions: {actions:?}");
        assert!(self.s.is_connected() && self.s.is_initialized());
        assert!(!self.s.is_stale());
        assert_eq!(self.s.stats().connections, 1);
    }
}

// ----- memory ----------------------------------------------------------------------------------

/// `VmHWM` (peak resident set) and `VmRSS` of this process in KiB, from `/proc/self/status`;
/// `None` where that file does not exist.
pub fn vm_hwm_rss_kib() -> Option<(u64, u64)> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
    };
    Some((field("VmHWM:")?, field("VmRSS:")?))
}

/// Resets `VmHWM` to the current resident set (`echo 5 > /proc/self/clear_refs`, Linux ≥ 4.0).
pub fn reset_hwm() -> std::io::Result<()> {
    std::fs::write("/proc/self/clear_refs", b"5")
}
