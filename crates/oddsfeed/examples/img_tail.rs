//! Tail the IMG feed: over SSH with a verified host key, or over plain TCP for the simulator.
//!
//! Prints every response and push as one JSON line on stdout (heartbeats left out) and the
//! session's events on stderr. The IMG feed has no resume: after a reconnect the server sends a
//! new snapshot, announced by `session_initialized` with `reconnect: true`.
//!
//! Against the simulator over TCP:
//!
//! ```text
//! cargo run -p oddsfeed-cli -- sim img --port 9001 --tcp --forever
//! cargo run -p oddsfeed --example img_tail -- 127.0.0.1:9001 --tcp
//! ```
//!
//! Over SSH (the simulator with `--ssh --host-key HOSTKEY --authorized-keys KEYS.pub`, or the
//! real feed), with the server's key in a known_hosts file:
//!
//! ```text
//! cargo run -p oddsfeed --example img_tail -- HOST:PORT USER ~/.ssh/id_ed25519 ~/.ssh/known_hosts
//! ```

use oddsfeed::img::Event;
use oddsfeed::img::{HostKeyCheck, ImgClient, ImgClientConfig, ImgEvent, SshSettings, Transport};
use oddsfeed::model::img::{PushKind, Request};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let transport = match args.as_slice() {
        [addr, flag] if flag == "--tcp" => Transport::Tcp { addr: addr.clone() },
        [addr, user, identity, known_hosts] => Transport::Ssh(SshSettings {
            addr: addr.clone(),
            user: user.clone(),
            identity: identity.into(),
            host_key_check: HostKeyCheck::KnownHosts(known_hosts.into()),
            // SHA-1 RSA signatures stay refused (the default).
            insecure_allow_sha1_rsa: false,
        }),
        _ => {
            return Err(
                "usage: img_tail ADDR --tcp | img_tail ADDR USER IDENTITY KNOWN_HOSTS".into(),
            );
        }
    };
    // A standing subscription: re-sent after every reconnect.
    let config = ImgClientConfig::builder(transport)
        .request(Request::new("subscribe"))
        .build()?;
    // Waits until the session is initialised; an unknown host key is an error here.
    let mut client = ImgClient::connect(config).await?;
    loop {
        let event = tokio::select! {
            event = client.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        match event {
            Some(ImgEvent::Session(Event::Push(push))) if push.kind == PushKind::Heartbeat => {}
            Some(ImgEvent::Session(session)) if session.raw_line().is_some() => {
                if let Some(line) = session.raw_line() {
                    println!("{line}");
                }
            }
            Some(ImgEvent::Fatal(error)) => return Err(error.into()),
            Some(ImgEvent::Finished) | None => break,
            Some(other) => eprintln!("event: {}", other.name()),
        }
    }
    client.close().await;
    Ok(())
}
