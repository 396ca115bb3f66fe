//! The clock-free, I/O-free part of a session: requests in, lines out.
//!
//! [`Core`] decides what to answer and what to push; the driver in
//! `session.rs` owns timers, sockets and the outbound queue, and asks the core
//! for the next push when the queue has room.

use std::collections::{BTreeSet, HashSet, VecDeque};
use std::sync::Arc;
use std::time::SystemTime;

use serde_json::{Map, Value, json};

use super::config::ImgSimConfig;
use super::time::format_publish_time;
use super::world::{GolfWorld, Market, market_update_msg};

/// A subscription filter (docs/PROTOCOL.md A.4): absent keys do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Filter {
    event_ids: Option<BTreeSet<String>>,
    market_type_ids: Option<BTreeSet<String>>,
    market_ids: Option<BTreeSet<String>>,
}

impl Filter {
    fn matches(&self, m: &Market) -> bool {
        let ok =
            |set: &Option<BTreeSet<String>>, id: &str| set.as_ref().is_none_or(|s| s.contains(id));
        ok(&self.event_ids, &m.event_id)
            && ok(&self.market_type_ids, &m.market_type_id)
            && ok(&self.market_ids, &m.id)
    }

    fn is_empty(&self) -> bool {
        self.event_ids.is_none() && self.market_type_ids.is_none() && self.market_ids.is_none()
    }
}

/// Why a session ends, as decided by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CoreEnd {
    /// `messages` pushes were sent.
    MessagesLimit,
    /// `drop_after` pushes were sent.
    DropAfter,
    /// The slow-reader kick fault fired after the snapshot.
    SlowReaderKick,
}

/// One push ready for the wire: the lines to write (an injected bad line may
/// precede the push) and whether the session must end after them.
#[derive(Debug)]
pub(crate) struct Emitted {
    pub(crate) lines: Vec<String>,
    pub(crate) end: Option<CoreEnd>,
}

/// What handling one request line produced.
#[derive(Debug, Default)]
pub(crate) struct Handled {
    /// The response line.
    pub(crate) response: String,
    /// True when this line initialized the session.
    pub(crate) initialized: bool,
}

#[derive(Debug)]
struct Pending {
    kind: &'static str,
    msg: Value,
    ends_snapshot: bool,
}

/// Error texts of simulator responses (docs/PROTOCOL.md A.4).
pub(crate) const INIT_REQUIRED: &str = "init required";
pub(crate) const ALREADY_INITIALIZED: &str = "already initialized";
pub(crate) const UNKNOWN_REQUEST: &str = "unknown request";
pub(crate) const INVALID_REQUEST: &str = "invalid request";

/// Per-connection protocol state.
#[derive(Debug)]
pub(crate) struct Core {
    cfg: Arc<ImgSimConfig>,
    rng: fastrand::Rng,
    session_id: String,
    world: GolfWorld,
    initialized: bool,
    visible_events: HashSet<String>,
    subs: Vec<Filter>,
    pending: VecDeque<Pending>,
    pushes: u64,
    kick_after_snapshot: bool,
    /// Set when the last live attempt found no subscribed market; cleared when
    /// the subscriptions change.
    live_idle: bool,
}

