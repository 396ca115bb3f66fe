//! The IMG client over SSH against the in-process russh simulator: host-key verification
//! through a known_hosts file (plain and hashed), public-key authentication (ed25519, and RSA
//! with SHA-2 only: SHA-1 `ssh-rsa` needs an explicit opt-in), and the fatal errors. Keys are
//! generated in-process; no OpenSSH program is needed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use oddsfeed::img::{
    HostKeyCheck, ImgClient, ImgClientConfig, ImgError, ImgEvent, SshSettings, Transport,
};
use oddsfeed_model::img::PushKind;
use oddsfeed_session::img::Event;
use oddsfeed_sim::img::{ImgSimConfig, SshRsaSignatures, run_ssh};
use oddsfeed_testkit::keys::{KeyType, generate, hashed_host};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{PrivateKey, PublicKey};
use tokio::net::TcpListener;

const HANG_GUARD: Duration = Duration::from_secs(20);

fn ed25519(seed: u8) -> PrivateKey {
    PrivateKey::from(Ed25519Keypair::from_seed(&[seed; 32]))
}

fn write_private_key(dir: &Path, name: &str, key: &PrivateKey) -> PathBuf {
    let path = dir.join(name);
    let text = key.to_openssh(LineEnding::LF).expect("encode key");
    std::fs::write(&path, text.as_bytes()).expect("write key");
    path
}

fn write_known_hosts(dir: &Path, port: u16, key: &PublicKey) -> PathBuf {
    let path = dir.join("known_hosts");
    let line = format!("[127.0.0.1]:{port} {}\n", key.to_openssh().expect("encode"));
    std::fs::write(&path, line).expect("write known_hosts");
    path
}

/// Starts the SSH simulator (5 pushes per connection) and returns its port.
async fn start_sim(host_key: PrivateKey, authorized: Vec<PublicKey>) -> u16 {
    start_sim_with(host_key, authorized, SshRsaSignatures::default()).await
}

/// [`start_sim`] with an RSA signature policy.
async fn start_sim_with(
    host_key: PrivateKey,
    authorized: Vec<PublicKey>,
    rsa: SshRsaSignatures,
) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = 100;
    cfg.messages = Some(5);
    cfg.ssh_rsa_signatures = rsa;
    tokio::spawn(run_ssh(listener, cfg, host_key, authorized));
    port
}

fn config(port: u16, identity: PathBuf, check: HostKeyCheck) -> ImgClientConfig {
    config_sha1(port, identity, check, false)
}

/// [`config`] with the SHA-1 RSA opt-in set as given.
fn config_sha1(
    port: u16,
    identity: PathBuf,
    check: HostKeyCheck,
    insecure_allow_sha1_rsa: bool,
) -> ImgClientConfig {
    ImgClientConfig::builder(Transport::Ssh(SshSettings {
        addr: format!("127.0.0.1:{port}"),
        user: "feed".into(),
        identity,
        host_key_check: check,
        insecure_allow_sha1_rsa,
    }))
    .once(true)
    .build()
    .expect("valid config")
}

/// Runs a `once` client to its end: the event names, the non-heartbeat pushes, and the
/// error if it failed.
async fn run(config: ImgClientConfig) -> (Vec<&'static str>, usize, Option<ImgError>) {
    let mut client = ImgClient::start(config).expect("start the IMG client");
    let mut names = Vec::new();
    let mut pushes = 0;
    loop {
        let item = match tokio::time::timeout(HANG_GUARD, client.next()).await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("the client ended without Finished or an error"),
            Err(_) => panic!("no item within the hang guard"),
        };
        match item {
            ImgEvent::Finished => return (names, pushes, None),
            ImgEvent::Fatal(error) => return (names, pushes, Some(error)),
            // Health restates the session events this test checks.
            ImgEvent::Health(_) => {}
            event => {
                if let ImgEvent::Session(Event::Push(push)) = &event
                    && push.kind != PushKind::Heartbeat
                {
                    pushes += 1;
                }
                names.push(event.name());
            }
        }
    }
}

#[tokio::test]
async fn ed25519_login_with_a_known_host_key_gets_init_response_and_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = ed25519(1);
    let client_key = ed25519(2);
    let port = start_sim(host.clone(), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id_ed25519", &client_key);
    let known = write_known_hosts(dir.path(), port, host.public_key());
    let (names, pushes, error) = run(config(port, identity, HostKeyCheck::KnownHosts(known))).await;
    assert_eq!(error, None);
    assert_eq!(
        &names[..4],
        ["connecting", "connected", "response", "session_initialized"]
    );
    assert_eq!(pushes, 5, "the simulator's whole budget arrived");
    assert_eq!(names.last(), Some(&"disconnected"));
}

