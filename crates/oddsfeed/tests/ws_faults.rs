//! Bad frames from the simulator's fault flags: each is reported as a `decode_error` naming the
//! docs/PROTOCOL.md reason, skipped, and no other message is lost.

mod ws_common;

use std::time::Duration;

use oddsfeed::model::ReceiveType;
use oddsfeed::ws::{DecodeError, DecodeErrorKind, Event};
use oddsfeed_sim::ws::WsSimConfig;
use ws_common::*;

const MESSAGES: u64 = 400;
const FAULT_AT: u64 = 100;

fn decode_errors(run: &Run) -> Vec<&DecodeError> {
    run.session_events("decode_error")
        .into_iter()
        .filter_map(|e| match e {
            Event::DecodeError(error) => Some(error),
            _ => None,
        })
        .collect()
}

/// Runs a client to the end of the simulator's stream and checks nothing real was lost.
async fn run_with_fault(
    cfg: WsSimConfig,
    mode: ReceiveType,
    max_decompressed: Option<usize>,
) -> Run {
    let sim = start_sim(cfg);
    let mut builder = client(&url(&sim), mode).once(true);
    if let Some(bound) = max_decompressed {
        builder = builder.max_decompressed(bound);
    }
    let mut client = connect(builder);
    let run = collect_all(&mut client, Duration::from_secs(30)).await;
    assert!(run.finished, "{:?}", run.names());
    assert_eq!(run.data.len() as u64, MESSAGES, "events: {:?}", run.names());
    assert_matches_generator(SEED, &run.data);
    assert_eq!(sim.stats().faults_fired, 1);
    assert_eq!(client.detailed_stats().decode_errors_total(), 1);
    drop(client);
    let _ = sim.shutdown().await;
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_bomb_is_output_bound_exceeded() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bomb_at = Some(FAULT_AT);
    // The bomb inflates to 128 MiB; an 8 MiB bound keeps the test light.
    let run = run_with_fault(cfg, ReceiveType::Zstd, Some(8 << 20)).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::OutputBoundExceeded);
    assert_eq!(errors[0].kind.as_str(), "output_bound_exceeded");
    assert_eq!(errors[0].dict_id, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zstd_bomb_with_the_default_bound_in_zstd_dict_mode() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bomb_at = Some(FAULT_AT);
    let run = run_with_fault(cfg, ReceiveType::ZstdDict, None).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::OutputBoundExceeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_dictionary_names_the_id() {
    let mut cfg = sim_config(MESSAGES);
    cfg.unknown_dict_at = Some(FAULT_AT);
    let run = run_with_fault(cfg, ReceiveType::ZstdDict, None).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind.as_str(), "unknown_dict");
    assert_eq!(
        errors[0].dict_id,
        Some(oddsfeed_sim::encode::UNKNOWN_DICT_ID)
    );
    assert!(
        errors[0].detail().contains("4242"),
        "{}",
        errors[0].detail()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_inside_zstd_is_bad_json() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bad_json_at = Some(FAULT_AT);
    let run = run_with_fault(cfg, ReceiveType::ZstdDict, None).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::BadJson);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_text_frame_is_bad_json() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bad_json_at = Some(FAULT_AT);
    let run = run_with_fault(cfg, ReceiveType::Json, None).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::BadJson);
    assert_eq!(errors[0].raw, oddsfeed_sim::encode::BAD_JSON.as_bytes());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messagepack_is_bad_msgpack() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bad_json_at = Some(FAULT_AT);
    let run = run_with_fault(cfg, ReceiveType::Binary, None).await;
    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::BadMsgpack);
}

/// Outside the zstd modes the bomb is a message one byte over 4 MiB: the WebSocket layer refuses
/// it (`frame_too_large`), the connection is closed, and the client resumes on a new one. With
/// every channel replayable nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frame_is_reported_and_the_client_resumes() {
    let mut cfg = sim_config(MESSAGES);
    cfg.bomb_at = Some(FAULT_AT);
    cfg.replay_channels = ALL_CHANNELS.iter().map(|c| (*c).to_owned()).collect();
    let sim = start_sim(cfg);
    let mut client = connect(client(&url(&sim), ReceiveType::Json));
    let run = collect_until(&mut client, Duration::from_secs(30), |run| {
        run.data.len() as u64 >= MESSAGES
    })
    .await;

    let errors = decode_errors(&run);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, DecodeErrorKind::FrameTooLarge);
    assert_eq!(errors[0].kind.as_str(), "frame_too_large");
    assert_eq!(client.detailed_stats().frames_too_large, 1);
    // A second connection resumed.
    let connected: Vec<bool> = run
        .session_events("connected")
        .into_iter()
        .filter_map(|e| match e {
            Event::Connected { resuming, .. } => Some(*resuming),
            _ => None,
        })
        .collect();
    assert_eq!(connected, [false, true], "{:?}", run.names());
    run.assert_no_duplicates();
    assert_eq!(run.data.len() as u64, MESSAGES);
    // Every channel resumed: no snapshot is needed.
    assert!(
        run.session_events("snapshot_required").is_empty(),
        "{:?}",
        run.names()
    );
    drop(client);
    let _ = sim.shutdown().await;
}
