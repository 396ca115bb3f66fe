//! Where a client keeps its resume cursors between runs.
//!
//! A WebSocket session resumes after a reconnect from its cursors: the server's epoch and the last
//! entryId per channel ([`ResumeState`], docs/PROTOCOL.md B.9). Inside one process the session keeps them
//! in memory; to survive a restart they must be written somewhere. A [`CursorStore`] is that
//! somewhere:
//!
//! - [`MemoryStore`]: nothing survives the process (the default).
//! - [`FileStore`]: the CLI's `--state` JSON file,
//!   `{"serverEpoch":"...","lastSeenId":{"<channel>":"<entryId>"}}`, replaced atomically on every
//!   save (temporary file in the same directory, `fsync`, `rename`, then `fsync` of the directory),
//!   so a crash at any moment leaves either the old or the new state, never a torn file.
//!
//! The store never holds the API key: [`ResumeState`] has no field for it.
//!
//! ```
//! use oddsfeed::state::{CursorStore, FileStore};
//! use oddsfeed_model::{EntryId, ResumeState};
//!
//! let dir = std::env::temp_dir().join(format!("oddsfeed-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let store = FileStore::new(dir.join("state.json"));
//! assert_eq!(store.load()?, None); // no file yet
//!
//! let mut state = ResumeState::default();
//! state.server_epoch = Some("e1".into());
//! state.advance("scores", EntryId::new(1766418736962, 198));
//! store.save(&state)?;
//! assert_eq!(store.load()?, Some(state));
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use oddsfeed_model::ResumeState;

/// Largest state file [`FileStore::load`] reads: 1 MiB. A state holds one cursor per channel (a few
/// dozen bytes each), so anything near this is not a state file; refusing it keeps a wrong
/// `--state` path (a log, a disk image) from being read into memory.
pub const MAX_STATE_FILE: u64 = 1 << 20;

/// Why loading or saving resume cursors failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Reading or writing the file failed.
    #[error("state file {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// The file exists but is not a state file (bad JSON, a bad entryId, too large).
    #[error("state file {path} is not a resume state: {detail}")]
    Invalid {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
}

impl StateError {
    /// Always true: a state that cannot be read or written would silently lose the "no duplicate,
    /// no gap" guarantee, so the caller should stop rather than carry on without it.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        true
    }
}

/// Somewhere to keep resume cursors between runs.
///
/// `load` is called once when a client starts; `save` whenever the application decides the
/// messages it has taken so far are handled (the CLI: after flushing stdout, at most every 200 ms,
/// and before exit). Implementations must make `save` atomic: after a crash, `load` returns either
/// the previous or the new state.
pub trait CursorStore: Send + Sync + fmt::Debug {
    /// The stored state, or `None` when nothing was stored yet.
    ///
    /// # Errors
    ///
    /// [`StateError`] when the stored state exists but cannot be read.
    fn load(&self) -> Result<Option<ResumeState>, StateError>;

    /// Replaces the stored state.
    ///
    /// # Errors
    ///
    /// [`StateError::Io`] when it cannot be written; the previous state is then still in place.
    fn save(&self, state: &ResumeState) -> Result<(), StateError>;
}

/// A store in memory: starts empty (or from a given state) and forgets everything with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<Option<ResumeState>>,
}

impl MemoryStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A store that starts with `state`.
    #[must_use]
    pub fn with_state(state: ResumeState) -> Self {
        Self {
            state: Mutex::new(Some(state)),
        }
    }

    /// What was saved last (or given at construction), if anything.
    #[must_use]
    pub fn get(&self) -> Option<ResumeState> {
        match self.state.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

impl CursorStore for MemoryStore {
    fn load(&self) -> Result<Option<ResumeState>, StateError> {
        Ok(self.get())
    }

    fn save(&self, state: &ResumeState) -> Result<(), StateError> {
        let mut guard = match self.state.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(state.clone());
        Ok(())
    }
}

/// The `--state` file: JSON, replaced atomically on every save.
///
/// A save writes `<dir>/.<name>.<pid>.<n>.tmp`, `fsync`s it, renames it over the file and
/// `fsync`s the directory (on Unix), so readers and crashes see the old or the new content, never a
/// mix. A missing file loads as `None`; an empty file too (a file created by hand with `touch`).
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    saves: AtomicU64,
}

impl FileStore {
    /// A store backed by the file at `path` (created on the first save; its directory must exist).
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            saves: AtomicU64::new(0),
        }
    }

    /// The file's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io_error(&self, source: io::Error) -> StateError {
        StateError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn temp_path(&self) -> PathBuf {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "state".to_owned());
        let n = self.saves.fetch_add(1, Ordering::Relaxed);
        let temp = format!(".{name}.{}.{n}.tmp", std::process::id());
        self.path.with_file_name(temp)
    }
}

