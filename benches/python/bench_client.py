"""Messages/s delivered to Python code by three WebSocket clients of `oddsfeed sim ws`, side by
side: the `oddsfeed` package's WsClient, the vendor's example loop and a tuned Python loop.

usage: python bench_client.py --bin target/release/oddsfeed [--messages N] [--rounds R]
                              [--seed S] [--loops oddsfeed,vendor,tuned,tuned-sync] [--json FILE]

Every run gets a fresh, unpaced `oddsfeed sim ws --messages N` (zstd-dict, all five channels)
and a fresh Python process that connects, logs in, and reads every data message until the
simulator closes the connection after N of them; for each message the loop reads `channel`
and `entryId` (the vendor's example prints them; printing is left out). The time runs from
just before connecting to the end of the stream. Rounds are interleaved and the order rotates
each round; ratios are taken within a round. A run that did not receive exactly N messages is
an error, so every loop did the same work.

The client CPU column is the Python process's user + system time (all its threads) per message.

The loops (`--run LOOP --url URL` runs one, printing one JSON line):
- oddsfeed: `for msg in oddsfeed.WsClient(url, key, receive_type="zstd-dict", once=True)`.
- vendor: the vendor's example (asyncio + websockets, `json.loads` of the control frames, the
  dictionary store by dictId, `ZstdDecompressor.decompress(frame, max_output_size=64 MiB)`,
  `json.loads`), as tests/python/vendor_zstd_dict.py runs it, without its prints.
- tuned: the vendor's loop with its decoding costs taken out (as benches/python/tuned_loop.py):
  one reused decompressor per dictionary with a 1 MiB first-try output bound (retry at
  64 MiB), `orjson.loads`; websockets' asyncio client without permessage-deflate.
- tuned-sync: the same decoding on websockets' threaded synchronous client (`recv()` in a
  plain loop, no event loop); neither client is clearly faster than the other here, so both run.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

KEY = "bench-python-key"
CHANNELS = ["odds", "fixtures", "bookmakers", "scores", "clocks"]
MAX_OUT = 64 * 1024 * 1024  # the vendor's bound: frames carry no content size
FIRST_TRY = 1 << 20  # tuned: bigger than any ordinary message
LOOPS = ("oddsfeed", "vendor", "tuned", "tuned-sync")
LABELS = {
    "oddsfeed": "`oddsfeed.WsClient` loop",
    "vendor": "vendor example loop (websockets asyncio, zstandard 64 MiB bound, json)",
    "tuned": "tuned loop (websockets asyncio, reused zstandard, orjson)",
    "tuned-sync": "tuned loop (websockets sync client, reused zstandard, orjson)",
}
#: Targets of oddsfeed's ratio to each other loop.
TARGETS = {"vendor": 3.0, "tuned": 1.2, "tuned-sync": 1.2}


def login(receive_type="zstd-dict"):
    return json.dumps(
        {"type": "login", "apiKey": KEY, "channels": CHANNELS, "receiveType": receive_type}
    )


# ---- the loops -----------------------------------------------------------------------------


def run_oddsfeed(url):
    import oddsfeed

    n = 0
    start = time.perf_counter()
    client = oddsfeed.WsClient(url, KEY, channels=CHANNELS, receive_type="zstd-dict", once=True)
    for msg in client:
        msg.get("channel"), msg.get("entryId")
        n += 1
    elapsed = time.perf_counter() - start
    client.close()
    return n, elapsed


def run_vendor(url):
    import asyncio
    import base64

    import websockets
    import zstandard as zstd

    dctx = zstd.ZstdDecompressor()
    store = {}

    async def main():
        n = 0
        async with websockets.connect(url, max_size=4194304) as ws:
            await ws.send(login())
            async for raw in ws:
                if isinstance(raw, str):  # control (JSON)
                    msg = json.loads(raw)
                    if msg.get("type") == "login_ok" and msg.get("receiveType") != "zstd-dict":
                        print("zstd disabled here, negotiated:", msg.get("receiveType"), file=sys.stderr)
                    if msg.get("type") == "dict":
                        d = zstd.ZstdCompressionDict(base64.b64decode(msg["data"]))
                        store[msg["dictId"]] = zstd.ZstdDecompressor(dict_data=d)
                    continue
                frame_dctx = store.get(zstd.get_frame_parameters(raw).dict_id, dctx)
                data = json.loads(frame_dctx.decompress(raw, max_output_size=MAX_OUT))
                data.get("channel"), data.get("entryId")
                n += 1
        return n

    start = time.perf_counter()
    n = asyncio.run(main())
    return n, time.perf_counter() - start


class TunedDecoder:
    """The tuned loops' decoding: reused decompressors by dictId, a 1 MiB first-try bound,
    orjson."""

    def __init__(self):
        import orjson
        import zstandard as zstd

        self.zstd = zstd
        self.plain = zstd.ZstdDecompressor()
        self.store = {}

    def control(self, raw):
        import base64

        import orjson

        msg = orjson.loads(raw)
        if msg.get("type") == "dict":
            d = self.zstd.ZstdCompressionDict(base64.b64decode(msg["data"]))
            self.store[msg["dictId"]] = self.zstd.ZstdDecompressor(dict_data=d)

    def data_loop(self):
        """A function frame -> message, with everything it uses bound to locals."""
        import orjson

        get = self.store.get
        plain = self.plain
        frame_params = self.zstd.get_frame_parameters
        loads = orjson.loads
        ZstdError = self.zstd.ZstdError

        def decode(raw):
            d = get(frame_params(raw).dict_id, plain)
            try:
                text = d.decompress(raw, max_output_size=FIRST_TRY)
            except ZstdError:
                text = d.decompress(raw, max_output_size=MAX_OUT)
            return loads(text)

        return decode


def run_tuned(url):
    import asyncio

    import websockets

    dec = TunedDecoder()
    decode = dec.data_loop()

    async def main():
        n = 0
        async with websockets.connect(url, max_size=4194304, compression=None) as ws:
            await ws.send(login())
            async for raw in ws:
                if type(raw) is str:  # control (JSON)
                    dec.control(raw)
                    continue
                data = decode(raw)
                data.get("channel"), data.get("entryId")
                n += 1
        return n

    start = time.perf_counter()
    n = asyncio.run(main())
    return n, time.perf_counter() - start


def run_tuned_sync(url):
    from websockets.exceptions import ConnectionClosedOK
    from websockets.sync.client import connect

    dec = TunedDecoder()
    decode = dec.data_loop()
    n = 0
    start = time.perf_counter()
    with connect(url, max_size=4194304, compression=None) as ws:
        ws.send(login())
        recv = ws.recv
        while True:
            try:
                raw = recv()
            except ConnectionClosedOK:
                break
            if type(raw) is str:  # control (JSON)
                dec.control(raw)
                continue
            data = decode(raw)
            data.get("channel"), data.get("entryId")
            n += 1
    return n, time.perf_counter() - start


RUNNERS = {"oddsfeed": run_oddsfeed, "vendor": run_vendor, "tuned": run_tuned, "tuned-sync": run_tuned_sync}


# ---- the driver ----------------------------------------------------------------------------


class Sim:
    """A fresh `oddsfeed sim ws` on a free port."""

    def __init__(self, binary, messages, seed):
        self.proc = subprocess.Popen(
            [binary, "sim", "ws", "--port", "0", "--messages", str(messages), "--seed", str(seed),
             "--api-key", KEY],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.url = None
        ready = threading.Event()

        def read():
            for line in self.proc.stderr:
                if self.url is None and line.startswith("listening on "):
                    self.url = line[len("listening on "):].strip()
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(30) or self.url is None:
            self.stop()
            raise SystemExit("the simulator did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def one_run(args, loop):
    sim = Sim(args.bin, args.messages, args.seed)
    try:
        done = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "--run", loop, "--url", sim.url],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
    finally:
        sim.stop()
    if done.returncode != 0:
        raise SystemExit(f"{loop}: exit {done.returncode}\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["messages"] != args.messages:
        raise SystemExit(f"{loop}: received {result['messages']} messages, expected {args.messages}")
    return result["messages"] / result["seconds"], result["cpu_seconds"] / result["messages"] * 1e6


def spread(values):
    med = statistics.median(values)
    return max(abs(max(values) - med), abs(med - min(values))) / med * 100 if med else 0.0


def drive(args):
    loops = [name for name in args.loops.split(",") if name]
    for name in loops:
        if name not in RUNNERS:
            raise SystemExit(f"unknown loop {name!r} (loops: {', '.join(LOOPS)})")
    import oddsfeed
    import orjson
    import websockets
    import zstandard

    print(
        f"python {sys.version.split()[0]}, oddsfeed (package), zstandard {zstandard.__version__} "
        f"({zstandard.backend} backend), orjson {orjson.__version__}, websockets {websockets.__version__}",
        file=sys.stderr,
    )
    print(f"load before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
    results = {name: [] for name in loops}
    cpu = {name: [] for name in loops}
    started = time.monotonic()
    for r in range(args.rounds):
        order = loops[r % len(loops):] + loops[: r % len(loops)]
        for name in order:
            rate, us = one_run(args, name)
            results[name].append(rate)
            cpu[name].append(us)
            print(
                f"round {r + 1}/{args.rounds} {name}: {rate:,.0f} messages/s, {us:.1f} µs CPU/message",
                file=sys.stderr,
            )
    took = time.monotonic() - started
    load_after = os.getloadavg()[0]

    out = []
    out.append(
        f"{args.messages} messages per run (zstd-dict, channels {','.join(CHANNELS)}), seed {args.seed}, "
        f"{args.rounds} interleaved rounds, {took:.0f} s, load average after {load_after:.2f}"
    )
    out.append("")
    out.append("| loop | median messages/s | min – max | spread | client CPU µs/message (median) |")
    out.append("|---|---:|---:|---:|---:|")
    for name in loops:
        v = results[name]
        out.append(
            f"| {LABELS[name]} | {statistics.median(v):,.0f} | {min(v):,.0f} – {max(v):,.0f} | ±{spread(v):.0f}% "
            f"| {statistics.median(cpu[name]):.1f} |"
        )
    ratios = {}
    if "oddsfeed" in results:
        for other in TARGETS:
            if other in results:
                ratios[other] = [a / b for a, b in zip(results["oddsfeed"], results[other])]
    if ratios:
        out.append("")
        out.append("| ratio (within each round) | median | min – max | target |")
        out.append("|---|---:|---:|---|")
        for other, v in ratios.items():
            med = statistics.median(v)
            goal = TARGETS[other]
            verdict = "met in every round" if min(v) >= goal else ("median met" if med >= goal else "missed")
            out.append(f"| oddsfeed / {other} | {med:.2f} | {min(v):.2f} – {max(v):.2f} | ≥ {goal}: {verdict} |")
    text = "\n".join(out)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"messages": args.messages, "rounds": args.rounds, "results": results, "cpu_us": cpu, "ratios": ratios},
                f,
            )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bin", help="the release `oddsfeed` binary (its `sim ws`)")
    p.add_argument("--messages", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--loops", default=",".join(LOOPS))
    p.add_argument("--json", help="also write the raw figures to this file")
    p.add_argument("--run", choices=LOOPS, help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.run:
        import resource

        before = resource.getrusage(resource.RUSAGE_SELF)
        n, seconds = RUNNERS[args.run](args.url)
        after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(json.dumps({"loop": args.run, "messages": n, "seconds": seconds, "cpu_seconds": cpu}))
        return
    if not args.bin:
        p.error("--bin is required")
    if args.messages < 1 or args.rounds < 1:
        p.error("--messages and --rounds must be at least 1")
    drive(args)


if __name__ == "__main__":
    main()
