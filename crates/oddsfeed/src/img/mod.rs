//! Client for the IMG Arena-style newline-JSON feed over SSH (docs/PROTOCOL.md Part A).
//!
//! [`ImgClient::connect`] runs a driver task around the sans-IO
//! [`ImgSession`](oddsfeed_session::img::ImgSession): it opens the [`Transport`] (SSH with a
//! verified host key and public-key authentication, or plain TCP for local simulators),
//! feeds the session bytes and time, writes its lines, and reconnects with jittered
//! exponential backoff when it asks to. The application reads [`ImgEvent`]s with
//! [`ImgClient::next`].
//!
//! ```no_run
//! use oddsfeed::img::{HostKeyCheck, ImgClient, ImgClientConfig, ImgEvent, SshSettings, Transport};
//! use oddsfeed::model::img::{Request, SubscriptionFilter};
//! use oddsfeed::img::Event;
//!
//! # async fn demo() -> Result<(), oddsfeed::img::ImgError> {
//! let transport = Transport::Ssh(SshSettings {
//!     addr: "golf-odds-distribution.staging.imgarena.dev:2093".into(),
//!     user: "my-user".into(),
//!     identity: "/home/me/.ssh/id_ed25519".into(),
//!     host_key_check: HostKeyCheck::KnownHosts("/home/me/.ssh/known_hosts".into()),
//!     insecure_allow_sha1_rsa: false,
//! });
//! let config = ImgClientConfig::builder(transport)
//!     .request(Request::subscribe(&SubscriptionFilter::default()))
//!     .build()?;
//! // Waits until the session is initialised (an unknown host key is an error here).
//! let mut client = ImgClient::connect(config).await?;
//! while let Some(event) = client.next().await {
//!     match event {
//!         ImgEvent::Session(Event::SessionInitialized { reconnect: true, .. }) => {
//!             // A new snapshot follows: reset the local state.
//!         }
//!         ImgEvent::Session(Event::Push(push)) => println!("{}", push.raw),
//!         ImgEvent::Health(health) => eprintln!("feed health: {}", health.name()),
//!         ImgEvent::Fatal(error) => return Err(error),
//!         other => eprintln!("event: {}", other.name()),
//!     }
//! }
//! client.close().await;
//! # Ok(())
//! # }
//! ```

mod client;
mod config;
mod driver;
mod error;
mod event;
mod ssh;
mod transport;

pub use client::ImgClient;
pub(crate) use client::count_event;
pub use config::{
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_EVENT_QUEUE, DEFAULT_READ_BUFFER, HostKeyCheck,
    ImgClientConfig, ImgClientConfigBuilder, SshSettings, Transport,
};
pub use error::ImgError;
pub use event::ImgEvent;

#[doc(no_inline)]
pub use oddsfeed_session::img::{
    DecodeError, DecodeErrorKind, DisconnectedReason, Event, ImgRequestError, ImgSessionConfig,
    RequestId, RequestNames,
};