#[tokio::test]
async fn hashed_known_hosts_entries_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = ed25519(11);
    let client_key = ed25519(12);
    let port = start_sim(host.clone(), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &client_key);
    // What `ssh-keygen -H` writes: `|1|base64(salt)|base64(HMAC-SHA1(salt, "[host]:port"))`.
    let known = dir.path().join("known_hosts");
    let line = format!(
        "{} {}\n",
        hashed_host(&format!("[127.0.0.1]:{port}"), &[0x5a; 20]),
        host.public_key().to_openssh().expect("encode")
    );
    std::fs::write(&known, &line).expect("write known_hosts");
    assert!(line.starts_with("|1|"), "hashed: {line}");
    let (_, pushes, error) = run(config(port, identity, HostKeyCheck::KnownHosts(known))).await;
    assert_eq!(error, None);
    assert_eq!(pushes, 5);
}

#[tokio::test]
async fn an_unknown_host_key_is_fatal_before_any_request() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client_key = ed25519(2);
    let port = start_sim(ed25519(3), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &client_key);
    // An entry for another port only.
    let known = write_known_hosts(dir.path(), port.wrapping_add(1), ed25519(3).public_key());
    let (names, _, error) = run(config(port, identity, HostKeyCheck::KnownHosts(known))).await;
    assert_eq!(names, ["connecting"], "nothing was sent");
    let error = error.expect("refused");
    assert_eq!(
        error,
        ImgError::HostKeyUnknown {
            host: "127.0.0.1".into(),
            port
        }
    );
    assert!(error.to_string().contains("host key"));
    assert!(error.is_fatal());
    assert!(!error.is_auth_refused());
}

#[tokio::test]
async fn a_missing_known_hosts_file_means_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client_key = ed25519(2);
    let port = start_sim(ed25519(3), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &client_key);
    let missing = dir.path().join("no_such_known_hosts");
    let (_, _, error) = run(config(port, identity, HostKeyCheck::KnownHosts(missing))).await;
    assert!(
        matches!(error, Some(ImgError::HostKeyUnknown { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_changed_host_key_is_fatal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client_key = ed25519(2);
    let port = start_sim(ed25519(4), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &client_key);
    let known = write_known_hosts(dir.path(), port, ed25519(5).public_key());
    let (names, _, error) = run(config(port, identity, HostKeyCheck::KnownHosts(known))).await;
    assert_eq!(names, ["connecting"]);
    let error = error.expect("refused");
    assert_eq!(
        error,
        ImgError::HostKeyChanged {
            host: "127.0.0.1".into(),
            port,
            line: 1
        }
    );
    assert!(error.to_string().contains("host key"));
}

#[tokio::test]
async fn insecure_accept_any_skips_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client_key = ed25519(2);
    let port = start_sim(ed25519(6), vec![client_key.public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &client_key);
    let (names, pushes, error) = run(config(port, identity, HostKeyCheck::InsecureAcceptAny)).await;
    assert_eq!(error, None);
    assert!(names.contains(&"session_initialized"));
    assert_eq!(pushes, 5);
}

#[tokio::test]
async fn a_key_the_server_does_not_know_is_an_auth_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = start_sim(ed25519(7), vec![ed25519(8).public_key().clone()]).await;
    let identity = write_private_key(dir.path(), "id", &ed25519(9));
    let (names, _, error) = run(config(port, identity, HostKeyCheck::InsecureAcceptAny)).await;
    assert_eq!(names, ["connecting"]);
    let error = error.expect("refused");
    assert_eq!(
        error,
        ImgError::AuthRefused {
            user: "feed".into()
        }
    );
    assert!(error.is_auth_refused());
    assert!(error.is_fatal());
}

#[tokio::test]
async fn an_unreadable_identity_is_fatal_and_never_names_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = start_sim(ed25519(7), vec![ed25519(8).public_key().clone()]).await;
    let missing = dir.path().join("secret-key-name");
    let (_, _, error) = run(config(port, missing, HostKeyCheck::InsecureAcceptAny)).await;
    let error = error.expect("refused");
    assert_eq!(
        error,
        ImgError::Identity {
            detail: "cannot read the key file: no such file".into()
        }
    );
    assert!(!error.to_string().contains("secret-key-name"));

    let garbage = dir.path().join("garbage-key-name");
    std::fs::write(&garbage, "not a key at all").expect("write");
    let (_, _, error) = run(config(port, garbage, HostKeyCheck::InsecureAcceptAny)).await;
    let text = error.expect("refused").to_string();
    assert_eq!(
        text,
        "cannot load the SSH identity: the file is not a usable OpenSSH private key (ed25519 or RSA)"
    );
}

/// The simulator refuses SHA-1 `ssh-rsa` signatures (oddsfeed-sim's
/// `sha1_rsa_signatures_are_refused_and_not_announced`), so this fails if the client ever
/// signs with SHA-1 again.
#[tokio::test]
async fn rsa_keys_sign_with_sha2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = generate(KeyType::Rsa).expect("RSA key");
    let key_path = write_private_key(dir.path(), "id_rsa", &key);
    let port = start_sim(ed25519(10), vec![key.public_key().clone()]).await;
    let (names, pushes, error) = run(config(port, key_path, HostKeyCheck::InsecureAcceptAny)).await;
    assert_eq!(error, None);
    assert!(names.contains(&"session_initialized"));
    assert!(!names.contains(&"insecure_sha1_rsa"), "{names:?}");
    assert_eq!(pushes, 5);
}

