//! Tail the WebSocket feed and resume from a state file across runs.
//!
//! Prints every data message as one JSON line on stdout and the session's events on stderr.
//! Stop it with Ctrl-C and start it again: it resumes after the last message it printed (the
//! cursors are saved to the state file at most every second and on exit).
//!
//! Against the simulator, in two terminals:
//!
//! ```text
//! cargo run -p oddsfeed-cli -- sim ws --port 9000 --forever --rate 200
//! ODDSPAPI_API_KEY=demo cargo run -p oddsfeed --example ws_tail -- ws://127.0.0.1:9000/ws state.json
//! ```

use std::time::Duration;

use oddsfeed::model::ApiKey;
use oddsfeed::state::FileStore;
use oddsfeed::ws::{WsClient, WsClientConfig, WsEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "ws://127.0.0.1:9000/ws".into());
    let state = args.next().unwrap_or_else(|| "oddsfeed-state.json".into());
    // The key comes from the environment, never from the command line (other users can read a
    // process's arguments).
    let key = std::env::var("ODDSPAPI_API_KEY").map_err(|_| "set ODDSPAPI_API_KEY")?;

    let config = WsClientConfig::builder(url, ApiKey::new(key))
        .channels(["odds", "fixtures", "scores"])
        .store(FileStore::new(state))
        .save_interval(Some(Duration::from_secs(1)))
        .build()?;
    // Waits until the server accepted the login; a refused key is an error here.
    let mut client = WsClient::connect(config).await?;
    loop {
        let event = tokio::select! {
            event = client.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        match event {
            Some(WsEvent::Data(msg)) => println!("{}", msg.raw),
            Some(WsEvent::Fatal(error)) => return Err(error.into()),
            Some(WsEvent::Finished) | None => break,
            Some(other) => eprintln!("event: {}", other.name()),
        }
    }
    // Saves the cursors of everything printed, then closes the connection.
    client.close().await?;
    Ok(())
}
