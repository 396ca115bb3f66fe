//! How long a message waits inside the client: from the moment the driver read its frame off
//! the socket to the moment the application took it from [`WsClient::next`] or
//! [`WsClient::try_next`].
//!
//! The span covers decompression, parsing, the session's bookkeeping, the queue between the
//! driver task and the application, and the application's own lateness in asking for the next
//! event. It does not cover the time a frame spent in the kernel's socket buffer before the
//! driver read it, nor anything after `next` returned.
//!
//! The driver stamps each batch of events with the time it read the batch's first frame (the
//! frames read after it while the batch filled count from that earlier time, so a figure is
//! never too low). Percentiles come from an HdrHistogram with three significant digits
//! (nanosecond values from 1 ns to one hour; longer waits count as one hour).
//!
//! [`WsClient::next`]: crate::ws::WsClient::next
//! [`WsClient::try_next`]: crate::ws::WsClient::try_next

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The longest wait the histogram tells apart: one hour, in nanoseconds.
const HIGHEST_NANOS: u64 = 3_600 * 1_000_000_000;

/// Percentiles of the delivery latency of a run, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct LatencySummary {
    /// Data messages measured.
    pub count: u64,
    /// Median.
    pub p50_us: f64,
    /// 90th percentile.
    pub p90_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
    /// 99.9th percentile.
    pub p999_us: f64,
    /// The largest.
    pub max_us: f64,
}

/// The recorder: one histogram, owned by the application's side of a client (no lock).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryLatency {
    histogram: Histogram<u64>,
}

impl DeliveryLatency {
    pub(crate) fn new() -> Self {
        // Three significant digits over 1 ns ..= 1 h: a few tens of KiB, allocated once. The
        // bounds are constants that satisfy the constructor's rules (low >= 1, high >= 2 * low,
        // at most 5 digits), so it cannot fail.
        let histogram = Histogram::new_with_bounds(1, HIGHEST_NANOS, 3)
            .expect("constant histogram bounds are valid");
        Self { histogram }
    }

    /// One message that waited `wait`.
    pub(crate) fn record(&mut self, wait: Duration) {
        let nanos = u64::try_from(wait.as_nanos()).unwrap_or(HIGHEST_NANOS);
        self.histogram
            .saturating_record(nanos.clamp(1, HIGHEST_NANOS));
    }

    /// The percentiles so far; `None` before the first message.
    pub(crate) fn summary(&self) -> Option<LatencySummary> {
        let h = &self.histogram;
        if h.is_empty() {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let us = |nanos: u64| nanos as f64 / 1_000.0;
        Some(LatencySummary {
            count: h.len(),
            p50_us: us(h.value_at_quantile(0.50)),
            p90_us: us(h.value_at_quantile(0.90)),
            p99_us: us(h.value_at_quantile(0.99)),
            p999_us: us(h.value_at_quantile(0.999)),
            max_us: us(h.max()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_waits() {
        let mut latency = DeliveryLatency::new();
        assert_eq!(latency.summary(), None);
        for micros in 1..=1000 {
            latency.record(Duration::from_micros(micros));
        }
        let s = latency.summary().expect("recorded");
        assert_eq!(s.count, 1000);
        // Three significant digits: within 0.1% of the exact values.
        let close = |got: f64, want: f64| (got - want).abs() <= want * 0.001 + 0.001;
        assert!(close(s.p50_us, 500.0), "{s:?}");
        assert!(close(s.p99_us, 990.0), "{s:?}");
        assert!(close(s.p999_us, 999.0), "{s:?}");
        assert!(close(s.max_us, 1000.0), "{s:?}");
    }

    #[test]
    fn waits_beyond_an_hour_and_zero_are_kept() {
        let mut latency = DeliveryLatency::new();
        latency.record(Duration::ZERO);
        latency.record(Duration::from_secs(7_200));
        let s = latency.summary().expect("recorded");
        assert_eq!(s.count, 2);
        assert!(s.max_us >= 3_599_000_000.0, "{s:?}");
    }
}
