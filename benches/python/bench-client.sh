#!/usr/bin/env bash
# The Python package's acceptance benchmark: messages/s delivered to Python code by a loop over
# `oddsfeed.WsClient`, the vendor's example loop and a tuned Python loop, side by side against
# fresh unpaced `oddsfeed sim ws --messages N` simulators (benches/python/bench_client.py).
#
# usage: benches/python/bench-client.sh [--messages N] [--rounds R] [--seed S] [--json FILE]
#
# Builds the release `oddsfeed` binary, creates or reuses the bench venv (benches/python/setup.sh:
# zstandard, websockets, orjson), installs the package into it with `pip install
# ./crates/oddsfeed-py` (maturin, release profile), then runs the rounds. The Markdown tables go
# to stdout; progress and versions to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"

cargo build --quiet --release --workspace --bin oddsfeed >&2
python="$(bash "$here/setup.sh" "$target/bench-venv" | tail -n 1)"
"$python" -m pip install --quiet --disable-pip-version-check ./crates/oddsfeed-py >&2
exec "$python" "$here/bench_client.py" --bin "$target/release/oddsfeed" "$@"