/// A uuid-shaped (version 4 layout) id from the session's random generator.
fn session_id(rng: &mut fastrand::Rng) -> String {
    let a = rng.u64(..);
    let b = rng.u64(..);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

impl Core {
    /// A fresh session over its own copy of `world`. `kick_after_snapshot`
    /// arms the slow-reader-kick fault for this connection.
    pub(crate) fn new(
        cfg: Arc<ImgSimConfig>,
        world: GolfWorld,
        mut rng: fastrand::Rng,
        kick_after_snapshot: bool,
    ) -> Self {
        let session_id = session_id(&mut rng);
        Self {
            cfg,
            rng,
            session_id,
            world,
            initialized: false,
            visible_events: HashSet::new(),
            subs: Vec::new(),
            pending: VecDeque::new(),
            pushes: 0,
            kick_after_snapshot,
            live_idle: false,
        }
    }

    pub(crate) fn session_id(&self) -> &str {
        &self.session_id
    }

    pub(crate) fn initialized(&self) -> bool {
        self.initialized
    }

    /// Non-heartbeat pushes handed out so far.
    pub(crate) fn pushes(&self) -> u64 {
        self.pushes
    }

    /// Whether pushes are queued (snapshot, images, pieces of a live change).
    pub(crate) fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether a live change may be generated now: initialized, subscribed,
    /// nothing queued, and the last attempt found a market.
    pub(crate) fn can_generate(&self) -> bool {
        self.initialized && !self.subs.is_empty() && self.pending.is_empty() && !self.live_idle
    }

    /// True once the `messages` or `drop_after` budget is spent.
    pub(crate) fn budget_spent(&self) -> Option<CoreEnd> {
        if self.cfg.messages.is_some_and(|n| self.pushes >= n) {
            Some(CoreEnd::MessagesLimit)
        } else if self.cfg.faults.drop_after.is_some_and(|n| self.pushes >= n) {
            Some(CoreEnd::DropAfter)
        } else {
            None
        }
    }

    /// A heartbeat push line.
    pub(crate) fn heartbeat(&self, now: SystemTime) -> String {
        let t = format_publish_time(now);
        json!({"mode": "push", "type": "heartbeat", "publish_time": t, "msg": {"timestamp": t}})
            .to_string()
    }

    /// A disconnect notice line (docs/PROTOCOL.md A.7).
    pub(crate) fn notice(&self, reason: &str) -> String {
        json!({"mode": "push", "status": "error", "session_id": self.session_id, "reason": reason})
            .to_string()
    }

    fn response(
        &self,
        status: &str,
        request_id: Option<&Value>,
        now: SystemTime,
    ) -> Map<String, Value> {
        let mut r = Map::new();
        r.insert("mode".into(), "resp".into());
        r.insert("status".into(), status.into());
        r.insert("publish_time".into(), format_publish_time(now).into());
        r.insert("reason".into(), Value::Null);
        if let Some(id) = request_id {
            r.insert("request_id".into(), id.clone());
        }
        r
    }

    /// An error response line with `msg` = `text`.
    pub(crate) fn error_response(
        &self,
        text: &str,
        request_id: Option<&Value>,
        now: SystemTime,
    ) -> String {
        let mut r = self.response("error", request_id, now);
        r.insert("msg".into(), text.into());
        Value::Object(r).to_string()
    }

    /// Handles one request line and returns its response.
    pub(crate) fn handle_line(&mut self, line: &[u8], now: SystemTime) -> Handled {
        let error = |core: &Self, text: &str, id: Option<&Value>| Handled {
            response: core.error_response(text, id, now),
            initialized: false,
        };
        let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(line) else {
            return error(self, INVALID_REQUEST, None);
        };
        let request_id = req.get("request_id");
        let Some(name) = req.get("request").and_then(Value::as_str) else {
            return error(self, INVALID_REQUEST, request_id);
        };
        let empty = Map::new();
        let msg = match req.get("msg") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return error(self, INVALID_REQUEST, request_id),
        };
        let names = &self.cfg.names;
        if name == names.init {
            if self.initialized {
                return error(self, ALREADY_INITIALIZED, request_id);
            }
            let include_finished = msg
                .get("include_finished")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            self.initialize(include_finished);
            let mut r = self.response(&self.cfg.init_status, request_id, now);
            r.insert("session_id".into(), self.session_id.clone().into());
            // Keep the documented key order: session_id before publish_time.
            let ordered = reorder_init(r);
            return Handled {
                response: Value::Object(ordered).to_string(),
                initialized: true,
            };
        }
        if !self.initialized {
            return error(self, INIT_REQUIRED, request_id);
        }
        let subscribe = name == names.subscribe;
        if !subscribe && name != names.unsubscribe {
            return error(self, UNKNOWN_REQUEST, request_id);
        }
        let Some(filter) = self.parse_filter(msg) else {
            return error(self, INVALID_REQUEST, request_id);
        };
        if subscribe {
            self.queue_image(&filter);
            self.subs.push(filter);
        } else if filter.is_empty() {
            self.subs.clear();
        } else {
            self.subs.retain(|f| *f != filter);
        }
        self.live_idle = false;
        Handled {
            response: Value::Object(self.response(&self.cfg.ok_status, request_id, now))
                .to_string(),
            initialized: false,
        }
    }

    fn initialize(&mut self, include_finished: bool) {
        self.initialized = true;
        self.visible_events = self.world.visible_event_ids(include_finished);
        let snapshot = self.world.snapshot(include_finished);
        let last = snapshot.len().saturating_sub(1);
        self.pending.extend(
            snapshot
                .into_iter()
                .enumerate()
                .map(|(i, (kind, msg))| Pending {
                    kind,
                    msg,
                    ends_snapshot: i == last,
                }),
        );
    }

    fn parse_filter(&self, msg: &Map<String, Value>) -> Option<Filter> {
        let keys = &self.cfg.filter_keys;
        let set = |key: &str| -> Result<Option<BTreeSet<String>>, ()> {
            match msg.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| v.as_str().map(str::to_owned).ok_or(()))
                    .collect::<Result<BTreeSet<_>, _>>()
                    .map(Some),
                Some(_) => Err(()),
            }
        };
        Some(Filter {
            event_ids: set(&keys.event_ids).ok()?,
            market_type_ids: set(&keys.market_type_ids).ok()?,
            market_ids: set(&keys.market_ids).ok()?,
        })
    }

    fn visible(&self, m: &Market) -> bool {
        self.visible_events.contains(&m.event_id)
    }

    fn queue_image(&mut self, filter: &Filter) {
        let image: Vec<Pending> = self
            .world
            .markets
            .iter()
            .filter(|m| self.visible(m) && filter.matches(m))
            .map(|m| Pending {
                kind: "market_update",
                msg: market_update_msg(m),
                ends_snapshot: false,
            })
            .collect();
        self.pending.extend(image);
    }

    /// Generates one live change of a random subscribed market into the
    /// pending queue. Returns false (and goes idle until the subscriptions
    /// change) when no visible market matches any subscription.
    pub(crate) fn generate_live(&mut self) -> bool {
        let candidates: Vec<usize> = self
            .world
            .markets
            .iter()
            .enumerate()
            .filter(|(_, m)| self.visible(m) && self.subs.iter().any(|f| f.matches(m)))
            .map(|(i, _)| i)
            .collect();
        let Some(index) = self.rng.choice(candidates) else {
            self.live_idle = true;
            return false;
        };
        let subs = &self.subs;
        let visible = &self.visible_events;
        let pushes = self.world.live_change(&mut self.rng, index, |m| {
            visible.contains(&m.event_id) && subs.iter().any(|f| f.matches(m))
        });
        self.pending
            .extend(pushes.into_iter().map(|(kind, msg)| Pending {
                kind,
                msg,
                ends_snapshot: false,
            }));
        true
    }

    /// Takes the next pending push, stamps it and applies the push-counting
    /// faults: `bad_json_at` (an invalid line first), `messages`/`drop_after`
    /// (end after it) and the slow-reader kick (end after the snapshot).
    pub(crate) fn next_push(&mut self, now: SystemTime) -> Option<Emitted> {
        let p = self.pending.pop_front()?;
        self.pushes += 1;
        let mut lines = Vec::with_capacity(2);
        if self.cfg.faults.bad_json_at == Some(self.pushes) {
            lines.push(format!(
                "{{\"mode\":\"push\",\"type\":\"{}\",\"publish_time\":\"{}\",\"msg\":{{\"id\":",
                p.kind,
                format_publish_time(now)
            ));
        }
        lines.push(
            json!({
                "mode": "push",
                "type": p.kind,
                "publish_time": format_publish_time(now),
                "is_recovery": false,
                "msg": p.msg,
            })
            .to_string(),
        );
        let end = self.budget_spent().or_else(|| {
            (p.ends_snapshot && self.kick_after_snapshot).then_some(CoreEnd::SlowReaderKick)
        });
        Some(Emitted { lines, end })
    }
}

