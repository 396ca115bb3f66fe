//! `oddsfeed.ImgClient`: the IMG Arena-style newline-JSON feed client for Python.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use oddsfeed::img::{HostKeyCheck, ImgError, ImgEvent, SshSettings, Transport};
use oddsfeed::model::img::Request;
use oddsfeed::stats::FeedStats;
use pyo3::exceptions::{PyStopAsyncIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

use crate::{AuthError, FeedError, HostKeyError, WAIT_SLICE, busy, json, lock_for_close, runtime};

/// An IMG Arena-style feed client (newline JSON over SSH, or plain TCP for local
/// simulators) running in Rust threads.
///
/// Iterate it (`for msg in client` / `async for`) to receive every JSON object the server
/// sends (responses, pushes, disconnect notices, unknown objects) as a `dict` equal to
/// `json.loads` of the line `oddsfeed img` prints; heartbeat pushes only with
/// `heartbeats=True`; the session's events too with `include_events=True`. SSH checks the
/// server's host key against `known_hosts` (default `~/.ssh/known_hosts`): an unknown or
/// changed key raises `HostKeyError`, a refused key `AuthError`. The client sends `init` and
/// `requests` on every connection and reconnects with backoff until `close()` (or, with
/// `once=True`, until the connection ends). The queue towards Python is bounded
/// (`event_queue`, default 1024): a slow consumer makes the client stop reading the socket.
#[pyclass(module = "oddsfeed._oddsfeed", frozen, subclass)]
pub(crate) struct ImgClient {
    inner: Mutex<Inner>,
    /// Set by `close()` before it takes the lock: a blocking `next` or an async wait running in
    /// another thread ends at its next slice.
    closing: AtomicBool,
}

struct Inner {
    client: Option<oddsfeed::img::ImgClient>,
    heartbeats: bool,
    include_events: bool,
    pending: Option<Option<ImgEvent>>,
    ended: bool,
    /// The client's counts when `close()` took it.
    closed_stats: FeedStats,
}

enum Step {
    Item(Py<PyAny>),
    Skip,
    Empty,
    End,
}

fn img_error(error: &ImgError) -> PyErr {
    let text = error.to_string();
    match error {
        ImgError::HostKeyUnknown { .. }
        | ImgError::HostKeyChanged { .. }
        | ImgError::KnownHosts { .. } => HostKeyError::new_err(text),
        ImgError::AuthRefused { .. } => AuthError::new_err(text),
        _ => FeedError::new_err(text),
    }
}

impl Inner {
    fn wait_slice(&mut self) {
        if self.pending.is_some() {
            return;
        }
        let (Some(client), Ok(rt)) = (self.client.as_mut(), runtime()) else {
            return;
        };
        if let Ok(item) =
            rt.block_on(async { tokio::time::timeout(WAIT_SLICE, client.next()).await })
        {
            self.pending = Some(item);
        }
    }

    fn step(&mut self, py: Python<'_>) -> PyResult<Step> {
        if self.ended {
            return Ok(Step::End);
        }
        let item = match self.pending.take() {
            Some(item) => item,
            None => match self.client.as_mut() {
                None => None,
                // `try_next` says `None` both when idle and when over: the wait that follows
                // `Empty` tells them apart (`next` gives `None` only when over).
                Some(client) => match client.try_next() {
                    Some(item) => Some(item),
                    None => return Ok(Step::Empty),
                },
            },
        };
        let event = match item {
            None => {
                self.ended = true;
                return Ok(Step::End);
            }
            Some(ImgEvent::Fatal(error)) => {
                self.ended = true;
                return Err(img_error(&error));
            }
            Some(event) => event,
        };
        if let Some(line) = oddsfeed::jsonl::img_data_line(&event, self.heartbeats) {
            return Ok(Step::Item(json::loads(py, line)?.unbind()));
        }
        if matches!(event, ImgEvent::Finished) {
            self.ended = true;
            return Ok(Step::End);
        }
        if self.include_events
            && let Some(object) = oddsfeed::jsonl::img_event_object(&event)
        {
            return Ok(Step::Item(json::from_map(py, &object)?.into_any().unbind()));
        }
        Ok(Step::Skip)
    }
}

impl ImgClient {
    fn lock(&self) -> PyResult<std::sync::MutexGuard<'_, Inner>> {
        match self.inner.try_lock() {
            Ok(guard) => Ok(guard),
            Err(std::sync::TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => Err(busy()),
        }
    }
}

/// One request: a dict or a JSON string with a string `request` (and optional `msg`,
/// `request_id`).
fn request_from(item: &Bound<'_, PyAny>) -> PyResult<Request> {
    let text: String = if let Ok(text) = item.cast::<PyString>() {
        text.to_cow()?.into_owned()
    } else {
        let json = item.py().import("json")?;
        json.call_method1("dumps", (item,))?.extract()?
    };
    oddsfeed::jsonl::img_request(&text)
        .map_err(|e| PyValueError::new_err(format!("bad request {text}: {e}")))
}

#[pymethods]
impl ImgClient {
    /// Starts the client in the background.
    #[new]
    #[pyo3(signature = (addr, tcp=None, requests=None, include_finished=false, heartbeats=false,
        user=None, identity=None, known_hosts=None, once=false, include_events=false,
        event_queue=1024))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        addr: String,
        tcp: Option<bool>,
        requests: Option<&Bound<'_, PyList>>,
        include_finished: bool,
        heartbeats: bool,
        user: Option<String>,
        identity: Option<PathBuf>,
        known_hosts: Option<PathBuf>,
        once: bool,
        include_events: bool,
        event_queue: usize,
    ) -> PyResult<Self> {
        let ssh = user.is_some() || identity.is_some();
        let transport = match (ssh, tcp) {
            (true, Some(true)) => {
                return Err(PyValueError::new_err(
                    "choose TCP (tcp=True) or SSH (user=, identity=), not both",
                ));
            }
            (true, _) => {
                let (Some(user), Some(identity)) = (user, identity) else {
                    return Err(PyValueError::new_err("SSH needs both user= and identity="));
                };
                let known_hosts = match known_hosts {
                    Some(path) => path,
                    None => match std::env::var_os("HOME") {
                        Some(home) if !home.is_empty() => {
                            PathBuf::from(home).join(".ssh").join("known_hosts")
                        }
                        _ => {
                            return Err(PyValueError::new_err(
                                "HOME is not set: give known_hosts=",
                            ));
                        }
                    },
                };
                Transport::Ssh(SshSettings {
                    addr,
                    user,
                    identity,
                    host_key_check: HostKeyCheck::KnownHosts(known_hosts),
                    insecure_allow_sha1_rsa: false,
                })
            }
            (false, Some(false)) => {
                return Err(PyValueError::new_err(
                    "tcp=False needs SSH settings (user=, identity=, known_hosts=)",
                ));
            }
            (false, _) => Transport::Tcp { addr },
        };
        let mut builder = oddsfeed::img::ImgClientConfig::builder(transport)
            .include_finished(include_finished)
            .count_heartbeats(heartbeats)
            .once(once)
            .event_queue(event_queue);
        if let Some(requests) = requests {
            for item in requests.iter() {
                builder = builder.request(request_from(&item)?);
            }
        }
        let config = builder.build().map_err(|e| img_error(&e))?;
        let rt = runtime()?;
        let _guard = rt.enter();
        let client = oddsfeed::img::ImgClient::start(config).map_err(|e| img_error(&e))?;
        Ok(Self {
            closing: AtomicBool::new(false),
            inner: Mutex::new(Inner {
                client: Some(client),
                heartbeats,
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

    /// The next object (or event), waiting for it with the GIL released.
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

    /// The next item if one is ready now, else `None`; `StopAsyncIteration` at the end.
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

    /// Waits (GIL released) up to `timeout` seconds until an item may be ready.
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
                state.wait_slice();
                if state.pending.is_some() {
                    break;
                }
            }
        });
        Ok(())
    }

    /// The counts since start, with the keys of the CLI's `stats` event: `messages` (objects
    /// taken from the client; heartbeats only with `heartbeats=True`), `channels` (kind →
    /// messages), `frames` (lines), `wire_bytes`, `decoded_bytes`, `decode_errors`,
    /// `reconnects`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = self.lock()?;
        let stats = match &inner.client {
            Some(client) => client.stats(),
            None => inner.closed_stats.clone(),
        };
        json::stats_dict(py, &stats)
    }

    /// Stops the client and closes its connection. Iteration ends. From another thread it
    /// ends a waiting iteration there first.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.closing.store(true, Ordering::Relaxed);
        let mut inner = lock_for_close(py, &self.inner);
        inner.ended = true;
        inner.pending = None;
        if let Some(client) = inner.client.take() {
            inner.closed_stats = client.stats();
            let rt = runtime()?;
            let _guard = rt.enter();
            drop(client);
        }
        Ok(())
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
