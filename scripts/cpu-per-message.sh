#!/usr/bin/env bash
# CPU per message (user + system, /usr/bin/time) of `oddsfeed ws > /dev/null` and of
# `oddsfeed relay` into a local JetStream (file storage), each from its own unpaced
# `oddsfeed sim ws --messages N`; nats-server's and the simulators' CPU from /proc/<pid>/stat.
# The relay runs twice per round: into a nats-server with Go's default scheduler and into one
# with GOMAXPROCS=1, fresh for each round (see relay-bench-common.sh).
# Less sensitive to a loaded machine than msg/s (docs/BENCHMARKS.md, "NATS relay").
#
#   scripts/cpu-per-message.sh [MESSAGES] [ROUNDS]
source "$(dirname "$0")/relay-bench-common.sh"
# user + system clock ticks of a live process
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
us_per() { python3 -c "print(f'{$1 * 1e6 / $2:.1f}')"; }
timed() { # command...: prints user+system seconds
  /usr/bin/time -f "%U %S" -o "$WORK/time" "$@" > /dev/null 2>/dev/null
  awk '{print $1 + $2}' "$WORK/time"
}
HZ="$(getconf CLK_TCK)"

echo "messages per run: $N; rounds: $ROUNDS; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  P="$(free_port)"; start_sim "$P"; s0="$(ticks "$SIM")"
  cpu="$(timed "$BIN" ws --url "ws://127.0.0.1:$P/ws" --api-key k --limit "$N")"
  s1="$(ticks "$SIM")"; kill "$SIM" 2>/dev/null || true
  echo "round $r ws:                   $(us_per "$cpu" "$N") µs/msg (sim $(us_per "($s1-$s0)/$HZ" "$N"))"

  start_servers
  for server in "$NATS_PID $NPORT relay:              " "$NATS1_PID $NPORT1 relay, GOMAXPROCS=1:"; do
    read -r npid nport label <<< "$server"
    P="$(free_port)"; start_sim "$P"; s0="$(ticks "$SIM")"; n0="$(ticks "$npid")"
    cpu="$(timed "$BIN" relay --url "ws://127.0.0.1:$P/ws" --api-key k --nats "nats://127.0.0.1:$nport" \
      --stream "CPU$r$nport" --subject-prefix "cpu$r$nport" --limit "$N")"
    s1="$(ticks "$SIM")"; n1="$(ticks "$npid")"; kill "$SIM" 2>/dev/null || true
    printf 'round %s %-22s' "$r" "$label"; echo "$(us_per "$cpu" "$N") µs/msg (sim $(us_per "($s1-$s0)/$HZ" "$N"), nats-server $(us_per "($n1-$n0)/$HZ" "$N"))"
  done
  stop_servers
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
