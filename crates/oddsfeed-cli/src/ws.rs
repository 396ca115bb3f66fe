//! `oddsfeed ws`: consume an OddsPapi-style WebSocket feed.
//!
//! stdout: each data message's JSON as received (`DataMessage.raw`), one per line, in feed order.
//! stderr: the session's events (human or JSONL). `--state`: cursors of the messages printed,
//! saved atomically at most every 200 ms (always after flushing stdout, so the file never claims
//! a message that is still in the stdout buffer) and before exit.

use std::io;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use oddsfeed::model::{ApiKey, ReceiveType};
use oddsfeed::state::FileStore;
use oddsfeed::ws::{ClientEvent, TlsMode, TryRecvError, WsClient, WsClientConfig, WsFilters};
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::args::{ReceiveTypeArg, WsArgs};
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};

/// Least time between two saves of the `--state` file (CLI.md).
const SAVE_INTERVAL: Duration = Duration::from_millis(200);

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

fn build_config(args: &WsArgs) -> Result<WsClientConfig, oddsfeed::ws::ClientError> {
    let filters = WsFilters {
        sport_ids: args.sport_ids.clone(),
        tournament_ids: args.tournament_ids.clone(),
        fixture_ids: args.fixture_ids.clone(),
        bookmakers: args.bookmakers.clone(),
        ..WsFilters::default()
    };
    let mut builder = WsClientConfig::builder(args.url.clone(), ApiKey::new(args.api_key.clone()))
        .receive_type(receive_type(args.receive_type))
        .filters(filters)
        .once(args.once)
        .max_frame(args.max_frame)
        .max_decompressed(args.max_decompressed)
        // This command saves by itself, right after flushing stdout.
        .save_interval(None);
    if let Some(channels) = &args.channels {
        builder = builder.channels(channels.iter().cloned());
    }
    if args.insecure {
        builder = builder.tls(TlsMode::InsecureNoVerify);
    }
    if let Some(path) = &args.state {
        builder = builder.store(FileStore::new(path.clone()));
    }
    builder.build()
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
        Err(e) => {
            log.fatal(&e.to_string());
            return 1;
        }
    };
    let mut client = match WsClient::connect(config) {
        Ok(client) => client,
        Err(e) => {
            log.fatal(&e.to_string());
            return u8::try_from(e.exit_code()).unwrap_or(1);
        }
    };
    let mut out = DataOut::new();
    let signals = Signals::install();
    let end = pump(&mut client, &mut out, &log, args.limit, &signals).await;
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
) -> End {
    if limit == Some(0) {
        return End::Clean(0);
    }
    let mut saver = Saver::new();
    loop {
        if let Some(code) = signals.received() {
            log.emit("interrupted", json!({ "exitCode": code }));
            return End::Clean(code);
        }
        let event = match client.try_next() {
            Ok(event) => event,
            Err(TryRecvError::Empty) => {
                // The feed is idle: flush what is buffered, then wait for more.
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                if let Err(end) = saver.save_if_due(client, log) {
                    return end;
                }
                let next = tokio::select! {
                    event = client.next() => event,
                    () = sleep_until_opt(saver.due_at()) => {
                        if let Err(end) = saver.save_if_due(client, log) {
                            return end;
                        }
                        continue;
                    }
                    () = signals.wait() => continue,
                };
                match next {
                    Some(event) => event,
                    None => return ended_without_reason(log),
                }
            }
            Err(TryRecvError::Disconnected) => return ended_without_reason(log),
        };
        match event {
            ClientEvent::Data(_) => {
                let line = oddsfeed::jsonl::ws_data_line(&event).unwrap_or_default();
                if let Err(e) = out.line(line) {
                    return stdout_failed(log, &e);
                }
                saver.touch();
                if limit.is_some_and(|n| out.lines() >= n) {
                    return End::Clean(0);
                }
                if saver.is_due() {
                    if let Err(e) = out.flush() {
                        return stdout_failed(log, &e);
                    }
                    if let Err(end) = saver.save_if_due(client, log) {
                        return end;
                    }
                }
            }
            ClientEvent::Fatal(error) => {
                log.fatal(&error.to_string());
                return End::Clean(u8::try_from(error.exit_code()).unwrap_or(1));
            }
            ClientEvent::Finished => {
                emit_event(log, &ClientEvent::Finished);
                return End::Clean(0);
            }
            other => {
                saver.touch();
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

/// SIGINT / SIGTERM: stop cleanly (flush stdout, save the state) with exit 130 / 143.
pub(crate) struct Signals {
    code: Arc<AtomicU8>,
    notify: Arc<Notify>,
}

impl Signals {
    /// Starts listening (needs the tokio runtime). If the handlers cannot be installed, signals
    /// keep their default effect.
    pub(crate) fn install() -> Self {
        let code = Arc::new(AtomicU8::new(0));
        let notify = Arc::new(Notify::new());
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                let (code, notify) = (Arc::clone(&code), Arc::clone(&notify));
                tokio::spawn(async move {
                    let received = tokio::select! {
                        _ = int.recv() => 130,
                        _ = term.recv() => 143,
                    };
                    code.store(received, Ordering::SeqCst);
                    notify.notify_one();
                });
            }
        }
        Self { code, notify }
    }

    /// The exit code of the signal received, if one was.
    pub(crate) fn received(&self) -> Option<u8> {
        match self.code.load(Ordering::SeqCst) {
            0 => None,
            code => Some(code),
        }
    }

    /// Waits until a signal arrives.
    pub(crate) async fn wait(&self) {
        if self.received().is_none() {
            self.notify.notified().await;
        }
    }
}

/// The `--state` cadence: at most one save per [`SAVE_INTERVAL`], only when something changed.
struct Saver {
    last: Instant,
    dirty: bool,
}

impl Saver {
    fn new() -> Self {
        Self {
            last: Instant::now(),
            dirty: false,
        }
    }

    fn touch(&mut self) {
        self.dirty = true;
    }

    fn due_at(&self) -> Option<Instant> {
        self.dirty.then_some(self.last + SAVE_INTERVAL)
    }

    fn is_due(&self) -> bool {
        self.due_at().is_some_and(|at| Instant::now() >= at)
    }

    /// Saves when due. The caller has flushed stdout first.
    fn save_if_due(&mut self, client: &mut WsClient, log: &EventLog) -> Result<(), End> {
        if !self.is_due() {
            return Ok(());
        }
        self.last = Instant::now();
        self.dirty = false;
        client.save_state().map_err(|e| {
            log.fatal(&e.to_string());
            End::Unsaved(1)
        })
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Writes one event line to stderr (data events are not events: they go to stdout).
pub(crate) fn emit_event(log: &EventLog, event: &ClientEvent) {
    if let Some((name, fields)) = event_fields(event) {
        log.emit(name, Value::Object(fields));
    }
}

/// The CLI.md name and fields of an event; `None` for data (shared with the Python package
/// through the facade).
pub(crate) fn event_fields(event: &ClientEvent) -> Option<(&'static str, Map<String, Value>)> {
    oddsfeed::jsonl::ws_event_fields(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed::ws::{DecodeError, DecodeReason, Event};

    #[test]
    fn decode_error_fields_name_reason_channel_and_dict() {
        let error = DecodeError::new(
            DecodeReason::UnknownDict,
            "unknown zstd dictionary id 4242",
            b"x",
        )
        .with_dict_id(Some(4242));
        let event = ClientEvent::Session(Event::DecodeError(error));
        let (name, fields) = event_fields(&event).unwrap_or(("none", Map::new()));
        assert_eq!(name, "decode_error");
        assert_eq!(
            Value::Object(fields),
            json!({"reason":"unknown_dict","dictId":4242,"detail":"unknown zstd dictionary id 4242","len":1})
        );
    }

    #[test]
    fn snapshot_required_says_who_raised_it() {
        let event = ClientEvent::Session(Event::SnapshotRequired {
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
        let event = ClientEvent::Backoff {
            delay_ms: 420,
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
