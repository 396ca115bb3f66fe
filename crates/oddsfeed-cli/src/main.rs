//! The `oddsfeed` command line: feed clients, simulators, the demo and the decode benchmark.
//! The contract (names, flags, outputs, exit codes) is `docs/CLI.md`.

mod args;
mod bench;
mod demo;
mod exit;
mod img;
mod nats_tail;
mod ops;
#[allow(dead_code)]
mod output;
mod relay;
mod replay;
mod runtime;
mod sim;
mod sim_img;
mod sim_ws;
mod ws;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // RUST_LOG is honoured by every subcommand (wire libraries capped so no key can show).
    output::init_tracing();
    match cli.command {
        Command::Ws(args) => ws::run(args),
        Command::Img(args) => img::run(args),
        Command::Sim(cmd) => sim::run(cmd),
        Command::Demo(args) => demo::run(args),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Replay(args) => replay::run(args),
        Command::Relay(args) => relay::run(args),
        Command::NatsTail(args) => nats_tail::run(args),
    }
}
