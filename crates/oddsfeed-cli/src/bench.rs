//! `oddsfeed bench decode`: decodes a recorded corpus exactly the way the client does and prints
//! one JSON line with the throughput of the best pass (docs/CLI.md `bench decode`).
//!
//! The decode path is the client's own: every frame goes through an
//! [`oddsfeed_session::ws::FrameDecoder`] set to the corpus' receive type (size check, zstd with
//! the dictionary the frame's dictId names and the default output bound, then the typed message
//! with every field parsed). Nothing is decoded ahead of the timed passes: a pass starts from the
//! frames as they travelled on the wire.
//!
//! With `--threads T` the corpus is split into `T` contiguous slices, one per thread, each with its
//! own decoder (sharing the digested dictionaries, as connections of one client do); a pass ends
//! when the slowest thread is done. Figures always describe one pass over the whole corpus.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use oddsfeed_bench::{dict_id_of, split_records};
use oddsfeed_model::ReceiveType;
use oddsfeed_session::ws::{
    DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_FRAME, DecodeError, FrameDecoder, FrameKind,
};
use oddsfeed_zstd::DictStore;
use serde::Serialize;

use crate::args::{BenchCommand, BenchDecodeArgs, ReceiveTypeArg};

/// Name of the frame records file in a corpus directory.
const FRAMES_FILE: &str = "frames.bin";

/// Runs the subcommand.
pub fn run(command: BenchCommand) -> ExitCode {
    match command {
        BenchCommand::Decode(args) => decode(&args),
    }
}

fn decode(args: &BenchDecodeArgs) -> ExitCode {
    if args.passes == 0 {
        eprintln!("oddsfeed: error: --passes must be at least 1");
        return ExitCode::from(2);
    }
    if args.threads == 0 {
        eprintln!("oddsfeed: error: --threads must be at least 1");
        return ExitCode::from(2);
    }
    let loaded = if args.corpus.is_file() {
        // A `ws --record` file: its data frames, in the receive type it recorded.
        Corpus::from_recording(&args.corpus)
    } else {
        Corpus::load(&args.corpus).map(|corpus| (corpus, receive_type(args.mode)))
    };
    let result =
        loaded.and_then(|(corpus, mode)| run_decode(&corpus, mode, args.passes, args.threads));
    let report = match result {
        Ok(report) => report,
        Err(e) => {
            eprintln!("oddsfeed: error: {e}");
            return ExitCode::from(1);
        }
    };
    let line = match serde_json::to_string(&report) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("oddsfeed: error: cannot format the report: {e}");
            return ExitCode::from(1);
        }
    };
    let mut stdout = io::stdout().lock();
    if let Err(e) = writeln!(stdout, "{line}").and_then(|()| stdout.flush()) {
        eprintln!("oddsfeed: error: cannot write the report: {e}");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

/// The model's receive type for a command-line value.
fn receive_type(arg: ReceiveTypeArg) -> ReceiveType {
    match arg {
        ReceiveTypeArg::Json => ReceiveType::Json,
        ReceiveTypeArg::Binary => ReceiveType::Binary,
        ReceiveTypeArg::Zstd => ReceiveType::Zstd,
        ReceiveTypeArg::ZstdDict => ReceiveType::ZstdDict,
    }
}

/// How a frame of each mode reached the client: text frames in `json` mode, binary otherwise
/// (docs/PROTOCOL.md B.5).
fn frame_kind(mode: ReceiveType) -> FrameKind {
    match mode {
        ReceiveType::Json => FrameKind::Text,
        _ => FrameKind::Binary,
    }
}

/// Why a benchmark could not run.
#[derive(Debug)]
enum BenchError {
    /// A corpus file could not be read.
    Read { path: PathBuf, source: io::Error },
    /// A recording could not be used as a corpus.
    Recording { path: PathBuf, reason: String },
    /// `frames.bin` ends inside a record.
    Truncated { path: PathBuf, offset: usize },
    /// A `<dictId>.dict` file was refused by the dictionary store.
    Dict { path: PathBuf, reason: String },
    /// Some frames did not decode to a message, so the figures would not describe decoding.
    Decode {
        failed: u64,
        frames: u64,
        first: String,
    },
    /// A decoding thread panicked (a bug).
    ThreadPanicked,
}

impl fmt::Display for BenchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Recording { path, reason } => write!(f, "{}: {reason}", path.display()),
            Self::Truncated { path, offset } => write!(
                f,
                "{}: truncated record at byte {offset} (expected u32 little-endian length + frame)",
                path.display()
            ),
            Self::Dict { path, reason } => {
                write!(f, "{}: dictionary rejected: {reason}", path.display())
            }
            Self::Decode {
                failed,
                frames,
                first,
            } => write!(
                f,
                "{failed} of {frames} frames did not decode to a message (first: {first}); \
                 is --mode the corpus' receive type?"
            ),
            Self::ThreadPanicked => f.write_str("a decoding thread panicked"),
        }
    }
}

