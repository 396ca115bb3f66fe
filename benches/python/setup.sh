#!/usr/bin/env bash
# Creates the Python virtual environment for the decode comparison (benches/python/*.py) and
# installs the vendor's decoder dependencies from PyPI with pip:
#   zstandard 0.25.0 and websockets 17.4 (the versions of the vendor's example), orjson (tuned loop).
#
# usage: benches/python/setup.sh [VENV_DIR]      (default: target/bench-venv)
# Prints the venv's python path on its last line. Safe to run again: an existing venv with the
# right packages is reused.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="${1:-${ODDSFEED_BENCH_VENV:-$root/target/bench-venv}}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c 'import zstandard, orjson, websockets; assert zstandard.__version__ == "0.25.0"' 2>/dev/null; then
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    -r "$here/requirements.txt" >&2
fi
"$venv/bin/python" -c 'import sys, zstandard, orjson, websockets
print(f"python {sys.version.split()[0]}, zstandard {zstandard.__version__} ({zstandard.backend} backend), orjson {orjson.__version__}, websockets {websockets.__version__}", file=sys.stderr)'
echo "$venv/bin/python"
