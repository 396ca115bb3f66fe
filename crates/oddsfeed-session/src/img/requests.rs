//! Request ids, the outstanding-request table and the standing-request list.

use std::collections::VecDeque;
use std::fmt;

use oddsfeed_model::img::Request;

/// The `request_id` a request went out with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) String);

impl RequestId {
    /// The id as sent on the wire (e.g. `r7`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl PartialEq<str> for RequestId {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for RequestId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Requests sent on the current connection and not answered yet, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outstanding {
    queue: VecDeque<Request>,
}

/// Which request a response answers.
#[derive(Debug)]
pub(crate) enum Match {
    /// This request (removed from the table).
    Request(Request),
    /// Nothing: an unknown `request_id`, or nothing outstanding.
    Unmatched,
}

impl Outstanding {
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn push(&mut self, request: Request) {
        self.queue.push_back(request);
    }

    /// Correlates a response: by `request_id` when it has one, else the oldest outstanding
    /// request (docs/PROTOCOL.md A.4).
    pub(crate) fn take(&mut self, request_id: Option<&str>) -> Match {
        let found = match request_id {
            Some(id) => self
                .queue
                .iter()
                .position(|r| r.request_id.as_deref() == Some(id))
                .and_then(|i| self.queue.remove(i)),
            None => self.queue.pop_front(),
        };
        match found {
            Some(request) => Match::Request(request),
            None => Match::Unmatched,
        }
    }
}

/// Hands out `r1`, `r2`, ... for the whole life of a session (never reused across reconnects).
#[derive(Debug)]
pub(crate) struct IdGen {
    next: u64,
}

impl Default for IdGen {
    fn default() -> Self {
        Self { next: 1 }
    }
}

impl IdGen {
    pub(crate) fn next_id(&mut self) -> String {
        let id = format!("r{}", self.next);
        self.next = self.next.saturating_add(1);
        id
    }
}
