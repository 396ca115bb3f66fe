//! Errors of the IMG simulator's set-up helpers.

use std::path::PathBuf;

/// What can go wrong while preparing an IMG simulator (key files, listeners).
/// Sessions themselves never fail with an error: how each one ended is
/// reported in a [`SessionReport`](super::SessionReport).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImgSimError {
    /// A key file could not be read or parsed.
    #[error("cannot load SSH key {path}: {source}")]
    Key {
        /// The file.
        path: PathBuf,
        /// What russh reported.
        #[source]
        source: russh::keys::Error,
    },
    /// An `authorized_keys` file could not be read.
    #[error("cannot read authorized keys {path}: {source}")]
    AuthorizedKeysRead {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// An `authorized_keys` file held no usable public key, so nobody could
    /// log in.
    #[error("no usable public key in {path}")]
    NoAuthorizedKeys {
        /// The file.
        path: PathBuf,
    },
    /// Any other I/O error (binding, accepting).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl ImgSimError {
    /// Whether retrying cannot help: bad or missing key material is fatal,
    /// an I/O error while serving may be transient.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, ImgSimError::Io(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_fatality() {
        let e = ImgSimError::NoAuthorizedKeys {
            path: PathBuf::from("/x/authorized_keys"),
        };
        assert_eq!(e.to_string(), "no usable public key in /x/authorized_keys");
        assert!(e.is_fatal());
        let io = ImgSimError::from(std::io::Error::other("boom"));
        assert_eq!(io.to_string(), "boom");
        assert!(!io.is_fatal());
    }

    #[test]
    fn error_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<ImgSimError>();
    }
}
