//! `oddsfeed relay`: one feed connection published into NATS JetStream (docs/CLI.md).
//!
//! stdout stays empty unless `--echo` is given (then each published data line); stderr carries
//! the feed's events and the relay's own (`nats_connected`, `nats_disconnected`,
//! `nats_backoff`). SIGINT and SIGTERM stop it cleanly: outstanding acks are awaited and the
//! cursors saved, then exit 0. `--metrics-addr` and `--stats-secs` count the feed connection as
//! `ws` does, across the new client each NATS outage starts; `messages` are the data messages
//! handed to JetStream.

use std::process::ExitCode;
use std::sync::Arc;

use oddsfeed::stats::{FeedKind, FeedMetrics};
use oddsfeed_nats::{Notice, Relay, RelayConfig};
use serde_json::Value;

use crate::args::RelayArgs;
use crate::ops::{Ops, Signals, sleep_until_opt};
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};
use crate::ws::feed_builder;

/// Runs the subcommand.
pub fn run(args: RelayArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    match runtime::block_on_one_thread(run_relay(args, log), Shutdown::Brief) {
        Ok(code) => ExitCode::from(code),
        Err(reason) => {
            log.fatal(&reason);
            ExitCode::from(1)
        }
    }
}

async fn run_relay(args: RelayArgs, log: EventLog) -> u8 {
    let metrics = Arc::new(FeedMetrics::new(FeedKind::Ws));
    let builder = match feed_builder(&args.feed) {
        Ok(builder) => builder.metrics(Arc::clone(&metrics)),
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let config = match RelayConfig::new(builder, args.nats.clone()) {
        Ok(config) => config
            .stream(args.stream.clone())
            .subject_prefix(args.subject_prefix.clone())
            .max_in_flight(args.max_in_flight)
            .limit(args.limit),
        Err(e) => {
            log.fatal(&e.to_string());
            return 1;
        }
    };
    let signals = Signals::install();
    let mut ops = match Ops::start(&args.ops, metrics, &log).await {
        Ok(ops) => ops,
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let mut out = args.echo.then(DataOut::new);
    let mut stdout_ok = true;
    let notice = |notice: Notice<'_>| match notice {
        Notice::Event { name, object } => {
            let mut fields = match object {
                Value::Object(map) => map.clone(),
                _ => serde_json::Map::new(),
            };
            fields.remove("event");
            log.emit(name, Value::Object(fields));
            if let Some(out) = out.as_mut() {
                stdout_ok &= out.flush().is_ok();
            }
        }
        Notice::Published { line } => {
            if let Some(out) = out.as_mut() {
                stdout_ok &= out.line(line).is_ok();
            }
        }
        _ => {}
    };
    let stats = async {
        loop {
            sleep_until_opt(ops.due_at()).await;
            ops.tick(&log);
        }
    };
    let result = tokio::select! {
        result = Relay::new(config).run(notice, signals.wait()) => result,
        never = stats => never,
    };
    if let Some(out) = out.as_mut() {
        let _ = out.flush();
    }
    match result {
        Ok(()) => {
            ops.finish(&log);
            u8::from(!stdout_ok)
        }
        Err(e) => {
            log.fatal(&e.to_string());
            u8::try_from(e.exit_code()).unwrap_or(1)
        }
    }
}
