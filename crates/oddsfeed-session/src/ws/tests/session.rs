//! `WsSession`: every rule of docs/PROTOCOL.md B.9–B.11, in virtual time.

use std::collections::BTreeMap;
use std::time::Duration;

use oddsfeed_model::{EntryId, ReceiveType, ResumeState};
use serde_json::json;

use super::{
    Harness, KEY, config, data, dict_frame, json_config, login_ok, msgpack_data, test_dict,
    zstd_frame,
};
use crate::SessionError;
use crate::ws::{
    Action, CloseCode, CloseInfo, ConnPhase, DecodeErrorKind, Event, ExitHint, Fatal, OutFrame,
    ReconnectDelay, WarningKind, WsConfig, WsFilters,
};

fn id(s: &str) -> EntryId {
    s.parse().unwrap()
}

fn state(epoch: Option<&str>, cursors: &[(&str, &str)]) -> ResumeState {
    ResumeState {
        server_epoch: epoch.map(str::to_owned),
        last_seen_id: cursors
            .iter()
            .map(|(c, e)| ((*c).to_owned(), id(e)))
            .collect(),
    }
}

fn cursors(pairs: &[(&str, &str)]) -> BTreeMap<String, EntryId> {
    pairs
        .iter()
        .map(|(c, e)| ((*c).to_owned(), id(e)))
        .collect()
}

fn warnings(events: &[Event]) -> Vec<WarningKind> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Warning { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect()
}

fn snapshots(events: &[Event]) -> Vec<(String, Vec<String>, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::SnapshotRequired {
                reason,
                channels,
                raised_by_client,
            } => Some((reason.clone(), channels.clone(), *raised_by_client)),
            _ => None,
        })
        .collect()
}

const OK_JSON: &str = r#"{"type":"login_ok","receiveType":"json","resume":{"serverEpoch":"e1","replayChannels":["fixtures","scores"]}}"#;

// ----- login --------------------------------------------------------------------------------

#[test]
fn first_output_is_open_connection_and_login_is_built_from_config() {
    let mut c = config();
    c.channels = Some(vec!["odds".into(), "scores".into()]);
    c.filters = WsFilters {
        sport_ids: Some(vec![10, 11]),
        tournament_ids: Some(vec![35430]),
        fixture_ids: Some(vec!["id1".into()]),
        future_ids: Some(vec!["fu1".into()]),
        bookmakers: Some(vec!["stake".into()]),
        lang: Some("de".into()),
        client_name: Some("oddsfeed-test".into()),
        pregame: Some(false),
        live: Some(true),
    };
    let mut h = Harness::new(c);
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    assert_eq!(h.s.poll_timeout(), None, "no timer before a connection");
    let (conn, login) = h.connect(0);
    assert_eq!(
        login,
        json!({"type":"login","apiKey":KEY,"channels":["odds","scores"],"receiveType":"zstd-dict",
               "sportIds":[10,11],"tournamentIds":[35430],"fixtureIds":["id1"],"futureIds":["fu1"],
               "bookmakers":["stake"],"lang":"de","clientName":"oddsfeed-test","pregame":false,"live":true})
    );
    assert_eq!(
        h.events(),
        vec![Event::Connected {
            conn,
            resuming: false
        }]
    );
    assert_eq!(h.s.connection_phase(conn), Some(ConnPhase::AwaitingLoginOk));
}

#[test]
fn fresh_process_from_state_file_sends_epoch_and_every_cursor() {
    let st = state(Some("e1"), &[("odds", "10-1"), ("scores", "999-5")]);
    let mut h = Harness::with_state(config(), st);
    h.actions();
    let (conn, login) = h.connect(0);
    assert_eq!(login["serverEpoch"], json!("e1"));
    assert_eq!(login["lastSeenId"], json!({"odds":"10-1","scores":"999-5"}));
    assert_eq!(
        h.events(),
        vec![Event::Connected {
            conn,
            resuming: true
        }]
    );
}

#[test]
fn cursors_without_an_epoch_are_not_sent() {
    let st = state(None, &[("odds", "10-1")]);
    let mut h = Harness::with_state(config(), st);
    h.actions();
    let (_, login) = h.connect(0);
    assert_eq!(login.get("serverEpoch"), None);
    assert_eq!(login.get("lastSeenId"), None);
}

#[test]
fn in_process_resume_sends_only_cursors_of_the_last_replay_channels() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    h.text(c1, &data("odds", "100-1"), 10);
    h.text(c1, &data("scores", "200-2"), 11);
    h.text(c1, &data("fixtures", "300-3"), 12);
    h.events();
    h.s.handle_closed(c1, Some(CloseInfo::new(1000, "")), h.at(20));
    assert_eq!(
        h.actions(),
        vec![Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
    let (_, login) = h.connect(500);
    assert_eq!(login["serverEpoch"], json!("e1"));
    assert_eq!(
        login["lastSeenId"],
        json!({"fixtures":"300-3","scores":"200-2"})
    );
}

#[test]
fn nothing_in_debug_output_shows_the_key() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    h.s.handle_closed(c1, None, h.at(5));
    h.actions();
    let conn = h.s.handle_connected(h.at(10));
    let tx = h.s.poll_transmit().unwrap();
    assert_eq!(tx.conn, conn);
    let text = format!("{:?} {:?} {:?} {:#?}", h.s, tx, h.s.config(), h.s.config());
    assert!(!text.contains(KEY), "{text}");
    assert!(text.contains("redacted"), "{text}");
}

// ----- login_ok, mode, timeout --------------------------------------------------------------

