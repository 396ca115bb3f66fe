//! `oddsfeed img`: consume an IMG Arena-style newline-JSON feed over SSH or TCP.
//!
//! stdout: every JSON object the server sends, exactly as received, one per line, in order
//! (responses, pushes, disconnect notices, unknown objects); heartbeat pushes only with
//! `--heartbeats`. `--limit N` counts these lines. stderr: the events (human or JSONL) and,
//! when the run fails, one line saying why.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use oddsfeed::img::{HostKeyCheck, ImgClient, ImgClientConfig, ImgEvent, SshSettings, Transport};
use oddsfeed::model::img::Request;
use serde_json::{Map, Value, json};

use crate::args::ImgArgs;
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};

/// Runs the subcommand.
pub fn run(args: ImgArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    let config = match build_config(&args) {
        Ok(config) => config,
        Err(usage) => {
            eprintln!("oddsfeed img: {usage}");
            return ExitCode::from(2);
        }
    };
    if args.insecure_accept_host_key {
        // As `ws --insecure` does for TLS: the user asked for it, but it must not pass silently.
        log.emit(
            "insecure_host_key",
            json!({
                "detail": "SSH host key verification is disabled: anyone on the path can \
                           impersonate the server and read the feed"
            }),
        );
    }
    let client = run_client(config, &log, args.heartbeats, args.limit);
    match runtime::block_on(client, Shutdown::Brief) {
        Ok(code) => ExitCode::from(code),
        Err(reason) => {
            log.fatal(&reason);
            ExitCode::from(1)
        }
    }
}

/// The client configuration for the arguments, or a usage error (exit 2).
fn build_config(args: &ImgArgs) -> Result<ImgClientConfig, String> {
    let transport = match (args.ssh, args.tcp) {
        (true, false) => {
            let (Some(user), Some(identity)) = (&args.user, &args.identity) else {
                return Err("--ssh needs --user and --identity".to_owned());
            };
            let host_key_check = if args.insecure_accept_host_key {
                HostKeyCheck::InsecureAcceptAny
            } else {
                HostKeyCheck::KnownHosts(match &args.known_hosts {
                    Some(path) => path.clone(),
                    None => default_known_hosts()?,
                })
            };
            Transport::Ssh(SshSettings {
                addr: args.addr.clone(),
                user: user.clone(),
                identity: identity.clone(),
                host_key_check,
            })
        }
        (false, true) => Transport::Tcp {
            addr: args.addr.clone(),
        },
        _ => return Err("choose exactly one of --ssh and --tcp".to_owned()),
    };
    let mut config = ImgClientConfig::new(transport)
        .with_include_finished(args.include_finished)
        .with_once(args.once);
    for (index, text) in args.requests.iter().enumerate() {
        config = config.with_request(
            parse_request(text).map_err(|e| format!("--request #{}: {e}", index + 1))?,
        );
    }
    config.validate().map_err(|e| e.to_string())?;
    Ok(config)
}

/// `~/.ssh/known_hosts`.
fn default_known_hosts() -> Result<PathBuf, String> {
    match std::env::var_os("HOME") {
        Some(home) if !home.is_empty() => Ok(PathBuf::from(home).join(".ssh").join("known_hosts")),
        _ => Err("HOME is not set: give --known-hosts FILE".to_owned()),
    }
}

/// A `--request` value: a JSON object with a string `request` (and optional `msg`, `request_id`).
fn parse_request(text: &str) -> Result<Request, String> {
    oddsfeed::jsonl::img_request(text)
}

async fn run_client(
    config: ImgClientConfig,
    log: &EventLog,
    heartbeats: bool,
    limit: Option<u64>,
) -> u8 {
    if limit == Some(0) {
        return 0;
    }
    let mut client = ImgClient::start(config);
    let mut out = DataOut::new();
    let code = pump(&mut client, &mut out, log, heartbeats, limit).await;
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        log.fatal(&format!("cannot write to stdout: {e}"));
        return 1;
    }
    code
}

