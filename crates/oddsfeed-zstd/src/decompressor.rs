//! The per-connection decoder: one libzstd context, one reused output
//! buffer, one hard output bound.

use std::fmt;

use zstd_safe::zstd_sys::ZSTD_ErrorCode;
use zstd_safe::{DCtx, DParameter, ResetDirective};

use crate::frame::FrameHeader;
use crate::frame::{blocks_output_bound, exact_frame_len, header, map_code};
use crate::{DictStore, Dictionary, ZstdError};

/// Capacity the output buffer starts with (and returns to), 64 KiB: enough
/// for any ordinary feed message (~1 KiB of JSON) without a retry. Smaller
/// if the bound is smaller.
pub const INITIAL_OUTPUT_CAPACITY: usize = 64 << 10;

/// Largest output buffer kept between frames, 4 MiB. After a frame that
/// needed more, or any failed frame, the buffer goes back to
/// [`INITIAL_OUTPUT_CAPACITY`], so one bomb (or one huge snapshot) does not
/// pin up to the bound per connection for the rest of its life. The price:
/// each frame that decompresses to more than this regrows the buffer.
pub const RETAINED_OUTPUT_CAPACITY: usize = 4 << 20;

/// `DParameter::WindowLogMax` set on every context: 2^27 = 128 MiB, which
/// is also libzstd's own default, set explicitly so the limit is written
/// down and survives a libzstd default change.
///
/// What it bounds: the window buffer libzstd allocates for *streaming*
/// decompression (a frame declaring a larger window is refused there with
/// "Frame requires too much memory for decoding"). The one-shot decoding
/// this crate uses allocates no window at all (the output buffer serves as
/// history, and libzstd 1.5.7 does not consult this limit on that path), so
/// its memory is bounded by the output bound whatever window a frame header
/// claims. The parameter is set so that the context stays safe if a
/// streaming path is ever added.
pub const DEFAULT_WINDOW_LOG_MAX: u32 = 27;

/// Counters of what a [`Decompressor`] has seen, for metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecompressStats {
    /// Frames decoded successfully.
    pub frames_ok: u64,
    /// Compressed bytes of the frames decoded successfully.
    pub bytes_in: u64,
    /// Decompressed bytes produced by the frames decoded successfully.
    pub bytes_out: u64,
    /// [`ZstdError::BadMagic`] count.
    pub bad_magic: u64,
    /// [`ZstdError::UnknownDict`] count.
    pub unknown_dict: u64,
    /// [`ZstdError::OutputBoundExceeded`] count.
    pub output_bound_exceeded: u64,
    /// [`ZstdError::Truncated`] count.
    pub truncated: u64,
    /// [`ZstdError::Corrupt`] count.
    pub corrupt: u64,
    /// [`ZstdError::TrailingBytes`] count.
    pub trailing_bytes: u64,
    /// Times the output buffer was found too small and regrown (each costs
    /// one more decoding attempt of the frame).
    pub buffer_regrows: u64,
    /// The largest output buffer allocated so far, in bytes (what a frame
    /// really cost in memory; a declared content size alone never raises it
    /// past [`RETAINED_OUTPUT_CAPACITY`]).
    pub largest_buffer: usize,
}

impl DecompressStats {
    /// Total failed frames, all kinds.
    #[must_use]
    pub fn errors(&self) -> u64 {
        self.bad_magic
            + self.unknown_dict
            + self.output_bound_exceeded
            + self.truncated
            + self.corrupt
            + self.trailing_bytes
    }

    fn count_error(&mut self, error: &ZstdError) {
        let counter = match error {
            ZstdError::BadMagic { .. } => &mut self.bad_magic,
            ZstdError::UnknownDict { .. } => &mut self.unknown_dict,
            ZstdError::OutputBoundExceeded { .. } => &mut self.output_bound_exceeded,
            ZstdError::Truncated => &mut self.truncated,
            ZstdError::Corrupt { .. } => &mut self.corrupt,
            ZstdError::TrailingBytes { .. } => &mut self.trailing_bytes,
            // Never produced by decoding; counted as corrupt if it ever is.
            ZstdError::DictRejected { .. } => &mut self.corrupt,
        };
        *counter += 1;
    }
}

