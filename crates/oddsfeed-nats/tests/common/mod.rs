//! Helpers shared by the relay tests: a simulator with a record of what it sent, a relay task,
//! and a reader of everything a stream holds.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use oddsfeed::BackoffConfig;
use oddsfeed::model::ApiKey;
use oddsfeed::ws::WsClientConfig;
use oddsfeed_nats::{Relay, RelayConfig, RelayError};
use oddsfeed_sim::ws::{RecordedMessage, StreamRecorder, WsSim, WsSimConfig, WsSimHandle};
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Every channel the simulator produces.
pub const ALL_CHANNELS: [&str; 5] = ["odds", "fixtures", "bookmakers", "scores", "clocks"];

/// A simulator with `messages` messages, every channel replayable, recording what it sends.
pub fn start_sim(messages: u64, rate: Option<f64>, seed: u64) -> (WsSimHandle, StreamRecorder) {
    let recorder = StreamRecorder::new();
    let mut cfg = WsSimConfig::default();
    cfg.messages = Some(messages);
    cfg.rate = rate;
    cfg.seed = seed;
    cfg.replay_channels = ALL_CHANNELS.iter().map(|c| (*c).to_owned()).collect();
    cfg.record = Some(recorder.clone());
    let sim = WsSim::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .unwrap_or_else(|e| panic!("cannot start the simulator: {e}"));
    (sim.spawn(), recorder)
}

/// A relay config for the simulator at `sim` with fast feed reconnects.
pub fn relay_config(sim: &WsSimHandle, nats_url: &str) -> RelayConfig {
    let feed = WsClientConfig::builder(
        format!("ws://{}/ws", sim.local_addr()),
        ApiKey::new("test-key-do-not-log"),
    )
    .with_session(|s| {
        s.backoff = BackoffConfig {
            initial: Duration::from_millis(50),
            multiplier: 2,
            max: Duration::from_millis(200),
            ..s.backoff
        };
    });
    RelayConfig::new(feed, nats_url).unwrap_or_else(|e| panic!("relay config: {e}"))
}

/// A relay running as a task; [`RunningRelay::stop`] stops it cleanly.
pub struct RunningRelay {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<(Result<(), RelayError>, Vec<Value>)>,
}

impl RunningRelay {
    /// Starts `config`; the events it reports are collected.
    pub fn start(config: RelayConfig) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut events = Vec::new();
            let result = Relay::new(config)
                .run(
                    |notice| {
                        if let oddsfeed_nats::Notice::Event { object, .. } = notice {
                            eprintln!("relay event: {object}");
                            events.push(object.clone());
                        }
                    },
                    async move {
                        let _ = stopped.await;
                    },
                )
                .await;
            (result, events)
        });
        Self {
            stop: Some(stop),
            task,
        }
    }

    /// Stops it cleanly and returns its result and events.
    pub async fn stop(mut self) -> (Result<(), RelayError>, Vec<Value>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(Duration::from_secs(20), self.task).await {
            Ok(Ok(out)) => out,
            Ok(Err(e)) => panic!("relay task failed: {e}"),
            Err(_) => panic!("relay did not stop within 20 s"),
        }
    }
}

/// One message as the stream holds it.
#[derive(Debug, Clone)]
pub struct Stored {
    pub seq: u64,
    pub subject: String,
    pub msg_id: Option<String>,
    pub payload: String,
}

/// Everything `stream` holds, in stream order.
pub async fn read_stream(nats_url: &str, stream: &str) -> Vec<Stored> {
    let client = async_nats::connect(nats_url).await.expect("connect");
    let js = jetstream::new(client);
    let mut s = js.get_stream(stream).await.expect("stream");
    let total = s.info().await.expect("info").state.messages;
    let consumer: consumer::PullConsumer = s
        .create_consumer(consumer::pull::Config {
            ack_policy: consumer::AckPolicy::None,
            ..Default::default()
        })
        .await
        .expect("consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::new();
    while (out.len() as u64) < total {
        let next = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("stream read stalled");
        let Some(Ok(msg)) = next else { break };
        let seq = msg.info().map(|i| i.stream_sequence).unwrap_or(0);
        let msg_id = msg
            .headers
            .as_ref()
            .and_then(|h| h.get("Nats-Msg-Id"))
            .map(|v| v.as_str().to_owned());
        out.push(Stored {
            seq,
            subject: msg.subject.to_string(),
            msg_id,
            payload: String::from_utf8_lossy(&msg.payload).into_owned(),
        });
    }
    out
}

/// Data messages stored (subject not under `_events`).
pub fn data(stored: &[Stored]) -> Vec<&Stored> {
    stored
        .iter()
        .filter(|s| !s.subject.contains("._events."))
        .collect()
}

/// Event objects stored.
pub fn events(stored: &[Stored]) -> Vec<Value> {
    stored
        .iter()
        .filter(|s| s.subject.contains("._events."))
        .filter_map(|s| serde_json::from_str(&s.payload).ok())
        .collect()
}

/// The entryId text of a recorded message.
pub fn entry_id(m: &RecordedMessage) -> String {
    format!("{}-{}", m.entry_id.0, m.entry_id.1)
}

/// Per channel, the entryIds in order.
pub fn by_channel_recorded(recorded: &[RecordedMessage]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in recorded {
        map.entry(m.channel.to_owned())
            .or_default()
            .push(entry_id(m));
    }
    map
}

/// Per channel, the entryIds of stored data messages in stream order (from their JSON).
pub fn by_channel_stored(stored: &[&Stored]) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in stored {
        let v: Value = serde_json::from_str(&s.payload).expect("stored data is JSON");
        let channel = v["channel"].as_str().unwrap_or_default().to_owned();
        let id = v["entryId"].as_str().unwrap_or_default().to_owned();
        map.entry(channel).or_default().push(id);
    }
    map
}

/// Waits until `check` holds, polling every 100 ms, at most `guard` (a hang guard, not a timing
/// assertion).
pub async fn wait_until<F, Fut>(guard: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + guard;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// How many data messages `stream` holds (0 when it does not exist yet).
pub async fn stored_count(nats_url: &str, stream: &str, prefix: &str) -> u64 {
    let Ok(client) = async_nats::connect(nats_url).await else {
        return 0;
    };
    let js = jetstream::new(client);
    let Ok(mut s) = js.get_stream(stream).await else {
        return 0;
    };
    let Ok(info) = s.info().await else { return 0 };
    let total = info.state.messages;
    // Events are few: count them per subject and leave only data.
    let mut events = 0u64;
    if let Ok(mut subjects) = s.info_with_subjects(format!("{prefix}._events.>")).await {
        while let Some(Ok((_, count))) = subjects.next().await {
            events += count as u64;
        }
    }
    total.saturating_sub(events)
}
