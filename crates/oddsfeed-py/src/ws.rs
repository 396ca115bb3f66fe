//! `oddsfeed.WsClient`: the WebSocket feed client for Python.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use oddsfeed::model::ws::PayloadMode;
use oddsfeed::model::{ApiKey, ReceiveType};
use oddsfeed::state::FileStore;
use oddsfeed::stats::FeedStats;
use oddsfeed::ws::{TlsMode, WsClientConfig, WsError, WsEvent, WsFilters};
use pyo3::exceptions::{PyStopAsyncIteration, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::{AuthError, FeedError, WAIT_SLICE, busy, json, lock_for_close, runtime};

/// A WebSocket feed client (OddsPapi v5 style) running in Rust threads.
///
/// Iterate it (`for msg in client` or `async for msg in client`) to receive each data
/// message as a `dict` equal to `json.loads` of the line `oddsfeed ws` prints for it. With
/// `include_events=True` the session's events come in between, as the `--events jsonl`
/// objects (`{"event": "login_ok", ...}`). The iteration ends when a `once` run's
/// connection ends; a refused API key raises `AuthError` (also without `once`), any other
/// fatal problem `FeedError`.
///
/// Memory: the client decodes ahead of the Python code into a bounded queue (`event_queue`
/// events, default 1024). When Python falls behind, the queue fills, the client stops
/// reading the socket and the server sees TCP backpressure; nothing is dropped and memory
/// does not grow. With `state`, the resume cursors of the messages handed to Python are
/// saved to that file (atomically, at most every 200 ms, and by `close()`), and a new client
/// with the same file resumes after them.
#[pyclass(module = "oddsfeed._oddsfeed", frozen, subclass)]
pub(crate) struct WsClient {
    inner: Mutex<Inner>,
    /// Set by `close()` before it takes the lock: a blocking `next` or an async wait running in
    /// another thread ends at its next slice.
    closing: AtomicBool,
}

struct Inner {
    client: Option<oddsfeed::ws::WsClient>,
    include_events: bool,
    /// An event taken by `_wait` for the next `_try_next` (async iteration).
    pending: Option<WsEvent>,
    /// The run has ended (no more items).
    ended: bool,
    /// The client's counts when `close()` took it.
    closed_stats: FeedStats,
}

/// What one look at the client gave.
enum Step {
    /// An item for Python.
    Item(Py<PyAny>),
    /// An event Python did not ask for (events off): look again.
    Skip,
    /// Nothing queued right now.
    Empty,
    /// The run is over.
    End,
}

impl Inner {
    /// The next event without waiting: the pending one, or one from the queue.
    /// `None` when nothing is ready now, or when the run is over: the wait that follows tells
    /// them apart (`next` gives `None` only when over).
    fn try_take(&mut self) -> Option<WsEvent> {
        if let Some(event) = self.pending.take() {
            return Some(event);
        }
        self.client.as_mut()?.try_next()
    }

    /// Waits up to one slice (without the GIL) for an event and keeps it as pending. Returns
    /// false when the run is over.
    fn wait_slice(&mut self) -> bool {
        if self.pending.is_some() {
            return true;
        }
        let Some(client) = self.client.as_mut() else {
            return false;
        };
        let Ok(rt) = runtime() else {
            return false;
        };
        match rt.block_on(async { tokio::time::timeout(WAIT_SLICE, client.next()).await }) {
            Ok(Some(event)) => {
                self.pending = Some(event);
                true
            }
            Ok(None) => {
                self.ended = true;
                false
            }
            Err(_elapsed) => true,
        }
    }

    /// Looks once, converting what it finds.
    fn step(&mut self, py: Python<'_>) -> PyResult<Step> {
        if self.ended {
            return Ok(Step::End);
        }
        if self.client.is_none() && self.pending.is_none() {
            self.ended = true;
            return Ok(Step::End);
        }
        let Some(event) = self.try_take() else {
            return Ok(Step::Empty);
        };
        self.convert(py, event)
    }

    fn convert(&mut self, py: Python<'_>, event: WsEvent) -> PyResult<Step> {
        if let Some(line) = oddsfeed::jsonl::ws_data_line(&event) {
            return Ok(Step::Item(json::loads(py, line)?.unbind()));
        }
        match event {
            WsEvent::Fatal(error) => {
                self.ended = true;
                Err(client_error(&error))
            }
            WsEvent::Finished => {
                self.ended = true;
                Ok(Step::End)
            }
            other if self.include_events => match oddsfeed::jsonl::ws_event_object(&other) {
                Some(object) => Ok(Step::Item(json::from_map(py, &object)?.into_any().unbind())),
                None => Ok(Step::Skip),
            },
            _ => Ok(Step::Skip),
        }
    }
}

/// The Python exception for a fatal client error.
fn client_error(error: &WsError) -> PyErr {
    let text = error.to_string();
    if error.is_auth_refused() {
        AuthError::new_err(text)
    } else {
        FeedError::new_err(text)
    }
}

/// The login filters from `**filters`.
fn filters_from(kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<WsFilters> {
    let mut filters = WsFilters::default();
    let Some(kwargs) = kwargs else {
        return Ok(filters);
    };
    for (key, value) in kwargs.iter() {
        let key: String = key.extract()?;
        if value.is_none() {
            continue;
        }
        match key.as_str() {
            "sport_ids" => filters.sport_ids = Some(value.extract()?),
            "tournament_ids" => filters.tournament_ids = Some(value.extract()?),
            "fixture_ids" => filters.fixture_ids = Some(value.extract()?),
            "future_ids" => filters.future_ids = Some(value.extract()?),
            "bookmakers" => filters.bookmakers = Some(value.extract()?),
            "lang" => filters.lang = Some(value.extract()?),
            "client_name" => filters.client_name = Some(value.extract()?),
            "pregame" => filters.pregame = Some(value.extract()?),
            "live" => filters.live = Some(value.extract()?),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "WsClient() got an unexpected keyword argument '{other}' (filters: sport_ids, \
                     tournament_ids, fixture_ids, future_ids, bookmakers, lang, client_name, \
                     pregame, live)"
                )));
            }
        }
    }
    Ok(filters)
}

