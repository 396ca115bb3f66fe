//! The `oddsfeed` command line: feed clients, simulators, the demo and the decode benchmark.
//! The contract (names, flags, outputs, exit codes) is `shared/CLI.md`.

mod args;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Ws(_)
        | Command::Img(_)
        | Command::Sim(_)
        | Command::Demo(_)
        | Command::Bench(_) => {
            eprintln!("oddsfeed: this subcommand is not implemented yet");
            ExitCode::from(1)
        }
    }
}
