//! Skips that cannot pass silently in CI.
//!
//! A test that needs an outside tool calls [`missing`] when the tool is absent and returns:
//!
//! ```no_run
//! use oddsfeed_testkit::{Tool, missing};
//!
//! #[test]
//! fn reads_the_feed_through_a_real_sshd() {
//!     if !std::path::Path::new("/usr/sbin/sshd").exists() {
//!         // Prints `SKIPPED: ...`; panics instead when ODDSFEED_REQUIRE_SSHD is set.
//!         missing(Tool::Sshd, "no /usr/sbin/sshd (apt-get install openssh-server)");
//!         return;
//!     }
//!     // ... the test proper
//! }
//! ```

use std::fmt;

/// An outside tool some tests need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Tool {
    /// OpenSSH's server `/usr/sbin/sshd` (Debian: openssh-server).
    Sshd,
    /// OpenSSH's client programs `ssh` and `ssh-keygen` (Debian: openssh-client).
    SshClient,
    /// `python3` with `venv` and a `pip` that can install a local package (Debian:
    /// python3-venv).
    Python,
    /// `nats-server` (Debian: nats-server).
    Nats,
    /// Linux `/proc/self/status` and `/proc/self/clear_refs` (peak-memory checks).
    Procfs,
}

impl Tool {
    /// Every tool, for listing the variables.
    pub const ALL: [Tool; 5] = [
        Tool::Sshd,
        Tool::SshClient,
        Tool::Python,
        Tool::Nats,
        Tool::Procfs,
    ];

    /// The environment variable that turns a skip for this tool into a failure.
    #[must_use]
    pub fn variable(self) -> &'static str {
        match self {
            Tool::Sshd => "ODDSFEED_REQUIRE_SSHD",
            Tool::SshClient => "ODDSFEED_REQUIRE_SSH",
            Tool::Python => "ODDSFEED_REQUIRE_PYTHON",
            Tool::Nats => "ODDSFEED_REQUIRE_NATS",
            Tool::Procfs => "ODDSFEED_REQUIRE_PROCFS",
        }
    }

    /// Whether the variable is set to anything but empty or `0`.
    #[must_use]
    pub fn is_required(self) -> bool {
        is_set(std::env::var_os(self.variable()).as_deref())
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Tool::Sshd => "sshd",
            Tool::SshClient => "the OpenSSH client",
            Tool::Python => "python3 with venv and pip",
            Tool::Nats => "nats-server",
            Tool::Procfs => "/proc",
        })
    }
}

fn is_set(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// The test cannot run because `tool` is missing (`why` says how it was found missing and
/// how to install it). Prints `SKIPPED: <why>` and returns, so the caller can return too;
/// when the tool's variable is set, panics with the same text instead.
///
/// # Panics
///
/// When [`Tool::is_required`].
pub fn missing(tool: Tool, why: impl fmt::Display) {
    skip_or_fail(tool.is_required(), tool, &why.to_string());
}

fn skip_or_fail(required: bool, tool: Tool, why: &str) {
    let text = format!("{tool} is missing: {why}");
    assert!(
        !required,
        "{text} ({} is set, so this test may not skip)",
        tool.variable()
    );
    println!(
        "SKIPPED: {text} (set {} to make this fail)",
        tool.variable()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn a_variable_counts_when_set_to_anything_but_empty_or_zero() {
        assert!(!is_set(None));
        assert!(!is_set(Some(OsStr::new(""))));
        assert!(!is_set(Some(OsStr::new("0"))));
        assert!(is_set(Some(OsStr::new("1"))));
        assert!(is_set(Some(OsStr::new("yes"))));
    }

    #[test]
    fn every_tool_has_its_own_variable() {
        let mut names: Vec<&str> = Tool::ALL.iter().map(|t| t.variable()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Tool::ALL.len());
        assert!(names.iter().all(|n| n.starts_with("ODDSFEED_REQUIRE_")));
    }

    #[test]
    fn a_skip_fails_when_required_and_passes_when_not() {
        // The environment is left alone: other tests in this process read it.
        let required = std::panic::catch_unwind(|| {
            skip_or_fail(true, Tool::Nats, "nats-server not on PATH");
        });
        let message = required
            .err()
            .and_then(|p| p.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        assert!(
            message.contains("nats-server is missing: nats-server not on PATH")
                && message.contains("ODDSFEED_REQUIRE_NATS is set"),
            "{message}"
        );
        assert!(std::panic::catch_unwind(|| skip_or_fail(false, Tool::Nats, "x")).is_ok());
    }
}
