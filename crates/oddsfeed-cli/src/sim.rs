//! `oddsfeed sim ws` and `oddsfeed sim img`.

use std::process::ExitCode;

use crate::args::SimCommand;

/// Runs the chosen simulator.
pub fn run(cmd: SimCommand) -> ExitCode {
    match cmd {
        SimCommand::Ws(args) => crate::sim_ws::run(args),
        SimCommand::Img(args) => crate::sim_img::run(args),
    }
}
