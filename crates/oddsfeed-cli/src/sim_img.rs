//! `oddsfeed sim img`: the IMG-style newline-JSON simulator over plain TCP, SSH, or one
//! session on stdin/stdout (for a real sshd's `ForceCommand`).
//!
//! Once listening, it prints `listening on ADDR` (one line) to stderr; `--stdio` listens on
//! nothing and prints nothing, so that stdout carries only the protocol.

use std::process::ExitCode;
use std::time::Duration;

use oddsfeed_sim::img::{
    ImgSimConfig, load_authorized_keys, load_host_key, run_ssh, run_stdio, run_tcp,
};
use tokio::net::TcpListener;

use crate::args::SimImgArgs;
use crate::runtime::{self, Shutdown, announce_listening};

/// How the simulator serves.
enum Mode {
    Tcp,
    Ssh,
    Stdio,
}

/// Runs the subcommand.
pub fn run(args: SimImgArgs) -> ExitCode {
    let mode = match (args.tcp, args.ssh, args.stdio) {
        (true, false, false) => Mode::Tcp,
        (false, true, false) => Mode::Ssh,
        (false, false, true) => Mode::Stdio,
        _ => {
            eprintln!("oddsfeed sim img: choose exactly one of --tcp, --ssh and --stdio");
            return ExitCode::from(2);
        }
    };
    let cfg = match sim_config(&args) {
        Ok(cfg) => cfg,
        Err(usage) => {
            eprintln!("oddsfeed sim img: {usage}");
            return ExitCode::from(2);
        }
    };
    // stdin is read on a blocking thread that may never return: do not wait for it.
    let until_signal = async {
        // SIGINT / SIGTERM stop the simulator cleanly (exit 0).
        let signals = crate::ops::Signals::install();
        tokio::select! {
            result = serve(mode, &args, cfg) => result,
            () = signals.wait() => Ok(()),
        }
    };
    match runtime::block_on(until_signal, Shutdown::Background).and_then(|r| r) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("oddsfeed: error: {message}");
            ExitCode::from(1)
        }
    }
}

/// The simulator configuration for the arguments.
fn sim_config(args: &SimImgArgs) -> Result<ImgSimConfig, String> {
    let mut cfg = ImgSimConfig::default();
    cfg.heartbeat_ms = args.heartbeat_ms;
    cfg.messages = if args.forever { None } else { args.messages };
    cfg.seed = args.seed;
    cfg.init_deadline = Duration::from_millis(args.init_deadline_ms);
    cfg.update_interval = Duration::from_millis(args.update_interval_ms);
    cfg.faults.drop_after = args.drop_after;
    cfg.faults.bad_json_at = args.bad_json_at;
    cfg.faults.slow_reader_kick = args.slow_reader_kick;
    cfg.faults.stall_heartbeats_after = match args.stall_heartbeats_after {
        None => None,
        Some(secs) => Some(
            Duration::try_from_secs_f64(secs)
                .map_err(|_| format!("--stall-heartbeats-after {secs}: not a duration"))?,
        ),
    };
    Ok(cfg)
}

async fn serve(mode: Mode, args: &SimImgArgs, cfg: ImgSimConfig) -> Result<(), String> {
    if let Mode::Stdio = mode {
        return run_stdio(cfg)
            .await
            .map_err(|e| format!("stdio session: {e}"));
    }
    // Keys are checked before listening, so a bad file never leaves a port half open.
    let keys = match mode {
        Mode::Ssh => {
            let (Some(host_key), Some(authorized)) = (&args.host_key, &args.authorized_keys) else {
                return Err("--ssh needs --host-key and --authorized-keys".to_owned());
            };
            let host_key = load_host_key(host_key).map_err(|e| e.to_string())?;
            let authorized = load_authorized_keys(authorized).map_err(|e| e.to_string())?;
            Some((host_key, authorized))
        }
        _ => None,
    };
    let port = args.port.unwrap_or(0);
    let listener = TcpListener::bind((args.bind.as_str(), port))
        .await
        .map_err(|e| format!("cannot listen on {}:{port}: {e}", args.bind))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot read the listen address: {e}"))?;
    announce_listening(local);
    let served = match keys {
        Some((host_key, authorized)) => run_ssh(listener, cfg, host_key, authorized).await,
        None => run_tcp(listener, cfg).await,
    };
    served.map_err(|e| format!("listener failed: {e}"))
}