impl CursorStore for FileStore {
    fn load(&self) -> Result<Option<ResumeState>, StateError> {
        let file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io_error(e)),
        };
        let len = file.metadata().map_err(|e| self.io_error(e))?.len();
        if len > MAX_STATE_FILE {
            return Err(StateError::Invalid {
                path: self.path.clone(),
                detail: format!(
                    "{len} bytes, more than the {MAX_STATE_FILE} a state file may have"
                ),
            });
        }
        let text = fs::read_to_string(&self.path).map_err(|e| self.io_error(e))?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        ResumeState::from_json(&text)
            .map(Some)
            .map_err(|e| StateError::Invalid {
                path: self.path.clone(),
                detail: e.to_string(),
            })
    }

    fn save(&self, state: &ResumeState) -> Result<(), StateError> {
        let temp = self.temp_path();
        let result = write_synced(&temp, state.to_json().as_bytes())
            .and_then(|()| fs::rename(&temp, &self.path));
        if let Err(e) = result {
            // Best effort: do not leave temporary files behind.
            let _ = fs::remove_file(&temp);
            return Err(self.io_error(e));
        }
        sync_parent_dir(&self.path);
        Ok(())
    }
}

/// Creates `path` (failing if it exists), writes `bytes` and a newline, and flushes them to disk.
fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    file.sync_all()
}

/// Makes a rename durable by syncing the directory that holds `path` (Unix only; best effort, as
/// some file systems refuse to sync a directory).
fn sync_parent_dir(path: &Path) {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;
    use oddsfeed_model::EntryId;

    fn sample() -> ResumeState {
        let mut state = ResumeState {
            server_epoch: Some("0804ab61513c4681a3afd8afc1fb2f75".into()),
            ..ResumeState::default()
        };
        state.advance("scores", EntryId::new(1_766_418_736_962, 198));
        state.advance("fixtures", EntryId::new(1_766_414_833_582, 2542));
        state
    }

    fn temp_dir() -> tempfile::TempDir {
        match tempfile::tempdir() {
            Ok(dir) => dir,
            Err(e) => panic!("cannot create a temp dir: {e}"),
        }
    }

    #[test]
    fn missing_and_empty_files_load_as_none() {
        let dir = temp_dir();
        let store = FileStore::new(dir.path().join("state.json"));
        assert!(matches!(store.load(), Ok(None)));
        assert!(fs::write(store.path(), "  \n").is_ok());
        assert!(matches!(store.load(), Ok(None)));
    }

    #[test]
    fn save_then_load_round_trips_the_cli_format() {
        let dir = temp_dir();
        let store = FileStore::new(dir.path().join("state.json"));
        let state = sample();
        assert!(store.save(&state).is_ok());
        let text = fs::read_to_string(store.path()).unwrap_or_default();
        assert_eq!(
            text,
            "{\"serverEpoch\":\"0804ab61513c4681a3afd8afc1fb2f75\",\"lastSeenId\":\
             {\"fixtures\":\"1766414833582-2542\",\"scores\":\"1766418736962-198\"}}\n"
        );
        assert_eq!(store.load().ok().flatten(), Some(state));
    }

    #[test]
    fn save_replaces_and_leaves_no_temporary_file() {
        let dir = temp_dir();
        let store = FileStore::new(dir.path().join("state.json"));
        let mut state = sample();
        for seq in 0..5 {
            state.advance("odds", EntryId::new(1_766_418_800_000, seq));
            assert!(store.save(&state).is_ok());
        }
        assert_eq!(store.load().ok().flatten(), Some(state));
        let names: Vec<String> = fs::read_dir(dir.path())
            .map(|it| {
                it.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(names, ["state.json"]);
    }

    #[test]
    fn a_bad_file_is_invalid_and_names_the_path() {
        let dir = temp_dir();
        let path = dir.path().join("state.json");
        assert!(fs::write(&path, r#"{"lastSeenId":{"scores":"oops"}}"#).is_ok());
        let store = FileStore::new(&path);
        match store.load() {
            Err(StateError::Invalid { path: p, detail }) => {
                assert_eq!(p, path);
                assert!(!detail.is_empty());
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn an_oversized_file_is_refused_without_reading_it() {
        let dir = temp_dir();
        let path = dir.path().join("big.json");
        let file = File::create(&path);
        assert!(file.and_then(|f| f.set_len(MAX_STATE_FILE + 1)).is_ok());
        match FileStore::new(&path).load() {
            Err(StateError::Invalid { detail, .. }) => {
                assert_eq!(
                    detail,
                    "1048577 bytes, more than the 1048576 a state file may have"
                );
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn saving_into_a_missing_directory_is_an_io_error_and_cleans_up() {
        let dir = temp_dir();
        let store = FileStore::new(dir.path().join("no-such-dir").join("state.json"));
        match store.save(&sample()) {
            Err(StateError::Io { source, .. }) => {
                assert_eq!(source.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("expected Io, got {other:?}"),
        }
    }

    #[test]
    fn memory_store_keeps_the_last_save() {
        let store = MemoryStore::new();
        assert!(matches!(store.load(), Ok(None)));
        assert!(store.save(&sample()).is_ok());
        assert_eq!(store.load().ok().flatten(), Some(sample()));
        let seeded = MemoryStore::with_state(ResumeState::default());
        assert_eq!(seeded.get(), Some(ResumeState::default()));
    }
}
