//! Envelope-only decoding ([`PayloadMode::Envelope`]): a data message's envelope fields are
//! read, its payload is not typed.
//!
//! The document is still checked whole, exactly as in the typed mode (node limit, UTF-8,
//! simd-json's full parse into its tape, which refuses what is not one JSON document); only the
//! second half of the typed fast path, building the typed payload from the tape, is left out.
//! For a front end that uses only `raw` (a relay publishing the text, a binding that builds its
//! own objects from it) that is the part of a message's decoding it would throw away.
//!
//! The envelope reader accepts a document only when it can answer as the typed path does: an
//! object with a string `channel`, a `payload`, a non-control `type` and no repeated envelope
//! key. For anything else it answers `None` and the caller decodes typed and drops the payload
//! afterwards, so envelope mode returns, for every input, the typed mode's result with the
//! payload replaced by [`Payload::Unparsed`] (and no `typed_error`): the same errors, the same
//! control frames, the same envelope fields and `raw`.

use simd_json::tape::Node;

use super::data::DataParts;
use super::payload::{Payload, PayloadIds};
use super::small_str::SmallStr;
use super::tape::{each_entry, read_data_with, set};

/// How much of a data message the decoder reads (see [`FastParser::with_payload_mode`]).
///
/// [`FastParser::with_payload_mode`]: super::FastParser::with_payload_mode
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PayloadMode {
    /// Everything: the envelope and the payload, typed by channel (the default).
    #[default]
    Typed,
    /// The envelope only (`channel`, `type`, `ts`, `entryId` and `raw`); the payload is
    /// [`Payload::Unparsed`] and `typed_error` is `None`. The document is still checked whole:
    /// what the typed mode refuses, this mode refuses with the same error. For front ends that
    /// use only `raw`; a live book needs [`PayloadMode::Typed`].
    Envelope,
}

/// Reads a data message's envelope from a complete tape; the payload is
/// [`Payload::Unparsed`] with the payload's ids. `None` when the typed path must decide (see
/// the module docs).
pub(super) fn read_envelope(nodes: &[Node<'_>]) -> Option<DataParts> {
    read_data_with(nodes, |_, nodes, at| {
        Some(Payload::Unparsed(payload_ids(nodes, at)))
    })
}

/// The payload's `fixtureId` and `futureId` strings; `None` when the payload is not an
/// object or repeats one of the two keys (which reading it with serde's derive refuses).
fn payload_ids(nodes: &[Node<'_>], at: usize) -> Option<PayloadIds> {
    let mut fixture_id: Option<Option<SmallStr>> = None;
    let mut future_id: Option<Option<SmallStr>> = None;
    each_entry(nodes, at, |key, value| {
        let slot = match key {
            "fixtureId" => &mut fixture_id,
            "futureId" => &mut future_id,
            _ => return Some(()),
        };
        let id = match nodes.get(value)? {
            Node::String(id) => Some(SmallStr::from(*id)),
            _ => None,
        };
        set(slot, id)
    })?;
    Some(PayloadIds {
        fixture_id: fixture_id.flatten(),
        future_id: future_id.flatten(),
    })
}
