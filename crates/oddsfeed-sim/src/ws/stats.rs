//! Counters of a running simulator.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of what a simulator has done so far ([`WsSimHandle::stats`]).
///
/// [`WsSimHandle::stats`]: super::WsSimHandle::stats
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimStats {
    /// Distinct data messages produced over the lifetime (the global stream).
    pub messages_generated: u64,
    /// Of those, per channel.
    pub per_channel: BTreeMap<String, u64>,
    /// Data frames sent, over all connections (replayed ones included).
    pub data_frames_sent: u64,
    /// Payload bytes of every WebSocket message sent (control, data, fault).
    pub bytes_sent: u64,
    /// WebSocket handshakes completed.
    pub connections: u64,
    /// Logins answered with `login_ok`.
    pub logins: u64,
    /// Connections logged in right now.
    pub active_connections: u64,
    /// Fault frames sent (`bomb_at`, `unknown_dict_at`, `bad_json_at`).
    pub faults_fired: u64,
}

/// Live counters behind [`SimStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub data_frames_sent: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub connections: AtomicU64,
    pub logins: AtomicU64,
    pub active_connections: AtomicU64,
    pub faults_fired: AtomicU64,
}

impl Counters {
    /// Adds one to `counter`.
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Fills the counter part of a snapshot.
    pub(crate) fn fill(&self, stats: &mut SimStats) {
        stats.data_frames_sent = self.data_frames_sent.load(Ordering::Relaxed);
        stats.bytes_sent = self.bytes_sent.load(Ordering::Relaxed);
        stats.connections = self.connections.load(Ordering::Relaxed);
        stats.logins = self.logins.load(Ordering::Relaxed);
        stats.active_connections = self.active_connections.load(Ordering::Relaxed);
        stats.faults_fired = self.faults_fired.load(Ordering::Relaxed);
    }
}
