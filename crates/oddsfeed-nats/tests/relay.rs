//! The relay against a real `nats-server` and the in-process WebSocket simulator (loopback only):
//! subjects, headers and event subjects; a clean stop and restart resuming from the KV cursors;
//! NATS stopped and restarted on the same store mid-run; two relays at once on one stream; and the
//! consumer side reading it all back.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::*;
use oddsfeed::model::EntryId;
use oddsfeed_nats::cursors::bucket_name;
use oddsfeed_nats::testing::NatsServer;
use oddsfeed_nats::{NatsItem, NatsStream, NatsStreamConfig};
use oddsfeed_sim::ws::{RecordedMessage, WsSimHandle};
use serde_json::Value;

/// Hang guard for one whole wait (never an assertion about speed).
const GUARD: Duration = Duration::from_secs(60);

/// Asserts the stream holds every recorded message exactly once, in entryId order per channel,
/// from the first message the relay received (a paced simulator streams before the relay's first
/// login, and a fresh login starts at the head).
fn assert_exactly_once(recorded: &[RecordedMessage], stored: &[Stored]) {
    let data = data(stored);
    let start = recorded
        .iter()
        .position(|m| data.iter().any(|s| s.payload == m.json))
        .expect("the relay stored at least one message");
    let recorded = &recorded[start..];
    let want = by_channel_recorded(recorded);
    let got = by_channel_stored(&data);
    for (channel, ids) in &want {
        let have = got.get(channel).cloned().unwrap_or_default();
        assert_eq!(
            have.len(),
            ids.len(),
            "{channel}: stored {} of {} messages",
            have.len(),
            ids.len()
        );
        assert_eq!(
            &have, ids,
            "{channel}: stored ids differ from the simulator's"
        );
    }
    assert_eq!(data.len(), recorded.len(), "no extra data messages");
}

/// Starts a relay from `sim` into the server at `url` and waits until the stream holds
/// `messages` data messages.
async fn relay_until_stored(sim: &WsSimHandle, url: &str, messages: u64) -> RunningRelay {
    let relay = RunningRelay::start(relay_config(sim, url));
    assert!(
        wait_until(GUARD, || async {
            stored_count(url, "ODDSFEED", "oddsfeed").await >= messages
        })
        .await,
        "the relay did not store {messages} messages"
    );
    relay
}

#[tokio::test]
async fn publishes_subjects_headers_events_and_cursors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let (sim, recorder) = start_sim(400, None, 7);
    let url = nats.url();
    let relay = relay_until_stored(&sim, &url, 400).await;
    // Let the cursor write (within 250 ms of the last ack) happen before the clean stop.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (result, events) = relay.stop().await;
    result.expect("relay ran without error");
    assert!(events.iter().any(|e| e["event"] == "nats_connected"));

    let recorded = recorder.messages();
    let stored = read_stream(&url, "ODDSFEED").await;
    assert_exactly_once(&recorded, &stored);

    for s in data(&stored) {
        let v: Value = serde_json::from_str(&s.payload).expect("JSON");
        let channel = v["channel"].as_str().expect("channel");
        let key = if channel.to_ascii_lowercase().contains("futures") {
            "futureId"
        } else {
            "fixtureId"
        };
        let token = match v["payload"][key].as_str() {
            Some(id) if !id.is_empty() => id
                .chars()
                .map(|c| {
                    if matches!(c, '.' | '*' | '>') || c.is_whitespace() {
                        '_'
                    } else {
                        c
                    }
                })
                .collect(),
            _ => "_".to_owned(),
        };
        assert_eq!(s.subject, format!("oddsfeed.{channel}.{token}"));
        let entry = v["entryId"].as_str().expect("entryId");
        assert_eq!(
            s.msg_id.as_deref(),
            Some(format!("{channel}:{entry}").as_str())
        );
        // The payload is the line `oddsfeed ws` prints: the simulator's JSON, byte for byte.
        assert!(
            recorded.iter().any(|m| m.json == s.payload),
            "stored payload is not a message the simulator sent: {}",
            s.payload
        );
    }

    let names: BTreeSet<String> = events_of(&stored);
    assert!(names.contains("login_ok"), "events stored: {names:?}");
    for e in common::events(&stored) {
        let ts = e["ts"].as_str().unwrap_or_default();
        assert!(ts.ends_with('Z') && ts.len() == 24, "ts {ts}");
    }

    // The cursors in KV name the last message of each channel.
    let client = async_nats::connect(&url).await.expect("connect");
    let js = async_nats::jetstream::new(client);
    let kv = js
        .get_key_value(bucket_name("ODDSFEED"))
        .await
        .expect("bucket");
    let state: Value =
        serde_json::from_slice(&kv.get("state").await.expect("get").expect("state stored"))
            .expect("state JSON");
    for (channel, ids) in by_channel_recorded(&recorded) {
        assert_eq!(
            state["lastSeenId"][&channel].as_str(),
            ids.last().map(String::as_str),
            "cursor of {channel}"
        );
    }
    assert!(state["serverEpoch"].is_string());
    sim.shutdown().await.ok();
}

