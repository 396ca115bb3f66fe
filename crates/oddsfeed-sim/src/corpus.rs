//! Decode-benchmark corpora in the layout of `docs/CLI.md` (`oddsfeed bench
//! decode`).
//!
//! A corpus directory holds:
//!
//! - `frames.bin`: records, each a u32 little-endian length followed by that
//!   many bytes of one data frame exactly as it travels on the wire (raw JSON
//!   for `json`, MessagePack for `binary`, one zstd frame for the zstd modes);
//! - `<dictId>.dict`: each dictionary's raw bytes, `dictId` in decimal
//!   (`zstd-dict` mode only);
//! - `messages.jsonl`: the original JSON messages, one per line, in frame
//!   order, for correctness checks (readers of the layout ignore it).
//!
//! Messages come from [`WsGenerator`] on a fixed virtual clock
//! ([`CORPUS_BASE_MS`] + i × [`CORPUS_STEP_MS`]), so the same arguments give
//! the same bytes. [`CorpusShape::Other`] writes them as another producer
//! would (see [`other`]): a second corpus whose shapes differ from ours.

pub mod other;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use crate::SimError;
use crate::dicts::{self, SimDict};
use crate::encode::{DEFAULT_LEVEL, FrameEncoder, SimReceiveType};
use crate::ws_gen::{GeneratedMessage, WsGenerator};
use other::OtherGenerator;

/// Virtual time of the first message (2025-12-22T10:40:00Z).
pub const CORPUS_BASE_MS: u64 = 1_766_400_000_000;

/// Virtual milliseconds between consecutive messages.
pub const CORPUS_STEP_MS: u64 = 7;

/// Name of the frame records file.
pub const FRAMES_FILE: &str = "frames.bin";

/// Name of the original-messages file.
pub const MESSAGES_FILE: &str = "messages.jsonl";

/// What [`write_corpus`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorpusSummary {
    /// The receive type the frames are encoded for.
    pub mode: SimReceiveType,
    /// Number of frames (one per message).
    pub frames: u64,
    /// Sum of the frame lengths (what `bench decode` reports as `bytes_in`).
    pub bytes_in: u64,
    /// Sum of the JSON message lengths (`bytes_out` of a decode pass).
    pub bytes_json: u64,
    /// Frames per channel.
    pub per_channel: BTreeMap<&'static str, u64>,
    /// Ids of the dictionaries written next to the frames.
    pub dict_ids: Vec<u32>,
}

/// How the corpus' messages are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CorpusShape {
    /// As the simulator sends them ([`WsGenerator`]).
    #[default]
    Ours,
    /// As another producer might write the same feed ([`OtherGenerator`]): other key
    /// orders, extra keys, escapes, number spellings, an untyped channel.
    Other,
}

impl CorpusShape {
    /// `ours` or `other`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CorpusShape::Ours => "ours",
            CorpusShape::Other => "other",
        }
    }
}

impl std::fmt::Display for CorpusShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for CorpusShape {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ours" => Ok(CorpusShape::Ours),
            "other" => Ok(CorpusShape::Other),
            _ => Err(format!(
                "unknown corpus shape {s:?} (expected ours or other)"
            )),
        }
    }
}

/// Everything [`write_corpus_with`] needs.
#[derive(Debug, Clone, Copy)]
pub struct CorpusOptions<'a> {
    /// The receive type to encode for.
    pub mode: SimReceiveType,
    /// Number of messages.
    pub messages: usize,
    /// Generator seed.
    pub seed: u64,
    /// zstd compression level.
    pub level: i32,
    /// Dictionaries for `zstd-dict` mode.
    pub dicts: &'a [SimDict],
    /// How the messages are written.
    pub shape: CorpusShape,
}

impl CorpusOptions<'static> {
    /// Options with the built-in dictionaries and the default level.
    #[must_use]
    pub fn new(mode: SimReceiveType, messages: usize, seed: u64) -> Self {
        CorpusOptions {
            mode,
            messages,
            seed,
            level: DEFAULT_LEVEL,
            dicts: dicts::builtin_dicts(),
            shape: CorpusShape::Ours,
        }
    }
}

/// Writes a corpus of `messages` messages from seed `seed`, encoded for
/// `mode` with the built-in dictionaries, into `dir` (created if missing;
/// files of the same names are replaced).
///
/// # Errors
///
/// Any I/O error; encoder failures come back as [`io::ErrorKind::Other`].
pub fn write_corpus(
    dir: &Path,
    mode: SimReceiveType,
    messages: usize,
    seed: u64,
) -> io::Result<CorpusSummary> {
    write_corpus_with(dir, &CorpusOptions::new(mode, messages, seed))
}

