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

use simd_json::StaticNode;
use simd_json::tape::Node;

use super::control::is_control_type;
use super::data::DataParts;
use super::payload::Payload;
use super::tape::{as_u64, each_entry, set, to_value};

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
/// [`Payload::Unparsed`]. `None` when the typed path must decide (see the module docs).
pub(super) fn read_envelope(nodes: &[Node<'_>]) -> Option<DataParts> {
    let mut channel: Option<&str> = None;
    let mut kind: Option<&str> = None;
    let mut ts: Option<Option<u64>> = None;
    let mut entry_id = None;
    let mut payload = None;
    each_entry(nodes, 0, |key, at| {
        let node = nodes.get(at)?;
        match key {
            "channel" => match node {
                Node::String(s) => set(&mut channel, *s),
                _ => None,
            },
            "type" => {
                let text = match node {
                    Node::String(s) if is_control_type(s) => return None,
                    Node::String(s) => s,
                    _ => "",
                };
                set(&mut kind, text)
            }
            "ts" => set(&mut ts, as_u64(node)),
            "entryId" => {
                let id = match node {
                    Node::String(s) => match s.parse() {
                        Ok(id) => (Some(id), None),
                        Err(_) => (None, Some((*s).to_owned())),
                    },
                    Node::Static(StaticNode::Null) => (None, None),
                    _ => (None, Some(to_value(nodes, at)?.to_string())),
                };
                set(&mut entry_id, id)
            }
            "payload" => set(&mut payload, ()),
            _ => Some(()),
        }
    })?;
    let channel = channel?;
    payload?;
    let (entry_id, entry_id_raw) = entry_id.unwrap_or((None, None));
    Some(DataParts {
        channel: channel.to_owned(),
        kind: kind.unwrap_or("").to_owned(),
        ts: ts.flatten(),
        entry_id,
        entry_id_raw,
        payload: Payload::Unparsed,
        typed_error: None,
    })
}
