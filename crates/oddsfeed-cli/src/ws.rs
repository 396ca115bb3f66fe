//! `oddsfeed ws`: consume an OddsPapi-style WebSocket feed.
//!
//! stdout: each data message's JSON as received (`DataMessage.raw`), one per line, in feed order.
//! stderr: the session's events (human or JSONL). `--state`: cursors of the messages printed,
//! saved atomically at most every 200 ms (always after flushing stdout, so the file never claims
//! a message that is still in the stdout buffer) and before exit. SIGINT and SIGTERM end the run
//! the same way (exit 0), also while connecting or backing off.

use std::io;
use std::process::ExitCode;

use oddsfeed::model::ReceiveType;
use oddsfeed::state::FileStore;
use oddsfeed::ws::{TlsMode, WsClient, WsClientConfig, WsClientConfigBuilder, WsEvent, WsFilters};
use serde_json::{Map, Value};

use crate::args::{FeedArgs, ReceiveTypeArg, WsArgs};
use crate::ops::{Ops, Signals, sleep_until_opt};
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};

/// Runs the subcommand.
pub fn run(args: WsArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    // Do not wait long for background close handshakes.
    match runtime::block_on(run_client(args, log), Shutdown::Brief) {
        Ok(code) => ExitCode::from(code),
        Err(reason) => {
            log.fatal(&reason);
            ExitCode::from(1)
        }
    }
}

/// The model's receive type for a command-line value.
pub(crate) fn receive_type(arg: ReceiveTypeArg) -> ReceiveType {
    match arg {
        ReceiveTypeArg::Json => ReceiveType::Json,
        ReceiveTypeArg::Binary => ReceiveType::Binary,
        ReceiveTypeArg::Zstd => ReceiveType::Zstd,
        ReceiveTypeArg::ZstdDict => ReceiveType::ZstdDict,
    }
}

/// The client settings `--url`, the key, the channels, the receive type, the filters, the size
/// limits and `--insecure` give (shared by `ws` and `relay`).
pub(crate) fn feed_builder(feed: &FeedArgs) -> Result<WsClientConfigBuilder, String> {
    let api_key = feed.key.resolve()?;
    let filters = WsFilters {
        sport_ids: feed.sport_ids.clone(),
        tournament_ids: feed.tournament_ids.clone(),
        fixture_ids: feed.fixture_ids.clone(),
        bookmakers: feed.bookmakers.clone(),
        ..WsFilters::default()
    };
    let mut builder = WsClientConfig::builder(feed.url.clone(), api_key)
        .receive_type(receive_type(feed.receive_type))
        .filters(filters)
        .max_frame(feed.max_frame)
        .max_decompressed(feed.max_decompressed);
    if let Some(channels) = &feed.channels {
        builder = builder.channels(channels.iter().cloned());
    }
    if feed.insecure {
        builder = builder.tls(TlsMode::InsecureNoVerify);
    }
    Ok(builder)
}

fn build_config(args: &WsArgs) -> Result<WsClientConfig, String> {
    let mut builder = feed_builder(&args.feed)?
        .once(args.once)
        // The client's own cadence (docs/CLI.md: at most every 200 ms): `next()` saves when
        // due, and `pump` flushes stdout before it calls `next()` or, while the feed is busy,
        // before it saves on `save_due()`, so that what is saved was printed.
        .save_interval(Some(oddsfeed::ws::DEFAULT_SAVE_INTERVAL))
        // The book is applied as events are taken, so it holds exactly what was printed.
        .keep_book(args.book_out.is_some());
    if let Some(path) = &args.state {
        builder = builder.store(FileStore::new(path.clone()));
    }
    if let Some(path) = &args.record {
        builder = builder.record(path.clone());
    }
    builder.build().map_err(|e| e.to_string())
}

/// How the run ended.
enum End {
    /// Exit with this code, after flushing stdout and saving the state.
    Clean(u8),
    /// Exit with this code without saving the state (stdout failed: what was printed is unknown).
    Unsaved(u8),
}

