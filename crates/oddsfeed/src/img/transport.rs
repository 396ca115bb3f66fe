//! The byte pipe under a session: plain TCP, or one SSH `session` channel.

use std::io;
use std::sync::Arc;

use russh::keys::PrivateKey;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::config::Transport;
use super::error::ImgError;
pub(crate) use super::ssh::Recv;
use super::ssh::SshLink;

/// An open connection.
pub(crate) enum Link {
    Tcp { stream: TcpStream, buf: Vec<u8> },
    Ssh(Box<SshLink>),
}

impl Link {
    /// Whether authentication signed with SHA-1 `ssh-rsa` (allowed by
    /// `SshSettings::insecure_allow_sha1_rsa`).
    pub(crate) fn signed_with_sha1(&self) -> bool {
        match self {
            Self::Tcp { .. } => false,
            Self::Ssh(link) => link.signed_with_sha1,
        }
    }

    /// Reads what is available. Cancel-safe: no bytes are lost if the future is dropped.
    pub(crate) async fn recv(&mut self) -> io::Result<Recv<'_>> {
        match self {
            Self::Tcp { stream, buf } => {
                let n = stream.read(buf.as_mut_slice()).await?;
                if n == 0 {
                    return Ok(Recv::Eof);
                }
                Ok(Recv::Data(buf.get(..n).unwrap_or_default()))
            }
            Self::Ssh(link) => link.recv().await,
        }
    }

    /// Writes one whole line.
    pub(crate) async fn send(&mut self, line: &[u8]) -> io::Result<()> {
        match self {
            Self::Tcp { stream, .. } => {
                stream.write_all(line).await?;
                stream.flush().await
            }
            Self::Ssh(link) => link.send(line).await,
        }
    }

    /// Closes the connection, best effort.
    pub(crate) async fn close(self) {
        match self {
            Self::Tcp { mut stream, .. } => {
                let _ = stream.shutdown().await;
            }
            Self::Ssh(link) => link.close().await,
        }
    }
}

/// Opens a connection. `key` caches the SSH identity across attempts (loaded on first use).
pub(crate) async fn connect(
    transport: &Transport,
    read_buffer: usize,
    key: &mut Option<Arc<PrivateKey>>,
) -> Result<Link, ImgError> {
    match transport {
        Transport::Tcp { addr } => {
            let stream =
                TcpStream::connect(addr.as_str())
                    .await
                    .map_err(|e| ImgError::Connect {
                        addr: addr.clone(),
                        detail: e.to_string(),
                    })?;
            let _ = stream.set_nodelay(true);
            Ok(Link::Tcp {
                stream,
                buf: vec![0; read_buffer.max(1)],
            })
        }
        Transport::Ssh(settings) => {
            let identity = match key {
                Some(identity) => Arc::clone(identity),
                None => {
                    let loaded = super::ssh::load_identity(&settings.identity)?;
                    *key = Some(Arc::clone(&loaded));
                    loaded
                }
            };
            let link = super::ssh::connect(settings, identity).await?;
            Ok(Link::Ssh(Box::new(link)))
        }
    }
}
