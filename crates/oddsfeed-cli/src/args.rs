//! Command-line arguments, exactly as `docs/CLI.md` specifies them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Consume real-time sports-odds feeds, run their simulators, and measure decoding.
#[derive(Debug, Parser)]
#[command(name = "oddsfeed", version, about, propagate_version = true)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Consume an OddsPapi-style WebSocket feed; data on stdout, one JSON message per line.
    Ws(WsArgs),
    /// Consume an IMG Arena-style newline-JSON feed over SSH or TCP.
    Img(ImgArgs),
    /// Run a feed simulator.
    #[command(subcommand)]
    Sim(SimCommand),
    /// Run the WebSocket simulator and the client in one process and show live figures.
    Demo(DemoArgs),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(BenchCommand),
    /// Run a `--record` file through the live decoding path and print what the live run printed.
    Replay(ReplayArgs),
    /// Relay a WebSocket feed into a NATS JetStream stream (one feed connection, many consumers).
    Relay(RelayArgs),
    /// Print the messages stored in the relay's JetStream stream, one JSON line each.
    NatsTail(NatsTailArgs),
}

/// How session events are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum EventsFormat {
    /// A human-readable log line per event.
    #[default]
    Human,
    /// One JSON object per line, each with an `"event"` key.
    Jsonl,
}

/// The WebSocket receive types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReceiveTypeArg {
    /// Plain JSON text frames.
    Json,
    /// MessagePack binary frames.
    Binary,
    /// Dictless zstd frames.
    Zstd,
    /// zstd frames with server-pushed dictionaries.
    #[value(name = "zstd-dict")]
    ZstdDict,
}

/// Where a feed's API key comes from: `--api-key` (or the `ODDSPAPI_API_KEY` environment
/// variable) or `--api-key-file`. Exactly one is required.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub struct ApiKeyArgs {
    /// API key (or the ODDSPAPI_API_KEY environment variable). Never logged. On a shared host
    /// prefer --api-key-file: other users can read a process's arguments.
    #[arg(long, env = "ODDSPAPI_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// File whose first line (trimmed) is the API key.
    #[arg(long, value_name = "FILE")]
    pub api_key_file: Option<PathBuf>,
}

impl std::fmt::Debug for ApiKeyArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyArgs")
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("api_key_file", &self.api_key_file)
            .finish()
    }
}

impl ApiKeyArgs {
    /// The key, read from the file when `--api-key-file` was given.
    ///
    /// # Errors
    ///
    /// A one-line reason (naming the file, never its contents) when the file cannot be read or
    /// its first line is empty.
    pub fn resolve(&self) -> Result<oddsfeed::model::ApiKey, String> {
        if let Some(path) = &self.api_key_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the API key file {}: {e}", path.display()))?;
            let key = text.lines().next().unwrap_or("").trim();
            if key.is_empty() {
                return Err(format!(
                    "the API key file {} has an empty first line",
                    path.display()
                ));
            }
            return Ok(oddsfeed::model::ApiKey::new(key));
        }
        match self.api_key.as_deref() {
            Some(key) if !key.is_empty() => Ok(oddsfeed::model::ApiKey::new(key)),
            _ => Err("the API key is empty".to_owned()),
        }
    }
}

/// The WebSocket feed connection: what `ws` and `relay` both need to log in.
#[derive(Debug, Args)]
pub struct FeedArgs {
    /// WebSocket URL, e.g. wss://v5.oddspapi.io/ws or ws://127.0.0.1:9000/ws.
    #[arg(long)]
    pub url: String,
    /// Where the API key comes from.
    #[command(flatten)]
    pub key: ApiKeyArgs,
    /// Channels to subscribe to (default: all permitted).
    #[arg(long, value_delimiter = ',')]
    pub channels: Option<Vec<String>>,
    /// Receive type to request; the server may downgrade it.
    #[arg(long, value_enum, default_value = "zstd-dict")]
    pub receive_type: ReceiveTypeArg,
    /// Sport id filter.
    #[arg(long, value_delimiter = ',')]
    pub sport_ids: Option<Vec<u64>>,
    /// Tournament id filter.
    #[arg(long, value_delimiter = ',')]
    pub tournament_ids: Option<Vec<u64>>,
    /// Fixture id filter.
    #[arg(long, value_delimiter = ',')]
    pub fixture_ids: Option<Vec<String>>,
    /// Bookmaker filter.
    #[arg(long, value_delimiter = ',')]
    pub bookmakers: Option<Vec<String>>,
    /// Largest WebSocket message accepted, in bytes.
    #[arg(long, default_value_t = 4 << 20)]
    pub max_frame: usize,
    /// Largest decompressed frame accepted, in bytes.
    #[arg(long, default_value_t = 64 << 20)]
    pub max_decompressed: usize,
    /// Skip TLS certificate verification (dangerous; for test servers only).
    #[arg(long)]
    pub insecure: bool,
}

