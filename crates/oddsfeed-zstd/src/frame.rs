//! Reading a zstd frame header without decoding the frame: the magic, the
//! Dictionary_ID, the compressed length and the optional content size.
//!
//! The header layout varies (the Dictionary_ID sits after an optional
//! Window_Descriptor and takes 0, 1, 2 or 4 bytes), so nothing here parses
//! it by hand: libzstd's own header functions do, and this module maps
//! their answers onto [`ZstdError`].

use std::num::NonZeroU32;

use zstd_safe::zstd_sys::ZSTD_ErrorCode;

use crate::ZstdError;

/// The four bytes every zstd frame starts with (`0xFD2FB528` little-endian).
pub const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];

/// How many leading bytes of a non-zstd input [`ZstdError::BadMagic`] keeps.
pub const BAD_MAGIC_PREFIX_LEN: usize = 16;

/// Returns the Dictionary_ID of the zstd frame at the start of `frame`, or
/// `0` when the header carries none (a dictless frame).
///
/// This is the first half of docs/PROTOCOL.md B.5 "zstd steps" 1–2; it looks at
/// the header only and does not decode anything.
///
/// # Errors
///
/// - [`ZstdError::BadMagic`] if `frame` does not start with `28 B5 2F FD`;
///   inputs shorter than four bytes count as a bad magic, not as truncated.
/// - [`ZstdError::Truncated`] if the magic is there but the frame header is
///   cut short.
/// - [`ZstdError::Corrupt`] if the header is complete but invalid (a
///   reserved bit set, an impossible window size).
///
/// # Example
///
/// ```
/// use oddsfeed_zstd::{frame_dict_id, ZstdError};
///
/// let mut frame = Vec::with_capacity(64);
/// zstd_safe::compress(&mut frame, br#"{"channel":"scores"}"#, 3)
///     .map_err(zstd_safe::get_error_name)?;
/// assert_eq!(frame_dict_id(&frame), Ok(0));
/// assert_eq!(frame_dict_id(&frame[..5]), Err(ZstdError::Truncated));
/// assert!(matches!(frame_dict_id(b"{}"), Err(ZstdError::BadMagic { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn frame_dict_id(frame: &[u8]) -> Result<u32, ZstdError> {
    header(frame).map(|header| header.dict_id)
}

/// What a valid frame header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameHeader {
    /// Dictionary_ID, 0 when absent.
    pub(crate) dict_id: u32,
    /// Frame_Content_Size, when present.
    pub(crate) content_size: Option<u64>,
}

/// Checks the magic and that the header is complete and valid, and returns
/// what it says.
pub(crate) fn header(frame: &[u8]) -> Result<FrameHeader, ZstdError> {
    check_magic(frame)?;
    match zstd_safe::get_frame_content_size(frame) {
        Ok(content_size) => Ok(FrameHeader {
            // The header is complete and valid, so "no id" means 0.
            dict_id: zstd_safe::get_dict_id_from_frame(frame).map_or(0, NonZeroU32::get),
            content_size,
        }),
        // libzstd reports "header incomplete" and "header invalid" the same
        // way here; its frame-size walk tells them apart.
        Err(_) => Err(match zstd_safe::find_frame_compressed_size(frame) {
            Err(code) => map_code(code),
            Ok(_) => ZstdError::Corrupt {
                reason: "Corrupted frame header".to_owned(),
            },
        }),
    }
}

/// Checks that the frame holds exactly one complete zstd frame: `Ok` with
/// its length, [`ZstdError::Truncated`] if the input stops early,
/// [`ZstdError::TrailingBytes`] if bytes follow the frame.
pub(crate) fn exact_frame_len(frame: &[u8]) -> Result<usize, ZstdError> {
    let len = zstd_safe::find_frame_compressed_size(frame).map_err(map_code)?;
    match frame.len().checked_sub(len) {
        Some(0) => Ok(len),
        Some(extra) => Err(ZstdError::TrailingBytes { extra }),
        // libzstd never reports a frame longer than its input; treat it as
        // truncated rather than trusting it.
        None => Err(ZstdError::Truncated),
    }
}