/// Decodes the zstd frames of one connection, with a hard bound on output.
///
/// Holds a libzstd decompression context, a reusable output buffer and the
/// bound. Create one per connection (it is `Send`, so it can move to the
/// connection's task) and share a [`DictStore`] between them.
///
/// # How the bound is kept
///
/// Feed frames carry no content size, so the output size is unknown until
/// decoded. Each frame is decoded in one shot into the buffer's current
/// capacity (64 KiB to start). If libzstd reports the buffer too small, the
/// buffer is dropped and reallocated at twice the size, capped at the bound,
/// and the frame is decoded again; once a buffer of exactly the bound is too
/// small the frame fails with [`ZstdError::OutputBoundExceeded`]. So:
///
/// - memory never exceeds the bound (plus the old buffer is freed before the
///   new one is allocated), and the bound is never allocated up front;
/// - a frame that outgrows the current buffer is decoded up to ~log2(size /
///   64 KiB) extra times; a bomb costs about twice the bound in decoding
///   work before it is refused;
/// - a Frame_Content_Size in the header, if any, is checked against the
///   bound before anything is decoded, and against what the frame's blocks
///   can produce (read from their headers): a frame whose blocks cannot
///   make the size it declares is refused as corrupt without allocating
///   it; otherwise the declared size caps the buffer's growth, which starts
///   at most at [`RETAINED_OUTPUT_CAPACITY`], so a header alone never
///   reserves more than that.
///
/// Why one-shot and not `decompress_stream` into a growing buffer: a
/// streaming context can use a digested dictionary only through
/// `ref_ddict`/`init_using_ddict`, which tie the context's lifetime to the
/// dictionary's (a `DCtx<'static>` would need a `&'static DDict`), or by
/// reloading the raw dictionary per frame, which re-digests ~32 KiB of
/// tables for every ~1 KiB message. `decompress_using_ddict` takes the
/// dictionary per call, with no lifetime tie, and the retries only happen on
/// frames larger than anything seen recently.
///
/// After any failure the context is reset, so the next good frame decodes.
///
/// The libzstd context is created at the first frame, not in [`Decompressor::new`]: creating
/// one costs about 10 µs here (libzstd probes the CPU with `cpuid`, which traps to the
/// hypervisor on a virtual machine), and a session in a mode without zstd never needs one.
pub struct Decompressor {
    /// `None` until the first frame.
    dctx: Option<DCtx<'static>>,
    out: Vec<u8>,
    max_output: usize,
    stats: DecompressStats,
}

impl Decompressor {
    /// A decompressor whose output never exceeds `max_output` bytes
    /// (docs/PROTOCOL.md `max_decompressed`; see
    /// [`DEFAULT_MAX_DECOMPRESSED`](crate::DEFAULT_MAX_DECOMPRESSED)).
    ///
    /// Allocates at most [`INITIAL_OUTPUT_CAPACITY`] now, never the bound; the libzstd
    /// context comes with the first frame.
    ///
    /// # Panics
    ///
    /// Never itself; decoding panics only if libzstd cannot allocate a context (out of
    /// memory), like any other allocation.
    #[must_use]
    pub fn new(max_output: usize) -> Self {
        let out = Vec::with_capacity(initial_capacity(max_output));
        Self {
            dctx: None,
            stats: DecompressStats {
                largest_buffer: out.capacity(),
                ..DecompressStats::default()
            },
            out,
            max_output,
        }
    }

    /// The output bound in bytes.
    #[must_use]
    pub fn max_output(&self) -> usize {
        self.max_output
    }

    /// Current capacity of the reused output buffer, in bytes (memory held
    /// between frames).
    #[must_use]
    pub fn buffer_capacity(&self) -> usize {
        self.out.capacity()
    }

    /// Counters since creation.
    #[must_use]
    pub fn stats(&self) -> &DecompressStats {
        &self.stats
    }