/// A server that leaves only SHA-1 for RSA (announcing just `ssh-rsa`, or no RSA algorithm
/// at all, which is what a server without `server-sig-algs` looks like) is refused before
/// any signature is sent: fatal, the error naming the algorithms.
#[tokio::test]
async fn an_rsa_key_refuses_a_server_that_leaves_only_sha1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = generate(KeyType::Rsa).expect("RSA key");
    let key_path = write_private_key(dir.path(), "id_rsa", &key);
    for (policy, announced) in [
        (
            SshRsaSignatures::Sha1Only,
            "the server announces only ssh-rsa (SHA-1) for RSA keys in server-sig-algs, \
             not rsa-sha2-512 or rsa-sha2-256",
        ),
        (
            SshRsaSignatures::NotAnnounced,
            "the server announces neither rsa-sha2-512 nor rsa-sha2-256 (no server-sig-algs, \
             or no RSA algorithm in it)",
        ),
    ] {
        let port = start_sim_with(ed25519(13), vec![key.public_key().clone()], policy).await;
        let (names, pushes, error) = run(config(
            port,
            key_path.clone(),
            HostKeyCheck::InsecureAcceptAny,
        ))
        .await;
        assert_eq!(names, ["connecting"], "{policy:?}");
        assert_eq!(pushes, 0);
        let error = error.expect("refused");
        assert_eq!(
            error,
            ImgError::WeakRsaSignature {
                addr: format!("127.0.0.1:{port}"),
                announced: announced.to_owned(),
            },
            "{policy:?}"
        );
        let text = error.to_string();
        for name in [
            "ssh-rsa",
            "SHA-1",
            "rsa-sha2-512",
            "rsa-sha2-256",
            "--insecure-allow-sha1-rsa",
        ] {
            assert!(text.contains(name), "{name} not in: {text}");
        }
        assert!(error.is_fatal());
    }
}

/// `insecure_allow_sha1_rsa` lets the same key in against both old servers, with an
/// `insecure_sha1_rsa` event before `connected`; an ed25519 key never needs it.
#[tokio::test]
async fn sha1_rsa_needs_the_opt_in_and_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = generate(KeyType::Rsa).expect("RSA key");
    let key_path = write_private_key(dir.path(), "id_rsa", &key);
    for policy in [SshRsaSignatures::Sha1Only, SshRsaSignatures::NotAnnounced] {
        let port = start_sim_with(ed25519(14), vec![key.public_key().clone()], policy).await;
        let cfg = config_sha1(
            port,
            key_path.clone(),
            HostKeyCheck::InsecureAcceptAny,
            true,
        );
        let (names, pushes, error) = run(cfg).await;
        assert_eq!(error, None, "{policy:?}");
        assert_eq!(
            &names[..3],
            ["connecting", "insecure_sha1_rsa", "connected"],
            "{policy:?}"
        );
        assert_eq!(pushes, 5);
    }
    let client = ed25519(15);
    let identity = write_private_key(dir.path(), "id_ed25519", &client);
    let port = start_sim_with(
        ed25519(16),
        vec![client.public_key().clone()],
        SshRsaSignatures::NotAnnounced,
    )
    .await;
    let (names, _, error) = run(config(port, identity, HostKeyCheck::InsecureAcceptAny)).await;
    assert_eq!(error, None);
    assert_eq!(&names[..2], ["connecting", "connected"]);
}
