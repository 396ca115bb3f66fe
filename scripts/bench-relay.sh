#!/usr/bin/env bash
# The relay benchmark (docs/BENCHMARKS.md, "NATS relay"): msg/s of `oddsfeed ws > /dev/null`
# and of `oddsfeed relay` into a local JetStream (file storage), each from its own unpaced
# `oddsfeed sim ws --messages N`, in interleaved rounds; then `oddsfeed nats-tail` reading the
# stream back. Needs nats-server and a release build (`cargo build --release -p oddsfeed-cli`).
#
#   scripts/bench-relay.sh [MESSAGES] [ROUNDS]
source "$(dirname "$0")/relay-bench-common.sh"
now() { date +%s.%N; }
rate() { python3 -c "print(f'{$1/($3-$2):.0f}')"; }

echo "messages per run: $N; rounds: $ROUNDS"
for r in $(seq "$ROUNDS"); do
  P="$(free_port)"; start_sim "$P"
  t0="$(now)"
  "$BIN" ws --url "ws://127.0.0.1:$P/ws" --api-key k --limit "$N" > /dev/null 2>/dev/null
  t1="$(now)"; kill "$SIM" 2>/dev/null || true
  echo "round $r ws:    $(rate "$N" "$t0" "$t1") msg/s"

  P="$(free_port)"; start_sim "$P"
  t0="$(now)"
  "$BIN" relay --url "ws://127.0.0.1:$P/ws" --api-key k --nats "nats://127.0.0.1:$NPORT" \
    --stream "BENCH$r" --subject-prefix "bench$r" --limit "$N" 2>/dev/null
  t1="$(now)"; kill "$SIM" 2>/dev/null || true
  echo "round $r relay: $(rate "$N" "$t0" "$t1") msg/s"
done
for r in $(seq "$ROUNDS"); do
  t0="$(now)"
  lines="$("$BIN" nats-tail --nats "nats://127.0.0.1:$NPORT" --stream "BENCH$r" --no-follow 2>/dev/null | wc -l)"
  t1="$(now)"
  echo "round $r nats-tail: $lines lines, $(rate "$lines" "$t0" "$t1") msg/s"
done
