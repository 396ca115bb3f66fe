//! What a [`WsSession`](super::WsSession) hands back: frames to send, events, actions.

use std::fmt;

use oddsfeed_model::ReceiveType;
use oddsfeed_model::ws::DataMessage;

use super::DecodeError;
use crate::error::SessionError;

/// Identifies one transport connection for the lifetime of a session (ids are never reused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub(crate) u64);

impl ConnId {
    /// An id with this number. The session numbers its connections itself (1, 2, ...); this is
    /// for code that replays or simulates a session's output.
    #[must_use]
    pub fn new(number: u64) -> Self {
        Self(number)
    }

    /// The number behind the id (1 for the first connection of a session).
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Which side of the WebSocket carries a frame (a whole message): text or binary.
pub use oddsfeed_wire::ws::FrameKind;

/// A WebSocket close code with the reconnect policy of docs/PROTOCOL.md B.11.
pub use oddsfeed_wire::ws::CloseCode;

/// The close information of a connection that ended with a WebSocket close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseInfo {
    /// The close code (1000, 1001, 1008, 4001, 4002, 4003, ...).
    pub code: CloseCode,
    /// The close reason text, possibly empty.
    pub reason: String,
}

impl CloseInfo {
    /// A close with `code` and `reason`.
    #[must_use]
    pub fn new(code: impl Into<CloseCode>, reason: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

/// A frame for the transport to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The connection to send it on.
    pub conn: ConnId,
    /// What to send.
    pub frame: OutFrame,
}

/// The frames a session sends. The only text frame is the login, which carries the API key: the
/// `Debug` output shows its length, never its content.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutFrame {
    /// A text frame (the login JSON).
    Text(String),
    /// A WebSocket Ping with an empty payload.
    Ping,
    /// A WebSocket close frame with this code.
    Close(CloseCode),
}

impl fmt::Debug for OutFrame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => write!(f, "Text(<{} bytes, redacted>)", text.len()),
            Self::Ping => f.write_str("Ping"),
            Self::Close(code) => write!(f, "Close({code})"),
        }
    }
}

pub use crate::common::{ExitHint, ReconnectDelay};

/// Why a session stopped for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fatal {
    /// How to exit.
    pub exit: ExitHint,
    /// What happened; its `Display` is the one-line reason for stderr (never contains the key).
    pub error: SessionError,
}

/// What the driver must do next, besides sending frames.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Action {
    /// Open a new connection now and call
    /// [`WsSession::handle_connected`](super::WsSession::handle_connected) once its WebSocket
    /// handshake is done (or [`handle_connect_failed`](super::WsSession::handle_connect_failed)).
    /// Any other connection stays open.
    OpenConnection,
    /// No connection is left: the session drew the delay `delay` asks for and set its reconnect
    /// deadline ([`WsSession::scheduled_reconnect`](super::WsSession::scheduled_reconnect) has the
    /// delay and attempt to report; [`WsSession::poll_timeout`](super::WsSession::poll_timeout)
    /// includes the deadline). Open nothing now: when the deadline passes,
    /// [`handle_timeout`](super::WsSession::handle_timeout) queues
    /// [`OpenConnection`](Self::OpenConnection).
    Reconnect {
        /// The policy the delay was drawn under.
        delay: ReconnectDelay,
    },
    /// Close this connection with this code (send the close frame if the transport still can) and
    /// drop it. The session has already forgotten it: later input for it is ignored.
    Close {
        /// The connection.
        conn: ConnId,
        /// The close code to send.
        code: CloseCode,
    },
    /// Stop for good (after closing every connection): a refusal or a client bug.
    Stop(Fatal),
    /// The run is over without error: the server closed the connection of a session configured to
    /// run once. Exit 0.
    Finished,
}

/// Kinds of [`Event::Warning`]; each name is also the event name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum WarningKind {
    /// Data arrived before `login_ok`; it was dropped.
    BeforeLoginOk,
    /// A data message without a valid entryId; delivered, cursor unchanged.
    BadEntryId,
    /// `login_ok.serverEntryIds` is older than the cursor this login sent: the server is behind, the
    /// cursor was reset.
    CursorReset,
    /// The server closed with 4002: the client read too slowly.
    SlowConsumer,
    /// A binary frame arrived in `json` mode; it was decoded by sniffing.
    UnexpectedBinary,
    /// `login_ok` has no `receiveType`, or an unknown one: every frame is sniffed.
    UnknownReceiveType,
    /// A `login_ok` on a connection that already had one; ignored.
    UnexpectedLoginOk,
    /// [`WsSession::handle_connected`](super::WsSession::handle_connected) was called although no
    /// connection was asked for; the previous connection was closed.
    UnexpectedConnect,
    /// Data on a channel past [`MAX_TRACKED_CHANNELS`](super::MAX_TRACKED_CHANNELS) or with a name
    /// longer than [`MAX_CHANNEL_NAME`](super::MAX_CHANNEL_NAME): delivered without dedupe or
    /// cursor.
    UntrackedChannel,
    /// Reported by the facade's driver, not the session: TLS certificate verification is off.
    InsecureTls,
    /// Reported by the facade's driver: a read or write failed and ended a connection.
    TransportError,
    /// Reported by the facade's driver: writing the `--record` recording failed.
    RecordFailed,
}