#[test]
fn login_timeout_drops_the_connection_and_reconnects_with_backoff() {
    let mut h = Harness::new(config());
    h.actions();
    let (conn, _) = h.connect(0);
    h.events();
    assert_eq!(h.s.poll_timeout(), Some(h.at(10_000)));
    h.s.handle_timeout(h.at(9_999));
    assert!(h.events().is_empty());
    assert!(h.actions().is_empty());
    h.s.handle_timeout(h.at(10_000));
    assert_eq!(
        h.events(),
        vec![Event::Disconnected {
            conn: Some(conn),
            code: None,
            reason: "no login_ok within 10000 ms of connecting".into()
        }]
    );
    assert_eq!(
        h.actions(),
        vec![
            Action::Close {
                conn,
                code: CloseCode::Normal
            },
            Action::Reconnect {
                delay: ReconnectDelay::Backoff
            }
        ]
    );
    // Only the reconnect deadline is left.
    let next = h.s.scheduled_reconnect().expect("scheduled");
    assert_eq!(h.s.poll_timeout(), Some(next.at));
    // A late login_ok for the dropped connection is ignored.
    h.text(conn, OK_JSON, 10_001);
    assert!(h.events().is_empty());
    assert_eq!(h.s.stats().frames_ignored, 1);
    assert_eq!(h.s.connection_phase(conn), None);
}

#[test]
fn data_before_login_ok_is_dropped_with_a_warning() {
    let mut h = Harness::new(json_config());
    h.actions();
    let (conn, _) = h.connect(0);
    h.events();
    h.text(conn, &data("odds", "1-1"), 1);
    h.binary(conn, &zstd_frame(data("odds", "1-2").as_bytes(), None), 2);
    let ev = h.events();
    assert_eq!(
        warnings(&ev),
        [WarningKind::BeforeLoginOk, WarningKind::BeforeLoginOk]
    );
    assert!(Harness::data_of(&ev).is_empty());
    assert_eq!(h.s.stats().dropped_before_login_ok, 2);
    // After login_ok the same message is delivered: it never moved the cursor.
    h.text(conn, OK_JSON, 3);
    h.text(conn, &data("odds", "1-1"), 4);
    assert_eq!(Harness::data_of(&h.events()), ["odds 1-1"]);
}

#[test]
fn decoder_follows_login_ok_not_the_request_and_reports_the_downgrade() {
    let mut h = Harness::new(config()); // asks for zstd-dict
    h.actions();
    let (conn, _) = h.connect(0);
    h.events();
    h.text(
        conn,
        r#"{"type":"login_ok","receiveType":"json","channels":["scores"],"access":{"live":true,"pregame":false}}"#,
        1,
    );
    assert_eq!(
        h.events(),
        vec![
            Event::LoginOk {
                conn,
                receive_type: Some(ReceiveType::Json),
                channels: Some(vec!["scores".into()]),
                live: Some(true),
                pregame: Some(false),
                server_epoch: None,
            },
            Event::Downgraded {
                requested: ReceiveType::ZstdDict,
                negotiated: ReceiveType::Json
            }
        ]
    );
    assert_eq!(h.s.connection_phase(conn), Some(ConnPhase::Streaming));
    // A binary frame in json mode: warned, then sniffed and delivered.
    h.binary(conn, &zstd_frame(data("scores", "2-0").as_bytes(), None), 2);
    let ev = h.events();
    assert_eq!(warnings(&ev), [WarningKind::UnexpectedBinary]);
    assert_eq!(Harness::data_of(&ev), ["scores 2-0"]);
    assert_eq!(
        h.s.stats()
            .decode_errors_for(DecodeErrorKind::UnexpectedBinary),
        1
    );
    assert_eq!(h.s.stats().decode_errors_total(), 0);
}

#[test]
fn missing_or_unknown_receive_type_means_sniffing() {
    for ok in [
        r#"{"type":"login_ok"}"#,
        r#"{"type":"login_ok","receiveType":"brotli"}"#,
    ] {
        let (mut h, conn) = {
            let mut h = Harness::new(config());
            h.actions();
            let (conn, _) = h.connect(0);
            h.events();
            (h, conn)
        };
        h.text(conn, ok, 1);
        let ev = h.events();
        assert_eq!(warnings(&ev), [WarningKind::UnknownReceiveType], "{ok}");
        assert!(matches!(
            ev[0],
            Event::LoginOk {
                receive_type: None,
                ..
            }
        ));
        h.binary(conn, &zstd_frame(data("scores", "1-0").as_bytes(), None), 2);
        h.binary(conn, &msgpack_data("odds", "1-1"), 3);
        h.text(conn, &data("fixtures", "1-2"), 4);
        assert_eq!(
            Harness::data_of(&h.events()),
            ["scores 1-0", "odds 1-1", "fixtures 1-2"]
        );
    }
}

// ----- dictionaries -------------------------------------------------------------------------

#[test]
fn dictionaries_are_stored_reported_and_kept_across_reconnects() {
    let ok = r#"{"type":"login_ok","receiveType":"zstd-dict","resume":{"serverEpoch":"e1","replayChannels":["odds"]}}"#;
    let (mut h, c1) = Harness::streaming(config(), ok);
    h.text(c1, &dict_frame(), 2);
    assert_eq!(
        h.events(),
        vec![Event::Dict {
            channel: Some("odds".into()),
            dict_id: super::DICT_ID,
            dict_version: Some("odds-v1".into()),
            size: test_dict().len()
        }]
    );
    let frame = zstd_frame(data("odds", "5-0").as_bytes(), Some(test_dict()));
    h.binary(c1, &frame, 3);
    assert_eq!(Harness::data_of(&h.events()), ["odds 5-0"]);

    // A rejected dictionary is an event; the previous one stays.
    h.text(
        c1,
        &format!(
            r#"{{"type":"dict","channel":"odds","dictId":{},"encoding":"base64","data":"!!"}}"#,
            super::DICT_ID
        ),
        4,
    );
    let ev = h.events();
    assert_eq!(
        ev,
        vec![Event::DictRejected {
            channel: Some("odds".into()),
            dict_id: super::DICT_ID,
            reason: format!(
                "zstd dictionary {} rejected: data is not valid base64",
                super::DICT_ID
            )
        }]
    );
    assert_eq!(ev[0].name(), "dict_rejected");

    // New connection, no dict frame this time: the store survived.
    h.s.handle_closed(c1, None, h.at(5));
    h.actions();
    let (c2, _) = h.connect(6);
    h.text(c2, ok, 7);
    h.events();
    let frame = zstd_frame(data("odds", "6-0").as_bytes(), Some(test_dict()));
    h.binary(c2, &frame, 8);
    assert_eq!(Harness::data_of(&h.events()), ["odds 6-0"]);
    assert_eq!(h.s.stats().dicts_loaded, 1);
    assert_eq!(h.s.stats().dicts_rejected, 1);
}

