//! SSH transport of the IMG simulator: a russh server with public-key
//! authentication against a fixed list of keys (any user name), serving one
//! session per `shell` or `exec` channel, with or without a PTY.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use russh::keys::{Algorithm, HashAlg, PrivateKey, PublicKey};
use russh::server::{Auth, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet, Preferred};
use tokio::net::TcpListener;

use super::config::{ImgSimConfig, SshRsaSignatures};
use super::error::ImgSimError;
use super::session::{SessionOptions, SimShared, serve_session_with};

/// Reads an OpenSSH private key file (ed25519 or RSA, unencrypted) to use as
/// the server's host key.
pub fn load_host_key(path: impl AsRef<Path>) -> Result<PrivateKey, ImgSimError> {
    let path = path.as_ref();
    russh::keys::load_secret_key(path, None).map_err(|source| ImgSimError::Key {
        path: path.to_owned(),
        source,
    })
}

/// Parses the text of an OpenSSH `authorized_keys` file. Blank lines and
/// `#` comments are skipped; leading options (`no-pty,from="..." ssh-ed25519
/// AAAA... comment`) are tolerated by looking for the key-type token; lines
/// with no parsable key are skipped with a warning.
pub fn parse_authorized_keys(text: &str) -> Vec<PublicKey> {
    let mut keys = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let tokens: Vec<&str> = line.split_whitespace().collect();
        let parsed = tokens.windows(2).find_map(|pair| match pair {
            [kind, blob] if russh::keys::Algorithm::new(kind).is_ok() => {
                russh::keys::parse_public_key_base64(blob)
                    .ok()
                    .filter(|k| k.algorithm().as_str() == *kind || kind.starts_with("rsa-sha2-"))
            }
            _ => None,
        });
        match parsed {
            Some(key) => keys.push(key),
            None => tracing::warn!(
                line = number + 1,
                "skipping unparsable authorized_keys line"
            ),
        }
    }
    keys
}

/// Reads an `authorized_keys` file (see [`parse_authorized_keys`]). An empty
/// result is an error: nobody could log in.
pub fn load_authorized_keys(path: impl AsRef<Path>) -> Result<Vec<PublicKey>, ImgSimError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ImgSimError::AuthorizedKeysRead {
        path: path.to_owned(),
        source,
    })?;
    let keys = parse_authorized_keys(&text);
    if keys.is_empty() {
        return Err(ImgSimError::NoAuthorizedKeys {
            path: path.to_owned(),
        });
    }
    Ok(keys)
}

/// The public-key algorithms the server offers for its host key and announces in
/// `server-sig-algs`, by RSA policy (the host keys of the tests are ed25519).
fn key_algorithms(policy: SshRsaSignatures) -> Vec<Algorithm> {
    let mut algorithms = vec![Algorithm::Ed25519];
    match policy {
        SshRsaSignatures::Sha1Only => algorithms.push(Algorithm::Rsa { hash: None }),
        SshRsaSignatures::NotAnnounced => {}
        SshRsaSignatures::Sha2Only => algorithms.extend([
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha512),
            },
            Algorithm::Rsa {
                hash: Some(HashAlg::Sha256),
            },
        ]),
    }
    algorithms
}

/// Whether the policy accepts a signature made with `algorithm`.
fn signature_accepted(policy: SshRsaSignatures, algorithm: &Algorithm) -> bool {
    !matches!(
        (policy, algorithm),
        (SshRsaSignatures::Sha2Only, Algorithm::Rsa { hash: None })
    )
}

/// Serves the IMG protocol over SSH on `listener` until an accept error.
///
/// Authentication: public key only, the key must be one of
/// `authorized_keys` (compared without comments); the user name is not
/// checked. RSA signatures follow [`ImgSimConfig::ssh_rsa_signatures`]: by
/// default only `rsa-sha2-512` and `rsa-sha2-256` are announced and accepted. Each `shell` or `exec` channel gets its own session; a PTY request
/// before it makes a lone `\r` end request lines. When a session ends the
/// channel gets EOF, exit status 0 and close.
pub async fn run_ssh(
    listener: TcpListener,
    cfg: impl Into<Arc<ImgSimConfig>>,
    host_key: PrivateKey,
    authorized_keys: Vec<PublicKey>,
) -> io::Result<()> {
    use russh::server::Server as _;
    let cfg = cfg.into();
    let shared = Arc::new(SimShared::new(&cfg));
    let config = russh::server::Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        // A simulator has no secret to protect with slow rejections; keep
        // refused logins quick for tests.
        auth_rejection_time: Duration::from_millis(20),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![host_key],
        // The feed is one-way for long stretches; never drop a quiet client.
        inactivity_timeout: None,
        nodelay: true,
        preferred: Preferred {
            key: key_algorithms(cfg.ssh_rsa_signatures).into(),
            ..Preferred::DEFAULT
        },
        ..Default::default()
    };
    let mut server = SshServer {
        cfg,
        shared,
        authorized: Arc::new(authorized_keys),
    };
    server.run_on_socket(Arc::new(config), &listener).await
}