impl WsClient {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Inner>> {
        match self.inner.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(busy()),
        }
    }
}

#[pymethods]
impl WsClient {
    /// Connects in the background (this call does not wait for the server).
    #[new]
    #[pyo3(signature = (url, api_key, channels=None, receive_type="zstd-dict", state=None,
        once=false, include_events=false, event_queue=1024, insecure=false, **filters))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        url: String,
        api_key: String,
        channels: Option<Vec<String>>,
        receive_type: &str,
        state: Option<PathBuf>,
        once: bool,
        include_events: bool,
        event_queue: usize,
        insecure: bool,
        filters: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let receive_type: ReceiveType = receive_type.parse().map_err(|_| {
            PyValueError::new_err(format!(
                "receive_type must be one of json, binary, zstd, zstd-dict (got {receive_type:?})"
            ))
        })?;
        if event_queue == 0 {
            return Err(PyValueError::new_err("event_queue must be at least 1"));
        }
        // Python gets `raw` as a dict, never the typed payload: decode only the envelope.
        let mut builder = WsClientConfig::builder(url, ApiKey::new(api_key))
            .payload_mode(PayloadMode::Envelope)
            .receive_type(receive_type)
            .filters(filters_from(filters)?)
            .once(once)
            .event_queue(event_queue);
        if let Some(channels) = channels {
            builder = builder.channels(channels);
        }
        if insecure {
            builder = builder.tls(TlsMode::InsecureNoVerify);
        }
        if let Some(path) = state {
            builder = builder.store(FileStore::new(path));
        }
        let config = builder.build().map_err(|e| client_error(&e))?;
        let rt = runtime()?;
        let _guard = rt.enter();
        let client = oddsfeed::ws::WsClient::start(config).map_err(|e| client_error(&e))?;
        Ok(Self {
            closing: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                client: Some(client),
                include_events,
                pending: None,
                ended: false,
                closed_stats: FeedStats::default(),
            }),
        })
    }

    fn __iter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    /// The next message (or event), waiting for it with the GIL released.
    fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut inner = self.lock()?;
        loop {
            match inner.step(py)? {
                Step::Item(item) => return Ok(Some(item)),
                Step::Skip => {}
                Step::End => return Ok(None),
                Step::Empty => {
                    let state: &mut Inner = &mut inner;
                    py.detach(|| state.wait_slice());
                    py.check_signals()?;
                    if self.closing.load(Ordering::Relaxed) {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// The next item if one is ready now, else `None`; raises `StopAsyncIteration` at the end
    /// (the building block of `async for`).
    fn _try_next(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let mut inner = self.lock()?;
        loop {
            match inner.step(py)? {
                Step::Item(item) => return Ok(Some(item)),
                Step::Skip => {}
                Step::Empty => return Ok(None),
                Step::End => return Err(PyStopAsyncIteration::new_err(())),
            }
        }
    }

    /// Waits (GIL released) up to `timeout` seconds until an item may be ready; for
    /// `async for`, which runs it in an executor thread.
    #[pyo3(signature = (timeout=0.25))]
    fn _wait(&self, py: Python<'_>, timeout: f64) -> PyResult<()> {
        let mut inner = self.lock()?;
        let state: &mut Inner = &mut inner;
        let slices = (timeout / WAIT_SLICE.as_secs_f64()).ceil().max(1.0) as u32;
        py.detach(|| {
            for _ in 0..slices {
                if self.closing.load(Ordering::Relaxed) {
                    break;
                }
                if !state.wait_slice() || state.pending.is_some() {
                    break;
                }
            }
        });
        Ok(())
    }

    /// The counts since start, with the keys of the CLI's `stats` event: `messages` (data
    /// messages taken from the client), `channels` (channel → messages), `frames`,
    /// `wire_bytes`, `decoded_bytes`, `decode_errors`, `reconnects`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = self.lock()?;
        let stats = match &inner.client {
            Some(client) => client.stats(),
            None => inner.closed_stats.clone(),
        };
        json::stats_dict(py, &stats)
    }

    /// Saves the resume cursors now (when a `state` file is set and they changed).
    fn save_state(&self, py: Python<'_>) -> PyResult<()> {
        let mut inner = self.lock()?;
        let state: &mut Inner = &mut inner;
        match state.client.as_mut() {
            Some(client) => {
                let rt = runtime()?;
                py.detach(|| rt.block_on(client.save_state()))
                    .map_err(|e| client_error(&e))
            }
            None => Ok(()),
        }
    }

    /// Stops the client: closes the connection (waiting up to 2 s) and saves the cursors a
    /// last time. Iteration ends. Calling it again does nothing. From another thread it ends
    /// a waiting iteration there first.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.closing.store(true, Ordering::Relaxed);
        let mut inner = lock_for_close(py, &self.inner);
        inner.ended = true;
        inner.pending = None;
        let Some(client) = inner.client.take() else {
            return Ok(());
        };
        inner.closed_stats = client.stats();
        let rt = runtime()?;
        py.detach(|| rt.block_on(client.close()))
            .map_err(|e| client_error(&e))
    }

    fn __enter__(slf: Bound<'_, Self>) -> Bound<'_, Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, py: Python<'_>, _args: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }
}
