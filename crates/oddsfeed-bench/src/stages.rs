//! One pass over a corpus per stage: each stage does one slice of the decode work, so their
//! rates bound what the whole pipeline can reach.
//!
//! | stage | work per frame | for |
//! |---|---|---|
//! | [`RawDecompress`] | dictId → digested dictionary, one-shot `decompress_using_ddict` into a reused buffer; no bound checks, no error mapping | "decompression alone" |
//! | [`TapeParse`] | simd-json tape of the JSON (every value validated and located, nothing built) | "JSON parse alone" |
//! | [`Ceiling`] | both, the tape parsed in place in the decompression buffer | the ceiling |
//! | [`Pipeline`] | [`FrameDecoder::decode`]: the client's full path to typed messages | what `oddsfeed bench decode` times |
//! | [`Pipeline::with_payload_mode`] with [`PayloadMode::Envelope`] | the same path, the typed payload left unbuilt | what the typed payload costs on top |
//!
//! Each `pass` returns [`PassCounts`] so callers can check that every stage saw the same bytes.

use std::collections::HashMap;
use std::fmt;

use oddsfeed_model::ws::PayloadMode;
use oddsfeed_model::{ReceiveType, WsMessage};
use oddsfeed_session::ws::{
    DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_FRAME, DecodeError, FrameDecoder, FrameKind,
};
use simd_json::{Buffers, Tape};
use zstd_safe::zstd_sys::ZSTD_ErrorCode;
use zstd_safe::{DCtx, DDict};

use crate::Corpus;

/// Initial capacity of the decompression buffer of [`RawDecompress`]; it doubles (up to
/// [`DEFAULT_MAX_DECOMPRESSED`]) when a frame does not fit, and stays grown.
pub const RAW_INITIAL_CAPACITY: usize = 256 << 10;

/// What one pass over a corpus did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassCounts {
    /// Frames (or messages) handled.
    pub frames: u64,
    /// Bytes produced for the JSON parser: decompressed bytes, or the frame itself when it is
    /// not compressed.
    pub bytes_out: u64,
}

/// Why a stage could not handle a frame or a corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageError(pub String);

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StageError {}

/// Decompression alone: the least work that turns a frame into JSON bytes.
pub struct RawDecompress {
    dctx: DCtx<'static>,
    ddicts: HashMap<u32, DDict<'static>>,
    out: Vec<u8>,
}

impl fmt::Debug for RawDecompress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawDecompress")
            .field("dict_ids", &self.ddicts.keys().collect::<Vec<_>>())
            .field("capacity", &self.out.capacity())
            .finish_non_exhaustive()
    }
}

impl RawDecompress {
    /// A context with the corpus' dictionaries digested.
    ///
    /// # Errors
    ///
    /// A dictionary libzstd cannot load.
    pub fn new(corpus: &Corpus) -> Result<Self, StageError> {
        let mut ddicts = HashMap::new();
        for (id, bytes) in corpus.dicts() {
            let ddict = DDict::try_create(bytes)
                .ok_or_else(|| StageError(format!("{id}.dict: libzstd cannot load it")))?;
            ddicts.insert(*id, ddict);
        }
        Ok(Self {
            dctx: DCtx::create(),
            ddicts,
            out: Vec::with_capacity(RAW_INITIAL_CAPACITY),
        })
    }

    /// Decompresses one frame with the dictionary its header names (none for dictId 0) and
    /// returns the output, mutable so it can be parsed in place.
    ///
    /// # Errors
    ///
    /// An unknown dictId, or libzstd's error name.
    pub fn decompress(&mut self, frame: &[u8]) -> Result<&mut [u8], StageError> {
        let ddict = match zstd_safe::get_dict_id_from_frame(frame) {
            None => None,
            Some(id) => Some(
                self.ddicts
                    .get(&id.get())
                    .ok_or_else(|| StageError(format!("unknown dictId {id}")))?,
            ),
        };
        loop {
            self.out.clear();
            let result = match ddict {
                Some(ddict) => self
                    .dctx
                    .decompress_using_ddict(&mut self.out, frame, ddict),
                None => self.dctx.decompress(&mut self.out, frame),
            };
            match result {
                Ok(_) => return Ok(self.out.as_mut_slice()),
                Err(code)
                    if zstd_safe::is_error_kind(
                        code,
                        ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall,
                    ) && self.out.capacity() < DEFAULT_MAX_DECOMPRESSED =>
                {
                    let grown = (self.out.capacity() * 2).min(DEFAULT_MAX_DECOMPRESSED);
                    self.out = Vec::with_capacity(grown);
                }
                Err(code) => return Err(StageError(zstd_safe::get_error_name(code).to_owned())),
            }
        }
    }

