//! Reconnect backoff: exponential growth, a cap, full jitter, and a reset after a long-lived connection.
//!
//! Both feeds use the same policy (docs/PROTOCOL.md A.7, "Backoff"): the first delay is drawn from
//! `[0, 500 ms]`, each further attempt doubles the ceiling up to 30 s, and a connection that stayed up
//! for 60 s resets the sequence. The caller supplies the randomness (`rand_unit` in `[0, 1]`), so the
//! policy is deterministic under test and this crate needs no random-number generator.
//!
//! ```
//! use std::time::Duration;
//! use oddsfeed_session::backoff::Backoff;
//!
//! let mut backoff = Backoff::default();
//! assert_eq!(backoff.next_delay(1.0), Duration::from_millis(500));
//! assert_eq!(backoff.next_delay(1.0), Duration::from_millis(1000));
//! assert_eq!(backoff.next_delay(0.5), Duration::from_millis(1000));
//! backoff.reset();
//! assert_eq!(backoff.next_delay(0.0), Duration::ZERO);
//! ```

use std::time::Duration;

/// Default first ceiling: 500 ms.
pub const DEFAULT_INITIAL: Duration = Duration::from_millis(500);
/// Default cap on the ceiling: 30 s.
pub const DEFAULT_MAX: Duration = Duration::from_secs(30);
/// Default uptime after which the sequence starts again: 60 s.
pub const DEFAULT_RESET_AFTER: Duration = Duration::from_secs(60);
/// Default factor between consecutive ceilings.
pub const DEFAULT_MULTIPLIER: u32 = 2;

/// The knobs of a [`Backoff`]; every value is a policy choice (marked \[C\] in docs/PROTOCOL.md), never a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Ceiling of the first delay (default [`DEFAULT_INITIAL`], 500 ms).
    pub initial: Duration,
    /// Factor applied to the ceiling after each attempt (default [`DEFAULT_MULTIPLIER`], 2). A value
    /// below 1 is treated as 1.
    pub multiplier: u32,
    /// Largest ceiling (default [`DEFAULT_MAX`], 30 s). Bounds how long a client waits after a long
    /// outage, at the cost of more attempts against a server that stays down.
    pub max: Duration,
    /// A connection that stayed up at least this long resets the sequence (default
    /// [`DEFAULT_RESET_AFTER`], 60 s), so a rare disconnect of a healthy session retries quickly.
    pub reset_after: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self {
            initial: DEFAULT_INITIAL,
            multiplier: DEFAULT_MULTIPLIER,
            max: DEFAULT_MAX,
            reset_after: DEFAULT_RESET_AFTER,
        }
    }
}

/// Exponential backoff with full jitter.
///
/// Attempt `n` (counting from 0) has the ceiling `min(max, initial × multiplier^n)`; its delay is
/// `rand_unit × ceiling`. The attempt counter grows by one per delay handed out and returns to 0 on
/// [`reset`](Self::reset) or after a connection that lasted [`BackoffConfig::reset_after`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self::new(BackoffConfig::default())
    }
}

impl Backoff {
    /// A backoff at attempt 0 with the given policy.
    #[must_use]
    pub fn new(config: BackoffConfig) -> Self {
        Self { config, attempt: 0 }
    }

    /// The policy in use.
    #[must_use]
    pub fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// How many delays were handed out since the last reset (the `attempt` of the CLI `backoff`
    /// event is this value after [`next_delay`](Self::next_delay)).
    #[must_use]
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The ceiling the next delay will be drawn under.
    #[must_use]
    pub fn ceiling(&self) -> Duration {
        let factor = self.config.multiplier.max(1);
        let mut ceiling = self.config.initial;
        for _ in 0..self.attempt {
            if ceiling >= self.config.max {
                break;
            }
            ceiling = ceiling.saturating_mul(factor);
        }
        ceiling.min(self.config.max)
    }

