#!/usr/bin/env bash
# The recording benchmarks (docs/BENCHMARKS.md, "Recordings"):
#  (a) replay speed: `oddsfeed replay` of a zstd-dict recording to /dev/null (msg/s) against
#      `oddsfeed bench decode --corpus` of the same file (frames/s), in interleaved rounds;
#  (b) recording size against the JSON of the same messages, for a json and a zstd-dict
#      recording of the same generated stream (same seed and count).
# The recordings come from unpaced `oddsfeed sim ws --messages N` runs read by
# `oddsfeed ws --once --record FILE`. Needs a release build (`cargo build --release -p oddsfeed-cli`).
#
#   scripts/bench-replay.sh [MESSAGES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."

N="${1:-200000}"
ROUNDS="${2:-5}"
BIN="${ODDSFEED_BIN:-${CARGO_TARGET_DIR:-target}/release/oddsfeed}"
WORK="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }

start_sim() { # port
  "$BIN" sim ws --port "$1" --messages "$N" 2>"$WORK/sim.log" & PIDS+=($!)
  for _ in $(seq 100); do grep -q "listening" "$WORK/sim.log" 2>/dev/null && return; sleep 0.05; done
  echo "the simulator did not start" >&2; exit 1
}

record() { # receive type, file, stdout file
  local port; port="$(free_port)"; start_sim "$port"
  "$BIN" ws --url "ws://127.0.0.1:$port/ws" --api-key k --receive-type "$1" --once \
    --record "$2" > "$3" 2>/dev/null
  kill "${PIDS[-1]}" 2>/dev/null || true
}

record zstd-dict "$WORK/zstd-dict.rec" "$WORK/zstd-dict.jsonl"
record json "$WORK/json.rec" "$WORK/json.jsonl"
lines="$(wc -l < "$WORK/zstd-dict.jsonl")"
echo "messages: $N generated, $lines recorded and printed live (zstd-dict); rounds: $ROUNDS"

# (a) replay vs bench decode, interleaved. The replay's line count is taken once, outside the
# timed runs (which write to /dev/null).
replayed="$("$BIN" replay "$WORK/zstd-dict.rec" --stats-secs 0 2>/dev/null | wc -l)"
: > "$WORK/replay.txt"; : > "$WORK/decode.txt"
for r in $(seq "$ROUNDS"); do
  t0="$(now)"
  "$BIN" replay "$WORK/zstd-dict.rec" --stats-secs 0 > /dev/null 2>&1
  t1="$(now)"
  python3 -c "print(f'{$replayed/($t1-$t0):.0f}')" >> "$WORK/replay.txt"
  "$BIN" bench decode --corpus "$WORK/zstd-dict.rec" --passes 3 \
    | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["frames_per_s"]))' >> "$WORK/decode.txt"
  echo "round $r: replay $(tail -1 "$WORK/replay.txt") msg/s ($replayed lines), bench decode $(tail -1 "$WORK/decode.txt") frames/s"
done
python3 - "$WORK/replay.txt" "$WORK/decode.txt" <<'EOF'
import statistics, sys
rep = [float(x) for x in open(sys.argv[1])]
dec = [float(x) for x in open(sys.argv[2])]
def line(name, xs):
    return f"{name:13} min {min(xs):>9.0f}  median {statistics.median(xs):>9.0f}  max {max(xs):>9.0f}"
print(line("replay", rep))
print(line("bench decode", dec))
ratios = [r / d for r, d in zip(rep, dec)]
print(f"replay / bench decode, per round: min {min(ratios):.0%}  median {statistics.median(ratios):.0%}  "
      f"max {max(ratios):.0%}  (ratio of the medians: {statistics.median(rep) / statistics.median(dec):.0%}; target >= 80%)")
EOF

# (b) sizes.
python3 - "$WORK" <<'EOF'
import os, sys
work = sys.argv[1]
for mode in ("json", "zstd-dict"):
    rec = os.path.getsize(f"{work}/{mode}.rec")
    js = os.path.getsize(f"{work}/{mode}.jsonl")
    n = sum(1 for _ in open(f"{work}/{mode}.jsonl"))
    print(f"{mode:9} recording {rec:>11} bytes, JSON lines {js:>11} bytes ({n} messages): "
          f"recording / JSON = {rec / js:.3f} ({js / rec:.2f}x smaller)")
EOF