struct SshServer {
    cfg: Arc<ImgSimConfig>,
    shared: Arc<SimShared>,
    authorized: Arc<Vec<PublicKey>>,
}

impl russh::server::Server for SshServer {
    type Handler = SshConnection;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> SshConnection {
        tracing::debug!(?peer, "img ssh connection");
        SshConnection {
            cfg: Arc::clone(&self.cfg),
            shared: Arc::clone(&self.shared),
            authorized: Arc::clone(&self.authorized),
            channels: HashMap::new(),
        }
    }

    fn handle_session_error(&mut self, error: russh::Error) {
        tracing::debug!(%error, "img ssh connection ended with an error");
    }
}

struct PendingChannel {
    channel: Channel<Msg>,
    pty: bool,
}

struct SshConnection {
    cfg: Arc<ImgSimConfig>,
    shared: Arc<SimShared>,
    authorized: Arc<Vec<PublicKey>>,
    channels: HashMap<ChannelId, PendingChannel>,
}

impl SshConnection {
    fn is_authorized(&self, key: &PublicKey) -> bool {
        self.authorized
            .iter()
            .any(|k| k.key_data() == key.key_data())
    }

    /// Accepts an authorized key signed (or to be signed) with an algorithm the
    /// RSA policy allows.
    fn decide(&self, user: &str, key: &PublicKey, algorithm: &Algorithm) -> Auth {
        let reject = Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        };
        if !signature_accepted(self.cfg.ssh_rsa_signatures, algorithm) {
            tracing::info!(user, %algorithm, "img ssh signature algorithm refused");
            return reject;
        }
        if self.is_authorized(key) {
            Auth::Accept
        } else {
            tracing::info!(user, algorithm = %key.algorithm(), "img ssh key not authorized");
            reject
        }
    }

    /// Starts the protocol session on a channel that asked for a shell or a
    /// command.
    fn start(&mut self, id: ChannelId, session: &mut Session) -> Result<(), russh::Error> {
        let Some(pending) = self.channels.remove(&id) else {
            return session.channel_failure(id);
        };
        session.channel_success(id)?;
        let cfg = Arc::clone(&self.cfg);
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            let (mut read_half, write_half) = pending.channel.split();
            let opts = SessionOptions {
                pty: pending.pty,
                ..SessionOptions::default()
            };
            let report = serve_session_with(
                read_half.make_reader(),
                write_half.make_writer(),
                cfg,
                shared,
                opts,
            )
            .await;
            tracing::debug!(end = ?report.end, "img ssh channel session over");
            // The writer's shutdown already sent EOF.
            let _ = write_half.exit_status(0).await;
            let _ = write_half.close().await;
        });
        Ok(())
    }
}

impl russh::server::Handler for SshConnection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        })
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.decide(user, offer.public_key, offer.algorithm))
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(self.decide(user, key.public_key, key.algorithm))
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        self.channels.insert(
            channel.id(),
            PendingChannel {
                channel,
                pty: false,
            },
        );
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(pending) => {
                pending.pty = true;
                session.channel_success(channel)
            }
            None => session.channel_failure(channel),
        }
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, session)
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIJdD7y3aLq454yWBdwLWbieU1ebz9/cu7/QEXn9OIeZJ";

    #[test]
    fn authorized_keys_lines_with_options_and_comments() {
        let text = format!(
            "# comment\n\nssh-ed25519 {ED} alice@host\nno-pty,command=\"x\" ssh-ed25519 {ED}\ngarbage line here\nssh-ed25519 !!!notbase64\n"
        );
        let keys = parse_authorized_keys(&text);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].key_data(), keys[1].key_data());
        assert_eq!(keys[0].algorithm(), russh::keys::Algorithm::Ed25519);
    }

    #[test]
    fn empty_authorized_keys_file_is_an_error() {
        let dir = tempfile::tempdir().ok();
        let dir = dir
            .as_ref()
            .map(|d| d.path().to_owned())
            .unwrap_or_default();
        let path = dir.join("authorized_keys");
        assert!(std::fs::write(&path, "# nothing\n").is_ok());
        let err = load_authorized_keys(&path).err();
        assert!(
            matches!(err, Some(ImgSimError::NoAuthorizedKeys { .. })),
            "{err:?}"
        );
        let missing = load_authorized_keys(dir.join("missing")).err();
        assert!(
            matches!(missing, Some(ImgSimError::AuthorizedKeysRead { .. })),
            "{missing:?}"
        );
    }
}
