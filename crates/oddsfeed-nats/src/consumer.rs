//! The consumer side: typed messages read back from the relay's stream.
//!
//! [`NatsStream`] reads the stream through a JetStream pull consumer, ephemeral by default or
//! durable when named, optionally filtered by subject
//! (`oddsfeed.odds.>`, `oddsfeed.*.id1000`, `oddsfeed._events.>`). Data messages come back as the
//! same [`DataMessage`] the WebSocket client yields, so an application that reads
//! `WsEvent::Data` from a `WsClient` can read [`NatsItem::Data`] instead:
//!
//! ```no_run
//! use oddsfeed_nats::{NatsItem, NatsStream, NatsStreamConfig};
//!
//! # async fn run() -> Result<(), oddsfeed_nats::RelayError> {
//! let mut feed = NatsStream::connect(NatsStreamConfig::new("nats://127.0.0.1:4222")).await?;
//! while let Some(received) = feed.next().await {
//!     match received?.item {
//!         NatsItem::Data(msg) => println!("{} {}", msg.channel, msg.raw),
//!         NatsItem::Event { name, .. } if name == "snapshot_required" => { /* re-fetch */ }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! An ephemeral consumer streams (many messages per pull request). A durable one pulls one
//! message per [`NatsStream::next`] call and counts it as consumed when it is delivered
//! (acknowledgement policy `none`), so a reader that stops and starts again under the same name
//! continues with the next message, without the ack-wait redelivery a prefetched batch would
//! cause; the price is one round trip per message.

use std::time::Instant;

use async_nats::jetstream::{self, consumer};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use oddsfeed::book::ws::WsBook;
use oddsfeed::model::ws::{DataMessage, WsMessage, parse_ws_json};
use serde_json::Value;

use crate::error::RelayError;
use crate::relay::{DEFAULT_PREFIX, DEFAULT_STREAM};
use crate::subject::EVENTS_LEVEL;

/// Where and what to read.
#[derive(Debug, Clone)]
pub struct NatsStreamConfig {
    nats_url: String,
    stream: String,
    prefix: String,
    subject: Option<String>,
    durable: Option<String>,
}

impl NatsStreamConfig {
    /// Every message of the default stream (`ODDSFEED`, prefix `oddsfeed`) from the start, with an
    /// ephemeral consumer.
    pub fn new(nats_url: impl Into<String>) -> Self {
        Self {
            nats_url: nats_url.into(),
            stream: DEFAULT_STREAM.to_owned(),
            prefix: DEFAULT_PREFIX.to_owned(),
            subject: None,
            durable: None,
        }
    }

    /// The stream to read.
    #[must_use]
    pub fn stream(mut self, name: impl Into<String>) -> Self {
        self.stream = name.into();
        self
    }

    /// The subject prefix the relay used (to tell events from data).
    #[must_use]
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Only messages whose subject matches `filter` (NATS wildcards allowed).
    #[must_use]
    pub fn subject(mut self, filter: impl Into<String>) -> Self {
        self.subject = Some(filter.into());
        self
    }

    /// A durable consumer with this name: a later reader with the same name continues after the
    /// last message handed over.
    #[must_use]
    pub fn durable(mut self, name: impl Into<String>) -> Self {
        self.durable = Some(name.into());
        self
    }
}

/// What a stored message is.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum NatsItem {
    /// A feed data message, parsed as the WebSocket client parses it.
    Data(DataMessage),
    /// A feed event the relay published (`<prefix>._events.<name>`): the jsonl event object.
    Event {
        /// The event name (the subject's last level).
        name: String,
        /// The event object.
        object: Value,
    },
    /// Anything else on the stream (not JSON data, another publisher).
    Other,
}

impl NatsItem {
    /// Applies the item to a live book, as `oddsfeed::live_book::apply_ws_event` does with a
    /// client's events: a data message is applied (arriving at `now`); a `snapshot_required`
    /// event marks its channels stale with its reason, until the application reloads them and
    /// calls [`WsBook::mark_fresh`]. So a book can be kept from the stream instead of a feed
    /// connection.
    pub fn apply_to_book(&self, book: &mut WsBook, now: Instant) {
        match self {
            Self::Data(msg) => book.apply(msg, now),
            Self::Event { name, object } if name == "snapshot_required" => {
                let reason = object
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                let channels: Vec<&str> = match object.get("channels") {
                    Some(Value::String(list)) => {
                        list.split(',').filter(|c| !c.is_empty()).collect()
                    }
                    Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                book.snapshot_required(reason, channels);
            }
            _ => {}
        }
    }
}

/// One stored message.
#[derive(Debug, Clone)]
pub struct Received {
    /// Its subject.
    pub subject: String,
    /// Its sequence number in the stream.
    pub stream_sequence: u64,
    /// Messages still pending for this consumer after this one.
    pub pending: u64,
    /// The message, typed.
    pub item: NatsItem,
    /// The payload as stored (a data message's JSON line, or an event object).
    pub payload: Bytes,
}

/// Typed messages from the relay's stream; see the [module docs](self).
pub struct NatsStream {
    source: Source,
    events_prefix: String,
    pending_at_start: u64,
}

impl std::fmt::Debug for NatsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsStream")
            .field("durable", &matches!(self.source, Source::OneByOne(_)))
            .field("pending_at_start", &self.pending_at_start)
            .finish_non_exhaustive()
    }
}