    /// The next delay: `rand_unit × ceiling` (full jitter), then the ceiling grows.
    ///
    /// `rand_unit` is clamped to `[0, 1]`; a non-finite value counts as 1 (the safe, slowest choice).
    pub fn next_delay(&mut self, rand_unit: f64) -> Duration {
        let delay = self.ceiling().mul_f64(clamp_unit(rand_unit));
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    /// The next delay, never shorter than `floor`: `floor + rand_unit × ceiling`.
    ///
    /// Used after "too many connections" (close 4003, IMG `max connections hit`), where the server
    /// asks for at least 10 s: the floor keeps the client from hot-looping, the jittered part keeps
    /// several clients from retrying in lock-step. The result is at most `floor + max`.
    pub fn next_delay_with_floor(&mut self, rand_unit: f64, floor: Duration) -> Duration {
        floor.saturating_add(self.next_delay(rand_unit))
    }

    /// Start the sequence again from attempt 0.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Report how long the connection that just ended was up; resets the sequence when that was at
    /// least [`BackoffConfig::reset_after`]. Returns whether it reset.
    pub fn connection_lasted(&mut self, uptime: Duration) -> bool {
        if uptime >= self.config.reset_after {
            self.reset();
            true
        } else {
            false
        }
    }
}

fn clamp_unit(value: f64) -> f64 {
    if value.is_finite() {
        value.clamp(0.0, 1.0)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn ceilings_double_from_500ms_and_cap_at_30s() {
        let mut b = Backoff::default();
        let got: Vec<Duration> = (0..10).map(|_| b.next_delay(1.0)).collect();
        assert_eq!(
            got,
            vec![
                ms(500),
                ms(1000),
                ms(2000),
                ms(4000),
                ms(8000),
                ms(16000),
                ms(30000),
                ms(30000),
                ms(30000),
                ms(30000)
            ]
        );
        assert_eq!(b.attempt(), 10);
    }

    #[test]
    fn full_jitter_scales_the_ceiling() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(0.0), Duration::ZERO);
        assert_eq!(b.next_delay(0.25), ms(250));
        assert_eq!(b.next_delay(0.5), ms(1000));
    }

    #[test]
    fn out_of_range_randomness_is_clamped() {
        let mut b = Backoff::default();
        assert_eq!(b.next_delay(7.0), ms(500));
        assert_eq!(b.next_delay(-1.0), Duration::ZERO);
        assert_eq!(b.next_delay(f64::NAN), ms(2000));
        assert_eq!(b.next_delay(f64::INFINITY), ms(4000));
    }

    #[test]
    fn many_attempts_never_overflow() {
        let mut b = Backoff::default();
        for _ in 0..10_000 {
            b.next_delay(1.0);
        }
        assert_eq!(b.next_delay(1.0), ms(30000));
        assert_eq!(b.ceiling(), ms(30000));
    }

    #[test]
    fn reset_starts_again() {
        let mut b = Backoff::default();
        b.next_delay(1.0);
        b.next_delay(1.0);
        b.reset();
        assert_eq!(b.attempt(), 0);
        assert_eq!(b.next_delay(1.0), ms(500));
    }

    #[test]
    fn sixty_seconds_up_resets_shorter_does_not() {
        let mut b = Backoff::default();
        b.next_delay(1.0);
        b.next_delay(1.0);
        assert!(!b.connection_lasted(Duration::from_secs(59)));
        assert_eq!(b.attempt(), 2);
        assert!(b.connection_lasted(Duration::from_secs(60)));
        assert_eq!(b.attempt(), 0);
    }

    #[test]
    fn floor_adds_to_the_jittered_delay() {
        let mut b = Backoff::default();
        let floor = Duration::from_secs(10);
        assert_eq!(b.next_delay_with_floor(0.0, floor), floor);
        assert_eq!(b.next_delay_with_floor(1.0, floor), ms(11_000));
        for _ in 0..20 {
            b.next_delay(1.0);
        }
        assert_eq!(b.next_delay_with_floor(1.0, floor), ms(40_000));
    }

    #[test]
    fn custom_policy_is_honoured() {
        let mut b = Backoff::new(BackoffConfig {
            initial: ms(100),
            multiplier: 3,
            max: ms(1000),
            reset_after: Duration::from_secs(5),
        });
        let got: Vec<Duration> = (0..4).map(|_| b.next_delay(1.0)).collect();
        assert_eq!(got, vec![ms(100), ms(300), ms(900), ms(1000)]);
        assert!(b.connection_lasted(Duration::from_secs(5)));
    }

    #[test]
    fn multiplier_zero_behaves_as_one() {
        let mut b = Backoff::new(BackoffConfig {
            multiplier: 0,
            ..BackoffConfig::default()
        });
        assert_eq!(b.next_delay(1.0), ms(500));
        assert_eq!(b.next_delay(1.0), ms(500));
    }
}
