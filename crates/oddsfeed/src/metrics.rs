//! Prometheus export of a client's [`FeedMetrics`] (feature `prometheus`): the text format
//! (version 0.0.4) encoded by the `prometheus-client` crate, served at `/metrics` by a small
//! HTTP/1.1 responder on a tokio listener (the CLI's `--metrics-addr`).
//!
//! Series (CLI.md): `oddsfeed_messages_total{channel|kind}`, `oddsfeed_frames_total`,
//! `oddsfeed_wire_bytes_total`, `oddsfeed_decoded_bytes_total`,
//! `oddsfeed_decode_errors_total{reason}`, `oddsfeed_reconnects_total`, `oddsfeed_connected`,
//! `oddsfeed_snapshot_required_total{channel,reason}`, `oddsfeed_heartbeat_stale` and the
//! histogram `oddsfeed_message_lag_seconds`. Series without labels are there from the start (at
//! 0); labelled ones appear with their first count. The figures are read from the atomics at
//! scrape time: serving costs the feed nothing between scrapes.
//!
//! ```no_run
//! # async fn run(client: &oddsfeed::ws::WsClient) -> std::io::Result<()> {
//! let server = oddsfeed::metrics::MetricsServer::bind("127.0.0.1:9464", client.metrics()).await?;
//! println!("metrics on http://{}/metrics", server.local_addr());
//! # Ok(())
//! # }
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::stats::FeedMetrics;

/// The `Content-Type` of the Prometheus text format served.
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// Largest request head read (a scraper sends a few hundred bytes).
const MAX_REQUEST: usize = 8 << 10;

/// How long one scrape connection may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a [`FeedMetrics`] at every scrape.
#[derive(Debug)]
struct FeedCollector(Arc<FeedMetrics>);

impl Collector for FeedCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let m = &self.0;
        let stats = m.stats();
        let label = m.feed().message_label();

        let mut family = encoder.encode_descriptor(
            "oddsfeed_messages",
            "Data messages delivered to the application, by WebSocket channel or IMG kind.",
            None,
            MetricType::Counter,
        )?;
        for (channel, n) in &stats.channels {
            let labels = [(label, channel.as_str())];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }

        let plain = [
            (
                "oddsfeed_frames",
                "WebSocket frames (control and dict frames included, pings not) or IMG lines received.",
                stats.frames,
            ),
            (
                "oddsfeed_wire_bytes",
                "Bytes received as on the wire (WebSocket payloads, IMG lines).",
                stats.wire_bytes,
            ),
            (
                "oddsfeed_decoded_bytes",
                "Bytes after decompression.",
                stats.decoded_bytes,
            ),
        ];
        for (name, help, value) in plain {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            ConstCounter::new(value).encode(metric)?;
        }

        let mut family = encoder.encode_descriptor(
            "oddsfeed_decode_errors",
            "Frames or lines skipped because they could not be decoded, by reason.",
            None,
            MetricType::Counter,
        )?;
        for (reason, n) in &m.decode_errors_by_reason() {
            let labels = [("reason", reason.as_str())];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }

        let metric = encoder.encode_descriptor(
            "oddsfeed_reconnects",
            "Connections after the first.",
            None,
            MetricType::Counter,
        )?;
        ConstCounter::new(stats.reconnects).encode(metric)?;

        let metric = encoder.encode_descriptor(
            "oddsfeed_connected",
            "1 while a connection is logged in (WebSocket) or initialised (IMG).",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::from(m.connected())).encode(metric)?;

        let mut family = encoder.encode_descriptor(
            "oddsfeed_snapshot_required",
            "snapshot_required reports (WebSocket), by channel and reason.",
            None,
            MetricType::Counter,
        )?;
        for ((channel, reason), n) in &m.snapshot_required() {
            let labels = [("channel", channel.as_str()), ("reason", reason.as_str())];
            ConstCounter::new(*n).encode(family.encode_family(&labels)?)?;
        }

        let metric = encoder.encode_descriptor(
            "oddsfeed_heartbeat_stale",
            "1 while IMG heartbeats are stale.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(i64::from(m.heartbeat_stale())).encode(metric)?;

        let lag = m.lag();
        let mut metric = encoder.encode_descriptor(
            "oddsfeed_message_lag_seconds",
            "Arrival at the application minus the message's own time (ws: ts, img: publish_time).",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<NoLabelSet>(lag.sum, lag.count, &lag.buckets, None)?;
        Ok(())
    }
}

