//! `oddsfeed sim img` (not implemented yet).

use std::process::ExitCode;

/// Runs the subcommand.
pub fn run<A>(_args: A) -> ExitCode {
    eprintln!("oddsfeed: `sim img` is not implemented yet");
    ExitCode::from(1)
}
