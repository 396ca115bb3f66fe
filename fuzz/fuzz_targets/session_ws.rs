//! Fuzz target: `oddsfeed_session::ws::WsSession`, driven through a sequence
//! of operations read from the input (docs/PROTOCOL.md Part B, "Robustness rules").
//!
//! Byte 0 configures the session: bits 0-1 the requested receive type, bit 2
//! `once`, bit 3 start from a saved resume state. Then, until the input runs
//! out, one byte picks an operation (modulo 11) and the next bytes are its
//! arguments (see [`Op`]): connect, a text or binary frame (fuzzed or one of
//! the fixtures), a close with a code, an abrupt close, time passing, a failed
//! connect, transport activity, a consumed message.
//!
//! At most [`MAX_OPS`] operations run. After every operation every output queue is
//! drained. Invariants checked:
//! - no panic; each drain ends (bounded by a generous cap);
//! - at most two connections; a stopped session has no timer;
//! - after `handle_timeout(now)` the next deadline is later than `now` (a
//!   driver never spins);
//! - the API key never shows in the `Debug` of a transmit, event or action
//!   (unless the fuzzer itself sent it in a frame);
//! - decode errors keep at most `RAW_CAP` bytes;
//! - a consumed cursor never passes the delivered one.
#![no_main]

use std::fmt::Write as _;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use base64::Engine as _;

use libfuzzer_sys::fuzz_target;
use oddsfeed_fuzz::{Ops, drain};
use oddsfeed_model::ws::DataMessage;
use oddsfeed_model::{ApiKey, EntryId, ReceiveType, ResumeState};
use oddsfeed_session::ws::{
    Action, CloseInfo, ConnId, DecodeError, Event, FrameKind, OutFrame, RAW_CAP, WsConfig,
    WsSession,
};

const KEY: &str = "fuzz-Secret-Key-7f3a";
const MAX_FRAME: usize = 64 << 10;
const MAX_DECOMPRESSED: usize = 256 << 10;
/// Generous bound on what one operation may queue.
const DRAIN_CAP: usize = 10_000;
/// Operations per run; the rest of a longer input is ignored. Short programs keep a run
/// cheap (thousands per second), and every state the session has is a few operations
/// away from the start: the canned frames bring login, dictionaries and data in one step.
const MAX_OPS: usize = 16;

const CHANNELS: [&str; 6] = ["odds", "fixtures", "bookmakers", "scores", "clocks", "x"];
const CLOSE_CODES: [u16; 11] = [
    1000, 1001, 1006, 1007, 1008, 1009, 1011, 4000, 4001, 4002, 4003,
];

macro_rules! fixtures {
    ($kind:ident: $($path:literal),* $(,)?) => {
        [$((FrameKind::$kind, include_bytes!(concat!("../../fixtures/", $path)) as &[u8])),*]
    };
}

