# Shared set-up of the relay benchmarks (scripts/bench-relay.sh, scripts/cpu-per-message.sh);
# sourced, not run. Reads MESSAGES and ROUNDS from the caller's $1 and $2 and sets N, ROUNDS,
# BIN, WORK and NPORT; starts a local `nats-server -js` (file storage in WORK) as NATS_PID;
# everything started is stopped and WORK removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

N="${1:-100000}"
ROUNDS="${2:-3}"
BIN="${ODDSFEED_BIN:-${CARGO_TARGET_DIR:-target}/release/oddsfeed}"
NATS="$(command -v nats-server || echo /usr/sbin/nats-server)"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_sim() { # port: an unpaced `sim ws --messages N` as SIM, once it listens
  "$BIN" sim ws --port "$1" --messages "$N" 2>"$WORK/sim.log" & SIM=$!; PIDS+=($SIM)
  for _ in $(seq 100); do grep -q "listening" "$WORK/sim.log" 2>/dev/null && return; sleep 0.05; done
}

NPORT="$(free_port)"
"$NATS" -js -sd "$WORK/js" -a 127.0.0.1 -p "$NPORT" >/dev/null 2>&1 & NATS_PID=$!; PIDS+=($NATS_PID)
sleep 0.5
