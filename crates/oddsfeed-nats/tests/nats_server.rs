//! The test harness itself: a real `nats-server` with JetStream starts on a free loopback port,
//! keeps its streams across a restart on the same store directory, and is gone once dropped.

use async_nats::jetstream::{self, stream};
use oddsfeed_nats::testing::NatsServer;

#[tokio::test]
async fn jetstream_survives_a_restart_on_the_same_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let Some(mut server) = NatsServer::start_or_skip(dir.path()) else {
        return;
    };
    let url = server.url();
    {
        let client = async_nats::connect(&url).await.expect("connect");
        let js = jetstream::new(client);
        js.create_stream(stream::Config {
            name: "HARNESS".into(),
            subjects: vec!["harness.>".into()],
            storage: stream::StorageType::File,
            ..stream::Config::default()
        })
        .await
        .expect("create stream");
        let ack = js
            .publish("harness.one", "1".into())
            .await
            .expect("publish")
            .await
            .expect("ack");
        assert_eq!(ack.sequence, 1);
    }

    server.restart().expect("restart");
    assert_eq!(server.url(), url, "same port after a restart");
    let client = async_nats::connect(&url).await.expect("reconnect");
    let js = jetstream::new(client);
    let mut s = js.get_stream("HARNESS").await.expect("stream kept");
    assert_eq!(s.info().await.expect("info").state.messages, 1);

    let addr = server.addr();
    drop(server);
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "the server is gone once the harness is dropped"
    );
}
