//! [`ImgError`]: what can end an IMG client run, or one connection attempt.

/// An error of the IMG client.
///
/// [`is_fatal`](Self::is_fatal) tells whether the run is over (bad configuration, a host key
/// that does not verify, refused authentication, a `once` run that failed) or whether the
/// driver reconnects by itself (connection errors are reported as events, not returned). The
/// texts never contain the private key's path or contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImgError {
    /// The server's host key is not in the known_hosts file.
    #[error("host key verification failed: no known host key for {host} port {port}")]
    HostKeyUnknown {
        /// The host name checked.
        host: String,
        /// The port checked.
        port: u16,
    },
    /// The server's host key differs from the one recorded: possibly a man-in-the-middle.
    #[error(
        "host key verification failed: the host key for {host} port {port} changed (known_hosts line {line})"
    )]
    HostKeyChanged {
        /// The host name checked.
        host: String,
        /// The port checked.
        port: u16,
        /// The known_hosts line holding the recorded key.
        line: usize,
    },
    /// The known_hosts file could not be read or parsed.
    #[error("host key verification failed: cannot read the known_hosts file: {detail}")]
    KnownHosts {
        /// What went wrong.
        detail: String,
    },
    /// The server refused public-key authentication.
    #[error("SSH authentication refused for user {user}")]
    AuthRefused {
        /// The user name tried.
        user: String,
    },
    /// The private key could not be loaded (missing, unreadable, encrypted or malformed).
    #[error("cannot load the SSH identity: {detail}")]
    Identity {
        /// What went wrong (never the key's path or contents).
        detail: String,
    },
    /// The identity is an RSA key and the server announced no SHA-2 RSA signature algorithm,
    /// so the only signature left is SHA-1 `ssh-rsa`, which is refused unless
    /// [`SshSettings::insecure_allow_sha1_rsa`](super::SshSettings::insecure_allow_sha1_rsa)
    /// is set.
    #[error(
        "SSH authentication to {addr} refused by the client: {announced}; signing with ssh-rsa \
         (SHA-1) is not allowed (use an ed25519 key, or opt in with --insecure-allow-sha1-rsa)"
    )]
    WeakRsaSignature {
        /// The address tried.
        addr: String,
        /// What the server announced, naming the algorithms (`server-sig-algs`).
        announced: String,
    },
    /// The configuration is unusable.
    #[error("invalid IMG client configuration: {0}")]
    Config(String),
    /// A TCP or SSH connection could not be opened or failed during set-up.
    #[error("could not connect to {addr}: {detail}")]
    Connect {
        /// The address tried.
        addr: String,
        /// What went wrong.
        detail: String,
    },
    /// A run configured with `once` ended in failure (no init response, dead connection,
    /// transport error, refused init).
    #[error("{reason}")]
    Stopped {
        /// One line saying why.
        reason: String,
    },
    /// The request could not be queued.
    #[error(transparent)]
    Request(#[from] oddsfeed_session::img::ImgRequestError),
    /// The client's driver task is gone.
    #[error("the IMG client is closed")]
    Closed,
    /// The recording file could not be created or finished.
    #[error("recording: {0}")]
    Record(String),
}

impl ImgError {
    /// Whether the run is over. Connection failures are not fatal (the driver reconnects),
    /// except in a `once` run, where they come back as [`ImgError::Stopped`] or
    /// [`ImgError::Connect`] as the last item.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        !matches!(self, Self::Connect { .. } | Self::Request(_))
    }

    /// Whether the server refused the credentials (SSH public-key authentication). The CLI
    /// exits 3 for these, 1 for the other fatal errors.
    #[must_use]
    pub fn is_auth_refused(&self) -> bool {
        matches!(self, Self::AuthRefused { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_texts_are_pinned() {
        let cases = [
            (
                ImgError::HostKeyUnknown {
                    host: "127.0.0.1".into(),
                    port: 2222,
                },
                "host key verification failed: no known host key for 127.0.0.1 port 2222",
            ),
            (
                ImgError::HostKeyChanged {
                    host: "h".into(),
                    port: 22,
                    line: 3,
                },
                "host key verification failed: the host key for h port 22 changed (known_hosts line 3)",
            ),
            (
                ImgError::AuthRefused {
                    user: "root".into(),
                },
                "SSH authentication refused for user root",
            ),
            (
                ImgError::Connect {
                    addr: "127.0.0.1:1".into(),
                    detail: "refused".into(),
                },
                "could not connect to 127.0.0.1:1: refused",
            ),
            (ImgError::Closed, "the IMG client is closed"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
    }

    #[test]
    fn fatality_and_auth_refusal() {
        assert!(
            ImgError::HostKeyUnknown {
                host: "h".into(),
                port: 1
            }
            .is_fatal()
        );
        assert!(
            !ImgError::HostKeyUnknown {
                host: "h".into(),
                port: 1
            }
            .is_auth_refused()
        );
        assert!(ImgError::AuthRefused { user: "u".into() }.is_fatal());
        assert!(ImgError::AuthRefused { user: "u".into() }.is_auth_refused());
        assert!(
            !ImgError::Connect {
                addr: "a".into(),
                detail: "d".into()
            }
            .is_fatal()
        );
        assert!(ImgError::Stopped { reason: "r".into() }.is_fatal());
    }

    #[test]
    fn host_key_errors_mention_host_key() {
        for error in [
            ImgError::HostKeyUnknown {
                host: "h".into(),
                port: 1,
            },
            ImgError::HostKeyChanged {
                host: "h".into(),
                port: 1,
                line: 1,
            },
            ImgError::KnownHosts { detail: "x".into() },
        ] {
            assert!(error.to_string().contains("host key"), "{error}");
        }
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<ImgError>();
    }
}
