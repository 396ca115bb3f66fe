//! SSH keys for tests, generated in-process with russh's key types (the `ssh-key` crate), so no
//! test needs `ssh-keygen` to make a key. Files are written the way `ssh-keygen` writes them:
//! the private key in the OpenSSH format with mode 0600 (OpenSSH refuses readable keys), the
//! public key as one `authorized_keys` line in `NAME.pub`.

use std::io;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit as _, Mac as _};
use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::RsaKeypair;
use russh::keys::{Algorithm, PrivateKey, PublicKey};

/// Bits of the RSA keys made here (the smallest size OpenSSH and the `rsa` crate accept
/// without complaint).
pub const RSA_BITS: usize = 2048;

/// The key types a test can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyType {
    /// ed25519.
    Ed25519,
    /// RSA with [`RSA_BITS`] bits.
    Rsa,
}

/// A fresh random key of `kind`, with the comment `test`.
///
/// # Errors
///
/// When the system random source or the key generation fails.
pub fn generate(kind: KeyType) -> Result<PrivateKey, russh::keys::ssh_key::Error> {
    let mut rng = rand::rng();
    let mut key = match kind {
        KeyType::Ed25519 => PrivateKey::random(&mut rng, Algorithm::Ed25519)?,
        KeyType::Rsa => PrivateKey::from(RsaKeypair::random(&mut rng, RSA_BITS)?),
    };
    key.set_comment("test");
    Ok(key)
}

/// Writes `key` to `DIR/NAME` (OpenSSH private-key format, mode 0600) and its public half to
/// `DIR/NAME.pub`; returns the private key's path.
///
/// # Errors
///
/// When encoding or writing fails.
pub fn write(dir: &Path, name: &str, key: &PrivateKey) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let private = key.to_openssh(LineEnding::LF).map_err(io::Error::other)?;
    write_private(&path, private.as_bytes())?;
    std::fs::write(
        dir.join(format!("{name}.pub")),
        format!("{}\n", authorized_line(key.public_key())?),
    )?;
    Ok(path)
}

/// [`generate`] then [`write`]: what `ssh-keygen -q -t KIND -N '' -C test -f DIR/NAME` does.
///
/// # Errors
///
/// When generating, encoding or writing fails.
pub fn keygen(dir: &Path, name: &str, kind: KeyType) -> io::Result<PathBuf> {
    let key = generate(kind).map_err(io::Error::other)?;
    write(dir, name, &key)
}

/// The `authorized_keys` / `known_hosts` form of a public key: `ALGORITHM BASE64 COMMENT`.
///
/// # Errors
///
/// When the key cannot be encoded.
pub fn authorized_line(key: &PublicKey) -> io::Result<String> {
    key.to_openssh().map_err(io::Error::other)
}

/// A hashed `known_hosts` host field (`|1|SALT|HMAC`, as `ssh-keygen -H` writes it) for
/// `host` (`127.0.0.1`, or `[127.0.0.1]:2222` for another port than 22), with `salt`
/// (OpenSSH uses 20 random bytes).
#[must_use]
pub fn hashed_host(host: &str, salt: &[u8; 20]) -> String {
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(salt)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(host.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("|1|{}|{}", STANDARD.encode(salt), STANDARD.encode(digest))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_keys_load_back_with_their_public_half() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = keygen(dir.path(), "id_ed25519", KeyType::Ed25519).expect("keygen");
        let loaded = russh::keys::load_secret_key(&path, None).expect("load");
        assert_eq!(loaded.algorithm(), Algorithm::Ed25519);
        let public = std::fs::read_to_string(dir.path().join("id_ed25519.pub")).expect("read");
        assert_eq!(
            public,
            format!("{}\n", authorized_line(loaded.public_key()).expect("line"))
        );
        assert!(public.starts_with("ssh-ed25519 AAAA") && public.ends_with(" test\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn hashed_host_matches_rfc_2202_hmac_sha1_test_case_1() {
        // Key 0x0b x 20 (the size of an OpenSSH salt), data "Hi There".
        let hashed = hashed_host("Hi There", &[0x0b; 20]);
        let digest = STANDARD
            .decode(hashed.rsplit('|').next().expect("field"))
            .expect("base64");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "b617318655057264e28bc0b6fb378c8ef146be00");
        assert!(hashed.starts_with("|1|CwsLCwsLCwsLCwsLCwsLCwsLCws=|"));
    }
}
