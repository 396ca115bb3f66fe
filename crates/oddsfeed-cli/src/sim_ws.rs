//! `oddsfeed sim ws`: the OddsPapi-style WebSocket simulator, or (`--write-corpus`) a decode
//! corpus written from the same generator.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use oddsfeed_sim::encode::SimReceiveType;
use oddsfeed_sim::ws::{WsSim, WsSimConfig};

use crate::args::{ReceiveTypeArg, SimWsArgs};
use crate::runtime::{self, Shutdown, announce_listening};

/// Messages `--write-corpus` writes when `--messages` is not given.
const DEFAULT_CORPUS_MESSAGES: u64 = 10_000;

/// Runs the subcommand.
pub fn run(args: SimWsArgs) -> ExitCode {
    if let Some(dir) = &args.write_corpus {
        let messages = args.messages.unwrap_or(DEFAULT_CORPUS_MESSAGES);
        let Ok(messages) = usize::try_from(messages) else {
            eprintln!("oddsfeed: error: --messages {messages} is too large for this machine");
            return ExitCode::from(1);
        };
        let mode = sim_receive_type(args.corpus_mode);
        return match oddsfeed_sim::corpus::write_corpus(dir, mode, messages, args.seed) {
            Ok(summary) => {
                eprintln!(
                    "oddsfeed: wrote {} {} frames ({} bytes on the wire, {} bytes of JSON) to {}",
                    summary.frames,
                    mode.as_str(),
                    summary.bytes_in,
                    summary.bytes_json,
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!(
                    "oddsfeed: error: cannot write the corpus to {}: {e}",
                    dir.display()
                );
                ExitCode::from(1)
            }
        };
    }

    let ip: IpAddr = match args.bind.parse() {
        Ok(ip) => ip,
        Err(e) => {
            eprintln!("oddsfeed: error: --bind {:?}: {e}", args.bind);
            return ExitCode::from(2);
        }
    };
    let sim = match WsSim::bind(SocketAddr::new(ip, args.port), sim_config(&args)) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("oddsfeed: error: cannot start the simulator: {e}");
            return ExitCode::from(1);
        }
    };
    let url = format!("ws://{}/ws", sim.local_addr());
    let serve = async move {
        // SIGINT / SIGTERM stop the simulator cleanly (exit 0).
        let signals = crate::ops::Signals::install();
        announce_listening(url);
        tokio::select! {
            result = sim.run() => result.map_err(|e| format!("simulator failed: {e}")),
            () = signals.wait() => Ok(()),
        }
    };
    match runtime::block_on(serve, Shutdown::Wait).and_then(|r| r) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("oddsfeed: error: {message}");
            ExitCode::from(1)
        }
    }
}

/// The simulator's receive type for a command-line value.
pub(crate) fn sim_receive_type(arg: ReceiveTypeArg) -> SimReceiveType {
    match arg {
        ReceiveTypeArg::Json => SimReceiveType::Json,
        ReceiveTypeArg::Binary => SimReceiveType::Binary,
        ReceiveTypeArg::Zstd => SimReceiveType::Zstd,
        ReceiveTypeArg::ZstdDict => SimReceiveType::ZstdDict,
    }
}

/// The simulator configuration the flags describe.
fn sim_config(args: &SimWsArgs) -> WsSimConfig {
    let mut cfg = WsSimConfig::default();
    cfg.api_key = args.api_key.clone();
    cfg.messages = if args.forever { None } else { args.messages };
    cfg.rate = args.rate;
    cfg.seed = args.seed;
    cfg.no_zstd = args.no_zstd;
    cfg.replay_window_ms = args.replay_window_ms;
    cfg.replay_channels = args.replay_channels.clone();
    cfg.restart_epoch = args.restart_epoch;
    cfg.drop_after = args.drop_after;
    cfg.reconnect_after = args.reconnect_after;
    cfg.bomb_at = args.bomb_at;
    cfg.unknown_dict_at = args.unknown_dict_at;
    cfg.bad_json_at = args.bad_json_at;
    cfg.dense_at = args.dense_at;
    cfg.replay = args.replay.clone();
    cfg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Cli, Command, SimCommand};
    use clap::Parser;

    fn parse(argv: &[&str]) -> SimWsArgs {
        match Cli::try_parse_from(argv) {
            Ok(Cli {
                command: Command::Sim(SimCommand::Ws(args)),
            }) => args,
            other => panic!("unexpected parse result: {other:?}"),
        }
    }

    #[test]
    fn flags_map_onto_the_simulator_config() {
        let args = parse(&[
            "oddsfeed",
            "sim",
            "ws",
            "--port",
            "0",
            "--messages",
            "500",
            "--seed",
            "7",
            "--no-zstd",
            "--replay-channels",
            "odds,scores",
            "--drop-after",
            "40",
            "--bomb-at",
            "3",
            "--dense-at",
            "9",
            "--api-key",
            "K",
        ]);
        let cfg = sim_config(&args);
        assert_eq!(cfg.messages, Some(500));
        assert_eq!(cfg.seed, 7);
        assert!(cfg.no_zstd);
        assert_eq!(cfg.replay_channels, ["odds", "scores"]);
        assert_eq!(cfg.drop_after, Some(40));
        assert_eq!(cfg.bomb_at, Some(3));
        assert_eq!(cfg.dense_at, Some(9));
        assert_eq!(cfg.api_key.as_deref(), Some("K"));
        assert_eq!(cfg.replay_window_ms, 60_000);
        assert_eq!(cfg.replay, None);
        let args = parse(&["oddsfeed", "sim", "ws", "--port", "0", "--replay", "a.rec"]);
        assert_eq!(
            sim_config(&args).replay.as_deref(),
            Some(std::path::Path::new("a.rec"))
        );
    }

    #[test]
    fn default_replay_channels_are_the_vendors() {
        let cfg = sim_config(&parse(&["oddsfeed", "sim", "ws", "--port", "0"]));
        assert_eq!(cfg.replay_channels, ["fixtures", "scores"]);
        assert_eq!(cfg.messages, None);
    }
}
