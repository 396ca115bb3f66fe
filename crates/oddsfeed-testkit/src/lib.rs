//! Test support shared by the workspace's integration tests (a dev-dependency only; nothing
//! here ships).
//!
//! - [`require`]: what a test does when a tool it needs (OpenSSH, Python, nats-server,
//!   `/proc`) is missing. It skips with a printed reason, unless the tool's
//!   `ODDSFEED_REQUIRE_<TOOL>` variable is set, and then it fails. `.ci/run` sets them all, so
//!   no test can pass in CI without having run.
//! - `keys` (feature `ssh-keys`): SSH keys generated in-process (no `ssh-keygen`), written as
//!   OpenSSH files.

#[cfg(feature = "ssh-keys")]
pub mod keys;
pub mod require;

pub use require::{Tool, missing};
