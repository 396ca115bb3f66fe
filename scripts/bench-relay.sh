#!/usr/bin/env bash
# The relay benchmark (docs/BENCHMARKS.md, "NATS relay"): msg/s of `oddsfeed ws > /dev/null`
# and of `oddsfeed relay` into a local JetStream (file storage), each from its own unpaced
# `oddsfeed sim ws --messages N`, in interleaved rounds. Each round relays twice: into a
# nats-server with Go's default scheduler, and into one with GOMAXPROCS=1 (see
# relay-bench-common.sh); each relay rate is also given as a fraction of the round's `ws` rate.
# Then `oddsfeed nats-tail` reads the first server's stream back. Each round has servers of its
# own (relay-bench-common.sh says why). Needs nats-server and a release build (`cargo build --release -p oddsfeed-cli`).
#
#   scripts/bench-relay.sh [MESSAGES] [ROUNDS]
source "$(dirname "$0")/relay-bench-common.sh"
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1/($3-$2):.0f}')"; }
ratio() { python3 -c "print(f'{$1/$2:.2f}')"; }
relay_rate() { # label nats-port stream: one relay run; prints its line, sets RATE
  local p; p="$(free_port)"; start_sim "$p"
  local t0 t1; t0="$(now)"
  "$BIN" relay --url "ws://127.0.0.1:$p/ws" --api-key k --nats "nats://127.0.0.1:$2" \
    --stream "$3" --subject-prefix "${3,,}" --limit "$N" 2>/dev/null
  t1="$(now)"; kill "$SIM" 2>/dev/null || true
  RATE="$(rate "$N" "$t0" "$t1")"
  RATIO="$(ratio "$RATE" "$WS")"
  echo "round $r $1 $RATE msg/s ($RATIO of ws)"
}
median() { python3 -c "import statistics, sys; v = sorted(map(float, sys.argv[1:])); print(f'{statistics.median(v):.2f} ({v[0]:.2f}-{v[-1]:.2f})')" "$@"; }
DEFAULT_RATIOS=(); ONE_RATIOS=()

echo "messages per run: $N; rounds: $ROUNDS; $NATS_VERSION; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  P="$(free_port)"; start_sim "$P"
  t0="$(now)"
  "$BIN" ws --url "ws://127.0.0.1:$P/ws" --api-key k --limit "$N" > /dev/null 2>/dev/null
  t1="$(now)"; kill "$SIM" 2>/dev/null || true
  WS="$(rate "$N" "$t0" "$t1")"
  echo "round $r ws:                   $WS msg/s"
  start_servers
  relay_rate "relay:               " "$NPORT" "BENCH$r"; DEFAULT_RATIOS+=("$RATIO")
  relay_rate "relay, GOMAXPROCS=1: " "$NPORT1" "ONE$r"; ONE_RATIOS+=("$RATIO")
  t0="$(now)"
  lines="$("$BIN" nats-tail --nats "nats://127.0.0.1:$NPORT" --stream "BENCH$r" --no-follow 2>/dev/null | wc -l)"
  t1="$(now)"
  echo "round $r nats-tail:            $lines lines, $(rate "$lines" "$t0" "$t1") msg/s"
  stop_servers
done
echo "relay / ws, median (range): default $(median "${DEFAULT_RATIOS[@]}"), GOMAXPROCS=1 $(median "${ONE_RATIOS[@]}")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
