"""Shared helpers of the pytest suite: the `oddsfeed` binary and its simulators on free
loopback ports (`--port 0`; the address is read from the simulator's `listening on` line).

The binary is `$ODDSFEED_BIN`, else `$CARGO_TARGET_DIR/debug/oddsfeed`, else the workspace's
`target/debug/oddsfeed` (build it with `cargo build -p oddsfeed-cli`). A missing binary is a
failure, not a skip.
"""

import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
API_KEY = "py-test-key"
#: Keys whose values the simulator derives from the wall clock: two simulators with the same
#: seed agree on everything else.
TIME_KEYS = {"ts", "changedAt", "bookmakerChangedAt", "updatedAt", "startTime", "trueStartTime", "trueEndTime"}
#: Guard against a hang; never an assertion about speed.
HANG_GUARD = 60.0


def oddsfeed_bin() -> Path:
    explicit = os.environ.get("ODDSFEED_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / "oddsfeed"


@pytest.fixture(scope="session")
def bin_path() -> Path:
    path = oddsfeed_bin()
    if not path.is_file():
        pytest.fail(f"{path} is missing: run `cargo build -p oddsfeed-cli` first (or set ODDSFEED_BIN)")
    return path


class Sim:
    """A running `oddsfeed sim ws|img` process; stderr is collected by a thread."""

    def __init__(self, bin_path: Path, args):
        self.proc = subprocess.Popen(
            [str(bin_path), "sim", *args, "--port", "0"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines = []
        self.ready = threading.Event()
        self.addr = None
        threading.Thread(target=self._read, daemon=True).start()
        if not self.ready.wait(HANG_GUARD) or self.addr is None:
            self.stop()
            raise RuntimeError("simulator did not start: " + "".join(self.lines[-20:]))

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)
            if self.addr is None and line.startswith("listening on "):
                self.addr = line[len("listening on ") :].strip()
                self.ready.set()
        self.ready.set()

    @property
    def url(self) -> str:
        return self.addr

    @property
    def host_port(self) -> str:
        return self.addr.split("://", 1)[-1].split("/", 1)[0]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def sim(bin_path):
    """`sim(kind, *args)` starts a simulator, stopped at the end of the test."""
    started = []

    def start(kind, *args):
        s = Sim(bin_path, [kind, *args])
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


def cli_lines(bin_path: Path, args, timeout=HANG_GUARD):
    """Runs the CLI to completion; returns its stdout lines parsed with `json.loads`."""
    done = subprocess.run(
        [str(bin_path), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-2000:]}"
    return [json.loads(line) for line in done.stdout.splitlines()]


def cli_stats_event(bin_path: Path, args, timeout=HANG_GUARD):
    """Runs the CLI to completion with `--events jsonl`; returns (stdout lines parsed, the last
    `stats` event without its `event` and `ts` keys)."""
    done = subprocess.run(
        [str(bin_path), *args, "--events", "jsonl"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stderr[-2000:]}"
    events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    stats = [e for e in events if e.get("event") == "stats"]
    assert stats, f"no stats event in {[e.get('event') for e in events]}"
    last = dict(stats[-1])
    del last["event"], last["ts"]
    return [json.loads(line) for line in done.stdout.splitlines()], last


def normalize(value):
    """The message with wall-clock values masked (see TIME_KEYS) and entryIds reduced to their
    sequence part (`<ms>-<seq>`)."""
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            if key == "entryId" and isinstance(v, str) and "-" in v:
                out[key] = "*-" + v.split("-", 1)[1]
            elif key in TIME_KEYS and v is not None:
                out[key] = "<time>"
            else:
                out[key] = normalize(v)
        return out
    if isinstance(value, list):
        return [normalize(v) for v in value]
    return value
