//! Digested zstd dictionaries and the store that maps a frame's dictId to
//! one (docs/PROTOCOL.md B.6).

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use zstd_safe::DDict;

use crate::{DictRejection, MAX_DICT_SIZE, MAX_DICTS, ZstdError};

/// The four bytes a full zstd dictionary starts with (`0xEC30A437`
/// little-endian).
pub const DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];

/// The only `encoding` a `dict` frame may carry.
const BASE64: &str = "base64";

/// One digested zstd dictionary, ready to decode frames that name its id.
///
/// Built by [`DictStore::insert_raw`] / [`DictStore::insert_base64`], which
/// have checked that the header id matches the announced id. It owns a copy
/// of the dictionary (a `DDict<'static>`), so the raw bytes can be dropped.
/// It is immutable, `Send` and `Sync`: share it across connections in an
/// [`Arc`].
pub struct Dictionary {
    id: u32,
    len: usize,
    ddict: DDict<'static>,
}

impl Dictionary {
    /// The dictionary id (never 0).
    #[must_use]
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Size of the raw dictionary in bytes, as received (at most
    /// [`MAX_DICT_SIZE`]).
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Always `false`: an empty input is not a dictionary and is rejected.
    /// Present because [`Dictionary::len`] is.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The digested dictionary libzstd decodes with.
    pub(crate) fn ddict(&self) -> &DDict<'static> {
        &self.ddict
    }

    /// Digests `bytes`, which [`Dictionary::check_header`] has accepted as
    /// the header of dictionary `expected_id`.
    fn digest(expected_id: u32, bytes: &[u8]) -> Result<Self, DictRejection> {
        let ddict = DDict::try_create(bytes).ok_or(DictRejection::Invalid)?;
        // libzstd read the same header; refuse if it somehow disagrees.
        match ddict.get_dict_id() {
            Some(id) if id.get() == expected_id => Ok(Self {
                id: expected_id,
                len: bytes.len(),
                ddict,
            }),
            _ => Err(DictRejection::Invalid),
        }
    }
}

impl fmt::Debug for Dictionary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dictionary")
            .field("id", &self.id)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// The dictionaries a connection (or several) decodes with, keyed by dictId.
///
/// - Holds at most [`MAX_DICTS`] (64) dictionaries of at most
///   [`MAX_DICT_SIZE`] (1 MiB) each, so a hostile server can pin at most
///   about 64 MiB (libzstd's digested copies: the content plus ~27 KiB of
///   tables each; the raw bytes are not kept).
/// - A dictionary under an id already present replaces the old one (a
///   mid-stream `dict` frame); a rejected one leaves the old one in place.
/// - Cloning is cheap (one [`Arc`] bump). Clones are independent values:
///   inserting into one copies the map (not the dictionaries) if it is
///   shared, and never changes the other clones.
/// - The store is meant to outlive a connection: docs/PROTOCOL.md B.6 keeps
///   dictionaries across reconnects.
#[derive(Clone, Default)]
pub struct DictStore {
    dicts: Arc<HashMap<u32, Arc<Dictionary>>>,
}

impl DictStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Stores the raw dictionary `bytes` announced under `expected_id`, and
    /// returns it.
    ///
    /// # Errors
    ///
    /// [`ZstdError::DictRejected`] with `id = expected_id` and, checked in
    /// this order:
    /// [`DictRejection::ZeroId`], [`DictRejection::TooLarge`],
    /// [`DictRejection::NotADictionary`] (no `37 A4 30 EC` magic),
    /// [`DictRejection::IdMismatch`] (header id ≠ `expected_id`),
    /// [`DictRejection::StoreFull`] (64 stored and `expected_id` is new),
    /// [`DictRejection::Invalid`] (libzstd cannot load it).
    /// The store is unchanged on error.
    pub fn insert_raw(
        &mut self,
        expected_id: u32,
        bytes: &[u8],
    ) -> Result<Arc<Dictionary>, ZstdError> {
        let reject = |why| ZstdError::DictRejected {
            id: expected_id,
            why,
        };
        // Cheap checks first, so a full store does not digest anything.
        Dictionary::check_header(expected_id, bytes).map_err(reject)?;
        if !self.dicts.contains_key(&expected_id) && self.dicts.len() >= MAX_DICTS {
            return Err(reject(DictRejection::StoreFull));
        }
        let dict = Arc::new(Dictionary::digest(expected_id, bytes).map_err(reject)?);
        Arc::make_mut(&mut self.dicts).insert(expected_id, Arc::clone(&dict));
        Ok(dict)
    }

    /// Stores a dictionary as it arrives in a `dict` frame:
    /// `{"dictId": expected_id, "encoding": encoding, "data": data}`.
    ///
    /// `encoding` must be exactly `"base64"`; `data` is standard-alphabet
    /// base64, with or without `=` padding. Then as
    /// [`DictStore::insert_raw`].
    ///
    /// # Errors
    ///
    /// [`ZstdError::DictRejected`] with [`DictRejection::ZeroId`],
    /// [`DictRejection::BadEncoding`], [`DictRejection::TooLarge`] (judged
    /// from the base64 length before decoding),
    /// [`DictRejection::BadBase64`], or any rejection of
    /// [`DictStore::insert_raw`]. The store is unchanged on error.
    pub fn insert_base64(
        &mut self,
        expected_id: u32,
        encoding: &str,
        data: &str,
    ) -> Result<Arc<Dictionary>, ZstdError> {
        let reject = |why| ZstdError::DictRejected {
            id: expected_id,
            why,
        };
        if expected_id == 0 {
            return Err(reject(DictRejection::ZeroId));
        }
        if encoding != BASE64 {
            return Err(reject(DictRejection::bad_encoding(encoding)));
        }
        // Every 4 base64 characters decode to 3 bytes (padding aside), so
        // the size is known before decoding: refuse an oversize dictionary
        // before allocating for it. Exact for valid base64.
        let decoded_len = data.trim_end_matches('=').len().saturating_mul(3) / 4;
        if decoded_len > MAX_DICT_SIZE {
            return Err(reject(DictRejection::TooLarge(decoded_len)));
        }
        let bytes = STANDARD_PAD_INDIFFERENT
            .decode(data)
            .map_err(|_| reject(DictRejection::BadBase64))?;
        self.insert_raw(expected_id, &bytes)
    }

    /// The dictionary stored under `id`, if any.
    #[must_use]
    pub fn get(&self, id: u32) -> Option<Arc<Dictionary>> {
        self.dicts.get(&id).cloned()
    }

    /// Borrows the dictionary stored under `id` (no reference-count bump).
    pub(crate) fn get_ref(&self, id: u32) -> Option<&Dictionary> {
        self.dicts.get(&id).map(|dict| &**dict)
    }

    /// Whether a dictionary is stored under `id`.
    #[must_use]
    pub fn contains(&self, id: u32) -> bool {
        self.dicts.contains_key(&id)
    }

    /// The stored ids, ascending.
    #[must_use]
    pub fn ids(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self.dicts.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// How many dictionaries are stored (at most [`MAX_DICTS`]).
    #[must_use]
    pub fn len(&self) -> usize {
        self.dicts.len()
    }

    /// Whether the store is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.dicts.is_empty()
    }
}