/// `oddsfeed ws`.
#[derive(Debug, Args)]
pub struct WsArgs {
    /// The feed connection.
    #[command(flatten)]
    pub feed: FeedArgs,
    /// Resume-cursor file, read at start and rewritten atomically as messages are printed.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Exit 0 after this many data messages on stdout.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Do not reconnect; exit when the server closes.
    #[arg(long)]
    pub once: bool,
    /// Record every frame received, as received, to FILE (docs/RECORDING.md).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// At exit, write the live book of the messages printed as one JSON document to FILE
    /// (temporary file, then rename).
    #[arg(long, value_name = "FILE")]
    pub book_out: Option<PathBuf>,
    /// Event format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub events: EventsFormat,
    /// At the end, emit a `latency` event: percentiles (µs) of the time from reading a frame off
    /// the socket to taking its message for printing (`cargo xtask e2e` reads it).
    #[arg(long)]
    pub report_latency: bool,
    /// Metrics and periodic stats.
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `oddsfeed img`.
#[derive(Debug, Args)]
pub struct ImgArgs {
    /// Server address, HOST:PORT.
    #[arg(long)]
    pub addr: String,
    /// Connect over SSH with public-key authentication.
    #[arg(long, conflicts_with = "tcp", requires_all = ["user", "identity"])]
    pub ssh: bool,
    /// Connect over plain TCP (local use).
    #[arg(long)]
    pub tcp: bool,
    /// SSH user name.
    #[arg(long)]
    pub user: Option<String>,
    /// OpenSSH private-key file (ed25519 or RSA).
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// known_hosts file (default ~/.ssh/known_hosts).
    #[arg(long, conflicts_with = "insecure_accept_host_key")]
    pub known_hosts: Option<PathBuf>,
    /// Accept any host key (dangerous; for test servers only).
    #[arg(long)]
    pub insecure_accept_host_key: bool,
    /// Let an RSA identity sign with SHA-1 (ssh-rsa) when the server announces no
    /// rsa-sha2-512/256 (dangerous; for old servers only). An `insecure_sha1_rsa` event is
    /// emitted when it happens.
    #[arg(long)]
    pub insecure_allow_sha1_rsa: bool,
    /// Ask for finished events too.
    #[arg(long)]
    pub include_finished: bool,
    /// A request sent in order after init (JSON); a request_id is added if absent.
    #[arg(long = "request")]
    pub requests: Vec<String>,
    /// Also print heartbeat pushes.
    #[arg(long)]
    pub heartbeats: bool,
    /// Exit 0 after this many lines on stdout.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Do not reconnect; exit when the server closes.
    #[arg(long)]
    pub once: bool,
    /// Record every line received (heartbeats included), as received, to FILE.
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    /// At exit, write the live book of the lines printed as one JSON document to FILE
    /// (temporary file, then rename).
    #[arg(long, value_name = "FILE")]
    pub book_out: Option<PathBuf>,
    /// Event format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub events: EventsFormat,
    /// Metrics and periodic stats.
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `oddsfeed replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The recording (`--record FILE` of `ws` or `img`).
    pub file: PathBuf,
    /// Keep the recorded gaps between arrivals (real time).
    #[arg(long, conflicts_with = "speed")]
    pub pace: bool,
    /// Keep the recorded gaps divided by X (2 = twice as fast).
    #[arg(long, value_name = "X")]
    pub speed: Option<f64>,
    /// Exit 0 after this many data lines on stdout.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Also print heartbeat pushes (IMG recordings).
    #[arg(long)]
    pub heartbeats: bool,
    /// Event format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub events: EventsFormat,
    /// At exit, write the live book of the messages printed as one JSON document to FILE
    /// (temporary file, then rename), as `ws --book-out` / `img --book-out` do.
    #[arg(long, value_name = "FILE")]
    pub book_out: Option<PathBuf>,
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// Operations flags shared by the feed-reading subcommands (`ws`, `img`, `relay`, `replay`).
#[derive(Debug, Clone, Args)]
pub struct OpsArgs {
    /// Serve Prometheus metrics at http://HOST:PORT/metrics while running (port 0: any free port,
    /// named in the `metrics` event).
    #[arg(long, value_name = "HOST:PORT")]
    pub metrics_addr: Option<String>,
    /// Emit a `stats` event every N seconds (0: never).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub stats_secs: u64,
}

/// `oddsfeed sim ...`.
#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// The OddsPapi-style WebSocket simulator.
    Ws(SimWsArgs),
    /// The IMG-style newline-JSON simulator.
    Img(SimImgArgs),
}

/// `oddsfeed sim ws`.
#[derive(Debug, Args)]
pub struct SimWsArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Accept only this API key (default: any non-empty key).
    #[arg(long)]
    pub api_key: Option<String>,
    /// Distinct data messages to send over the simulator's lifetime.
    #[arg(long, conflicts_with = "forever")]
    pub messages: Option<u64>,
    /// Send data forever.
    #[arg(long)]
    pub forever: bool,
    /// Data messages per second for the whole simulator (default: unpaced, as fast as the fastest client reads).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Downgrade zstd and zstd-dict to json.
    #[arg(long)]
    pub no_zstd: bool,
    /// Replay window in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub replay_window_ms: u64,
    /// Channels kept in the replay buffer.
    #[arg(long, value_delimiter = ',', default_value = "fixtures,scores")]
    pub replay_channels: Vec<String>,
    /// New serverEpoch and empty buffer on every connection.
    #[arg(long)]
    pub restart_epoch: bool,
    /// Abrupt TCP close after N data messages on each connection.
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// After N data messages: a reconnect frame, 3 s more data, then close 1001.
    #[arg(long)]
    pub reconnect_after: Option<u64>,
    /// Insert a zstd bomb (or an oversize frame) before data message I.
    #[arg(long)]
    pub bomb_at: Option<u64>,
    /// Insert a frame with a never-announced dictId before data message I.
    #[arg(long)]
    pub unknown_dict_at: Option<u64>,
    /// Insert a bad JSON / MessagePack frame before data message I.
    #[arg(long)]
    pub bad_json_at: Option<u64>,
    /// Insert one valid but dense document (millions of array elements) before data message I.
    #[arg(long)]
    pub dense_at: Option<u64>,
    /// Serve this ws recording's data messages (--record FILE of `oddsfeed ws`) instead of
    /// generated ones: channel, entryId, ts and payload as recorded, in each client's receive
    /// type; the stream ends with the recording.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["write_corpus", "forever"])]
    pub replay: Option<PathBuf>,
    /// Write a decode corpus to DIR instead of serving (with --messages, default 10000).
    #[arg(long, value_name = "DIR")]
    pub write_corpus: Option<PathBuf>,
    /// Receive type of the corpus --write-corpus writes.
    #[arg(
        long,
        value_enum,
        default_value = "zstd-dict",
        requires = "write_corpus"
    )]
    pub corpus_mode: ReceiveTypeArg,
}

/// `oddsfeed sim img`.
#[derive(Debug, Args)]
pub struct SimImgArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long, required_unless_present = "stdio")]
    pub port: Option<u16>,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Serve plain TCP.
    #[arg(long, conflicts_with_all = ["ssh", "stdio"])]
    pub tcp: bool,
    /// Serve SSH (public-key auth).
    #[arg(long, requires_all = ["host_key", "authorized_keys"], conflicts_with = "stdio")]
    pub ssh: bool,
    /// Host private-key file (OpenSSH format).
    #[arg(long)]
    pub host_key: Option<PathBuf>,
    /// authorized_keys file.
    #[arg(long)]
    pub authorized_keys: Option<PathBuf>,
    /// One session on stdin/stdout (for an sshd ForceCommand).
    #[arg(long)]
    pub stdio: bool,
    /// Heartbeat interval in milliseconds.
    #[arg(long, default_value_t = 3000)]
    pub heartbeat_ms: u64,
    /// Non-heartbeat pushes per connection, the snapshot included, then close.
    #[arg(long, conflicts_with = "forever")]
    pub messages: Option<u64>,
    /// Never stop sending.
    #[arg(long)]
    pub forever: bool,
    /// Generator seed.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Close without a notice after N non-heartbeat pushes on a connection.
    #[arg(long)]
    pub drop_after: Option<u64>,
    /// Insert one invalid-JSON line before the I-th non-heartbeat push.
    #[arg(long)]
    pub bad_json_at: Option<u64>,
    /// Stop heartbeats S seconds after init.
    #[arg(long)]
    pub stall_heartbeats_after: Option<f64>,
    /// On the first connection, after the snapshot: a `slow reader` notice, then close.
    #[arg(long)]
    pub slow_reader_kick: bool,
    /// How long a client may take to send `init`, in milliseconds (tests shorten it).
    #[arg(long, default_value_t = 10_000, hide = true)]
    pub init_deadline_ms: u64,
    /// Pace of live pushes after a subscribe, in milliseconds (0 = as fast as the reader takes them).
    #[arg(long, default_value_t = 20, hide = true)]
    pub update_interval_ms: u64,
}

/// `oddsfeed demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// How long to run.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Receive type to use.
    #[arg(long, value_enum, default_value = "zstd-dict")]
    pub receive_type: ReceiveTypeArg,
}

/// `oddsfeed bench ...`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Decode a recorded corpus the way the client does and print one JSON line.
    Decode(BenchDecodeArgs),
}

