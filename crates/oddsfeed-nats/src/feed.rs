//! The one place this crate touches the feed client ([`oddsfeed::ws::WsClient`]).
//!
//! The relay needs four things from a feed connection: start it from given cursors, take data
//! messages and events in order, learn the server epoch of each login, and close it. Keeping them
//! here means a change of the facade's client API touches only this file.

use std::sync::{Arc, Mutex};

use oddsfeed::model::ws::PayloadMode;
use oddsfeed::model::{EntryId, ResumeState};
use oddsfeed::state::{CursorStore, StateError};
use oddsfeed::ws::{Event, WsClient, WsClientConfig, WsClientConfigBuilder, WsError, WsEvent};
use serde_json::{Map, Value};

/// What a feed connection hands the relay, in feed order.
#[derive(Debug)]
pub(crate) enum FeedItem {
    /// A data message.
    Data {
        /// Its channel.
        channel: String,
        /// Its entryId, when it has a valid one.
        entry_id: Option<EntryId>,
        /// The exact JSON line `oddsfeed ws` prints for it (without the newline).
        raw: String,
        /// Its subject token (see [`crate::subject::token_of`]).
        token: String,
    },
    /// A feed event, with the fields of its `--events jsonl` line.
    Event {
        /// The event name (`login_ok`, `snapshot_required`, ...).
        name: &'static str,
        /// Its fields.
        fields: Map<String, Value>,
        /// The server epoch a `login_ok` announced.
        epoch: Option<String>,
    },
    /// The feed client ended with an error (a refused key): the relay stops.
    Fatal(WsError),
}

/// The cursors the next feed connection starts from. The relay sets them before each start; the
/// client's own saves are ignored, because only the relay knows which messages JetStream has
/// acknowledged.
#[derive(Debug, Default)]
pub(crate) struct StartCursors(Mutex<Option<ResumeState>>);

impl StartCursors {
    fn set(&self, state: ResumeState) {
        let mut guard = match self.0.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        *guard = Some(state);
    }
}

impl CursorStore for StartCursors {
    fn load(&self) -> Result<Option<ResumeState>, StateError> {
        Ok(match self.0.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        })
    }

    fn save(&self, _state: &ResumeState) -> Result<(), StateError> {
        Ok(())
    }
}

/// The feed settings the relay starts each connection with.
#[derive(Debug, Clone)]
pub(crate) struct FeedSettings {
    config: WsClientConfig,
    cursors: Arc<StartCursors>,
}

impl FeedSettings {
    /// Takes the application's client settings; the cursor store is replaced by the relay's.
    /// Payloads are not decoded (`PayloadMode::Envelope`): the relay publishes `raw` and takes
    /// the subject token from it, so a typed payload would be built only to be dropped.
    pub(crate) fn new(builder: WsClientConfigBuilder) -> Result<Self, WsError> {
        let cursors = Arc::new(StartCursors::default());
        let store: Arc<dyn CursorStore> = cursors.clone();
        let config = builder
            .payload_mode(PayloadMode::Envelope)
            .keep_book(false)
            .shared_store(store)
            .save_interval(None)
            .once(false)
            .build()?;
        Ok(Self { config, cursors })
    }
}

/// One running feed client.
#[derive(Debug)]
pub(crate) struct Feed {
    client: WsClient,
}

impl Feed {
    /// Starts a client that logs in with `cursors`. Must run within a tokio runtime.
    pub(crate) fn start(settings: &FeedSettings, cursors: ResumeState) -> Result<Self, WsError> {
        settings.cursors.set(cursors);
        let client = WsClient::start(settings.config.clone())?;
        Ok(Self { client })
    }

    /// The next item; `None` when the client has stopped (it was closed or ended).
    pub(crate) async fn next(&mut self) -> Option<FeedItem> {
        loop {
            let event = self.client.next().await?;
            if let Some(item) = Self::item(event) {
                return Some(item);
            }
        }
    }

    /// The next item if one is ready now, without waiting.
    pub(crate) fn try_next(&mut self) -> Option<FeedItem> {
        loop {
            let event = self.client.try_next()?;
            if let Some(item) = Self::item(event) {
                return Some(item);
            }
        }
    }

    /// What the relay does with a client event (`None`: nothing, e.g. a stats tick).
    fn item(event: WsEvent) -> Option<FeedItem> {
        match event {
            WsEvent::Data(msg) => {
                let token = crate::subject::token_of(&msg.channel, &msg.payload, &msg.raw);
                Some(FeedItem::Data {
                    channel: msg.channel,
                    entry_id: msg.entry_id,
                    raw: msg.raw,
                    token,
                })
            }
            WsEvent::Fatal(error) => Some(FeedItem::Fatal(error)),
            other => {
                let fields = other.json_fields()?;
                let epoch = match &other {
                    WsEvent::Session(Event::LoginOk { server_epoch, .. }) => server_epoch.clone(),
                    _ => None,
                };
                Some(FeedItem::Event {
                    name: other.name(),
                    fields,
                    epoch,
                })
            }
        }
    }

    /// Closes the connection (the client's final cursor save goes nowhere).
    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}
