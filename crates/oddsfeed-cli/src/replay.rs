//! `oddsfeed replay FILE`: run a recording through the live decoding path and print what the
//! live run printed (CLI.md Part 2, docs/RECORDING.md).
//!
//! The recorded frames or lines go, connection by connection, through the same session the live
//! client runs ([`oddsfeed::replay`]), and every event is printed by the live subcommand's own
//! printing code (`ws::print_event`, `img::print_item`), so stdout is line for line what `ws` or
//! `img` printed. Exit 0 at the end of the file (after `recording_truncated` when the tail is
//! torn); exit 1, with the reason as the last stderr line and nothing on stdout, when the file
//! is not a recording.

use std::fs::File;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;

use oddsfeed::book::img::ImgBook;
use oddsfeed::book::ws::WsBook;
use oddsfeed::recording::{Feed, RecordError, StreamReader};
use oddsfeed::replay::{ImgReplay, Pace, WsReplay};
use oddsfeed::stats::FeedMetrics;
use serde_json::json;

use crate::args::ReplayArgs;
use crate::ops::Ops;
use crate::output::{DataOut, EventLog};

/// Replay steps between two looks at the `stats` timer.
const TICK_EVERY: u32 = 64;

/// Runs the subcommand.
pub fn run(args: ReplayArgs) -> ExitCode {
    let log = EventLog::new(args.events);
    let pace = match (args.pace, args.speed) {
        (_, Some(speed)) if !(speed.is_finite() && speed > 0.0) => {
            eprintln!("oddsfeed replay: --speed must be a positive number");
            return ExitCode::from(2);
        }
        (_, Some(speed)) => Pace::Speed(speed),
        (true, None) => Pace::Speed(1.0),
        (false, None) => Pace::AsFastAsPossible,
    };
    let source = match open(&args, pace) {
        Ok(source) => source,
        Err(e) => {
            log.fatal(&format!("{}: {e}", args.file.display()));
            return ExitCode::from(1);
        }
    };
    let paced = pace != Pace::AsFastAsPossible;
    let mut book = args.book_out.as_ref().map(|_| Book::for_source(&source));
    // The metrics endpoint needs a runtime; the replay loop itself does not.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            log.fatal(&format!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    let mut ops = match runtime.block_on(Ops::start(&args.ops, source.metrics(), &log)) {
        Ok(ops) => ops,
        Err(reason) => {
            log.fatal(&reason);
            return ExitCode::from(1);
        }
    };
    let code = pump(
        source,
        &log,
        &mut ops,
        args.limit,
        args.heartbeats,
        paced,
        book.as_mut(),
    );
    if code == 0 {
        ops.finish(&log);
    }
    drop(ops);
    runtime.shutdown_background();
    if let (Some(path), Some(book)) = (&args.book_out, &book)
        && let Err(e) = crate::output::write_book(path, &book.dump())
    {
        log.fatal(&format!("cannot write --book-out {}: {e}", path.display()));
        return ExitCode::from(1);
    }
    ExitCode::from(code)
}

/// A replay of either feed.
enum Source {
    Ws(Box<WsReplay>),
    Img(Box<ImgReplay>),
}

fn open(args: &ReplayArgs, pace: Pace) -> Result<Source, RecordError> {
    let feed = StreamReader::new(File::open(&args.file)?)?.header().feed;
    match feed {
        Feed::Img => Ok(Source::Img(Box::new(
            ImgReplay::open(&args.file, pace)?.count_heartbeats(args.heartbeats),
        ))),
        _ => Ok(Source::Ws(Box::new(WsReplay::open(&args.file, pace)?))),
    }
}

/// The `--book-out` book of a replay, fed the events it prints.
enum Book {
    Ws(Box<WsBook>),
    Img(Box<ImgBook>),
}

impl Book {
    fn for_source(source: &Source) -> Self {
        match source {
            Source::Ws(_) => Self::Ws(Box::default()),
            Source::Img(_) => Self::Img(Box::default()),
        }
    }

    fn dump(&self) -> serde_json::Value {
        match self {
            Self::Ws(book) => book.dump(),
            Self::Img(book) => book.dump(),
        }
    }
}

/// What one step of the replay did.
enum Step {
    /// Printed a data line on stdout.
    Data,
    /// Printed an event line (or nothing).
    Other,
    /// The recording is over.
    End,
}

impl Source {
    /// The replay's counts (what `--metrics-addr` serves and the `stats` event shows).
    fn metrics(&self) -> Arc<FeedMetrics> {
        match self {
            Self::Ws(replay) => replay.metrics(),
            Self::Img(replay) => replay.metrics(),
        }
    }

    /// Takes the next event and prints it as the live subcommand does. This is the one place
    /// each replayed event passes through (a per-message hook goes here).
    /// The book (`--book-out`), when given, is applied with every event printed, as the live
    /// client applies it.
    fn step(
        &mut self,
        out: &mut DataOut,
        log: &EventLog,
        heartbeats: bool,
        book: Option<&mut Book>,
    ) -> Result<Step, Failed> {
        let now = std::time::Instant::now();
        match self {
            Self::Ws(replay) => match replay.next().map_err(Failed::Read)? {
                None => Ok(Step::End),
                Some(event) => {
                    let data = matches!(event, oddsfeed::ws::WsEvent::Data(_));
                    crate::ws::print_event(out, log, &event).map_err(Failed::Stdout)?;
                    if let Some(Book::Ws(book)) = book {
                        event.apply_to(book, now);
                    }
                    Ok(if data { Step::Data } else { Step::Other })
                }
            },
            Self::Img(replay) => match replay.next().map_err(Failed::Read)? {
                None => Ok(Step::End),
                Some(event) => {
                    let printed = crate::img::print_item(out, log, &event, heartbeats)
                        .map_err(Failed::Stdout)?;
                    if let Some(Book::Img(book)) = book {
                        event.apply_to(book, now);
                    }
                    Ok(if printed { Step::Data } else { Step::Other })
                }
            },
        }
    }
}

/// Why a replay stopped early.
enum Failed {
    Read(RecordError),
    Stdout(io::Error),
}

/// The replay loop: every event printed, `--limit` counted, stdout flushed at the end (and
/// after each event when paced, so lines appear when they are due).
fn pump(
    mut source: Source,
    log: &EventLog,
    ops: &mut Ops,
    limit: Option<u64>,
    heartbeats: bool,
    paced: bool,
    mut book: Option<&mut Book>,
) -> u8 {
    let mut out = DataOut::new();
    if limit == Some(0) {
        return 0;
    }
    let mut steps: u32 = 0;
    let code = loop {
        steps = steps.wrapping_add(1);
        if steps.is_multiple_of(TICK_EVERY) || paced {
            ops.tick(log);
        }
        match source.step(&mut out, log, heartbeats, book.as_deref_mut()) {
            Ok(Step::End) => break 0,
            Ok(Step::Data) if limit.is_some_and(|n| out.lines() >= n) => break 0,
            Ok(_) => {}
            Err(Failed::Read(e)) => {
                let _ = out.flush();
                log.fatal(&format!("reading the recording failed: {e}"));
                return 1;
            }
            Err(Failed::Stdout(e)) => return stdout_failed(log, &e),
        }
        if paced && let Err(e) = out.flush() {
            return stdout_failed(log, &e);
        }
    };
    if let Err(e) = out.flush() {
        return stdout_failed(log, &e);
    }
    log.emit("replay_finished", json!({ "lines": out.lines() }));
    code
}

fn stdout_failed(log: &EventLog, e: &io::Error) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return 0;
    }
    log.fatal(&format!("cannot write to stdout: {e}"));
    1
}