#[test]
fn decode_errors_are_events_and_counted_and_the_stream_goes_on() {
    let ok = r#"{"type":"login_ok","receiveType":"zstd-dict"}"#;
    let (mut h, c1) = Harness::streaming(config(), ok);
    let unknown = zstd_frame(data("odds", "1-0").as_bytes(), Some(test_dict()));
    h.binary(c1, &unknown, 1);
    h.binary(c1, &zstd_frame(data("scores", "1-1").as_bytes(), None), 2);
    let ev = h.events();
    assert_eq!(ev.len(), 2);
    let Event::DecodeError(e) = &ev[0] else {
        panic!("{ev:?}")
    };
    assert_eq!(e.kind, DecodeErrorKind::UnknownDict);
    assert_eq!(e.dict_id, Some(super::DICT_ID));
    assert_eq!(ev[0].name(), "decode_error");
    assert_eq!(Harness::data_of(&ev), ["scores 1-1"]);
    assert_eq!(
        h.s.stats().decode_errors_for(DecodeErrorKind::UnknownDict),
        1
    );
    assert_eq!(h.s.stats().decode_errors_total(), 1);
}

// ----- cursors and dedupe -------------------------------------------------------------------

#[test]
fn duplicates_are_dropped_by_numeric_entry_id() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    for (i, e) in ["999-5", "1000-1", "999-6", "1000-1", "1000-2", "5-0"]
        .iter()
        .enumerate()
    {
        h.text(c, &data("scores", e), 10 + i as u64);
    }
    h.text(c, &data("odds", "999-6"), 20);
    assert_eq!(
        Harness::data_of(&h.events()),
        [
            "scores 999-5",
            "scores 1000-1",
            "scores 1000-2",
            "odds 999-6"
        ]
    );
    assert_eq!(h.s.stats().duplicates_dropped, 3);
    assert_eq!(h.s.stats().data_delivered, 4);
    assert_eq!(
        h.s.delivered_cursors(),
        &cursors(&[("odds", "999-6"), ("scores", "1000-2")])
    );
}

#[test]
fn missing_or_bad_entry_id_is_delivered_with_a_warning_and_moves_nothing() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, &data("scores", "10-0"), 2);
    h.text(
        c,
        r#"{"channel":"scores","type":"UPDATE","payload":{},"entryId":"abc"}"#,
        3,
    );
    h.text(c, r#"{"channel":"scores","type":"UPDATE","payload":{}}"#, 4);
    let ev = h.events();
    assert_eq!(Harness::data_of(&ev), ["scores 10-0", "scores ", "scores "]);
    assert_eq!(
        warnings(&ev),
        [WarningKind::BadEntryId, WarningKind::BadEntryId]
    );
    let details: Vec<&str> = ev
        .iter()
        .filter_map(|e| match e {
            Event::Warning { detail, .. } => Some(detail.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        details,
        [
            "scores message with entryId \"abc\": delivered, cursor unchanged",
            "scores message with entryId \"(missing)\": delivered, cursor unchanged"
        ]
    );
    assert_eq!(h.s.delivered_cursors(), &cursors(&[("scores", "10-0")]));
}

#[test]
fn consumed_cursor_is_what_resume_state_reports() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, &data("scores", "10-0"), 2);
    h.text(c, &data("scores", "11-0"), 3);
    h.events();
    assert_eq!(h.s.resume_state(), state(Some("e1"), &[]));
    assert!(h.s.handle_consumed("scores", id("10-0")));
    assert_eq!(h.s.resume_state(), state(Some("e1"), &[("scores", "10-0")]));
    assert!(
        !h.s.handle_consumed("scores", id("12-0")),
        "never past delivered"
    );
    assert!(!h.s.handle_consumed("scores", id("9-0")), "never backwards");
    assert!(
        !h.s.handle_consumed("odds", id("1-0")),
        "nothing delivered there"
    );
    assert!(h.s.handle_consumed("scores", id("11-0")));
    assert_eq!(h.s.resume_state(), state(Some("e1"), &[("scores", "11-0")]));
    let round_trip = ResumeState::from_json(&h.s.resume_state().to_json()).unwrap();
    assert_eq!(round_trip, h.s.resume_state());
}

// ----- login_ok: epochs and the server behind -----------------------------------------------

#[test]
fn new_epoch_clears_all_cursors_and_raises_server_restarted() {
    let st = state(Some("e1"), &[("odds", "10-1"), ("scores", "20-2")]);
    let mut h = Harness::with_state(json_config(), st);
    h.actions();
    let (c, _) = h.connect(0);
    h.events();
    h.text(c, &login_ok("json", "e2", &["scores"]), 1);
    let ev = h.events();
    assert_eq!(
        snapshots(&ev),
        [(
            "server_restarted".to_owned(),
            vec!["odds".to_owned(), "scores".to_owned()],
            true
        )]
    );
    assert_eq!(h.s.resume_state(), state(Some("e2"), &[]));
    assert!(h.s.delivered_cursors().is_empty());
    // Entries of the new epoch are not mistaken for duplicates.
    h.text(c, &data("scores", "5-0"), 2);
    assert_eq!(Harness::data_of(&h.events()), ["scores 5-0"]);
}