/// The most bytes the frame's blocks can produce, read from the block headers without
/// decoding: a raw or RLE block produces exactly its Block_Size, a compressed block at most
/// 128 KiB (the format's Block_Maximum_Size). `None` when the headers cannot be walked (the
/// caller then relies on libzstd, which refuses such a frame itself).
///
/// This is what makes a declared Frame_Content_Size a hint that can be checked: a header may
/// claim 60 MiB over a frame whose blocks can only make a few KiB.
pub(crate) fn blocks_output_bound(frame: &[u8]) -> Option<u64> {
    const BLOCK_MAX: u64 = 128 << 10;
    let descriptor = *frame.get(ZSTD_MAGIC.len())?;
    let single_segment = descriptor & 0x20 != 0;
    let fcs_len = match descriptor >> 6 {
        0 => usize::from(single_segment),
        1 => 2,
        2 => 4,
        _ => 8,
    };
    let dict_id_len = [0, 1, 2, 4][usize::from(descriptor & 0x03)];
    let window_len = usize::from(!single_segment);
    let mut at = ZSTD_MAGIC.len() + 1 + window_len + dict_id_len + fcs_len;
    let mut total: u64 = 0;
    loop {
        let header = frame.get(at..at + 3)?;
        let header = u32::from(header[0]) | u32::from(header[1]) << 8 | u32::from(header[2]) << 16;
        let last = header & 1 != 0;
        let size = u64::from(header >> 3);
        let (content, output) = match (header >> 1) & 0x03 {
            0 => (size, size),
            1 => (1, size),
            2 => (size, BLOCK_MAX),
            _ => return None,
        };
        total = total.saturating_add(output);
        at = at
            .checked_add(3)?
            .checked_add(usize::try_from(content).ok()?)?;
        if last {
            return Some(total);
        }
    }
}

/// Fails with [`ZstdError::BadMagic`] unless `frame` starts with
/// [`ZSTD_MAGIC`].
fn check_magic(frame: &[u8]) -> Result<(), ZstdError> {
    if frame.get(..ZSTD_MAGIC.len()) == Some(&ZSTD_MAGIC[..]) {
        Ok(())
    } else {
        let prefix = frame.get(..BAD_MAGIC_PREFIX_LEN).unwrap_or(frame);
        Err(ZstdError::BadMagic {
            prefix: prefix.to_vec(),
        })
    }
}

