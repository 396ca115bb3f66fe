//! The facade's only access to time and randomness, in one place.
//!
//! The sans-IO sessions below never read a clock or draw a random number: the drivers hand them
//! `now` and a seed for their backoff jitter. Every driver reads both through this module, so a test
//! that pauses tokio's clock (`tokio::time::pause`) moves every deadline of the client together,
//! and there is one place to look for what is not deterministic.

/// The current instant, as the sessions expect it (tokio's clock, so a paused test runtime
/// controls it).
pub(crate) fn now() -> std::time::Instant {
    tokio::time::Instant::now().into_std()
}

/// The current instant of the machine's monotonic clock, never tokio's: for the paced replay,
/// which runs on the caller's thread and sleeps it (outside any runtime's clock).
pub(crate) fn wall_now() -> std::time::Instant {
    std::time::Instant::now()
}

/// The current instant on tokio's clock, for timers.
pub(crate) fn tokio_now() -> tokio::time::Instant {
    tokio::time::Instant::now()
}

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending::<()>().await,
    }
}

/// A random seed for a session's backoff jitter (the session draws its jitter from it).
pub(crate) fn seed() -> u64 {
    fastrand::u64(..)
}
