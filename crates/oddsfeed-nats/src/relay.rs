//! [`Relay`]: one feed connection published into a JetStream stream, exactly once.
//!
//! The loop, for one NATS connection:
//!
//! 1. Connect to NATS, create the stream when missing (subjects `<prefix>.>`, file storage,
//!    5-minute duplicate window; an existing stream is used as it is), open the cursor bucket.
//! 2. Read the stored cursors and start a feed client that logs in with them.
//! 3. Publish each data message to `<prefix>.<channel>.<token>` with `Nats-Msg-Id:
//!    <channel>:<entryId>`, and each feed event to `<prefix>._events.<name>`. Publishes are
//!    pipelined (up to `max_in_flight` unacknowledged); acknowledgements are awaited in publish
//!    order, and only an acknowledged publish moves the cursors, which are written to the bucket
//!    (compare-and-set) within [`CURSOR_WRITE_DELAY`] of the ack that moved them.
//! 4. On any publish or ack failure, or when NATS goes away, the feed client is dropped at once
//!    (nothing is buffered for later), the NATS connection too, and the loop starts again at 1
//!    with backoff. So no publish is ever sent after one that failed: the feed is resumed from
//!    the stored cursors instead, and JetStream's duplicate window drops what was stored already.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use oddsfeed::model::{EntryId, ResumeState};
use oddsfeed::ws::WsClientConfigBuilder;
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cursors::{KvCursors, merge};
use crate::error::RelayError;
use crate::feed::{Feed, FeedItem, FeedSettings};
use crate::publisher::Publisher;
use crate::subject;

/// Default stream name.
pub const DEFAULT_STREAM: &str = "ODDSFEED";
/// Default subject prefix.
pub const DEFAULT_PREFIX: &str = "oddsfeed";
/// The duplicate window of a stream the relay creates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Default bound on unacknowledged publishes.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 1024;
/// Longest time between an ack that moves the cursors and their write to the bucket.
pub const CURSOR_WRITE_DELAY: Duration = Duration::from_millis(250);
/// How long a publish may wait for its ack before the relay gives up on the connection.
pub const ACK_TIMEOUT: Duration = Duration::from_secs(5);
/// The most feed items published in one turn of the relay loop before acks and stops are looked
/// at again.
const PUBLISH_BATCH: u32 = 64;
/// How long a clean stop waits for outstanding acks.
const DRAIN_GUARD: Duration = Duration::from_secs(5);
/// First and largest delay between NATS connection attempts (full jitter in between).
const NATS_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(2));

/// Everything a relay needs: the feed client's settings and where to publish.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    feed: FeedSettings,
    nats_url: String,
    stream: String,
    prefix: String,
    max_in_flight: usize,
    limit: Option<u64>,
}

impl RelayConfig {
    /// A relay of the feed `feed` describes (URL, key, channels, receive type, filters, TLS) into
    /// the NATS server at `nats_url`, with the default stream (`ODDSFEED`) and prefix
    /// (`oddsfeed`). The builder's cursor store, save interval and `once` are replaced: the relay
    /// keeps the cursors in JetStream and reconnects forever.
    ///
    /// # Errors
    ///
    /// [`RelayError::Feed`] when the feed settings are invalid.
    pub fn new(
        feed: WsClientConfigBuilder,
        nats_url: impl Into<String>,
    ) -> Result<Self, RelayError> {
        Ok(Self {
            feed: FeedSettings::new(feed)?,
            nats_url: nats_url.into(),
            stream: DEFAULT_STREAM.to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            limit: None,
        })
    }

    /// Stop cleanly (as on shutdown) once this many data messages were acknowledged in this run.
    #[must_use]
    pub fn limit(mut self, messages: Option<u64>) -> Self {
        self.limit = messages;
        self
    }

    /// The JetStream stream to publish into (created when missing).
    #[must_use]
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = name.into();
        self
    }

    /// The subject prefix (`<prefix>.<channel>.<token>`).
    #[must_use]
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most publishes awaiting their ack at once (at least 1).
    #[must_use]
    pub fn max_in_flight(mut self, publishes: usize) -> Self {
        self.max_in_flight = publishes.max(1);
        self
    }

    fn validate(&self) -> Result<(), RelayError> {
        let stream_ok = !self.stream.is_empty()
            && self
                .stream
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !stream_ok {
            return Err(RelayError::Config(format!(
                "stream name {:?}: use letters, digits, '_' and '-'",
                self.stream
            )));
        }
        let prefix_ok = !self.prefix.is_empty()
            && self.prefix.split('.').all(|level| {
                !level.is_empty()
                    && !level
                        .chars()
                        .any(|c| c == '*' || c == '>' || c.is_whitespace())
            });
        if !prefix_ok {
            return Err(RelayError::Config(format!(
                "subject prefix {:?}: no wildcards, whitespace or empty levels",
                self.prefix
            )));
        }
        Ok(())
    }
}

