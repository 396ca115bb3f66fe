//! The IMG simulator over SSH on loopback, driven by a russh client:
//! public-key auth against authorized keys, shell/exec channels, PTY line
//! ends, and the channel close when a session ends.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use oddsfeed_sim::img::{
    ImgSimConfig, SimShared, SshRsaSignatures, load_authorized_keys, load_host_key, run_ssh,
};
use russh::ChannelMsg;
use russh::client::{self, AuthResult};
use russh::keys::ssh_key::LineEnding;
use russh::keys::{
    Algorithm, HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate,
};
use serde_json::Value;

const GUARD: Duration = Duration::from_secs(10);

fn fast_cfg() -> ImgSimConfig {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.init_deadline = Duration::from_millis(2000);
    cfg
}

fn ed25519() -> PrivateKey {
    PrivateKey::random(&mut rand::rng(), Algorithm::Ed25519).expect("ed25519 key")
}

async fn start(cfg: ImgSimConfig, host: PrivateKey, authorized: Vec<PublicKey>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(run_ssh(listener, cfg, host, authorized));
    addr
}

struct TestClient {
    server_key: PublicKey,
}

impl client::Handler for TestClient {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        Ok(
            matches!(key, PublicKeyOrCertificate::PublicKey { key, .. } if key.key_data() == self.server_key.key_data()),
        )
    }
}

async fn connect(
    addr: SocketAddr,
    host: &PrivateKey,
    key: PrivateKey,
) -> (client::Handle<TestClient>, AuthResult) {
    connect_signing_with(addr, host, key, None).await
}

/// Connects and authenticates with `key`; an RSA key signs with `rsa_hash` when it is given
/// (`Some(None)` = SHA-1 `ssh-rsa`), else with the best hash the server announces.
async fn connect_signing_with(
    addr: SocketAddr,
    host: &PrivateKey,
    key: PrivateKey,
    rsa_hash: Option<Option<HashAlg>>,
) -> (client::Handle<TestClient>, AuthResult) {
    let handler = TestClient {
        server_key: host.public_key().clone(),
    };
    let mut handle = tokio::time::timeout(
        GUARD,
        client::connect(Arc::new(client::Config::default()), addr, handler),
    )
    .await
    .expect("guard")
    .expect("ssh connect");
    let hash = match rsa_hash {
        Some(hash) => hash,
        None => handle
            .best_supported_rsa_hash()
            .await
            .expect("server-sig-algs")
            .flatten(),
    };
    let auth = handle
        .authenticate_publickey("any-user", PrivateKeyWithHashAlg::new(Arc::new(key), hash))
        .await
        .expect("auth exchange");
    (handle, auth)
}

fn rsa() -> PrivateKey {
    PrivateKey::from(
        russh::keys::ssh_key::private::RsaKeypair::random(&mut rand::rng(), 2048).expect("rsa"),
    )
}

/// Everything a channel delivers: its data split into lines, and its
/// end-of-channel messages in order.
#[derive(Default)]
struct Received {
    buf: Vec<u8>,
    ends: Vec<String>,
}

impl Received {
    fn lines(&self) -> Vec<Value> {
        self.buf
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).expect("json line"))
            .collect()
    }
}

/// Reads from the channel until `done` says so or the channel closes.
async fn read_until(
    ch: &mut russh::Channel<client::Msg>,
    done: impl Fn(&Received) -> bool,
) -> Received {
    let mut got = Received::default();
    tokio::time::timeout(GUARD, async {
        while !done(&got) {
            match ch.wait().await {
                Some(ChannelMsg::Data { data }) => got.buf.extend_from_slice(&data),
                Some(ChannelMsg::Eof) => got.ends.push("eof".into()),
                Some(ChannelMsg::ExitStatus { exit_status }) => {
                    got.ends.push(format!("exit {exit_status}"))
                }
                Some(ChannelMsg::Close) => got.ends.push("close".into()),
                Some(_) => {}
                None => break,
            }
        }
    })
    .await
    .expect("guard");
    got
}

