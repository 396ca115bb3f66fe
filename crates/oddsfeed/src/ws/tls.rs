//! TLS for `wss://` URLs: rustls with the `ring` provider, server certificates verified against the
//! system roots (or roots the caller supplies) unless verification is explicitly switched off.

use std::fmt;
use std::sync::{Arc, Once};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::error::WsError;

/// How a `wss://` connection checks the server's certificate (docs/PROTOCOL.md "Security").
///
/// `ws://` URLs use no TLS and ignore this setting.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum TlsMode {
    /// Verify the certificate chain and the host name against the operating system's root
    /// certificates (loaded with `rustls-native-certs`). The default.
    #[default]
    Verify,
    /// Verify against these roots instead of the system's (tests with a local certificate
    /// authority, private deployments).
    VerifyWithRoots(Arc<RootCertStore>),
    /// Accept any certificate for any name. Only for test servers: anyone on the path can read and
    /// change the traffic, API key included. The client logs a warning when it connects this way.
    InsecureNoVerify,
}

impl TlsMode {
    /// Whether certificates are checked.
    #[must_use]
    pub fn verifies(&self) -> bool {
        !matches!(self, Self::InsecureNoVerify)
    }
}

impl fmt::Debug for TlsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Verify => f.write_str("Verify"),
            Self::VerifyWithRoots(roots) => write!(f, "VerifyWithRoots({} roots)", roots.len()),
            Self::InsecureNoVerify => f.write_str("InsecureNoVerify"),
        }
    }
}

/// Installs rustls's `ring` provider as the process default, once. A provider installed earlier
/// (by the application or another library) is left in place.
pub(crate) fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // Err means some provider is already installed: fine, ours is only a fallback for code
        // that builds rustls configs from the process default.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls client configuration for `mode`.
///
/// # Errors
///
/// [`WsError::Tls`] when the system roots cannot be loaded (no certificate found) or rustls
/// refuses the configuration.
pub(crate) fn client_config(mode: &TlsMode) -> Result<Arc<ClientConfig>, WsError> {
    install_crypto_provider();
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| WsError::Tls(format!("cannot configure TLS: {e}")))?;
    let config = match mode {
        TlsMode::Verify => builder
            .with_root_certificates(system_roots()?)
            .with_no_client_auth(),
        TlsMode::VerifyWithRoots(roots) => builder
            .with_root_certificates(Arc::clone(roots))
            .with_no_client_auth(),
        TlsMode::InsecureNoVerify => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate {
                provider: provider(),
            }))
            .with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The operating system's root certificates. Unparsable ones are skipped; none at all is an error,
/// since every `wss://` connection would then fail verification.
fn system_roots() -> Result<RootCertStore, WsError> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(WsError::Tls(format!(
            "no system root certificates found{why}; install ca-certificates or pass trusted roots"
        )));
    }
    Ok(roots)
}

/// A verifier that accepts every certificate but still checks the handshake signatures, so the
/// connection is at least encrypted to whoever holds the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_roots_and_insecure_configs_build() {
        let roots = Arc::new(RootCertStore::empty());
        assert!(client_config(&TlsMode::VerifyWithRoots(roots)).is_ok());
        assert!(client_config(&TlsMode::InsecureNoVerify).is_ok());
        // Installing twice is harmless.
        install_crypto_provider();
        install_crypto_provider();
    }

    #[test]
    fn modes_describe_themselves() {
        assert!(TlsMode::Verify.verifies());
        assert!(!TlsMode::InsecureNoVerify.verifies());
        assert_eq!(format!("{:?}", TlsMode::default()), "Verify");
        let roots = Arc::new(RootCertStore::empty());
        assert_eq!(
            format!("{:?}", TlsMode::VerifyWithRoots(roots)),
            "VerifyWithRoots(0 roots)"
        );
    }
}