/// What a relay reports while it runs, in the order it happens.
#[derive(Debug)]
#[non_exhaustive]
pub enum Notice<'a> {
    /// An event: a feed event (also published to `<prefix>._events.<name>`) or one of the relay's
    /// own (`nats_connected`, `nats_disconnected`, `nats_backoff`). `object` is the jsonl event
    /// object: `event`, `ts` and the fields.
    Event {
        /// The event name.
        name: &'a str,
        /// The whole event object.
        object: &'a Value,
    },
    /// A data message was handed to JetStream (its JSON line, without a newline). Its ack may
    /// still be outstanding.
    Published {
        /// The message's JSON text.
        line: &'a str,
    },
}

/// The relay: see the [module docs](self).
#[derive(Debug)]
pub struct Relay {
    config: RelayConfig,
    /// Cursors of everything JetStream acknowledged in this process.
    acked: ResumeState,
    /// Data messages acknowledged in this run.
    acked_messages: u64,
}

/// How a NATS session ended.
enum SessionEnd {
    /// The caller asked to stop; everything acknowledged is saved.
    Stopped,
    /// NATS failed; reconnect.
    Lost(String),
}

/// What an acknowledged publish changes.
enum Effect {
    /// Nothing (an event).
    None,
    /// The cursor of a channel.
    Cursor(String, EntryId),
    /// A login's server epoch: cursors of another epoch are void.
    Epoch(String),
}

/// One NATS connection with everything opened on it.
struct NatsSession {
    client: async_nats::Client,
    cursors: KvCursors,
    lost: watch::Receiver<bool>,
}

impl Relay {
    /// A relay with `config`; nothing happens until [`run`](Self::run).
    #[must_use]
    pub fn new(config: RelayConfig) -> Self {
        Self {
            config,
            acked: ResumeState::default(),
            acked_messages: 0,
        }
    }

    /// Runs until `shutdown` completes (then outstanding acks are awaited, the cursors saved and
    /// `Ok` returned) or a fatal error: the feed refused the key, or the stored cursors are not a
    /// resume state. NATS failures are never fatal: the relay reconnects with backoff.
    /// `notice` is called for every event and published message.
    ///
    /// # Errors
    ///
    /// [`RelayError::Config`], [`RelayError::Feed`] (a refused key: exit code 3),
    /// [`RelayError::BadCursors`].
    pub async fn run<F, S>(mut self, mut notice: F, shutdown: S) -> Result<(), RelayError>
    where
        F: FnMut(Notice<'_>),
        S: Future<Output = ()>,
    {
        self.config.validate()?;
        tokio::pin!(shutdown);
        let mut attempt: u32 = 0;
        loop {
            let connected = tokio::select! {
                session = self.connect_nats() => session,
                () = &mut shutdown => return Ok(()),
            };
            let reason = match connected {
                Ok(session) => {
                    attempt = 0;
                    emit(
                        &mut notice,
                        "nats_connected",
                        json!({ "url": self.nats_url_for_logs() }),
                    );
                    match self.session(session, &mut notice, &mut shutdown).await? {
                        SessionEnd::Stopped => return Ok(()),
                        SessionEnd::Lost(reason) => reason,
                    }
                }
                Err(reason) => reason,
            };
            attempt = attempt.saturating_add(1);
            emit(
                &mut notice,
                "nats_disconnected",
                json!({ "reason": reason }),
            );
            let ceiling = NATS_BACKOFF
                .0
                .saturating_mul(1 << attempt.min(8))
                .min(NATS_BACKOFF.1);
            let delay = Duration::from_millis(fastrand::u64(
                NATS_BACKOFF.0.as_millis() as u64..=ceiling.as_millis().max(101) as u64,
            ));
            emit(
                &mut notice,
                "nats_backoff",
                json!({ "delay_ms": delay.as_millis() as u64, "attempt": attempt }),
            );
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = &mut shutdown => return Ok(()),
            }
        }
    }

    fn nats_url_for_logs(&self) -> String {
        // Drop any user:password@ part.
        match self.config.nats_url.rsplit_once('@') {
            Some((scheme_and_user, host)) => match scheme_and_user.split_once("://") {
                Some((scheme, _)) => format!("{scheme}://{host}"),
                None => host.to_owned(),
            },
            None => self.config.nats_url.clone(),
        }
    }

