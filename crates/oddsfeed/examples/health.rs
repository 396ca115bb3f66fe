//! React to feed health: suspend markets while the feed is down or stale, reload channels that
//! need a snapshot, and reopen when the feed recovers.
//!
//! Both clients yield the same [`Health`] events (see the `oddsfeed::health` module for what each
//! state means); this example follows the WebSocket feed and keeps a tiny "trading state": which
//! channels may be traded now.
//!
//! Against the simulator, dropping the connection every 2,000 messages so that the feed goes
//! down and recovers (with the default replay channels, `odds` cannot be replayed and needs a
//! snapshot after each reconnect):
//!
//! ```text
//! cargo run -p oddsfeed-cli -- sim ws --port 9000 --forever --rate 2000 --drop-after 2000
//! ODDSPAPI_API_KEY=demo cargo run -p oddsfeed --example health -- ws://127.0.0.1:9000/ws
//! ```

use std::collections::BTreeSet;

use oddsfeed::health::Health;
use oddsfeed::model::ApiKey;
use oddsfeed::ws::{WsClient, WsClientConfig, WsEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:9000/ws".into());
    let key = std::env::var("ODDSPAPI_API_KEY").map_err(|_| "set ODDSPAPI_API_KEY")?;
    let config = WsClientConfig::builder(url, ApiKey::new(key)).build()?;
    let mut client = WsClient::connect(config).await?;

    let mut trading = false;
    let mut needs_snapshot: BTreeSet<String> = BTreeSet::new();
    let mut messages = 0u64;
    loop {
        let event = tokio::select! {
            event = client.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        match event {
            Some(WsEvent::Health(health)) => {
                match &health {
                    Health::Up | Health::Recovered => trading = true,
                    Health::Stale | Health::Down => trading = false,
                    Health::SnapshotRequired { channels, .. } => {
                        // A real system re-fetches these by REST, then clears them.
                        needs_snapshot.extend(channels.iter().cloned());
                    }
                    _ => {}
                }
                eprintln!(
                    "health: {} (trading: {trading}; channels waiting for a snapshot: {needs_snapshot:?})",
                    health.name()
                );
            }
            Some(WsEvent::Data(msg)) => {
                messages += 1;
                if messages.is_multiple_of(1000) {
                    eprintln!("{messages} messages; last on {}", msg.channel);
                }
            }
            Some(WsEvent::Fatal(error)) => return Err(error.into()),
            Some(WsEvent::Finished) | None => break,
            Some(_) => {}
        }
    }
    client.close().await?;
    Ok(())
}
