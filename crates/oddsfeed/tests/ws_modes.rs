//! Every receive type over a real loopback socket: each message the simulator generated arrives
//! once, in order, unchanged; a server without zstd downgrades to JSON.

mod ws_common;

use std::time::Duration;

use oddsfeed::model::ReceiveType;
use oddsfeed::ws::Event;
use ws_common::*;

const MESSAGES: u64 = 1200;

async fn run_mode(mode: ReceiveType) {
    let sim = start_sim(sim_config(MESSAGES));
    let mut client = connect(client(&url(&sim), mode).once(true));
    let run = collect_all(&mut client, Duration::from_secs(60)).await;

    assert!(run.finished, "run did not finish: {:?}", run.names());
    assert_eq!(run.data.len() as u64, MESSAGES, "events: {:?}", run.names());
    assert_matches_generator(SEED, &run.data);
    run.assert_no_duplicates();
    assert_eq!(
        channels_seen(&run.data).len(),
        ALL_CHANNELS.len(),
        "every channel shows up in {MESSAGES} messages"
    );

    // The simulator counted exactly these messages.
    let sim_stats = sim.stats();
    assert_eq!(sim_stats.messages_generated, MESSAGES);
    for (channel, ids) in run.ids_by_channel() {
        assert_eq!(
            sim_stats.per_channel.get(&channel).copied(),
            Some(ids.len() as u64),
            "{channel}"
        );
    }

    // login_ok names the negotiated mode; dictionaries only in zstd-dict mode.
    let login = run.session_events("login_ok");
    assert!(
        matches!(login.first(), Some(Event::LoginOk { receive_type: Some(rt), .. }) if *rt == mode),
        "{login:?}"
    );
    let dicts = run.session_events("dict");
    if mode == ReceiveType::ZstdDict {
        let ids: Vec<u32> = dicts
            .iter()
            .filter_map(|e| match e {
                Event::Dict { dict_id, .. } => Some(*dict_id),
                _ => None,
            })
            .collect();
        assert_eq!(ids, [740_826_216, 740_826_217, 740_826_218]);
    } else {
        assert!(dicts.is_empty(), "{dicts:?}");
    }
    assert!(run.session_events("decode_error").is_empty());
    assert!(run.session_events("downgraded").is_empty());

    let stats = client.detailed_stats();
    assert_eq!(stats.session.data_delivered, MESSAGES);
    assert_eq!(stats.session.duplicates_dropped, 0);
    assert_eq!(stats.decode_errors_total(), 0);
    assert!(stats.wire_bytes > 0);
    drop(client);
    let _ = sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_mode_delivers_every_message_in_order() {
    run_mode(ReceiveType::Json).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_mode_delivers_every_message_in_order() {
    run_mode(ReceiveType::Binary).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_mode_delivers_every_message_in_order() {
    run_mode(ReceiveType::Zstd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_dict_mode_delivers_every_message_in_order() {
    run_mode(ReceiveType::ZstdDict).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_zstd_server_downgrades_to_json() {
    let mut cfg = sim_config(300);
    cfg.no_zstd = true;
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::ZstdDict).once(true));
    let run = collect_all(&mut client, Duration::from_secs(30)).await;

    assert!(run.finished, "{:?}", run.names());
    let downgraded = run.session_events("downgraded");
    assert!(
        matches!(
            downgraded.as_slice(),
            [Event::Downgraded {
                requested: ReceiveType::ZstdDict,
                negotiated: ReceiveType::Json
            }]
        ),
        "{downgraded:?}"
    );
    assert!(run.session_events("dict").is_empty());
    assert_eq!(run.data.len(), 300);
    assert_matches_generator(SEED, &run.data);
    assert_eq!(client.detailed_stats().decode_errors_total(), 0);
    drop(client);
    let _ = sim.shutdown().await;
}
