//! `oddsfeed relay`: one feed connection published into NATS JetStream (docs/CLI.md).
//!
//! stdout stays empty unless `--echo` is given (then each published data line); stderr carries
//! the feed's events and the relay's own (`nats_connected`, `nats_disconnected`,
//! `nats_backoff`). SIGINT and SIGTERM stop it cleanly: outstanding acks are awaited and the
//! cursors saved, then exit 0.

use std::path::Path;
use std::process::ExitCode;

use oddsfeed::model::ApiKey;
use oddsfeed::ws::{TlsMode, WsClientConfig, WsClientConfigBuilder, WsFilters};
use oddsfeed_nats::{Notice, Relay, RelayConfig};
use serde_json::Value;

use crate::args::RelayArgs;
use crate::ops::Signals;
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};
use crate::ws::receive_type;

/// Runs the subcommand.
pub fn run(args: RelayArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    match runtime::block_on(run_relay(args, log), Shutdown::Brief) {
        Ok(code) => ExitCode::from(code),
        Err(reason) => {
            log.fatal(&reason);
            ExitCode::from(1)
        }
    }
}

/// The API key from `--api-key` (or the environment) or the first line of `--api-key-file`.
pub(crate) fn api_key(key: Option<&str>, file: Option<&Path>) -> Result<ApiKey, String> {
    match (key, file) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
            let key = text.lines().next().unwrap_or_default().trim();
            if key.is_empty() {
                return Err(format!("the API key file {} is empty", path.display()));
            }
            Ok(ApiKey::new(key))
        }
        (Some(key), None) => Ok(ApiKey::new(key)),
        (None, None) => {
            Err("no API key: give --api-key, --api-key-file or ODDSPAPI_API_KEY".into())
        }
    }
}

fn feed_builder(args: &RelayArgs, key: ApiKey) -> WsClientConfigBuilder {
    let filters = WsFilters {
        sport_ids: args.sport_ids.clone(),
        tournament_ids: args.tournament_ids.clone(),
        fixture_ids: args.fixture_ids.clone(),
        bookmakers: args.bookmakers.clone(),
        ..WsFilters::default()
    };
    let mut builder = WsClientConfig::builder(args.url.clone(), key)
        .receive_type(receive_type(args.receive_type))
        .filters(filters)
        .max_frame(args.max_frame)
        .max_decompressed(args.max_decompressed);
    if let Some(channels) = &args.channels {
        builder = builder.channels(channels.iter().cloned());
    }
    if args.insecure {
        builder = builder.tls(TlsMode::InsecureNoVerify);
    }
    builder
}

async fn run_relay(args: RelayArgs, log: EventLog) -> u8 {
    let key = match api_key(args.api_key.as_deref(), args.api_key_file.as_deref()) {
        Ok(key) => key,
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let config = match RelayConfig::new(feed_builder(&args, key), args.nats.clone()) {
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
    let result = Relay::new(config).run(notice, signals.wait()).await;
    if let Some(out) = out.as_mut() {
        let _ = out.flush();
    }
    match result {
        Ok(()) => u8::from(!stdout_ok),
        Err(e) => {
            log.fatal(&e.to_string());
            u8::try_from(e.exit_code()).unwrap_or(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_gives_its_first_line_trimmed() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("key");
        std::fs::write(&path, "  secret-key \nsecond line\n").expect("write");
        let key = api_key(Some("ignored"), Some(&path)).expect("key");
        assert_eq!(key.expose(), "secret-key");
        std::fs::write(&path, "\n").expect("write");
        assert!(api_key(None, Some(&path)).is_err());
        assert!(api_key(None, None).is_err());
    }
}
