//! stdout and stderr discipline shared by the feed-reading subcommands (docs/CLI.md "Output rules").
//!
//! stdout carries data only, one compact JSON message per line, block-buffered when it is
//! not a terminal and flushed whenever the feed goes idle and before exit. stderr carries
//! everything else, either as a human log or as one JSON object per line with an `"event"`
//! key; every stderr line is written and flushed when it happens.

use std::io::{self, IsTerminal, Write};

use serde_json::{Map, Value};

use crate::args::EventsFormat;

/// Writes session events to stderr, one line each, unbuffered.
#[derive(Debug, Clone, Copy)]
pub struct EventLog {
    format: EventsFormat,
}

impl EventLog {
    /// An event log in the given format.
    pub fn new(format: EventsFormat) -> Self {
        Self { format }
    }

    /// The format of the lines.
    pub fn format(&self) -> EventsFormat {
        self.format
    }

    /// Emits one event named `name` with `fields` (an object; other values are ignored).
    ///
    /// Human format: `oddsfeed: <name> key=value ...`; JSONL: `{"event":"<name>",...}`.
    pub fn emit(&self, name: &str, fields: Value) {
        let fields = match fields {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let line = match self.format {
            EventsFormat::Jsonl => {
                let mut obj = Map::with_capacity(fields.len() + 2);
                obj.insert("event".to_owned(), Value::String(name.to_owned()));
                obj.insert("ts".to_owned(), Value::String(utc_now_millis()));
                obj.extend(fields);
                Value::Object(obj).to_string()
            }
            EventsFormat::Human => {
                let mut line = format!("oddsfeed: {name}");
                for (key, value) in &fields {
                    match value {
                        Value::String(s) => line.push_str(&format!(" {key}={s}")),
                        other => line.push_str(&format!(" {key}={other}")),
                    }
                }
                line
            }
        };
        let mut err = io::stderr().lock();
        // Nothing sensible can be done if stderr is gone; keep consuming the feed.
        let _ = writeln!(err, "{line}");
        let _ = err.flush();
    }

    /// Emits a fatal one-line reason (`oddsfeed: error: ...` or an `error` event).
    pub fn fatal(&self, message: &str) {
        self.emit("fatal", serde_json::json!({ "message": message }));
    }
}

/// Now in UTC, RFC 3339 with exactly three fractional digits and `Z`
/// (`2026-12-06T10:15:02.123Z`): the `ts` of every JSONL event.
pub fn utc_now_millis() -> String {
    rfc3339_millis(std::time::SystemTime::now())
}

fn rfc3339_millis(at: std::time::SystemTime) -> String {
    let since_epoch = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = i64::try_from(since_epoch.as_secs()).unwrap_or(i64::MAX);
    // Truncated, not rounded, to milliseconds: a timestamp never runs ahead of the clock.
    let nanos = since_epoch.subsec_millis() * 1_000_000;
    match chrono::DateTime::from_timestamp(secs, nanos) {
        Some(at) => at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => "1970-01-01T00:00:00.000Z".to_owned(),
    }
}

/// The data writer for stdout: one line per message, flushed on idle and on exit.
pub struct DataOut {
    out: io::BufWriter<io::Stdout>,
    terminal: bool,
    lines: u64,
}

impl DataOut {
    /// A writer on this process's stdout.
    pub fn new() -> Self {
        let stdout = io::stdout();
        let terminal = stdout.is_terminal();
        Self {
            out: io::BufWriter::with_capacity(64 << 10, stdout),
            terminal,
            lines: 0,
        }
    }

    /// Writes one message line (a `\n` is appended). `json` must be one line of compact JSON.
    pub fn line(&mut self, json: &str) -> io::Result<()> {
        self.out.write_all(json.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.lines += 1;
        if self.terminal {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Lines written so far.
    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Flushes buffered lines (call when the feed goes idle and before exit).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Installs a stderr tracing subscriber when `RUST_LOG` is set.
///
/// The WebSocket and SSH libraries log whole frames at trace level, and a login frame
/// carries the API key; their events are therefore capped at debug level whatever
/// `RUST_LOG` asks for, so no filter setting can make a key appear on stderr.
pub fn init_tracing() {
    use tracing_subscriber::filter::{FilterExt, filter_fn};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer};

    if std::env::var_os("RUST_LOG").is_none() {
        return;
    }
    let no_frame_dumps = filter_fn(|meta| {
        let target = meta.target();
        let wire_library = ["tungstenite", "tokio_tungstenite", "russh", "rustls"]
            .iter()
            .any(|lib| target.starts_with(lib));
        !wire_library || *meta.level() <= tracing::Level::DEBUG
    });
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_filter(EnvFilter::from_default_env().and(no_frame_dumps));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Writes a live book dump (`--book-out`): to `FILE.tmp` first, then renamed over `path`, so
/// a reader never sees half a document.
pub fn write_book(path: &std::path::Path, book: &Value) -> io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let mut text = serde_json::to_vec(book).map_err(io::Error::other)?;
    text.push(b'\n');
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn timestamps_have_three_fraction_digits_and_z() {
        let at = UNIX_EPOCH + Duration::from_nanos(1_796_552_102_123_999_999);
        assert_eq!(rfc3339_millis(at), "2026-12-06T10:15:02.123Z");
        assert_eq!(rfc3339_millis(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    }
}
