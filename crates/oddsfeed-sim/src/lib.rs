//! Simulators for both odds feeds, with fault injection, usable from tests,
//! benchmarks and the `oddsfeed sim` command.
//!
//! - `ws`: the WebSocket simulator (docs/PROTOCOL.md Part B), and `img`: the IMG
//!   newline-JSON simulator (Part A). These do the networking.
//!
//! The WebSocket simulator is built on sans-IO pieces that never read a clock
//! and never touch a socket, also usable on their own (benchmarks, fixtures):
//!
//! - [`ws_gen`]: a seeded, deterministic generator of realistic data messages
//!   (`odds`, `fixtures`, `bookmakers`, `scores`, `clocks`) with strictly
//!   increasing entryIds per channel. The caller supplies the time.
//! - [`dicts`]: the three trained zstd dictionaries (`odds`, `fixtures`,
//!   `bookmakers`) embedded from the crate's `dicts/` folder, with fixed dictionary ids.
//! - [`encode`]: turns one JSON message into the frame a given receive type puts
//!   on the wire (text JSON, one MessagePack map, one zstd frame with or without
//!   a dictionary), plus the `dict` control frame and the fault frames of
//!   docs/PROTOCOL.md B.13 (zstd bomb, unknown dictId, bad JSON).
//! - [`corpus`]: writes a decode-benchmark corpus in the layout `docs/CLI.md`
//!   describes for `oddsfeed bench decode`.

pub mod corpus;
pub mod dicts;
pub mod encode;
pub mod img;
pub mod ws;
pub mod ws_gen;

/// Everything that can go wrong in the simulator crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A receive type name that is none of `json`, `binary`, `zstd`, `zstd-dict`.
    #[error("unknown receive type {0:?} (expected json, binary, zstd or zstd-dict)")]
    UnknownReceiveType(String),
    /// A channel restriction that leaves no channel the generator produces.
    #[error(
        "no known channel among {requested:?} (known: odds, fixtures, bookmakers, scores, clocks)"
    )]
    NoChannels {
        /// The channel names that were asked for.
        requested: Vec<String>,
    },
    /// The JSON handed to an encoder could not be parsed (only the `binary`
    /// mode parses it, to re-encode it as MessagePack).
    #[error("message is not valid JSON: {reason}")]
    InvalidJson {
        /// The parser's description of the problem.
        reason: String,
    },
    /// Bytes that should be a zstd dictionary are not one.
    #[error("not a zstd dictionary: {reason}")]
    InvalidDict {
        /// What is wrong with the bytes.
        reason: &'static str,
    },
    /// libzstd refused an operation (context creation, a parameter, compression).
    #[error("zstd {op} failed: {reason}")]
    Zstd {
        /// The operation that failed.
        op: &'static str,
        /// libzstd's error name.
        reason: &'static str,
    },
    /// Writing MessagePack failed.
    #[error("MessagePack encoding failed: {0}")]
    MsgPack(String),
}

impl SimError {
    /// Whether the simulator cannot carry on after this error.
    ///
    /// A message that cannot be encoded ([`SimError::InvalidJson`]) is only
    /// that message's problem: skip it. Bad configuration, an unusable
    /// dictionary or a failing compressor are fatal: every later frame would
    /// fail the same way.
    #[must_use]
    pub fn is_fatal(&self) -> bool {
        !matches!(self, SimError::InvalidJson { .. })
    }

    /// Builds a [`SimError::Zstd`] from a libzstd error code.
    pub(crate) fn zstd(op: &'static str, code: usize) -> Self {
        SimError::Zstd {
            op,
            reason: zstd_safe::get_error_name(code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SimError;

    #[test]
    fn only_invalid_json_is_recoverable() {
        let skip = SimError::InvalidJson {
            reason: "eof".into(),
        };
        assert!(!skip.is_fatal());
        assert!(SimError::UnknownReceiveType("gzip".into()).is_fatal());
        assert!(
            SimError::InvalidDict {
                reason: "bad magic"
            }
            .is_fatal()
        );
    }

    #[test]
    fn display_names_the_problem() {
        assert_eq!(
            SimError::UnknownReceiveType("gzip".into()).to_string(),
            "unknown receive type \"gzip\" (expected json, binary, zstd or zstd-dict)"
        );
        assert_eq!(
            SimError::Zstd {
                op: "compress",
                reason: "Destination buffer is too small"
            }
            .to_string(),
            "zstd compress failed: Destination buffer is too small"
        );
    }

    #[test]
    fn error_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<SimError>();
    }
}