/// Waits until the simulator has sent `messages` and the stream has stopped growing (two polls
/// 500 ms apart agree); whether that happened within the guard.
async fn wait_settled(
    url: &str,
    recorder: &oddsfeed_sim::ws::StreamRecorder,
    messages: usize,
) -> bool {
    let previous = std::cell::Cell::new(u64::MAX);
    let previous = &previous;
    wait_until(GUARD, || {
        let done = recorder.len() >= messages;
        async move {
            tokio::time::sleep(Duration::from_millis(400)).await;
            let now = stored_count(url, "ODDSFEED", "oddsfeed").await;
            let settled = done && now == previous.get() && now > 0;
            previous.set(now);
            settled
        }
    })
    .await
}

fn events_of(stored: &[Stored]) -> BTreeSet<String> {
    common::events(stored)
        .iter()
        .filter_map(|e| e["event"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_restarted_relay_resumes_from_kv_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let url = nats.url();
    // Paced, so the first relay stops in the middle of the stream.
    let (sim, recorder) = start_sim(1500, Some(1500.0), 11);
    let first = RunningRelay::start(relay_config(&sim, &url));
    assert!(
        wait_until(GUARD, || async {
            stored_count(&url, "ODDSFEED", "oddsfeed").await >= 400
        })
        .await
    );
    first.stop().await.0.expect("first relay");
    let second = RunningRelay::start(relay_config(&sim, &url));
    assert!(
        wait_settled(&url, &recorder, 1500).await,
        "the second relay did not complete the stream"
    );
    second.stop().await.0.expect("second relay");
    assert_exactly_once(&recorder.messages(), &read_stream(&url, "ODDSFEED").await);
    sim.shutdown().await.ok();
}

#[tokio::test]
async fn nats_restarted_on_the_same_store_mid_run_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(mut nats) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let url = nats.url();
    let (sim, recorder) = start_sim(2000, Some(2000.0), 13);
    let relay = RunningRelay::start(relay_config(&sim, &url));
    assert!(
        wait_until(GUARD, || async {
            stored_count(&url, "ODDSFEED", "oddsfeed").await >= 300
        })
        .await
    );
    nats.stop();
    tokio::time::sleep(Duration::from_millis(400)).await;
    nats.restart().expect("restart nats");
    assert!(
        wait_settled(&url, &recorder, 2000).await,
        "the relay did not complete the stream after the NATS restart"
    );
    let (result, events) = relay.stop().await;
    result.expect("relay");
    let names: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    assert!(names.contains(&"nats_disconnected"), "{names:?}");
    assert!(
        names.iter().filter(|n| **n == "nats_connected").count() >= 2,
        "{names:?}"
    );
    assert_exactly_once(&recorder.messages(), &read_stream(&url, "ODDSFEED").await);
    sim.shutdown().await.ok();
}

/// Two relays on one stream until the paced simulator's 2,000 messages are stored: what the
/// simulator sent and what the stream holds; `None` when nats-server is missing (skipped). With
/// `staggered`, the second relay joins once the first has stored messages and written its
/// cursors (the deployment docs/RELAY.md describes), so it logs in from those cursors.
async fn two_relays(seed: u64, staggered: bool) -> Option<(Vec<RecordedMessage>, Vec<Stored>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let nats = NatsServer::start_or_skip(dir.path())?;
    let url = nats.url();
    let (sim, recorder) = start_sim(2000, Some(2000.0), seed);
    let a = RunningRelay::start(relay_config(&sim, &url));
    if staggered {
        assert!(
            wait_until(GUARD, || async {
                stored_count(&url, "ODDSFEED", "oddsfeed").await > 100
            })
            .await,
            "the first relay stored nothing"
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
    }
    let b = RunningRelay::start(relay_config(&sim, &url));
    assert!(
        wait_settled(&url, &recorder, 2000).await,
        "two relays did not store the stream"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.stop().await.0.expect("relay a");
    b.stop().await.0.expect("relay b");
    let stored = read_stream(&url, "ODDSFEED").await;
    sim.shutdown().await.ok();
    Some((recorder.messages(), stored))
}

#[tokio::test]
async fn two_relays_at_once_store_each_message_once() {
    // Joined from the stored cursors, the second relay's messages continue the stream's and
    // both publish each channel in the same order: exactly once, in order.
    let Some((recorded, stored)) = two_relays(17, true).await else {
        return;
    };
    assert_exactly_once(&recorded, &stored);
}

#[tokio::test]
async fn two_relays_started_together_store_each_message_once() {
    let Some((recorded, stored)) = two_relays(23, false).await else {
        return;
    };
    // With no cursors stored yet, each relay's feed starts wherever its login lands, so while
    // the later one is ahead the two may interleave a channel (docs/RELAY.md): each message is
    // still stored exactly once, with none missing from the first one stored.
    let data = data(&stored);
    let start = recorded
        .iter()
        .position(|m| data.iter().any(|s| s.payload == m.json))
        .expect("the relays stored at least one message");
    let sorted = |map: BTreeMap<String, Vec<String>>| -> BTreeMap<String, Vec<String>> {
        map.into_iter()
            .map(|(channel, mut ids)| {
                ids.sort_by_key(|id| id.parse::<EntryId>().ok());
                (channel, ids)
            })
            .collect()
    };
    let want = sorted(by_channel_recorded(&recorded[start..]));
    let got = sorted(by_channel_stored(&data));
    assert_eq!(got, want, "each message stored once, none missing");
}

#[tokio::test]
async fn the_consumer_stream_yields_typed_messages_with_a_subject_filter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let url = nats.url();
    let (sim, recorder) = start_sim(300, None, 19);
    let relay = relay_until_stored(&sim, &url, 300).await;
    relay.stop().await.0.expect("relay");
    let want: Vec<String> = recorder
        .messages()
        .into_iter()
        .filter(|m| m.channel == "odds")
        .map(|m| m.json)
        .collect();

    let mut stream = NatsStream::connect(NatsStreamConfig::new(&url).subject("oddsfeed.odds.>"))
        .await
        .expect("consumer");
    assert_eq!(stream.pending_at_start(), want.len() as u64);
    let mut got = Vec::new();
    while (got.len()) < want.len() {
        let received = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("consumer stalled")
            .expect("stream open")
            .expect("message");
        match received.item {
            NatsItem::Data(msg) => {
                assert_eq!(msg.channel, "odds");
                assert!(msg.entry_id.is_some());
                got.push(msg.raw);
            }
            other => panic!("only odds data expected, got {other:?}"),
        }
    }
    assert_eq!(got, want);

    // A durable consumer continues where the previous reader with its name stopped.
    let config = NatsStreamConfig::new(&url)
        .subject("oddsfeed.odds.>")
        .durable("desk");
    let mut first = NatsStream::connect(config.clone()).await.expect("durable");
    for _ in 0..10 {
        first.next().await.expect("open").expect("message");
    }
    drop(first);
    let mut second = NatsStream::connect(config).await.expect("durable again");
    let next = second.next().await.expect("open").expect("message");
    match next.item {
        NatsItem::Data(msg) => assert_eq!(msg.raw, want[10]),
        other => panic!("expected data, got {other:?}"),
    }
    sim.shutdown().await.ok();
}

#[tokio::test]
async fn a_book_kept_from_the_stream_equals_the_book_of_the_sent_messages() {
    use oddsfeed::book::ws::WsBook;
    use oddsfeed::model::ws::{WsMessage, parse_ws_text};

    let dir = tempfile::tempdir().expect("temp dir");
    let Some(nats) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let url = nats.url();
    let (sim, recorder) = start_sim(300, None, 23);
    let relay = relay_until_stored(&sim, &url, 300).await;
    relay.stop().await.0.expect("relay");
    let now = std::time::Instant::now();

    // The book an application keeps from the stream.
    let mut from_stream = WsBook::new();
    let mut stream = NatsStream::connect(NatsStreamConfig::new(&url))
        .await
        .expect("consumer");
    let total = stream.pending_at_start();
    let mut data = 0;
    for _ in 0..total {
        let received = tokio::time::timeout(Duration::from_secs(10), stream.next())
            .await
            .expect("consumer stalled")
            .expect("stream open")
            .expect("message");
        data += usize::from(matches!(received.item, NatsItem::Data(_)));
        received.item.apply_to_book(&mut from_stream, now);
    }
    // The book of what the simulator sent.
    let sent = recorder.messages();
    assert_eq!(data, sent.len(), "every sent message is in the stream once");
    let mut reference = WsBook::new();
    for m in &sent {
        for parsed in parse_ws_text(&m.json) {
            if let Ok(WsMessage::Data(msg)) = parsed {
                reference.apply(&msg, now);
            }
        }
    }
    assert_eq!(from_stream.dump(), reference.dump());

    // A snapshot_required event on the stream marks its channels stale.
    let event = NatsItem::Event {
        name: "snapshot_required".into(),
        object: serde_json::json!({"event": "snapshot_required", "reason": "gap", "channels": "odds,scores"}),
    };
    event.apply_to_book(&mut from_stream, now);
    assert_eq!(from_stream.stale_reason("odds"), Some("gap"));
    assert_eq!(from_stream.stale_reason("scores"), Some("gap"));
    assert_eq!(from_stream.stale_reason("fixtures"), None);
    sim.shutdown().await.ok();
}