impl Dictionary {
    /// The checks that need no digesting (id, size, magic, header id), so a
    /// full store or a bad header costs no libzstd work.
    fn check_header(expected_id: u32, bytes: &[u8]) -> Result<(), DictRejection> {
        if expected_id == 0 {
            return Err(DictRejection::ZeroId);
        }
        if bytes.len() > MAX_DICT_SIZE {
            return Err(DictRejection::TooLarge(bytes.len()));
        }
        if bytes.get(..DICT_MAGIC.len()) != Some(&DICT_MAGIC[..]) || bytes.len() < 8 {
            return Err(DictRejection::NotADictionary);
        }
        let header = zstd_safe::get_dict_id_from_dict(bytes).map_or(0, |id| id.get());
        if header != expected_id {
            return Err(DictRejection::IdMismatch { header });
        }
        Ok(())
    }
}

impl fmt::Debug for DictStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DictStore")
            .field("ids", &self.ids())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn store_and_dictionary_are_send_sync() {
        assert_send_sync::<Dictionary>();
        assert_send_sync::<DictStore>();
    }

    #[test]
    fn zero_id_checked_before_encoding() {
        let mut store = DictStore::new();
        assert_eq!(
            store.insert_base64(0, "hex", "zz").unwrap_err(),
            ZstdError::DictRejected {
                id: 0,
                why: DictRejection::ZeroId
            }
        );
    }

    #[test]
    fn oversize_base64_rejected_before_decoding() {
        let mut store = DictStore::new();
        // Not even valid base64: the size check must come first.
        let data = "!".repeat(MAX_DICT_SIZE / 3 * 4 + 8);
        let err = store.insert_base64(9, "base64", &data).unwrap_err();
        assert!(
            matches!(
                err,
                ZstdError::DictRejected {
                    id: 9,
                    why: DictRejection::TooLarge(n)
                } if n > MAX_DICT_SIZE
            ),
            "{err:?}"
        );
    }

    #[test]
    fn short_input_with_magic_is_not_a_dictionary() {
        let mut store = DictStore::new();
        assert_eq!(
            store
                .insert_raw(5, &[0x37, 0xA4, 0x30, 0xEC, 5, 0])
                .unwrap_err(),
            ZstdError::DictRejected {
                id: 5,
                why: DictRejection::NotADictionary
            }
        );
        assert_eq!(
            store.insert_raw(5, b"").unwrap_err(),
            ZstdError::DictRejected {
                id: 5,
                why: DictRejection::NotADictionary
            }
        );
        assert!(store.is_empty());
    }

    #[test]
    fn garbage_after_a_valid_header_is_invalid() {
        let mut store = DictStore::new();
        let mut bytes = DICT_MAGIC.to_vec();
        bytes.extend_from_slice(&77_u32.to_le_bytes());
        bytes.extend_from_slice(&[0xFF; 64]);
        assert_eq!(
            store.insert_raw(77, &bytes).unwrap_err(),
            ZstdError::DictRejected {
                id: 77,
                why: DictRejection::Invalid
            }
        );
        assert!(store.get(77).is_none());
    }
}