/// A corpus in memory: the records of `frames.bin` in one buffer, and the dictionaries.
#[derive(Debug)]
struct Corpus {
    data: Vec<u8>,
    frames: Vec<Range<usize>>,
    dicts: DictStore,
}

impl Corpus {
    /// Reads `dir/frames.bin` and every `dir/<dictId>.dict` (`dictId` in decimal); other files
    /// are ignored.
    fn load(dir: &Path) -> Result<Self, BenchError> {
        let path = dir.join(FRAMES_FILE);
        let data = fs::read(&path).map_err(|source| BenchError::Read {
            path: path.clone(),
            source,
        })?;
        let frames =
            split_records(&data).map_err(|offset| BenchError::Truncated { path, offset })?;
        let dicts = load_dicts(dir)?;
        Ok(Self {
            data,
            frames,
            dicts,
        })
    }

    /// The data frames of a WebSocket recording (`ws --record`), in its recorded receive type,
    /// with the dictionaries its `dict` frames carried. Control frames are left out; a torn tail
    /// is ignored.
    fn from_recording(path: &Path) -> Result<(Self, ReceiveType), BenchError> {
        use oddsfeed::recording::{Feed, Item, RecordKind, SliceReader};
        let bytes = fs::read(path).map_err(|source| BenchError::Read {
            path: path.to_owned(),
            source,
        })?;
        let refuse = |reason: String| BenchError::Recording {
            path: path.to_owned(),
            reason,
        };
        let mut reader = SliceReader::new(&bytes).map_err(|e| refuse(e.to_string()))?;
        if reader.header().feed != Feed::Ws {
            return Err(refuse("not a WebSocket recording".to_owned()));
        }
        let mut mode = None;
        let mut data = Vec::new();
        let mut frames = Vec::new();
        let mut dicts = DictStore::new();
        while let Some(Item::Record(record)) = reader.next() {
            match record.kind {
                RecordKind::ReceiveType if mode.is_none() => {
                    mode = std::str::from_utf8(record.payload)
                        .ok()
                        .and_then(|name| name.parse::<ReceiveType>().ok());
                }
                RecordKind::Text => {
                    let Ok(doc) = serde_json::from_slice::<serde_json::Value>(record.payload)
                    else {
                        continue;
                    };
                    if doc.get("type").and_then(|t| t.as_str()) == Some("dict") {
                        let id = doc.get("dictId").and_then(serde_json::Value::as_u64);
                        let encoding = doc.get("encoding").and_then(|v| v.as_str());
                        let text = doc.get("data").and_then(|v| v.as_str());
                        if let (Some(id), Some(text)) = (id, text) {
                            let id = u32::try_from(id).map_err(|e| refuse(e.to_string()))?;
                            // Re-sent on every connection: the first copy is enough.
                            if dicts.get(id).is_none() {
                                dicts
                                    .insert_base64(id, encoding.unwrap_or("base64"), text)
                                    .map_err(|e| refuse(format!("dictionary {id}: {e}")))?;
                            }
                        }
                    } else if doc.get("entryId").is_some() {
                        let start = data.len();
                        data.extend_from_slice(record.payload);
                        frames.push(start..data.len());
                    }
                }
                RecordKind::Binary => {
                    let start = data.len();
                    data.extend_from_slice(record.payload);
                    frames.push(start..data.len());
                }
                _ => {}
            }
        }
        let mode = mode.ok_or_else(|| refuse("no negotiated receive type recorded".to_owned()))?;
        Ok((
            Self {
                data,
                frames,
                dicts,
            },
            mode,
        ))
    }

    fn frame(&self, range: &Range<usize>) -> &[u8] {
        self.data.get(range.clone()).unwrap_or_default()
    }
}

/// The `<dictId>.dict` files of `dir`, digested into a store.
fn load_dicts(dir: &Path) -> Result<DictStore, BenchError> {
    let read_err = |source| BenchError::Read {
        path: dir.to_owned(),
        source,
    };
    let mut found = Vec::new();
    for entry in fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if let Some(id) = dict_id_of(&path) {
            found.push((id, path));
        }
    }
    found.sort();
    let mut store = DictStore::new();
    for (id, path) in found {
        let bytes = fs::read(&path).map_err(|source| BenchError::Read {
            path: path.clone(),
            source,
        })?;
        store.insert_raw(id, &bytes).map_err(|e| BenchError::Dict {
            path,
            reason: e.to_string(),
        })?;
    }
    Ok(store)
}