#[tokio::test]
async fn ed25519_key_from_files_authenticates_and_gets_init_response_and_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = ed25519();
    let host_path = dir.path().join("host_ed25519");
    std::fs::write(
        &host_path,
        host.to_openssh(LineEnding::LF).expect("encode").as_bytes(),
    )
    .expect("write");
    let client_key = ed25519();
    let ak_path = dir.path().join("authorized_keys");
    let text = format!(
        "# feed clients\nnot a key at all\nno-pty,from=\"127.0.0.1\" {}\n",
        client_key.public_key().to_openssh().expect("encode")
    );
    std::fs::write(&ak_path, text).expect("write");

    let authorized = load_authorized_keys(&ak_path).expect("authorized keys");
    assert_eq!(authorized.len(), 1);
    let cfg = fast_cfg();
    let n = SimShared::new(&cfg).world().snapshot_len(false);
    let addr = start(
        cfg,
        load_host_key(&host_path).expect("host key"),
        authorized,
    )
    .await;

    let (handle, auth) = connect(addr, &host, client_key).await;
    assert_eq!(auth, AuthResult::Success);
    let mut ch = handle
        .channel_open_session()
        .await
        .expect("session channel");
    ch.request_shell(true).await.expect("shell");
    ch.data(&b"{\"request\":\"init\",\"msg\":{},\"request_id\":\"ssh1\"}\n"[..])
        .await
        .expect("send");
    let got = read_until(&mut ch, |r| {
        let lines = r.lines();
        lines.len() > n && lines.last().is_some_and(|l| l["type"] == "heartbeat")
    })
    .await;
    let lines = got.lines();
    assert_eq!(lines[0]["status"], "session initialized");
    assert_eq!(lines[0]["request_id"], "ssh1");
    let pushes: Vec<&Value> = lines[1..]
        .iter()
        .filter(|l| l["type"] != "heartbeat")
        .collect();
    assert_eq!(pushes.len(), n);
    assert_eq!(pushes[0]["type"], "sport");
    assert_eq!(pushes[n - 1]["type"], "market");
}

#[tokio::test]
async fn key_not_in_authorized_keys_is_refused() {
    let host = ed25519();
    let allowed = ed25519();
    let addr = start(fast_cfg(), host.clone(), vec![allowed.public_key().clone()]).await;
    let (_handle, auth) = connect(addr, &host, ed25519()).await;
    assert!(
        matches!(
            auth,
            AuthResult::Failure {
                partial_success: false,
                ..
            }
        ),
        "{auth:?}"
    );
}

#[tokio::test]
async fn pty_shell_accepts_cr_terminated_requests() {
    let host = ed25519();
    let key = ed25519();
    let addr = start(fast_cfg(), host.clone(), vec![key.public_key().clone()]).await;
    let (handle, auth) = connect(addr, &host, key).await;
    assert_eq!(auth, AuthResult::Success);
    let ch = handle.channel_open_session().await.expect("channel");
    ch.request_pty(true, "xterm", 80, 24, 0, 0, &[])
        .await
        .expect("pty");
    ch.request_shell(true).await.expect("shell");
    let mut ch = ch;
    ch.data(&b"{\"request\":\"init\",\"msg\":{},\"request_id\":\"tty\"}\r"[..])
        .await
        .expect("send");
    let got = read_until(&mut ch, |r| !r.lines().is_empty()).await;
    let first = &got.lines()[0];
    assert_eq!(first["status"], "session initialized");
    assert_eq!(first["request_id"], "tty");
}

