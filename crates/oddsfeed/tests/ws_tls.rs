//! `wss://` against a local TLS server with a self-signed certificate: refused by default
//! (system roots), accepted with the certificate as a trusted root, and accepted with
//! verification switched off (with a warning).

mod ws_common;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oddsfeed::model::{ApiKey, ReceiveType};
use oddsfeed::ws::{TlsMode, WsClient, WsClientConfig, WsError, WsEvent};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_tungstenite::tungstenite::Message;
use ws_common::*;

const DATA: &str = r#"{"channel":"scores","type":"UPDATE","payload":{"fixtureId":"id1","scores":{}},"ts":1766939805321,"entryId":"1766939805321-3077"}"#;

/// A one-shot feed over TLS: login → `login_ok` (json) → one data message → close 1000.
async fn tls_server(cert: CertificateDer<'static>, key: PrivateKeyDer<'static>) -> SocketAddr {
    let (acceptor, listener, addr) = tls_listener(cert, key).await;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                    return;
                };
                let _login = ws.next().await;
                let ok = r#"{"type":"login_ok","receiveType":"json","channels":["scores"]}"#;
                let _ = ws.send(Message::text(ok)).await;
                let _ = ws.send(Message::text(DATA)).await;
                let _ = ws.close(None).await;
                while let Some(Ok(_)) = ws.next().await {}
            });
        }
    });
    addr
}

fn config(addr: SocketAddr, tls: TlsMode) -> WsClientConfig {
    WsClientConfig::builder(
        format!("wss://localhost:{}/ws", addr.port()),
        ApiKey::new("k"),
    )
    .receive_type(ReceiveType::Json)
    .once(true)
    .tls(tls)
    .build()
    .unwrap_or_else(|e| panic!("config: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_signed_certificate_is_refused_by_default() {
    let (cert, key) = certificate(false);
    let addr = tls_server(cert, key).await;
    let mut client = match WsClient::start(config(addr, TlsMode::Verify)) {
        Ok(client) => client,
        // A machine without any system root certificate refuses before connecting: also a
        // refusal, with its own message.
        Err(WsError::Tls(message)) => {
            assert!(message.contains("no system root certificates"), "{message}");
            return;
        }
        Err(e) => panic!("unexpected error: {e}"),
    };
    let run = collect_all(&mut client, Duration::from_secs(10)).await;
    let Some(WsEvent::Fatal(error)) = run.events.last() else {
        panic!("expected a fatal TLS error: {:?}", run.names());
    };
    assert!(matches!(error, WsError::Tls(_)), "{error:?}");
    assert!(
        error.to_string().contains("server certificate rejected"),
        "{error}"
    );
    assert!(!error.is_auth_refused());
    assert!(run.data.is_empty());
    // Not retried: a certificate problem does not go away by itself.
    assert!(run.session_events("connected").is_empty());
    assert_eq!(client.detailed_stats().connect_attempts, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_root_is_accepted() {
    let (cert, key) = certificate(false);
    let roots = roots_with(&cert);
    let addr = tls_server(cert, key).await;
    let mut client = match WsClient::start(config(addr, roots)) {
        Ok(client) => client,
        Err(e) => panic!("connect: {e}"),
    };
    let run = collect_all(&mut client, Duration::from_secs(10)).await;
    assert!(run.finished, "{:?}", run.names());
    assert_eq!(run.data.len(), 1);
    assert_eq!(parse(&run.data[0].raw), parse(DATA));
    assert!(!run.names().contains(&"insecure_tls"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insecure_mode_connects_and_warns() {
    let (cert, key) = certificate(false);
    let addr = tls_server(cert, key).await;
    let mut client = match WsClient::start(config(addr, TlsMode::InsecureNoVerify)) {
        Ok(client) => client,
        Err(e) => panic!("connect: {e}"),
    };
    let run = collect_all(&mut client, Duration::from_secs(10)).await;
    assert!(run.finished, "{:?}", run.names());
    assert_eq!(run.names().first(), Some(&"insecure_tls"));
    assert_eq!(run.data.len(), 1);
}
