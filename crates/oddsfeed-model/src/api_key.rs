//! The WebSocket feed's API key, redacted everywhere except on the wire.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An API key for the WebSocket feed.
///
/// `Debug` and `Display` print `***`, so a key inside a logged struct (such as a
/// [`Login`](crate::ws::Login)) never leaks. [`ApiKey::expose`] gives the real text, and
/// `Serialize` writes it, because the login frame must carry it.
///
/// ```
/// use oddsfeed_model::ApiKey;
/// let key = ApiKey::new("s3cret");
/// assert_eq!(format!("{key} {key:?}"), "*** ***");
/// assert_eq!(key.expose(), "s3cret");
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The real key. Use it only to put the key on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the key is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

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
        Self(key)
    }
}

impl From<&str> for ApiKey {
    fn from(key: &str) -> Self {
        Self(key.to_owned())
    }
}

impl Serialize for ApiKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ApiKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
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
    fn serde_carries_the_real_key() {
        let key = ApiKey::new("k\"ey");
        let json = serde_json::to_string(&key).unwrap_or_default();
        assert_eq!(json, r#""k\"ey""#);
        let back: ApiKey = serde_json::from_str(&json).unwrap_or_else(|_| ApiKey::new(""));
        assert_eq!(back.expose(), "k\"ey");
        assert!(!back.is_empty());
    }
}