#[tokio::test]
async fn exec_channel_gets_eof_exit_status_and_close_when_the_session_ends() {
    let host = ed25519();
    let key = ed25519();
    let mut cfg = fast_cfg();
    cfg.messages = Some(3);
    let addr = start(cfg, host.clone(), vec![key.public_key().clone()]).await;
    let (handle, _) = connect(addr, &host, key).await;
    let mut ch = handle.channel_open_session().await.expect("channel");
    ch.exec(true, "feed").await.expect("exec");
    ch.data(&b"{\"request\":\"init\",\"msg\":{}}\n"[..])
        .await
        .expect("send");
    let got = read_until(&mut ch, |r| r.ends.iter().any(|e| e == "close")).await;
    let kinds: Vec<String> = got
        .lines()
        .iter()
        .filter(|l| l["type"] != "heartbeat")
        .map(|l| {
            l["type"]
                .as_str()
                .or(l["status"].as_str())
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    assert_eq!(
        kinds,
        ["session initialized", "sport", "competition", "competition"]
    );
    assert_eq!(got.ends, ["eof", "exit 0", "close"]);
}

#[tokio::test]
async fn rsa_key_authenticates_with_sha2_signatures() {
    let host = ed25519();
    let key = rsa();
    let addr = start(fast_cfg(), host.clone(), vec![key.public_key().clone()]).await;
    let (handle, auth) = connect(addr, &host, key).await;
    assert_eq!(auth, AuthResult::Success);
    // The client signed with SHA-2 (never SHA-1 `ssh-rsa`), as OpenSSH >= 8.8 requires.
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .expect("server-sig-algs")
        .flatten();
    assert!(
        matches!(hash, Some(HashAlg::Sha256 | HashAlg::Sha512)),
        "{hash:?}"
    );
    let mut ch = handle.channel_open_session().await.expect("channel");
    ch.request_shell(false).await.expect("shell");
    ch.data(&b"{\"request\":\"init\",\"msg\":{}}\n"[..])
        .await
        .expect("send");
    let got = read_until(&mut ch, |r| !r.lines().is_empty()).await;
    assert_eq!(got.lines()[0]["status"], "session initialized");
}

/// The guard behind the client's `rsa_keys_sign_with_sha2`: a client that signs with SHA-1
/// must be refused, or that test could not notice a client falling back to `ssh-rsa`.
#[tokio::test]
async fn sha1_rsa_signatures_are_refused_and_not_announced() {
    let host = ed25519();
    let key = rsa();
    let addr = start(fast_cfg(), host.clone(), vec![key.public_key().clone()]).await;
    let (handle, auth) = connect_signing_with(addr, &host, key.clone(), Some(None)).await;
    assert!(
        matches!(auth, AuthResult::Failure { .. }),
        "an authorized key signing with ssh-rsa (SHA-1) got in: {auth:?}"
    );
    assert_eq!(
        handle
            .best_supported_rsa_hash()
            .await
            .expect("server-sig-algs"),
        Some(Some(HashAlg::Sha512)),
        "server-sig-algs must name rsa-sha2-512 first and never leave only ssh-rsa"
    );
    // The same key with SHA-256 and SHA-512 gets in: the refusal is about the hash only.
    for hash in [HashAlg::Sha256, HashAlg::Sha512] {
        let (_, auth) = connect_signing_with(addr, &host, key.clone(), Some(Some(hash))).await;
        assert_eq!(auth, AuthResult::Success, "{hash:?}");
    }
}

/// The two old-server imitations the client's tests use.
#[tokio::test]
async fn old_server_policies_announce_and_accept_sha1() {
    let host = ed25519();
    let key = rsa();
    for (policy, announced) in [
        (SshRsaSignatures::Sha1Only, Some(None)),
        (SshRsaSignatures::NotAnnounced, None),
    ] {
        let mut cfg = fast_cfg();
        cfg.ssh_rsa_signatures = policy;
        let addr = start(cfg, host.clone(), vec![key.public_key().clone()]).await;
        let (handle, auth) = connect_signing_with(addr, &host, key.clone(), Some(None)).await;
        assert_eq!(auth, AuthResult::Success, "{policy:?}");
        assert_eq!(
            handle
                .best_supported_rsa_hash()
                .await
                .expect("server-sig-algs"),
            announced,
            "{policy:?}"
        );
    }
}
