//! The document limits every parse path shares (the JSON fast path, serde_json, the MessagePack
//! walk): in their own module so that `ws` and `msgpack` both use them without importing each
//! other. Re-exported from [`crate::ws`].

/// The deepest nesting of arrays and objects accepted in a document (the top-level object
/// counts as one). serde_json refuses deeper documents; the fast path and the MessagePack
/// conversion are held to the same limit so that every path agrees. Deep nesting is the
/// classic way to exhaust a recursive parser's stack.
pub const MAX_JSON_DEPTH: usize = 127;

/// The default limit on the values and keys one document may hold (the nodes of simd-json's
/// tape): 1,048,576.
///
/// Why a node limit and not only a byte limit: memory follows the number of nodes, not the
/// number of bytes. A dense document such as `[0,0,0,…]` has one node per two bytes, and each
/// node costs simd-json a tape entry and a structural index (about 28 bytes) and the generic
/// reader a JSON value (32 bytes and up), so a 60 MiB document inside the 64 MiB
/// decompression bound would cost gigabytes to parse. A limit in absolute nodes bounds that
/// cost whatever the document's size; a limit relative to the size would not, since every
/// document already has at most about half as many nodes as bytes.
///
/// How it is checked: before parsing, and only for documents long enough to pass it (a
/// document of `n` bytes has at most `(n + 1) / 2` nodes, so anything under 2 MiB is never
/// scanned and the feed's ordinary messages pay nothing). A longer document is scanned once
/// for the separators `,` `:` `[` `{` outside strings; one plus their count bounds the nodes
/// from above (exact for documents without empty containers), and the scan stops as soon as
/// the bound passes the limit. MessagePack is counted exactly while it is walked.
///
/// The risk: a legitimate message with more than a million values (a snapshot of a whole
/// market book in one message) is refused as `too_complex`. The feed's messages hold a few
/// hundred nodes at most; raise the limit with [`FastParser::with_max_nodes`](crate::ws::FastParser::with_max_nodes) if a feed
/// really sends more. At this default a refused document costs only the scan, and an
/// accepted one at most about 100 MiB of parser memory.
pub const DEFAULT_MAX_NODES: usize = 1 << 20;