/// Canned frames: every control fixture, login_ok for each mode, and the data
/// fixtures in every receive type. The `odds` data fixture (2.8 KB of JSON) appears
/// only zstd-dict compressed, where it exercises the dictionary; elsewhere a short
/// `odds` message stands in, so that a run of many canned operations stays cheap.
const TEXT: [(FrameKind, &[u8]); 14] = [
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/login_ok.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/login_ok_downgraded.json"),
    ),
    // Replaced in `CANNED` by a `dict` frame for the small dictionary.
    (FrameKind::Text, b""),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/error_login_failed.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/resume_complete.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/snapshot_required.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/reconnect.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/unknown_control.json"),
    ),
    (FrameKind::Text, SHORT_ODDS),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/data_fixtures.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/data_bookmakers.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/data_scores.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/data_clocks.json"),
    ),
    (
        FrameKind::Text,
        include_bytes!("../../fixtures/ws/data_unknown_channel.json"),
    ),
];
/// A short `odds` data message (one price).
const SHORT_ODDS: &[u8] = br#"{"channel":"odds","type":"UPDATE","payload":{"fixtureId":"id1002212346448591","odds":{"stake":{"m:1":{"price":2.84,"active":true}}}},"ts":1766399998562,"entryId":"1766399998562-1"}"#;
const BINARY: [(FrameKind, &[u8]); 12] = fixtures!(Binary:
    "frames/binary/data_clocks.bin", "frames/binary/data_scores.bin", "frames/binary/data_fixtures.bin",
    "frames/zstd/data_clocks.bin", "frames/zstd/data_scores.bin", "frames/zstd/data_bookmakers.bin",
    "frames/zstd-dict/data_odds.bin", "frames/zstd-dict/data_fixtures.bin",
    "frames/zstd-dict/data_bookmakers.bin", "frames/zstd-dict/data_scores.bin",
    "frames/zstd-dict/data_clocks.bin", "frames/json/data_clocks.bin",
);
/// The text fixtures the small dictionary is trained on (at least seven samples are needed).
const TRAINING: [&[u8]; 12] = [
    SHORT_ODDS,
    include_bytes!("../../fixtures/ws/data_fixtures.json"),
    include_bytes!("../../fixtures/ws/data_bookmakers.json"),
    include_bytes!("../../fixtures/ws/data_scores.json"),
    include_bytes!("../../fixtures/ws/data_clocks.json"),
    include_bytes!("../../fixtures/ws/data_unknown_channel.json"),
    include_bytes!("../../fixtures/ws/login_ok.json"),
    include_bytes!("../../fixtures/ws/login_ok_downgraded.json"),
    include_bytes!("../../fixtures/ws/snapshot_required.json"),
    include_bytes!("../../fixtures/ws/resume_complete.json"),
    include_bytes!("../../fixtures/ws/reconnect.json"),
    include_bytes!("../../fixtures/ws/unknown_control.json"),
];
/// Size of the small dictionary: the `dict` frame carrying it is about 1.5 KB, against
/// 44 KB for the 32 KiB fixture dictionary, whose base64 decoding and parsing (about
/// 400 µs per load here) cost more than all the rest of a run.
const SMALL_DICT_SIZE: usize = 1024;
const LOGIN_OK: [(FrameKind, &[u8]); 3] = [
    (FrameKind::Text, br#"{"type":"login_ok","receiveType":"binary"}"#),
    (FrameKind::Text, br#"{"type":"login_ok","receiveType":"zstd"}"#),
    (FrameKind::Text, br#"{"type":"login_ok","receiveType":"zstd-dict","resume":{"serverEpoch":"e2","replayChannels":["odds"],"serverEntryIds":{"odds":"1-0"}}}"#),
];

/// Every canned frame, by index: [`TEXT`], [`BINARY`], [`LOGIN_OK`] (indices 0-28, as
/// `fuzz/seed.sh` lists them), where index 2 is the `dict` frame of a small dictionary
/// trained on the text fixtures (see [`SMALL_DICT_SIZE`]), then frames compressed with
/// that dictionary (29-33: the short `odds`, `scores`, `clocks`, `fixtures`, and `odds`
/// with a content size in its header). The fixture zstd-dict frames (20-24) name the
/// fixture dictionaries, which this target never loads: they exercise `unknown_dict`.
/// (The 32 KiB fixture dictionaries are fuzzed by `frame_decoder` and `zstd_decompress`.)
/// Built once per process, deterministically (dictionary training has no randomness).
static CANNED: LazyLock<Vec<(FrameKind, Vec<u8>)>> = LazyLock::new(|| {
    let mut all: Vec<(FrameKind, Vec<u8>)> = TEXT
        .iter()
        .chain(&BINARY)
        .chain(&LOGIN_OK)
        .map(|&(kind, frame)| (kind, frame.to_vec()))
        .collect();
    let samples = TRAINING.concat();
    let sizes: Vec<usize> = TRAINING.iter().map(|s| s.len()).collect();
    let mut dict = Vec::with_capacity(SMALL_DICT_SIZE);
    zstd_safe::train_from_buffer(&mut dict, &samples, &sizes).expect("small dictionary");
    let id = zstd_safe::get_dict_id(&dict).expect("a trained dictionary has an id");
    let data = base64::engine::general_purpose::STANDARD.encode(&dict);
    let message = format!(
        r#"{{"type":"dict","channel":"odds","dictVersion":"fuzz-small","dictId":{id},"encoding":"base64","data":"{data}"}}"#
    );
    all[2] = (FrameKind::Text, message.into_bytes());
    let compress = |message: &[u8], content_size: bool| {
        let mut cctx = zstd_safe::CCtx::create();
        cctx.set_parameter(zstd_safe::CParameter::ContentSizeFlag(content_size))
            .expect("content size flag");
        cctx.load_dictionary(&dict)
            .expect("load the small dictionary");
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(message.len()));
        cctx.compress2(&mut frame, message).expect("compress");
        (FrameKind::Binary, frame)
    };
    all.push(compress(SHORT_ODDS, false));
    all.push(compress(TRAINING[3], false));
    all.push(compress(TRAINING[4], false));
    all.push(compress(TRAINING[1], false));
    all.push(compress(SHORT_ODDS, true));
    all
});

/// The operations, by their selector byte modulo 11.
#[derive(Debug, Clone, Copy)]
enum Op {
    Connect,
    Text,
    Binary,
    Canned,
    Close,
    CloseAbruptly,
    Advance,
    ConnectFailed,
    Activity,
    Consumed,
    Timeout,
}

const OPS: [Op; 11] = [
    Op::Connect,
    Op::Text,
    Op::Binary,
    Op::Canned,
    Op::Close,
    Op::CloseAbruptly,
    Op::Advance,
    Op::ConnectFailed,
    Op::Activity,
    Op::Consumed,
    Op::Timeout,
];

/// The two fields of a login the harness checks (cheaper to read than a whole `Value`).
#[derive(serde::Deserialize)]
struct LoginCheck<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    #[serde(rename = "apiKey")]
    api_key: &'a str,
}

/// Whether `bytes` hold [`KEY`].
fn contains_key(bytes: &[u8]) -> bool {
    bytes.windows(KEY.len()).any(|w| w == KEY.as_bytes())
}

thread_local! {
    /// The buffer `Debug` output is checked in, reused across runs (no allocation per check).
    static DEBUG_BUF: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

struct Harness {
    session: WsSession,
    /// Every connection id the session returned, open or not (frames for
    /// forgotten ones must be ignored).
    conns: Vec<ConnId>,
    now: Instant,
    /// Whether a fuzzed frame carried the key (then it may legitimately be echoed).
    key_in_input: bool,
}

impl Harness {
    fn drain_all(&mut self) {
        let key_in_input = self.key_in_input;
        // Formats only when the check can fail (once the fuzzer sent the key itself, an
        // echo is legitimate and the check is off), into a reused buffer.
        let no_key = |what: &str, value: &dyn std::fmt::Debug| {
            if !key_in_input {
                DEBUG_BUF.with_borrow_mut(|debug| {
                    debug.clear();
                    let _ = write!(debug, "{value:?}");
                    assert!(!debug.contains(KEY), "API key in {what}: {debug}");
                });
            }
        };
        drain(
            DRAIN_CAP,
            || self.session.poll_transmit(),
            |t| {
                no_key("transmit", &t);
                if let OutFrame::Text(login) = &t.frame {
                    let login: LoginCheck<'_> = serde_json::from_str(login)
                        .unwrap_or_else(|e| panic!("login is not JSON: {e}"));
                    assert_eq!(login.kind, "login");
                    assert_eq!(login.api_key, KEY);
                }
            },
        );
        drain(
            DRAIN_CAP,
            || self.session.poll_event(),
            |e| {
                if let Event::DecodeError(d) = &e {
                    assert!(d.raw.len() <= RAW_CAP);
                    assert!(!d.is_fatal());
                    // `Debug` prints `raw` as a list of numbers (up to 4 KiB of them: most of
                    // a run's formatting), where the key could never show: the bytes are
                    // searched instead, which is stronger. The strings are searched directly
                    // (see the data events below), the reason by `Debug`; numbers cannot hold
                    // the key.
                    let DecodeError {
                        kind,
                        channel,
                        dict_id: _,
                        raw,
                        len: _,
                        source: _,
                    } = d;
                    if !key_in_input {
                        assert!(!contains_key(raw), "API key in a decode error's raw bytes");
                        let detail = d.detail();
                        for text in [channel.as_ref(), Some(&detail)].into_iter().flatten() {
                            assert!(!text.contains(KEY), "API key in a decode error: {text}");
                        }
                    }
                    no_key("decode error kind", kind);
                } else if let Event::Data(m) = &e {
                    // Strings are searched directly: `Debug` of a string shows the key exactly
                    // when the string holds it (it only escapes characters the key lacks, each
                    // escape starting with a backslash), and escaping every character of `raw`
                    // was a fifth of a run. The other fields by `Debug`.
                    let DataMessage {
                        channel,
                        kind,
                        ts,
                        entry_id,
                        entry_id_raw,
                        payload,
                        typed_error,
                        raw,
                    } = m;
                    if !key_in_input {
                        let strings = [Some(channel), Some(kind), entry_id_raw.as_ref()]
                            .into_iter()
                            .chain([typed_error.as_ref(), Some(raw)]);
                        for text in strings.flatten() {
                            assert!(!text.contains(KEY), "API key in a data event: {text}");
                        }
                    }
                    no_key("data event", &(ts, entry_id, payload));
                } else {
                    no_key("event", &e);
                }
            },
        );
        drain(
            DRAIN_CAP,
            || self.session.poll_action(),
            |a| {
                no_key("action", &a);
                if let Action::Stop(fatal) = &a {
                    no_key("fatal error", &fatal.error.to_string());
                }
            },
        );
        assert!(
            self.session.connections().len() <= 2,
            "more than two connections"
        );
        if self.session.is_stopped() {
            assert_eq!(
                self.session.poll_timeout(),
                None,
                "a stopped session has a timer"
            );
        }
    }

    /// Runs every timer due at `self.now`, as a driver would.
    fn fire_timers(&mut self) {
        for _ in 0..8 {
            match self.session.poll_timeout() {
                Some(t) if t <= self.now => {
                    self.session.handle_timeout(self.now);
                    self.drain_all();
                }
                _ => break,
            }
        }
        if let Some(t) = self.session.poll_timeout() {
            assert!(
                t > self.now,
                "deadline {t:?} still due after handle_timeout"
            );
        }
    }

    fn frame(&mut self, conn: Option<ConnId>, kind: FrameKind, payload: &[u8]) {
        if let Some(conn) = conn {
            self.session.handle_frame(conn, kind, payload, self.now);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ops = Ops::new(data);
    let flags = ops.byte();
    let mut config = WsConfig::new(ApiKey::new(KEY));
    config.receive_type = match flags & 3 {
        0 => ReceiveType::Json,
        1 => ReceiveType::Binary,
        2 => ReceiveType::Zstd,
        _ => ReceiveType::ZstdDict,
    };
    config.once = flags & 4 != 0;
    config.max_frame = MAX_FRAME;
    config.max_decompressed = MAX_DECOMPRESSED;
    let mut resume = ResumeState::default();
    if flags & 8 != 0 {
        resume.server_epoch = Some("0804ab61513c4681a3afd8afc1fb2f75".to_owned());
        resume
            .last_seen_id
            .insert("scores".to_owned(), EntryId::new(1_766_418_738_000, 200));
        resume
            .last_seen_id
            .insert("odds".to_owned(), EntryId::new(1_766_399_998_562, 0));
    }
    let mut h = Harness {
        session: WsSession::new(config, resume),
        conns: Vec::new(),
        now: Instant::now(),
        key_in_input: false,
    };
    h.drain_all();

    for _ in 0..MAX_OPS {
        if ops.is_empty() {
            break;
        }
        let Some(&op) = ops.pick(&OPS) else { return };
        match op {
            Op::Connect => {
                let conn = h.session.handle_connected(h.now);
                h.conns.push(conn);
            }
            Op::Text | Op::Binary => {
                let conn = ops.pick(&h.conns).copied();
                let payload = ops.blob();
                h.key_in_input |= contains_key(payload);
                let kind = if matches!(op, Op::Text) {
                    FrameKind::Text
                } else {
                    FrameKind::Binary
                };
                h.frame(conn, kind, payload);
            }
            Op::Canned => {
                let conn = ops.pick(&h.conns).copied();
                if let Some((kind, payload)) = ops.pick(&CANNED) {
                    h.frame(conn, *kind, payload);
                }
            }
            Op::Close => {
                let conn = ops.pick(&h.conns).copied();
                let sel = ops.byte();
                let code = match CLOSE_CODES.get(usize::from(sel)) {
                    Some(&code) => code,
                    None => ops.u16(),
                };
                let len = usize::from(ops.byte() % 32);
                let reason = String::from_utf8_lossy(ops.take(len)).into_owned();
                if let Some(conn) = conn {
                    h.session
                        .handle_closed(conn, Some(CloseInfo::new(code, reason)), h.now);
                }
            }
            Op::CloseAbruptly => {
                if let Some(&conn) = ops.pick(&h.conns) {
                    h.session.handle_closed(conn, None, h.now);
                }
            }
            Op::Advance => {
                let ms = u64::from(ops.u16()) * 4;
                h.now += Duration::from_millis(ms);
                h.fire_timers();
            }
            Op::ConnectFailed => h.session.handle_connect_failed(h.now, "fuzz: refused"),
            Op::Activity => {
                if let Some(&conn) = ops.pick(&h.conns) {
                    h.session.handle_activity(conn, h.now);
                }
            }
            Op::Consumed => {
                let channel = ops.pick(&CHANNELS).copied().unwrap_or("odds");
                let ts = u64::from(ops.u32()) + 1_766_000_000_000;
                let seq = u64::from(ops.byte());
                let _moved = h.session.handle_consumed(channel, EntryId::new(ts, seq));
                let consumed = h.session.resume_state();
                for (ch, id) in &consumed.last_seen_id {
                    match h.session.delivered_cursors().get(ch) {
                        Some(delivered) => assert!(
                            id <= delivered,
                            "consumed {id} > delivered {delivered} on {ch}"
                        ),
                        None => panic!("consumed cursor {id} on {ch} without a delivered one"),
                    }
                }
            }
            Op::Timeout => {
                // Calling early (or at any time) must be harmless.
                h.session.handle_timeout(h.now);
            }
        }
        h.drain_all();
    }
});
