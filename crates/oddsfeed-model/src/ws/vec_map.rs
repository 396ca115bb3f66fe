//! A small string-keyed map stored as a sorted `Vec`, for the typed payload views.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Index;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};

/// The most entries reserved up front from a deserializer's size hint (more still fit;
/// the hint comes from the input, so it is not trusted with a large allocation).
const MAX_RESERVE: usize = 64;

/// A map from text keys to values, kept as a `Vec` sorted by key with unique keys.
///
/// It reads and compares like a `BTreeMap<String, V>` (keys in order; when a JSON object
/// repeats a key, the last value wins) but costs one allocation for the whole map instead
/// of one per node, which matters for the small maps of a feed message.
///
/// ```
/// use oddsfeed_model::ws::VecMap;
/// let map: VecMap<u32> = serde_json::from_str(r#"{"b":1,"a":2,"b":3}"#)?;
/// assert_eq!(map.keys().collect::<Vec<_>>(), ["a", "b"]);
/// assert_eq!(map["b"], 3);
/// assert_eq!(map.get("c"), None);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VecMap<V> {
    entries: Vec<(String, V)>,
}

impl<V> Default for VecMap<V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<V> VecMap<V> {
    /// An empty map (no allocation).
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value for `key`, if any (a binary search).
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries
            .binary_search_by(|(k, _)| k.as_str().cmp(key))
            .ok()
            .and_then(|at| self.entries.get(at))
            .map(|(_, v)| v)
    }

    /// Whether `key` has an entry.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// The entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// The keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }

    /// The values in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// The entries as a slice, in key order.
    pub fn as_slice(&self) -> &[(String, V)] {
        &self.entries
    }

    /// The entries, in key order.
    pub fn into_vec(self) -> Vec<(String, V)> {
        self.entries
    }

    /// A map of `entries` in any order; when keys repeat, the last entry wins (as in a
    /// JSON object read into a `BTreeMap`).
    pub(crate) fn from_entries(entries: Vec<(String, V)>) -> Self {
        let mut map = Self { entries };
        map.normalise();
        map
    }

    /// Restores the invariant: sorted by key, the last of equal keys kept.
    fn normalise(&mut self) {
        let sorted = self
            .entries
            .windows(2)
            .all(|pair| matches!(pair, [a, b] if a.0 < b.0));
        if sorted {
            return;
        }
        // Stable: equal keys stay in input order, so the last one is the latest value.
        self.entries.sort_by(|a, b| a.0.cmp(&b.0));
        self.entries.dedup_by(|later, earlier| {
            if later.0 == earlier.0 {
                std::mem::swap(&mut later.1, &mut earlier.1);
                true
            } else {
                false
            }
        });
    }
}

impl<V> FromIterator<(String, V)> for VecMap<V> {
    fn from_iter<I: IntoIterator<Item = (String, V)>>(iter: I) -> Self {
        let mut map = Self {
            entries: iter.into_iter().collect(),
        };
        map.normalise();
        map
    }
}

impl<V> Index<&str> for VecMap<V> {
    type Output = V;

    /// # Panics
    /// If `key` has no entry (as `BTreeMap`'s index).
    fn index(&self, key: &str) -> &V {
        match self.get(key) {
            Some(v) => v,
            None => panic!("no entry for key {key:?}"),
        }
    }
}

impl<'a, V> IntoIterator for &'a VecMap<V> {
    type Item = (&'a str, &'a V);
    type IntoIter =
        std::iter::Map<std::slice::Iter<'a, (String, V)>, fn(&'a (String, V)) -> (&'a str, &'a V)>;

    fn into_iter(self) -> Self::IntoIter {
        fn pair<V>((k, v): &(String, V)) -> (&str, &V) {
            (k.as_str(), v)
        }
        self.entries.iter().map(pair)
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for VecMap<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<V>(PhantomData<V>);

        impl<'de, V: Deserialize<'de>> Visitor<'de> for MapVisitor<V> {
            type Value = VecMap<V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<VecMap<V>, A::Error> {
                let reserve = access.size_hint().unwrap_or(0).min(MAX_RESERVE);
                let mut entries = Vec::with_capacity(reserve);
                while let Some(entry) = access.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                let mut map = VecMap { entries };
                map.normalise();
                Ok(map)
            }
        }

        d.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_keep_the_last_value_like_btreemap() {
        let text = r#"{"z":1,"a":2,"m":3,"a":4,"z":5,"a":6}"#;
        let map: VecMap<u32> = serde_json::from_str(text).unwrap();
        let tree: std::collections::BTreeMap<String, u32> = serde_json::from_str(text).unwrap();
        let pairs: Vec<(&str, &u32)> = map.iter().collect();
        let expected: Vec<(&str, &u32)> = tree.iter().map(|(k, v)| (k.as_str(), v)).collect();
        assert_eq!(pairs, expected);
        assert_eq!(pairs, [("a", &6), ("m", &3), ("z", &5)]);
        assert!(map.contains_key("m"));
        assert!(!map.contains_key("b"));
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn sorted_input_and_empty() {
        let map: VecMap<bool> = serde_json::from_str(r#"{"a":true,"b":false}"#).unwrap();
        assert_eq!(
            map.as_slice(),
            [("a".to_owned(), true), ("b".to_owned(), false)]
        );
        let empty: VecMap<bool> = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty, VecMap::new());
        let collected: VecMap<u8> = [("b".to_owned(), 1), ("a".to_owned(), 2)]
            .into_iter()
            .collect();
        assert_eq!(
            collected.into_vec(),
            [("a".to_owned(), 2), ("b".to_owned(), 1)]
        );
    }

    #[test]
    fn not_a_map_is_an_error() {
        let err = serde_json::from_str::<VecMap<u8>>("[1]").unwrap_err();
        assert!(err.to_string().contains("expected a map"), "{err}");
    }
}
