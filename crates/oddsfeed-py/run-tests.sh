#!/usr/bin/env bash
# Builds the `oddsfeed` Python package into a virtual environment and runs its pytest suite
# (crates/oddsfeed-py/tests) against the debug `oddsfeed` binary's simulators.
#
# usage: crates/oddsfeed-py/run-tests.sh [pytest args...]
#
# - The venv is $CARGO_TARGET_DIR/py-venv (default target/py-venv), created with
#   `python3 -m venv` and reused.
# - The package is installed with `pip install ./crates/oddsfeed-py`, built by maturin with the
#   dev profile into the workspace's target directory, with the `workspace-build` feature (see
#   its Cargo.toml), so the dependencies `cargo test --workspace` compiled are reused: only pyo3
#   and the extension itself are compiled (about 15 s instead of three minutes from cold).
# - Without python3, venv or pip the suite is skipped with a printed reason, unless
#   ODDSFEED_REQUIRE_PYTHON=1, which turns that into a failure. pytest's exit code 5 (no tests
#   collected) is a failure.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
export CARGO_TARGET_DIR="$target"
venv="$target/py-venv"

unavailable() {
  if [ "${ODDSFEED_REQUIRE_PYTHON:-}" = 1 ]; then
    echo "FAILED: python package tests: $1 (ODDSFEED_REQUIRE_PYTHON=1)" >&2
    exit 1
  fi
  echo "SKIPPED: python package tests: $1"
  exit 0
}

python="${PYTHON:-python3}"
command -v "$python" >/dev/null 2>&1 || unavailable "$python not found"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" >/dev/null 2>&1 || { rm -rf "$venv"; unavailable "\`$python -m venv\` failed (install python3-venv)"; }
fi
"$venv/bin/python" -m pip --version >/dev/null 2>&1 || unavailable "pip is missing in the venv"

# The binary whose simulators the tests start. `cargo test --no-run` builds it as `cargo test
# --workspace` does (a no-op after it); `cargo build` would rebuild every crate whose features
# differ without the dev-dependencies (a minute from cold).
cargo test --quiet --workspace --no-run

echo "== pip install ./crates/oddsfeed-py (maturin, dev profile, target $target)"
MATURIN_PEP517_ARGS="--profile dev --features workspace-build" \
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
  ./crates/oddsfeed-py "pytest>=7"

echo "== pytest crates/oddsfeed-py/tests"
set +e
ODDSFEED_BIN="$target/debug/oddsfeed" "$venv/bin/python" -m pytest -q -p no:cacheprovider \
  crates/oddsfeed-py/tests "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "FAILED: pytest collected no tests" >&2
  exit 1
fi
exit "$status"
