//! `oddsfeed img`: consume an IMG Arena-style newline-JSON feed over SSH or TCP.
//!
//! stdout: every JSON object the server sends, exactly as received, one per line, in order
//! (responses, pushes, disconnect notices, unknown objects); heartbeat pushes only with
//! `--heartbeats`. `--limit N` counts these lines. stderr: the events (human or JSONL) and,
//! when the run fails, one line saying why.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use oddsfeed::img::Event;
use oddsfeed::img::{HostKeyCheck, ImgClient, ImgClientConfig, ImgEvent, SshSettings, Transport};
use oddsfeed::model::img::{PushKind, Request};
use serde_json::{Map, Value, json};

use crate::args::{ImgArgs, OpsArgs};
use crate::ops::{Ops, Signals, sleep_until_opt};
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
    let client = run_client(
        config,
        &log,
        args.heartbeats,
        args.limit,
        &args.ops,
        args.book_out.as_deref(),
    );
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
                insecure_allow_sha1_rsa: args.insecure_allow_sha1_rsa,
            })
        }
        (false, true) => Transport::Tcp {
            addr: args.addr.clone(),
        },
        _ => return Err("choose exactly one of --ssh and --tcp".to_owned()),
    };
    let mut builder = ImgClientConfig::builder(transport)
        .include_finished(args.include_finished)
        .once(args.once)
        .count_heartbeats(args.heartbeats)
        // The book is applied as items are taken, so it holds exactly what was printed.
        .keep_book(args.book_out.is_some());
    if let Some(path) = &args.record {
        builder = builder.record(path.clone());
    }
    for (index, text) in args.requests.iter().enumerate() {
        builder = builder
            .request(parse_request(text).map_err(|e| format!("--request #{}: {e}", index + 1))?);
    }
    builder.build().map_err(|e| e.to_string())
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
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    match value.get("request") {
        Some(Value::String(_)) => {}
        _ => return Err("expected a JSON object with a string \"request\"".to_owned()),
    }
    if value.get("msg").is_some_and(|msg| !msg.is_object()) {
        return Err("\"msg\" must be a JSON object".to_owned());
    }
    if value.get("request_id").is_some_and(|id| !id.is_string()) {
        return Err("\"request_id\" must be a string".to_owned());
    }
    serde_json::from_value(value).map_err(|e| format!("not a request: {e}"))
}

async fn run_client(
    config: ImgClientConfig,
    log: &EventLog,
    heartbeats: bool,
    limit: Option<u64>,
    ops_args: &OpsArgs,
    book_out: Option<&std::path::Path>,
) -> u8 {
    if limit == Some(0) {
        return 0;
    }
    let signals = Signals::install();
    let mut client = match ImgClient::start(config) {
        Ok(client) => client,
        Err(error) => {
            log.fatal(&error.to_string());
            return crate::exit::img_code(&error);
        }
    };
    let mut ops = match Ops::start(ops_args, client.metrics(), log).await {
        Ok(ops) => ops,
        Err(reason) => {
            log.fatal(&reason);
            return 1;
        }
    };
    let mut out = DataOut::new();
    let code = pump(
        &mut client,
        &mut out,
        log,
        heartbeats,
        limit,
        &signals,
        &mut ops,
    )
    .await;
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        log.fatal(&format!("cannot write to stdout: {e}"));
        return 1;
    }
    if let (Some(path), Some(book)) = (book_out, client.book())
        && let Err(e) = crate::output::write_book(path, &book.dump())
    {
        log.fatal(&format!("cannot write --book-out {}: {e}", path.display()));
        return 1;
    }
    // Completes the recording, if any, and stops the driver before the last counts are read.
    if let Err(e) = client.finish().await {
        log.fatal(&e.to_string());
        return 1;
    }
    if code == 0 {
        ops.finish(log);
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
    signals: &Signals,
    ops: &mut Ops,
) -> u8 {
    loop {
        if signals.received() {
            Signals::report(log);
            return 0;
        }
        ops.tick(log);
        let item = match client.try_next() {
            Some(item) => Some(item),
            None => {
                // The feed is idle: flush what is buffered, then wait.
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                tokio::select! {
                    item = client.next() => item,
                    () = signals.wait() => continue,
                    () = sleep_until_opt(ops.due_at()) => continue,
                }
            }
        };
        let event = match item {
            None => {
                log.fatal("the connection driver stopped unexpectedly");
                return 1;
            }
            Some(ImgEvent::Fatal(error)) => {
                if let Err(e) = out.flush() {
                    return stdout_failed(log, &e);
                }
                log.fatal(&error.to_string());
                return crate::exit::img_code(&error);
            }
            Some(event) => event,
        };
        match print_item(out, log, &event, heartbeats) {
            Err(e) => return stdout_failed(log, &e),
            Ok(true) if limit.is_some_and(|n| out.lines() >= n) => return 0,
            Ok(_) => {}
        }
        if matches!(event, ImgEvent::Finished) {
            return 0;
        }
    }
}

/// Prints one item as `oddsfeed img` does: the server's line, as received, on stdout (heartbeats
/// only when asked), then the event line on stderr, if it has one. Returns whether a stdout line
/// was written (the caller checks `--limit`). Used by `img` and `replay`.
pub(crate) fn print_item(
    out: &mut DataOut,
    log: &EventLog,
    event: &ImgEvent,
    heartbeats: bool,
) -> io::Result<bool> {
    if let ImgEvent::Session(session) = event
        && let Some(raw) = session.raw_line()
        && (heartbeats || !is_heartbeat(session))
    {
        out.line(raw)?;
        if let Some((name, fields)) = event_fields(event) {
            log.emit(name, Value::Object(fields));
        }
        return Ok(true);
    }
    if let Some((name, fields)) = event_fields(event) {
        log.emit(name, Value::Object(fields));
    }
    Ok(false)
}

fn is_heartbeat(event: &Event) -> bool {
    matches!(event, Event::Push(push) if push.kind == PushKind::Heartbeat)
}

fn stdout_failed(log: &EventLog, e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        // The reader went away (`| head`): nothing more to say to it.
        return 0;
    }
    log.fatal(&format!("cannot write to stdout: {e}"));
    1
}

/// The docs/CLI.md name and fields of an item for stderr; `None` for pure data (pushes, unknown
/// objects), which only go to stdout.
fn event_fields(event: &ImgEvent) -> Option<(&'static str, Map<String, Value>)> {
    // The facade's mapping, shared with the Python package.
    oddsfeed::jsonl::img_event_fields(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed::img::DisconnectedReason;
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