/// Puts the init response's keys in the order of the vendor example:
/// mode, status, session_id, publish_time, reason, request_id.
fn reorder_init(mut r: Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "mode",
        "status",
        "session_id",
        "publish_time",
        "reason",
        "request_id",
    ] {
        if let Some(v) = r.remove(key) {
            out.insert(key.into(), v);
        }
    }
    out.extend(r);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::img::config::WorldConfig;

    fn core_with(cfg: ImgSimConfig) -> Core {
        let world = GolfWorld::generate(cfg.seed, &WorldConfig::default(), 1_741_942_211);
        Core::new(Arc::new(cfg), world, fastrand::Rng::with_seed(4), false)
    }

    fn parse(s: &str) -> Value {
        serde_json::from_str(s).unwrap_or(Value::Null)
    }

    fn drain(core: &mut Core) -> Vec<Value> {
        let mut out = Vec::new();
        while let Some(e) = core.next_push(SystemTime::now()) {
            out.extend(e.lines.iter().map(|l| parse(l)));
        }
        out
    }

    #[test]
    fn session_id_is_uuid_shaped() {
        let id = session_id(&mut fastrand::Rng::with_seed(1));
        let parts: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(id.as_bytes()[14], b'4');
        assert!(id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
    }

    #[test]
    fn request_errors_follow_the_spec_order() {
        let mut c = core_with(ImgSimConfig::default());
        let now = SystemTime::now();
        let r = parse(&c.handle_line(br#"[1,2]"#, now).response);
        assert_eq!(r["msg"], INVALID_REQUEST);
        assert!(r.get("request_id").is_none());
        let r = parse(
            &c.handle_line(br#"{"request":"subscribe","msg":{},"request_id":7}"#, now)
                .response,
        );
        assert_eq!(
            (r["status"].as_str(), r["msg"].as_str()),
            (Some("error"), Some(INIT_REQUIRED))
        );
        assert_eq!(r["request_id"], 7);
        let h = c.handle_line(br#"{"request":"init","msg":{}}"#, now);
        assert!(h.initialized);
        let r = parse(&h.response);
        assert_eq!(r["session_id"], c.session_id());
        let r = parse(
            &c.handle_line(br#"{"request":"init","msg":{},"request_id":"x"}"#, now)
                .response,
        );
        assert_eq!(
            (r["msg"].as_str(), r["request_id"].as_str()),
            (Some(ALREADY_INITIALIZED), Some("x"))
        );
        let r = parse(
            &c.handle_line(br#"{"request":"bogus","msg":{}}"#, now)
                .response,
        );
        assert_eq!(r["msg"], UNKNOWN_REQUEST);
        let r = parse(
            &c.handle_line(
                br#"{"request":"subscribe","msg":{"event_ids":"ev.1"}}"#,
                now,
            )
            .response,
        );
        assert_eq!(r["msg"], INVALID_REQUEST);
    }

    #[test]
    fn filters_select_markets_and_unsubscribe_needs_an_equal_filter() {
        let mut c = core_with(ImgSimConfig::default());
        let now = SystemTime::now();
        c.handle_line(br#"{"request":"init","msg":{}}"#, now);
        let snapshot = drain(&mut c);
        assert_eq!(snapshot.len(), c.world.snapshot_len(false));
        let sub = br#"{"request":"subscribe","msg":{"event_ids":["ev.golf_1_1"],"market_type_ids":["mt.golf_outright","mt.golf_top_5"]}}"#;
        assert_eq!(parse(&c.handle_line(sub, now).response)["status"], "ok");
        let image = drain(&mut c);
        let ids: Vec<&str> = image
            .iter()
            .filter_map(|p| p["msg"]["id"].as_str())
            .collect();
        assert_eq!(ids.len(), 2);
        assert!(ids.iter().all(|id| id.starts_with("golf_1_1-")));
        assert!(image.iter().all(|p| p["type"] == "market_update"));
        // A different filter removes nothing; the equal one (keys reordered) does.
        c.handle_line(
            br#"{"request":"unsubscribe","msg":{"event_ids":["ev.golf_1_1"]}}"#,
            now,
        );
        assert_eq!(c.subs.len(), 1);
        c.handle_line(
            br#"{"request":"unsubscribe","msg":{"market_type_ids":["mt.golf_top_5","mt.golf_outright"],"event_ids":["ev.golf_1_1"]}}"#,
            now,
        );
        assert!(c.subs.is_empty());
        assert!(!c.can_generate());
    }

    #[test]
    fn bad_json_is_inserted_before_the_chosen_push_and_budget_ends() {
        let mut cfg = ImgSimConfig::default();
        cfg.faults.bad_json_at = Some(2);
        cfg.messages = Some(3);
        let mut c = core_with(cfg);
        c.handle_line(br#"{"request":"init","msg":{}}"#, SystemTime::now());
        let first = c
            .next_push(SystemTime::now())
            .map(|e| (e.lines.len(), e.end));
        assert_eq!(first, Some((1, None)));
        let second = c.next_push(SystemTime::now());
        let lines = second.as_ref().map(|e| e.lines.clone()).unwrap_or_default();
        assert_eq!(lines.len(), 2);
        assert!(serde_json::from_str::<Value>(&lines[0]).is_err());
        assert_eq!(parse(&lines[1])["type"], "competition");
        let third = c.next_push(SystemTime::now()).map(|e| e.end);
        assert_eq!(third, Some(Some(CoreEnd::MessagesLimit)));
    }

    #[test]
    fn live_changes_only_touch_subscribed_markets() {
        let mut c = core_with(ImgSimConfig::default());
        let now = SystemTime::now();
        c.handle_line(br#"{"request":"init","msg":{}}"#, now);
        drain(&mut c);
        c.handle_line(
            br#"{"request":"subscribe","msg":{"event_ids":["ev.golf_2_1"]}}"#,
            now,
        );
        drain(&mut c);
        let mut kinds = HashSet::new();
        for _ in 0..400 {
            assert!(c.generate_live());
            for p in drain(&mut c) {
                let kind = p["type"].as_str().unwrap_or_default().to_owned();
                let id = match kind.as_str() {
                    "settlement" => p["msg"]["market_id"].as_str(),
                    "remove_markets" => p["msg"][0].as_str(),
                    _ => p["msg"]["id"].as_str(),
                };
                assert!(id.is_some_and(|id| id.starts_with("golf_2_1-")), "{p}");
                kinds.insert(kind);
            }
        }
        for k in ["market_update", "settlement", "remove_markets", "market"] {
            assert!(kinds.contains(k), "never saw {k}");
        }
    }
}