/// Moves items from the client to stdout/stderr until the run ends; returns the exit code.
async fn pump(
    client: &mut ImgClient,
    out: &mut DataOut,
    log: &EventLog,
    heartbeats: bool,
    limit: Option<u64>,
) -> u8 {
    loop {
        let item = match client.try_next() {
            Some(item) => Some(item),
            None => {
                // The feed is idle: flush what is buffered, then wait.
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                tokio::select! {
                    item = client.next() => item,
                    _ = tokio::signal::ctrl_c() => {
                        log.emit("interrupted", json!({ "exitCode": 130 }));
                        return 130;
                    }
                }
            }
        };
        let event = match item {
            None => {
                log.fatal("the connection driver stopped unexpectedly");
                return 1;
            }
            Some(Err(error)) => {
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                log.fatal(&error.to_string());
                return error.exit_code();
            }
            Some(Ok(event)) => event,
        };
        if let Some(raw) = oddsfeed::jsonl::img_data_line(&event, heartbeats) {
            if let Err(e) = out.line(raw) {
                return stdout_failed(log, &e);
            }
            if limit.is_some_and(|n| out.lines() >= n) {
                return 0;
            }
        }
        if let Some((name, fields)) = event_fields(&event) {
            log.emit(name, Value::Object(fields));
        }
        if matches!(event, ImgEvent::Finished) {
            return 0;
        }
    }
}

fn stdout_failed(log: &EventLog, e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // The reader went away (`| head`): nothing more to say to it.
        return 0;
    }
    log.fatal(&format!("cannot write to stdout: {e}"));
    1
}

/// The CLI.md name and fields of an item for stderr; `None` for pure data (pushes, unknown
/// objects), which only go to stdout (shared with the Python package through the facade).
fn event_fields(event: &ImgEvent) -> Option<(&'static str, Map<String, Value>)> {
    oddsfeed::jsonl::img_event_fields(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed::session::img::{DisconnectedReason, Event};
    use std::time::Duration;

    #[test]
    fn requests_must_be_objects_with_a_request_name() {
        let ok = parse_request(r#"{"request":"subscribe","msg":{"event_ids":["ev.1"]}}"#)
            .expect("valid");
        assert_eq!(ok.request, "subscribe");
        assert_eq!(ok.request_id, None);
        assert_eq!(
            parse_request("[1]"),
            Err("expected a JSON object with a string \"request\"".to_owned())
        );
        assert_eq!(
            parse_request(r#"{"request":"x","msg":[1]}"#),
            Err("\"msg\" must be a JSON object".to_owned())
        );
        assert_eq!(
            parse_request(r#"{"request":"x","request_id":7}"#),
            Err("\"request_id\" must be a string".to_owned())
        );
        assert!(parse_request("{").is_err_and(|e| e.starts_with("not JSON")));
    }

    #[test]
    fn events_carry_the_cli_names_and_fields() {
        let (name, fields) = event_fields(&ImgEvent::Backoff {
            delay: Duration::from_millis(1500),
            attempt: 2,
        })
        .expect("an event");
        assert_eq!(name, "backoff");
        assert_eq!(
            Value::Object(fields),
            json!({"delay_ms": 1500, "attempt": 2})
        );

        let (name, fields) = event_fields(&ImgEvent::Session(Event::Disconnected {
            reason: DisconnectedReason::Dead {
                silent_for: Duration::from_secs(10),
            },
        }))
        .expect("an event");
        assert_eq!(name, "disconnected");
        assert_eq!(
            Value::Object(fields),
            json!({"code": "dead", "reason": "no bytes for 10000 ms: connection considered dead"})
        );

        let (name, fields) = event_fields(&ImgEvent::Session(Event::SessionInitialized {
            session_id: Some("s1".into()),
            reconnect: true,
        }))
        .expect("an event");
        assert_eq!(name, "session_initialized");
        assert_eq!(
            Value::Object(fields),
            json!({"session_id": "s1", "reconnect": true})
        );
    }

    #[test]
    fn exactly_one_transport_is_required() {
        use clap::Parser;
        let parse = |argv: &[&str]| {
            let cli = crate::args::Cli::try_parse_from(argv).expect("parses");
            match cli.command {
                crate::args::Command::Img(args) => build_config(&args).map(|_| ()),
                _ => unreachable!(),
            }
        };
        assert_eq!(
            parse(&["oddsfeed", "img", "--addr", "127.0.0.1:1"]),
            Err("choose exactly one of --ssh and --tcp".to_owned())
        );
        assert_eq!(
            parse(&["oddsfeed", "img", "--addr", "127.0.0.1:1", "--tcp"]),
            Ok(())
        );
        assert_eq!(
            parse(&["oddsfeed", "img", "--addr", "nowhere", "--tcp"]),
            Err(
                "invalid IMG client configuration: address \"nowhere\" is not HOST:PORT".to_owned()
            )
        );
    }
}