    /// Returns the output buffer to [`INITIAL_OUTPUT_CAPACITY`] now, e.g.
    /// when the connection goes idle. (It also happens on its own at the
    /// next frame when the buffer is larger than
    /// [`RETAINED_OUTPUT_CAPACITY`].)
    pub fn shrink_buffer(&mut self) {
        self.out = Vec::with_capacity(initial_capacity(self.max_output));
    }

    /// Decodes `frame`, which must be exactly one zstd frame, choosing the
    /// dictionary from `dicts` by the frame's dictId (docs/PROTOCOL.md B.5 "zstd
    /// steps" 1–5; the size check of step 1 is the transport's).
    ///
    /// Returns the decompressed bytes as a mutable slice of the reused
    /// buffer, so a parser can work in place (simd-json). The slice is valid
    /// until the next call.
    ///
    /// # Errors
    ///
    /// In the order checked:
    /// [`ZstdError::BadMagic`], [`ZstdError::Truncated`] (header cut short),
    /// [`ZstdError::UnknownDict`] (dictId ≠ 0 and not in `dicts`),
    /// [`ZstdError::Truncated`] (frame cut short),
    /// [`ZstdError::TrailingBytes`],
    /// [`ZstdError::OutputBoundExceeded`] (content size in the header above
    /// the bound, or the output passing it while decoding),
    /// [`ZstdError::Corrupt`] (anything libzstd refuses, with its reason).
    /// `DictRejected` is never returned.
    pub fn decompress<'a>(
        &'a mut self,
        frame: &[u8],
        dicts: &DictStore,
    ) -> Result<&'a mut [u8], ZstdError> {
        if self.out.capacity() > RETAINED_OUTPUT_CAPACITY {
            self.shrink_buffer();
        }
        match self.decode(frame, dicts) {
            Ok(len) => {
                self.stats.frames_ok += 1;
                self.stats.bytes_in += frame.len() as u64;
                self.stats.bytes_out += len as u64;
                Ok(self.out.as_mut_slice())
            }
            Err(error) => {
                self.stats.count_error(&error);
                self.recover();
                Err(error)
            }
        }
    }

    /// Checks the frame, then decodes it into `self.out`; returns the
    /// decompressed length.
    fn decode(&mut self, frame: &[u8], dicts: &DictStore) -> Result<usize, ZstdError> {
        let FrameHeader {
            dict_id,
            content_size,
        } = header(frame)?;
        let dict = match dict_id {
            0 => None,
            id => Some(dicts.get_ref(id).ok_or_else(|| ZstdError::UnknownDict {
                id,
                known: dicts.ids(),
            })?),
        };
        exact_frame_len(frame)?;

        let bound = self.max_output;
        let mut wanted = self.out.capacity();
        // The most the buffer may need: the bound, or less when the header declares a size.
        let mut limit = bound;
        if let Some(size) = content_size {
            match usize::try_from(size) {
                Ok(size) if size <= bound => {
                    if blocks_output_bound(frame).is_some_and(|most| most < size as u64) {
                        return Err(ZstdError::Corrupt {
                            reason: format!(
                                "frame declares {size} bytes of content but its blocks hold less"
                            ),
                        });
                    }
                    limit = size;
                    // A hint, not a reservation: start at most at the retained size and
                    // grow (by doubling, capped at the declared size) only as decoding needs.
                    wanted = wanted.max(size.min(RETAINED_OUTPUT_CAPACITY));
                }
                _ => return Err(ZstdError::OutputBoundExceeded { bound }),
            }
        }
        loop {
            self.ensure_capacity(wanted);
            let dctx = self.dctx.get_or_insert_with(new_dctx);
            match decode_into(dctx, &mut self.out, frame, dict) {
                Ok(len) if len <= bound => return Ok(len),
                Ok(_) => return Err(ZstdError::OutputBoundExceeded { bound }),
                Err(code)
                    if zstd_safe::is_error_kind(
                        code,
                        ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall,
                    ) =>
                {
                    let capacity = self.out.capacity();
                    if capacity >= bound {
                        return Err(ZstdError::OutputBoundExceeded { bound });
                    }
                    if capacity >= limit {
                        return Err(ZstdError::Corrupt {
                            reason: "frame content is larger than its declared size".into(),
                        });
                    }
                    wanted = capacity.saturating_mul(2).max(1).min(limit);
                    self.stats.buffer_regrows += 1;
                }
                Err(code) => return Err(map_code(code)),
            }
        }
    }

    /// Makes the buffer's capacity at least `wanted` (at most the bound,
    /// which callers guarantee), freeing the old buffer before allocating
    /// the new one so the two never coexist.
    fn ensure_capacity(&mut self, wanted: usize) {
        self.out.clear();
        if self.out.capacity() < wanted {
            self.out = Vec::new();
            self.out.reserve_exact(wanted);
            self.stats.largest_buffer = self.stats.largest_buffer.max(self.out.capacity());
        }
    }

    /// Puts the context and buffer back in a known state after a failure.
    fn recover(&mut self) {
        self.out.clear();
        if let Some(dctx) = &mut self.dctx
            && dctx.reset(ResetDirective::SessionOnly).is_err()
        {
            // Resetting a session cannot fail in libzstd 1.5; if it ever
            // does, a fresh context (at the next frame) is the safe answer.
            self.dctx = None;
        }
        if self.out.capacity() > RETAINED_OUTPUT_CAPACITY {
            self.shrink_buffer();
        }
    }
}