#[test]
fn resumed_channels_are_not_raised_and_others_are_not_replayable() {
    let st = state(Some("e1"), &[("odds", "10-1"), ("scores", "20-2")]);
    let mut h = Harness::with_state(json_config(), st);
    h.actions();
    let (c, login) = h.connect(0);
    assert_eq!(login["lastSeenId"], json!({"odds":"10-1","scores":"20-2"}));
    h.events();
    h.text(c, &login_ok("json", "e1", &["scores"]), 1);
    let ev = h.events();
    assert_eq!(
        snapshots(&ev),
        [("not_replayable".to_owned(), vec!["odds".to_owned()], true)]
    );
    assert_eq!(h.s.delivered_cursors(), &cursors(&[("scores", "20-2")]));
    assert_eq!(h.s.resume_state(), state(Some("e1"), &[("scores", "20-2")]));
}

#[test]
fn no_silent_gap_after_an_in_process_reconnect() {
    let (mut h, c1) = Harness::streaming(json_config(), &login_ok("json", "e1", &["scores"]));
    h.text(c1, &data("odds", "1-1"), 2);
    h.text(c1, &data("scores", "1-2"), 3);
    h.text(
        c1,
        r#"{"channel":"fixtures","type":"UPDATE","payload":{}}"#,
        4,
    );
    h.events();
    h.s.handle_closed(c1, None, h.at(5));
    h.actions();
    let (c2, login) = h.connect(6);
    assert_eq!(login["lastSeenId"], json!({"scores":"1-2"}));
    h.text(c2, &login_ok("json", "e1", &["scores"]), 7);
    let ev = h.events();
    // fixtures had data without entryIds: it cannot be resumed either.
    assert_eq!(
        snapshots(&ev),
        [(
            "not_replayable".to_owned(),
            vec!["fixtures".to_owned(), "odds".to_owned()],
            true
        )]
    );
    assert_eq!(h.s.delivered_cursors(), &cursors(&[("scores", "1-2")]));
    // The replayed scores entry is a duplicate; odds restarts without a cursor.
    h.text(c2, &data("scores", "1-2"), 8);
    h.text(c2, &data("odds", "1-1"), 9);
    assert_eq!(Harness::data_of(&h.events()), ["odds 1-1"]);
}

#[test]
fn server_behind_the_sent_cursor_resets_it() {
    let st = state(Some("e1"), &[("scores", "100-5")]);
    let mut h = Harness::with_state(json_config(), st);
    h.actions();
    let (c, _) = h.connect(0);
    h.events();
    h.text(
        c,
        r#"{"type":"login_ok","receiveType":"json","resume":{"serverEpoch":"e1","replayChannels":["scores"],"serverEntryIds":{"scores":"90-0"}}}"#,
        1,
    );
    let ev = h.events();
    assert_eq!(warnings(&ev), [WarningKind::CursorReset]);
    assert!(snapshots(&ev).is_empty());
    assert!(h.s.delivered_cursors().is_empty());
    h.text(c, &data("scores", "95-0"), 2);
    assert_eq!(Harness::data_of(&h.events()), ["scores 95-0"]);
}

#[test]
fn server_behind_check_uses_the_cursor_sent_not_the_current_one() {
    let (mut h, c1) = Harness::streaming(json_config(), &login_ok("json", "e1", &["scores"]));
    h.text(c1, &data("scores", "150-0"), 2);
    h.text(c1, r#"{"type":"reconnect","reason":"server_upgrade"}"#, 3);
    h.events();
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    let (c2, login) = h.connect(4);
    assert_eq!(login["lastSeenId"], json!({"scores":"150-0"}));
    // The old connection keeps delivering during the overlap.
    h.text(c1, &data("scores", "200-0"), 5);
    assert_eq!(Harness::data_of(&h.events()), ["scores 200-0"]);
    // serverEntryIds (180) is behind the current cursor (200) but not behind the sent one (150).
    h.text(
        c2,
        r#"{"type":"login_ok","receiveType":"json","resume":{"serverEpoch":"e1","replayChannels":["scores"],"serverEntryIds":{"scores":"180-0"}}}"#,
        6,
    );
    let ev = h.events();
    assert!(warnings(&ev).is_empty(), "{ev:?}");
    assert_eq!(h.s.delivered_cursors(), &cursors(&[("scores", "200-0")]));
    // The replay from 150 is deduplicated up to 200.
    for (i, e) in ["160-0", "180-0", "200-0", "201-0"].iter().enumerate() {
        h.text(c2, &data("scores", e), 7 + i as u64);
    }
    assert_eq!(Harness::data_of(&h.events()), ["scores 201-0"]);
}

// ----- resume_complete, snapshot_required ---------------------------------------------------

#[test]
fn resume_complete_is_an_event_only() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, r#"{"type":"resume_complete","serverEpoch":"e1"}"#, 2);
    let ev = h.events();
    assert_eq!(
        ev,
        vec![Event::ResumeComplete {
            server_epoch: Some("e1".into())
        }]
    );
    assert_eq!(ev[0].name(), "resume_complete");
    assert!(h.actions().is_empty());
}

#[test]
fn snapshot_required_clears_the_listed_cursors_and_reading_goes_on() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, &data("scores", "50-0"), 2);
    h.text(c, &data("fixtures", "50-0"), 3);
    h.events();
    h.s.handle_consumed("scores", id("50-0"));
    h.text(
        c,
        r#"{"type":"snapshot_required","reason":"resume_window_exceeded","channels":["scores"],"serverEpoch":"e1"}"#,
        4,
    );
    let ev = h.events();
    assert_eq!(
        snapshots(&ev),
        [(
            "resume_window_exceeded".to_owned(),
            vec!["scores".to_owned()],
            false
        )]
    );
    assert_eq!(h.s.delivered_cursors(), &cursors(&[("fixtures", "50-0")]));
    assert_eq!(h.s.resume_state(), state(Some("e1"), &[]));
    assert!(h.actions().is_empty());
    h.text(c, &data("scores", "40-0"), 5);
    assert_eq!(Harness::data_of(&h.events()), ["scores 40-0"]);
}

// ----- reconnect frame ----------------------------------------------------------------------