/// The JSON line of docs/CLI.md, field for field.
#[derive(Debug, Clone, PartialEq, Serialize)]
struct Report {
    mode: &'static str,
    frames: u64,
    bytes_in: u64,
    bytes_out: u64,
    passes: u32,
    frames_per_s: f64,
    mb_per_s: f64,
}

/// What decoding a slice of the corpus once gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct SliceCounts {
    frames: u64,
    bytes_in: u64,
    bytes_out: u64,
    messages: u64,
    errors: u64,
    first_error: Option<String>,
}

impl SliceCounts {
    fn add(&mut self, other: Self) {
        self.frames += other.frames;
        self.bytes_in += other.bytes_in;
        self.bytes_out += other.bytes_out;
        self.messages += other.messages;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// Runs `passes` timed passes over the corpus on `threads` threads and reports the best one.
fn run_decode(
    corpus: &Corpus,
    mode: ReceiveType,
    passes: u32,
    threads: usize,
) -> Result<Report, BenchError> {
    let (counts, best) = if threads == 1 {
        let mut worker = Worker::new(corpus, mode);
        let mut best = Duration::MAX;
        let mut counts = SliceCounts::default();
        for _ in 0..passes {
            let start = Instant::now();
            counts = worker.pass(&corpus.frames);
            best = best.min(start.elapsed());
        }
        (counts, best)
    } else {
        run_threaded(corpus, mode, passes, threads)?
    };
    if counts.errors > 0 || counts.messages != counts.frames {
        return Err(BenchError::Decode {
            failed: counts
                .frames
                .saturating_sub(counts.messages)
                .max(counts.errors),
            frames: counts.frames,
            first: counts
                .first_error
                .unwrap_or_else(|| "a frame held more than one message".to_owned()),
        });
    }
    let secs = best.as_secs_f64().max(1e-9);
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let (frames_per_s, mb_per_s) = (
        counts.frames as f64 / secs,
        counts.bytes_out as f64 / secs / 1e6,
    );
    Ok(Report {
        mode: mode.as_str(),
        frames: counts.frames,
        bytes_in: counts.bytes_in,
        bytes_out: counts.bytes_out,
        passes,
        frames_per_s: round_to(frames_per_s, 10.0),
        mb_per_s: round_to(mb_per_s, 1000.0),
    })
}

/// `value` rounded to `1 / scale`.
fn round_to(value: f64, scale: f64) -> f64 {
    (value * scale).round() / scale
}

/// The threaded passes: one persistent thread per slice. A barrier starts the threads of a
/// pass together and another keeps passes from overlapping; each thread timestamps its own
/// start and end, and a pass lasts from the earliest start to the latest end (timestamps taken
/// by the threads themselves, so a descheduled coordinator cannot shorten a pass).
fn run_threaded(
    corpus: &Corpus,
    mode: ReceiveType,
    passes: u32,
    threads: usize,
) -> Result<(SliceCounts, Duration), BenchError> {
    let slices = split_evenly(&corpus.frames, threads);
    let start = Barrier::new(threads);
    let end = Barrier::new(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = slices
            .iter()
            .map(|slice| {
                let (start, end) = (&start, &end);
                scope.spawn(move || {
                    let mut worker = Worker::new(corpus, mode);
                    let mut counts = SliceCounts::default();
                    let mut spans = Vec::new();
                    for _ in 0..passes {
                        start.wait();
                        let began = Instant::now();
                        counts = worker.pass(slice);
                        spans.push((began, Instant::now()));
                        end.wait();
                    }
                    (counts, spans)
                })
            })
            .collect();
        let mut total = SliceCounts::default();
        let mut spans: Vec<Vec<(Instant, Instant)>> = Vec::new();
        for handle in handles {
            let (counts, thread_spans) = handle.join().map_err(|_| BenchError::ThreadPanicked)?;
            total.add(counts);
            spans.push(thread_spans);
        }
        let best = (0..passes as usize)
            .filter_map(|pass| {
                let began = spans
                    .iter()
                    .filter_map(|s| s.get(pass))
                    .map(|s| s.0)
                    .min()?;
                let ended = spans
                    .iter()
                    .filter_map(|s| s.get(pass))
                    .map(|s| s.1)
                    .max()?;
                Some(ended.duration_since(began))
            })
            .min()
            .unwrap_or(Duration::MAX);
        Ok((total, best))
    })
}

/// `items` cut into `parts` contiguous slices whose lengths differ by at most one.
fn split_evenly<T>(items: &[T], parts: usize) -> Vec<&[T]> {
    let parts = parts.max(1);
    let (base, extra) = (items.len() / parts, items.len() % parts);
    let mut slices = Vec::with_capacity(parts);
    let mut rest = items;
    for i in 0..parts {
        let (head, tail) = rest.split_at((base + usize::from(i < extra)).min(rest.len()));
        slices.push(head);
        rest = tail;
    }
    slices
}

/// One decoding thread's state: the client's frame decoder and its output vector, both reused
/// across frames as on a connection.
struct Worker<'c> {
    corpus: &'c Corpus,
    kind: FrameKind,
    decoder: FrameDecoder,
    out: Vec<Result<oddsfeed_model::WsMessage, DecodeError>>,
}

