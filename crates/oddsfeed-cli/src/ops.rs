//! What every feed-reading subcommand shares for operations (CLI.md Part 2, "Common flags"):
//! clean stops on SIGINT and SIGTERM, the periodic `stats` event (`--stats-secs`) and the
//! Prometheus endpoint (`--metrics-addr`).
//!
//! A subcommand that reads a feed creates (or takes from its client) an
//! `Arc<oddsfeed::stats::FeedMetrics>`, calls [`Ops::start`] with its [`OpsArgs`], waits on
//! [`Ops::due_at`] in its loop and calls [`Ops::tick`], and [`Ops::finish`] before it exits.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oddsfeed::metrics::MetricsServer;
use oddsfeed::stats::{FeedMetrics, FeedStats};
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::args::{EventsFormat, OpsArgs};
use crate::output::EventLog;

/// SIGINT / SIGTERM: the run stops cleanly (stdout flushed, state saved) and exits 0.
pub(crate) struct Signals {
    received: Arc<AtomicBool>,
    notify: Arc<Notify>,
}

impl Signals {
    /// Starts listening (needs the tokio runtime). If the handlers cannot be installed, signals
    /// keep their default effect.
    pub(crate) fn install() -> Self {
        let received = Arc::new(AtomicBool::new(false));
        let notify = Arc::new(Notify::new());
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            if let (Ok(mut int), Ok(mut term)) = (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                let (received, notify) = (Arc::clone(&received), Arc::clone(&notify));
                tokio::spawn(async move {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                    received.store(true, Ordering::SeqCst);
                    // notify_one keeps a permit when nobody waits yet.
                    notify.notify_one();
                });
            }
        }
        Self { received, notify }
    }

    /// Whether a signal arrived.
    pub(crate) fn received(&self) -> bool {
        self.received.load(Ordering::SeqCst)
    }

    /// Waits until a signal arrives.
    pub(crate) async fn wait(&self) {
        if !self.received() {
            self.notify.notified().await;
        }
    }

    /// Reports the stop (`interrupted` event); the caller then ends the run with exit 0.
    pub(crate) fn report(log: &EventLog) {
        log.emit("interrupted", json!({ "exitCode": 0 }));
    }
}

/// The periodic `stats` event and the metrics endpoint of one run.
pub(crate) struct Ops {
    metrics: Arc<FeedMetrics>,
    /// Kept for its lifetime: the endpoint stops when the run does.
    _server: Option<MetricsServer>,
    every: Option<Duration>,
    next: Option<Instant>,
}

impl Ops {
    /// Starts serving `metrics` when `--metrics-addr` is given (a `metrics` event names the
    /// address) and arms the `stats` timer. `Err` is the one-line reason the endpoint could not
    /// be bound (a fatal error: exit 1).
    pub(crate) async fn start(
        args: &OpsArgs,
        metrics: Arc<FeedMetrics>,
        log: &EventLog,
    ) -> Result<Self, String> {
        let server = match &args.metrics_addr {
            Some(addr) => {
                let server = MetricsServer::bind(addr, Arc::clone(&metrics))
                    .await
                    .map_err(|e| format!("--metrics-addr {addr}: {e}"))?;
                log.emit(
                    "metrics",
                    json!({ "addr": server.local_addr().to_string(),
                            "url": format!("http://{}/metrics", server.local_addr()) }),
                );
                Some(server)
            }
            None => None,
        };
        let every = (args.stats_secs > 0).then(|| Duration::from_secs(args.stats_secs));
        Ok(Self {
            metrics,
            _server: server,
            every,
            next: every.map(|every| Instant::now() + every),
        })
    }

    /// When the next `stats` event is due (`None`: never).
    pub(crate) fn due_at(&self) -> Option<Instant> {
        self.next
    }

    /// Emits the `stats` event when it is due.
    pub(crate) fn tick(&mut self, log: &EventLog) {
        let (Some(next), Some(every)) = (self.next, self.every) else {
            return;
        };
        let now = Instant::now();
        if now < next {
            return;
        }
        emit_stats(log, &self.metrics.stats());
        // Skip the ticks missed while the run was busy elsewhere.
        let mut next = next + every;
        while next <= now {
            next += every;
        }
        self.next = Some(next);
    }

    /// A last `stats` event at the end of a successful run (unless `--stats-secs 0`), so that
    /// the final counts are on record. Not after a fatal error, whose reason stays the last
    /// stderr line.
    pub(crate) fn finish(&self, log: &EventLog) {
        if self.every.is_some() {
            emit_stats(log, &self.metrics.stats());
        }
    }
}

/// The `stats` event: counts since start, with the keys of [`FeedStats`].
///
/// The human line spells `decode_errors` as `undecodable` and the channels as `name:count`
/// pairs, so that a person (or a script) looking for `decode_error` lines in the human log finds
/// only the decode errors themselves.
pub(crate) fn emit_stats(log: &EventLog, stats: &FeedStats) {
    let Value::Object(mut fields) = serde_json::to_value(stats).unwrap_or(Value::Null) else {
        return;
    };
    if log.format() == EventsFormat::Human {
        if let Some(n) = fields.remove("decode_errors") {
            fields.insert("undecodable".to_owned(), n);
        }
        let channels: Vec<String> = stats
            .channels
            .iter()
            .map(|(name, n)| format!("{name}:{n}"))
            .collect();
        fields.insert("channels".to_owned(), Value::String(channels.join(",")));
    }
    log.emit("stats", Value::Object(fields));
}

/// Sleeps until `at`, or forever when `None`.
pub(crate) async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
