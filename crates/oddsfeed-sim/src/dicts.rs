//! The trained zstd dictionaries the simulator announces in `zstd-dict` mode
//! (docs/PROTOCOL.md B.6).
//!
//! Three channels have one: `odds`, `fixtures` and `bookmakers`. `scores` and
//! `clocks` have none and use dictless frames (dictId 0). The dictionaries
//! are trained by `cargo xtask fixtures` on the [`ws_gen`](crate::ws_gen)
//! output of each channel, stored in `fixtures/dicts/` and, as the copy
//! embedded here at compile time, in this crate's `dicts/` folder (so the
//! crate is self-contained). Their ids are fixed ([`ODDS_DICT_ID`] and the next two), and
//! the id inside each dictionary's header equals it.

use std::fmt;

use crate::SimError;

/// dictId of the `odds` dictionary.
pub const ODDS_DICT_ID: u32 = 740_826_216;
/// dictId of the `fixtures` dictionary.
pub const FIXTURES_DICT_ID: u32 = 740_826_217;
/// dictId of the `bookmakers` dictionary.
pub const BOOKMAKERS_DICT_ID: u32 = 740_826_218;

/// The magic number that opens a zstd dictionary (`37 A4 30 EC`).
pub const DICT_MAGIC: [u8; 4] = [0x37, 0xA4, 0x30, 0xEC];

/// One dictionary as the simulator announces it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SimDict {
    /// The channel whose data frames use it.
    pub channel: &'static str,
    /// The `dictVersion` announced with it, e.g. `"odds-v1"`.
    pub version: &'static str,
    /// The dictId; the dictionary's header carries the same id.
    pub id: u32,
    /// The raw dictionary (magic `37 A4 30 EC`).
    pub bytes: &'static [u8],
}

impl fmt::Debug for SimDict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimDict")
            .field("channel", &self.channel)
            .field("version", &self.version)
            .field("id", &self.id)
            .field("len", &self.bytes.len())
            .finish()
    }
}

static BUILTIN: [SimDict; 3] = [
    SimDict {
        channel: "odds",
        version: "odds-v1",
        id: ODDS_DICT_ID,
        bytes: include_bytes!("../dicts/odds.dict"),
    },
    SimDict {
        channel: "fixtures",
        version: "fixtures-v1",
        id: FIXTURES_DICT_ID,
        bytes: include_bytes!("../dicts/fixtures.dict"),
    },
    SimDict {
        channel: "bookmakers",
        version: "bookmakers-v1",
        id: BOOKMAKERS_DICT_ID,
        bytes: include_bytes!("../dicts/bookmakers.dict"),
    },
];

/// The embedded dictionaries: `odds`, `fixtures`, `bookmakers`, in that order.
#[must_use]
pub fn builtin_dicts() -> &'static [SimDict] {
    &BUILTIN
}

/// The embedded dictionary of `channel`, if it has one.
#[must_use]
pub fn dict_for_channel(channel: &str) -> Option<&'static SimDict> {
    BUILTIN.iter().find(|d| d.channel == channel)
}

/// Overwrites the id in a zstd dictionary's header (the little-endian u32
/// right after the magic), so that frames compressed with it carry `id`.
///
/// Training derives the id from the content; the feed fixes it instead.
///
/// # Errors
///
/// [`SimError::InvalidDict`] if `dict` does not start with [`DICT_MAGIC`] or
/// `id` is 0 (reserved for "no dictionary").
pub fn force_dict_id(dict: &mut [u8], id: u32) -> Result<(), SimError> {
    if id == 0 {
        return Err(SimError::InvalidDict {
            reason: "dictId 0 means no dictionary",
        });
    }
    match dict.get_mut(..8) {
        Some(header) if header.starts_with(&DICT_MAGIC) => {
            header[4..8].copy_from_slice(&id.to_le_bytes());
            Ok(())
        }
        _ => Err(SimError::InvalidDict {
            reason: "missing the 37 A4 30 EC magic",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_ids_equal_the_fixed_ids() {
        let ids: Vec<u32> = builtin_dicts().iter().map(|d| d.id).collect();
        assert_eq!(ids, [740_826_216, 740_826_217, 740_826_218]);
        for d in builtin_dicts() {
            assert!(d.bytes.starts_with(&DICT_MAGIC), "{d:?}");
            assert_eq!(
                zstd_safe::get_dict_id_from_dict(d.bytes).map(|id| id.get()),
                Some(d.id),
                "{d:?}"
            );
            assert_eq!(d.version, format!("{}-v1", d.channel));
        }
    }

    #[test]
    fn dictionaries_are_about_32_kib() {
        for d in builtin_dicts() {
            assert!((16 << 10..=32 << 10).contains(&d.bytes.len()), "{d:?}");
        }
    }

    #[test]
    fn lookup_by_channel() {
        assert_eq!(dict_for_channel("odds").map(|d| d.id), Some(ODDS_DICT_ID));
        assert_eq!(
            dict_for_channel("bookmakers").map(|d| d.id),
            Some(BOOKMAKERS_DICT_ID)
        );
        assert_eq!(dict_for_channel("scores"), None);
        assert_eq!(dict_for_channel("clocks"), None);
    }

    #[test]
    fn forcing_an_id_rewrites_the_header() {
        let mut copy = builtin_dicts()[0].bytes.to_vec();
        force_dict_id(&mut copy, 4242).expect("a dictionary");
        assert_eq!(
            zstd_safe::get_dict_id_from_dict(&copy).map(|id| id.get()),
            Some(4242)
        );
        assert_eq!(&copy[8..], &builtin_dicts()[0].bytes[8..]);
    }

    #[test]
    fn forcing_rejects_non_dictionaries_and_zero() {
        let mut raw = b"{\"not\":\"a dict\"}".to_vec();
        assert!(matches!(
            force_dict_id(&mut raw, 7),
            Err(SimError::InvalidDict {
                reason: "missing the 37 A4 30 EC magic"
            })
        ));
        let mut short = DICT_MAGIC.to_vec();
        assert!(matches!(
            force_dict_id(&mut short, 7),
            Err(SimError::InvalidDict { .. })
        ));
        let mut copy = builtin_dicts()[0].bytes.to_vec();
        assert!(matches!(
            force_dict_id(&mut copy, 0),
            Err(SimError::InvalidDict {
                reason: "dictId 0 means no dictionary"
            })
        ));
    }
}