impl Default for Decompressor {
    /// A decompressor with the default bound,
    /// [`DEFAULT_MAX_DECOMPRESSED`](crate::DEFAULT_MAX_DECOMPRESSED).
    fn default() -> Self {
        Self::new(crate::DEFAULT_MAX_DECOMPRESSED)
    }
}

impl fmt::Debug for Decompressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decompressor")
            .field("max_output", &self.max_output)
            .field("buffer_capacity", &self.out.capacity())
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// One one-shot decoding attempt into `out`'s capacity.
fn decode_into(
    dctx: &mut DCtx<'static>,
    out: &mut Vec<u8>,
    frame: &[u8],
    dict: Option<&Dictionary>,
) -> zstd_safe::SafeResult {
    match dict {
        Some(dict) => dctx.decompress_using_ddict(out, frame, dict.ddict()),
        None => dctx.decompress(out, frame),
    }
}

/// A context with [`DEFAULT_WINDOW_LOG_MAX`] set.
fn new_dctx() -> DCtx<'static> {
    let mut dctx = DCtx::create();
    // 27 is within libzstd's accepted range [10, 31]; this cannot fail.
    let set = dctx.set_parameter(DParameter::WindowLogMax(DEFAULT_WINDOW_LOG_MAX));
    debug_assert!(
        set.is_ok(),
        "WindowLogMax({DEFAULT_WINDOW_LOG_MAX}) refused"
    );
    dctx
}

/// The starting buffer size for a bound.
fn initial_capacity(max_output: usize) -> usize {
    INITIAL_OUTPUT_CAPACITY.min(max_output)
}

#[cfg(test)]
mod tests {
    use super::*;
    use zstd_safe::{CCtx, CParameter};

    fn sizeless(data: &[u8]) -> Vec<u8> {
        let mut cctx = CCtx::create();
        cctx.set_parameter(CParameter::ContentSizeFlag(false))
            .unwrap();
        let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
        cctx.compress2(&mut out, data).unwrap();
        out
    }