/// `oddsfeed bench decode`.
#[derive(Debug, Args)]
pub struct BenchDecodeArgs {
    /// Corpus directory (`frames.bin` and `<dictId>.dict` files), or a `ws --record` file.
    #[arg(long)]
    pub corpus: PathBuf,
    /// Receive type the corpus was recorded in.
    #[arg(long, value_enum, default_value = "zstd-dict")]
    pub mode: ReceiveTypeArg,
    /// Passes over the corpus; the best one is reported.
    #[arg(long, default_value_t = 3)]
    pub passes: u32,
    /// Decoding threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

/// `oddsfeed relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// The feed connection.
    #[command(flatten)]
    pub feed: FeedArgs,
    /// NATS server URL, e.g. nats://127.0.0.1:4222.
    #[arg(long)]
    pub nats: String,
    /// JetStream stream to publish into (created when missing).
    #[arg(long, default_value = "ODDSFEED")]
    pub stream: String,
    /// Subject prefix: data goes to `<prefix>.<channel>.<fixtureId>`, events to `<prefix>._events.<name>`.
    #[arg(long, default_value = "oddsfeed")]
    pub subject_prefix: String,
    /// Most publishes awaiting their JetStream ack at once.
    #[arg(long, default_value_t = 1024)]
    pub max_in_flight: usize,
    /// Also print each published data message on stdout.
    #[arg(long)]
    pub echo: bool,
    /// Stop cleanly (exit 0) once this many data messages were acknowledged by JetStream.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Event format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub events: EventsFormat,
    /// Metrics and periodic stats of the feed connection.
    #[command(flatten)]
    pub ops: OpsArgs,
}

/// `oddsfeed nats-tail`.
#[derive(Debug, Args)]
pub struct NatsTailArgs {
    /// NATS server URL.
    #[arg(long)]
    pub nats: String,
    /// JetStream stream to read.
    #[arg(long, default_value = "ODDSFEED")]
    pub stream: String,
    /// Only messages on subjects matching this filter (wildcards allowed), e.g. oddsfeed.odds.>.
    #[arg(long)]
    pub subject: Option<String>,
    /// Durable consumer name: a later run with the same name continues where this one stopped.
    #[arg(long)]
    pub durable: Option<String>,
    /// Exit 0 after this many lines on stdout.
    #[arg(long)]
    pub limit: Option<u64>,
    /// Exit 0 once every message stored when it started has been printed, instead of waiting for more.
    #[arg(long)]
    pub no_follow: bool,
    /// Event format on stderr.
    #[arg(long, value_enum, default_value = "human")]
    pub events: EventsFormat,
}