/// The Prometheus text exposition of `metrics` now.
#[must_use]
pub fn render(metrics: &Arc<FeedMetrics>) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(FeedCollector(Arc::clone(metrics))));
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::prometheus_text::encode(&mut text, &registry);
    text
}

/// A running `/metrics` endpoint; stops when dropped.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Listens on `addr` (`HOST:PORT`; port 0 picks a free one) and serves `metrics` at
    /// `GET /metrics` until dropped. Must be called within a tokio runtime.
    ///
    /// # Errors
    ///
    /// When the address cannot be bound.
    pub async fn bind(addr: &str, metrics: Arc<FeedMetrics>) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors and the like: try again shortly.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let metrics = Arc::clone(&metrics);
                tokio::spawn(async move {
                    let _ = tokio::time::timeout(REQUEST_TIMEOUT, answer(stream, &metrics)).await;
                });
            }
        });
        Ok(Self { local_addr, task })
    }

    /// The address it listens on.
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads one request head and answers it; the connection closes after the answer.
async fn answer(mut stream: TcpStream, metrics: &Arc<FeedMetrics>) -> io::Result<()> {
    let mut head = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let (method, path) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        head.extend_from_slice(chunk.get(..n).unwrap_or_default());
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&head) {
            Ok(httparse::Status::Complete(_)) => {
                break (
                    request.method.unwrap_or_default().to_owned(),
                    request.path.unwrap_or_default().to_owned(),
                );
            }
            Ok(httparse::Status::Partial) if head.len() < MAX_REQUEST => {}
            _ => {
                return respond(
                    &mut stream,
                    "400 Bad Request",
                    "text/plain",
                    "bad request\n",
                )
                .await;
            }
        }
    };
    let path = path.split('?').next().unwrap_or_default();
    match (method.as_str(), path) {
        ("GET" | "HEAD", "/metrics") => {
            let body = render(metrics);
            let body = if method == "HEAD" { "" } else { body.as_str() };
            respond(&mut stream, "200 OK", CONTENT_TYPE, body).await
        }
        ("GET" | "HEAD", _) => {
            respond(&mut stream, "404 Not Found", "text/plain", "try /metrics\n").await
        }
        _ => {
            respond(
                &mut stream,
                "405 Method Not Allowed",
                "text/plain",
                "GET only\n",
            )
            .await
        }
    }
}

async fn respond(
    stream: &mut TcpStream,
    status: &str,
    content_type: &str,
    body: &str,
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::FeedKind;

    #[test]
    fn unlabelled_series_exist_from_the_start() {
        let text = render(&Arc::new(FeedMetrics::new(FeedKind::Ws)));
        for line in [
            "oddsfeed_frames_total 0",
            "oddsfeed_wire_bytes_total 0",
            "oddsfeed_decoded_bytes_total 0",
            "oddsfeed_reconnects_total 0",
            "oddsfeed_connected 0",
            "oddsfeed_heartbeat_stale 0",
            "oddsfeed_message_lag_seconds_count 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        assert!(!text.contains("oddsfeed_messages_total{"), "{text}");
    }

    #[test]
    fn labelled_series_carry_their_labels() {
        let m = Arc::new(FeedMetrics::new(FeedKind::Img));
        m.record_message("market_update", Some(0.004));
        m.record_decode_error("bad_json");
        m.record_snapshot_required("odds", "not_replayable");
        let text = render(&m);
        for line in [
            r#"oddsfeed_messages_total{kind="market_update"} 1"#,
            r#"oddsfeed_decode_errors_total{reason="bad_json"} 1"#,
            r#"oddsfeed_snapshot_required_total{channel="odds",reason="not_replayable"} 1"#,
            r#"oddsfeed_message_lag_seconds_bucket{le="0.005"} 1"#,
            r#"oddsfeed_message_lag_seconds_bucket{le="+Inf"} 1"#,
            "oddsfeed_message_lag_seconds_count 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}
