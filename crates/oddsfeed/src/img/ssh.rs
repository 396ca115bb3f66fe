//! SSH transport: russh client, host-key verification against known_hosts, public-key
//! authentication (RSA with SHA-2 signatures; SHA-1 only on explicit opt-in), one `session`
//! channel with `shell`, no PTY.

use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use russh::client::{self, Handle};
use russh::keys::{PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};

use super::config::split_host_port;
use super::config::{HostKeyCheck, SshSettings};
use super::error::ImgError;

/// What one read of a [`Link`](super::transport::Link) produced, TCP or SSH (defined here so
/// that this module does not import the transport, which opens SSH links through it).
#[derive(Debug)]
pub(crate) enum Recv<'a> {
    /// Bytes from the server.
    Data(&'a [u8]),
    /// The server closed the stream.
    Eof,
}

/// Loads an OpenSSH private key. Errors name neither the path nor the contents.
pub(crate) fn load_identity(path: &Path) -> Result<Arc<PrivateKey>, ImgError> {
    match russh::keys::load_secret_key(path, None) {
        Ok(key) => Ok(Arc::new(key)),
        Err(russh::keys::Error::IO(e)) => Err(ImgError::Identity {
            detail: format!("cannot read the key file: {}", io_kind_text(&e)),
        }),
        Err(russh::keys::Error::KeyIsEncrypted) => Err(ImgError::Identity {
            detail: "the key is passphrase-protected, which is not supported".to_owned(),
        }),
        Err(_) => Err(ImgError::Identity {
            detail: "the file is not a usable OpenSSH private key (ed25519 or RSA)".to_owned(),
        }),
    }
}

/// An io error's description without any path.
fn io_kind_text(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::NotFound => "no such file".to_owned(),
        io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        kind => kind.to_string(),
    }
}

/// The russh client handler: verifies the host key and records why it refused one.
pub(crate) struct Verifier {
    host: String,
    port: u16,
    check: HostKeyCheck,
    verdict: Arc<Mutex<Option<ImgError>>>,
}

impl Verifier {
    fn refuse(&self, error: ImgError) -> Result<bool, russh::Error> {
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(error);
        }
        Ok(false)
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let path = match &self.check {
            HostKeyCheck::InsecureAcceptAny => {
                tracing::warn!(
                    host = %self.host,
                    port = self.port,
                    "SSH host key accepted without verification (InsecureAcceptAny)"
                );
                return Ok(true);
            }
            HostKeyCheck::KnownHosts(path) => path.clone(),
        };
        let key = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => key,
            PublicKeyOrCertificate::Certificate(_) => {
                return self.refuse(ImgError::HostKeyUnknown {
                    host: self.host.clone(),
                    port: self.port,
                });
            }
        };
        match russh::keys::check_known_hosts_path(&self.host, self.port, key, &path) {
            Ok(true) => Ok(true),
            Ok(false) => self.refuse(ImgError::HostKeyUnknown {
                host: self.host.clone(),
                port: self.port,
            }),
            Err(russh::keys::Error::KeyChanged { line }) => self.refuse(ImgError::HostKeyChanged {
                host: self.host.clone(),
                port: self.port,
                line,
            }),
            Err(other) => self.refuse(ImgError::KnownHosts {
                detail: other.to_string(),
            }),
        }
    }
}

/// One authenticated SSH connection with its shell channel.
pub(crate) struct SshLink {
    handle: Handle<Verifier>,
    channel: russh::Channel<client::Msg>,
    /// The last data message, lent out by [`SshLink::recv`].
    last: Bytes,
    /// Whether authentication signed with SHA-1 `ssh-rsa` (opted in).
    pub(crate) signed_with_sha1: bool,
}