/// Maps a libzstd error code onto [`ZstdError`]: "input too short" is
/// [`ZstdError::Truncated`], everything else [`ZstdError::Corrupt`] with
/// libzstd's error name.
pub(crate) fn map_code(code: zstd_safe::ErrorCode) -> ZstdError {
    if zstd_safe::is_error_kind(code, ZSTD_ErrorCode::ZSTD_error_srcSize_wrong) {
        ZstdError::Truncated
    } else {
        ZstdError::Corrupt {
            reason: zstd_safe::get_error_name(code).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zstd_safe::{CCtx, CParameter};

    /// Compresses `data` with a raw dictionary whose header id is forced to
    /// `dict_id` (the dictionary need not be trained for header tests).
    fn frame_with(data: &[u8], dict: Option<&[u8]>, content_size: bool, checksum: bool) -> Vec<u8> {
        let mut cctx = CCtx::create();
        cctx.set_parameter(CParameter::ContentSizeFlag(content_size))
            .unwrap();
        cctx.set_parameter(CParameter::ChecksumFlag(checksum))
            .unwrap();
        if let Some(dict) = dict {
            cctx.load_dictionary(dict).unwrap();
        }
        let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()) + 64);
        cctx.compress2(&mut out, data).unwrap();
        out
    }

    /// A structurally valid zstd dictionary with id `id`, trained on a small
    /// synthetic corpus.
    fn dict(id: u32) -> Vec<u8> {
        let samples: Vec<Vec<u8>> = (0..300)
            .map(|i| {
                format!(
                    "{{\"channel\":\"odds\",\"seq\":{i},\"price\":{}.{}}}",
                    i % 17,
                    i % 7
                )
                .into_bytes()
            })
            .collect();
        let mut dict = zstd::dict::from_samples(&samples, 4096).unwrap();
        dict[4..8].copy_from_slice(&id.to_le_bytes());
        dict
    }

    #[test]
    fn dictless_frame_has_id_zero() {
        let frame = frame_with(b"hello hello hello", None, false, false);
        assert_eq!(frame_dict_id(&frame), Ok(0));
    }

    #[test]
    fn dict_id_read_for_every_field_width() {
        // 1-, 2- and 4-byte Dictionary_ID fields, with and without the
        // Single_Segment flag (content size on, small input).
        for id in [7_u32, 200, 1102, 65_535, 65_536, 740_826_216, u32::MAX] {
            let dict = dict(id);
            for content_size in [false, true] {
                let frame = frame_with(
                    b"{\"channel\":\"odds\",\"seq\":1}",
                    Some(&dict),
                    content_size,
                    false,
                );
                assert_eq!(
                    frame_dict_id(&frame),
                    Ok(id),
                    "id {id}, content size {content_size}"
                );
            }
        }
    }

    #[test]
    fn header_cut_short_is_truncated() {
        let dict = dict(740_826_216);
        let frame = frame_with(b"{\"channel\":\"odds\"}", Some(&dict), false, false);
        // Magic(4) + descriptor(1) + window(1) + 4-byte id = 10 header bytes.
        for cut in 4..10 {
            assert_eq!(
                frame_dict_id(&frame[..cut]),
                Err(ZstdError::Truncated),
                "cut at {cut}"
            );
        }
        assert_eq!(frame_dict_id(&frame[..10]), Ok(740_826_216));
    }

    #[test]
    fn short_or_foreign_input_is_bad_magic() {
        assert_eq!(
            frame_dict_id(b""),
            Err(ZstdError::BadMagic { prefix: vec![] })
        );
        assert_eq!(
            frame_dict_id(&ZSTD_MAGIC[..3]),
            Err(ZstdError::BadMagic {
                prefix: ZSTD_MAGIC[..3].to_vec()
            })
        );
        let long = [0xAB_u8; 40];
        assert_eq!(
            frame_dict_id(&long),
            Err(ZstdError::BadMagic {
                prefix: vec![0xAB; 16]
            })
        );
        // A skippable frame is valid zstd, but never what the feed sends.
        let skippable = [0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
        assert!(matches!(
            frame_dict_id(&skippable),
            Err(ZstdError::BadMagic { .. })
        ));
    }

    #[test]
    fn reserved_header_bit_is_corrupt() {
        let mut frame = frame_with(b"payload payload", None, false, false);
        frame[4] |= 0b0000_1000; // Reserved_Bit of the Frame_Header_Descriptor
        assert_eq!(
            frame_dict_id(&frame),
            Err(ZstdError::Corrupt {
                reason: "Unsupported frame parameter".to_owned()
            })
        );
    }

    #[test]
    fn content_size_reported_when_present() {
        let with = frame_with(&[b'x'; 1000], None, true, false);
        assert_eq!(header(&with).map(|h| h.content_size), Ok(Some(1000)));
        let without = frame_with(&[b'x'; 1000], None, false, false);
        assert_eq!(header(&without).map(|h| h.content_size), Ok(None));
    }

    #[test]
    fn exact_frame_len_spots_truncation_and_trailing_bytes() {
        let frame = frame_with(b"some payload some payload", None, false, true);
        assert_eq!(exact_frame_len(&frame), Ok(frame.len()));
        let mut longer = frame.clone();
        longer.extend_from_slice(b"abc");
        assert_eq!(
            exact_frame_len(&longer),
            Err(ZstdError::TrailingBytes { extra: 3 })
        );
        for cut in 4..frame.len() {
            assert_eq!(
                exact_frame_len(&frame[..cut]),
                Err(ZstdError::Truncated),
                "cut at {cut}"
            );
        }
    }
}