    /// Connects and opens the stream and the cursor bucket. `Err` is a reason to retry.
    async fn connect_nats(&self) -> Result<NatsSession, String> {
        let (lost_tx, lost_rx) = watch::channel(false);
        let options = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(2))
            .event_callback(move |event| {
                let lost_tx = lost_tx.clone();
                async move {
                    if matches!(
                        event,
                        async_nats::Event::Disconnected | async_nats::Event::Closed
                    ) {
                        let _ = lost_tx.send(true);
                    }
                }
            });
        let client = options
            .connect(self.config.nats_url.as_str())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let js = jetstream::ContextBuilder::new()
            .timeout(ACK_TIMEOUT)
            .build(client.clone());
        js.get_or_create_stream(stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", self.config.prefix)],
            storage: stream::StorageType::File,
            duplicate_window: DUPLICATE_WINDOW,
            ..stream::Config::default()
        })
        .await
        .map_err(|e| format!("stream {}: {e}", self.config.stream))?;
        let cursors = KvCursors::open(&js, &self.config.stream)
            .await
            .map_err(|e| e.to_string())?;
        Ok(NatsSession {
            client,
            cursors,
            lost: lost_rx,
        })
    }

    /// Relays on one NATS connection until it fails (`Ok(Lost)`), the caller stops it
    /// (`Ok(Stopped)`) or something fatal happens (`Err`).
    async fn session<F, S>(
        &mut self,
        mut nats: NatsSession,
        notice: &mut F,
        shutdown: &mut Pin<&mut S>,
    ) -> Result<SessionEnd, RelayError>
    where
        F: FnMut(Notice<'_>),
        S: Future<Output = ()>,
    {
        let stored = match nats.cursors.load().await {
            Ok(stored) => stored,
            Err(e @ RelayError::BadCursors { .. }) => return Err(e),
            Err(e) => return Ok(SessionEnd::Lost(e.to_string())),
        };
        if let Some(stored) = stored {
            self.acked = merge(&stored, &self.acked);
        }
        let mut publisher = match Publisher::open(nats.client.clone(), ACK_TIMEOUT).await {
            Ok(publisher) => publisher,
            Err(reason) => return Ok(SessionEnd::Lost(reason)),
        };
        let mut feed = Feed::start(&self.config.feed, self.acked.clone())?;
        // One timer for the cursor write, armed when an ack moves the cursors.
        let save_timer = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(save_timer);
        let mut save_armed = false;
        let prefix = self.config.prefix.clone();
        let max_in_flight = self.config.max_in_flight;
        let end = 'relay: loop {
            let limit_reached = self
                .config
                .limit
                .is_some_and(|limit| self.acked_messages >= limit);
            tokio::select! {
                biased;
                () = stop_when(shutdown.as_mut(), limit_reached) => {
                    feed.close().await;
                    let drained = tokio::time::timeout(DRAIN_GUARD, async {
                        while publisher.in_flight() > 0 {
                            match publisher.next_acked().await {
                                Ok(effect) => {
                                    self.apply(effect);
                                }
                                Err(_) => break,
                            }
                        }
                    })
                    .await;
                    let _ = drained;
                    if let Err(e) = nats.cursors.save(&self.acked).await {
                        emit(notice, "nats_disconnected", json!({ "reason": e.to_string() }));
                    }
                    return Ok(SessionEnd::Stopped);
                }
                () = lost(&mut nats.lost) => {
                    break SessionEnd::Lost("connection to NATS lost".into());
                }
                acked = publisher.next_acked() => {
                    let mut moved = match acked {
                        Ok(effect) => self.apply(effect),
                        Err(reason) => break SessionEnd::Lost(reason),
                    };
                    // Every ack already received, without another turn of the loop.
                    loop {
                        match publisher.try_acked() {
                            Ok(Some(effect)) => moved |= self.apply(effect),
                            Ok(None) => break,
                            Err(reason) => break 'relay SessionEnd::Lost(reason),
                        }
                    }
                    if moved && !save_armed {
                        save_timer.as_mut().reset(Instant::now() + CURSOR_WRITE_DELAY);
                        save_armed = true;
                    }
                }
                () = &mut save_timer, if save_armed => {
                    save_armed = false;
                    match nats.cursors.save(&self.acked).await {
                        Ok(stored) => self.acked = stored,
                        Err(e @ RelayError::BadCursors { .. }) => return Err(e),
                        Err(e) => break SessionEnd::Lost(e.to_string()),
                    }
                }
                item = feed.next(), if publisher.in_flight() < max_in_flight => {
                    let Some(mut item) = item else {
                        break SessionEnd::Lost("the feed client stopped".into());
                    };
                    // This item, then whatever else the client has ready (up to the in-flight
                    // bound and a budget that keeps acks and stops served).
                    let mut budget = PUBLISH_BATCH;
                    loop {
                        if let Err(reason) =
                            publish_item(&mut publisher, item, &prefix, notice).await?
                        {
                            break 'relay SessionEnd::Lost(reason);
                        }
                        budget -= 1;
                        if budget == 0 || publisher.in_flight() >= max_in_flight {
                            break;
                        }
                        match feed.try_next() {
                            Some(next) => item = next,
                            None => break,
                        }
                    }
                }
            }
        };
        // Nothing after a failed publish may be sent: drop the feed and every outstanding
        // publish with the connection.
        feed.close().await;
        drop(publisher);
        Ok(end)
    }

    /// Applies an acknowledged publish to the cursors; whether they changed.
    fn apply(&mut self, effect: Effect) -> bool {
        match effect {
            Effect::None => false,
            Effect::Cursor(channel, id) => {
                self.acked_messages += 1;
                self.acked.advance(&channel, id)
            }
            Effect::Epoch(epoch) => {
                if self.acked.server_epoch.as_deref() == Some(epoch.as_str()) {
                    return false;
                }
                self.acked.server_epoch = Some(epoch);
                self.acked.last_seen_id.clear();
                true
            }
        }
    }
}

