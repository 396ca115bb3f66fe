//! The WebSocket feed's API key: zeroized on drop, redacted everywhere except on the wire.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};

/// An API key for the WebSocket feed.
///
/// The text lives in a [`secrecy::SecretString`], so it is wiped from memory when the last
/// copy is dropped. `Debug` and `Display` print `***`, so a key inside a logged struct (such as
/// a [`Login`](crate::ws::Login)) never leaks. The type deliberately does **not** implement
/// `Serialize`: a key cannot end up in a state file, an event or a dump by accident. The only
/// way to the real text is [`ApiKey::expose`], which the session calls to build the login
/// frame ([`Login::to_wire_json`](crate::ws::Login::to_wire_json)).
///
/// `Deserialize` is implemented so that a key can be read from a configuration file.
///
/// ```
/// use oddsfeed_model::ApiKey;
/// let key = ApiKey::new("s3cret");
/// assert_eq!(format!("{key} {key:?}"), "*** ***");
/// assert_eq!(key.expose(), "s3cret");
/// ```
///
/// Serializing a key does not compile:
///
/// ```compile_fail
/// let key = oddsfeed_model::ApiKey::new("s3cret");
/// let _ = serde_json::to_string(&key);
/// ```
#[derive(Clone)]
pub struct ApiKey(SecretString);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(SecretString::from(key.into()))
    }

    /// The real key. Use it only to put the key on the wire.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// Whether the key is the empty string.
    pub fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl PartialEq for ApiKey {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl Eq for ApiKey {}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for ApiKey {
    fn from(key: String) -> Self {
        Self::new(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self::new(key)
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_hide_the_key() {
        let key = ApiKey::new("abc123-very-secret");
        assert_eq!(format!("{key:?}"), "***");
        assert_eq!(key.to_string(), "***");
        assert!(!format!("{key:?} {key} {key:#?}").contains("abc123"));
    }

    #[test]
    fn deserializes_from_a_string_and_compares_by_value() {
        let back: ApiKey = serde_json::from_str(r#""k\"ey""#).unwrap_or_else(|_| ApiKey::new(""));
        assert_eq!(back.expose(), "k\"ey");
        assert!(!back.is_empty());
        assert_eq!(back, ApiKey::new("k\"ey"));
        assert_ne!(back, ApiKey::new("other"));
    }
}