impl NatsStream {
    /// Connects and creates (or, for a durable name, reuses) the consumer.
    ///
    /// # Errors
    ///
    /// [`RelayError::Nats`] when NATS cannot be reached, the stream does not exist or the
    /// consumer cannot be made.
    pub async fn connect(config: NatsStreamConfig) -> Result<Self, RelayError> {
        let client = async_nats::connect(&config.nats_url)
            .await
            .map_err(|e| RelayError::nats("connect", e))?;
        let js = jetstream::new(client);
        let stream = js
            .get_stream(&config.stream)
            .await
            .map_err(|e| RelayError::nats("open the stream", e))?;
        let consumer_config = consumer::pull::Config {
            durable_name: config.durable.clone(),
            filter_subject: config.subject.clone().unwrap_or_default(),
            ack_policy: consumer::AckPolicy::None,
            ..consumer::pull::Config::default()
        };
        let mut consumer: consumer::PullConsumer = match &config.durable {
            Some(name) => stream
                .get_or_create_consumer(name, consumer_config)
                .await
                .map_err(|e| RelayError::nats("create the consumer", e))?,
            None => stream
                .create_consumer(consumer_config)
                .await
                .map_err(|e| RelayError::nats("create the consumer", e))?,
        };
        let pending_at_start = consumer
            .info()
            .await
            .map_err(|e| RelayError::nats("read the consumer", e))?
            .num_pending;
        let source = if config.durable.is_some() {
            Source::OneByOne(Box::new(consumer))
        } else {
            Source::Stream(Box::new(
                consumer
                    .messages()
                    .await
                    .map_err(|e| RelayError::nats("read the stream", e))?,
            ))
        };
        Ok(Self {
            source,
            events_prefix: format!("{}.{EVENTS_LEVEL}.", config.prefix),
            pending_at_start,
        })
    }

    /// Messages the consumer had pending when it was created (0: nothing stored matched yet).
    #[must_use]
    pub fn pending_at_start(&self) -> u64 {
        self.pending_at_start
    }

    /// The next stored message, waiting for one; `None` when the consumer ended.
    pub async fn next(&mut self) -> Option<Result<Received, RelayError>> {
        let message = match &mut self.source {
            Source::Stream(messages) => match messages.next().await? {
                Ok(message) => message,
                Err(e) => return Some(Err(RelayError::nats("read the stream", e))),
            },
            Source::OneByOne(consumer) => match pull_one(consumer).await {
                Ok(message) => message,
                Err(e) => return Some(Err(e)),
            },
        };
        let (stream_sequence, pending) = match message.info() {
            Ok(info) => (info.stream_sequence, info.pending),
            Err(_) => (0, 0),
        };
        let subject = message.subject.to_string();
        let payload = message.payload.clone();
        let item = self.classify(&subject, &payload);
        Some(Ok(Received {
            subject,
            stream_sequence,
            pending,
            item,
            payload,
        }))
    }

    /// The messages as a [`Stream`].
    pub fn into_stream(self) -> impl Stream<Item = Result<Received, RelayError>> {
        futures_util::stream::unfold(self, |mut this| async move {
            let next = this.next().await?;
            Some((next, this))
        })
    }

    fn classify(&self, subject: &str, payload: &[u8]) -> NatsItem {
        if let Some(name) = subject.strip_prefix(&self.events_prefix) {
            return match serde_json::from_slice::<Value>(payload) {
                Ok(object) => NatsItem::Event {
                    name: name.to_owned(),
                    object,
                },
                Err(_) => NatsItem::Other,
            };
        }
        match parse_ws_json(payload) {
            Ok(WsMessage::Data(msg)) => NatsItem::Data(msg),
            _ => NatsItem::Other,
        }
    }
}

/// Where messages come from.
enum Source {
    /// Ephemeral: a pull stream with prefetch.
    Stream(Box<consumer::pull::Stream>),
    /// Durable: one message per pull request.
    OneByOne(Box<consumer::PullConsumer>),
}

/// Pulls exactly one message, waiting as long as it takes.
async fn pull_one(
    consumer: &mut consumer::PullConsumer,
) -> Result<async_nats::jetstream::Message, RelayError> {
    loop {
        let mut batch = consumer
            .batch()
            .max_messages(1)
            .expires(std::time::Duration::from_secs(5))
            .messages()
            .await
            .map_err(|e| RelayError::nats("read the stream", e))?;
        match batch.next().await {
            Some(Ok(message)) => return Ok(message),
            Some(Err(e)) => return Err(RelayError::nats("read the stream", e)),
            // The request expired with nothing new: ask again.
            None => {}
        }
    }
}