impl WarningKind {
    /// The event name, e.g. `"before_login_ok"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeLoginOk => "before_login_ok",
            Self::BadEntryId => "bad_entry_id",
            Self::CursorReset => "cursor_reset",
            Self::SlowConsumer => "slow_consumer",
            Self::UnexpectedBinary => "unexpected_binary",
            Self::UnknownReceiveType => "unknown_receive_type",
            Self::UnexpectedLoginOk => "unexpected_login_ok",
            Self::UnexpectedConnect => "unexpected_connect",
            Self::UntrackedChannel => "untracked_channel",
            Self::InsecureTls => "insecure_tls",
            Self::TransportError => "transport_error",
            Self::RecordFailed => "record_failed",
        }
    }
}

impl fmt::Display for WarningKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the application or the log should know. [`Event::name`] gives the docs/CLI.md event name.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The transport connected and the login was queued (`connected`).
    Connected {
        /// The new connection.
        conn: ConnId,
        /// Whether the login asks to resume (carries `serverEpoch` + `lastSeenId`).
        resuming: bool,
    },
    /// The server accepted the login (`login_ok`).
    LoginOk {
        /// The connection.
        conn: ConnId,
        /// The negotiated mode the decoder now uses; `None` when missing or unknown (frames are
        /// sniffed).
        receive_type: Option<ReceiveType>,
        /// The effective channel set, when the server sent it.
        channels: Option<Vec<String>>,
        /// `access.live`, when sent.
        live: Option<bool>,
        /// `access.pregame`, when sent.
        pregame: Option<bool>,
        /// The server epoch, when sent.
        server_epoch: Option<String>,
    },
    /// The server negotiated another mode than the one requested (`downgraded`).
    Downgraded {
        /// What the login asked for.
        requested: ReceiveType,
        /// What `login_ok` said.
        negotiated: ReceiveType,
    },
    /// A dictionary was stored (`dict`).
    Dict {
        /// The frame's channel (informational).
        channel: Option<String>,
        /// The dictionary id.
        dict_id: u32,
        /// The frame's `dictVersion` (informational).
        dict_version: Option<String>,
        /// The decoded dictionary size in bytes.
        size: usize,
    },
    /// A dictionary was refused; any previous one under the id is kept (`dict_rejected`).
    DictRejected {
        /// The frame's channel.
        channel: Option<String>,
        /// The announced id.
        dict_id: u32,
        /// Why, e.g. `"data is not valid base64"`.
        reason: String,
    },
    /// The server finished replaying (`resume_complete`).
    ResumeComplete {
        /// The frame's `serverEpoch`.
        server_epoch: Option<String>,
    },
    /// The application must re-fetch these channels by REST (`snapshot_required`); the stream goes on.
    SnapshotRequired {
        /// `server_restarted`, `resume_window_exceeded`, `client_backpressure`, or from the client
        /// `not_replayable` / `server_restarted`.
        reason: String,
        /// The channels concerned.
        channels: Vec<String>,
        /// True when the client raised it (docs/PROTOCOL.md B.9 step 8), false when the server sent it.
        raised_by_client: bool,
    },
    /// The server asked the client to move to a new connection (`reconnect_requested`).
    ReconnectRequested {
        /// The connection that got the request.
        conn: ConnId,
        /// The frame's `reason`, e.g. `server_upgrade`.
        reason: Option<String>,
    },
    /// A connection ended (`disconnected`).
    Disconnected {
        /// The connection, or `None` when connecting failed before there was one.
        conn: Option<ConnId>,
        /// The close code, if a close frame was received (none for an abrupt end or a client
        /// decision).
        code: Option<CloseCode>,
        /// What happened, e.g. `"closed by server"` or `"no frame for 30000 ms: connection
        /// considered dead"`.
        reason: String,
    },
    /// A frame was reported and skipped (`decode_error`).
    DecodeError(DecodeError),
    /// An `error` frame (`server_error`).
    ServerError {
        /// Its code (`code`, else `error`, else `reason`).
        code: Option<String>,
        /// Its message (`message`, else `msg`).
        message: Option<String>,
    },
    /// A control frame of an unknown `type`, or JSON that is neither control nor data
    /// (`unknown_control`); kept raw, never fatal.
    UnknownControl {
        /// The JSON text.
        raw: String,
    },
    /// A data message for the application (not an event line in the CLI: it goes to stdout).
    Data(DataMessage),
    /// Something unusual but survivable; the name is the kind's.
    Warning {
        /// What kind.
        kind: WarningKind,
        /// Details for the log.
        detail: String,
    },
}

impl Event {
    /// The docs/CLI.md event name (`connected`, `login_ok`, `decode_error`, ...); `data` for
    /// [`Event::Data`]; the warning kind for [`Event::Warning`].
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connected { .. } => "connected",
            Self::LoginOk { .. } => "login_ok",
            Self::Downgraded { .. } => "downgraded",
            Self::Dict { .. } => "dict",
            Self::DictRejected { .. } => "dict_rejected",
            Self::ResumeComplete { .. } => "resume_complete",
            Self::SnapshotRequired { .. } => "snapshot_required",
            Self::ReconnectRequested { .. } => "reconnect_requested",
            Self::Disconnected { .. } => "disconnected",
            Self::DecodeError(_) => "decode_error",
            Self::ServerError { .. } => "server_error",
            Self::UnknownControl { .. } => "unknown_control",
            Self::Data(_) => "data",
            Self::Warning { kind, .. } => kind.as_str(),
        }
    }
}
