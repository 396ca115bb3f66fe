//! The driver's only access to time, in one place (the session itself never reads a clock).

use std::time::Instant;

/// The current instant, as the session expects it.
pub(crate) fn now() -> Instant {
    Instant::now()
}

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)).await,
        None => std::future::pending::<()>().await,
    }
}
