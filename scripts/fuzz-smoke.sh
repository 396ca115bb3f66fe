#!/usr/bin/env bash
# Fuzz smoke test: every cargo-fuzz target under fuzz/ for a short while.
#
#   scripts/fuzz-smoke.sh                      # every target, 20 s each
#   scripts/fuzz-smoke.sh line_decoder model_ws
#   FUZZ_SECONDS=600 scripts/fuzz-smoke.sh     # the long run of docs/RELIABILITY.md
#   FUZZ_FORK=2 scripts/fuzz-smoke.sh session_ws   # two fuzzing processes (libFuzzer -fork)
#
# Steps: install cargo-fuzz if it is missing; build the seed corpora from
# fixtures/ (fuzz/seed.sh); replay the known inputs under fuzz/regressions/;
# run each target with `--sanitizer none` (stable Rust: the sanitizers need
# nightly flags) and debug assertions on, for FUZZ_SECONDS seconds. Fails on
# the first crash, panic, timeout (one input over FUZZ_TIMEOUT seconds) or
# memory blow-up (RSS over FUZZ_RSS_MB); the crashing input is left in
# fuzz/artifacts/<target>/. Prints one summary line per target from
# libFuzzer's final stats (with FUZZ_FORK, from its last status line: no peak RSS).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz_dir="$root/fuzz"
seconds="${FUZZ_SECONDS:-20}"
timeout_s="${FUZZ_TIMEOUT:-10}"
rss_mb="${FUZZ_RSS_MB:-1024}"
log_dir="${FUZZ_LOG_DIR:-$fuzz_dir/target/fuzz-logs}"
fork="${FUZZ_FORK:-1}"

# Per-target libFuzzer options. The session targets read a program of at most 16
# operations (MAX_OPS); 1 KiB holds any such program with fuzzed frames in it, and keeps
# libFuzzer from growing inputs that the target would mostly ignore. (The decoders under
# the sessions are fuzzed at full size by frame_decoder, model_ws and model_img.)
target_opts() {
    case "$1" in
        session_ws | session_img) echo -max_len=1024 ;;
    esac
}

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

cd "$fuzz_dir"
./seed.sh

if [[ $# -gt 0 ]]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

flags=(--sanitizer none --debug-assertions)
cargo fuzz build "${flags[@]}"
mkdir -p "$log_dir"

# Known inputs (past findings) first: each must run clean.
for target in "${targets[@]}"; do
    if compgen -G "regressions/$target/*" >/dev/null; then
        echo "fuzz-smoke: $target: replaying regressions/$target/" >&2
        cargo fuzz run "${flags[@]}" "$target" regressions/"$target"/* -- -runs=1 \
            > "$log_dir/$target.regressions.log" 2>&1 \
            || { tail -n 40 "$log_dir/$target.regressions.log" >&2; exit 1; }
    fi
done

summary=()
for target in "${targets[@]}"; do
    echo "fuzz-smoke: $target: fuzzing for ${seconds} s" >&2
    log="$log_dir/$target.log"
    status=ok
    read -ra opts <<< "$(target_opts "$target")"
    if [[ $fork -gt 1 ]]; then
        opts+=("-fork=$fork")
    fi
    cargo fuzz run "${flags[@]}" "$target" -- \
        -max_total_time="$seconds" -timeout="$timeout_s" -rss_limit_mb="$rss_mb" \
        -print_final_stats=1 "${opts[@]}" > "$log" 2>&1 || status=FAILED
    if [[ $fork -gt 1 ]]; then
        # "#RUNS: cov: .. corp: .. exec/s: .. (of the last job) .. time: SECONDS ..."
        last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -n 1 || true)
        runs=$(sed -E 's/^#([0-9]+):.*/\1/' <<< "$last")
        secs=$(sed -nE 's/.* time: ([0-9]+)s.*/\1/p' <<< "$last")
        rate=$([[ -n $runs && ${secs:-0} -gt 0 ]] && echo $((runs / secs)) || true)
        rss=""
        done_line="-fork=$fork, ${secs:-?} s"
    else
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
        rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
        done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    fi
    line="$target: $status; ${runs:-?} executions (${rate:-?}/s), peak RSS ${rss:-?} MB; ${done_line:-no final line}"
    summary+=("$line")
    if [[ $status != ok ]]; then
        tail -n 60 "$log" >&2
        printf '%s\n' "${summary[@]}"
        echo "fuzz-smoke: $target failed; the input is in fuzz/artifacts/$target/ (log: $log)" >&2
        exit 1
    fi
done

printf '%s\n' "${summary[@]}"
