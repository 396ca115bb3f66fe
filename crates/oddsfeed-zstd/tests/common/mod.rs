//! Shared helpers for the integration tests: a deterministic JSON-ish corpus,
//! dictionary training with a forced id, and feed-like frame compression
//! (no content size, dictId in the header).

#![allow(dead_code)] // each test binary uses a different subset

use zstd_safe::{CCtx, CDict, CParameter};

/// The dictId the feed's `odds` dictionary uses in docs/PROTOCOL.md examples.
pub const ODDS_ID: u32 = 740_826_216;
/// A second id, small enough for a 2-byte Dictionary_ID field.
pub const FIXTURES_ID: u32 = 1102;

/// A tiny deterministic generator (xorshift64*), so tests need no RNG crate
/// and every run sees the same data.
pub struct Gen(u64);

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const BOOKMAKERS: [&str; 5] = ["stake", "pinnacle", "bet365", "betfair", "unibet"];
const CHANNELS: [&str; 3] = ["odds", "fixtures", "bookmakers"];

/// One feed-like data message.
pub fn message(g: &mut Gen, channel: &str) -> Vec<u8> {
    let fixture = 1_103_543_066_138_356_u64 + g.below(50);
    let bookmaker = BOOKMAKERS[g.below(BOOKMAKERS.len() as u64) as usize];
    let ts = 1_766_939_805_321_u64 + g.below(1_000_000);
    let mut odds = String::new();
    for i in 0..(1 + g.below(6)) {
        if i > 0 {
            odds.push(',');
        }
        odds.push_str(&format!(
            r#""{}-{}":{{"price":{}.{:02},"active":{},"marketId":"{}"}}"#,
            g.below(900) + 100,
            g.below(3),
            1 + g.below(20),
            g.below(100),
            g.below(2) == 0,
            g.below(400)
        ));
    }
    format!(
        r#"{{"channel":"{channel}","type":"UPDATE","payload":{{"fixtureId":"id{fixture}","odds":{{"{bookmaker}":{{{odds}}}}}}},"ts":{ts},"entryId":"{ts}-{}"}}"#,
        g.below(10_000)
    )
    .into_bytes()
}

/// `n` messages spread over the dictionary channels.
pub fn corpus(seed: u64, n: usize) -> Vec<Vec<u8>> {
    let mut g = Gen::new(seed);
    (0..n)
        .map(|i| message(&mut g, CHANNELS[i % CHANNELS.len()]))
        .collect()
}

/// Trains a ~16 KiB dictionary on ~500 generated messages and forces its
/// header id to `id` (bytes 4..8, little-endian, after the magic).
pub fn trained_dict(id: u32, seed: u64) -> Vec<u8> {
    let samples = corpus(seed, 500);
    let mut dict = zstd::dict::from_samples(&samples, 16 << 10).expect("training");
    dict[4..8].copy_from_slice(&id.to_le_bytes());
    dict
}

/// Options for [`compress`].
#[derive(Clone, Copy, Default)]
pub struct Opts {
    /// Write the Frame_Content_Size (the feed does not).
    pub content_size: bool,
    /// Append a checksum (the feed does not).
    pub checksum: bool,
    /// Compression level (0 = zstd's default).
    pub level: i32,
}

/// Compresses like the feed: one frame, no content size, the dictId in the
/// header when a dictionary is given (through a `CDict` and `ref_cdict`).
pub fn compress(data: &[u8], dict: Option<&[u8]>) -> Vec<u8> {
    compress_with(data, dict, Opts::default())
}

/// [`compress`] with explicit options.
pub fn compress_with(data: &[u8], dict: Option<&[u8]>, opts: Opts) -> Vec<u8> {
    let cdict = dict.map(|d| CDict::create(d, opts.level));
    let mut cctx = CCtx::create();
    cctx.set_parameter(CParameter::ContentSizeFlag(opts.content_size))
        .unwrap();
    cctx.set_parameter(CParameter::ChecksumFlag(opts.checksum))
        .unwrap();
    cctx.set_parameter(CParameter::CompressionLevel(opts.level))
        .unwrap();
    if let Some(cdict) = &cdict {
        cctx.ref_cdict(cdict).unwrap();
    }
    let mut out = Vec::with_capacity(zstd_safe::compress_bound(data.len()) + 32);
    cctx.compress2(&mut out, data).unwrap();
    out
}

/// Base64 (standard alphabet, padded), as the simulator sends `data`.
pub fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
