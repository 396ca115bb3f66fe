//! `oddsfeed bench` (not implemented yet).

use std::process::ExitCode;

/// Runs the subcommand.
pub fn run<A>(_args: A) -> ExitCode {
    eprintln!("oddsfeed: `bench` is not implemented yet");
    ExitCode::from(1)
}
