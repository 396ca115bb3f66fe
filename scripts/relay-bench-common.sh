# Shared set-up of the relay benchmarks (scripts/bench-relay.sh, scripts/cpu-per-message.sh);
# sourced, not run. Reads MESSAGES and ROUNDS from the caller's $1 and $2 and sets N, ROUNDS,
# BIN and WORK. `start_servers` starts two local `nats-server -js` (file storage under WORK):
# NATS_PID on NPORT with Go's default scheduler (one processor per core), and NATS1_PID on NPORT1
# with GOMAXPROCS=1 (the setting docs/RELAY.md, "Sizing", gives for a server that shares a small
# machine with the relay); `stop_servers` stops them and deletes their stores. The scripts do
# both once per round, so that no round pays for the kernel writing back an earlier round's
# stream files (a round writes about 130 MB per server; the kernel writes dirty pages back after
# about 30 s). NATS_SERVER picks the nats-server binary (default: the one on PATH). Everything
# started is stopped and WORK removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N="${1:-100000}"
ROUNDS="${2:-3}"
BIN="${ODDSFEED_BIN:-${CARGO_TARGET_DIR:-target}/release/oddsfeed}"
NATS="${NATS_SERVER:-$(command -v nats-server || echo /usr/sbin/nats-server)}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { # stop everything started, wait until it has exited, then remove its files
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_sim() { # port: an unpaced `sim ws --messages N` as SIM, once it listens
  "$BIN" sim ws --port "$1" --messages "$N" 2>"$WORK/sim.log" & SIM=$!; PIDS+=($SIM)
  for _ in $(seq 100); do grep -q "listening" "$WORK/sim.log" 2>/dev/null && return; sleep 0.05; done
}

start_nats() { # store-dir [VAR=value...]: a nats-server on a free port; sets STARTED_PID, STARTED_PORT
  local dir="$1"; shift
  STARTED_PORT="$(free_port)"
  env -u GOMAXPROCS "$@" "$NATS" -js -sd "$WORK/$dir" -a 127.0.0.1 -p "$STARTED_PORT" >/dev/null 2>&1 &
  STARTED_PID=$!; PIDS+=($STARTED_PID)
}
start_servers() {
  start_nats js; NATS_PID=$STARTED_PID; NPORT=$STARTED_PORT
  start_nats js1 GOMAXPROCS=1; NATS1_PID=$STARTED_PID; NPORT1=$STARTED_PORT
  sleep 0.5
}
stop_servers() {
  kill "$NATS_PID" "$NATS1_PID" 2>/dev/null || true
  wait "$NATS_PID" "$NATS1_PID" 2>/dev/null || true
  rm -rf "$WORK/js" "$WORK/js1"
}
NATS_VERSION="$("$NATS" --version)"