    /// Decompresses every frame of the corpus once.
    ///
    /// # Errors
    ///
    /// The first frame that fails.
    pub fn pass(&mut self, corpus: &Corpus) -> Result<PassCounts, StageError> {
        let mut counts = PassCounts::default();
        for frame in corpus.frames() {
            let out = self.decompress(frame)?;
            counts.bytes_out += out.len() as u64;
            counts.frames += 1;
            std::hint::black_box(out);
        }
        Ok(counts)
    }
}

/// JSON parsing alone: simd-json builds its tape (every token validated, strings unescaped,
/// numbers parsed) and nothing else. Buffers and the tape are reused across messages.
pub struct TapeParse {
    buffers: Buffers,
    tape: Option<Tape<'static>>,
    scratch: Vec<u8>,
}

impl fmt::Debug for TapeParse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TapeParse").finish_non_exhaustive()
    }
}

impl Default for TapeParse {
    fn default() -> Self {
        Self::new()
    }
}

impl TapeParse {
    /// A parser with scratch space for 64 KiB messages (it grows as needed).
    #[must_use]
    pub fn new() -> Self {
        Self {
            buffers: Buffers::new(64 << 10),
            tape: Some(Tape::null()),
            scratch: Vec::new(),
        }
    }

    /// Parses one document in place (simd-json rewrites `json`); returns the tape's length.
    ///
    /// # Errors
    ///
    /// simd-json's error, as text.
    pub fn parse(&mut self, json: &mut [u8]) -> Result<usize, StageError> {
        let mut tape = self.tape.take().unwrap_or_else(Tape::null).reset();
        let result = simd_json::fill_tape(json, &mut self.buffers, &mut tape);
        let nodes = tape.0.len();
        std::hint::black_box(&tape);
        self.tape = Some(tape.reset());
        result
            .map(|()| nodes)
            .map_err(|e| StageError(format!("simd-json: {e}")))
    }

    /// Parses every message once. Each is first copied into a reused buffer (simd-json parses
    /// in place); the copy stands in for the decompressor writing it and costs ~1% of a parse.
    ///
    /// # Errors
    ///
    /// The first message that is not JSON.
    pub fn pass(&mut self, messages: &[Vec<u8>]) -> Result<PassCounts, StageError> {
        let mut counts = PassCounts::default();
        let mut scratch = std::mem::take(&mut self.scratch);
        for message in messages {
            scratch.clear();
            scratch.extend_from_slice(message);
            self.parse(&mut scratch)?;
            counts.frames += 1;
            counts.bytes_out += message.len() as u64;
        }
        self.scratch = scratch;
        Ok(counts)
    }
}

/// The decode ceiling: [`RawDecompress`] then [`TapeParse`] in place, per frame. For a `json`
/// corpus, parsing alone.
#[derive(Debug)]
pub struct Ceiling {
    raw: RawDecompress,
    parse: TapeParse,
    compressed: bool,
}

impl Ceiling {
    /// The stages for this corpus.
    ///
    /// # Errors
    ///
    /// A dictionary that does not load, or a `binary` (MessagePack) corpus, which has no JSON
    /// to parse.
    pub fn new(corpus: &Corpus) -> Result<Self, StageError> {
        let compressed = match corpus.mode() {
            ReceiveType::Zstd | ReceiveType::ZstdDict => true,
            ReceiveType::Json => false,
            _ => {
                return Err(StageError(
                    "the ceiling stages need JSON or zstd frames, not MessagePack".to_owned(),
                ));
            }
        };
        Ok(Self {
            raw: RawDecompress::new(corpus)?,
            parse: TapeParse::new(),
            compressed,
        })
    }

    /// Decompresses and parses every frame once.
    ///
    /// # Errors
    ///
    /// The first frame that fails either step.
    pub fn pass(&mut self, corpus: &Corpus) -> Result<PassCounts, StageError> {
        let mut counts = PassCounts::default();
        let mut scratch = Vec::new();
        for frame in corpus.frames() {
            let json: &mut [u8] = if self.compressed {
                self.raw.decompress(frame)?
            } else {
                scratch.clear();
                scratch.extend_from_slice(frame);
                &mut scratch
            };
            counts.bytes_out += json.len() as u64;
            counts.frames += 1;
            self.parse.parse(json)?;
        }
        Ok(counts)
    }
}

