//! The tokio runtime the async subcommands run on, and the `listening on` line the simulators
//! print once they accept connections.

use std::fmt::Display;
use std::future::Future;
use std::time::Duration;

/// How long [`Shutdown::Brief`] lets leftover tasks (close handshakes in flight) run.
const BRIEF: Duration = Duration::from_millis(100);

/// What happens to tasks still running once the main future has finished.
#[derive(Debug, Clone, Copy)]
pub enum Shutdown {
    /// They get 100 ms, then the runtime goes without them.
    Brief,
    /// The runtime goes at once (a blocking stdin reader may never return).
    Background,
    /// The runtime is dropped, which waits for blocking tasks.
    Wait,
}

/// Runs `future` on a new multi-threaded runtime with two workers and all drivers enabled, then
/// shuts the runtime down as `shutdown` says. `Err` is the one-line reason the runtime could not
/// start.
pub fn block_on<F: Future>(future: F, shutdown: Shutdown) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    run(runtime, future, shutdown)
}

/// Runs `future` on a new runtime with a single thread (all tasks on the calling thread) and
/// all drivers enabled, then shuts it down as `shutdown` says.
pub fn block_on_one_thread<F: Future>(future: F, shutdown: Shutdown) -> Result<F::Output, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    run(runtime, future, shutdown)
}

fn run<F: Future>(
    runtime: tokio::runtime::Runtime,
    future: F,
    shutdown: Shutdown,
) -> Result<F::Output, String> {
    let output = runtime.block_on(future);
    match shutdown {
        Shutdown::Brief => runtime.shutdown_timeout(BRIEF),
        Shutdown::Background => runtime.shutdown_background(),
        Shutdown::Wait => drop(runtime),
    }
    Ok(output)
}

/// Prints the simulators' `listening on ADDR` line (docs/CLI.md) to stderr.
pub fn announce_listening(addr: impl Display) {
    eprintln!("listening on {addr}");
}