impl<'c> Worker<'c> {
    fn new(corpus: &'c Corpus, mode: ReceiveType) -> Self {
        let mut decoder =
            FrameDecoder::new(DEFAULT_MAX_FRAME, DEFAULT_MAX_DECOMPRESSED).with_mode(Some(mode));
        *decoder.dicts_mut() = corpus.dicts.clone();
        Self {
            corpus,
            kind: frame_kind(mode),
            decoder,
            out: Vec::with_capacity(4),
        }
    }

    /// Decodes every frame of `slice` once, dropping each message after it is made (as a client
    /// that hands messages on does).
    fn pass(&mut self, slice: &[Range<usize>]) -> SliceCounts {
        let before = *self.decoder.stats();
        let mut first_error = None;
        for range in slice {
            self.decoder
                .decode(self.kind, self.corpus.frame(range), &mut self.out);
            std::hint::black_box(&self.out);
            if first_error.is_none()
                && let Some(Err(e)) = self.out.iter().find(|r| r.is_err())
            {
                first_error = Some(e.to_string());
            }
            self.out.clear();
        }
        let after = self.decoder.stats();
        SliceCounts {
            frames: after.frames - before.frames,
            bytes_in: after.bytes_in - before.bytes_in,
            bytes_out: after.bytes_out - before.bytes_out,
            messages: after.messages - before.messages,
            errors: after.errors - before.errors,
            first_error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_at_their_lengths() {
        let mut data = Vec::new();
        for frame in [&b"abc"[..], b"", b"hello"] {
            data.extend_from_slice(&u32::try_from(frame.len()).unwrap_or(0).to_le_bytes());
            data.extend_from_slice(frame);
        }
        assert_eq!(split_records(&data), Ok(vec![4..7, 11..11, 15..20]));
        assert_eq!(split_records(&[]), Ok(vec![]));
        // Cut inside the last body, then inside the second length.
        assert_eq!(split_records(&data[..19]), Err(11));
        assert_eq!(split_records(&data[..9]), Err(7));
    }

    #[test]
    fn only_numeric_dict_names_count() {
        assert_eq!(
            dict_id_of(Path::new("/c/740826216.dict")),
            Some(740_826_216)
        );
        assert_eq!(dict_id_of(Path::new("/c/0.dict")), Some(0));
        assert_eq!(dict_id_of(Path::new("/c/odds.dict")), None);
        assert_eq!(dict_id_of(Path::new("/c/12.dict.bak")), None);
        assert_eq!(dict_id_of(Path::new("/c/+12.dict")), None);
        assert_eq!(dict_id_of(Path::new("/c/99999999999.dict")), None);
        assert_eq!(dict_id_of(Path::new("/c/frames.bin")), None);
    }

    #[test]
    fn slices_cover_everything_in_order() {
        let items: Vec<u32> = (0..10).collect();
        let slices = split_evenly(&items, 3);
        assert_eq!(slices, [&items[..4], &items[4..7], &items[7..]]);
        assert_eq!(split_evenly(&items[..1], 2), [&items[..1], &[][..]]);
        assert_eq!(split_evenly(&items, 1), [&items[..]]);
    }

    #[test]
    fn frames_come_as_the_client_receives_them() {
        assert_eq!(frame_kind(ReceiveType::Json), FrameKind::Text);
        for mode in [
            ReceiveType::Binary,
            ReceiveType::Zstd,
            ReceiveType::ZstdDict,
        ] {
            assert_eq!(frame_kind(mode), FrameKind::Binary);
        }
    }

    #[test]
    fn report_keys_are_in_cli_order() {
        let report = Report {
            mode: "zstd-dict",
            frames: 2,
            bytes_in: 3,
            bytes_out: 4,
            passes: 1,
            frames_per_s: 5.5,
            mb_per_s: 0.25,
        };
        assert_eq!(
            serde_json::to_string(&report).ok().as_deref(),
            Some(
                r#"{"mode":"zstd-dict","frames":2,"bytes_in":3,"bytes_out":4,"passes":1,"frames_per_s":5.5,"mb_per_s":0.25}"#
            )
        );
    }

    #[test]
    fn rounding_keeps_the_stated_digits() {
        assert!((round_to(1234.5678, 10.0) - 1234.6).abs() < 1e-9);
        assert!((round_to(0.123_456, 1000.0) - 0.123).abs() < 1e-12);
    }
}
