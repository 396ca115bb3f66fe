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

use std::time::{Duration, Instant};

use crate::common::ReconnectDelay;

// `resolve` lives here, beside the `Backoff` it draws from, so that `common` (the plain
// shared types) does not import this module.
impl ReconnectDelay {
    /// The delay to wait, drawn from `backoff` (which counts the attempt) unless immediate.
    /// `rand_unit` is a uniform random number in `[0, 1]` (full jitter).
    pub fn resolve(self, backoff: &mut Backoff, rand_unit: f64) -> Duration {
        match self {
            Self::Immediate => Duration::ZERO,
            Self::Backoff => backoff.next_delay(rand_unit),
            Self::BackoffAtLeast(floor) => backoff.next_delay_with_floor(rand_unit, floor),
        }
    }
}

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

/// The jitter source of a session: a seeded SplitMix64 generator.
///
/// The session never draws randomness from the system: its owner passes a seed in the
/// configuration (the facade takes one from its clock module, tests a constant), so the same seed
/// gives the same sequence of delays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jitter {
    state: u64,
}

impl Jitter {
    /// A generator starting from `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next number, uniform in `[0, 1)`.
    pub fn next_unit(&mut self) -> f64 {
        // SplitMix64 (Steele, Lea, Flood 2014): one add and three xor-shift-multiplies.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        // The top 53 bits as a fraction of 2^53: exactly representable in an f64.
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A reconnect the session has scheduled: the driver reports it and sleeps until
/// [`at`](Self::at), where the session's `poll_timeout` also points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledReconnect {
    /// When the session will ask for the next connection.
    pub at: Instant,
    /// The delay that was drawn (`at` minus the moment the connection ended).
    pub delay: Duration,
    /// The backoff's attempt count after this delay (1 after a reset; an immediate reconnect
    /// draws nothing and leaves it as it was).
    pub attempt: u32,
}

/// The reconnect deadline a session owns: a [`Backoff`], its [`Jitter`] and the pending deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// use oddsfeed_session::backoff::{BackoffConfig, ReconnectTimer};
/// use oddsfeed_session::common::ReconnectDelay;
///
/// let t0 = Instant::now(); // the test's clock
/// let mut timer = ReconnectTimer::new(BackoffConfig::default(), 7);
/// let first = timer.schedule(ReconnectDelay::Backoff, t0);
/// assert!(first.delay <= Duration::from_millis(500));
/// assert_eq!(timer.deadline(), Some(first.at));
/// assert!(!timer.expire(t0));
/// assert!(timer.expire(first.at));
/// assert_eq!(timer.deadline(), None);
/// ```
#[derive(Debug, Clone)]
pub struct ReconnectTimer {
    backoff: Backoff,
    jitter: Jitter,
    pending: Option<ScheduledReconnect>,
}

impl ReconnectTimer {
    /// A timer with this policy whose jitter starts from `seed`.
    #[must_use]
    pub fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            backoff: Backoff::new(config),
            jitter: Jitter::new(seed),
            pending: None,
        }
    }

    /// The backoff (its attempt counter and policy).
    #[must_use]
    pub fn backoff(&self) -> &Backoff {
        &self.backoff
    }

    /// The backoff, for a session that resets it or reports an uptime.
    pub fn backoff_mut(&mut self) -> &mut Backoff {
        &mut self.backoff
    }

    /// Draws the delay `policy` asks for and sets the deadline `now + delay`.
    pub fn schedule(&mut self, policy: ReconnectDelay, now: Instant) -> ScheduledReconnect {
        let delay = policy.resolve(&mut self.backoff, self.jitter.next_unit());
        let scheduled = ScheduledReconnect {
            at: now + delay,
            delay,
            attempt: self.backoff.attempt(),
        };
        self.pending = Some(scheduled);
        scheduled
    }

    /// The pending reconnect, if one is scheduled.
    #[must_use]
    pub fn pending(&self) -> Option<ScheduledReconnect> {
        self.pending
    }

    /// When the pending reconnect is due.
    #[must_use]
    pub fn deadline(&self) -> Option<Instant> {
        self.pending.map(|p| p.at)
    }

    /// True (once) when the pending reconnect is due at `now`; the deadline is then cleared.
    pub fn expire(&mut self, now: Instant) -> bool {
        match self.pending {
            Some(p) if now >= p.at => {
                self.pending = None;
                true
            }
            _ => false,
        }
    }

    /// Drops the pending reconnect (a connection is being opened for another reason, or the
    /// session stopped).
    pub fn cancel(&mut self) {
        self.pending = None;
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

    fn t0() -> Instant {
        Instant::now()
    }

    #[test]
    fn same_seed_same_delays_other_seed_other_delays() {
        let draw = |seed| {
            let mut timer = ReconnectTimer::new(BackoffConfig::default(), seed);
            let now = t0();
            (0..8)
                .map(|_| timer.schedule(ReconnectDelay::Backoff, now).delay)
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(42), draw(42));
        assert_ne!(draw(42), draw(43));
    }

    #[test]
    fn jitter_stays_in_the_unit_interval() {
        let mut jitter = Jitter::new(0);
        for _ in 0..10_000 {
            let x = jitter.next_unit();
            assert!((0.0..1.0).contains(&x), "{x}");
        }
    }

    #[test]
    fn scheduled_delays_stay_under_growing_capped_ceilings() {
        let mut timer = ReconnectTimer::new(BackoffConfig::default(), 9);
        let now = t0();
        for n in 0..12u32 {
            let ceiling = timer.backoff().ceiling();
            let s = timer.schedule(ReconnectDelay::Backoff, now);
            assert!(s.delay <= ceiling && ceiling <= ms(30_000), "{n}: {s:?}");
            assert_eq!(s.attempt, n + 1);
            assert_eq!(s.at, now + s.delay);
        }
    }

    #[test]
    fn the_deadline_expires_once() {
        let mut timer = ReconnectTimer::new(BackoffConfig::default(), 1);
        let now = t0();
        let s = timer.schedule(ReconnectDelay::BackoffAtLeast(ms(10_000)), now);
        assert!(s.delay >= ms(10_000));
        assert!(!timer.expire(now + ms(9_999)));
        assert!(timer.expire(s.at));
        assert!(!timer.expire(s.at));
        timer.schedule(ReconnectDelay::Immediate, now);
        timer.cancel();
        assert_eq!(timer.deadline(), None);
    }

    #[test]
    fn delays_resolve_through_the_backoff() {
        let mut backoff = Backoff::default();
        assert_eq!(
            ReconnectDelay::Immediate.resolve(&mut backoff, 1.0),
            Duration::ZERO
        );
        assert_eq!(
            ReconnectDelay::Backoff.resolve(&mut backoff, 1.0),
            Duration::from_millis(500)
        );
        assert_eq!(
            ReconnectDelay::BackoffAtLeast(Duration::from_secs(10)).resolve(&mut backoff, 0.5),
            Duration::from_millis(10_500)
        );
        assert_eq!(backoff.attempt(), 2);
    }
}
