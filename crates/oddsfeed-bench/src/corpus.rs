//! [`Corpus`]: a decode corpus (docs/CLI.md `bench decode` layout) held in memory.

use std::fmt;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use oddsfeed_model::ReceiveType;
use oddsfeed_wire::split_records;
use oddsfeed_zstd::DictStore;

/// Environment variable naming a directory with one corpus per mode (`<dir>/<mode>/frames.bin`)
/// to use instead of the checked-in fixtures, e.g. one written by `cargo xtask corpus`.
pub const CORPUS_ENV: &str = "ODDSFEED_BENCH_CORPUS";

/// Name of the frame records file.
const FRAMES_FILE: &str = "frames.bin";

/// The corpus directory for `mode`: `$ODDSFEED_BENCH_CORPUS/<mode>` when the variable is set,
/// else the checked-in `fixtures/corpus/<mode>` (500 messages).
#[must_use]
pub fn fixture_corpus_dir(mode: ReceiveType) -> PathBuf {
    let root = std::env::var_os(CORPUS_ENV).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/corpus"),
        PathBuf::from,
    );
    root.join(mode.as_str())
}

/// Why a corpus could not be read.
#[derive(Debug)]
#[non_exhaustive]
pub enum CorpusError {
    /// A file or the directory could not be read.
    Read {
        /// What was being read.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// `frames.bin` ends inside a record.
    Truncated {
        /// The `frames.bin` path.
        path: PathBuf,
        /// Offset of the record that is cut short.
        offset: usize,
    },
}

impl fmt::Display for CorpusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Read { path, source } => write!(f, "cannot read {}: {source}", path.display()),
            Self::Truncated { path, offset } => {
                write!(f, "{}: truncated record at byte {offset}", path.display())
            }
        }
    }
}

impl std::error::Error for CorpusError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Truncated { .. } => None,
        }
    }
}

/// A decode corpus in memory: every record of `frames.bin` in one contiguous buffer (as frames
/// sit in a socket buffer), and the raw bytes of each `<dictId>.dict`.
#[derive(Debug, Clone)]
pub struct Corpus {
    mode: ReceiveType,
    data: Vec<u8>,
    frames: Vec<Range<usize>>,
    dicts: Vec<(u32, Vec<u8>)>,
}

impl Corpus {
    /// Reads `dir/frames.bin` and every `dir/<dictId>.dict` (decimal id); other files are
    /// ignored. `mode` is the receive type the frames were recorded in.
    ///
    /// # Errors
    ///
    /// [`CorpusError::Read`] or [`CorpusError::Truncated`].
    pub fn load(dir: &Path, mode: ReceiveType) -> Result<Self, CorpusError> {
        let path = dir.join(FRAMES_FILE);
        let data = fs::read(&path).map_err(|source| CorpusError::Read {
            path: path.clone(),
            source,
        })?;
        let frames =
            split_records(&data).map_err(|offset| CorpusError::Truncated { path, offset })?;
        let read_err = |source| CorpusError::Read {
            path: dir.to_owned(),
            source,
        };
        let mut dicts = Vec::new();
        for entry in fs::read_dir(dir).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            if let Some(id) = dict_id_of(&path) {
                let bytes = fs::read(&path).map_err(|source| CorpusError::Read {
                    path: path.clone(),
                    source,
                })?;
                dicts.push((id, bytes));
            }
        }
        dicts.sort();
        Ok(Self {
            mode,
            data,
            frames,
            dicts,
        })
    }

    /// The receive type the frames are in.
    #[must_use]
    pub fn mode(&self) -> ReceiveType {
        self.mode
    }

    /// Number of frames.
    #[must_use]
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether the corpus has no frame.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// The frames, in order, exactly as they travelled.
    pub fn frames(&self) -> impl ExactSizeIterator<Item = &[u8]> + Clone + '_ {
        self.frames
            .iter()
            .map(|range| self.data.get(range.clone()).unwrap_or_default())
    }

    /// Sum of the frame lengths (`bytes_in`).
    #[must_use]
    pub fn bytes_in(&self) -> u64 {
        self.frames.iter().map(|r| r.len() as u64).sum()
    }

    /// The raw dictionaries, `(dictId, bytes)`, by ascending id.
    #[must_use]
    pub fn dicts(&self) -> &[(u32, Vec<u8>)] {
        &self.dicts
    }

    /// The dictionaries digested into a store, as a client holds them.
    ///
    /// # Errors
    ///
    /// The store's refusal of a dictionary, as text naming its id.
    pub fn dict_store(&self) -> Result<DictStore, String> {
        let mut store = DictStore::new();
        for (id, bytes) in &self.dicts {
            store
                .insert_raw(*id, bytes)
                .map_err(|e| format!("{id}.dict: {e}"))?;
        }
        Ok(store)
    }
}

/// The dictId a file name `<digits>.dict` stands for (`None` for any other file).
#[must_use]
pub fn dict_id_of(path: &Path) -> Option<u32> {
    if path.extension()? != "dict" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    if stem.is_empty() || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stem.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixture_corpora_load_with_their_dictionaries() {
        for mode in ReceiveType::ALL {
            let corpus = Corpus::load(&fixture_corpus_dir(mode), mode).expect("fixture corpus");
            assert_eq!(corpus.len(), 500, "{mode}");
            assert_eq!(corpus.mode(), mode);
            let ids: Vec<u32> = corpus.dicts().iter().map(|(id, _)| *id).collect();
            if mode == ReceiveType::ZstdDict {
                assert_eq!(ids, [740_826_216, 740_826_217, 740_826_218]);
                assert_eq!(corpus.dict_store().expect("store").len(), 3);
            } else {
                assert!(ids.is_empty(), "{mode}: {ids:?}");
            }
            let total: u64 = corpus.frames().map(|f| f.len() as u64).sum();
            assert_eq!(total, corpus.bytes_in());
        }
    }

    #[test]
    fn dict_names_are_decimal_ids() {
        assert_eq!(dict_id_of(Path::new("d/42.dict")), Some(42));
        assert_eq!(dict_id_of(Path::new("d/odds.dict")), None);
        assert_eq!(dict_id_of(Path::new("d/42.bin")), None);
    }
}
