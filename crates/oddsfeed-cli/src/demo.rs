//! `oddsfeed demo`: the WebSocket simulator and the client in one process, on a free loopback
//! port, with a live progress line (stderr, terminals only) and a summary table (stdout, always).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use oddsfeed::model::ApiKey;
use oddsfeed::ws::{ClientStats, Event, WsClient, WsClientConfig, WsEvent};
use oddsfeed_sim::ws::{PRODUCED_CHANNELS, WsSim, WsSimConfig};
use tokio::time::Instant;

use crate::args::DemoArgs;
use crate::output::EventLog;
use crate::runtime::{self, Shutdown};
use crate::ws::receive_type;

/// How often the progress line is refreshed.
const REFRESH: Duration = Duration::from_millis(100);

/// Runs the subcommand.
pub fn run(args: DemoArgs) -> ExitCode {
    let log = EventLog::new(crate::args::EventsFormat::Human);
    match runtime::block_on(demo(&args), Shutdown::Brief).and_then(|result| result) {
        Ok(summary) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(summary.render().as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            log.fatal(&message);
            ExitCode::from(1)
        }
    }
}

/// What the demo measured.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    /// The receive type negotiated (or asked for, if no login happened).
    pub mode: String,
    /// The simulator's address.
    pub addr: String,
    /// Seconds measured, from the first connection attempt to the end.
    pub seconds: f64,
    /// Messages per channel, every produced channel listed.
    pub per_channel: BTreeMap<String, u64>,
    /// Total data messages.
    pub messages: u64,
    /// Bytes of message JSON (decompressed).
    pub json_bytes: u64,
    /// Bytes on the wire (WebSocket payloads).
    pub wire_bytes: u64,
    /// Dictionaries loaded.
    pub dicts: u64,
    /// Frames lost to decode errors.
    pub decode_errors: u64,
}

impl Summary {
    fn new(mode: &str, addr: SocketAddr) -> Self {
        Self {
            mode: mode.to_owned(),
            addr: format!("ws://{addr}/ws"),
            seconds: 0.0,
            per_channel: PRODUCED_CHANNELS
                .iter()
                .map(|c| ((*c).to_owned(), 0))
                .collect(),
            messages: 0,
            json_bytes: 0,
            wire_bytes: 0,
            dicts: 0,
            decode_errors: 0,
        }
    }

    fn absorb(&mut self, stats: &ClientStats) {
        self.wire_bytes = stats.wire_bytes;
        self.dicts = stats.session.dicts_loaded;
        self.decode_errors = stats.decode_errors_total();
    }

    fn rate(&self, amount: f64) -> f64 {
        if self.seconds > 0.0 {
            amount / self.seconds
        } else {
            0.0
        }
    }

    fn ratio(&self) -> f64 {
        if self.wire_bytes > 0 {
            self.json_bytes as f64 / self.wire_bytes as f64
        } else {
            0.0
        }
    }

    /// The one-line live view.
    fn progress_line(&self) -> String {
        let channels: Vec<String> = self
            .per_channel
            .iter()
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        format!(
            "{} messages | {:.1} MB/s | ratio {:.2}x | {}",
            self.messages,
            self.rate(self.json_bytes as f64) / 1e6,
            self.ratio(),
            channels.join(", ")
        )
    }

    /// The final table. MB are 10^6 bytes.
    pub(crate) fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "oddsfeed demo: {} over {} for {:.1} s",
            self.mode, self.addr, self.seconds
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "  {:<22} {:>12}", "channel", "messages");
        for (channel, n) in &self.per_channel {
            let _ = writeln!(s, "  {channel:<22} {n:>12}");
        }
        let _ = writeln!(s, "  {:<22} {:>12}", "total messages", self.messages);
        let _ = writeln!(s);
        let rows = [
            (
                "messages/s",
                format!("{:.0}", self.rate(self.messages as f64)),
            ),
            (
                "MB/s decompressed",
                format!("{:.2}", self.rate(self.json_bytes as f64) / 1e6),
            ),
            (
                "MB/s on the wire",
                format!("{:.2}", self.rate(self.wire_bytes as f64) / 1e6),
            ),
            ("compression ratio", format!("{:.2}x", self.ratio())),
            ("dictionaries loaded", self.dicts.to_string()),
            ("decode errors", self.decode_errors.to_string()),
        ];
        for (label, value) in rows {
            let _ = writeln!(s, "  {label:<22} {value:>12}");
        }
        s
    }
}

