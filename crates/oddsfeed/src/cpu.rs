//! Which CPU the calling thread runs on, for the WebSocket driver's hand-over (see
//! `ws::driver`): after handing a batch to an application that was waiting, the driver gives up
//! its CPU when the application's thread went to sleep on the same one, so the application runs
//! now instead of after the driver's time slice.

/// No CPU known (before the application first waited, or where the platform cannot say).
pub(crate) const UNKNOWN: i32 = -1;

/// The CPU the calling thread runs on now, or [`UNKNOWN`].
#[cfg(target_os = "linux")]
pub(crate) fn current() -> i32 {
    i32::try_from(rustix::thread::sched_getcpu()).unwrap_or(UNKNOWN)
}

/// The CPU the calling thread runs on now, or [`UNKNOWN`].
#[cfg(not(target_os = "linux"))]
pub(crate) fn current() -> i32 {
    UNKNOWN
}
