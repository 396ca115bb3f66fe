//! Where a stored object's JSON lives, and how the dump gets it back.
//!
//! Applying a typed message must be cheap, so the book does not build a JSON tree for each
//! outcome: it keeps the message's text (shared by every entry the message wrote) and
//! finds the object in it when a dump asks. Messages whose payload did not fit its typed
//! view are rare; their objects are kept as JSON values.

use std::sync::Arc;

use serde_json::Value;

/// The book's hash maps: foldhash (seeded per process) instead of SipHash, which cost a fifth
/// of an update in the `apply` bench. Keys are fixture ids, bookmaker names and oddsIds.
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The JSON object of one book entry.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// Inside this message's `payload`, at the path the entry's place in the book gives.
    Message(Arc<String>),
    /// This value, as the message carried it.
    Value(Value),
}

/// Message-text buffers no book entry refers to any more, kept for the next messages.
///
/// Every applied message's text is kept (shared by the entries it wrote) so that a dump can
/// give each object back as received. Copying it into a fresh allocation per message, and
/// freeing the one it replaces, made allocation the largest cost of an update; a replaced
/// text whose last entry is gone comes back here and its buffer takes the next message's
/// text. At most [`POOL_MAX`] buffers of at most [`POOL_MAX_CAPACITY`] bytes are kept, so
/// the memory a burst of large messages used is given back.
#[derive(Debug, Clone, Default)]
pub(crate) struct TextPool {
    spare: Vec<Arc<String>>,
}

/// Most buffers kept.
const POOL_MAX: usize = 16;
/// Largest buffer kept, in bytes.
const POOL_MAX_CAPACITY: usize = 64 << 10;

impl TextPool {
    /// A shared copy of `raw`, in a recycled buffer when one is free.
    pub(crate) fn text(&mut self, raw: &str) -> Arc<String> {
        while let Some(mut spare) = self.spare.pop() {
            if let Some(buffer) = Arc::get_mut(&mut spare) {
                buffer.clear();
                buffer.push_str(raw);
                return spare;
            }
        }
        Arc::new(raw.to_owned())
    }

    /// Takes back a replaced entry's source: its text's buffer is kept when nothing else
    /// refers to it.
    pub(crate) fn retire(&mut self, old: Source) {
        if let Source::Message(text) = old
            && Arc::strong_count(&text) == 1
            && text.capacity() <= POOL_MAX_CAPACITY
            && self.spare.len() < POOL_MAX
        {
            self.spare.push(text);
        }
    }
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
                let key = Arc::as_ptr(text) as usize;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_reuses_unshared_buffers_and_keeps_few_small_ones() {
        let mut pool = TextPool::default();
        let first = pool.text("first message");
        let shared = Arc::clone(&first);
        // Still referenced elsewhere: not taken back.
        pool.retire(Source::Message(first));
        assert!(pool.spare.is_empty());
        let address = Arc::as_ptr(&shared) as usize;
        pool.retire(Source::Message(shared));
        assert_eq!(pool.spare.len(), 1);
        // The next text lands in the same buffer.
        let second = pool.text("second");
        assert_eq!(second.as_str(), "second");
        assert_eq!(Arc::as_ptr(&second) as usize, address);

        // A large buffer is given back to the allocator, not kept.
        let large = pool.text(&"x".repeat(POOL_MAX_CAPACITY + 1));
        pool.retire(Source::Message(large));
        assert!(pool.spare.is_empty());
        // At most POOL_MAX buffers are kept.
        for _ in 0..POOL_MAX + 5 {
            pool.retire(Source::Message(Arc::new("t".to_owned())));
        }
        assert_eq!(pool.spare.len(), POOL_MAX);
        pool.retire(Source::Value(Value::Null));
        assert_eq!(pool.spare.len(), POOL_MAX);
    }
}
