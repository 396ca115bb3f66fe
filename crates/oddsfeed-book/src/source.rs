//! Where a stored object's JSON lives, and how the dump gets it back.
//!
//! Applying a typed message must be cheap, so the book does not build a JSON tree for each
//! outcome: it keeps the message's text (shared by every entry the message wrote) and
//! finds the object in it when a dump asks. Messages whose payload did not fit its typed
//! view are rare; their objects are kept as JSON values.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

/// The JSON object of one book entry.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Inside this message's `payload`, at the path the entry's place in the book gives.
    Message(Arc<str>),
    /// This value, as the message carried it.
    Value(Value),
}

/// Parses each shared message at most once per dump.
#[derive(Default)]
pub(crate) struct DumpCache {
    parsed: HashMap<usize, Value>,
}

impl DumpCache {
    /// The object of `source` at `path` below the message's `payload` (for
    /// [`Source::Value`] the value itself). `null` when the path does not lead anywhere,
    /// which a message that was applied cannot cause.
    pub(crate) fn object(&mut self, source: &Source, path: &[&str]) -> Value {
        match source {
            Source::Value(value) => value.clone(),
            Source::Message(text) => {
                let key = Arc::as_ptr(text).cast::<u8>() as usize;
                let message = self
                    .parsed
                    .entry(key)
                    .or_insert_with(|| serde_json::from_str(text).unwrap_or(Value::Null));
                let mut at = message.get("payload");
                for step in path {
                    at = at.and_then(|v| v.get(step));
                }
                at.cloned().unwrap_or(Value::Null)
            }
        }
    }
}

/// An id as text: a string as is, a number in its JSON spelling; `None` otherwise.
pub(crate) fn id_text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