/// [`write_corpus`] with explicit dictionaries and level.
///
/// # Errors
///
/// Any I/O error; encoder failures come back as [`io::ErrorKind::Other`].
pub fn write_corpus_with(dir: &Path, options: &CorpusOptions<'_>) -> io::Result<CorpusSummary> {
    fs::create_dir_all(dir)?;
    let mut encoder = FrameEncoder::with_dicts(options.mode, options.level, options.dicts)
        .map_err(io::Error::other)?;
    let mut generator = Source::new(options.shape, options.seed);
    let mut frames = BufWriter::with_capacity(1 << 20, File::create(dir.join(FRAMES_FILE))?);
    let mut jsonl = BufWriter::with_capacity(1 << 20, File::create(dir.join(MESSAGES_FILE))?);
    let mut summary = CorpusSummary {
        mode: options.mode,
        frames: 0,
        bytes_in: 0,
        bytes_json: 0,
        per_channel: BTreeMap::new(),
        dict_ids: Vec::new(),
    };
    for i in 0..options.messages as u64 {
        let msg = generator.next(CORPUS_BASE_MS + i * CORPUS_STEP_MS);
        let frame = encoder
            .encode(msg.channel, &msg.json)
            .map_err(|e: SimError| io::Error::other(e))?;
        let bytes = frame.as_bytes();
        let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
        frames.write_all(&len.to_le_bytes())?;
        frames.write_all(bytes)?;
        jsonl.write_all(msg.json.as_bytes())?;
        jsonl.write_all(b"\n")?;
        summary.frames += 1;
        summary.bytes_in += u64::from(len);
        summary.bytes_json += msg.json.len() as u64;
        *summary.per_channel.entry(msg.channel).or_default() += 1;
    }
    frames
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    jsonl
        .into_inner()
        .map_err(io::IntoInnerError::into_error)?
        .sync_all()?;
    if options.mode == SimReceiveType::ZstdDict {
        for d in options.dicts {
            fs::write(dir.join(format!("{}.dict", d.id)), d.bytes)?;
            summary.dict_ids.push(d.id);
        }
    }
    Ok(summary)
}

/// The generator of a shape.
enum Source {
    Ours(WsGenerator),
    Other(OtherGenerator),
}

impl Source {
    fn new(shape: CorpusShape, seed: u64) -> Self {
        match shape {
            CorpusShape::Ours => Source::Ours(WsGenerator::new(seed)),
            CorpusShape::Other => Source::Other(OtherGenerator::new(seed)),
        }
    }

    fn next(&mut self, now_ms: u64) -> GeneratedMessage {
        match self {
            Source::Ours(g) => g.next(now_ms),
            Source::Other(g) => g.next(now_ms),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::dicts::builtin_dicts;

    /// A fresh, empty directory under the system temp dir, removed on drop.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir()
                .join(format!("oddsfeed-sim-corpus-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn corpus_reads_back_frame_by_frame() {
        for mode in SimReceiveType::ALL {
            let scratch = Scratch::new(mode.as_str());
            let summary = write_corpus(&scratch.0, mode, 200, 5).expect("write");
            assert_eq!(summary.mode, mode);
            assert_eq!(summary.frames, 200);
            assert_eq!(summary.per_channel.values().sum::<u64>(), 200);

            let data = fs::read(scratch.0.join(FRAMES_FILE)).expect("frames.bin");
            let frames = split_records(&data).expect("records");
            assert_eq!(frames.len(), 200);
            assert_eq!(
                frames.iter().map(|f| f.len() as u64).sum::<u64>(),
                summary.bytes_in
            );
            assert_eq!(data.len() as u64, summary.bytes_in + 4 * 200);

            let jsonl = fs::read_to_string(scratch.0.join(MESSAGES_FILE)).expect("jsonl");
            let lines: Vec<&str> = jsonl.lines().collect();
            assert_eq!(lines.len(), 200);
            assert_eq!(
                lines.iter().map(|l| l.len() as u64).sum::<u64>(),
                summary.bytes_json
            );

            // Each frame is exactly what the encoder makes of its line.
            let mut encoder = FrameEncoder::new(mode).expect("encoder");
            for (frame, line) in frames.iter().zip(&lines) {
                let v: serde_json::Value = serde_json::from_str(line).expect("json line");
                let channel = v["channel"].as_str().expect("channel");
                let again = encoder.encode(channel, line).expect("encode");
                assert_eq!(again.as_bytes(), *frame);
            }

            let dict_files: Vec<String> = fs::read_dir(&scratch.0)
                .expect("dir")
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n.ends_with(".dict"))
                .collect();
            if mode == SimReceiveType::ZstdDict {
                assert_eq!(summary.dict_ids, [740_826_216, 740_826_217, 740_826_218]);
                for d in builtin_dicts() {
                    let bytes = fs::read(scratch.0.join(format!("{}.dict", d.id))).expect("dict");
                    assert_eq!(bytes, d.bytes);
                }
                assert_eq!(dict_files.len(), 3);
            } else {
                assert!(summary.dict_ids.is_empty());
                assert!(dict_files.is_empty(), "{dict_files:?}");
            }
        }
    }

    #[test]
    fn json_corpus_frames_are_the_messages() {
        let scratch = Scratch::new("json-identity");
        write_corpus(&scratch.0, SimReceiveType::Json, 50, 8).expect("write");
        let data = fs::read(scratch.0.join(FRAMES_FILE)).expect("frames");
        let jsonl = fs::read_to_string(scratch.0.join(MESSAGES_FILE)).expect("jsonl");
        let frames = split_records(&data).expect("records");
        for (frame, line) in frames.iter().zip(jsonl.lines()) {
            assert_eq!(*frame, line.as_bytes());
        }
    }

    #[test]
    fn same_arguments_same_bytes() {
        let a = Scratch::new("det-a");
        let b = Scratch::new("det-b");
        write_corpus(&a.0, SimReceiveType::ZstdDict, 120, 3).expect("write");
        write_corpus(&b.0, SimReceiveType::ZstdDict, 120, 3).expect("write");
        for name in [FRAMES_FILE, MESSAGES_FILE] {
            assert_eq!(
                fs::read(a.0.join(name)).expect("a"),
                fs::read(b.0.join(name)).expect("b")
            );
        }
    }

    /// The frames of a `frames.bin`, split as its readers split it.
    fn split_records(data: &[u8]) -> Result<Vec<&[u8]>, usize> {
        Ok(oddsfeed_wire::split_records(data)?
            .into_iter()
            .map(|range| &data[range])
            .collect())
    }
}
