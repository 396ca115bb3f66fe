//! `oddsfeed sim ws` (not implemented yet).

use std::process::ExitCode;

/// Runs the subcommand.
pub fn run<A>(_args: A) -> ExitCode {
    eprintln!("oddsfeed: `sim ws` is not implemented yet");
    ExitCode::from(1)
}