    #[test]
    fn decompressor_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<Decompressor>();
    }

    #[test]
    fn the_context_is_created_at_the_first_frame() {
        let mut d = Decompressor::new(1 << 20);
        assert!(d.dctx.is_none());
        // A frame refused before decoding (bad magic) needs no context either.
        assert!(matches!(
            d.decompress(b"not a frame", &DictStore::new()),
            Err(ZstdError::BadMagic { .. })
        ));
        assert!(d.dctx.is_none());
        let frame = sizeless(b"hello");
        assert_eq!(
            &d.decompress(&frame, &DictStore::new()).unwrap()[..],
            b"hello"
        );
        assert!(d.dctx.is_some());
        // After a failure the context is reset and kept.
        assert!(
            d.decompress(&frame[..frame.len() - 1], &DictStore::new())
                .is_err()
        );
        assert!(d.dctx.is_some());
        assert_eq!(
            &d.decompress(&frame, &DictStore::new()).unwrap()[..],
            b"hello"
        );
    }

    #[test]
    fn new_does_not_allocate_the_bound() {
        let d = Decompressor::new(64 << 20);
        assert_eq!(d.buffer_capacity(), INITIAL_OUTPUT_CAPACITY);
        let tiny = Decompressor::new(100);
        assert_eq!(tiny.buffer_capacity(), 100);
    }

    #[test]
    fn buffer_grows_by_doubling_and_is_kept_under_the_retained_size() {
        let data: Vec<u8> = (0..300_000_u32).map(|i| (i % 251) as u8).collect();
        let frame = sizeless(&data);
        let mut d = Decompressor::new(1 << 20);
        let out = d.decompress(&frame, &DictStore::new()).unwrap();
        assert_eq!(&out[..], &data[..]);
        // 64 KiB -> 128 -> 256 -> 512 KiB.
        assert_eq!(d.buffer_capacity(), 512 << 10);
        assert_eq!(d.stats().buffer_regrows, 3);
        // Kept for the next frame: no regrow this time.
        d.decompress(&frame, &DictStore::new()).unwrap();
        assert_eq!(d.stats().buffer_regrows, 3);
        assert_eq!(d.stats().frames_ok, 2);
        assert_eq!(d.stats().bytes_out, 600_000);
    }

    #[test]
    fn growth_is_capped_at_an_odd_bound() {
        let data = vec![b'a'; 100_000];
        let frame = sizeless(&data);
        let mut d = Decompressor::new(100_000);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap().len(),
            100_000
        );
        assert_eq!(d.buffer_capacity(), 100_000);
        let mut d = Decompressor::new(99_999);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap_err(),
            ZstdError::OutputBoundExceeded { bound: 99_999 }
        );
    }

    #[test]
    fn big_buffer_released_at_next_frame_and_after_errors() {
        let data = vec![b'z'; 5 << 20];
        let frame = sizeless(&data);
        let small = sizeless(b"{\"ok\":true}");
        let mut d = Decompressor::new(8 << 20);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap().len(),
            5 << 20
        );
        assert_eq!(d.buffer_capacity(), 8 << 20);
        assert_eq!(
            d.decompress(&small, &DictStore::new()).unwrap(),
            b"{\"ok\":true}"
        );
        assert_eq!(d.buffer_capacity(), INITIAL_OUTPUT_CAPACITY);

        // A frame over the bound leaves a small buffer behind at once.
        let mut d = Decompressor::new(4 << 20 | 1);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap_err(),
            ZstdError::OutputBoundExceeded { bound: 4 << 20 | 1 }
        );
        assert_eq!(d.buffer_capacity(), INITIAL_OUTPUT_CAPACITY);
        assert_eq!(d.stats().output_bound_exceeded, 1);
        assert_eq!(d.stats().errors(), 1);
    }

    #[test]
    fn content_size_above_bound_refused_before_decoding() {
        let mut cctx = CCtx::create();
        let data = vec![7_u8; 1 << 20];
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
        cctx.compress2(&mut frame, &data).unwrap(); // content size on by default
        assert_eq!(
            zstd_safe::get_frame_content_size(&frame).unwrap(),
            Some(1 << 20)
        );
        let mut d = Decompressor::new(512 << 10);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap_err(),
            ZstdError::OutputBoundExceeded { bound: 512 << 10 }
        );
        // Nothing was grown: the header alone decided.
        assert_eq!(d.buffer_capacity(), INITIAL_OUTPUT_CAPACITY);
        assert_eq!(d.stats().buffer_regrows, 0);
    }

    #[test]
    fn content_size_within_bound_sizes_the_buffer() {
        let mut cctx = CCtx::create();
        let data = vec![7_u8; 200_000];
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
        cctx.compress2(&mut frame, &data).unwrap();
        let mut d = Decompressor::new(1 << 20);
        assert_eq!(
            d.decompress(&frame, &DictStore::new()).unwrap().len(),
            200_000
        );
        assert_eq!(d.buffer_capacity(), 200_000);
        assert_eq!(d.stats().buffer_regrows, 0);
    }

    /// A frame by hand: a header declaring `declared` bytes of content (4-byte
    /// Frame_Content_Size, a window descriptor, no dictionary, no checksum)
    /// over one raw block holding `data`.
    fn lying_frame(declared: u32, data: &[u8]) -> Vec<u8> {
        let mut frame = crate::ZSTD_MAGIC.to_vec();
        // FCS_flag 2 (4 bytes), not single-segment, no checksum, no dictId.
        frame.push(0b1000_0000);
        // Window_Descriptor: exponent 17 (1 << 27 = 128 MiB window).
        frame.push(17 << 3);
        frame.extend(declared.to_le_bytes());
        let block = 1 | (u32::try_from(data.len()).unwrap() << 3); // last, raw
        frame.extend(&block.to_le_bytes()[..3]);
        frame.extend(data);
        frame
    }

    #[test]
    fn a_declared_content_size_is_a_hint_not_a_reservation() {
        let dicts = DictStore::new();
        // The hand-made frame is valid when it tells the truth.
        let mut d = Decompressor::new(64 << 20);
        assert_eq!(
            d.decompress(&lying_frame(5, b"hello"), &dicts).unwrap(),
            b"hello"
        );
        // Declaring 60 MiB over 5 bytes is refused as corrupt before any buffer
        // of that size exists.
        let mut d = Decompressor::new(64 << 20);
        let err = d
            .decompress(&lying_frame(60 << 20, b"hello"), &dicts)
            .unwrap_err();
        assert!(
            matches!(&err, ZstdError::Corrupt { reason } if reason.contains("declares 62914560 bytes")),
            "{err:?}"
        );
        assert_eq!(d.stats().largest_buffer, INITIAL_OUTPUT_CAPACITY);
        // An honest 6 MiB frame: the buffer starts at the retained size and
        // grows to exactly the declared size, never to the bound.
        let data: Vec<u8> = (0..6_u32 << 20).map(|i| (i % 251) as u8).collect();
        let mut frame = Vec::with_capacity(zstd_safe::compress_bound(data.len()));
        CCtx::create().compress2(&mut frame, &data).unwrap();
        assert_eq!(
            zstd_safe::get_frame_content_size(&frame).unwrap(),
            Some(6 << 20)
        );
        assert!(blocks_output_bound(&frame).unwrap() >= 6 << 20);
        assert_eq!(d.decompress(&frame, &dicts).unwrap(), &data[..]);
        assert_eq!(d.stats().largest_buffer, 6 << 20);
        assert_eq!(d.stats().buffer_regrows, 1);
    }

    #[test]
    fn one_shot_decoding_ignores_a_huge_declared_window() {
        // A header declaring a 256 MiB window (above WindowLogMax 27) costs
        // nothing here: one-shot decoding allocates no window, and the output
        // bound alone limits memory. Pins the claim in DEFAULT_WINDOW_LOG_MAX.
        // Streaming, so the compressor does not know the size and keeps the
        // window it was given.
        let data = b"{\"channel\":\"clocks\"}".repeat(10);
        let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
        encoder.include_contentsize(false).unwrap();
        encoder.window_log(28).unwrap();
        std::io::Write::write_all(&mut encoder, &data).unwrap();
        let frame = encoder.finish().unwrap();
        // Window_Descriptor (byte 5): exponent + 10 = window log.
        assert_eq!((frame[5] >> 3) + 10, 28);
        let mut d = Decompressor::new(1 << 20);
        assert_eq!(d.decompress(&frame, &DictStore::new()).unwrap(), &data[..]);
    }

    #[test]
    fn zero_bound_accepts_only_empty_output() {
        let mut d = Decompressor::new(0);
        assert_eq!(
            d.decompress(&sizeless(b""), &DictStore::new()).unwrap(),
            b""
        );
        assert_eq!(
            d.decompress(&sizeless(b"x"), &DictStore::new())
                .unwrap_err(),
            ZstdError::OutputBoundExceeded { bound: 0 }
        );
    }
}