/// Completes once the connection's event callback reported it lost.
async fn lost(rx: &mut watch::Receiver<bool>) {
    loop {
        let lost = *rx.borrow_and_update();
        if lost {
            return;
        }
        if rx.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Completes when `shutdown` does, or at once when `now` is true.
async fn stop_when<S: Future<Output = ()>>(shutdown: Pin<&mut S>, now: bool) {
    if !now {
        shutdown.await;
    }
}

/// Publishes one feed item. `Ok(Err(reason))`: the connection failed (reconnect);
/// `Err`: the feed ended fatally (a refused key).
async fn publish_item<F: FnMut(Notice<'_>)>(
    publisher: &mut Publisher<Effect>,
    item: FeedItem,
    prefix: &str,
    notice: &mut F,
) -> Result<Result<(), String>, RelayError> {
    Ok(match item {
        FeedItem::Fatal(error) => {
            let object = event_object("fatal", {
                let mut f = Map::new();
                f.insert("message".into(), Value::String(error.to_string()));
                f
            });
            notice(Notice::Event {
                name: "fatal",
                object: &object,
            });
            return Err(RelayError::Feed(error));
        }
        FeedItem::Data {
            channel,
            entry_id,
            raw,
            token,
        } => {
            let subject = subject::data_subject_with_token(prefix, &channel, &token);
            notice(Notice::Published { line: &raw });
            let (msg_id, effect) = match entry_id {
                Some(id) => (
                    Some(subject::msg_id(&channel, id)),
                    Effect::Cursor(channel, id),
                ),
                None => (None, Effect::None),
            };
            publisher
                .publish(subject, msg_id, Bytes::from(raw), effect)
                .await
        }
        FeedItem::Event {
            name,
            fields,
            epoch,
        } => {
            let object = event_object(name, fields);
            notice(Notice::Event {
                name,
                object: &object,
            });
            let subject = subject::event_subject(prefix, name);
            let effect = epoch.map_or(Effect::None, Effect::Epoch);
            publisher
                .publish(subject, None, Bytes::from(object.to_string()), effect)
                .await
        }
    })
}

/// `{"event":name,"ts":"...Z", ...fields}`.
fn event_object(name: &str, fields: Map<String, Value>) -> Value {
    let mut object = Map::with_capacity(fields.len() + 2);
    object.insert("event".into(), Value::String(name.to_owned()));
    object.insert("ts".into(), Value::String(now_rfc3339()));
    object.extend(fields);
    Value::Object(object)
}

fn emit<F: FnMut(Notice<'_>)>(notice: &mut F, name: &str, fields: Value) {
    let fields = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let object = event_object(name, fields);
    notice(Notice::Event {
        name,
        object: &object,
    });
}

/// UTC now as RFC 3339 with milliseconds and `Z`.
fn now_rfc3339() -> String {
    let now: chrono::DateTime<chrono::Utc> = SystemTime::now().into();
    now.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_objects_carry_name_and_millisecond_ts() {
        let object = event_object("resume_complete", Map::new());
        assert_eq!(object["event"], "resume_complete");
        let ts = object["ts"].as_str().unwrap_or_default();
        assert_eq!(ts.len(), "2026-12-06T10:15:02.123Z".len(), "{ts}");
        assert!(ts.ends_with('Z'));
    }
}