impl SshLink {
    pub(crate) async fn recv(&mut self) -> io::Result<Recv<'_>> {
        loop {
            match self.channel.wait().await {
                Some(ChannelMsg::Data { data }) => {
                    if data.is_empty() {
                        continue;
                    }
                    self.last = data;
                    return Ok(Recv::Data(&self.last));
                }
                Some(ChannelMsg::Eof | ChannelMsg::Close) | None => return Ok(Recv::Eof),
                Some(ChannelMsg::Failure) => {
                    return Err(io::Error::other("the server refused the shell request"));
                }
                // stderr of the remote command, exit status, window changes, the shell
                // request's success: nothing for the feed.
                Some(_) => {}
            }
        }
    }

    pub(crate) async fn send(&mut self, line: &[u8]) -> io::Result<()> {
        self.channel
            .data(line)
            .await
            .map_err(|e| io::Error::other(e.to_string()))
    }

    pub(crate) async fn close(self) {
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
    }
}

/// Connects, verifies the host key, authenticates and opens the shell channel.
pub(crate) async fn connect(
    settings: &SshSettings,
    identity: Arc<PrivateKey>,
) -> Result<SshLink, ImgError> {
    let (host, port) = split_host_port(&settings.addr)?;
    let connect_error = |detail: String| ImgError::Connect {
        addr: settings.addr.clone(),
        detail,
    };
    let config = Arc::new(client::Config {
        // docs/PROTOCOL.md A.6: no client keepalive; liveness comes from the feed's heartbeats.
        keepalive_interval: None,
        inactivity_timeout: None,
        nodelay: true,
        ..client::Config::default()
    });
    let verdict = Arc::new(Mutex::new(None));
    let verifier = Verifier {
        host: host.clone(),
        port,
        check: settings.host_key_check.clone(),
        verdict: Arc::clone(&verdict),
    };
    let mut handle = match client::connect(config, (host.as_str(), port), verifier).await {
        Ok(handle) => handle,
        Err(error) => {
            let refused = verdict.lock().ok().and_then(|mut slot| slot.take());
            return Err(refused.unwrap_or_else(|| connect_error(error.to_string())));
        }
    };
    let mut signed_with_sha1 = false;
    let hash = if identity.algorithm().is_rsa() {
        // Without a SHA-2 hash russh would sign with SHA-1 `ssh-rsa` (forgeable; OpenSSH
        // >= 8.8 refuses it). russh reads `server-sig-algs`: `None` when the server sent no
        // such extension or named no RSA algorithm in it, `Some(None)` when it named only
        // `ssh-rsa`.
        let best = handle
            .best_supported_rsa_hash()
            .await
            .map_err(|e| connect_error(e.to_string()))?;
        match best {
            Some(Some(hash)) => Some(hash),
            weak => {
                if !settings.insecure_allow_sha1_rsa {
                    let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
                    return Err(ImgError::WeakRsaSignature {
                        addr: settings.addr.clone(),
                        announced: weak_rsa_text(weak.is_some()),
                    });
                }
                tracing::warn!(
                    addr = %settings.addr,
                    "signing with SHA-1 ssh-rsa: the server announced no rsa-sha2-512 or \
                     rsa-sha2-256 (insecure_allow_sha1_rsa)"
                );
                signed_with_sha1 = true;
                None
            }
        }
    } else {
        None
    };
    let auth = handle
        .authenticate_publickey(
            settings.user.clone(),
            PrivateKeyWithHashAlg::new(identity, hash),
        )
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    if !auth.success() {
        let _ = handle.disconnect(Disconnect::ByApplication, "", "en").await;
        return Err(ImgError::AuthRefused {
            user: settings.user.clone(),
        });
    }
    let channel = handle
        .channel_open_session()
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    channel
        .request_shell(true)
        .await
        .map_err(|e| connect_error(e.to_string()))?;
    Ok(SshLink {
        handle,
        channel,
        last: Bytes::new(),
        signed_with_sha1,
    })
}

/// What a server that leaves only SHA-1 for RSA announced, naming the algorithms.
fn weak_rsa_text(announced_ssh_rsa: bool) -> String {
    if announced_ssh_rsa {
        "the server announces only ssh-rsa (SHA-1) for RSA keys in server-sig-algs, \
         not rsa-sha2-512 or rsa-sha2-256"
            .to_owned()
    } else {
        "the server announces neither rsa-sha2-512 nor rsa-sha2-256 (no server-sig-algs, \
         or no RSA algorithm in it)"
            .to_owned()
    }
}