async fn run_client(args: WsArgs, log: EventLog) -> u8 {
    let config = match build_config(&args) {
        Ok(config) => config,
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let mut client = match WsClient::start(config) {
        Ok(client) => client,
        Err(e) => {
            log.fatal(&e.to_string());
            return crate::exit::ws_code(&e);
        }
    };
    let signals = Signals::install();
    let mut ops = match Ops::start(&args.ops, client.metrics(), &log).await {
        Ok(ops) => ops,
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let mut out = DataOut::new();
    let end = pump(&mut client, &mut out, &log, args.limit, &signals, &mut ops).await;
    if let (Some(path), Some(book)) = (&args.book_out, client.book())
        && let Err(e) = crate::output::write_book(path, &book.dump())
    {
        log.fatal(&format!("cannot write --book-out {}: {e}", path.display()));
        return 1;
    }
    if args.report_latency
        && let Some(latency) = client.delivery_latency()
    {
        log.emit("latency", serde_json::to_value(latency).unwrap_or_default());
    }
    match end {
        End::Clean(code) => {
            if let Err(e) = out.flush() {
                log.fatal(&format!("cannot write to stdout: {e}"));
                return 1;
            }
            if let Err(e) = client.close().await {
                log.fatal(&e.to_string());
                return 1;
            }
            if code == 0 {
                ops.finish(&log);
            }
            code
        }
        End::Unsaved(code) => code,
    }
}

/// Moves events from the client to stdout/stderr until the run ends.
async fn pump(
    client: &mut WsClient,
    out: &mut DataOut,
    log: &EventLog,
    limit: Option<u64>,
    signals: &Signals,
    ops: &mut Ops,
) -> End {
    if limit == Some(0) {
        return End::Clean(0);
    }
    loop {
        if signals.received() {
            Signals::report(log);
            return End::Clean(0);
        }
        ops.tick(log);
        let event = match client.try_next() {
            Some(event) => event,
            None => {
                // The feed is idle: flush what is buffered, then wait for more (`next` saves
                // the cursors when due, everything taken so far having been flushed).
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                let next = tokio::select! {
                    event = client.next() => event,
                    () = signals.wait() => continue,
                    () = sleep_until_opt(ops.due_at()) => continue,
                };
                match next {
                    Some(event) => event,
                    None => return ended_without_reason(log),
                }
            }
        };
        match event {
            WsEvent::Data(_) => {
                if let Err(e) = print_event(out, log, &event) {
                    return stdout_failed(log, &e);
                }
                if limit.is_some_and(|n| out.lines() >= n) {
                    return End::Clean(0);
                }
                if client.save_due() {
                    if let Err(e) = out.flush() {
                        return stdout_failed(log, &e);
                    }
                    if let Err(e) = client.save_state().await {
                        log.fatal(&e.to_string());
                        return End::Unsaved(1);
                    }
                }
            }
            WsEvent::Fatal(error) => {
                log.fatal(&error.to_string());
                return End::Clean(crate::exit::ws_code(&error));
            }
            WsEvent::Finished => {
                emit_event(log, &WsEvent::Finished);
                return End::Clean(0);
            }
            other => {
                emit_event(log, &other);
            }
        }
    }
}

fn stdout_failed(log: &EventLog, e: &io::Error) -> End {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // The reader went away (`| head`): nothing more to say to it.
        return End::Unsaved(0);
    }
    log.fatal(&format!("cannot write to stdout: {e}"));
    End::Unsaved(1)
}

fn ended_without_reason(log: &EventLog) -> End {
    log.fatal("the connection driver stopped unexpectedly");
    End::Clean(1)
}

/// Prints one event as `oddsfeed ws` does: a data message's JSON, as received, as one stdout
/// line; anything else as one stderr event line. Used by `ws` and `replay`.
pub(crate) fn print_event(out: &mut DataOut, log: &EventLog, event: &WsEvent) -> io::Result<()> {
    match event {
        WsEvent::Data(msg) => out.line(&msg.raw),
        other => {
            emit_event(log, other);
            Ok(())
        }
    }
}

/// Writes one event line to stderr (data events are not events: they go to stdout).
pub(crate) fn emit_event(log: &EventLog, event: &WsEvent) {
    if let Some((name, fields)) = event_fields(event) {
        log.emit(name, Value::Object(fields));
    }
}

/// The docs/CLI.md name and fields of an event; `None` for data.
pub(crate) fn event_fields(event: &WsEvent) -> Option<(&'static str, Map<String, Value>)> {
    // The facade's mapping (shared with the relay and the Python package), plus what only the
    // command line knows: the exit code of a fatal error and the details of a torn recording.
    let mut fields = event.json_fields()?;
    match event {
        WsEvent::Fatal(error) => {
            fields.insert("exitCode".to_owned(), crate::exit::ws_code(error).into());
        }
        WsEvent::RecordingTruncated(t) => truncation_fields(t, &mut fields),
        _ => {}
    }
    Some((event.name(), fields))
}

/// The fields of a `recording_truncated` event: where the ignored tail starts, how long it is,
/// and why.
pub(crate) fn truncation_fields(t: &oddsfeed::recording::Truncation, f: &mut Map<String, Value>) {
    f.insert("offset".to_owned(), t.offset.into());
    f.insert("ignored_bytes".to_owned(), t.ignored_bytes.into());
    f.insert("reason".to_owned(), t.reason.as_str().into());
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed::ws::Event;
    use oddsfeed::ws::{DecodeError, DecodeErrorKind};
    use oddsfeed_zstd::ZstdError;
    use serde_json::json;
    use std::time::Duration;

    #[test]
    fn decode_error_fields_name_reason_channel_and_dict() {
        let error = DecodeError::new(DecodeErrorKind::UnknownDict, b"x")
            .with_source(ZstdError::UnknownDict {
                id: 4242,
                known: Vec::new(),
            })
            .with_dict_id(Some(4242));
        let event = WsEvent::Session(Event::DecodeError(error));
        let (name, fields) = event_fields(&event).unwrap_or(("none", Map::new()));
        assert_eq!(name, "decode_error");
        assert_eq!(
            Value::Object(fields),
            json!({"reason":"unknown_dict","dictId":4242,"detail":"unknown zstd dictionary id 4242 (known: none)","len":1})
        );
    }

    #[test]
    fn snapshot_required_says_who_raised_it() {
        let event = WsEvent::Session(Event::SnapshotRequired {
            reason: "not_replayable".into(),
            channels: vec!["odds".into(), "clocks".into()],
            raised_by_client: true,
        });
        let (name, fields) = event_fields(&event).unwrap_or(("none", Map::new()));
        assert_eq!(name, "snapshot_required");
        assert_eq!(
            Value::Object(fields),
            json!({"reason":"not_replayable","channels":"odds,clocks","raisedBy":"client"})
        );
    }

    #[test]
    fn backoff_and_data() {
        let event = WsEvent::Backoff {
            delay: Duration::from_millis(420),
            attempt: 2,
        };
        let (name, fields) = event_fields(&event).unwrap_or(("none", Map::new()));
        assert_eq!(name, "backoff");
        assert_eq!(Value::Object(fields), json!({"delay_ms":420,"attempt":2}));
    }

    #[test]
    fn receive_types_map_one_to_one() {
        assert_eq!(receive_type(ReceiveTypeArg::Json), ReceiveType::Json);
        assert_eq!(receive_type(ReceiveTypeArg::Binary), ReceiveType::Binary);
        assert_eq!(receive_type(ReceiveTypeArg::Zstd), ReceiveType::Zstd);
        assert_eq!(
            receive_type(ReceiveTypeArg::ZstdDict),
            ReceiveType::ZstdDict
        );
    }
}
