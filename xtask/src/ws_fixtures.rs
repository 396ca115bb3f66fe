//! One fixture per WebSocket message type (docs/PROTOCOL.md Part B): control
//! frames built here, data messages taken from the simulator's generator.

use oddsfeed_sim::dicts::SimDict;
use oddsfeed_sim::encode::dict_frame_json;
use oddsfeed_sim::ws_gen::WsGenerator;
use serde_json::json;

/// Virtual time of the data fixtures.
const DATA_BASE_MS: u64 = 1_766_400_000_000;

const EPOCH: &str = "0804ab61513c4681a3afd8afc1fb2f75";

/// Control frames as `(file stem, compact JSON)`; `odds_dict` is announced in
/// `dict_odds`.
pub(crate) fn control_frames(odds_dict: &SimDict) -> Vec<(&'static str, String)> {
    let all = ["odds", "fixtures", "bookmakers", "scores", "clocks"];
    let resume = json!({
        "serverEpoch": EPOCH,
        "resumeWindowMs": 60000,
        "replayChannels": ["fixtures", "scores"],
        "serverEntryIds": {
            "fixtures": "1766414833582-2542",
            "scores": "1766418736962-198"
        }
    });
    vec![
        (
            "login",
            json!({
                "type": "login",
                "apiKey": "YOUR_API_KEY",
                "channels": all,
                "receiveType": "zstd-dict",
                "sportIds": [10, 11],
                "tournamentIds": [17],
                "bookmakers": ["pinnacle", "bet365", "stake"],
                "serverEpoch": EPOCH,
                "lastSeenId": {"scores": "1766418736962-198"}
            })
            .to_string(),
        ),
        (
            "login_ok",
            json!({
                "type": "login_ok",
                "receiveType": "zstd-dict",
                "channels": all,
                "access": {"live": true, "pregame": true},
                "resume": resume
            })
            .to_string(),
        ),
        (
            "login_ok_downgraded",
            json!({
                "type": "login_ok",
                "receiveType": "json",
                "channels": all,
                "access": {"live": true, "pregame": true},
                "resume": resume
            })
            .to_string(),
        ),
        ("dict_odds", dict_frame_json(odds_dict)),
        (
            "error_login_failed",
            json!({"type": "error", "code": "login_failed", "message": "invalid apiKey"})
                .to_string(),
        ),
        (
            "resume_complete",
            json!({"type": "resume_complete", "serverEpoch": EPOCH}).to_string(),
        ),
        (
            "snapshot_required",
            json!({
                "type": "snapshot_required",
                "reason": "resume_window_exceeded",
                "channels": ["scores"],
                "serverEpoch": EPOCH,
                "resumeWindowMs": 60000,
                "serverEntryIds": {"scores": "1766418738000-220"}
            })
            .to_string(),
        ),
        (
            "reconnect",
            json!({"type": "reconnect", "reason": "server_upgrade"}).to_string(),
        ),
        (
            "unknown_control",
            json!({
                "type": "maintenance_notice",
                "message": "scheduled maintenance 2026-01-05 03:00 UTC",
                "startsAt": 1767582000000u64
            })
            .to_string(),
        ),
    ]
}

/// Data messages as `(file stem, channel, compact JSON)`: the first message
/// of each channel from a generator seeded with `seed`, plus one on a channel
/// the simulator never produces.
pub(crate) fn data_messages(seed: u64) -> Result<Vec<(String, &'static str, String)>, String> {
    let mut out = Vec::new();
    for channel in oddsfeed_sim::ws_gen::CHANNELS {
        let mut generator = WsGenerator::new(seed)
            .with_channels(&[channel])
            .map_err(|e| e.to_string())?;
        let msg = generator.next(DATA_BASE_MS);
        out.push((format!("data_{channel}"), channel, msg.json));
    }
    let unknown = json!({
        "channel": "weather",
        "type": "UPDATE",
        "payload": {
            "fixtureId": "id1000000000000001",
            "temperatureC": 7.5,
            "condition": "light rain",
            "windKph": 18
        },
        "ts": DATA_BASE_MS,
        "entryId": format!("{DATA_BASE_MS}-1")
    });
    out.push((
        "data_unknown_channel".to_owned(),
        "weather",
        unknown.to_string(),
    ));
    Ok(out)
}