async fn demo(args: &DemoArgs) -> Result<Summary, String> {
    let mut cfg = WsSimConfig::default();
    cfg.messages = None;
    let sim = WsSim::bind(SocketAddr::from(([127, 0, 0, 1], 0)), cfg)
        .map_err(|e| format!("cannot start the simulator: {e}"))?;
    let addr = sim.local_addr();
    let sim = sim.spawn();

    let mode = receive_type(args.receive_type);
    let config = WsClientConfig::builder(format!("ws://{addr}/ws"), ApiKey::new("demo"))
        .receive_type(mode)
        .save_interval(None)
        .build()
        .map_err(|e| e.to_string())?;
    let mut client = WsClient::start(config).map_err(|e| e.to_string())?;
    let mut summary = Summary::new(mode.as_str(), addr);

    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10))
    } else {
        ProgressBar::hidden()
    };
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
        bar.set_style(style);
    }

    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    let mut next_refresh = start + REFRESH;
    // SIGINT / SIGTERM end the demo early, with its summary, exit 0.
    let signals = crate::ops::Signals::install();
    let outcome = loop {
        let event = tokio::select! {
            event = client.next() => event,
            () = tokio::time::sleep_until(end) => break Ok(()),
            () = signals.wait() => break Ok(()),
        };
        match event {
            Some(WsEvent::Data(msg)) => {
                summary.messages += 1;
                summary.json_bytes += msg.raw.len() as u64;
                *summary.per_channel.entry(msg.channel).or_insert(0) += 1;
            }
            Some(WsEvent::Session(Event::LoginOk {
                receive_type: Some(negotiated),
                ..
            })) => summary.mode = negotiated.as_str().to_owned(),
            Some(WsEvent::Fatal(error)) => break Err(error.to_string()),
            Some(WsEvent::Finished) | None => break Ok(()),
            Some(_) => {}
        }
        let now = Instant::now();
        if now >= next_refresh {
            next_refresh = now + REFRESH;
            summary.seconds = (now - start).as_secs_f64();
            summary.absorb(&client.detailed_stats());
            bar.set_message(summary.progress_line());
            bar.tick();
        }
    };
    summary.seconds = start.elapsed().as_secs_f64();
    summary.absorb(&client.detailed_stats());
    bar.finish_and_clear();
    let _ = client.close().await;
    // Dropping the handle stops the simulator without waiting for its connections.
    drop(sim);
    outcome.map(|()| summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_labels_its_figures() {
        let mut summary = Summary::new("zstd-dict", SocketAddr::from(([127, 0, 0, 1], 9000)));
        summary.seconds = 2.0;
        summary.messages = 1000;
        summary.json_bytes = 4_000_000;
        summary.wire_bytes = 1_000_000;
        summary.dicts = 3;
        summary.per_channel.insert("odds".into(), 900);
        summary.per_channel.insert("scores".into(), 100);
        let table = summary.render();
        assert!(
            table.starts_with("oddsfeed demo: zstd-dict over ws://127.0.0.1:9000/ws for 2.0 s\n")
        );
        assert!(
            table.contains("  total messages                 1000\n"),
            "{table}"
        );
        assert!(
            table.contains("  messages/s                      500\n"),
            "{table}"
        );
        assert!(
            table.contains("  MB/s decompressed              2.00\n"),
            "{table}"
        );
        assert!(
            table.contains("  MB/s on the wire               0.50\n"),
            "{table}"
        );
        assert!(
            table.contains("  compression ratio             4.00x\n"),
            "{table}"
        );
        assert!(
            table.contains("  dictionaries loaded               3\n"),
            "{table}"
        );
        assert!(
            table.contains("  odds                            900\n"),
            "{table}"
        );
        assert!(
            table.contains("  clocks                            0\n"),
            "{table}"
        );
        assert_eq!(
            summary.progress_line(),
            "1000 messages | 2.0 MB/s | ratio 4.00x | bookmakers 0, clocks 0, fixtures 0, odds 900, scores 100"
        );
    }

    #[test]
    fn empty_run_has_no_division_by_zero() {
        let summary = Summary::new("json", SocketAddr::from(([127, 0, 0, 1], 1)));
        let table = summary.render();
        assert!(
            table.contains("compression ratio             0.00x"),
            "{table}"
        );
    }
}