#[test]
fn reconnect_overlap_drains_the_old_connection_until_the_new_login_ok() {
    let ok = login_ok("json", "e1", &["scores", "odds"]);
    let (mut h, c1) = Harness::streaming(json_config(), &ok);
    h.text(c1, &data("odds", "10-0"), 2);
    h.text(c1, r#"{"type":"reconnect","reason":"server_upgrade"}"#, 3);
    let ev = h.events();
    assert_eq!(Harness::data_of(&ev), ["odds 10-0"]);
    assert_eq!(
        ev[1],
        Event::ReconnectRequested {
            conn: c1,
            reason: Some("server_upgrade".into())
        }
    );
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    assert_eq!(h.s.connection_phase(c1), Some(ConnPhase::Draining));

    h.text(c1, &data("odds", "11-0"), 4);
    let (c2, login) = h.connect(5);
    assert_eq!(login["lastSeenId"], json!({"odds":"11-0"}));
    h.text(c1, &data("odds", "12-0"), 6);
    assert_eq!(Harness::data_of(&h.events()), ["odds 11-0", "odds 12-0"]);
    assert_eq!(h.s.connections(), vec![c1, c2]);

    h.text(c2, &ok, 7);
    let ev = h.events();
    assert!(ev.contains(&Event::Disconnected {
        conn: Some(c1),
        code: None,
        reason: format!("replaced by {c2} after a reconnect request")
    }));
    assert!(snapshots(&ev).is_empty(), "{ev:?}");
    assert_eq!(
        h.actions(),
        vec![Action::Close {
            conn: c1,
            code: CloseCode::Normal
        }]
    );
    assert_eq!(h.s.connections(), vec![c2]);

    // The old connection's remaining frames are ignored; the replay is deduplicated.
    h.text(c1, &data("odds", "13-0"), 8);
    h.s.handle_closed(c1, Some(CloseInfo::new(1001, "")), h.at(9));
    for (i, e) in ["11-0", "12-0", "13-0"].iter().enumerate() {
        h.text(c2, &data("odds", e), 10 + i as u64);
    }
    assert_eq!(Harness::data_of(&h.events()), ["odds 13-0"]);
    assert!(h.actions().is_empty());
    assert_eq!(h.s.stats().duplicates_dropped, 2);
}

#[test]
fn old_connection_closing_first_waits_for_the_pending_one_and_opens_no_third() {
    let ok = login_ok("json", "e1", &["scores"]);
    let (mut h, c1) = Harness::streaming(json_config(), &ok);
    h.text(c1, r#"{"type":"reconnect","reason":"server_upgrade"}"#, 1);
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    // A second reconnect request changes nothing.
    h.text(c1, r#"{"type":"reconnect"}"#, 2);
    assert_eq!(h.names(), ["reconnect_requested", "reconnect_requested"]);
    assert!(h.actions().is_empty());
    // The old one closes (grace over) before the new one exists.
    h.s.handle_closed(c1, Some(CloseInfo::new(1001, "going away")), h.at(3));
    assert_eq!(
        h.events(),
        vec![Event::Disconnected {
            conn: Some(c1),
            code: Some(CloseCode::GoingAway),
            reason: "closed by the server with 1001: going away".into()
        }]
    );
    assert!(h.actions().is_empty(), "no third connection");
    let (c2, _) = h.connect(4);
    h.text(c2, &ok, 5);
    h.events();
    assert!(h.actions().is_empty());
    assert_eq!(h.s.connections(), vec![c2]);
}

#[test]
fn replacement_failing_during_the_overlap_retries_while_the_old_one_drains() {
    let ok = login_ok("json", "e1", &["scores"]);
    let (mut h, c1) = Harness::streaming(json_config(), &ok);
    h.text(c1, r#"{"type":"reconnect"}"#, 1);
    h.actions();
    let (c2, _) = h.connect(2);
    h.s.handle_closed(c2, Some(CloseInfo::new(4003, "")), h.at(3));
    assert_eq!(
        h.actions(),
        vec![Action::Reconnect {
            delay: ReconnectDelay::BackoffAtLeast(Duration::from_secs(10))
        }]
    );
    h.text(c1, &data("scores", "1-0"), 4);
    assert_eq!(Harness::data_of(&h.events()), ["scores 1-0"]);
    h.s.handle_closed(c1, Some(CloseInfo::new(1001, "")), h.at(5));
    assert!(h.actions().is_empty(), "a reconnect is already scheduled");
}

#[test]
fn once_mode_reports_reconnect_but_opens_nothing_and_finishes_on_close() {
    let mut c = json_config();
    c.once = true;
    let (mut h, c1) = Harness::streaming(c, OK_JSON);
    h.text(c1, r#"{"type":"reconnect","reason":"server_upgrade"}"#, 1);
    assert_eq!(h.names(), ["reconnect_requested"]);
    assert!(h.actions().is_empty());
    h.s.handle_closed(c1, Some(CloseInfo::new(1001, "")), h.at(2));
    assert_eq!(h.names(), ["disconnected"]);
    assert_eq!(h.actions(), vec![Action::Finished]);
    assert!(h.s.is_stopped());
    assert_eq!(h.s.poll_timeout(), None);
}

// ----- errors and close codes ---------------------------------------------------------------

#[test]
fn login_failed_error_frame_stops_with_the_auth_exit() {
    let mut h = Harness::new(config());
    h.actions();
    let (c, _) = h.connect(0);
    h.events();
    h.text(
        c,
        r#"{"type":"error","code":"login_failed","message":"invalid apiKey"}"#,
        1,
    );
    assert_eq!(
        h.events(),
        vec![Event::ServerError {
            code: Some("login_failed".into()),
            message: Some("invalid apiKey".into())
        }]
    );
    let actions = h.actions();
    assert_eq!(
        actions,
        vec![
            Action::Close {
                conn: c,
                code: CloseCode::Normal
            },
            Action::Stop(Fatal {
                exit: ExitHint::Auth,
                error: SessionError::LoginRefused {
                    code: "login_failed".into(),
                    message: "invalid apiKey".into()
                }
            })
        ]
    );
    let Action::Stop(fatal) = &actions[1] else {
        unreachable!()
    };
    assert_eq!(fatal.exit, ExitHint::Auth);
    assert_eq!(
        fatal.error.to_string(),
        "server refused the login: login_failed: invalid apiKey"
    );
    // Everything afterwards is ignored.
    h.s.handle_closed(c, Some(CloseInfo::new(1008, "")), h.at(2));
    h.s.handle_timeout(h.at(60_000));
    assert!(h.events().is_empty());
    assert!(h.actions().is_empty());
}

#[test]
fn close_1008_before_login_ok_is_an_auth_refusal() {
    let mut h = Harness::new(config());
    h.actions();
    let (c, _) = h.connect(0);
    h.s.handle_closed(c, Some(CloseInfo::new(1008, "policy")), h.at(1));
    assert_eq!(
        h.actions(),
        vec![Action::Stop(Fatal {
            exit: ExitHint::Auth,
            error: SessionError::ClosedBeforeLoginOk {
                code: CloseCode::PolicyViolation,
                reason: "policy".into()
            }
        })]
    );
}

#[test]
fn first_message_must_be_login_is_a_client_bug() {
    let mut h = Harness::new(config());
    h.actions();
    let (c, _) = h.connect(0);
    h.text(
        c,
        r#"{"type":"error","code":"first_message_must_be_login","message":"expected login"}"#,
        1,
    );
    let actions = h.actions();
    assert_eq!(
        actions.last(),
        Some(&Action::Stop(Fatal {
            exit: ExitHint::Failure,
            error: SessionError::ProtocolBug {
                code: "first_message_must_be_login".into(),
                message: "expected login".into()
            }
        }))
    );
}

#[test]
fn close_codes_map_to_reconnect_delays() {
    let floor = ReconnectDelay::BackoffAtLeast(Duration::from_secs(10));
    // (close, streamed before closing, expected delay)
    let cases: Vec<(Option<u16>, bool, ReconnectDelay)> = vec![
        (Some(4001), false, ReconnectDelay::Backoff),
        (Some(4002), true, ReconnectDelay::Backoff),
        (Some(4003), false, floor),
        (Some(4003), true, floor),
        (Some(1001), true, ReconnectDelay::Immediate),
        (Some(1001), false, ReconnectDelay::Backoff),
        (Some(1000), true, ReconnectDelay::Backoff),
        (Some(1009), true, ReconnectDelay::Backoff),
        (Some(1011), true, ReconnectDelay::Backoff),
        (Some(1008), true, ReconnectDelay::Backoff),
        (None, true, ReconnectDelay::Backoff),
        (None, false, ReconnectDelay::Backoff),
    ];
    for (code, streamed, expected) in cases {
        let mut h = Harness::new(json_config());
        h.actions();
        let (c, _) = h.connect(0);
        if streamed {
            h.text(c, OK_JSON, 1);
        }
        h.events();
        h.s.handle_closed(c, code.map(|code| CloseInfo::new(code, "")), h.at(2));
        let ev = h.events();
        assert_eq!(
            h.actions(),
            vec![Action::Reconnect { delay: expected }],
            "{code:?} streamed={streamed}"
        );
        let slow = warnings(&ev).contains(&WarningKind::SlowConsumer);
        assert_eq!(slow, code == Some(4002), "{code:?}");
    }
}

#[test]
fn too_many_connections_error_frame_then_abrupt_close_backs_off_at_least_10s() {
    let mut h = Harness::new(config());
    h.actions();
    let (c, _) = h.connect(0);
    h.text(
        c,
        r#"{"type":"error","code":"too_many_connections","message":"max 5"}"#,
        1,
    );
    assert_eq!(h.names(), ["connected", "server_error"]);
    assert!(h.actions().is_empty(), "wait for the close");
    h.s.handle_closed(c, None, h.at(2));
    assert_eq!(
        h.actions(),
        vec![Action::Reconnect {
            delay: ReconnectDelay::BackoffAtLeast(Duration::from_secs(10))
        }]
    );
    let next = h.s.scheduled_reconnect().expect("a reconnect is scheduled");
    assert!(next.delay >= Duration::from_secs(10), "{next:?}");
    assert!(next.delay <= Duration::from_millis(10_500), "{next:?}");
    assert_eq!(next.at, h.at(2) + next.delay);
}

#[test]
fn once_mode_close_before_login_ok_is_an_error_after_it_is_finished() {
    let mut c = json_config();
    c.once = true;
    let mut h = Harness::new(c.clone());
    h.actions();
    let (conn, _) = h.connect(0);
    h.s.handle_closed(conn, Some(CloseInfo::new(4003, "full")), h.at(1));
    assert_eq!(
        h.actions(),
        vec![Action::Stop(Fatal {
            exit: ExitHint::Failure,
            error: SessionError::ClosedBeforeStreaming {
                code: Some(CloseCode::TooManyConnections),
                reason: "full".into()
            }
        })]
    );

    let (mut h, conn) = Harness::streaming(c, OK_JSON);
    h.s.handle_closed(conn, None, h.at(1));
    assert_eq!(h.actions(), vec![Action::Finished]);
}

#[test]
fn connect_failure_backs_off_or_stops_when_running_once() {
    let mut h = Harness::new(config());
    h.actions();
    h.s.handle_connect_failed(h.at(0), "connection refused");
    assert_eq!(
        h.events(),
        vec![Event::Disconnected {
            conn: None,
            code: None,
            reason: "could not connect: connection refused".into()
        }]
    );
    assert_eq!(
        h.actions(),
        vec![Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
    // The retry fails too: same again.
    h.s.handle_connect_failed(h.at(1), "again");
    assert_eq!(h.names(), ["disconnected"]);
    assert_eq!(h.actions().len(), 1);
    // A failure report while no connection is being opened is ignored.
    let _ = h.s.handle_connected(h.at(2));
    h.events();
    h.transmits();
    h.s.handle_connect_failed(h.at(3), "stray");
    assert!(h.events().is_empty());
    assert!(h.actions().is_empty());

    let mut c = config();
    c.once = true;
    let mut h = Harness::new(c);
    h.actions();
    h.s.handle_connect_failed(h.at(0), "tls handshake failed");
    let actions = h.actions();
    let [Action::Stop(fatal)] = &actions[..] else {
        panic!("{actions:?}")
    };
    assert_eq!(fatal.exit, ExitHint::Failure);
    assert_eq!(
        fatal.error.to_string(),
        "could not connect: tls handshake failed"
    );
}

// ----- liveness -----------------------------------------------------------------------------

#[test]
fn idle_ping_then_dead_connection_then_resuming_reconnect() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    // Last frame at 1 ms (the login_ok).
    assert_eq!(h.s.poll_timeout(), Some(h.at(15_001)));
    h.s.handle_timeout(h.at(15_000));
    assert!(h.transmits().is_empty());
    h.s.handle_timeout(h.at(15_001));
    let tx = h.transmits();
    assert_eq!(tx.len(), 1);
    assert_eq!((tx[0].conn, &tx[0].frame), (c, &OutFrame::Ping));
    // One Ping per idle period; next deadline is the dead check at 30 s after the last frame.
    assert_eq!(h.s.poll_timeout(), Some(h.at(30_001)));
    h.s.handle_timeout(h.at(20_000));
    assert!(h.transmits().is_empty());
    h.s.handle_timeout(h.at(30_001));
    assert_eq!(
        h.events(),
        vec![Event::Disconnected {
            conn: Some(c),
            code: None,
            reason: "no frame for 30000 ms: connection considered dead".into()
        }]
    );
    assert_eq!(
        h.actions(),
        vec![
            Action::Close {
                conn: c,
                code: CloseCode::Normal
            },
            Action::Reconnect {
                delay: ReconnectDelay::Backoff
            }
        ]
    );
}

#[test]
fn any_frame_or_activity_counts_as_life() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, &data("scores", "1-0"), 10_000);
    assert_eq!(h.s.poll_timeout(), Some(h.at(25_000)));
    h.s.handle_activity(c, h.at(20_000)); // a Pong
    assert_eq!(h.s.poll_timeout(), Some(h.at(35_000)));
    h.s.handle_timeout(h.at(34_999));
    assert!(h.transmits().is_empty());
    assert!(h.actions().is_empty());
}

#[test]
fn backoff_resets_after_sixty_seconds_of_streaming() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    h.s.backoff_mut().next_delay(1.0);
    h.s.backoff_mut().next_delay(1.0);
    h.s.handle_closed(c1, None, h.at(30_000));
    let Some(Action::Reconnect { .. }) = h.s.poll_action() else {
        panic!()
    };
    let next = h.s.scheduled_reconnect().expect("scheduled");
    assert_eq!(next.attempt, 3, "30 s up: no reset");
    assert!(next.delay <= Duration::from_millis(2000), "{next:?}");
    h.s.handle_timeout(next.at);
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    let (c2, _) = h.connect(31_000);
    h.text(c2, OK_JSON, 31_001);
    h.s.handle_activity(c2, h.at(60_000));
    h.s.handle_closed(c2, None, h.at(91_001));
    h.actions();
    let next = h.s.scheduled_reconnect().expect("scheduled");
    assert_eq!(next.attempt, 1, "60 s of streaming reset it");
    assert!(next.delay <= Duration::from_millis(500), "{next:?}");
}

#[test]
fn the_session_owns_the_reconnect_deadline() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    h.s.handle_closed(c1, None, h.at(1_000));
    assert_eq!(
        h.actions(),
        vec![Action::Reconnect {
            delay: ReconnectDelay::Backoff
        }]
    );
    let next = h.s.scheduled_reconnect().expect("scheduled");
    assert_eq!(next.at, h.at(1_000) + next.delay);
    assert_eq!(h.s.poll_timeout(), Some(next.at));
    // Nothing is asked for before the deadline, however often the driver wakes.
    if next.delay > Duration::ZERO {
        h.s.handle_timeout(next.at - Duration::from_nanos(1));
        assert!(h.actions().is_empty());
    }
    h.s.handle_timeout(next.at);
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    assert_eq!(h.s.scheduled_reconnect(), None);
    assert_eq!(h.s.poll_timeout(), None);
    h.s.handle_timeout(next.at + Duration::from_secs(60));
    assert!(h.actions().is_empty(), "asked once");
}

#[test]
fn connect_failures_back_off_under_a_growing_capped_ceiling() {
    let mut h = Harness::new(json_config());
    assert_eq!(h.actions(), vec![Action::OpenConnection]);
    let mut now = h.t0;
    let mut delays = Vec::new();
    for attempt in 1..=10u32 {
        let ceiling = h.s.backoff().ceiling();
        h.s.handle_connect_failed(now, "refused");
        let _ = h.events();
        assert_eq!(
            h.actions(),
            vec![Action::Reconnect {
                delay: ReconnectDelay::Backoff
            }]
        );
        let next = h.s.scheduled_reconnect().expect("scheduled");
        assert_eq!(next.attempt, attempt);
        assert!(
            next.delay <= ceiling,
            "{attempt}: {next:?} over {ceiling:?}"
        );
        delays.push(next.delay);
        now = next.at;
        h.s.handle_timeout(now);
        assert_eq!(h.actions(), vec![Action::OpenConnection]);
    }
    assert_eq!(h.s.backoff().ceiling(), Duration::from_secs(30), "capped");

    // The same seed draws the same delays.
    let mut again = Harness::new(json_config());
    let _ = again.actions();
    let mut now = again.t0;
    for expected in delays {
        again.s.handle_connect_failed(now, "refused");
        let _ = (again.events(), again.actions());
        let next = again.s.scheduled_reconnect().expect("scheduled");
        assert_eq!(next.delay, expected);
        now = next.at;
        again.s.handle_timeout(now);
        let _ = again.actions();
    }
}

#[test]
fn another_seed_draws_other_delays() {
    let draw = |seed: u64| {
        let mut config = json_config();
        config.jitter_seed = seed;
        let mut h = Harness::new(config);
        let _ = h.actions();
        let mut now = h.t0;
        (0..6)
            .map(|_| {
                h.s.handle_connect_failed(now, "refused");
                let _ = (h.events(), h.actions());
                let next = h.s.scheduled_reconnect().expect("scheduled");
                now = next.at;
                h.s.handle_timeout(now);
                let _ = h.actions();
                next.delay
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(11), draw(11));
    assert_ne!(draw(11), draw(12));
}

// ----- misc ---------------------------------------------------------------------------------

#[test]
fn input_for_unknown_connections_is_ignored() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    let stranger = crate::ws::ConnId(77);
    h.text(stranger, &data("odds", "1-0"), 2);
    h.s.handle_closed(stranger, None, h.at(3));
    h.s.handle_activity(stranger, h.at(4));
    assert!(h.events().is_empty());
    assert!(h.actions().is_empty());
    assert_eq!(h.s.stats().frames_ignored, 1);
    assert_eq!(h.s.connection_phase(c), Some(ConnPhase::Streaming));
}

#[test]
fn unknown_control_is_kept_raw() {
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    h.text(c, r#"{"type":"maintenance","at":5}"#, 2);
    let ev = h.events();
    assert_eq!(
        ev,
        vec![Event::UnknownControl {
            raw: r#"{"type":"maintenance","at":5}"#.into()
        }]
    );
    assert_eq!(ev[0].name(), "unknown_control");
}

#[test]
fn unexpected_connect_closes_the_previous_connection() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    let (c2, _) = h.connect(5);
    let ev = h.events();
    assert_eq!(warnings(&ev), [WarningKind::UnexpectedConnect]);
    assert_eq!(
        h.actions(),
        vec![Action::Close {
            conn: c1,
            code: CloseCode::Normal
        }]
    );
    assert_eq!(h.s.connections(), vec![c2]);
}

#[test]
fn invalid_config_stops_at_once() {
    let mut c = WsConfig::new(oddsfeed_model::ApiKey::new(""));
    c.max_frame = 0;
    let mut h = Harness::new(c);
    assert_eq!(
        h.actions(),
        vec![Action::Stop(Fatal {
            exit: ExitHint::Failure,
            error: SessionError::Config("api_key is empty; max_frame is 0".into())
        })]
    );
    assert!(h.s.is_stopped());
    let conn = h.s.handle_connected(h.at(0));
    assert_eq!(
        h.actions(),
        vec![Action::Close {
            conn,
            code: CloseCode::Normal
        }]
    );
    assert!(h.transmits().is_empty(), "no login after a stop");
}

#[test]
fn event_names_match_the_cli_contract() {
    let (mut h, c1) = Harness::streaming(json_config(), OK_JSON);
    h.text(c1, r#"{"type":"reconnect"}"#, 2);
    h.text(c1, &data("scores", "1-0"), 3);
    h.s.handle_closed(c1, Some(CloseInfo::new(1001, "")), h.at(4));
    let (c2, _) = h.connect(5);
    h.text(c2, &login_ok("zstd", "e1", &[]), 6);
    h.text(c2, r#"{"type":"resume_complete"}"#, 7);
    h.text(c2, r#"{"type":"error","code":"x"}"#, 8);
    h.text(c2, "{oops", 9);
    assert_eq!(
        h.names(),
        [
            "reconnect_requested",
            "data",
            "disconnected",
            "connected",
            "login_ok",
            "downgraded",
            "snapshot_required",
            "resume_complete",
            "server_error",
            "decode_error"
        ]
    );
}

#[test]
fn channels_past_the_tracking_limits_are_delivered_without_cursors() {
    use crate::ws::{MAX_CHANNEL_NAME, MAX_TRACKED_CHANNELS};
    let (mut h, c) = Harness::streaming(json_config(), OK_JSON);
    let long = "x".repeat(MAX_CHANNEL_NAME + 1);
    h.text(c, &data(&long, "1-0"), 2);
    h.text(c, &data(&long, "1-0"), 3);
    let ev = h.events();
    assert_eq!(Harness::data_of(&ev).len(), 2, "no dedupe without a cursor");
    assert_eq!(
        warnings(&ev),
        [WarningKind::UntrackedChannel, WarningKind::UntrackedChannel]
    );
    assert!(h.s.delivered_cursors().is_empty());

    for i in 0..MAX_TRACKED_CHANNELS {
        h.text(c, &data(&format!("ch{i}"), "1-0"), 4);
    }
    h.text(c, &data("one-too-many", "1-0"), 5);
    h.text(c, &data("ch0", "2-0"), 6);
    let ev = h.events();
    assert_eq!(warnings(&ev), [WarningKind::UntrackedChannel]);
    assert_eq!(h.s.delivered_cursors().len(), MAX_TRACKED_CHANNELS);
    assert_eq!(h.s.delivered_cursors().get("ch0"), Some(&id("2-0")));
    assert_eq!(
        ev.iter()
            .find(|e| matches!(e, Event::Warning { .. }))
            .map(Event::name),
        Some("untracked_channel")
    );
}

#[test]
fn config_validation_lists_every_problem() {
    assert_eq!(config().validate(), Ok(()));
    let mut c = config();
    c.channels = Some(vec![]);
    c.max_decompressed = 0;
    c.login_timeout = Duration::ZERO;
    c.ping_after_idle = Duration::ZERO;
    c.dead_after = Duration::from_secs(90_000);
    c.too_many_connections_floor = Duration::from_secs(90_000);
    assert_eq!(
        c.validate(),
        Err(SessionError::Config(
            "channels is an empty list (use None for all channels); max_decompressed is 0; \
             login_timeout is 0; ping_after_idle is 0; dead_after is longer than one day; \
             too_many_connections_floor is longer than one day"
                .into()
        ))
    );
}
