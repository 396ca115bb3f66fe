//! Opening one WebSocket connection: TCP, TLS for `wss://`, the HTTP upgrade, all under one timeout.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

/// A connected WebSocket.
pub(crate) type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What the driver needs to open connections; cheap to clone into a connect task.
#[derive(Clone)]
pub(crate) struct Connect {
    pub url: String,
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub max_frame: usize,
    pub timeout: Duration,
}

/// Why a connection could not be opened.
#[derive(Debug)]
pub(crate) struct ConnectFailure {
    /// One line for the `disconnected` event (never the API key: the key is not in the URL the
    /// library sees unless the user put it there, and the URL is never quoted).
    pub detail: String,
    /// True when retrying cannot help: the server's certificate was rejected.
    pub certificate_rejected: bool,
}

impl Connect {
    /// The WebSocket limits: whole messages and single frames up to `max_frame` bytes.
    pub(crate) fn ws_config(&self) -> WebSocketConfig {
        WebSocketConfig::default()
            .max_message_size(Some(self.max_frame))
            .max_frame_size(Some(self.max_frame))
    }

    /// Connects, with TCP_NODELAY, within the timeout.
    pub(crate) async fn open(self) -> Result<Box<WsStream>, ConnectFailure> {
        let request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|e| ConnectFailure {
                detail: describe(&e),
                certificate_rejected: false,
            })?;
        let connector = match &self.tls {
            Some(config) => Connector::Rustls(Arc::clone(config)),
            None => Connector::Plain,
        };
        let attempt = tokio_tungstenite::connect_async_tls_with_config(
            request,
            Some(self.ws_config()),
            true,
            Some(connector),
        );
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(Ok((stream, _response))) => Ok(Box::new(stream)),
            Ok(Err(e)) => Err(ConnectFailure {
                certificate_rejected: is_certificate_error(&e),
                detail: describe(&e),
            }),
            Err(_) => Err(ConnectFailure {
                detail: format!("timed out after {} ms", self.timeout.as_millis()),
                certificate_rejected: false,
            }),
        }
    }
}

/// A one-line description of a connect error, without the URL.
fn describe(e: &WsError) -> String {
    match e {
        WsError::Http(response) => format!("HTTP upgrade refused: {}", response.status()),
        WsError::Io(io) => match rustls_error(io) {
            Some(tls) => format!("TLS handshake failed: {tls}"),
            None => io.to_string(),
        },
        other => other.to_string(),
    }
}

fn rustls_error(e: &io::Error) -> Option<&rustls::Error> {
    e.get_ref()?.downcast_ref::<rustls::Error>()
}

/// Whether the error is rustls refusing the server's certificate (unknown issuer, wrong name,
/// expired, ...).
fn is_certificate_error(e: &WsError) -> bool {
    match e {
        WsError::Io(io) => matches!(rustls_error(io), Some(rustls::Error::InvalidCertificate(_))),
        _ => false,
    }
}
