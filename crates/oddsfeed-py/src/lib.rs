//! The `oddsfeed` Python package's extension module (`oddsfeed._oddsfeed`).
//!
//! Python code sees `ws::WsClient`, `img::ImgClient`, `decoder::Decoder` and the
//! exceptions [`FeedError`], [`AuthError`] and [`HostKeyError`]; `python/oddsfeed/__init__.py`
//! re-exports them and adds `async for`. The clients run the facade's tokio clients on one
//! shared runtime (`runtime`): connecting, decoding, deduplicating, resuming and
//! reconnecting happen on its threads without the GIL. The GIL is taken only to turn one
//! message into a `dict` (from the same JSON text the CLI prints, through the facade's
//! [`oddsfeed::jsonl`]), and a blocking wait releases it and checks for signals every
//! `WAIT_SLICE`, so Ctrl-C ends an iteration promptly.

use std::sync::OnceLock;
use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

mod decoder;
mod img;
mod json;
mod ws;

create_exception!(
    oddsfeed,
    FeedError,
    PyException,
    "A feed client stopped (or could not start): bad configuration, a failed state file, a \
     once-run that could not connect, an undecodable frame given to Decoder."
);
create_exception!(
    oddsfeed,
    AuthError,
    FeedError,
    "The server refused the credentials (API key or SSH public key). Never retried."
);
create_exception!(
    oddsfeed,
    HostKeyError,
    FeedError,
    "The SSH server's host key is unknown, changed, or the known_hosts file is unreadable."
);

/// How long a blocking wait runs without the GIL before it looks for signals
/// (`KeyboardInterrupt`).
pub(crate) const WAIT_SLICE: Duration = Duration::from_millis(50);

/// The tokio runtime every client of the process runs on: two worker threads, started on
/// first use.
pub(crate) fn runtime() -> PyResult<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("oddsfeed")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| FeedError::new_err(format!("cannot start the client runtime: {e}")))
}

/// The error for a client used from two Python threads at once.
pub(crate) fn busy() -> PyErr {
    pyo3::exceptions::PyRuntimeError::new_err(
        "this client is in use by another thread (iterate it from one thread)",
    )
}

/// Locks a client's state for `close()`: when another thread is inside a call on the client
/// (a blocking `next`, or the executor wait of `async for`, which see the `closing` flag the
/// caller set and return within one `WAIT_SLICE`), waits for it with the GIL released.
pub(crate) fn lock_for_close<'a, T>(
    py: Python<'_>,
    mutex: &'a std::sync::Mutex<T>,
) -> std::sync::MutexGuard<'a, T> {
    loop {
        match mutex.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                py.detach(|| std::thread::sleep(Duration::from_millis(1)));
            }
        }
    }
}

/// The extension module.
#[pymodule]
#[pyo3(name = "_oddsfeed")]
fn oddsfeed_py(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("FeedError", py.get_type::<FeedError>())?;
    m.add("AuthError", py.get_type::<AuthError>())?;
    m.add("HostKeyError", py.get_type::<HostKeyError>())?;
    m.add_class::<ws::WsClient>()?;
    m.add_class::<img::ImgClient>()?;
    m.add_class::<decoder::Decoder>()?;
    Ok(())
}