/// The JSON messages of a corpus, decompressed once ahead of time: the input of
/// [`TapeParse::pass`] and of the parser benches.
///
/// # Errors
///
/// A `binary` corpus, or a frame that does not decompress.
pub fn json_messages(corpus: &Corpus) -> Result<Vec<Vec<u8>>, StageError> {
    match corpus.mode() {
        ReceiveType::Json => Ok(corpus.frames().map(<[u8]>::to_vec).collect()),
        ReceiveType::Zstd | ReceiveType::ZstdDict => {
            let mut raw = RawDecompress::new(corpus)?;
            corpus
                .frames()
                .map(|frame| raw.decompress(frame).map(|json| json.to_vec()))
                .collect()
        }
        _ => Err(StageError(
            "a binary corpus holds MessagePack, not JSON".to_owned(),
        )),
    }
}

/// The client's decode path, exactly as `oddsfeed bench decode` runs it: a
/// [`FrameDecoder`] in the corpus' mode with the corpus' dictionaries and the default bounds.
pub struct Pipeline {
    decoder: FrameDecoder,
    kind: FrameKind,
    out: Vec<Result<WsMessage, DecodeError>>,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("decoder", &self.decoder)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Pipeline {
    /// A decoder for this corpus.
    ///
    /// # Errors
    ///
    /// A dictionary the store refuses.
    pub fn new(corpus: &Corpus) -> Result<Self, StageError> {
        Self::with_payload_mode(corpus, PayloadMode::Typed)
    }

    /// A decoder for this corpus that decodes data messages as far as `payload_mode` says
    /// ([`PayloadMode::Envelope`]: everything but the typed payload, as the relay and the
    /// Python client decode).
    ///
    /// # Errors
    ///
    /// A dictionary the store refuses.
    pub fn with_payload_mode(
        corpus: &Corpus,
        payload_mode: PayloadMode,
    ) -> Result<Self, StageError> {
        let mode = corpus.mode();
        let mut decoder = FrameDecoder::new(DEFAULT_MAX_FRAME, DEFAULT_MAX_DECOMPRESSED)
            .with_mode(Some(mode))
            .with_payload_mode(payload_mode);
        *decoder.dicts_mut() = corpus.dict_store().map_err(StageError)?;
        let kind = match mode {
            ReceiveType::Json => FrameKind::Text,
            _ => FrameKind::Binary,
        };
        Ok(Self {
            decoder,
            kind,
            out: Vec::with_capacity(4),
        })
    }

    /// Decodes one frame and returns how many messages it gave (dropped right away).
    ///
    /// # Errors
    ///
    /// The first decode error of the frame (its reason and detail).
    pub fn decode(&mut self, frame: &[u8]) -> Result<usize, StageError> {
        self.out.clear();
        self.decoder.decode(self.kind, frame, &mut self.out);
        std::hint::black_box(&self.out);
        let mut messages = 0;
        for item in &self.out {
            match item {
                Ok(_) => messages += 1,
                Err(e) => return Err(StageError(e.to_string())),
            }
        }
        Ok(messages)
    }

    /// Decodes every frame once.
    ///
    /// # Errors
    ///
    /// The first decode error, or a frame that did not give exactly one message.
    pub fn pass(&mut self, corpus: &Corpus) -> Result<PassCounts, StageError> {
        let before = self.decoder.stats().bytes_out;
        let mut frames = 0;
        for frame in corpus.frames() {
            match self.decode(frame)? {
                1 => frames += 1,
                n => return Err(StageError(format!("a frame gave {n} messages, not 1"))),
            }
        }
        Ok(PassCounts {
            frames,
            bytes_out: self.decoder.stats().bytes_out - before,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture_corpus_dir;

    fn corpus(mode: ReceiveType) -> Corpus {
        Corpus::load(&fixture_corpus_dir(mode), mode).expect("fixture corpus")
    }

    /// Summed lengths of the fixture corpus' JSON messages.
    fn json_bytes() -> u64 {
        let path = fixture_corpus_dir(ReceiveType::Json).join("../messages.jsonl");
        let text = std::fs::read_to_string(path).expect("messages.jsonl");
        text.lines().map(|l| l.len() as u64).sum()
    }

    #[test]
    fn every_stage_sees_the_same_messages() {
        let expected = PassCounts {
            frames: 500,
            bytes_out: json_bytes(),
        };
        for mode in [ReceiveType::Json, ReceiveType::Zstd, ReceiveType::ZstdDict] {
            let corpus = corpus(mode);
            let mut ceiling = Ceiling::new(&corpus).expect("ceiling");
            assert_eq!(ceiling.pass(&corpus), Ok(expected), "{mode} ceiling");
            // Twice: reused buffers and tape give the same result.
            assert_eq!(ceiling.pass(&corpus), Ok(expected), "{mode} ceiling again");
            let mut pipeline = Pipeline::new(&corpus).expect("pipeline");
            assert_eq!(pipeline.pass(&corpus), Ok(expected), "{mode} pipeline");
            let mut envelope =
                Pipeline::with_payload_mode(&corpus, PayloadMode::Envelope).expect("envelope");
            assert_eq!(envelope.pass(&corpus), Ok(expected), "{mode} envelope");
            let messages = json_messages(&corpus).expect("messages");
            assert_eq!(
                TapeParse::new().pass(&messages),
                Ok(expected),
                "{mode} parse"
            );
            if mode != ReceiveType::Json {
                let mut raw = RawDecompress::new(&corpus).expect("raw");
                assert_eq!(raw.pass(&corpus), Ok(expected), "{mode} decompress");
            }
        }
    }

    #[test]
    fn the_decompressed_messages_are_the_original_lines() {
        let path = fixture_corpus_dir(ReceiveType::Json).join("../messages.jsonl");
        let text = std::fs::read_to_string(path).expect("messages.jsonl");
        let messages = json_messages(&corpus(ReceiveType::ZstdDict)).expect("messages");
        let lines: Vec<&[u8]> = text.lines().map(str::as_bytes).collect();
        let got: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
        assert_eq!(got, lines);
    }

    #[test]
    fn binary_corpora_only_run_the_pipeline() {
        let corpus = corpus(ReceiveType::Binary);
        assert_eq!(
            Ceiling::new(&corpus).map(|_| ()),
            Err(StageError(
                "the ceiling stages need JSON or zstd frames, not MessagePack".to_owned()
            ))
        );
        let mut pipeline = Pipeline::new(&corpus).expect("pipeline");
        let counts = pipeline.pass(&corpus).expect("pass");
        assert_eq!(counts.frames, 500);
        assert_eq!(counts.bytes_out, corpus.bytes_in());
    }

    #[test]
    fn a_frame_with_an_unknown_dictionary_is_named() {
        let dict_corpus = corpus(ReceiveType::ZstdDict);
        let frame = dict_corpus
            .frames()
            .find(|f| zstd_safe::get_dict_id_from_frame(f).is_some())
            .expect("a dictionary frame");
        let mut raw = RawDecompress::new(&corpus(ReceiveType::Zstd)).expect("no dicts");
        let err = raw.decompress(frame).map(|_| ()).expect_err("unknown dict");
        assert!(err.0.starts_with("unknown dictId 7408262"), "{err}");
    }

    #[test]
    fn a_grown_buffer_fits_large_frames() {
        // The largest fixture message goes through even from a tiny start.
        let corpus = corpus(ReceiveType::Zstd);
        let mut raw = RawDecompress::new(&corpus).expect("raw");
        raw.out = Vec::with_capacity(16);
        let largest = json_messages(&corpus)
            .expect("messages")
            .iter()
            .map(Vec::len)
            .max()
            .expect("some");
        let got = corpus
            .frames()
            .map(|f| raw.decompress(f).map(|j| j.len()))
            .collect::<Result<Vec<_>, _>>()
            .expect("all decode");
        assert_eq!(got.iter().max(), Some(&largest));
        assert!(raw.out.capacity() >= largest);
    }

    #[test]
    fn tape_parse_rejects_bad_json() {
        let mut parser = TapeParse::new();
        assert_eq!(parser.parse(&mut br#"{"a":[1,2]}"#.to_vec()), Ok(5));
        let err = parser.parse(&mut b"{oops".to_vec()).expect_err("bad json");
        assert!(err.0.starts_with("simd-json: "), "{err}");
    }
}
