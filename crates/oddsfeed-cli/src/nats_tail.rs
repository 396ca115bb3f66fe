//! `oddsfeed nats-tail`: print what the relay stored in JetStream, one JSON line per message
//! (data lines exactly as `oddsfeed ws` prints them, event objects as published).

use std::process::ExitCode;

use oddsfeed_nats::{NatsStream, NatsStreamConfig};
use serde_json::json;

use crate::args::NatsTailArgs;
use crate::ops::Signals;
use crate::output::{DataOut, EventLog};
use crate::runtime::{self, Shutdown};

/// Runs the subcommand.
pub fn run(args: NatsTailArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    match runtime::block_on(tail(args, log), Shutdown::Brief) {
        Ok(code) => ExitCode::from(code),
        Err(reason) => {
            log.fatal(&reason);
            ExitCode::from(1)
        }
    }
}

async fn tail(args: NatsTailArgs, log: EventLog) -> u8 {
    let mut config = NatsStreamConfig::new(args.nats.clone()).stream(args.stream.clone());
    if let Some(subject) = &args.subject {
        config = config.subject(subject.clone());
    }
    if let Some(durable) = &args.durable {
        config = config.durable(durable.clone());
    }
    let mut stream = match NatsStream::connect(config).await {
        Ok(stream) => stream,
        Err(e) => {
            log.fatal(&e.to_string());
            return 1;
        }
    };
    log.emit(
        "connected",
        json!({ "stream": args.stream, "pending": stream.pending_at_start() }),
    );
    let mut out = DataOut::new();
    if args.limit == Some(0) || (args.no_follow && stream.pending_at_start() == 0) {
        return 0;
    }
    let signals = Signals::install();
    loop {
        let next = tokio::select! {
            next = stream.next() => next,
            () = signals.wait() => break,
        };
        let received = match next {
            Some(Ok(received)) => received,
            Some(Err(e)) => {
                let _ = out.flush();
                log.fatal(&e.to_string());
                return 1;
            }
            None => break,
        };
        let line = String::from_utf8_lossy(&received.payload);
        if let Err(e) = out.line(line.trim_end_matches('\n')) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return 0;
            }
            log.fatal(&format!("cannot write to stdout: {e}"));
            return 1;
        }
        if args.limit.is_some_and(|n| out.lines() >= n) || (args.no_follow && received.pending == 0)
        {
            break;
        }
        if received.pending == 0 && out.flush().is_err() {
            return 1;
        }
    }
    if let Err(e) = out.flush() {
        log.fatal(&format!("cannot write to stdout: {e}"));
        return 1;
    }
    0
}
